"""Train every seed x variant of a tier in one jitted program.

Read top to bottom, one run is the writeup's training loop:

    key = PRNGKey(seed); variables = init(key)          # same key for both variants
    evaluate                                             # epoch 0
    for epoch in 1..E:
        key, sub = split(key); order = order[permutation(sub, N)]   # cumulative, as the notebook
        for each batch of 32 (the last one shorter): Adam step on cross-entropy
        evaluate                                         # eval mode, full train and test splits

`jax.vmap` runs all runs side by side (the run axis is variant-major: run
r = v * S + s), `lax.scan` loops over steps and epochs, and nothing leaves the
device but the summaries of `summaries.py`. The host calls the same compiled
chunk of epochs repeatedly; between chunks it shows progress, checks that no
run diverged, saves a checkpoint when one is due and stops when asked to.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np
import optax

from harness.config import RunConfig, Tier
from harness.training import compiler, summaries
from harness.training.models import MLP, arms_of, init_variables, model_of
from harness.training.run_set import (
    Arm,
    Dataset,
    Kept,
    RunLayout,
    RunSet,
    RunState,
    Snapshot,
    TrainingInterrupted,
)


class Checkpointer(Protocol):
    """Where `train_runs` keeps snapshots between chunks (`cache.Checkpoints` on disk)."""

    def restore(self, like: RunState) -> Snapshot | None:
        """The snapshot to resume from, if any; `like` is the fresh state, to check its shapes against."""

    def due(self) -> bool:
        """Whether a snapshot should be saved now (fetching the state to the host is not free)."""

    def save(self, snapshot: Snapshot) -> None: ...


class TrainingDiverged(RuntimeError):
    """A run's loss or weights became NaN or infinite: its numbers would be meaningless, so it is not kept."""


def optimizer_of(config: RunConfig) -> optax.GradientTransformation:
    """The writeup's optimiser: Adam at the protocol's learning rate, optax's defaults otherwise."""
    return optax.adam(config.protocol.learning_rate)


# What keys a configuration's programs in place of its tier: the programs never read the tier (its sizes reach
# them as the data's shapes, its epochs through `stops`), so every seed set and batch of one configuration (the
# calibration's sets, --seeds auto's batches) shares one build of them, not a new trace and load per seed range.
# Zero epochs and seeds: no real tier, so a builder that came to read it would not train as if it had one.
_ANY_TIER = Tier("any tier: not part of the programs", epochs=0, num_seeds=0)


def _programs_key(config: RunConfig) -> RunConfig:
    return dataclasses.replace(config, tier=_ANY_TIER)


def init_states(config: RunConfig, seeds: Iterable[int], num_train: int,
                arms: tuple[Arm, ...] | None = None) -> RunState:
    """Initial state of every run (run r = arm v x seeds + seed s, arms default `arms_of(config)`); seed s
    gives every arm the same weights and data order."""
    arms = arms_of(config) if arms is None else arms
    seeds = tuple(seeds)
    layout = RunLayout(tuple(arm.name for arm in arms), seeds)
    run_seeds = jnp.asarray(layout.run_seeds(), dtype=jnp.uint32)
    per_arm = lambda values, dtype: jnp.repeat(jnp.asarray(values, dtype), len(seeds), axis=0)
    return _init_program(_programs_key(config), num_train)(
        run_seeds, per_arm([arm.keep_probs for arm in arms], jnp.float32),
        per_arm([arm.fresh_dropout_keys for arm in arms], bool), per_arm([arm.alt_test for arm in arms], bool),
    )


def state_bytes(config: RunConfig) -> int:
    """Bytes of one run's training state (weights, Adam moments, BatchNorm statistics), without its data order.

    From the shapes alone (`jax.eval_shape`): nothing is allocated or compiled.
    """
    shapes = jax.eval_shape(_init_program(_programs_key(config), 0), jnp.zeros(1, jnp.uint32), jnp.ones((1, len(config.widths))),
                            jnp.zeros(1, bool), jnp.zeros(1, bool))
    return sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree_util.tree_leaves(shapes))


