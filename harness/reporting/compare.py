"""What changed between two claims runs: the verdicts that changed and the effects that moved.

    python -m harness.reporting.compare OLD.json NEW.json

prints one row per claim or hypothesis whose verdict changed, or whose effect
moved by more than OLD's 95% CI half-width (the reference's own uncertainty:
a move that size puts the new estimate outside what the old run found
plausible). It exits 1 when a verdict changed, 0 when none did (moved effects
alone are shown, not failed: they are what a regression suite should look at,
not a regression by themselves), and 2 when the files cannot be compared
(missing, not JSON, not following reports/evidence.schema.json, or of another
schema version).

A "verdict" is a claim's overall verdict or one hypothesis's; a claim or
hypothesis that one run decided and the other did not (not run, added,
removed) counts as a changed verdict, shown as "—".

The evidence report shows the same rows in its "Changes since the reference"
section when `reports/reference/evidence-<protocol>.json` exists in the
repository (`reference_section`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness import REPOSITORY
from harness.reporting.report import (
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    schema_violations,
)

REFERENCE_DIR = REPOSITORY / "reports" / "reference"
EXIT_SAME, EXIT_VERDICT_CHANGED, EXIT_CANNOT_COMPARE = 0, 1, 2
_SHOWN_VIOLATIONS = 5


class CompareError(Exception):
    """An evidence file cannot be compared; the message names the file, the problem and the fix."""


@dataclass(frozen=True)
class Change:
    """One row of the comparison. `hypothesis` None: the claim's overall verdict (no effect)."""

    claim: str
    hypothesis: str | None
    old_verdict: str | None
    new_verdict: str | None
    old_effect: float | None = None
    new_effect: float | None = None
    old_half_width: float | None = None
    unit: str = ""

    @property
    def verdict_changed(self) -> bool:
        return self.old_verdict != self.new_verdict

    @property
    def effect_moved(self) -> bool:
        return self.shift_in_half_widths is not None and self.shift_in_half_widths > 1

    @property
    def shift_in_half_widths(self) -> float | None:
        """|new - old| effect in units of OLD's 95% CI half-width; None where either is undefined."""
        if None in (self.old_effect, self.new_effect, self.old_half_width):
            return None
        shift = abs(self.new_effect - self.old_effect)
        if self.old_half_width == 0:
            return 0.0 if shift == 0 else float("inf")
        return shift / self.old_half_width

    def as_dict(self) -> dict[str, Any]:
        """The row as reports/evidence.schema.json's `change`."""
        return asdict(self) | {
            "verdict_changed": self.verdict_changed,
            "effect_moved": self.effect_moved,
            "shift_in_half_widths": self.shift_in_half_widths,
        }


# --------------------------------------------------------------------------- reading


