"""What goes into the report when a session is cut short or runs only some claims."""

import json

from harness import report
from harness.evidence_report import assemble
from harness.writeup import CLAIMS


def test_every_claim_is_listed_and_the_missing_ones_are_marked_not_run(tmp_path):
    evidence, figures = assemble(
        tier="smoke", evidence=None, checks={}, collected=["C0", "C1"],
        outcomes={"C0": ("error", "CIFAR-10 not found: set --cifar10")}, interrupted=True, session_seconds=1.0,
    )
    by_id = {c["id"]: c for c in evidence["claims"]}
    assert list(by_id) == list(CLAIMS)
    assert by_id["C0"]["outcome"] == "error" and "--cifar10" in by_id["C0"]["reason"]
    assert by_id["C1"]["outcome"] == "not run" and "ended before" in by_id["C1"]["reason"]
    assert by_id["C2"]["outcome"] == "not run" and "not selected" in by_id["C2"]["reason"]
    assert evidence["interrupted"] and figures == {}

    html, js = tmp_path / "evidence.html", tmp_path / "evidence.json"
    report.write_report(evidence, figures, html, js)  # a report is written even with no evidence at all
    assert json.loads(js.read_text())["claims"][1]["outcome"] == "not run"
    assert "claim-C10" in html.read_text()
