"""Where each claim holds: every condition of the multiverse trained as one program, gathered and decided.

    gather_multiverse(plan, cifar, ...)                  the driver, as evidence/gather.py's `gather` is a tier's
      plan: each condition (config.Condition: protocol x dropout-rate scale x training length) -> its RunConfig,
            derived once and checked (`Plan.of`)
      -> arms: per protocol one baseline and one dropout arm per rate scale (models.arms_of, per condition)
      -> one `train_runs` over every arm and seed, keeping the networks at each condition's epoch
      -> one RunSet per condition, cached per condition through runs.cached_runs (checkpoints, resume, Ctrl-C)
      -> its Evidence (probes on its own test split)
      -> decide.py: decided per condition (Holm within its family), laid out as one matrix;
         report.py writes it.

One program: the dropout rates, the key schedule and the test split a run is
evaluated on are inputs of the compiled program (run_set.Arm), so every
condition trains side by side without a second compile. The two protocols
normalise the test split differently; both normalisations are on the device
and every test pass computes both (a run's flag selects one), which is what
training both protocols in one program costs. A training length needs no runs
of its own: the claims at 1/4 of the epochs read the networks kept after that
epoch of the same runs (with Adam at a constant rate, a run cut at epoch e is
the run trained for e epochs).

The full multiverse's default size is estimated here too (`estimated_seconds`, `sized_tier`),
from a measured run of this program.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np

from harness import REPOSITORY
from harness.config import (
    HIDDEN_WIDTHS,
    MIN_EPOCHS,
    VARIANTS,
    Condition,
    RunConfig,
    Tier,
)
from harness.data.cifar10 import Cifar10
from harness.deciding import stats
from harness.evidence import probes
from harness.evidence.evidence import Evidence
from harness.multiverse import decide as multiverse_decide
from harness.multiverse import report as multiverse_report
from harness.reporting import provenance
from harness.training import cache, distributed
from harness.training.input_pipeline import TierData, prepare
from harness.training.models import arms_of
from harness.training.run_set import Arm, RunSet
from harness.training.runs import (
    cached_runs,
    peak_device_memory,
    run_identity,
    run_sharding,
)
from harness.training.train import Checkpointer, train_runs

# The one-program numeric path differs from a tier's own program, so its runs never share a cache entry with them.
CACHE_PROGRAM = "multiverse"
# The full multiverse's default size: the most seeds whose estimated wall time (`affordable_seeds`) fits
# 10 minutes less a tenth, for what the estimate leaves out (pytest's start, loading the data, run-to-run spread),
# on the local devices; estimated from a full multiverse measured on one H100 (reports/reference/README.md says
# which command wrote it).
FULL_MULTIVERSE_BUDGET_S = 0.9 * 600.0
FULL_MULTIVERSE_ANCHOR = "multiverse-full-h100-20-epochs.json"


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Plan:
    """The multiverse on one tier, derived once: each condition's RunConfig (`Condition.run_config`), checked.

    Everything after reads these configurations (the data, the program and its arms, the cache keys, the
    per-condition run sets); nothing derives them again.
    """

    tier: Tier
    configs: dict[Condition, RunConfig]  # in condition order: the report's columns, the program's arms
    sized: str | None = None  # what the report says of the seeds, when they were sized (`sized_tier`)

    @classmethod
    def of(cls, conditions: tuple[Condition, ...], tier: Tier, *, widths: tuple[int, ...] = HIDDEN_WIDTHS,
           sized: bool = False) -> Plan:
        """The plan of `conditions` on `tier`; `sized`: with the most seeds that fit the full multiverse's
        budget on the local devices (`full_tier`). Raises ValueError, with the fix, for conditions one program
        cannot train (`check_tier`, `check_one_program`)."""
        said = None
        if sized:
            tier, said = full_tier(conditions, tier)
        check_tier(conditions, tier)
        configs = {c: c.run_config(tier, widths) for c in conditions}
        check_one_program(configs)
        return cls(tier, configs, said)

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(self.configs)

    @property
    def num_runs(self) -> int:
        """Runs of the program that trains every condition: arms x seeds."""
        return num_arms(self.conditions) * self.tier.num_seeds

    def only(self, conditions: tuple[Condition, ...]) -> Plan:
        """The plan of some of its conditions (those the cache lacks), trained as a program of their own."""
        return dataclasses.replace(self, configs={c: self.configs[c] for c in conditions})

    def keys(self, data: Mapping[str, TierData]) -> dict[Condition, str]:
        """Each condition's cache key: everything that decides it, here also the multiverse's own numeric path."""
        identity = f"{run_identity()}+{CACHE_PROGRAM}"
        return {c: config.key(data[c.protocol].source_digest, identity) for c, config in self.configs.items()}


def check_tier(conditions: tuple[Condition, ...], tier: Tier) -> None:
    """Refuse, with the fix, a tier too short for a condition's training length."""
    long_enough = lambda epochs: all(c.epochs(dataclasses.replace(tier, epochs=epochs)) >= MIN_EPOCHS
                                     for c in conditions)
    if not long_enough(tier.epochs):
        short = next(c for c in conditions if c.epochs(tier) < MIN_EPOCHS)
        needed = next(e for e in itertools.count(tier.epochs + 1) if long_enough(e))
        raise ValueError(
            f"{short.name} would read the claims after {short.epochs(tier)} epoch(s) of {tier.epochs}; they need "
            f"at least {MIN_EPOCHS}. Fix: train at least {needed} epochs (--epochs), or drop "
            "the shorter training lengths from the multiverse."
        )