@functools.lru_cache(maxsize=8)
def _init_program(config: RunConfig, num_train: int) -> Callable[..., RunState]:
    model = model_of(config)
    tx = optimizer_of(config)

    def one(seed: jax.Array, keep_probs: jax.Array, fresh_dropout_keys: jax.Array, alt_test: jax.Array) -> RunState:
        key = jax.random.PRNGKey(seed)
        variables = init_variables(model, key)
        return RunState(
            params=variables["params"],
            batch_stats=variables["batch_stats"],
            opt_state=tx.init(variables["params"]),
            order=jnp.arange(num_train, dtype=jnp.int32),
            key=key,
            keep_probs=keep_probs,
            dropout_key=jax.random.fold_in(key, 1),
            fresh_dropout_keys=fresh_dropout_keys,
            alt_test=alt_test,
        )

    return compiler.jit(jax.vmap(one))


def make_epoch_fn(config: RunConfig, num_train: int) -> Callable[[RunState, jax.Array, Dataset], tuple[RunState, dict]]:
    """One epoch of one run: shuffle, every minibatch step, then the epoch's summaries.

    The data is an argument, not a closed-over constant, so one compiled
    program serves every call with the same shapes (and is not bloated by a
    600 MB constant at the full tier).
    """
    model = model_of(config)
    tx = optimizer_of(config)
    batch = config.protocol.batch_size
    num_full, remainder = divmod(num_train, batch)
    num_layers = len(config.widths)

    def step(state: RunState, data: Dataset, indices: jax.Array, layer_keys: jax.Array) -> RunState:
        x, y = data.train_x[indices], data.train_y[indices]

        def loss_fn(params):
            (logits, _), updates = model.apply(
                {"params": params, "batch_stats": state.batch_stats},
                x,
                train=True,
                keep_probs=state.keep_probs,
                dropout_keys=layer_keys,
                mutable=["batch_stats"],
            )
            loss = optax.softmax_cross_entropy(logits, jax.nn.one_hot(y, logits.shape[-1])).mean()
            return loss, updates["batch_stats"]

        grads, batch_stats = jax.grad(loss_fn, has_aux=True)(state.params)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return state._replace(params=params, batch_stats=batch_stats, opt_state=opt_state)

    def dropout_keys(state: RunState, epoch: jax.Array, epoch_key: jax.Array) -> jax.Array:
        """(steps, layers, 2) keys. As written: the epoch's permutation key, everywhere. Corrected: a fresh
        key per step and layer. Both are drawn and the run's flag picks one (a few hundred keys per epoch),
        so the protocols share one compiled program."""
        num_steps = num_full + (remainder > 0)
        fresh = jax.random.split(jax.random.fold_in(state.dropout_key, epoch), num_steps * num_layers)
        fresh = fresh.reshape(num_steps, num_layers, *fresh.shape[1:])
        as_written = jnp.broadcast_to(epoch_key, (num_steps, num_layers, *epoch_key.shape))
        return jnp.where(state.fresh_dropout_keys, fresh, as_written)

    def epoch_fn(state: RunState, epoch: jax.Array, data: Dataset) -> tuple[RunState, dict]:
        key, epoch_key = jax.random.split(state.key)
        order = state.order[jax.random.permutation(epoch_key, num_train)]
        keys = dropout_keys(state, epoch, epoch_key)
        full_batches = order[: num_full * batch].reshape(num_full, batch)

        def scan_step(s: RunState, xs: tuple[jax.Array, jax.Array]) -> tuple[RunState, None]:
            return step(s, data, *xs), None

        state, _ = jax.lax.scan(scan_step, state, (full_batches, keys[:num_full]))
        if remainder:  # the notebook's last batch of an epoch is shorter (16 of 50,000)
            state = step(state, data, order[num_full * batch :], keys[num_full])
        state = state._replace(order=order, key=key)
        return state, evaluate(model, state, data)

    return epoch_fn