def load_evidence(path: str | Path) -> dict[str, Any]:
    """The parsed evidence.json at `path`, checked to be of this harness's schema version and to follow it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CompareError(
            f"{path}: no such file. Fix: pass the evidence.json written next to an evidence.html."
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CompareError(f"{path}: cannot be read ({error}).") from error
    try:
        facts = json.loads(text)
    except json.JSONDecodeError as error:
        raise CompareError(
            f"{path}: not JSON ({error}). Fix: pass an evidence.json written by `pytest claims/`, not the HTML."
        ) from error
    version = facts.get("schema_version") if isinstance(facts, dict) else None
    if version not in READABLE_SCHEMA_VERSIONS:
        written = "no schema_version (written before evidence files were versioned)" if version is None else (
            f"schema version {version!r}"
        )
        readable = " or ".join(str(v) for v in READABLE_SCHEMA_VERSIONS)
        raise CompareError(
            f"{path}: {written}; this harness reads schema version {readable}. Fix: regenerate it with "
            "`pytest claims/` at this commit, or compare it with the harness version that wrote it."
        )
    # An older version is the current one without what was added since (report.READABLE_SCHEMA_VERSIONS).
    violations = schema_violations(facts | {"schema_version": SCHEMA_VERSION})
    if violations:
        shown = "\n  ".join(violations[:_SHOWN_VIOLATIONS])
        more = f"\n  ... and {len(violations) - _SHOWN_VIOLATIONS} more" if len(violations) > _SHOWN_VIOLATIONS else ""
        raise CompareError(
            f"{path}: does not follow reports/evidence.schema.json (version {SCHEMA_VERSION}):\n  {shown}{more}\n"
            "Fix: regenerate it with `pytest claims/`; if this harness wrote it, the harness has a bug."
        )
    return facts


# --------------------------------------------------------------------------- comparing


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every claim or hypothesis whose verdict changed or whose effect moved, in claim order (NEW's, then
    claims only OLD has); each claim's overall row first, then its hypotheses."""
    old_claims, new_claims = _by_id(old["claims"], "id"), _by_id(new["claims"], "id")
    rows = []
    for claim_id in _union(new_claims, old_claims):
        old_claim, new_claim = old_claims.get(claim_id, {}), new_claims.get(claim_id, {})
        overall = Change(claim_id, None, old_claim.get("verdict"), new_claim.get("verdict"))
        rows += [overall] if overall.verdict_changed else []
        old_hyps = _by_id(old_claim.get("hypotheses", []), "hypothesis")
        new_hyps = _by_id(new_claim.get("hypotheses", []), "hypothesis")
        for name in _union(new_hyps, old_hyps):
            row = _hypothesis_change(claim_id, name, old_hyps.get(name), new_hyps.get(name))
            rows += [row] if row.verdict_changed or row.effect_moved else []
    return rows


def agreement(reference: Mapping[str, Any], run: Mapping[str, Any]) -> dict[str, int]:
    """How many of the run's claims and primary hypotheses take the reference's verdict (of those both decide):
    how faithful a miniature of the reference the run is (the smoke tier against the full tier)."""
    ref_claims, run_claims = _by_id(reference["claims"], "id"), _by_id(run["claims"], "id")
    shared = [c for c in run_claims if c in ref_claims and run_claims[c].get("verdict") and ref_claims[c].get("verdict")]
    ref_primary = {h["hypothesis"]: h.get("verdict") for c in reference["claims"] for h in c.get("hypotheses", [])
                   if h.get("family") == "primary"}
    run_primary = {h["hypothesis"]: h.get("verdict") for c in run["claims"] for h in c.get("hypotheses", [])
                   if h.get("family") == "primary" and h["hypothesis"] in ref_primary}
    return {
        "claims_agreeing": sum(run_claims[c]["verdict"] == ref_claims[c]["verdict"] for c in shared),
        "claims": len(shared),
        "primary_agreeing": sum(v == ref_primary[h] for h, v in run_primary.items()),
        "primary": len(run_primary),
    }


def _hypothesis_change(claim_id: str, name: str, old: Mapping | None, new: Mapping | None) -> Change:
    old, new = old or {}, new or {}
    low, high = old.get("ci_low"), old.get("ci_high")
    return Change(
        claim_id, name, old.get("verdict"), new.get("verdict"), old.get("effect"), new.get("effect"),
        None if low is None or high is None else (high - low) / 2, new.get("unit") or old.get("unit") or "",
    )


def _by_id(items: Sequence[Mapping[str, Any]], key: str) -> dict[str, Mapping[str, Any]]:
    return {item[key]: item for item in items}


def _union(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    return list(first) + [key for key in second if key not in first]


def missing_from(reference: Mapping[str, Any], decided: Mapping[str, Sequence[str]]) -> list[str]:
    """What `reference` has no verdict for, of `decided` (claim id -> its hypothesis ids): "C11 (the whole
    claim)" for a claim it lacks, else each hypothesis it lacks, in `decided`'s order."""
    in_reference = {c["id"]: {h["hypothesis"] for h in c.get("hypotheses", [])} for c in reference["claims"]}
    missing = []
    for claim_id, names in decided.items():
        if claim_id not in in_reference:
            missing.append(f"{claim_id} (the whole claim)")
        else:
            missing += [name for name in names if name not in in_reference[claim_id]]
    return missing


def any_verdict_changed(rows: Sequence[Change]) -> bool:
    return any(row.verdict_changed for row in rows)


# --------------------------------------------------------------------------- showing


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:+.4g}"


