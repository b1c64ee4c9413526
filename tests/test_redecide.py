"""The references decided again (reports/reference/redecided/) are what the current statistics give."""

from __future__ import annotations

import json

import pytest

from harness.deciding import redecide, stats


@pytest.mark.parametrize("protocol", redecide.PROTOCOLS)
def test_the_committed_redecided_references_are_current(protocol):
    name = f"evidence-{protocol}.json"
    again = redecide.redecide(json.loads((redecide.REFERENCE / name).read_text()))
    committed = json.loads((redecide.REFERENCE / "redecided" / name).read_text())
    assert again == committed, f"reports/reference/redecided/{name} is stale: rerun python -m harness.deciding.redecide"


def test_a_discrete_statistic_is_decided_by_sign_flips_and_the_rest_keep_their_test():
    report = json.loads((redecide.REFERENCE / "evidence-writeup.json").read_text())
    again = redecide.redecide(report)
    rows = {h["hypothesis"]: h for c in again["claims"] for h in c["hypotheses"]}
    old = {h["hypothesis"]: h for c in report["claims"] for h in c["hypotheses"]}
    c3 = rows["C3"]
    assert c3["discrete"] and "sign-flip" in c3["test"] and c3["p_value"] == 0.5 ** c3["n"]  # all 8 seeds agree
    assert all(rows[h]["p_value"] == old[h]["p_value"] for h in rows if h not in redecide.DISCRETE_FROM_DETAILS)
    # a report whose hypothesis was decided by a test the current rules would not reproduce is refused
    report["claims"][1]["hypotheses"][0]["test"] = "some other test"
    with pytest.raises(SystemExit, match="needs a rerun"):
        redecide.redecide(report)
    assert next(c["verdict"] for c in again["claims"] if c["id"] == "C3") == stats.SUPPORTED


def test_an_out_that_is_a_file_is_refused_with_the_fix(tmp_path, capsys):
    taken = tmp_path / "redecided"
    taken.write_text("a file")
    with pytest.raises(SystemExit):
        redecide.main(["--out", str(taken)])
    assert "is a file; it names the folder" in capsys.readouterr().err and taken.read_text() == "a file"
