"""Seeds until decided (`--seeds auto`): add paired seeds in batches until every primary hypothesis is settled.

    pytest claims/ --seeds auto [--max-seeds N] [--seed-batch K]

The loop, for a tier's configuration:

    for batch b = 1, 2, ...: train (or load) seeds first + (b-1)K ... first + bK - 1   # one cache entry
        decide every hypothesis on all seeds so far (from 3 seeds on: the fixed-n statistics need them)
        stop when every primary hypothesis is SUPPORTED or REFUTED, or at N seeds

Each batch is the tier with a seed range (`batch_config`), so it goes through the tier's own path
(the caller's `gather_batch`: `gather.gather`, i.e. `runs.get_runs` with its cache, checkpoints and sharding
over local devices) and is cached as one
entry keyed by its seed range: a later call with a higher cap loads every earlier batch and trains only new
ones. Changing K regroups the seeds into other ranges, so those are trained again (the README says so).

The decisions are the anytime-valid ones of `harness.deciding.sequential`: per hypothesis an e-process on its per-seed
values (`stats.Result.values`, the values the fixed-n test averages), Bonferroni over each family (primary,
secondary: as the fixed-n harness corrects each family on its own), a decision that stands. Looking after
every batch and stopping on what was seen keeps the error rates (Ville's inequality holds for the whole path).

Which e-process decides a hypothesis follows the kind its claim module declared before any data
(`stats.Result.discrete`, as the fixed-n tests do): the t e-process for a continuous statistic, the sign
e-process for a discrete one (integer epochs: ties and zeros, where the t model does not hold). Nothing about
the choice is read from the data, so it cannot bias either test. A discrete hypothesis with a minimum effect
or an equivalence margin is refused (`hypothesis_of`: the sign e-process tests a median, the mean only for
values symmetric about the boundary), and a t hypothesis whose first values tie waits, undecided, for them to
spread (sequential.py).

Ctrl-C between batches (or during one: training stops at its next chunk boundary, with a checkpoint) stops
the loop there: the result holds the decisions as of the last completed batch and says it was interrupted.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from harness.config import AUTO_SEEDS, RunConfig
from harness.deciding import sequential, stats
from harness.deciding.sequential import STATISTIC_WORDS
from harness.evidence.evidence import Evidence, Probes
from harness.training.run_set import RunSet, TrainingInterrupted
from harness.training.runs import deferred_interrupts

FAMILIES = ("primary", "secondary")


@dataclass(frozen=True)
class AutoSeeds:
    """How `--seeds auto` adds seeds: `batch` paired seeds at a time, at most `max_seeds` in all."""

    batch: int
    max_seeds: int

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise ValueError(f"--seed-batch must be at least 1 (got {self.batch}). Fix: pass --seed-batch 1 or more.")
        if self.max_seeds < stats.MIN_SEEDS_T:
            raise ValueError(
                f"--max-seeds must be at least {stats.MIN_SEEDS_T} (got {self.max_seeds}): the hypotheses are first "
                f"decided at {stats.MIN_SEEDS_T} seeds. Fix: pass --max-seeds {stats.MIN_SEEDS_T} or more.")
        if self.max_seeds < self.batch:
            raise ValueError(
                f"--max-seeds {self.max_seeds} is below --seed-batch {self.batch}: not even one batch fits under the "
                f"cap. Fix: raise --max-seeds to at least {self.batch}, or lower --seed-batch.")
        if self.max_seeds % self.batch:
            low, high = self.max_seeds // self.batch * self.batch, -(-self.max_seeds // self.batch) * self.batch
            raise ValueError(
                f"--max-seeds {self.max_seeds} is not a multiple of --seed-batch {self.batch}: batches are cached by "
                "their seed range, so a last, shorter batch would be trained again inside a whole batch by a later "
                f"call with a higher cap. Fix: pass --max-seeds {high}" + (f" or {low}" if low else "") + ".")

    @property
    def batches(self) -> int:
        return self.max_seeds // self.batch



def resolve_auto(given: tuple[int | None, int | None], tier_name: str) -> AutoSeeds:
    """(--seed-batch, --max-seeds) with the tier's defaults where not given; a bad combination raises
    ValueError naming the problem and the fix."""
    batch, cap = (value if value is not None else default for value, default in zip(given, AUTO_SEEDS[tier_name]))
    return AutoSeeds(batch=batch, max_seeds=cap)


def batch_config(config: RunConfig, index: int, batch: int) -> RunConfig:
    """Batch `index` (0-based) of `batch` seeds: the tier with the seed range first + index*batch ... (its cache key)."""
    tier = config.tier
    return dataclasses.replace(config, tier=dataclasses.replace(
        tier, first_seed=tier.first_seed + index * batch, num_seeds=batch))


def concatenate(parts: Sequence[Evidence]) -> Evidence:
    """The evidence of consecutive batches as one evidence of all their seeds, in seed order."""
    first = parts[0]
    seeds = tuple(seed for part in parts for seed in part.runs.seeds)
    config = dataclasses.replace(first.config, tier=dataclasses.replace(first.config.tier, num_seeds=len(seeds)))
    along_seeds = lambda *leaves: np.concatenate(leaves, axis=1)  # (variants, seeds, ...)
    runs = [part.runs for part in parts]
    run_set = RunSet(
        config=config, seeds=seeds,
        curves={name: along_seeds(*(r.curves[name] for r in runs)) for name in first.runs.curves},
        final={name: along_seeds(*(r.final[name] for r in runs)) for name in first.runs.final},
        params=jax.tree_util.tree_map(along_seeds, *(r.params for r in runs)),
        batch_stats=jax.tree_util.tree_map(along_seeds, *(r.batch_stats for r in runs)),
        keep_probs=first.runs.keep_probs,  # every batch is the same configuration's
        train_seconds=sum(r.train_seconds for r in runs), compile_seconds=sum(r.compile_seconds for r in runs),
        variants=first.runs.variants,
        # what each batch's cache did, in order: the report's provenance shows which batches were trained
        meta=runs[-1].meta | {"cache": ", ".join(f"batch {b}: {r.meta.get('cache', '')}" for b, r in
                                                 enumerate(runs, 1))},
    )
    return dataclasses.replace(
        first, config=config, runs=run_set, probes=Probes.concatenate([part.probes for part in parts]),
        cache_key=" ".join(part.cache_key for part in parts), probe_seconds=sum(p.probe_seconds for p in parts))


# --------------------------------------------------------------------------- the decisions


def hypothesis_of(result: stats.Result) -> sequential.Hypothesis:
    """The sequential form of a fixed-n hypothesis, its e-process chosen by the statistic's declared kind.

    A discrete statistic gets the sign e-process, which decides the centre of symmetry: the mean, for values
    symmetric about it. Against 0 with exchangeable variants that holds under the null; against a minimum effect
    or an equivalence margin it would have to hold about that boundary, which fixed-n testing does not assume
    (stats.py adds a bootstrap-t guard there). No claim declares such a hypothesis; one that did is refused."""
    if result.discrete and (result.kind == "equivalence" or result.min_effect):
        boundary = "an equivalence margin" if result.kind == "equivalence" else "a minimum effect"
        raise ValueError(
            f"{result.hypothesis}: a discrete statistic with {boundary} has no valid e-process here (the sign "
            "e-process tests a median, the mean only for values symmetric about the boundary). Fix: decide it "
            "with a fixed number of seeds (--seeds N), or declare its statistic continuous")
    statistic = "sign" if result.discrete else "t"
    if result.kind == "equivalence":
        return sequential.Hypothesis(result.hypothesis, "equivalence", "within", margin=result.margin,
                                     statistic=statistic)
    return sequential.Hypothesis(result.hypothesis, "superiority", result.alternative, min_effect=result.min_effect,
                                 statistic=statistic)


def _results(decided: Mapping[str, stats.Decided], family: str) -> list[stats.Result]:
    return [v.result for d in decided.values() for v in getattr(d, family)]


def _values(results: Sequence[stats.Result]) -> dict[str, tuple[float, ...]]:
    empty = [r.hypothesis for r in results if not r.values]
    if empty:
        raise ValueError(
            f"{', '.join(empty)}: no per-seed values (the test's unit is not the seed), so the sequential mode cannot "
            "decide it. Fix: decide it across seeds (stats.one_sample_t, paired_t, equivalence_tost, trend_test), "
            "or run with a fixed number of seeds.")
    return {r.hypothesis: r.values for r in results}


@dataclass(frozen=True)
class Look:
    """The families' sequential states after one look (a batch end with at least 3 seeds)."""

    n: int
    states: dict[str, sequential.Monitor]  # family -> its state; a family without hypotheses is absent


