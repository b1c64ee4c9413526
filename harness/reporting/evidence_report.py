"""Assemble the report's facts and figures from a tier's evidence and its claims' outcomes.

`report.py` renders; this module decides what goes in: every claim (run or
not), the writeup's figures reproduced from the summaries; provenance.py adds where they came from.
"""

from __future__ import annotations

import dataclasses
import datetime
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np
from matplotlib.figure import Figure

from harness.config import WRITEUP_SEED
from harness.data.cifar10 import LABEL_NAMES
from harness.deciding import drift, sequential, stats, writeup
from harness.deciding.claim_check import ClaimCheck
from harness.deciding.sequential import STATISTIC_WORDS
from harness.evidence.evidence import Evidence
from harness.reporting import compare, figures, report
from harness.training.summaries import hist_edges

# Values drawn for the input histograms: enough for a smooth 20-bin histogram.
HISTOGRAM_SAMPLE = 200_000
# The writeup's figures of each evidence, drawn once: the session assembles its report more than once (the
# browser check, then the final report), and drawing them is most of assembling it.
_WRITEUP_FIGURES: weakref.WeakKeyDictionary[Evidence, dict[str, Figure]] = weakref.WeakKeyDictionary()


def assemble(
    *,
    tier: str,
    evidence: Evidence | None,
    checks: dict[str, ClaimCheck],
    collected: list[str],
    outcomes: dict[str, tuple[str, str]],
    interrupted: bool,
    provenance: dict[str, Any],
    reference_dir: Path = compare.REFERENCE_DIR,
    interruption: str = "",
    drift_result: drift.Drift | None = None,
    drift_measured: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, Figure]]:
    """(evidence dict as documented in report.py, figures by name). `provenance` is where the numbers came
    from (provenance.py asks git and the libraries; this module asks nothing outside the evidence). With a
    reference evidence of the run's protocol in `reference_dir`, the dict says what changed since it
    (`compare.reference_section`)."""
    figs: dict[str, Figure] = {}
    claims = []
    seq = evidence.sequential if evidence is not None else None
    sequence_figures = confidence_sequence_figures(seq) if seq is not None else {}
    for claim_id in writeup.CLAIMS:  # every claim of the writeup, run or not
        check = checks.get(claim_id)
        ended = "the session ended before this claim ran" + (f" ({interruption})" if interruption else "")
        not_run = ended if claim_id in collected else "not selected in this session"
        outcome, reason = outcomes.get(claim_id, ("not run", not_run))
        claim = writeup.CLAIMS[claim_id]
        row = ClaimRow(id=claim_id, title=claim.title, quote=claim.quote, outcome=outcome, reason=reason)
        if check is not None:
            own = dict(check.figures)
            figs |= own
            row = dataclasses.replace(
                row, operationalisation=check.operationalisation, verdict=check.overall,
                hypotheses=hypothesis_rows(check), exact=check.exact[1] if check.exact else "",
                exact_holds=check.exact[0] if check.exact else None,
                reported_vs_reproduced=list(check.reported),
                figures=check.writeup_figures + list(own) + [
                    seq.figure_name(v.result.hypothesis) for v in check.decided.primary
                    if seq.figure_name(v.result.hypothesis) in sequence_figures] if seq is not None
                else check.writeup_figures + list(own),
                details=check.details,
            )
        claims.append(row)
    writeup_figures = reproduce_writeup_figures(evidence) if evidence is not None else {}
    figs |= writeup_figures | sequence_figures
    sizes = {group: sum(1 for c in claims for h in c.hypotheses if h.family == group)
             for group in ("primary", "secondary")}
    facts = {
        "title": 'Evidence: "How and Why Does Dropout Work?"',
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tier": tier,
        # Not the tier's verdicts (fewer epochs or seeds than its defaults): Evidence.reduced decides.
        "reduced": bool(evidence is not None and evidence.reduced),
        # Claims merely not selected are listed as "not run" and flagged by the report's
        # banner; "interrupted" is reserved for a session that stopped before its end.
        "interrupted": (interrupted or any(c.outcome == "not run" and c.id in collected for c in claims)
                        or bool(seq is not None and seq.interrupted)),
        "protocol": evidence.config.as_dict() if evidence else {},
        "seeds": list(evidence.runs.seeds) if evidence else [],
        "family": {"size": sizes["primary"], "secondary_size": sizes["secondary"], "alpha": stats.ALPHA,
                   "correction": "Holm" if seq is None else "Bonferroni over anytime-valid e-processes (--seeds auto)"},
        "claims": claims,
        "writeup_figures": list(writeup_figures),
        "provenance": provenance | ({"interrupted": interruption} if interruption else {})
        | ({"seeds until decided": seq.summary()} if seq is not None else {}),
    }
    facts["changes_since_reference"] = compare.reference_section(report.json_safe(facts), reference_dir)
    facts["header_facts"] = header_facts(facts, drift_result, drift_measured)
    sections = []
    if seq is not None:
        facts["sequential"] = seq.as_dict()
        facts["header_facts"].append({"label": "Seeds until decided (--seeds auto)", "text": seq.summary(),
                                      "status": "ok" if seq.stopped == "every primary hypothesis decided" else "warn"})
        sections.append(sequential_section(seq))
    if drift_result is not None:
        facts["drift"] = drift_result.as_dict()
        sections.append({
            "id": "smoke-drift", "title": "Smoke drift test",
            "summary": "this run's numbers against the calibration's seed sets",
            "body": {"result": drift_result.summary(),
                     "values that moved most": [m.describe() for m in drift_result.moved],
                     "values without spread in the calibration (left out)": list(drift_result.unmodelled),
                     "its false-alarm rate, measured": list(drift_measured),
                     "if the change was intended": drift.RECALIBRATE},
        })
    if sections:
        facts["sections"] = sections
    return facts, figs


