"""What the post-training probes (C7-C10) cost: their one compiled program, split into compiling and running.

Run with the other benchmarks:

    pytest benchmarks/ -s --benchmark-json=reports/benchmark.json

The probes run on every seed's two untrained networks (their cost does not depend
on the weights) over synthetic CIFAR-shaped test data of the tier's size: the full
tier's 10,000 test images and 8 seeds on a GPU, a small split on a CPU. The first
call of `probes.measure` builds and compiles the probes' program, as once in a
claims run (the persistent compilation cache is off in the benchmarks:
benchmarks/conftest.py); the compile share is what JAX reports
(`compile_clock.CompileClock`), with how many XLA programs it compiled. The second
call, timed by pytest-benchmark, only runs. `benchmark.extra_info` holds both.
No timing thresholds are asserted.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from compile_clock import CompileClock

from harness.config import WRITEUP, RunConfig, Tier
from harness.evidence import probes
from harness.training.models import arms_of
from harness.training.run_set import Dataset, RunSet
from harness.training.train import init_states

BACKEND = jax.default_backend()
NUM_TEST, NUM_SEEDS = (10_000, 8) if BACKEND == "gpu" else (1_000, 2)
CONFIG = RunConfig(protocol=WRITEUP, tier=Tier("benchmark", epochs=1, num_seeds=NUM_SEEDS))


@pytest.fixture(scope="module")
def untrained() -> tuple[RunSet, Dataset]:
    rng = np.random.default_rng(0)
    data = Dataset(
        train_x=jnp.zeros((1, 3072), jnp.float32),  # the probes read the test split only
        train_y=jnp.zeros((1,), jnp.int32),
        test_x=jnp.asarray(rng.standard_normal((NUM_TEST, 3072), dtype=np.float32)),
        test_y=jnp.asarray(rng.integers(0, 10, NUM_TEST), jnp.int32),
    )
    seeds = CONFIG.tier.seeds()
    state = init_states(CONFIG, seeds, num_train=1)
    split = lambda leaf: np.asarray(leaf).reshape(2, len(seeds), *leaf.shape[1:])
    run_set = RunSet(
        config=CONFIG, seeds=seeds, curves={}, final={},
        params=jax.tree_util.tree_map(split, state.params),
        batch_stats=jax.tree_util.tree_map(split, state.batch_stats),
        keep_probs={arm.name: arm.keep_probs for arm in arms_of(CONFIG)},
    )
    return run_set, data


def test_probe_cost(benchmark, untrained):
    run_set, data = untrained
    with CompileClock() as clock:
        start = time.time()
        probes.measure(run_set, data)  # returns host numpy arrays: the device work is done when it returns
        end = time.time()
    cold, compiling = end - start, clock.within(start, end)
    measured = benchmark.pedantic(probes.measure, args=(run_set, data), rounds=1, iterations=1)
    # The scaling identity holds on every network (a NaN network fails it: the probes saw real numbers).
    assert np.all(measured.conversion_max_error < 1e-4)
    warm = benchmark.stats.stats.median

    benchmark.extra_info.update({
        "backend": BACKEND, "device": str(jax.devices()[0]), "test_examples": NUM_TEST, "seeds": NUM_SEEDS,
        "cold_seconds": cold, "compile_seconds": compiling, "xla_programs_compiled": clock.programs(start, end),
        "warm_seconds": warm,
        # The ratios against the warm call measured in the same run: what compiling costs the first call.
        "ratio_cold_over_warm": cold / warm, "compile_share_of_cold": compiling / cold,
    })
    print()
    print(f"[{BACKEND}] probes on {NUM_TEST} test images x {2 * NUM_SEEDS} networks: first call {cold:.2f} s "
          f"({compiling:.2f} s compiling, {clock.programs(start, end)} XLA program(s) compiled), "
          f"second call {warm:.2f} s; cold / warm {cold / warm:.2f}x")
