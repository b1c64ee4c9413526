"""Where each claim holds, the runs: every condition of the multiverse trained as one program, then gathered.

    conditions (config.Condition: protocol x dropout-rate scale x training length)
      -> arms: per protocol one baseline and one dropout arm per rate scale
      -> one `train_runs` over every arm and seed, keeping the networks at each condition's epoch
      -> one RunSet per condition (cached per condition) -> its Evidence (probes on its own test split)
      -> multiverse_decide.py: decided per condition (Holm within its family), laid out as one matrix; multiverse_report.py writes it.

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

import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

from harness import HARNESS_VERSION, cache, distributed, probes, stats
from harness.config import MIN_EPOCHS, PROTOCOLS, VARIANTS, Condition, RunConfig, Tier
from harness.data import Cifar10
from harness.evidence import Evidence
from harness.input_pipeline import TierData, prepare
from harness.models import keep_probabilities
from harness.run_set import Arm, RunSet
from harness.runs import peak_device_memory, run_sharding
from harness.train import train_runs

# The one-program numeric path differs from a tier's own program, so its runs never share a cache entry with them.
CACHE_VERSION = f"{HARNESS_VERSION}+multiverse"


# --------------------------------------------------------------------------- runs


def check_tier(conditions: tuple[Condition, ...], tier: Tier) -> None:
    """Refuse, with the fix, a tier too short for a condition's training length."""
    short = [c for c in conditions if c.epochs(tier) < MIN_EPOCHS]
    if short:
        fraction = min(c.epoch_fraction for c in short)
        raise ValueError(
            f"{short[0].name} would read the claims after {short[0].epochs(tier)} epoch(s) of {tier.epochs}; they need "
            f"at least {MIN_EPOCHS}. Fix: train at least {-(-MIN_EPOCHS // fraction):.0f} epochs (--epochs), or drop "
            "the shorter training lengths from the multiverse."
        )


def arm_names(condition: Condition) -> tuple[str, str]:
    """(baseline arm, dropout arm) of a condition: the baseline is shared by every rate scale of its protocol."""
    return f"{condition.protocol}/baseline", f"{condition.protocol} x{condition.rate_scale:g}/dropout"


def arms_for(conditions: tuple[Condition, ...], tier: Tier) -> tuple[Arm, ...]:
    """Each protocol's baseline, then one dropout arm per rate scale of that protocol, in condition order."""
    reference = PROTOCOLS[conditions[0].protocol].test_normalisation  # the split `Dataset.test_x` holds
    arms: dict[str, Arm] = {}
    for condition in conditions:
        protocol = condition.run_config(tier).protocol
        flags = {"fresh_dropout_keys": protocol.dropout_keys == "per_step",
                 "alt_test": protocol.test_normalisation != reference}
        baseline, dropout = arm_names(condition)
        arms.setdefault(baseline, Arm(baseline, (1.0,) * len(protocol.dropout_rates), **flags))
        keep = tuple(float(k) for k in keep_probabilities(protocol.dropout_rates))
        arms.setdefault(dropout, Arm(dropout, keep, **flags))
    return tuple(arms.values())


def tier_data(cifar: Cifar10, conditions: tuple[Condition, ...], tier: Tier) -> dict[str, TierData]:
    """The tier's data as each protocol of the multiverse normalises it."""
    return {p: prepare(cifar, Condition(p).run_config(tier)) for p in dict.fromkeys(c.protocol for c in conditions)}