def sequential_section(seq: Any) -> dict[str, Any]:
    """The folded section of a --seeds auto run (`seq`: the evidence's until_decided.Sequential, which this
    module does not import: that one sits above it): the stopping rule in words and where each hypothesis was
    decided (its figure is in its claim's section)."""
    rows = []
    for claim, family, h in seq.hypotheses():
        last = seq.sequence(family, h.name)[-1]
        rows.append({"hypothesis": h.name, "family": family, "e-process": STATISTIC_WORDS[h.statistic],
                     "verdict": last.verdict, "when": seq.decided_at(last),
                     "anytime-valid interval": f"[{last.ci_low:+.4g}, {last.ci_high:+.4g}] at n = {last.n}"})
    return {"id": "seeds-until-decided", "title": "Seeds until decided",
            "summary": seq.summary(),
            "body": {"stopping rule": seq.rule(), "stopped": seq.stopped, "hypotheses": rows}}


def header_facts(facts: dict[str, Any], drift_result: drift.Drift | None,
                 drift_measured: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The header's extra lines: how faithful a miniature of the reference this run is (another tier than the
    reference's), and the smoke drift test's outcome with what has been measured of its false-alarm rate."""
    lines = []
    reference = facts.get("changes_since_reference") or {}
    agreement = reference.get("agreement")
    if agreement and reference.get("reference_tier") != facts["tier"]:
        lines.append({
            "label": f"Agreement with the {reference['reference_tier']} tier reference",
            "text": (f"{agreement['claims_agreeing']} of {agreement['claims']} claims and "
                     f"{agreement['primary_agreeing']} of {agreement['primary']} primary hypotheses take the "
                     f"reference's verdict ({reference['reference']})"),
            "status": None,
        })
    if drift_result is not None:
        moved = "; ".join(m.describe() for m in drift_result.moved[:3])
        measured = f". False alarms measured: {'; '.join(drift_measured)}" if drift_measured else ""
        lines.append({"label": "Smoke drift test", "text": f"{drift_result.summary()}. Moved most: {moved}{measured}",
                      "status": "fail" if drift_result.drifted else "ok"})
    return lines


@dataclass(frozen=True)
class HypothesisRow:
    """One hypothesis in the report: its decided verdict, its family, which sign supports the claim, and its
    smoke stability. In the JSON, flat: the verdict's fields (`stats.Verdict.as_dict`) and these."""

    verdict: stats.Verdict
    family: str  # "primary" (decides the claim) or "secondary"
    supports_if: str  # SUPPORTS_IF, for the test's direction
    pinned: str | None  # the smoke verdict the calibration pins (fixtures/smoke_expectations.json), or None
    stability: str  # how often the calibration saw each verdict, in words

    def as_dict(self) -> dict[str, Any]:
        return self.verdict.as_dict() | {"family": self.family, "supports_if": self.supports_if,
                                         "pinned": self.pinned, "stability": self.stability}


@dataclass(frozen=True)
class ClaimRow:
    """One claim of the writeup in the report, run or not (report.py documents the JSON it becomes)."""

    id: str
    title: str
    quote: str  # the writeup's words
    outcome: str  # the test's: passed, failed, xfailed, xpassed, error, skipped, or "not run"
    reason: str  # plain language, for failures and xfails
    operationalisation: str = ""  # the test's docstring
    verdict: str | None = None  # SUPPORTED, REFUTED, INCONCLUSIVE; None when it was not decided
    hypotheses: list[HypothesisRow] = field(default_factory=list)
    exact: str = ""  # a claim decided exactly (no statistics), in words
    exact_holds: bool | None = None  # whether that exact check held; None without one
    reported_vs_reproduced: list[writeup.ReportedNumber] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # names in the figures dict
    details: dict[str, Any] = field(default_factory=dict)  # free-form: scalars, dicts, lists of dicts


def hypothesis_rows(check: ClaimCheck) -> list[HypothesisRow]:
    """The claim's hypotheses, primary family first."""
    rows = []
    for group, verdicts in (("primary", check.decided.primary), ("secondary", check.decided.secondary)):
        for v in verdicts:
            expectation = check.expectations.by_hypothesis.get(v.result.hypothesis)
            rows.append(HypothesisRow(v, group, SUPPORTS_IF[v.result.alternative],
                                      expectation.pinned if expectation else None,
                                      check.stability(v.result.hypothesis)))
    return rows


# Which sign of the effect is evidence FOR the claim, per test direction.
SUPPORTS_IF = {"greater": "effect > 0", "less": "effect < 0", "within": "|effect| < margin"}


def reproduce_writeup_figures(ev: Evidence) -> dict[str, Figure]:
    """Every figure of the writeup, from our summaries, with across-seed bands; drawn once per evidence."""
    if ev not in _WRITEUP_FIGURES:
        _WRITEUP_FIGURES[ev] = _draw_writeup_figures(ev)
    return dict(_WRITEUP_FIGURES[ev])


def _draw_writeup_figures(ev: Evidence) -> dict[str, Figure]:
    runs, cfg = ev.runs, ev.config
    raw = ev.data.raw_train_images
    pick = np.asarray(jax.random.randint(jax.random.PRNGKey(WRITEUP_SEED), (25,), 0, len(raw)))
    # The same pixels before and after normalisation (both splits are (N, 3072)).
    sample = np.random.default_rng(0).choice(raw.size, HISTOGRAM_SAMPLE, replace=False)
    normalised = np.asarray(ev.data.dataset.train_x).ravel()[sample]
    points = {
        f"{variant} {split}": {e: a for e, a in accs.items() if e <= cfg.tier.epochs}
        for variant, splits in writeup.ACCURACY.items()
        for split, accs in splits.items()
    } if cfg.tier.name == "full" else None
    return {
        "sample_images": figures.sample_images(raw[pick], ev.data.raw_train_labels[pick], LABEL_NAMES),
        "input_histograms": figures.input_histograms(raw.ravel()[sample], normalised),
        "initial_weights": figures.initial_weights(ev.initial_kernels),
        "accuracy_curves": figures.accuracy_curves(
            runs.curves["train_accuracy"], runs.curves["test_accuracy"], points
        ),
        "activation_counts": figures.activation_counts(runs.curves["test_active_count"]),
        "activation_stats": figures.activation_stats(runs.curves["train_relu_mean"], runs.curves["train_relu_std"]),
        "positive_histograms": figures.positive_histograms(
            runs.final["test_positive_hist"], np.asarray(hist_edges(cfg.hist_bins, cfg.hist_max))
        ),
    }


def confidence_sequence_figures(seq: Any) -> dict[str, Figure]:
    """Per primary hypothesis of a --seeds auto run (`seq`: its until_decided.Sequential, as `Evidence.sequential`
    holds it), its confidence sequence against the seeds with the deciding look marked."""
    out = {}
    for _, family, h in seq.hypotheses():
        if family != "primary":
            continue
        statuses = seq.sequence(family, h.name)
        last = statuses[-1]
        out[seq.figure_name(h.name)] = figures.confidence_sequence(
            np.array([s.n for s in statuses]), np.array([s.effect for s in statuses]),
            np.array([s.ci_low for s in statuses]), np.array([s.ci_high for s in statuses]),
            decided_at=last.decided_at_n, bounds=_bounds(h),
            title=f"{h.name}: {last.verdict}, {seq.decided_at(last)}")
    return out


def _bounds(h: sequential.Hypothesis) -> tuple[float, ...]:
    """The effects the decision is about, in the values' units: 0, a claimed minimum, or the margins."""
    if h.kind == "equivalence":
        return (-float(h.margin), float(h.margin))  # type: ignore[arg-type]
    if h.min_effect is None:
        return (0.0,)
    return (0.0, h.min_effect if h.alternative == "greater" else -h.min_effect)
