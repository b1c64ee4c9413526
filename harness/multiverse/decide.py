"""The multiverse decided: every condition's claims decided, laid out as one matrix of verdicts.

    gather.py's Evidence per condition
      -> decided by the caller's `decide` (claims/family.decide: Holm within each condition's family)
      -> `Matrix`: per claim and hypothesis x condition, the verdict, the effect and the adjusted p,
         with one sentence per claim and the negative control's violations
         (report.py writes it: sentences first, the heat map as an HTML table and an image)

The writeup's own condition (writeup protocol, its rates, all epochs) is the
primary one; the tiers assert its verdicts. Every other cell is exploratory:
Holm corrects within a condition's family only, so the matrix describes where
a claim holds; it is not one test across conditions.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from harness.config import Condition
from harness.deciding import stats
from harness.training.run_set import RunSet


class ConditionEvidence(Protocol):
    """What the matrix reads of a condition's evidence (harness/evidence/evidence.py's `Evidence`; `decide` reads the
    rest). A protocol, not an import of evidence.py, so that this module and the report that writes its matrix
    sit low in the import graph (harness/__init__.py)."""

    @property
    def tier(self) -> str: ...

    @property
    def runs(self) -> RunSet: ...


E = TypeVar("E", bound=ConditionEvidence)


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
    evidence: Mapping[Condition, E],
    decide: Callable[[E], dict[str, stats.Decided]],
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
