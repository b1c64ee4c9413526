"""The report plugin in a real (inner) pytest session, with stand-in claim modules.

No training: the inner session's `evidence` fixture is a stand-in, so these
tests check only what the plugin records and writes.
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["pytester"]

CONFTEST = '''
import pytest

pytest_plugins = ["fixtures.options", "fixtures.report_plugin"]


@pytest.fixture(scope="session", params=[pytest.param("smoke", marks=pytest.mark.smoke, id="smoke")])
def evidence(request):
    return request.param
'''


def claim_module(claim_id: str, body: str, smoke_xfail: str | None = None) -> str:
    return f"CLAIM = {claim_id!r}\nSMOKE_XFAIL = {smoke_xfail!r}\n\n\ndef test_claim(evidence):\n    {body}\n"


@pytest.fixture
def session(pytester):
    pytester.makeconftest(CONFTEST)
    return pytester


def outcomes(pytester) -> dict[str, str]:
    report = json.loads((pytester.path / "reports" / "evidence.json").read_text())
    return {claim["id"]: claim["outcome"] for claim in report["claims"]}, report


def test_only_the_claims_assertion_is_an_expected_failure(session):
    session.makepyfile(
        test_c1=claim_module("C1", 'assert False, "not reproduced"', smoke_xfail="measured: effect 0.01"),
        test_c2=claim_module("C2", 'raise RuntimeError("crash")', smoke_xfail="measured: gap 0.3"),
        test_c3=claim_module("C3", "pass"),
    )
    result = session.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, xfailed=1)
    seen, report = outcomes(session)
    assert (seen["C1"], seen["C2"], seen["C3"]) == ("xfailed", "failed", "passed")
    assert seen["C4"] == "not run" and not report["interrupted"]  # not selected: listed, but nothing was cut short
    assert "crash" in next(c for c in report["claims"] if c["id"] == "C2")["reason"]


def test_a_claim_that_holds_where_a_failure_was_expected_fails_the_run(session):
    session.makepyfile(test_c1=claim_module("C1", "pass", smoke_xfail="measured: effect 0.01"))
    result = session.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert outcomes(session)[0]["C1"] == "xpassed"


def test_an_interrupted_session_still_writes_the_report(session, monkeypatch):
    session.makepyfile(
        test_c1=claim_module("C1", "raise KeyboardInterrupt"),
        test_c2=claim_module("C2", "pass"),
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    session.runpytest_subprocess("-p", "no:cacheprovider")  # a real interrupt: not in this process
    seen, report = outcomes(session)
    assert report["interrupted"]
    by_id = {c["id"]: c for c in report["claims"]}
    assert by_id["C2"]["outcome"] == "not run" and "ended before" in by_id["C2"]["reason"]


def test_a_report_that_cannot_be_written_says_why_and_fails_the_run(session):
    session.makepyfile(test_c3=claim_module("C3", "pass"))
    blocker = session.path / "not-a-folder"
    blocker.write_text("a file where the report's folder should be")
    result = session.runpytest("-p", "no:cacheprovider", f"--report={blocker}/evidence.html")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*could not write the evidence report*Fix: pass --report PATH*"])
