"""The report plugin in a real (inner) pytest session, with stand-in claim modules.

No training: the inner session's `evidence` fixture is a stand-in, so these
tests check only what the plugin records and writes.
"""

import json
from pathlib import Path

import pytest

from fixtures.report_plugin import drift_false_alarms_measured
from harness.deciding import drift

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["pytester"]

CONFTEST = '''
import pytest

pytest_plugins = ["fixtures.options", "fixtures.report_plugin"]


@pytest.fixture(scope="session", params=[pytest.param("smoke", marks=pytest.mark.smoke, id="smoke")])
def evidence(request):
    return request.param
'''


def claim_module(claim_id: str, body: str) -> str:
    return f"import pytest\n\nCLAIM = {claim_id!r}\n\n\ndef test_claim(evidence):\n    {body}\n"


@pytest.fixture
def session(pytester):
    pytester.makeconftest(CONFTEST)
    return pytester


def outcomes(pytester) -> dict[str, str]:
    report = json.loads((pytester.path / "reports" / "evidence.json").read_text())
    return {claim["id"]: claim["outcome"] for claim in report["claims"]}, report


def test_each_claims_outcome_and_reason_is_recorded(session):
    session.makepyfile(
        test_c1=claim_module("C1", 'assert False, "C1.x: measured INCONCLUSIVE, pinned SUPPORTED"'),
        test_c2=claim_module("C2", 'raise RuntimeError("crash")'),
        test_c3=claim_module("C3", "pass"),
        test_c5=claim_module("C5", 'pytest.skip("no hypothesis of this claim is stable at smoke scale")'),
    )
    result = session.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    seen, report = outcomes(session)
    assert (seen["C1"], seen["C2"], seen["C3"], seen["C5"]) == ("failed", "failed", "passed", "skipped")
    assert seen["C4"] == "not run" and not report["interrupted"]  # not selected: listed, but nothing was cut short
    reasons = {c["id"]: c["reason"] for c in report["claims"]}
    assert "pinned SUPPORTED" in reasons["C1"] and "crash" in reasons["C2"] and "stable at smoke scale" in reasons["C5"]


def test_an_interrupted_session_still_writes_the_report(session, monkeypatch):
    session.makepyfile(
        test_c1=claim_module("C1", "raise KeyboardInterrupt"),
        test_c2=claim_module("C2", "pass"),
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    session.runpytest_subprocess("-p", "no:cacheprovider")  # a real interrupt: not in this process
    _, report = outcomes(session)
    assert report["interrupted"]
    by_id = {c["id"]: c for c in report["claims"]}
    assert by_id["C2"]["outcome"] == "not run" and "ended before" in by_id["C2"]["reason"]


def test_under_xdist_the_claims_share_one_worker_which_reports_to_the_terminal(pytester, monkeypatch):
    """`pytest -n 2`: fixtures/session.py schedules the claims as one unit, so one worker decides them all and
    writes the one report; the controller prints the summary that worker sent (here: where the report went)."""
    pytester.makeconftest(CONFTEST.replace('"fixtures.options", "fixtures.report_plugin"',
                                           '"fixtures.options", "fixtures.session", "fixtures.report_plugin"'))
    pytester.mkdir("claims")  # no __init__.py: the project's own claims package stays importable
    for claim_id, body in (("C1", "pass"), ("C2", 'assert False, "C2 measured"'), ("C3", "pass")):
        pytester.path.joinpath("claims", f"test_{claim_id.lower()}.py").write_text(claim_module(claim_id, body))
    pytester.makepyfile(**{f"test_other{i}": "def test_other():\n    pass\n" for i in range(4)})
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-n", "2", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, failed=1)
    workers = {line.split("]")[0] for line in result.outlines if "claims/test_c" in line and line.startswith("[gw")}
    assert len(workers) == 1, result.outlines  # every claim ran in the same worker
    seen, _ = outcomes(pytester)
    assert (seen["C1"], seen["C2"], seen["C3"]) == ("passed", "failed", "passed")
    result.stdout.fnmatch_lines([f"evidence report: {pytester.path / 'reports' / 'evidence.html'}"])


def test_the_drift_tests_measured_false_alarms_name_an_unreadable_file_and_its_command(tmp_path):
    assert drift_false_alarms_measured(tmp_path) == []  # nothing measured, nothing said
    (tmp_path / drift.NULL_DRAWS_FILE).parent.mkdir(parents=True)
    (tmp_path / drift.NULL_DRAWS_FILE).write_text("{ cut off")
    [line] = drift_false_alarms_measured(tmp_path)
    assert line.startswith(f"not measured: {drift.NULL_DRAWS_FILE} cannot be read")
    assert line.endswith("write it again with python -m claims.null_draws")
    assert len(drift_false_alarms_measured()) == 2  # the committed calibration and draws are read