def evaluate(model: MLP, state: RunState, data: Dataset) -> dict:
    """The per-epoch summaries of one run, in eval mode on the full splits."""
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    train = summaries.SplitPass.of(model, variables, data.train_x, data.train_y)
    return summaries.per_epoch(train, _test_pass(model, variables, state, data))


def final_summaries(model: MLP, state: RunState, data: Dataset, config: RunConfig) -> dict:
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    test = _test_pass(model, variables, state, data)
    return summaries.at_end(test, hist_bins=config.hist_bins, hist_max=config.hist_max)


def _test_pass(model: MLP, variables: dict, state: RunState, data: Dataset) -> summaries.SplitPass:
    """The run's test split: `test_x`, or `test_x_alt` when the run asks for it and the data has it. Under
    vmap both passes are computed and the flag selects (the price of one program for both protocols)."""
    test = summaries.SplitPass.of(model, variables, data.test_x, data.test_y)
    if data.test_x_alt is None:
        return test
    alt = summaries.SplitPass.of(model, variables, data.test_x_alt, data.test_y)
    return jax.tree_util.tree_map(lambda a, b: jnp.where(state.alt_test, b, a), test, alt)


def chunk_length(epochs: int, target: int = 10) -> int:
    """Largest divisor of `epochs` not above `target`: every host call runs the same program."""
    return max(d for d in range(1, min(epochs, target) + 1) if epochs % d == 0)


def max_chunk_epochs() -> int:
    """Epochs per compiled chunk, at most, on this backend.

    Between chunks the host checks for divergence, honours Ctrl-C and saves
    checkpoints, so a chunk should last seconds: 10 epochs of the full tier on an
    accelerator, 2 of the smoke tier on a CPU (the progress bar shows seconds per epoch).
    """
    return 2 if jax.default_backend() == "cpu" else 10


class Programs(NamedTuple):
    """The jitted programs of one configuration; jax caches their compilations by input shape."""

    initial: Callable  # (states, data) -> summaries at epoch 0
    chunk: Callable  # (states, first epoch, data) -> (states, summaries of `length` epochs)
    final: Callable  # (states, data) -> end-of-training summaries
    finite: Callable  # states -> (runs,) bool: every parameter and BatchNorm statistic finite
    length: int  # epochs per chunk
    compiled_chunks: dict  # input signature -> compiled `chunk` (compiled ahead of time to time it)

    def compiled_chunk(self, state: RunState, data: Dataset) -> tuple[Callable, float]:
        """(compiled chunk program, seconds spent compiling it now: 0 when reused)."""
        signature = tuple(
            (leaf.shape, leaf.dtype, getattr(leaf, "sharding", None))
            for leaf in jax.tree_util.tree_leaves((state, data))
        )
        if signature in self.compiled_chunks:
            return self.compiled_chunks[signature], 0.0
        start = time.perf_counter()
        compiled = self.chunk.lower(state, jnp.int32(1), data).compile()
        # Compiling the epoch-0 and final evaluations here too keeps their
        # compilation out of the timed training (jax reuses these compilations).
        self.initial.lower(state, data).compile()
        self.final.lower(state, data).compile()
        self.compiled_chunks[signature] = compiled
        return compiled, time.perf_counter() - start


def programs(config: RunConfig, num_train: int, stops: int | None = None) -> Programs:
    """Built once per (configuration less its tier, train size, stops): claims, tiers and seed sets that share
    them never recompile.

    A chunk of epochs divides `stops` (default: the tier's epochs), so training can stop at any multiple of it.
    """
    return _programs(_programs_key(config), num_train, config.tier.epochs if stops is None else stops)


