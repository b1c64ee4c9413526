"""Training split over two jax processes and gathered gives the numbers of one process (harness/training/distributed.py).

Three fresh interpreters run tests/distributed_training.py side by side: two
processes of one multi-controller job (jax.distributed, gloo collectives over
TCP on 127.0.0.1), each training its share of three seeds (2 and 1), and one
lone process training all three, the reference. The distributed processes
compile smaller programs than the reference (4 and 2 runs side by side, not
6), so only what rounding cannot move is compared, at tests/sharded_training.py's
float32 tolerance and for its reasons (that module says why the pre-BatchNorm
biases, the running means and everything read through them after training are
left out). Its comparison is written inside its main(), so it is restated here
for the saved arrays, with its tolerance imported.

The three processes compile with the harness's own options, as every other
tiny training of the session does, and inherit the session's persistent
compilation cache (tests/conftest.py): the reference's three seeds and process
0's two are the shapes of tests/test_until_decided.py's and tests/test_faults.py's
trainings, so their programs are compiled once for all of them (compiling is
most of this test's time). Only process 1's single seed compiles a program of
its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from distributed_training import NUM_SEEDS
from sharded_training import TIGHT
from tiny_problem import NUM_TRAIN, tiny_config

from harness.training.distributed import seed_share, share_sizes

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "tests" / "distributed_training.py"
TIMEOUT_S = 150


def test_seed_shares_are_contiguous_and_cover_every_seed_once():
    seeds = (42, 43, 44, 45, 46)
    for count in range(1, len(seeds) + 1):
        shares = [seed_share(seeds, process_index=p, num_processes=count) for p in range(count)]
        assert sum(shares, ()) == seeds
        assert max(map(len, shares)) - min(map(len, shares)) <= 1
    assert share_sizes(3, 2) == (2, 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(process_id: int, num_processes: int, port: int, out: Path, logs: Path, env: dict) -> subprocess.Popen:
    name = f"{num_processes}-{process_id}"
    with open(logs / f"{name}.out", "w") as stdout, open(logs / f"{name}.err", "w") as stderr:
        return subprocess.Popen(
            [sys.executable, str(SCRIPT), "--process-id", str(process_id), "--num-processes", str(num_processes),
             "--port", str(port), "--out", str(out)],
            cwd=ROOT, env=env, stdout=stdout, stderr=stderr,
        )


def wait_all(processes: dict[str, subprocess.Popen], logs: Path) -> None:
    """Wait for every process; on a failure or the timeout kill the others at once (a process whose peer died
    would otherwise wait for it until jax's heartbeat gives up) and fail with every log."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        codes = {name: p.poll() for name, p in processes.items()}
        failed = next((name for name, code in codes.items() if code not in (None, 0)), None)
        if failed or None not in codes.values() or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for process in processes.values():
        if process.poll() is None:
            process.kill()
        process.wait()
    if any(p.returncode != 0 for p in processes.values()):
        shown = "\n".join(
            f"--- {name} (exit {p.returncode}) stdout:\n{(logs / f'{name}.out').read_text()}\n"
            f"--- {name} stderr:\n{(logs / f'{name}.err').read_text()[-4000:]}"
            for name, p in processes.items()
        )
        reason = f"{failed} failed" if failed else f"timed out after {TIMEOUT_S} s"
        raise AssertionError(f"{reason}\n{shown}")


def test_distributed_runs_equal_single_process(tmp_path: Path):
    env = dict(os.environ)  # JAX_COMPILATION_CACHE_DIR and the like travel with it
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    processes = {
        f"2-{i}": start(i, 2, port, tmp_path / "distributed", logs, env) for i in range(2)
    } | {"1-0": start(0, 1, 0, tmp_path / "single", logs, env)}
    wait_all(processes, logs)

    seeds = tiny_config(seeds=NUM_SEEDS).tier.seeds()
    shares = [seed_share(seeds, process_index=i, num_processes=2) for i in range(2)]
    assert [len(s) for s in shares] == [2, 1]
    for i, share in enumerate(shares):  # each process trained its own share, and ended with every seed
        printed = (logs / f"2-{i}.out").read_text()
        assert f"process {i} of 2 trains seeds {list(share)}" in printed, printed
        assert f"process {i} holds seeds {list(seeds)}" in printed, printed

    with np.load(tmp_path / "distributed" / "runs.npz") as z:
        distributed = dict(z)
    with np.load(tmp_path / "single" / "runs.npz") as z:
        single = dict(z)
    assert distributed.keys() == single.keys()
    assert distributed["seeds"].tolist() == single["seeds"].tolist() == list(seeds)
    compared, bitwise = compare(distributed, single)
    print(f"equal at float32 tolerance: {len(compared)} arrays, {bitwise} of them bit for bit")


def compare(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> tuple[list[str], int]:
    """tests/sharded_training.py's comparison of two run sets, on their saved arrays: (names compared, how many
    of those are equal bit for bit)."""
    config = tiny_config(seeds=NUM_SEEDS)
    num_runs = theirs["curves['train_loss']"].shape[0] * NUM_SEEDS
    pre_bn_biases = {f"params['Dense_{i}']['bias']" for i in range(len(config.widths))}
    reach = config.protocol.learning_rate * config.tier.epochs * -(-NUM_TRAIN // config.protocol.batch_size)
    compared, bitwise = [], 0
    for name, b in theirs.items():
        a = ours[name]
        assert a.shape == b.shape, (name, a.shape, b.shape)
        if name.startswith("curves"):  # before any step: the epoch-0 summaries
            a, b = a[:, :, 0], b[:, :, 0]
        elif name in pre_bn_biases:
            assert np.abs(a).max() <= reach and np.abs(b).max() <= reach, name
            continue
        elif not name.startswith(("params", "batch_stats")) or name.endswith("['mean']"):
            continue
        np.testing.assert_allclose(a, b, **TIGHT, err_msg=name)
        bitwise += np.array_equal(a, b)
        runs = b.reshape(num_runs, -1)
        if name.startswith(("params", "batch_stats")) and runs.std() > 0:  # the tolerance tells runs apart
            gaps = [np.abs(runs[i] - runs[j]).max() for i in range(num_runs) for j in range(i)]
            assert min(gaps) > 1e-4, (name, min(gaps))
        compared.append(name)
    assert len(compared) > len(pre_bn_biases), compared
    return compared, bitwise
