"""The run axis sharded over 4 devices gives the numbers of the unsharded program (tests/sharded_training.py).

CPU devices can only be multiplied before jax is imported
(XLA_FLAGS=--xla_force_host_platform_device_count=4), so the check runs in a
fresh interpreter. What it compares, and why not the chaotic end-of-training
numbers, is in the module it runs.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_sharded_runs_equal_unsharded():
    env = dict(os.environ)
    # Optimisation level 0: compiling is most of this check's time, and both programs it compares are compiled
    # alike. (Four devices are an XLA flag, which jax's compilation cache keys by, so no other test's compiled
    # program could serve this process at the harness's own options.)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "")
                        + " --xla_force_host_platform_device_count=4 --xla_backend_optimization_level=0").strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "sharded_training.py")], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr[-5000:]}"
    print(result.stdout)