@functools.lru_cache(maxsize=8)
def _programs(config: RunConfig, num_train: int, stops: int) -> Programs:
    model = model_of(config)
    epoch_fn = jax.vmap(make_epoch_fn(config, num_train), in_axes=(0, 0, None))
    length = chunk_length(stops, max_chunk_epochs())

    def chunk(states: RunState, first_epoch: jax.Array, data: Dataset) -> tuple[RunState, dict]:
        # scan over epochs, vmap inside: every run is at the same epoch.
        def one_epoch(s: RunState, e: jax.Array) -> tuple[RunState, dict]:
            return epoch_fn(s, jnp.broadcast_to(e, s.key.shape[:1]), data)

        return jax.lax.scan(one_epoch, states, first_epoch + jnp.arange(length))

    return Programs(
        initial=compiler.jit(jax.vmap(lambda s, d: evaluate(model, s, d), in_axes=(0, None))),
        chunk=compiler.jit(chunk, runs_long=True, donate_argnums=0),
        final=compiler.jit(jax.vmap(lambda s, d: final_summaries(model, s, d, config), in_axes=(0, None))),
        finite=compiler.jit(finite_runs),
        length=length,
        compiled_chunks={},
    )


def finite_runs(state: RunState) -> jax.Array:
    """(runs,) True where every parameter and BatchNorm statistic of the run is finite.

    A separate program, not part of the chunk, so the chunk's compiled code
    (and so its numbers) is the same with or without the check. The leaves are
    laid side by side and checked as one array: one reduction to compile, not
    one per leaf.
    """
    leaves = jax.tree_util.tree_leaves((state.params, state.batch_stats))
    return jnp.isfinite(jnp.concatenate([leaf.reshape(leaf.shape[0], -1) for leaf in leaves], axis=1)).all(axis=1)