def check_one_program(configs: Mapping[Condition, RunConfig]) -> None:
    """Refuse conditions that train with another learning rate or batch size than the first: one program
    cannot train both."""
    (first, reference), *others = configs.items()
    for condition, config in others:
        if (config.protocol.learning_rate, config.protocol.batch_size) != (
                reference.protocol.learning_rate, reference.protocol.batch_size):
            raise ValueError(f"{condition.name} trains with another learning rate or batch size than "
                             f"{first.name}: one program cannot train both. Fix: give every condition of the "
                             "multiverse its protocol's learning rate and batch size (harness/config.py), or run "
                             "such conditions as a multiverse of their own")


def arm_names(condition: Condition) -> tuple[str, str]:
    """(baseline arm, dropout arm) of a condition: the baseline is shared by every rate scale of its protocol."""
    return f"{condition.protocol}/baseline", f"{condition.protocol} x{condition.rate_scale:g}/dropout"


def num_arms(conditions: tuple[Condition, ...]) -> int:
    """How many arms the program of `conditions` trains (`program_arms`), from their names alone."""
    return len({name for condition in conditions for name in arm_names(condition)})


def program_arms(configs: Mapping[Condition, RunConfig]) -> tuple[Arm, ...]:
    """Each protocol's baseline, then one dropout arm per rate scale of that protocol, in condition order:
    each condition's `models.arms_of` under its `arm_names`. The first condition's test split is the
    program's `test_x`; a protocol that normalises it otherwise reads `test_x_alt` (`alt_test`)."""
    reference = next(iter(configs.values())).protocol.test_normalisation
    arms: dict[str, Arm] = {}
    for condition, config in configs.items():
        own = arms_of(config, alt_test=config.protocol.test_normalisation != reference)
        for arm, name in zip(own, arm_names(condition), strict=True):
            arms.setdefault(name, arm._replace(name=name))
    return tuple(arms.values())


# --------------------------------------------------------------------------- runs


def tier_data(cifar: Cifar10, plan: Plan) -> dict[str, TierData]:
    """The tier's data as each protocol of the multiverse normalises it (from any of the protocol's
    configurations: the data depends only on the tier's subset and the protocol's normalisation)."""
    by_protocol = {c.protocol: config for c, config in plan.configs.items()}
    return {protocol: prepare(cifar, config) for protocol, config in by_protocol.items()}