def look(previous: Look | None, decided: Mapping[str, stats.Decided], n: int, alpha: float = stats.ALPHA) -> Look:
    """Every family decided once more on all `n` seeds so far; the first look fixes the hypotheses."""
    if not _results(decided, "primary"):
        raise ValueError("the sequential mode stops when every primary hypothesis is decided, and there is none")
    states = {}
    for family in FAMILIES:
        results = _results(decided, family)
        if not results:
            continue
        state = (previous.states[family] if previous is not None else
                 sequential.Monitor(tuple(hypothesis_of(r) for r in results), alpha))
        states[family] = sequential.monitor(state, _values(results))
    return Look(n, states)


def sequential_verdict(verdict: stats.Verdict, hypothesis: sequential.Hypothesis, status: sequential.Status,
                       family_size: int, alpha: float) -> stats.Verdict:
    """A fixed-n verdict's place taken by the sequential decision: its anytime-valid interval (each side at
    alpha/m) and verdict. No p-values: e-values decide, and the note gives them."""
    r = verdict.result
    level = 1 - 2 * alpha / family_size
    result = dataclasses.replace(
        r, test=f"{STATISTIC_WORDS[hypothesis.statistic]} (anytime-valid, Bonferroni over {family_size})",
        ci_low=status.ci_low, ci_high=status.ci_high, p_value=math.nan, p_opposite=math.nan,
        p_opposite_direction=None,
        note=(f"e-value for the claim 10^{status.log10_e_for:.3g}, against it 10^{status.log10_e_against:.3g}; "
              f"decides at 10^{status.log10_threshold:.3g} = m/alpha; interval: running anytime-valid "
              f"{level:.4g} confidence sequence" + (f"; {status.note}" if status.note else "")))
    return stats.Verdict(result, math.nan, math.nan, status.verdict, None, None, status.refuted_because)


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Sequential:
    """What `--seeds auto` did: the batches, every look's decisions, why it stopped, and the verdicts."""

    auto: AutoSeeds
    looks: tuple[Look, ...]
    stopped: str  # why the loop ended, in words
    interrupted: str  # "" unless Ctrl-C ended it: what it stopped
    fixed: Mapping[str, stats.Decided]  # the fixed-n decisions at the last look, for the hypotheses' descriptions
    alpha: float = stats.ALPHA

    @property
    def n(self) -> int:
        return self.looks[-1].n

    def stopped_below_default_cap(self, tier_name: str) -> bool:
        """Ended by a --max-seeds below the tier's default cap (config.AUTO_SEEDS) with primary hypotheses still
        open: the tier's own rule would have trained on (what makes an auto run reduced besides its epochs)."""
        default = AUTO_SEEDS.get(tier_name)
        return (default is not None and self.auto.max_seeds < default[1] and self.n >= self.auto.max_seeds
                and not self.looks[-1].states["primary"].all_decided())

    def batch_of(self, n: int) -> int:
        """1-based batch whose end is at n seeds."""
        return n // self.auto.batch

    @property
    def decided(self) -> dict[str, stats.Decided]:
        """Per claim, its verdicts as the sequential rule decided them (what the claim tests assert)."""
        last = self.looks[-1].states

        def replaced(verdicts: list[stats.Verdict], family: str) -> list[stats.Verdict]:
            if not verdicts:
                return []
            state = last[family]
            by_name = {h.name: (h, s) for h, s in zip(state.hypotheses, state.statuses)}
            return [sequential_verdict(v, *by_name[v.result.hypothesis], len(state.hypotheses), self.alpha)
                    for v in verdicts]

        return {claim: stats.Decided(replaced(d.primary, "primary"), replaced(d.secondary, "secondary"))
                for claim, d in self.fixed.items()}

    def rule(self) -> str:
        """The stopping rule in words, with this run's numbers."""
        primary = self.looks[-1].states["primary"]
        m = len(primary.hypotheses)
        return (
            f"Train {self.auto.batch} paired seeds at a time; after each batch (from {stats.MIN_SEEDS_T} seeds on) "
            "decide every hypothesis with its e-process on its per-seed values: SUPPORTED once its e-value for the "
            f"claim has reached m/alpha = {m}/{self.alpha:g} = {m / self.alpha:g} (Bonferroni over the m primary "
            "hypotheses; the secondary ones over their own family), REFUTED once its e-value against the claim has; "
            "a decision stands whatever later batches show. Stop when every primary hypothesis is SUPPORTED or "
            f"REFUTED, or at {self.auto.max_seeds} seeds; what is left is INCONCLUSIVE, with its anytime-valid "
            "interval. Ville's inequality bounds each e-process's chance of ever reaching m/alpha under its null by "
            "alpha/m, so this stopping rule (or any other) keeps the family's error rates at most alpha.")

    def sequence(self, family: str, name: str) -> list[sequential.Status]:
        """One hypothesis's status at every look."""
        out = []
        for state in (entry.states[family] for entry in self.looks):
            out.append(next(s for s in state.statuses if s.hypothesis == name))
        return out

    def hypotheses(self) -> list[tuple[str, str, sequential.Hypothesis]]:
        """(claim, family, hypothesis) for every hypothesis, in claim order, primary first."""
        return [(claim, family, self._hypothesis(family, v.result.hypothesis))
                for family in FAMILIES for claim, d in self.fixed.items() for v in getattr(d, family)]

    def _hypothesis(self, family: str, name: str) -> sequential.Hypothesis:
        return next(h for h in self.looks[-1].states[family].hypotheses if h.name == name)

    def decided_at(self, status: sequential.Status) -> str:
        if status.decided_at_n is None:
            return "undecided"
        return f"decided at n = {status.decided_at_n} (batch {self.batch_of(status.decided_at_n)})"

    def summary(self) -> str:
        """One line: where the run stopped and why."""
        return (f"stopped at n = {self.n} seeds (batch {self.batch_of(self.n)} of at most {self.auto.batches}): "
                f"{self.stopped}")

    def figure_name(self, name: str) -> str:
        return f"sequence_{name}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON's `sequential` section (reports/evidence.schema.json, version 2)."""
        families = [{"family": family, "size": len(state.hypotheses), "alpha": self.alpha,
                     "log10_threshold": math.log10(len(state.hypotheses) / self.alpha)}
                    for family, state in self.looks[-1].states.items()]
        rows = []
        for claim, family, h in self.hypotheses():
            statuses = self.sequence(family, h.name)
            last = statuses[-1]
            rows.append({
                "hypothesis": h.name, "claim": claim, "family": family, "statistic": h.statistic, "kind": h.kind,
                "alternative": h.alternative, "min_effect": h.min_effect, "margin": h.margin,
                "verdict": last.verdict, "decided_at_n": last.decided_at_n,
                "decided_at_batch": None if last.decided_at_n is None else self.batch_of(last.decided_at_n),
                "refuted_because": last.refuted_because,
                "figure": self.figure_name(h.name) if family == "primary" else None,
                "sequence": [{"n": s.n, "effect": s.effect, "ci_low": s.ci_low, "ci_high": s.ci_high,
                              "log10_e_for": s.log10_e_for, "log10_e_against": s.log10_e_against,
                              "verdict": s.verdict} for s in statuses],
            })
        return {
            "rule": self.rule(), "seed_batch": self.auto.batch, "max_seeds": self.auto.max_seeds,
            "seeds_used": self.n, "batches": self.batch_of(self.n), "stopped": self.stopped,
            "interrupted": bool(self.interrupted), "looks": [entry.n for entry in self.looks],
            "families": families, "hypotheses": rows,
        }