def train_runs(
    config: RunConfig,
    data: Dataset,
    seeds: Iterable[int],
    *,
    progress: Callable[[int], None] | None = None,
    sharding: jax.sharding.Sharding | None = None,
    checkpoints: Checkpointer | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
    arms: tuple[Arm, ...] | None = None,
    keep_at: tuple[int, ...] = (),
) -> RunSet:
    """Train every arm (default: both variants, `arms_of(config)`) for every seed; return the summaries and
    the trained networks.

    `progress(epochs_done)` is called after each chunk of epochs. `sharding`
    (over the run axis) spreads the runs across devices. With `checkpoints`,
    training resumes from its snapshot and saves one at chunk boundaries when
    due; the numbers are the same bit for bit as without (the same programs
    run on the same values). When `stop_requested()` turns true, training
    saves a snapshot and raises `TrainingInterrupted` at the next chunk
    boundary. A run whose loss or weights stop being finite raises
    `TrainingDiverged`, naming it. `arms` trains other arms (the A/A check
    trains baselines only; the multiverse every condition's). `keep_at`
    names earlier epochs whose networks are kept too: the result's
    `earlier[e]` is the run set as it stood after epoch e. Snapshots carry
    the epochs kept so far, so training resumed past a kept epoch still has
    its networks (a snapshot that lacks one trains from the start).
    """
    seeds = tuple(seeds)
    arms = arms_of(config) if arms is None else arms
    layout = RunLayout(tuple(arm.name for arm in arms), seeds)
    epochs = config.tier.epochs
    if any(not 0 < e < epochs for e in keep_at):
        raise ValueError(f"keep_at must name epochs between 1 and {epochs - 1}, got {keep_at}")
    program = programs(config, data.train_x.shape[0], math.gcd(epochs, *keep_at))
    fresh = init_states(config, seeds, data.train_x.shape[0], arms)
    snapshot = checkpoints.restore(fresh) if checkpoints is not None else None
    if snapshot is not None and any(e <= snapshot.epoch and e not in snapshot.kept for e in keep_at):
        snapshot = None  # the networks of a kept epoch before the snapshot are not in it: train from the start
    # device_put also for the fresh state: the compiled chunk is looked up by where its inputs live.
    state = jax.device_put(fresh if snapshot is None else snapshot.state, sharding)

    chunk, compile_seconds = program.compiled_chunk(state, data)

    start = time.perf_counter()
    # A resumed run's training time counts the time its snapshot took to reach, so that its seconds per epoch
    # stay true (the multiverse's cost per model-step and its sizing, multiverse/gather.py).
    trained_before = 0.0 if snapshot is None else snapshot.seconds

    def snapshot_now() -> Snapshot:
        return Snapshot(done, jax.device_get(state), history, earlier, trained_before + time.perf_counter() - start)

    if snapshot is None:
        done, history = 0, jax.device_get(jax.tree_util.tree_map(lambda a: a[None], program.initial(state, data)))
        earlier: dict[int, Kept] = {}
    else:
        done, history, earlier = snapshot.epoch, snapshot.history, dict(snapshot.kept)
        if progress is not None:
            progress(done)
    while done < epochs:
        if stop_requested():
            if checkpoints is not None:
                checkpoints.save(snapshot_now())
            raise TrainingInterrupted(done, epochs)
        state, summary = chunk(state, jnp.int32(done + 1), data)
        summary, finite = jax.device_get((summary, program.finite(state)))
        _check_finite(finite, summary, layout, done)
        history = {name: np.concatenate([history[name], summary[name]]) for name in history}
        done += program.length
        if progress is not None:
            progress(done)
        if done in keep_at:
            earlier[done] = Kept(*jax.device_get((program.final(state, data), state.params, state.batch_stats)))
        if checkpoints is not None and done < epochs and checkpoints.due():
            checkpoints.save(snapshot_now())
    end_summaries, params, batch_stats = jax.device_get((program.final(state, data), state.params, state.batch_stats))
    train_seconds = trained_before + time.perf_counter() - start

    def as_run_set(epoch: int, end: dict, params: dict, batch_stats: dict) -> RunSet:
        # history is (epochs + 1, runs, ...) -> (runs, epochs + 1, ...) -> (variants, seeds, epochs + 1, ...)
        return RunSet(
            config=dataclasses.replace(config, tier=dataclasses.replace(config.tier, epochs=epoch)),
            seeds=seeds,
            curves={name: layout.split(np.moveaxis(h[: epoch + 1], 0, 1)) for name, h in history.items()},
            final={name: layout.split(v) for name, v in end.items()},
            params=jax.tree_util.tree_map(layout.split, params),
            batch_stats=jax.tree_util.tree_map(layout.split, batch_stats),
            keep_probs={arm.name: arm.keep_probs for arm in arms},
            train_seconds=train_seconds,
            compile_seconds=compile_seconds,
            variants=layout.variants,
            resumed_seconds=trained_before,
        )

    run_set = as_run_set(epochs, end_summaries, params, batch_stats)
    run_set.earlier = {epoch: as_run_set(epoch, *kept) for epoch, kept in sorted(earlier.items())}
    return run_set


def _check_finite(finite: np.ndarray, summary: dict[str, np.ndarray], layout: RunLayout, done: int) -> None:
    """Raise `TrainingDiverged` naming every run whose weights or losses stopped being finite in this chunk."""
    losses_ok = np.isfinite(summary["train_loss"]) & np.isfinite(summary["test_loss"])  # (chunk epochs, runs)
    bad = np.flatnonzero(~(finite & losses_ok.all(axis=0)))
    if bad.size == 0:
        return
    named = []
    for run in bad:
        variant, seed = layout.name(run)
        failed_epochs = np.flatnonzero(~losses_ok[:, run])
        epoch = done + 1 + (failed_epochs[0] if failed_epochs.size else len(losses_ok) - 1)
        named.append(f"{variant} seed {seed} (from epoch {epoch})")
    raise TrainingDiverged(
        f"Training diverged: the loss or weights became NaN or infinite for {', '.join(named)}, "
        f"checked after epoch {done + len(losses_ok)}. Nothing was cached. Fix: lower the learning rate or check "
        "the data for NaN or infinite values; a diverged run would make every claim meaningless."
    )
