"""Run by tests/test_distributed.py: train the tiny problem's seeds across processes and gather them.

    python tests/distributed_training.py --process-id I --num-processes 2 --port P --out DIR   # each process
    python tests/distributed_training.py --process-id 0 --num-processes 1 --out DIR            # the reference

Three seeds over two processes make uneven shares (2 and 1), so the padding of
the gather is exercised. Each process prints its share; process 0 saves the
gathered run set to DIR/runs.npz (flattened by `flat_arrays`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import numpy as np
from tiny_problem import tiny_config, tiny_dataset  # from this script's directory

from harness.training import distributed
from harness.training.run_set import RunSet
from harness.training.train import train_runs

NUM_SEEDS = 3


def flat_arrays(run_set: RunSet) -> dict[str, np.ndarray]:
    """Every array of the run set under a path-like name, as np.savez stores them."""
    arrays = {"seeds": np.asarray(run_set.seeds),
              "seconds": np.asarray([run_set.train_seconds, run_set.compile_seconds])}
    for kind in ("curves", "final", "params", "batch_stats"):
        for path, leaf in jax.tree_util.tree_leaves_with_path(getattr(run_set, kind)):
            arrays[kind + jax.tree_util.keystr(path)] = np.asarray(leaf)
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--process-id", type=int, required=True)
    parser.add_argument("--num-processes", type=int, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    # Before anything touches a device (the dataset does).
    distributed.initialize(f"127.0.0.1:{args.port}", args.num_processes, args.process_id)
    assert jax.process_count() == args.num_processes and jax.process_index() == args.process_id
    config = tiny_config(epochs=2, seeds=NUM_SEEDS)
    seeds = config.tier.seeds()
    share = distributed.seed_share(seeds)
    print(f"process {jax.process_index()} of {jax.process_count()} trains seeds {list(share)}", flush=True)
    run_set = distributed.gather_run_set(train_runs(config, tiny_dataset(), share), seeds)
    if distributed.is_reporting_process():
        args.out.mkdir(parents=True, exist_ok=True)
        np.savez(args.out / "runs.npz", **flat_arrays(run_set))
    print(f"process {jax.process_index()} holds seeds {list(run_set.seeds)}", flush=True)


if __name__ == "__main__":
    main()