def train_conditions(
    plan: Plan,
    data: Mapping[str, TierData],
    *,
    progress: Callable[[int], None] | None = None,
    checkpoints: Checkpointer | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
) -> dict[Condition, RunSet]:
    """Every condition's runs from one `train_runs` call over all arms and seeds; one RunSet per condition.
    `checkpoints` and `stop_requested`: as `train_runs` takes them (snapshots keep the earlier epochs' networks)."""
    first_condition, first = next(iter(plan.configs.items()))
    reference = first.protocol.test_normalisation
    other_tests = {config.protocol.test_normalisation: data[c.protocol].dataset.test_x
                   for c, config in plan.configs.items()}
    dataset = data[first_condition.protocol].dataset._replace(
        test_x_alt=next((x for norm, x in other_tests.items() if norm != reference), None))
    condition_epochs = {config.tier.epochs for config in plan.configs.values()}
    epochs = max(condition_epochs)
    arms = program_arms(plan.configs)
    program_config = dataclasses.replace(first, tier=dataclasses.replace(plan.tier, epochs=epochs))
    seeds = plan.tier.seeds()
    share = distributed.seed_share(seeds)  # every seed, unless several processes train (harness/training/distributed.py)
    run_set = train_runs(
        program_config, dataset, share, arms=arms, progress=progress, checkpoints=checkpoints,
        stop_requested=stop_requested, keep_at=tuple(sorted(condition_epochs - {epochs})),
        sharding=run_sharding(len(arms) * len(share)),
    )
    by_epoch = {e: distributed.gather_run_set(r, seeds) for e, r in {epochs: run_set, **run_set.earlier}.items()}
    trained_with = {
        "trained_with": f"{len(arms)} arms x {len(seeds)} seeds in one program",
        "program_runs": len(arms) * len(seeds),
        "program_epochs": epochs,
        "steps_per_epoch": -(-dataset.train_x.shape[0] // first.protocol.batch_size),  # the last batch is partial
        "devices": [str(d) for d in jax.devices()],
        "peak_device_memory_bytes": peak_device_memory(),
    }
    return {c: condition_view(by_epoch[config.tier.epochs], c, config, trained_with)
            for c, config in plan.configs.items()}


def condition_view(run_set: RunSet, condition: Condition, config: RunConfig, meta: Mapping[str, Any]) -> RunSet:
    """The condition's two arms of a multiverse run set, as a tier's run set of `config` (variants VARIANTS);
    `meta` says how the whole program was trained (what `training_speed` reads)."""
    names = arm_names(condition)
    picked = [run_set.variants.index(name) for name in names]
    take = lambda leaf: np.asarray(leaf)[picked]
    return RunSet(
        config=config, seeds=run_set.seeds,
        curves={k: take(v) for k, v in run_set.curves.items()}, final={k: take(v) for k, v in run_set.final.items()},
        params=jax.tree_util.tree_map(take, run_set.params),
        batch_stats=jax.tree_util.tree_map(take, run_set.batch_stats),
        keep_probs={variant: run_set.keep_probs[name] for variant, name in zip(VARIANTS, names, strict=True)},
        train_seconds=run_set.train_seconds, compile_seconds=run_set.compile_seconds, variants=VARIANTS,
        resumed_seconds=run_set.resumed_seconds, meta=dict(meta),
    )


def condition_runs(
    plan: Plan,
    data: Mapping[str, TierData],
    *,
    cache_dir: Path,
    retrain: bool = False,
    progress: Callable[[int], None] | None = None,
    checkpoint_interval_s: float = cache.CHECKPOINT_INTERVAL_S,
    stop_requested: Callable[[], bool] | None = None,
    train: Callable[..., dict[Condition, RunSet]] = train_conditions,
) -> dict[Condition, tuple[RunSet, str]]:
    """(run set, cache key) per condition: from the cache where an intact entry exists, the rest trained together
    by `train(plan of the missing conditions, data, ...)`, through the tiers' own cache path (`runs.cached_runs`:
    one entry and one lock per condition, checkpoints of the program, resume, the deferred Ctrl-C).

    When several processes train (harness/training/distributed.py), process 0 alone reads and writes the cache's
    entries and tells the others what to train (each keeps a checkpoint of its own share); they return only what
    they trained (process 0 decides and reports).
    """
    keys = plan.keys(data)

    def train_missing(missing: tuple[int, ...], checkpoints: cache.Checkpoints,
                      stop: Callable[[], bool]) -> list[RunSet]:
        program = plan.only(tuple(plan.conditions[i] for i in missing))
        views = train(program, data, progress=progress, checkpoints=checkpoints, stop_requested=stop)
        return [views[c] for c in program.conditions]

    found = cached_runs(tuple(keys.values()), train_missing, cache_dir=cache_dir, retrain=retrain,
                        checkpoint_interval_s=checkpoint_interval_s, stop_requested=stop_requested,
                        across_processes=True)
    return {c: (run_set, keys[c]) for c, run_set in zip(plan.conditions, found, strict=True) if run_set is not None}


def gather_conditions(
    runs: Mapping[Condition, tuple[RunSet, str]], data: Mapping[str, TierData]
) -> dict[Condition, Evidence]:
    """Each condition's evidence: its runs and the probes measured on its protocol's test split."""
    evidence = {}
    for condition, (run_set, key) in runs.items():
        tier_data = data[condition.protocol]
        start = time.perf_counter()
        measured = probes.measure(run_set, tier_data.dataset)
        evidence[condition] = Evidence(run_set.config, tier_data, run_set, measured, key,
                                       time.perf_counter() - start)
    return evidence


# --------------------------------------------------------------------------- the driver


@dataclass(frozen=True)
class Gathered:
    """A multiverse trained (or loaded), probed and decided: what its report is written from."""

    plan: Plan
    runs: dict[Condition, tuple[RunSet, str]]  # (run set, cache key) per condition
    evidence: dict[Condition, Evidence]
    matrix: multiverse_decide.Matrix
    walls: dict[str, float]  # seconds: total, training, probes, decisions

    def write(self, html: Path, *, told_commit: str | None = None) -> None:
        """The report at `html` (and its JSON beside it), with where its numbers came from (provenance.of)."""
        facts = provenance.of(None, self.walls["total"], told_commit=told_commit)
        if self.plan.sized:
            facts["seeds sized"] = self.plan.sized
        multiverse_report.write(self.matrix, self.plan.tier, self.runs, facts, self.walls, html)


def gather_multiverse(
    plan: Plan,
    cifar: Cifar10,
    *,
    cache_dir: Path,
    decide: Callable[[Evidence], Mapping[str, Any]],
    retrain: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Gathered | None:
    """The multiverse's flow, as `gather.gather` is a tier's: the data, every condition's runs (cached or
    trained as one program), the probes, and every condition decided by `decide` (claims/family.decide: Holm
    within its family) into one matrix. None on a process other than process 0 (harness/training/distributed.py): it
    trained its share of the seeds; process 0 decides and reports."""
    start = time.time()
    data = tier_data(cifar, plan)
    runs = condition_runs(plan, data, cache_dir=cache_dir, retrain=retrain, progress=progress)
    if not distributed.is_reporting_process():
        return None
    trained = time.time()
    evidence = gather_conditions(runs, data)
    probed = time.time()
    matrix = multiverse_decide.matrix(evidence, decide)
    walls = {"total": time.time() - start, "training": trained - start, "probes": probed - trained,
             "decisions": time.time() - probed}
    return Gathered(plan, runs, evidence, matrix, walls)


# --------------------------------------------------------------------------- sizing the full multiverse


def estimated_seconds(
    measured: Mapping[str, Any], conditions: tuple[Condition, ...], tier: Tier, devices: int,
) -> float:
    """The wall time of the multiverse `conditions` x `tier` (its seeds) on `devices` devices, from one measured
    multiverse run (its report JSON, on the kind of device to size for; any epochs and seeds: `report_content`
    records its step times and `training_speed`). With A arms, E epochs, S seeds, D devices, M measured seeds:

        compile + probes + S x (A x E x seconds per model-epoch / D + (rest of training + decisions) / M)

    seconds per model-epoch = training seconds / (runs x epochs) of the measured program (per-epoch evaluation
    included); "rest of training" is its training step less compiling and training (data, gathering the kept
    epochs, caching), counted per seed like the decisions; the probes are counted once: they are compile-bound
    (compare `wall_seconds.probes` of the two measured full multiverses in reports/reference/).
    """
    speed, walls = measured["training"], measured["wall_seconds"]
    per_model_epoch = speed["train_seconds"] / (speed["runs"] * speed["epochs"])
    # this session's training step, less its own compiling and training (a resumed run's train_seconds also
    # counts the sessions before, which this step's wall time does not)
    rest = walls["training"] - speed["compile_seconds"] - (speed["train_seconds"] - speed.get("resumed_seconds", 0.0))
    per_seed = (num_arms(conditions) * tier.epochs * per_model_epoch / devices
                + (rest + walls["decisions"]) / len(measured["matrix"]["seeds"]))
    return speed["compile_seconds"] + walls["probes"] + tier.num_seeds * per_seed


def affordable_seeds(
    measured: Mapping[str, Any], conditions: tuple[Condition, ...], tier: Tier, devices: int, budget_s: float,
) -> int:
    """The most seeds per condition whose `estimated_seconds` fit `budget_s`, at least stats.MIN_SEEDS_T."""
    seeds = stats.MIN_SEEDS_T
    while estimated_seconds(measured, conditions, dataclasses.replace(tier, num_seeds=seeds + 1),
                            devices) <= budget_s:
        seeds += 1
    return seeds


def sized_tier(measured: Mapping[str, Any], anchor: str, conditions: tuple[Condition, ...], tier: Tier,
               devices: int, budget_s: float) -> tuple[Tier, str]:
    """`tier` with `affordable_seeds`, and what the report says of that choice (`anchor` names `measured`)."""
    sized = dataclasses.replace(tier, num_seeds=affordable_seeds(measured, conditions, tier, devices, budget_s))
    return sized, (f"{sized.num_seeds} seeds: the most whose estimated wall time fits {budget_s:.0f} s on {devices} "
                   f"device(s) ({estimated_seconds(measured, conditions, sized, devices):.0f} s, from {anchor}); "
                   "--seeds overrides")


def full_tier(conditions: tuple[Condition, ...], tier: Tier) -> tuple[Tier, str]:
    """`sized_tier` on the local devices within FULL_MULTIVERSE_BUDGET_S, from the committed measured run
    (reports/reference/FULL_MULTIVERSE_ANCHOR)."""
    anchor = REPOSITORY / "reports" / "reference" / FULL_MULTIVERSE_ANCHOR
    return sized_tier(json.loads(anchor.read_text()), str(anchor.relative_to(REPOSITORY)), conditions, tier,
                      len(jax.local_devices()), FULL_MULTIVERSE_BUDGET_S)
