"""Speed of the vmapped harness against the writeup's own loop, measured in one run.

Run (not part of the default `pytest`, whose testpaths are tests/ and claims/):

    pytest benchmarks/ -s --benchmark-json=reports/benchmark.json

Both sides train the writeup's model (Dense 256-128-64-32-10 with BatchNorm, Adam,
batch 32, the writeup protocol) on the same synthetic CIFAR-shaped data (normal
float32 (N, 3072), random labels), evaluating every epoch on the full train and
test splits as the writeup does. The writeup loop's per-step cost does not depend
on how many epochs it runs, so on a GPU it runs one (1,563 steps) and the
harness three: both are compared per model-step.

- harness: `train_runs` over S seeds x 2 variants, one jitted program. A first
  (cold) call compiles; the timed (warm) call reuses the cached programs.
- writeup: `harness.writeup_loop.train_one_run` (a Python loop over a jitted
  single-model step), one baseline and one dropout run of the first seed, each
  model warmed up (compiled) by a one-epoch call first.

A model-step is one optimizer step of one model; an epoch has ceil(N / 32) of them.
Both sides are reported in µs per model-step with compilation excluded:

- harness: the warm call's `RunSet.train_seconds`: the epoch-0 evaluation, every
  epoch with its evaluation, the final summaries and the transfer to the host.
  Compilation: the cold call's `compile_seconds` (the epoch chunk, compiled ahead)
  plus the cold call's extra `train_seconds` (the evaluation programs, compiled on
  first use). Should compilation ever happen inside the warm call's `train_seconds`
  (JAX's trace / lower / compile events, `jax.monitoring`), it is subtracted, but it
  overlaps the epochs running asynchronously, so the figure is then flagged
  `harness_timing_reliable: false` and a warning is printed.
- writeup: the wall time of an E-epoch call less that of an epochs=0 call
  (initialisation and the epoch-0 evaluation), each less any compilation inside it
  (`writeup_compile_inside_timed_seconds`, zero once warm).
  It excludes the epoch-0 evaluation and the final summaries the harness includes:
  the ratio is conservative.

The memory floor: the bytes one model-step must move (`model_step_bytes`, from the
training state's own leaves) divided by the device's memory bandwidth, measured in
the same run by a timed device-to-device copy (`copy_bandwidth`); the harness's µs
per model-step over that floor says how far training is from memory-bound (on a CPU,
far: the figure is meant for a GPU).

`benchmark.extra_info` (in `--benchmark-json`) holds every number, the ratio
writeup µs per model-step / harness µs per model-step, the ratio harness µs per
model-step / floor, the peak device memory / the bytes of the runs' state and data (on an accelerator), and an
epoch's evaluation / a trained epoch of the same runs; they are also printed.
Sizes depend on the backend: small on CPU, CIFAR-10-sized on GPU.
The only assertions are sanity checks (finite losses and weights), never timing thresholds.
Nothing is written anywhere but by pytest-benchmark itself.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from compile_clock import CompileClock

from harness.config import WRITEUP, WRITEUP_DROPOUT_RATES, RunConfig, Tier
from harness.training.models import MLP
from harness.training.run_set import Dataset, RunState
from harness.training.train import evaluate, init_states, train_runs
from tests.writeup_loop import MLPDropout, train_one_run


@dataclass(frozen=True)
class Sizes:
    num_train: int
    num_test: int
    epochs: int  # of the harness's runs
    num_seeds: int
    # Of the writeup loop's runs: its per-step cost does not depend on the epoch count, and one
    # epoch of 50,000 images is ceil(50,000 / 32) steps, plenty to time it.
    writeup_epochs: int


BACKEND = jax.default_backend()
SIZES = Sizes(50_000, 10_000, 3, 8, 1) if BACKEND == "gpu" else Sizes(2048, 512, 4, 2, 4)
CONFIG = RunConfig(protocol=WRITEUP, tier=Tier("benchmark", epochs=SIZES.epochs, num_seeds=SIZES.num_seeds))
BATCH = CONFIG.protocol.batch_size
# The bandwidth copy: large enough that a GPU spends far longer moving it than launching the copy.
COPY_BYTES = 2**30 if BACKEND == "gpu" else 2**28
COPY_REPEATS = 20


def steps_per_epoch(num_train: int, batch_size: int = BATCH) -> int:
    return math.ceil(num_train / batch_size)


def peak_memory_bytes() -> int | None:
    """Peak device memory of the process so far; None where the backend does not say (CPU)."""
    stats = jax.devices()[0].memory_stats()
    return None if not stats else stats.get("peak_bytes_in_use")


def model_step_bytes(state: RunState) -> int:
    """The bytes one model-step must move at least, from one run's training state (its leaves' shapes and dtypes):

        Adam reads the params, the grads and its state (both moments, the step count)
        and writes the params and its state:                                            3 P + 2 O
        the forward and the backward pass each read the params:                        2 P

    with P the bytes of one run's params and O of its optimizer state (the grads are the params' shapes and
    dtypes): 5 P + 2 O, about 9 P since the moments are the params' size. Everything else a step moves (the
    minibatch, activations, BatchNorm statistics) is left out: this is a floor. `state` holds any number of
    runs (leading axis).
    """
    def per_run(tree) -> int:
        return sum(leaf.nbytes // leaf.shape[0] for leaf in jax.tree_util.tree_leaves(tree))

    params, optimizer = per_run(state.params), per_run(state.opt_state)
    return 5 * params + 2 * optimizer


def copy_bandwidth(num_bytes: int = COPY_BYTES, repeats: int = COPY_REPEATS) -> float:
    """Bytes per second through device memory: a device-to-device copy of `num_bytes` (each byte read once and
    written once, so 2 x num_bytes move), timed `repeats` times after a first, compiling call; the median.

    On a CPU, XLA's copy (into a freshly allocated buffer) runs far below what the memory can do, so the floor
    there is too high and the ratio to it means little: the figure is meant for a GPU.
    """
    source = jnp.ones(num_bytes // 4, jnp.float32)
    copy = jax.jit(jnp.copy)  # an XLA copy into a new buffer (jit never hands back its input for it)
    copy(source).block_until_ready()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        copy(source).block_until_ready()
        seconds.append(time.perf_counter() - start)
    return 2 * source.nbytes / statistics.median(seconds)


@pytest.fixture(scope="module")
def data() -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset(
        train_x=jnp.asarray(rng.standard_normal((SIZES.num_train, 3072), dtype=np.float32)),
        train_y=jnp.asarray(rng.integers(0, 10, SIZES.num_train), jnp.int32),
        test_x=jnp.asarray(rng.standard_normal((SIZES.num_test, 3072), dtype=np.float32)),
        test_y=jnp.asarray(rng.integers(0, 10, SIZES.num_test), jnp.int32),
    )


def writeup_run_seconds(
    model: MLPDropout, seed: int, data: Dataset, epochs: int, clock: CompileClock
) -> tuple[float, float, np.ndarray]:
    """(seconds for `epochs` epochs of training + evaluation, compile seconds, whether the trained weights are all
    finite)."""

    def call(num_epochs: int) -> tuple[float, float, bool]:
        start = time.time()
        state, _, _ = train_one_run(model, seed, data.train_x, data.train_y, data.test_x, data.test_y, epochs=num_epochs)
        end = time.time()
        compiling = clock.within(start, end)
        finite = all(bool(np.isfinite(leaf).all()) for leaf in jax.tree_util.tree_leaves(state.params))
        return end - start - compiling, compiling, finite

    empty, empty_compile, _ = call(0)
    total, total_compile, finite = call(epochs)
    return total - empty, total_compile + empty_compile, finite


def test_harness_vs_writeup_loop(benchmark, data):
    seeds = CONFIG.tier.seeds()
    steps = steps_per_epoch(SIZES.num_train) * SIZES.epochs  # per model
    num_runs = 2 * len(seeds)

    with CompileClock() as clock:
        # (a) the harness: every seed x variant in one program; cold (compiles), then timed warm.
        cold = train_runs(CONFIG, data, seeds)
        runs = benchmark.pedantic(train_runs, args=(CONFIG, data, seeds), rounds=1, iterations=1)
        end = time.time()
        harness_in_train_compile = clock.within(end - runs.train_seconds, end)
        harness_seconds = runs.train_seconds - harness_in_train_compile
        harness_peak = peak_memory_bytes()

        # (b) the writeup's loop: one baseline and one dropout run, each model warmed up first.
        models = {"baseline": MLPDropout(rates=(0.0,) * 4), "dropout": MLPDropout(rates=WRITEUP_DROPOUT_RATES)}
        warm_start = time.time()
        for model in models.values():
            train_one_run(model, seeds[0], data.train_x, data.train_y, data.test_x, data.test_y, epochs=1)
        writeup_warmup_compile = clock.within(warm_start, time.time())
        writeup = {
            name: writeup_run_seconds(model, seeds[0], data, SIZES.writeup_epochs, clock)
            for name, model in models.items()
        }

    # Both trained real numbers (an accuracy stays finite on NaN weights; a loss does not).
    for name in ("train_loss", "test_loss"):
        assert np.isfinite(runs.curves[name]).all(), name
    for name, (_, _, finite) in writeup.items():
        assert finite, f"the writeup loop's {name} trained non-finite weights"

    harness_us = 1e6 * harness_seconds / (num_runs * steps)
    step_bytes = model_step_bytes(init_states(CONFIG, seeds[:1], SIZES.num_train))
    resident_bytes = sum(leaf.nbytes for leaf in jax.tree_util.tree_leaves(
        (init_states(CONFIG, seeds, SIZES.num_train), data)))
    bandwidth = copy_bandwidth()
    floor_us = 1e6 * step_bytes / bandwidth
    # Compilation inside train_seconds overlaps the asynchronously running epochs, so
    # subtracting it undercounts the harness's time: only trust the figure when there is none.
    reliable = harness_in_train_compile <= 0.01 * runs.train_seconds
    writeup_seconds = sum(seconds for seconds, _, _ in writeup.values())
    writeup_steps = steps_per_epoch(SIZES.num_train) * SIZES.writeup_epochs  # per model
    writeup_us = 1e6 * writeup_seconds / (len(writeup) * writeup_steps)
    info = {
        "backend": BACKEND,
        "device": str(jax.devices()[0]),
        "num_train": SIZES.num_train,
        "num_test": SIZES.num_test,
        "epochs": SIZES.epochs,
        "seeds": len(seeds),
        "harness_runs": num_runs,
        "steps_per_epoch": steps_per_epoch(SIZES.num_train),
        "harness_model_steps": num_runs * steps,
        "harness_compile_seconds": cold.compile_seconds,
        "harness_eval_compile_seconds": cold.train_seconds - runs.train_seconds,
        "harness_cold_train_seconds": cold.train_seconds,
        "harness_train_seconds": runs.train_seconds,
        "harness_compile_inside_train_seconds": harness_in_train_compile,
        "harness_steady_seconds": harness_seconds,
        "harness_timing_reliable": reliable,
        "harness_us_per_model_step": harness_us,
        "harness_model_steps_per_second": 1e6 / harness_us,
        "harness_peak_device_memory_bytes": harness_peak if harness_peak is not None else "n/a",
        # Memory against its floor in the same run: what the runs' training state and the data occupy, from
        # their shapes (the rest is activations, the evaluation's passes and XLA's buffers).
        "state_and_data_bytes": resident_bytes,
        "ratio_peak_over_state_and_data": harness_peak / resident_bytes if harness_peak is not None else "n/a",
        "writeup_runs": len(writeup),
        "writeup_epochs": SIZES.writeup_epochs,
        "writeup_model_steps": len(writeup) * writeup_steps,
        "writeup_steady_seconds": writeup_seconds,
        "writeup_compile_seconds": writeup_warmup_compile,
        "writeup_compile_inside_timed_seconds": sum(c for _, c, _ in writeup.values()),
        "writeup_us_per_model_step": writeup_us,
        "writeup_model_steps_per_second": 1e6 / writeup_us,
        "ratio_writeup_over_harness": writeup_us / harness_us,
        "model_step_bytes": step_bytes,
        "copy_bytes": COPY_BYTES,
        "copy_bandwidth_bytes_per_second": bandwidth,
        "floor_us_per_model_step": floor_us,
        "ratio_harness_over_floor": harness_us / floor_us,
    }
    benchmark.extra_info.update(info)
    print()
    print(
        f"[{BACKEND}] N={SIZES.num_train} M={SIZES.num_test} epochs={SIZES.epochs} "
        f"steps/epoch={info['steps_per_epoch']}"
    )
    print(
        f"  harness : {num_runs} runs, {harness_us:9.1f} µs/model-step ({1e6 / harness_us:,.0f} model-steps/s), "
        f"train {runs.train_seconds:.2f} s, compile {cold.compile_seconds:.2f} s (epoch chunk) + "
        f"{info['harness_eval_compile_seconds']:.2f} s (evaluation programs), "
        f"peak memory {info['harness_peak_device_memory_bytes']}"
        + (f" ({info['ratio_peak_over_state_and_data']:.1f}x the state and data)" if harness_peak is not None else "")
    )
    print(
        f"  writeup : {len(writeup)} runs, {writeup_us:9.1f} µs/model-step ({1e6 / writeup_us:,.0f} model-steps/s), "
        f"train {writeup_seconds:.2f} s, compile {writeup_warmup_compile:.2f} s in the warm-up + "
        f"{info['writeup_compile_inside_timed_seconds']:.2f} s inside the timed calls (excluded)"
    )
    print(f"  ratio writeup / harness (µs per model-step): {info['ratio_writeup_over_harness']:.1f}x")
    print(
        f"  floor   : {step_bytes:,} bytes per model-step / {bandwidth / 1e9:,.1f} GB/s (a {COPY_BYTES / 2**20:,.0f} MiB "
        f"device-to-device copy, median of {COPY_REPEATS}) = {floor_us:.2f} µs per model-step; "
        f"harness / floor = {info['ratio_harness_over_floor']:.1f}x"
    )
    if not reliable:
        print(
            f"  WARNING: the warm train_runs call compiled for {harness_in_train_compile:.2f} s inside "
            "train_seconds; that overlaps the epochs running asynchronously, so the harness figure above "
            "is too optimistic (train_runs should reuse or compile ahead every program it times)."
        )


def test_evaluation_cost(benchmark, data):
    """One epoch's summaries (eval mode, full train and test splits) for every run, vmapped."""
    seeds = CONFIG.tier.seeds()
    model = MLP(widths=CONFIG.widths)
    state = init_states(CONFIG, seeds, SIZES.num_train)
    # The data is an argument (as in train_runs), not a constant baked into the program.
    summarise = jax.jit(jax.vmap(lambda s, d: evaluate(model, s, d), in_axes=(0, None)))
    jax.block_until_ready(summarise(state, data))  # compile outside the timing

    summary = benchmark.pedantic(
        lambda: jax.block_until_ready(summarise(state, data)), rounds=5, iterations=1, warmup_rounds=1
    )
    assert np.isfinite(np.asarray(summary["test_loss"])).all()
    # The baseline, measured in this run: the same runs' training, per epoch (its evaluations included).
    runs = train_runs(CONFIG, data, seeds)
    epoch_seconds = runs.train_seconds / CONFIG.tier.epochs

    num_runs = 2 * len(seeds)
    seconds = benchmark.stats.stats.median
    per_run_us = 1e6 * seconds / num_runs
    per_example_us = per_run_us / (SIZES.num_train + SIZES.num_test)
    per_model_step_us = per_run_us / steps_per_epoch(SIZES.num_train)
    benchmark.extra_info.update(
        {
            "backend": BACKEND,
            "runs": num_runs,
            "examples_per_run": SIZES.num_train + SIZES.num_test,
            "us_per_run_evaluation": per_run_us,
            "us_per_example": per_example_us,
            "eval_us_per_model_step": per_model_step_us,
            "ratio_eval_over_epoch": seconds / epoch_seconds,
        }
    )
    print()
    print(
        f"  evaluation: {per_run_us:,.0f} µs per run per epoch ({per_example_us:.2f} µs per example; "
        f"{per_model_step_us:.1f} µs amortised per model-step); {seconds / epoch_seconds:.1%} of a trained epoch"
    )