def format_table(rows: Sequence[Change]) -> str:
    """A plain-text table of `rows` for the terminal (a line saying so when there are none)."""
    if not rows:
        return "No verdict changed and no effect moved by more than the old 95% CI half-width."
    header = ("claim", "hypothesis", "verdict (old -> new)", "effect old ± half-width -> new", "change")
    lines = [header]
    for row in rows:
        if row.hypothesis is None:
            effect = ""
        else:
            half = "—" if row.old_half_width is None else f"{row.old_half_width:.3g}"
            unit = f" {row.unit}" if row.unit else ""
            effect = f"{_number(row.old_effect)} ± {half} -> {_number(row.new_effect)}{unit}"
        what = []
        if row.verdict_changed:
            what.append("VERDICT")
        if row.effect_moved:
            what.append(f"effect moved {row.shift_in_half_widths:.3g} half-widths")
        lines.append((
            row.claim, row.hypothesis or "(claim)", f"{row.old_verdict or '—'} -> {row.new_verdict or '—'}",
            effect, ", ".join(what),
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(text)


def reference_path(protocol: str, reference_dir: Path = REFERENCE_DIR) -> Path:
    return reference_dir / f"evidence-{protocol}.json"


def reference_section(facts: Mapping[str, Any], reference_dir: Path = REFERENCE_DIR) -> dict[str, Any] | None:
    """The report's "changes since the reference" facts: None when the run's protocol is unknown or has no
    reference file; else the reference (path, tier, date) and the rows, or why it could not be compared
    (the report is still written)."""
    protocol = facts.get("protocol", {}).get("protocol", {}).get("name")
    path = reference_path(protocol, reference_dir) if protocol else None
    if path is None or not path.is_file():
        return None
    shown = _shown(path)
    try:
        reference = load_evidence(path)
    except CompareError as error:
        return {"reference": shown, "error": str(error), "rows": []}
    page = path.with_suffix(".html")
    return {
        "reference": shown,
        "error": None,
        "reference_tier": reference["tier"],
        "reference_generated": reference["generated"],
        "reference_html": _shown(page) if page.is_file() else None,
        "claim_verdicts": {claim["id"]: claim.get("verdict") for claim in reference["claims"]},
        "hypothesis_verdicts": {
            h["hypothesis"]: h.get("verdict") for claim in reference["claims"] for h in claim.get("hypotheses", [])
        },
        "rows": [row.as_dict() for row in changes(reference, facts)],
        "agreement": agreement(reference, facts),
    }


def _shown(path: Path) -> str:
    """`path` relative to the repository where it lies inside it (what the report and its JSON print)."""
    return str(path.relative_to(REPOSITORY)) if path.is_relative_to(REPOSITORY) else str(path)


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.reporting.compare",
        description="Compare two evidence.json files: verdicts that changed, effects that moved by more than "
                    "OLD's 95%% CI half-width. Exit 1 when a verdict changed, 2 when the files cannot be compared.",
    )
    parser.add_argument("old", metavar="OLD.json", help="the earlier run (the reference)")
    parser.add_argument("new", metavar="NEW.json", help="the later run")
    args = parser.parse_args(argv)
    try:
        old, new = load_evidence(args.old), load_evidence(args.new)
    except CompareError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CANNOT_COMPARE
    rows = changes(old, new)
    print(f"old: {args.old} ({old['tier']} tier, {len(old['seeds'])} seeds, {_protocol_name(old)}, {old['generated']})")
    print(f"new: {args.new} ({new['tier']} tier, {len(new['seeds'])} seeds, {_protocol_name(new)}, {new['generated']})")
    print(format_table(rows))
    return EXIT_VERDICT_CHANGED if any_verdict_changed(rows) else EXIT_SAME


def _protocol_name(facts: Mapping[str, Any]) -> str:
    name = facts["protocol"].get("protocol", {}).get("name")
    return f"protocol {name}" if name else "protocol unknown"


if __name__ == "__main__":
    sys.exit(main())
