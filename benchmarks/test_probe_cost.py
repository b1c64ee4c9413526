"""What the post-training probes (C7-C10) cost, each split into compiling and running.

Run with the other benchmarks:

    pytest benchmarks/ -s --benchmark-json=reports/benchmark.json

The probes run on every seed's two untrained networks (their cost does not depend
on the weights) over synthetic CIFAR-shaped test data of the tier's size: the full
tier's 10,000 test images and 8 seeds on a GPU, a small split on a CPU. Each probe
builds its jitted program when called, so every call compiles, as it does once in a
claims run; the compile share is what JAX reports (`compile_clock.CompileClock`).
`benchmark.extra_info` holds both per probe; pytest-benchmark times `probes.measure`.
No timing thresholds are asserted.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from compile_clock import CompileClock

from harness import probes
from harness.config import WRITEUP, RunConfig, Tier
from harness.run_set import Dataset, RunSet
from harness.train import init_states

BACKEND = jax.default_backend()
NUM_TEST, NUM_SEEDS = (10_000, 8) if BACKEND == "gpu" else (1_000, 2)
CONFIG = RunConfig(protocol=WRITEUP, tier=Tier("benchmark", epochs=1, num_seeds=NUM_SEEDS))
PROBES = ("monte_carlo_dropout", "scaling_conventions", "input_noise", "coadaptation", "unit_ablation")


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
    )
    return run_set, data


def _seconds(call, clock: CompileClock) -> tuple[float, float]:
    """(wall seconds, of which compiling) of one call."""
    start = time.time()
    call()  # every probe returns host numpy arrays, so the device work is done when it returns
    end = time.time()
    return end - start, clock.within(start, end)


def test_probe_cost(benchmark, untrained):
    run_set, data = untrained
    with CompileClock() as clock:
        cost = {name: _seconds(functools.partial(getattr(probes, name), run_set, data), clock) for name in PROBES}
    measured = benchmark.pedantic(probes.measure, args=(run_set, data), rounds=1, iterations=1)
    assert np.isfinite(measured.mc_accuracy).all()

    benchmark.extra_info.update(
        {"backend": BACKEND, "device": str(jax.devices()[0]), "test_examples": NUM_TEST, "seeds": NUM_SEEDS}
        | {f"{name}_seconds": cost[name][0] for name in PROBES}
        | {f"{name}_compile_seconds": cost[name][1] for name in PROBES}
    )
    print()
    print(f"[{BACKEND}] probes on {NUM_TEST} test images x {2 * NUM_SEEDS} networks: wall (of which compiling)")
    for name in PROBES:
        print(f"  {name:22s} {cost[name][0]:7.2f} s ({cost[name][1]:.2f} s)")
    total, compiling = (sum(c[i] for c in cost.values()) for i in (0, 1))
    print(f"  {'total':22s} {total:7.2f} s ({compiling:.2f} s)")
