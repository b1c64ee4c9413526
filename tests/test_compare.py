"""harness/reporting/compare.py: the verdict diff between two evidence files, and the report's reference section."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_report import synthetic_evidence

from harness.reporting import compare, report

ROOT = Path(__file__).resolve().parent.parent


def facts() -> dict:
    """The synthetic report's facts as evidence.json holds them, with a real run's protocol layout."""
    evidence = synthetic_evidence() | {"protocol": {"protocol": {"name": "writeup"}, "tier": {"name": "smoke"}}}
    return {"schema_version": report.SCHEMA_VERSION} | report.json_safe(evidence)


def hypothesis(evidence: dict, name: str) -> dict:
    return next(h for c in evidence["claims"] for h in c.get("hypotheses", []) if h["hypothesis"] == name)


def write(path: Path, evidence: dict) -> Path:
    path.write_text(json.dumps(evidence))
    return path


@pytest.fixture
def old_new() -> tuple[dict, dict]:
    """C1.final_test: effect 0.03, 95% CI [0.01, 0.05] (half-width 0.02) in both, until a test changes NEW."""
    old = facts()
    return old, copy.deepcopy(old)


def test_identical_runs_have_no_changes(old_new):
    old, new = old_new
    assert compare.changes(old, new) == []
    assert "No verdict changed" in compare.format_table([])


def test_a_changed_hypothesis_verdict_is_a_row_and_counts_as_a_verdict_change(old_new):
    old, new = old_new
    hypothesis(new, "C4.layer0.end")["verdict"] = "SUPPORTED"
    rows = compare.changes(old, new)
    assert [(r.claim, r.hypothesis, r.old_verdict, r.new_verdict) for r in rows] == [
        ("C4", "C4.layer0.end", "INCONCLUSIVE", "SUPPORTED")
    ]
    assert compare.any_verdict_changed(rows)


def test_an_effect_is_listed_only_when_it_moved_by_more_than_the_old_half_width(old_new):
    old, new = old_new
    hypothesis(new, "C1.final_test")["effect"] = 0.03 + 0.019  # within the half-width 0.02: not listed
    assert compare.changes(old, new) == []
    hypothesis(new, "C1.final_test")["effect"] = 0.03 - 0.021
    (row,) = compare.changes(old, new)
    assert row.effect_moved and not row.verdict_changed
    assert row.shift_in_half_widths == pytest.approx(1.05)
    assert not compare.any_verdict_changed([row])  # a moved effect alone does not fail the comparison


def test_a_claim_decided_in_one_run_only_is_a_verdict_change(old_new):
    old, new = old_new
    c7 = next(c for c in new["claims"] if c["id"] == "C7")
    c7["verdict"] = "SUPPORTED"
    c2 = next(c for c in new["claims"] if c["id"] == "C2")
    c2["hypotheses"] = []  # C2.train_99 removed
    rows = {(r.claim, r.hypothesis): r for r in compare.changes(old, new)}
    assert (rows[("C7", None)].old_verdict, rows[("C7", None)].new_verdict) == (None, "SUPPORTED")
    assert (rows[("C2", "C2.train_99")].old_verdict, rows[("C2", "C2.train_99")].new_verdict) == ("REFUTED", None)


def test_the_command_prints_the_table_and_exits_non_zero_on_a_verdict_change(old_new, tmp_path, capsys):
    old, new = old_new
    hypothesis(new, "C10.corr")["verdict"] = "INCONCLUSIVE"
    hypothesis(new, "C1.final_test")["effect"] = 0.1
    code = compare.main([str(write(tmp_path / "old.json", old)), str(write(tmp_path / "new.json", new))])
    out = capsys.readouterr().out
    assert code == compare.EXIT_VERDICT_CHANGED
    c10 = next(line for line in out.splitlines() if "C10.corr" in line)
    assert "SUPPORTED -> INCONCLUSIVE" in c10 and "VERDICT" in c10
    c1 = next(line for line in out.splitlines() if "C1.final_test" in line)
    assert "+0.03 ± 0.02 -> +0.1 accuracy" in c1 and "effect moved 3.5 half-widths" in c1


def test_the_command_exits_zero_when_only_effects_moved(old_new, tmp_path, capsys):
    old, new = old_new
    hypothesis(new, "C1.final_test")["effect"] = 0.1
    assert compare.main([str(write(tmp_path / "o.json", old)), str(write(tmp_path / "n.json", new))]) == 0
    assert "C1.final_test" in capsys.readouterr().out


def test_it_runs_as_a_module(old_new, tmp_path):
    old, new = old_new
    hypothesis(new, "C10.corr")["verdict"] = "REFUTED"
    paths = [str(write(tmp_path / "old.json", old)), str(write(tmp_path / "new.json", new))]
    done = subprocess.run([sys.executable, "-m", "harness.reporting.compare", *paths], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == compare.EXIT_VERDICT_CHANGED, done.stderr
    assert "C10.corr" in done.stdout


def _version(value):
    def mutate(evidence: dict) -> None:
        evidence["schema_version"] = value
    return mutate


def _unversioned(evidence: dict) -> None:
    del evidence["schema_version"]


def _broken(evidence: dict) -> None:
    evidence["claims"][0]["verdict"] = "PROBABLY"


@pytest.mark.parametrize("mutate, message", [
    (_version(3), "schema version 3; this harness reads schema version 1 or 2. Fix: regenerate"),
    (_unversioned, "no schema_version (written before evidence files were versioned)"),
    (_broken, "does not follow reports/evidence.schema.json (version 2):\n  $.claims[0].verdict: 'PROBABLY'"),
], ids=["other version", "unversioned", "schema violation"])
def test_a_file_it_cannot_compare_is_refused_with_the_reason(old_new, tmp_path, capsys, mutate, message):
    old, new = old_new
    mutate(new)
    code = compare.main([str(write(tmp_path / "old.json", old)), str(write(tmp_path / "new.json", new))])
    assert code == compare.EXIT_CANNOT_COMPARE
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'new.json'}: ") and message in err


def test_a_missing_or_non_json_file_is_refused_with_the_fix(old_new, tmp_path, capsys):
    old, _ = old_new
    good = str(write(tmp_path / "old.json", old))
    assert compare.main([good, str(tmp_path / "absent.json")]) == compare.EXIT_CANNOT_COMPARE
    assert "absent.json: no such file. Fix:" in capsys.readouterr().err
    (tmp_path / "evidence.html").write_text("<!DOCTYPE html>")
    assert compare.main([str(tmp_path / "evidence.html"), good]) == compare.EXIT_CANNOT_COMPARE
    assert "evidence.html: not JSON" in capsys.readouterr().err


# --------------------------------------------------------------------------- the report's section


def test_missing_from_the_reference_names_each_absent_claim_and_hypothesis():
    reference = facts()
    decided = {c["id"]: [h["hypothesis"] for h in c.get("hypotheses", [])] for c in reference["claims"]}
    assert compare.missing_from(reference, decided) == []
    grown = decided | {"C4": [*decided["C4"], "C4.layer9.end"], "C11": ["C11"]}
    assert compare.missing_from(reference, grown) == ["C4.layer9.end", "C11 (the whole claim)"]


def test_no_reference_no_section(tmp_path):
    assert compare.reference_section(facts(), tmp_path) is None
    assert compare.reference_path("writeup") == ROOT / "reports" / "reference" / "evidence-writeup.json"


def test_the_report_shows_the_changes_since_a_reference(old_new, tmp_path):
    reference, run = old_new
    reference["tier"] = "full"
    hypothesis(reference, "C10.corr")["verdict"] = "INCONCLUSIVE"
    write(compare.reference_path("writeup", tmp_path), reference)
    section = compare.reference_section(run, tmp_path)
    assert section["error"] is None and section["reference_tier"] == "full"
    assert [(r["hypothesis"], r["old_verdict"], r["new_verdict"]) for r in section["rows"]] == [
        ("C10.corr", "INCONCLUSIVE", "SUPPORTED")
    ]
    html = tmp_path / "e.html"
    report.write_report(run | {"changes_since_reference": section}, {}, html, tmp_path / "e.json")
    page = html.read_text()
    changes = page[page.index('id="changes"'):page.index('<section class="claim"')]
    assert "<code>C10.corr</code>" in changes and "verdict changed" in changes
    assert "This run is smoke tier and the reference full tier" in changes
    report.write_report(run | {"changes_since_reference": None}, {}, html, tmp_path / "e.json")
    assert 'id="changes"' not in html.read_text()


def test_each_verdict_shows_the_reference_verdict_linked_to_the_reference_report(old_new, tmp_path):
    reference, run = old_new
    reference["tier"] = "full"
    hypothesis(reference, "C10.corr")["verdict"] = "INCONCLUSIVE"
    reference_json = write(compare.reference_path("writeup", tmp_path), reference)
    reference_json.with_suffix(".html").write_text("<html></html>")
    section = compare.reference_section(run, tmp_path)
    assert section["hypothesis_verdicts"]["C10.corr"] == "INCONCLUSIVE"
    assert section["claim_verdicts"] == {c["id"]: c["verdict"] for c in reference["claims"]}

    html = tmp_path / "reports" / "e.html"  # the link is relative to where the report is
    report.write_report(run | {"changes_since_reference": section}, {}, html, html.with_suffix(".json"))
    claim_section = (page := html.read_text())[page.index('<section class="claim" id="claim-C10"'):]
    assert 'full tier reference: <a href="../evidence-writeup.html#claim-C10">INCONCLUSIVE</a>' in claim_section
    # The verdict board: every claim's reference verdict, linked; each claim's section: its own and its hypotheses'.
    board = page[page.index('id="verdicts"'):page.index('id="how-to-read"')]
    decided = [c for c in reference["claims"] if c["verdict"] is not None]
    assert board.count('<a href="../evidence-writeup.html#claim-') == len(decided)
    assert page.count("full tier reference:") == len(decided) + sum(len(c.get("hypotheses", [])) for c in reference["claims"])


def test_a_reference_that_cannot_be_compared_is_said_in_the_report(tmp_path):
    run = facts()
    write(compare.reference_path("writeup", tmp_path), run | {"schema_version": 0})
    section = compare.reference_section(run, tmp_path)
    assert section["rows"] == [] and "schema version 0" in section["error"]
    html = tmp_path / "e.html"
    report.write_report(run | {"changes_since_reference": section}, {}, html, tmp_path / "e.json")
    assert "The reference could not be compared" in html.read_text()
