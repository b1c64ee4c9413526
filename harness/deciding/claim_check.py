"""A claim as the harness sees it: its decided hypotheses, what it wants in the report, and the tier's
assertion (full: the writeup's claim as stated; smoke: the pinned verdicts).

Each claim test (claims/) fills a `ClaimCheck` through the `claim` fixture;
the report (evidence_report.py) and the terminal summary read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from matplotlib.figure import Figure

from harness import HARNESS_VERSION, REPOSITORY
from harness.config import SMOKE, WRITEUP, RunConfig
from harness.deciding import stability, stats, writeup
from harness.deciding.stats import Decided
from harness.evidence.evidence import Evidence


def format_verdict(v: stats.Verdict) -> str:
    """One line per hypothesis. A REFUTED one shows the p AGAINST the claim and why it is refuted; an
    INCONCLUSIVE one says how many seeds would settle it, which is only true if the observed effect is the true one.
    """
    r = v.result
    unit = f" {r.unit}" if r.unit else ""
    interval = "95% CI"
    if math.isnan(v.p_adjusted):  # a sequential verdict (--seeds auto): e-values decided it, and its note gives them
        p, interval = r.note, "anytime-valid interval"  # its level is in the note
    elif v.verdict == stats.REFUTED:
        p = f"p against={r.p_opposite:.3g}, Holm p={v.p_opposite_adjusted:.3g} ({v.refuted_because})"
    else:
        p = f"p={r.p_value:.3g}, Holm p={v.p_adjusted:.3g}"
    needed = (f"; at the observed effect, about {v.seeds_needed} seeds would settle it (to {v.settles})"
              if v.seeds_needed else "")
    return (
        f"{r.hypothesis}: {v.verdict} - {r.statement}; effect {r.effect:+.4g}{unit} "
        f"[{interval} {r.ci_low:+.4g}, {r.ci_high:+.4g}], n={r.n}, {r.test}, {p}{needed}"
    )


@dataclass(frozen=True)
class Expectations:
    """The smoke tier's calibrated verdicts for this run (harness/deciding/stability.py).

    Empty at other tiers (they assert the writeup's claims as stated) and for a
    smoke run whose configuration was not calibrated (`problem` says so: its
    verdicts are reported, not asserted). `stale` marks the calibrated
    configuration with an expectations file that does not match it: a failure.
    """

    by_hypothesis: dict[str, stability.Expectation] = field(default_factory=dict)
    problem: str = ""
    stale: bool = False

    @classmethod
    def for_run(cls, evidence: Evidence, hypotheses: list[str]) -> Expectations:
        if evidence.tier != SMOKE.name:
            return cls()
        if evidence.sequential is not None:
            return cls(problem=(
                "--seeds auto decides by the sequential rule, whose verdicts the smoke calibration did not pin "
                "(it pins the fixed-n verdicts of the default run), so they are reported, not asserted"))
        calibrated = RunConfig(protocol=WRITEUP, tier=SMOKE)
        if evidence.config != calibrated:
            return cls(problem=(
                "this smoke run's configuration (protocol, seeds or epochs) is not the calibrated one, "
                "so its verdicts are reported, not asserted; the smoke expectations cover "
                f"`pytest` with the defaults ({SMOKE.num_seeds} seeds, {SMOKE.epochs} epochs, protocol writeup)"
            ))
        try:
            return cls(stability.load_expectations(
                REPOSITORY / stability.EXPECTATIONS_FILE, calibrated.key("", HARNESS_VERSION), hypotheses))
        except stability.StaleExpectations as error:
            return cls(problem=str(error), stale=True)


@dataclass
class ClaimCheck:
    """Handed to each claim test by the `claim` fixture.

    A claim is SUPPORTED only if every one of its primary hypotheses is
    (intersection-union) and its exact check, if it has one (C0, C8), holds;
    secondary hypotheses are sub-verdicts shown beside it.
    """

    claim_id: str
    evidence: Evidence = field(repr=False)
    decided: Decided = field(repr=False)
    expectations: Expectations = field(default_factory=Expectations, repr=False)
    operationalisation: str = field(default="", repr=False)
    figures: dict[str, Figure] = field(default_factory=dict, repr=False)
    writeup_figures: list[str] = field(default_factory=list, repr=False)
    reported: list[writeup.ReportedNumber] = field(default_factory=list, repr=False)
    details: dict = field(default_factory=dict, repr=False)
    exact: tuple[bool, str] | None = None

    @property
    def verdicts(self) -> list[stats.Verdict]:
        """Primary, then secondary."""
        return self.decided.all()

    @property
    def overall(self) -> str:
        if self.exact is not None and not self.exact[0]:
            return stats.REFUTED
        if not self.decided.primary:
            return stats.SUPPORTED if self.exact is not None else stats.INCONCLUSIVE
        return stats.overall(self.decided.primary)

    def stability(self, hypothesis: str) -> str:
        """What the smoke calibration says about one hypothesis ('' outside a calibrated smoke run)."""
        expectation = self.expectations.by_hypothesis.get(hypothesis)
        return expectation.stability() if expectation else ""

    def detail_lines(self, indent: str = "  ") -> list[str]:
        """The exact check, then one line per hypothesis (primary, secondary) with its smoke calibration:
        what a failure message and the terminal summary print under the claim's own line."""
        lines = [f"{indent}exact check: {self.exact[1]}"] if self.exact is not None else []
        for group, verdicts in (("primary", self.decided.primary), ("secondary", self.decided.secondary)):
            for v in verdicts:
                lines.append(f"{indent}[{group}] {format_verdict(v)}")
                if self.stability(v.result.hypothesis):
                    lines.append(f"{indent}    smoke calibration: {self.stability(v.result.hypothesis)}")
        return lines

    def summary(self) -> str:
        tier = self.evidence.tier + (" (reduced)" if self.evidence.reduced else "")
        lines = [f"{self.claim_id} [{tier}, {self.evidence.n} paired seeds]: {self.overall}", *self.detail_lines()]
        outside = [r for r in self.reported if r.inside is False]
        lines += [
            f"  writeup's {r.quantity} = {r.writeup:.4g} lies outside our 95% prediction interval "
            f"[{r.pi_low:.4g}, {r.pi_high:.4g}]"
            for r in outside
        ]
        return "\n".join(lines)

    def assert_as_expected(self) -> None:
        """The tier's assertion, at the end of every claim test.

        An exact check must hold in every tier. The full tier asserts the
        writeup's claim as stated: every primary part SUPPORTED. The smoke tier
        asserts exactly the verdicts its calibration pinned (either direction of
        change fails) and reports the unstable ones.
        """
        if self.exact is not None:
            assert self.exact[0], f"{self.claim_id}: the exact check fails.\n{self.summary()}"
        if self.evidence.tier != SMOKE.name:
            assert self.overall == stats.SUPPORTED, (
                f"The writeup's claim {self.claim_id} is not reproduced ({self.overall}).\n{self.summary()}"
            )
            return
        self._assert_pinned()

    def _assert_pinned(self) -> None:
        expectations = self.expectations
        assert not expectations.stale, expectations.problem
        if expectations.problem:
            pytest.skip(f"{self.claim_id} {self.overall}: {expectations.problem}")
        pinned = [(v, expectations.by_hypothesis[v.result.hypothesis]) for v in self.verdicts
                  if expectations.by_hypothesis[v.result.hypothesis].pinned]
        changed = [(v, e) for v, e in pinned if v.verdict != e.pinned]
        assert not changed, (
            f"{self.claim_id}: {len(changed)} pinned smoke verdict(s) changed:\n" + "\n".join(
                f"  {v.result.hypothesis}: measured {v.verdict}, pinned {e.pinned} ({e.stability()})"
                for v, e in changed
            ) + f"\n{self.summary()}"
        )
        if not pinned and self.exact is None:
            pytest.skip(
                f"{self.claim_id} {self.overall}: no hypothesis of this claim is stable at smoke scale, so none is "
                "asserted; " + "; ".join(f"{v.result.hypothesis} {v.verdict} ({self.stability(v.result.hypothesis)})"
                                         for v in self.verdicts)
            )


def per_seed(values: np.ndarray) -> list[float]:
    """Per-seed numbers for the report's details tables."""
    return [round(float(v), 6) for v in np.ravel(values)]
