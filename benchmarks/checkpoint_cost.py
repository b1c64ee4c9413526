"""What checkpointing costs: smoke-tier training time without checkpoints, with the default interval, and
with a checkpoint after every chunk; plus the size and write time of one checkpoint and the host's
per-chunk work (fetching the summaries, the divergence check).

    python benchmarks/checkpoint_cost.py [--epochs N] [--repeats R]

Needs the real CIFAR-10 ($DROPOUT_CLAIMS_CIFAR10) and writes only into a temporary folder. The modes
are interleaved, repeat after repeat, so that a machine whose load changes meanwhile biases none of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from harness.config import SMOKE, WRITEUP, RunConfig
from harness.data.cifar10 import load_cifar10, resolve_source
from harness.settings import cache_dir_of, configured_cifar10
from harness.training import cache
from harness.training.input_pipeline import prepare
from harness.training.run_set import Snapshot
from harness.training.train import init_states, programs, train_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=SMOKE.epochs)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    config = RunConfig(protocol=WRITEUP, tier=dataclasses.replace(SMOKE, epochs=args.epochs))
    path, origin = configured_cifar10(None)
    cache_dir = cache_dir_of(None)
    cifar = load_cifar10(resolve_source(path, origin=origin, cache_dir=cache_dir, allow_download=False), cache_dir=cache_dir)
    data = prepare(cifar, config)
    seeds = config.tier.seeds()
    program = programs(config, data.dataset.train_x.shape[0])
    print(f"backend {jax.default_backend()}, {2 * len(seeds)} runs, {args.epochs} epochs, "
          f"{program.length} epochs per chunk")

    with tempfile.TemporaryDirectory() as folder:
        modes = {
            "no checkpoints": None,
            f"default (at most every {cache.CHECKPOINT_INTERVAL_S:g} s)": cache.CHECKPOINT_INTERVAL_S,
            "every chunk": 0.0,
        }
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        train_runs(config, data.dataset, seeds)  # compile once, outside the timings
        for repeat in range(args.repeats):
            for mode, interval in modes.items():
                checkpoints = None if interval is None else cache.Checkpoints(Path(folder), f"{mode}-{repeat}",
                                                                              interval_s=interval)
                runs = train_runs(config, data.dataset, seeds, checkpoints=checkpoints)
                times[mode].append(runs.train_seconds)
                print(f"  {mode}: {runs.train_seconds:.2f} s", flush=True)
        for mode, seconds in times.items():
            print(f"{mode}: median {statistics.median(seconds):.2f} s training over {len(seconds)} run(s)")

        state = init_states(config, seeds, data.dataset.train_x.shape[0])
        state, summary = program.chunk(state, jnp.int32(1), data.dataset)
        jax.block_until_ready(state)
        start = time.perf_counter()
        host_summary, _ = jax.device_get((summary, program.finite(state)))
        sync = time.perf_counter() - start
        snapshot = Snapshot(program.length, jax.device_get(state), host_summary)
        checkpoints = cache.Checkpoints(Path(folder), "one", interval_s=0)
        start = time.perf_counter()
        checkpoints.save(snapshot)
        write = time.perf_counter() - start
        print(f"one checkpoint: {checkpoints.path.stat().st_size / 2**20:.1f} MiB written in {write:.2f} s; "
              f"per-chunk host work (summaries + divergence check): {1e3 * sync:.1f} ms")


if __name__ == "__main__":
    main()