# --------------------------------------------------------------------------- the loop


# (batch's configuration, progress(epochs done) or None, stop_requested) -> the batch's evidence
GatherBatch = Callable[[RunConfig, Callable[[int], None] | None, Callable[[], bool]], Evidence]


def seeds_until_decided(
    config: RunConfig,
    auto: AutoSeeds,
    gather_batch: GatherBatch,
    decide: Callable[[Evidence], Mapping[str, stats.Decided]],
    *,
    progress: Callable[[int, int], None] | None = None,
    told: Callable[[str], None] = lambda line: None,
    alpha: float = stats.ALPHA,
) -> Evidence:
    """Train `auto.batch` paired seeds of `config` at a time until `decide`'s primary hypotheses are all decided
    or `auto.max_seeds` are trained; the evidence of every seed trained, with `sequential` set.

    `gather_batch` trains or loads one batch (`gather.gather` with the session's cache; passed in, not
    imported, to keep the harness's import graph shallow). `decide(evidence)` is the fixed-n decision of the
    family (claims/family.py `decide`): it gives every hypothesis its per-seed values and description. `progress(batch, epochs done)` follows training; `told`
    gets a line after each look. A Ctrl-C with no look yet (fewer than 3 seeds) is raised as it is.
    """
    parts: list[Evidence] = []
    looks: list[Look] = []
    fixed: Mapping[str, stats.Decided] = {}
    stopped, interrupted = f"the cap of {auto.max_seeds} seeds reached", ""
    with deferred_interrupts(deliver=False) as stop_requested:
        for index in range(auto.batches):
            if stop_requested():
                interrupted = f"Ctrl-C after batch {index} ({index * auto.batch} seeds): no further batch trained"
                break
            try:
                parts.append(gather_batch(
                    batch_config(config, index, auto.batch),
                    None if progress is None else lambda done, b=index + 1: progress(b, done), stop_requested))
            except TrainingInterrupted as error:
                interrupted = (f"Ctrl-C during batch {index + 1}: {error} (checkpointed; a rerun resumes it); "
                               f"decided on the {index * auto.batch} seeds of the batches before")
                if not looks:
                    raise
                break
            evidence = concatenate(parts)
            if evidence.n < stats.MIN_SEEDS_T:
                continue
            fixed = decide(evidence)
            looks.append(look(looks[-1] if looks else None, fixed, evidence.n, alpha))
            primary = looks[-1].states["primary"]
            open_ = sum(s.verdict == stats.INCONCLUSIVE for s in primary.statuses)
            told(f"--seeds auto: batch {index + 1}, n = {evidence.n}: {len(primary.statuses) - open_} of "
                 f"{len(primary.statuses)} primary hypotheses decided")
            if primary.all_decided():
                stopped = "every primary hypothesis decided"
                break
    if not looks:  # interrupted before the first look: nothing was decided
        raise KeyboardInterrupt(interrupted)
    if interrupted:
        stopped = f"interrupted: {interrupted}"
    record = Sequential(auto, tuple(looks), stopped, interrupted, fixed, alpha)
    return dataclasses.replace(concatenate(parts), sequential=record)
