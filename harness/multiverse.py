"""Where each claim holds: the claims decided under many conditions, trained as one program, read as one matrix.

    conditions (config.Condition: protocol x dropout-rate scale x training length)
      -> arms: per protocol one baseline and one dropout arm per rate scale
      -> one `train_runs` over every arm and seed, keeping the networks at each condition's epoch
      -> one RunSet per condition (cached per condition) -> its Evidence (probes on its own test split)
      -> decided by the caller (claims/family.decide: Holm within each condition's family)
      -> `Matrix`: per claim and hypothesis x condition, the verdict, the effect and the adjusted p.

One program: the dropout rates, the key schedule and the test split a run is
evaluated on are inputs of the compiled program (run_set.Arm), so every
condition trains side by side without a second compile. The two protocols
normalise the test split differently; both normalisations are on the device
and every test pass computes both (a run's flag selects one), which is what
training both protocols in one program costs. A training length needs no runs
of its own: the claims at 1/4 of the epochs read the networks kept after that
epoch of the same runs (with Adam at a constant rate, a run cut at epoch e is
the run trained for e epochs).

The writeup's own condition (writeup protocol, its rates, all epochs) is the
primary one; the tiers assert its verdicts. Every other cell is exploratory:
Holm corrects within a condition's family only, so the matrix describes where
a claim holds; it is not one test across conditions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from matplotlib.figure import Figure

from harness import HARNESS_VERSION, cache, distributed, figures, probes, stats
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


def training_speed(runs: Mapping[Condition, tuple[RunSet, str]]) -> dict[str, Any]:
    """How fast the one program trained every condition (all conditions share it, so any one's run set says):

        µs per model-step = training seconds (after compiling; per-epoch evaluation included)
                            / (runs x epochs x steps per epoch)

    Empty when the run sets predate these facts."""
    run_set, _ = next(iter(runs.values()))
    meta = run_set.meta
    if "program_runs" not in meta:
        return {}
    model_steps = meta["program_runs"] * meta["program_epochs"] * meta["steps_per_epoch"]
    return {
        "runs": meta["program_runs"], "epochs": meta["program_epochs"], "steps_per_epoch": meta["steps_per_epoch"],
        "model_steps": model_steps,
        "compile_seconds": round(run_set.compile_seconds, 1), "train_seconds": round(run_set.train_seconds, 1),
        "us_per_model_step": round(run_set.train_seconds / model_steps * 1e6, 2),
        "devices": meta["devices"], "peak_device_memory_bytes": meta["peak_device_memory_bytes"],
        "cache": meta.get("cache", ""),
    }


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
    (reports/reference/README.md: 46 s for 8 seeds on an H200, 47 s for 15 on an H100).
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


# --------------------------------------------------------------------------- the matrix


@dataclass(frozen=True)
class Cell:
    """One hypothesis (or claim) under one condition."""

    verdict: str
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_adjusted: float | None = None  # Holm-adjusted within the condition's family, for the claim's direction
    p_opposite_adjusted: float | None = None  # the same, against it


@dataclass(frozen=True)
class Row:
    """A claim (`hypothesis` None: its primary hypotheses together) or one of its hypotheses, across conditions."""

    claim: str
    hypothesis: str | None
    family: str  # "claim", "primary" or "secondary"
    statement: str
    unit: str
    comparative: bool  # a directional comparison of the two variants: what the negative control checks
    cells: tuple[Cell | None, ...]  # per condition; None: not decided there (see Matrix.errors)


@dataclass(frozen=True)
class Matrix:
    """Verdicts per claim and hypothesis x condition. Descriptive across conditions: Holm holds within one."""

    conditions: tuple[Condition, ...]
    rows: tuple[Row, ...]
    errors: dict[str, str]  # condition name -> why it could not be decided
    tier: str
    seeds: tuple[int, ...]

    def claim_rows(self) -> list[Row]:
        return [row for row in self.rows if row.hypothesis is None]

    def control_violations(self) -> list[str]:
        """Every comparative hypothesis SUPPORTED under a negative control, named with its condition."""
        return [
            f"{row.hypothesis} is SUPPORTED under the negative control {condition.name} (effect "
            f"{cell.effect:+.4g} {row.unit}, Holm p={cell.p_adjusted:.3g}): the two variants are the same model "
            "there, so this is a false positive of the pipeline"
            for row in self.rows if row.comparative
            for condition, cell in zip(self.conditions, row.cells, strict=True)
            if condition.is_control and cell is not None and cell.verdict == stats.SUPPORTED
        ]

    def sentence(self, row: Row) -> str:
        """Where a claim holds, in words: "holds in k of n conditions; breaks when ..." (controls not counted)."""
        cells = [(c, cell) for c, cell in zip(self.conditions, row.cells, strict=True) if not c.is_control]
        holds = [c for c, cell in cells if cell is not None and cell.verdict == stats.SUPPORTED]
        text = f"{row.claim} holds in {len(holds)} of {len(cells)} conditions"
        if not cells or len(holds) == len(cells):
            return text + "."
        if not holds:
            return text + "; it breaks everywhere (" + _verdict_counts(cell for _, cell in cells) + ")."
        breaks = []
        for attribute, phrase in _FACTORS:
            values = [value for value in dict.fromkeys(_value(c, attribute) for c, _ in cells)
                      if not any(_value(c, attribute) == value for c in holds)]
            if values:
                breaks.append(phrase.format(" or ".join(values)))
        if breaks:
            return text + "; it breaks whenever " + ", or ".join(breaks) + "."
        broken = [f"{c.name} ({cell.verdict if cell else 'not decided'})" for c, cell in cells if c not in holds]
        return text + "; no single factor explains where it breaks: " + "; ".join(broken) + "."

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "seeds": list(self.seeds),
            "note": ("Holm corrects within each condition's family; across conditions the matrix is descriptive. "
                     "The primary condition is the pre-registered one; every other cell is exploratory."),
            "conditions": [{"name": c.name, **dataclasses.asdict(c), "primary": c.is_primary, "control": c.is_control}
                           for c in self.conditions],
            "rows": [dataclasses.asdict(row) for row in self.rows],
            "sentences": {row.claim: self.sentence(row) for row in self.claim_rows()},
            "control_violations": self.control_violations(),
            "errors": self.errors,
        }


# How a sentence names a factor's values under which a claim never holds.
_FACTORS = (("protocol", "the protocol is {}"), ("rate_scale", "the rates are ×{}"),
            ("epoch_fraction", "the claims are read after {} of the epochs"))


def _value(condition: Condition, attribute: str) -> str:
    value = getattr(condition, attribute)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _verdict_counts(cells) -> str:
    counts: dict[str, int] = {}
    for cell in cells:
        label = cell.verdict if cell is not None else "not decided"
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{n} {label}" for label, n in counts.items())


def matrix(
    evidence: Mapping[Condition, Evidence],
    decide: Callable[[Evidence], dict[str, stats.Decided]],
) -> Matrix:
    """Decide every condition (`decide`: Holm within its family) and lay the verdicts out per row."""
    conditions = tuple(evidence)
    decided: dict[Condition, dict[str, stats.Decided]] = {}
    errors = {}
    for condition in conditions:
        try:
            decided[condition] = decide(evidence[condition])
        except ValueError as error:  # claims.family.HypothesisError: a degenerate statistic in this condition
            errors[condition.name] = str(error)
    rows: list[Row] = []
    claims = list(dict.fromkeys(claim for d in decided.values() for claim, c in d.items() if c.primary))
    for claim in claims:
        primaries = {cond: d[claim].primary for cond, d in decided.items() if claim in d}
        rows.append(Row(claim, None, "claim", "every primary hypothesis holds", "", False, tuple(
            Cell(stats.overall(primaries[c])) if primaries.get(c) else None for c in conditions)))
        for family in ("primary", "secondary"):
            verdicts = {cond: {v.result.hypothesis: v for v in getattr(d[claim], family)}
                        for cond, d in decided.items() if claim in d}
            for hypothesis in dict.fromkeys(itertools.chain.from_iterable(verdicts.values())):
                example = next(v[hypothesis] for v in verdicts.values() if hypothesis in v).result
                rows.append(Row(
                    claim, hypothesis, family, example.statement, example.unit,
                    example.between_variants and example.kind == "superiority",
                    tuple(_cell(verdicts.get(c, {}).get(hypothesis)) for c in conditions),
                ))
    first = next(iter(evidence.values()))
    return Matrix(conditions, tuple(rows), errors, first.tier, tuple(first.runs.seeds))


def _cell(v: stats.Verdict | None) -> Cell | None:
    if v is None:
        return None
    return Cell(v.verdict, v.result.effect, v.result.ci_low, v.result.ci_high, v.p_adjusted, v.p_opposite_adjusted)


# --------------------------------------------------------------------------- the report


def heatmap(m: Matrix) -> Figure:
    """The primary hypotheses (they decide the claims) down, the conditions across."""
    rows = [row for row in m.rows if row.family == "primary"]
    marks = {j: "primary" if c.is_primary else "control" for j, c in enumerate(m.conditions)
             if c.is_primary or c.is_control}
    return figures.multiverse_heatmap(
        [row.hypothesis or row.claim for row in rows],
        [f"{c.protocol} ×{c.rate_scale:g} @{c.epoch_fraction:g}" for c in m.conditions],
        [[cell.verdict if cell else None for cell in row.cells] for row in rows],
        [[cell.effect if cell else None for cell in row.cells] for row in rows],
        marks,
    )


def report_content(m: Matrix, tier: Tier, provenance: Mapping[str, Any], wall_seconds: Mapping[str, float],
                   training: Mapping[str, Any]) -> dict[str, Any]:
    """What report.write_multiverse_report writes: the matrix of `tier` (labelled reduced when it has fewer
    seeds or epochs than the tier's defaults) with where it came from, how long each step took (`wall_seconds`:
    "total", "training" (or loading), "probes", "decisions") and how fast the one program trained (`training`,
    from `training_speed`)."""
    return {
        "title": 'Multiverse: where the claims of "How and Why Does Dropout Work?" hold',
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "epochs": tier.epochs,
        "reduced": tier.is_reduced(),
        "wall_seconds": {step: round(seconds, 1) for step, seconds in wall_seconds.items()},
        "training": dict(training),
        "matrix": m.as_dict(),
        "provenance": dict(provenance),
    }
