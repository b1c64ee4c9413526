"""What checkpointing costs: training the smoke tier's runs without checkpoints (the baseline), with the default
interval, and with a checkpoint after every chunk, measured in the same run; the ratios of each to the baseline,
one checkpoint's size and write time, and the host's per-chunk work (fetching the summaries, the divergence check).

    pytest benchmarks/test_checkpoint_cost.py -s --benchmark-json=...

Needs the real CIFAR-10 ($DROPOUT_CLAIMS_CIFAR10) and writes only into pytest's temporary folder. The modes are
interleaved, repeat after repeat, so that a machine whose load changes meanwhile biases none of them. On a CPU the
tier is cut to a few epochs (the cost per chunk is what is measured); on an accelerator it trains whole.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time

import jax
import jax.numpy as jnp
import pytest

from harness.config import SMOKE, WRITEUP, RunConfig
from harness.data.cifar10 import ENV_VAR, load_cifar10, resolve_source
from harness.settings import cache_dir_of, configured_cifar10
from harness.training import cache
from harness.training.input_pipeline import prepare
from harness.training.run_set import Snapshot
from harness.training.train import init_states, programs, train_runs

BACKEND = jax.default_backend()
EPOCHS, REPEATS = (4, 1) if BACKEND == "cpu" else (SMOKE.epochs, 3)
CONFIG = RunConfig(protocol=WRITEUP, tier=dataclasses.replace(SMOKE, epochs=EPOCHS))
MODES = {"no checkpoints": None, "default interval": cache.CHECKPOINT_INTERVAL_S, "every chunk": 0.0}


@pytest.mark.skipif(not os.environ.get(ENV_VAR), reason=f"needs the real CIFAR-10: set {ENV_VAR}")
def test_checkpoint_cost(benchmark, tmp_path):
    path, origin = configured_cifar10(None)
    cache_dir = cache_dir_of(None)
    cifar = load_cifar10(resolve_source(path, origin=origin, cache_dir=cache_dir, allow_download=False),
                         cache_dir=cache_dir)
    data = prepare(cifar, CONFIG).dataset
    seeds = CONFIG.tier.seeds()
    train_runs(CONFIG, data, seeds)  # compile once, outside the timings

    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    for repeat in range(REPEATS):
        for mode, interval in MODES.items():
            checkpoints = None if interval is None else cache.Checkpoints(tmp_path, f"{mode}-{repeat}".replace(" ", "-"),
                                                                          interval_s=interval)
            if mode == "no checkpoints" and repeat == 0:  # the baseline, through pytest-benchmark
                runs = benchmark.pedantic(train_runs, args=(CONFIG, data, seeds), rounds=1, iterations=1)
            else:
                runs = train_runs(CONFIG, data, seeds, checkpoints=checkpoints)
            times[mode].append(runs.train_seconds)
    every_chunk = list(tmp_path.glob("checkpoints/every-chunk-*"))
    assert every_chunk, "a checkpoint after every chunk wrote none"

    program = programs(CONFIG, data.train_x.shape[0])
    state, summary = program.chunk(init_states(CONFIG, seeds, data.train_x.shape[0]), jnp.int32(1), data)
    jax.block_until_ready(state)
    start = time.perf_counter()
    host_summary, _ = jax.device_get((summary, program.finite(state)))
    per_chunk_host_seconds = time.perf_counter() - start
    one = cache.Checkpoints(tmp_path, "one", interval_s=0)
    start = time.perf_counter()
    one.save(Snapshot(program.length, jax.device_get(state), host_summary))
    write_seconds = time.perf_counter() - start

    baseline = statistics.median(times["no checkpoints"])
    ratios = {f"ratio_{mode.replace(' ', '_')}_over_none": statistics.median(seconds) / baseline
              for mode, seconds in times.items() if mode != "no checkpoints"}
    benchmark.extra_info.update({
        "backend": BACKEND, "runs": 2 * len(seeds), "epochs": EPOCHS, "epochs_per_chunk": program.length,
        "repeats": REPEATS, **ratios, "median_train_seconds": {m: statistics.median(s) for m, s in times.items()},
        "checkpoint_mib": one.path.stat().st_size / 2**20, "checkpoint_write_seconds": write_seconds,
        "per_chunk_host_seconds": per_chunk_host_seconds,
    })
    print()
    print(f"[{BACKEND}] {2 * len(seeds)} runs x {EPOCHS} epochs ({program.length} per chunk), {REPEATS} repeat(s): "
          + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in ratios.items())
          + f"; one checkpoint {one.path.stat().st_size / 2**20:.1f} MiB in {write_seconds:.2f} s; "
          f"per-chunk host work {1e3 * per_chunk_host_seconds:.1f} ms")
