"""Verdicts in JUnit XML: `pytest --junitxml` carries each claim's verdict, effect, CI and adjusted p.

An inner pytest session runs stand-in claim modules through the real `claim`
fixture (stand-in evidence and verdicts: no training) and the XML is read back.
"""

import xml.etree.ElementTree as ET

import pytest

pytest_plugins = ["pytester"]

CONFTEST = '''
import pytest

from harness.deciding.stats import Decided
from harness.deciding.claim_check import Expectations
from harness.deciding import stats

pytest_plugins = ["fixtures.options", "fixtures.session"]


class StandInEvidence:
    tier = "smoke"
    n = 5


@pytest.fixture(scope="session")
def evidence():
    return StandInEvidence()


@pytest.fixture(scope="session")
def expectations():
    return Expectations()


@pytest.fixture(scope="session")
def decided():
    def result(name, effect, ci, p):
        return stats.Result(hypothesis=name, statement="dropout > baseline", test="paired t", n=5, effect=effect,
                            ci_low=ci[0], ci_high=ci[1], p_value=p, p_opposite=1 - p)
    family = stats.holm([
        result("C1.final_test", 0.03125, (0.0125, 0.05), 0.001),
        result("C4.layer0.end", -2.5, (-4.0, -1.0), 0.002),
        result("C4.layer1.end", 0.5, (-1.0, 2.0), 0.4),
    ])
    return {"C0": Decided([], []), "C1": Decided(family[:1], []), "C4": Decided(family[1:], [])}
'''


HOLDS = 'assert claim.overall == "SUPPORTED"'


def claim_module(claim_id: str, body: str) -> str:
    return f"CLAIM = {claim_id!r}\n\n\ndef test_claim(claim):\n    {body}\n"


def properties_by_test(xml_path) -> dict[str, dict[str, str]]:
    cases = ET.parse(xml_path).getroot().iter("testcase")
    return {case.get("classname"): {p.get("name"): p.get("value") for p in case.iter("property")} for case in cases}


@pytest.fixture
def junit(pytester) -> dict[str, dict[str, str]]:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_c0=claim_module("C0", 'claim.exact = (False, "831,210 vs 831,466 parameters")\n    ' + HOLDS),
        test_c1=claim_module("C1", HOLDS),
        test_c4=claim_module("C4", HOLDS),
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=2)
    return properties_by_test(pytester.path / "junit.xml")


def test_each_hypothesis_carries_its_verdict_effect_ci_and_adjusted_p(junit):
    c1 = junit["test_c1"]
    assert c1["tier"] == "smoke" and c1["verdict"] == "SUPPORTED"
    assert c1["C1.final_test.verdict"] == "SUPPORTED"
    assert (c1["C1.final_test.effect"], c1["C1.final_test.ci_low"], c1["C1.final_test.ci_high"]) == (
        "0.03125", "0.0125", "0.05"
    )
    assert float(c1["C1.final_test.p_adjusted"]) == pytest.approx(0.003)  # Holm: smallest of 3 p-values, times 3
    c4 = junit["test_c4"]
    assert c4["verdict"] == "INCONCLUSIVE"
    assert c4["C4.layer0.end.verdict"] == "SUPPORTED"
    assert c4["C4.layer1.end.verdict"] == "INCONCLUSIVE" and c4["C4.layer1.end.effect"] == "0.5"


def test_a_claim_decided_inside_the_test_is_recorded_with_that_decision(junit):
    """C0 sets its exact check in the test body: the record is made after it, at teardown."""
    c0 = junit["test_c0"]
    assert c0["verdict"] == "REFUTED"
    assert c0["exact"] == "831,210 vs 831,466 parameters"
