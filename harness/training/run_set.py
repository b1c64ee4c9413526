"""What training consumes and produces: the data on device, the state it carries, the run layout, the run set.

Plain types, no training code: the cache, the probes and the evidence read
these without importing the trainer (harness/training/train.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

import jax
import numpy as np
import optax

from harness.config import VARIANTS, RunConfig


class Dataset(NamedTuple):
    """Normalised float32 inputs and int32 labels, already on device.

    `test_x_alt`: the test split under the other protocol's normalisation, for a
    program that trains both protocols side by side (harness/multiverse/gather.py); each
    run's `RunState.alt_test` says which of the two it is evaluated on.
    """

    train_x: jax.Array
    train_y: jax.Array
    test_x: jax.Array
    test_y: jax.Array
    test_x_alt: jax.Array | None = None


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped at a chunk boundary on request (Ctrl-C), after saving a checkpoint (raised by
    train.train_runs; here so that what only catches it need not import the trainer)."""

    def __init__(self, epoch: int, epochs: int) -> None:
        super().__init__(f"training interrupted at epoch {epoch} of {epochs}")
        self.epoch, self.epochs = epoch, epochs


class RunState(NamedTuple):
    """Everything one run carries from epoch to epoch (leading axis: runs)."""

    params: dict
    batch_stats: dict
    opt_state: optax.OptState
    order: jax.Array  # the notebook permutes its already-permuted arrays: keep the composition
    key: jax.Array  # the notebook's `rng`, split once per epoch
    keep_probs: jax.Array  # (layers,), all ones for the baseline
    dropout_key: jax.Array  # the corrected protocol's own stream of dropout keys
    fresh_dropout_keys: jax.Array  # bool: a fresh key per step and layer (corrected), else the epoch's key (writeup)
    alt_test: jax.Array  # bool: evaluate on `Dataset.test_x_alt` instead of `test_x`


class Arm(NamedTuple):
    """What one group of runs trains: a variant under a protocol. Every seed trains every arm.

    The arms of one program differ only in these values, which are inputs of the
    compiled program, so one compilation trains any mix of variants, dropout
    rates and protocols (the multiverse trains them all side by side).
    """

    name: str  # "baseline" or "dropout"; in a multiverse, qualified by its training condition
    keep_probs: tuple[float, ...]  # per hidden layer; all ones for the baseline
    fresh_dropout_keys: bool = False
    alt_test: bool = False


class Kept(NamedTuple):
    """The networks of an earlier epoch that training keeps (train_runs(keep_at=...)), as host arrays with a
    leading run axis."""

    final: dict[str, np.ndarray]  # the end-of-training summaries, had training stopped there
    params: dict
    batch_stats: dict


class Snapshot(NamedTuple):
    """Training stopped after `epoch` epochs: all that resuming it needs, as host arrays."""

    epoch: int
    state: RunState
    history: dict[str, np.ndarray]  # per-epoch summaries of epochs 0..epoch, shaped (epoch + 1, runs, ...)
    kept: Mapping[int, Kept] = MappingProxyType({})  # the earlier epochs kept so far: resuming keeps them
    seconds: float = 0.0  # training time spent reaching it: a resumed run's train_seconds counts it too


@dataclass(frozen=True)
class RunLayout:
    """Where each run sits on the run axis that training vmaps over: run r = v * S + s.

    Variant-major over `variants` (v: the arms' names) and `seeds` (s, S of them);
    seed s of every variant starts from the same weights and data order.
    """

    variants: tuple[str, ...]
    seeds: tuple[int, ...]

    @property
    def num_runs(self) -> int:
        return len(self.variants) * len(self.seeds)

    def run_seeds(self) -> tuple[int, ...]:
        """The seed of every run, in run order."""
        return self.seeds * len(self.variants)

    def name(self, run: int) -> tuple[str, int]:
        """(variant, seed) of run `run`."""
        return self.variants[run // len(self.seeds)], self.seeds[run % len(self.seeds)]

    def split(self, array) -> np.ndarray:
        """(runs, ...) -> (variants, seeds, ...)."""
        array = np.asarray(array)
        return array.reshape(len(self.variants), len(self.seeds), *array.shape[1:])

    def join(self, array):
        """(variants, seeds, ...) -> (runs, ...); a jax array stays one."""
        return array.reshape(self.num_runs, *array.shape[2:])


@dataclass
class RunSet:
    """The summaries of every run of a tier, as host numpy arrays.

    curves[name] has shape (variants, seeds, epochs + 1, ...): epoch 0 is the
    untrained network. final[name] has shape (variants, seeds, ...).
    params / batch_stats are the trained networks, leaves shaped (variants, seeds, ...).
    keep_probs[variant] is the keep probability per hidden layer that variant trained with (models.arms_of):
    the probes read them here rather than deriving them again from the configuration.
    """

    config: RunConfig
    seeds: tuple[int, ...]
    curves: dict[str, np.ndarray]
    final: dict[str, np.ndarray]
    params: dict
    batch_stats: dict
    keep_probs: dict[str, tuple[float, ...]]
    train_seconds: float = 0.0
    compile_seconds: float = 0.0
    variants: tuple[str, ...] = VARIANTS
    resumed_seconds: float = 0.0  # of train_seconds, the part spent before the checkpoint it resumed from
    meta: dict = field(default_factory=dict)
    # epoch -> this run set as it stood after that epoch (train_runs(keep_at=...)); not cached.
    earlier: dict[int, RunSet] = field(default_factory=dict)

    @property
    def epochs(self) -> np.ndarray:
        return np.arange(self.config.tier.epochs + 1)

    def curve(self, name: str, variant: str) -> np.ndarray:
        """(seeds, epochs + 1, ...) for one variant."""
        return self.curves[name][self.variants.index(variant)]

    def last(self, name: str, variant: str) -> np.ndarray:
        """A final summary, (seeds, ...) for one variant."""
        return self.final[name][self.variants.index(variant)]

    @property
    def layout(self) -> RunLayout:
        return RunLayout(self.variants, self.seeds)

    def of_seeds(self, part: slice) -> RunSet:
        """The runs of the seeds `part` (an index range of `seeds`), as a run set of a tier of those seeds: one
        seed set of many trained side by side (claims/null_draws.py)."""
        seeds = self.seeds[part]
        tier = dataclasses.replace(self.config.tier, first_seed=seeds[0], num_seeds=len(seeds))
        cut = lambda leaf: np.asarray(leaf)[:, part]
        return dataclasses.replace(
            self, config=dataclasses.replace(self.config, tier=tier), seeds=seeds,
            curves={name: cut(v) for name, v in self.curves.items()},
            final={name: cut(v) for name, v in self.final.items()},
            params=jax.tree_util.tree_map(cut, self.params), batch_stats=jax.tree_util.tree_map(cut, self.batch_stats),
            meta={}, earlier={},
        )

    def network(self, variant: str, seed_index: int) -> dict:
        """The trained variables of one run, ready for `MLP.apply`."""
        v = self.variants.index(variant)
        pick = lambda leaf: leaf[v, seed_index]
        return {
            "params": jax.tree_util.tree_map(pick, self.params),
            "batch_stats": jax.tree_util.tree_map(pick, self.batch_stats),
        }