def train_conditions(
    conditions: tuple[Condition, ...],
    tier: Tier,
    data: Mapping[str, TierData],
    *,
    widths: tuple[int, ...] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[Condition, RunSet]:
    """Every condition's runs from one `train_runs` call over all arms and seeds; one RunSet per condition."""
    widths = widths or RunConfig(protocol=PROTOCOLS["writeup"], tier=tier).widths
    first = conditions[0].run_config(tier, widths)
    for condition in conditions:
        protocol = condition.run_config(tier, widths).protocol
        if (protocol.learning_rate, protocol.batch_size) != (first.protocol.learning_rate, first.protocol.batch_size):
            raise ValueError(f"{condition.name} trains with another learning rate or batch size than "
                             f"{conditions[0].name}: one program cannot train both")
    reference = first.protocol.test_normalisation
    other_tests = {PROTOCOLS[c.protocol].test_normalisation: data[c.protocol].dataset.test_x for c in conditions}
    dataset = data[conditions[0].protocol].dataset._replace(
        test_x_alt=next((x for norm, x in other_tests.items() if norm != reference), None))
    epochs = max(c.epochs(tier) for c in conditions)
    arms = arms_for(conditions, tier)
    program_config = dataclasses.replace(first, tier=dataclasses.replace(tier, epochs=epochs))
    seeds = tier.seeds()
    share = distributed.seed_share(seeds)  # every seed, unless several processes train (harness/distributed.py)
    run_set = train_runs(
        program_config, dataset, share, arms=arms, progress=progress,
        keep_at=tuple(sorted({c.epochs(tier) for c in conditions} - {epochs})),
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
    return {c: condition_view(by_epoch[c.epochs(tier)], c, c.run_config(tier, widths), trained_with)
            for c in conditions}


def condition_view(run_set: RunSet, condition: Condition, config: RunConfig, meta: Mapping[str, Any]) -> RunSet:
    """The condition's two arms of a multiverse run set, as a tier's run set of `config` (variants VARIANTS);
    `meta` says how the whole program was trained (what `training_speed` reads)."""
    picked = [run_set.variants.index(name) for name in arm_names(condition)]
    take = lambda leaf: np.asarray(leaf)[picked]
    return RunSet(
        config=config, seeds=run_set.seeds,
        curves={k: take(v) for k, v in run_set.curves.items()}, final={k: take(v) for k, v in run_set.final.items()},
        params=jax.tree_util.tree_map(take, run_set.params),
        batch_stats=jax.tree_util.tree_map(take, run_set.batch_stats),
        train_seconds=run_set.train_seconds, compile_seconds=run_set.compile_seconds, variants=VARIANTS,
        meta=dict(meta),
    )


def condition_runs(
    conditions: tuple[Condition, ...],
    tier: Tier,
    data: Mapping[str, TierData],
    *,
    cache_dir: Path,
    retrain: bool = False,
    widths: tuple[int, ...] | None = None,
    progress: Callable[[int], None] | None = None,
    train: Callable[..., dict[Condition, RunSet]] = train_conditions,
) -> dict[Condition, tuple[RunSet, str]]:
    """(run set, cache key) per condition: from the cache where an intact entry exists, the rest trained together.

    The rules of harness/runs.py: one entry per condition keyed by everything that decides it (here also the
    multiverse's own numeric path), verified on load, written atomically, one writer per key. When several
    processes train (harness/distributed.py), process 0 alone reads and writes the cache and tells the others
    what to train; they return only what they trained (process 0 decides and reports).
    """
    check_tier(conditions, tier)
    keys = {c: c.run_config(tier, *([widths] if widths else [])).key(
        data[c.protocol].source_digest, CACHE_VERSION) for c in conditions}
    writer = distributed.is_reporting_process()
    with contextlib.ExitStack() as locks:
        for key in sorted(set(keys.values())) if writer else ():  # one order for every process: no deadlock
            locks.enter_context(cache.one_writer(cache_dir, key))
        found = {} if retrain or not writer else {c: cache.load(cache_dir, keys[c]) for c in conditions}
        cached = distributed.as_reporting_process_says([found.get(c) is not None for c in conditions])
        missing = tuple(c for c, hit in zip(conditions, cached, strict=True) if not hit)
        if missing:
            trained = train(missing, tier, data, widths=widths, progress=progress)
            for condition, run_set in trained.items():
                run_set.meta["cache"] = "retrained" if retrain else "miss"
                if writer:
                    _save(cache_dir, keys[condition], run_set)
            found |= trained
    return {c: (found[c], keys[c]) for c in conditions if found.get(c) is not None}


def _save(cache_dir: Path, key: str, run_set: RunSet) -> None:
    try:
        cache.save(cache_dir, key, run_set)
    except OSError as error:
        run_set.meta["cache"] += f" (not saved: {error})"


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
    rest = walls["training"] - speed["compile_seconds"] - speed["train_seconds"]
    per_seed = (len(arms_for(conditions, tier)) * tier.epochs * per_model_epoch / devices
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
