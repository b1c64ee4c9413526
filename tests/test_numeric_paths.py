"""Another XLA numeric path on the same machine changes the trained numbers: a second draw for CI.

CI runs the claims a second time under `XLA_FLAGS=--xla_cpu_max_isa=SSE4_2`
(see .ci/run) and the smoke calibration trains some of its seed sets that way,
so that the pinned smoke verdicts are shown to hold on more than one numeric
path. That only means something if the flag really changes the numbers here:
this test trains the same tiny runs with and without it (fresh interpreters,
since XLA reads its flags once) and requires the pre-BatchNorm biases --
where Adam turns rounding noise into full-size steps -- to differ.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
OTHER_ISA = "--xla_cpu_max_isa=SSE4_2"

PROGRAM = """
import sys
sys.path.insert(0, "tests")
import numpy as np
from harness.training.train import train_runs
from tiny_problem import tiny_config, tiny_dataset

config = tiny_config(epochs=2, seeds=2)
runs = train_runs(config, tiny_dataset(), config.tier.seeds())
print(np.asarray(runs.params["Dense_0"]["bias"], np.float32).tobytes().hex())
"""


def has_wider_vector_units() -> bool:
    """SSE4.2 is only a different path on a CPU that has AVX or wider."""
    try:
        return " avx" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def start_training(isa_flag: str) -> subprocess.Popen:
    """The tiny runs in a fresh interpreter with `isa_flag` in place of any ISA flag of XLA_FLAGS."""
    env = dict(os.environ)
    flags = env.get("XLA_FLAGS", "").replace(OTHER_ISA, "").strip()
    env["XLA_FLAGS"] = f"{flags} {isa_flag}".strip()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.Popen([sys.executable, "-c", PROGRAM], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def pre_batchnorm_biases(*processes: subprocess.Popen) -> list[str]:
    outputs = [process.communicate(timeout=300) for process in processes]  # all of them, before any assertion
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
    return [stdout.strip().splitlines()[-1] for stdout, _ in outputs]


@pytest.mark.skipif(not has_wider_vector_units(), reason="this CPU's native path is SSE4.2 already")
def test_the_other_isa_trains_other_numbers():
    # Both interpreters at once: their compilers run on a core each.
    native, other = pre_batchnorm_biases(start_training(""), start_training(OTHER_ISA))
    assert native != other
