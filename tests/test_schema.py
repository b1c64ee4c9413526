"""reports/evidence.schema.json: the contract of evidence.json for downstream tools.

Every report the tests write is validated by the autouse fixture in conftest.py;
these tests check the schema itself: it is a valid 2020-12 schema of the version
report.py writes, it accepts what the harness writes (also fields added later),
and it rejects a broken core.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from test_report import synthetic_evidence

from harness.reporting import report

ROOT = Path(__file__).resolve().parent.parent


def test_the_schema_is_valid_and_of_the_version_the_report_writes():
    schema = json.loads(report.SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"]["const"] == report.SCHEMA_VERSION
    assert "evidence.schema.json" in (ROOT / "reports" / "README.md").read_text()


def _written(tmp_path: Path) -> dict:
    """The synthetic report (every kind of claim) as written, without figures (test_report.py draws them)."""
    report.write_report(synthetic_evidence(), {}, tmp_path / "e.html", tmp_path / "e.json")
    return json.loads((tmp_path / "e.json").read_text())


def test_a_written_report_carries_its_schema_version_and_follows_the_schema(tmp_path):
    written = _written(tmp_path)
    assert written["schema_version"] == report.SCHEMA_VERSION
    assert report.schema_violations(written) == []


def test_fields_added_beside_the_core_are_accepted(tmp_path):
    facts = _written(tmp_path)
    facts["claims"][0]["hypotheses"][0] |= {"pinned": True, "stability": {"flips": 0}, "supporting_sign": "+"}
    facts["claims"][0]["groups"] = [{"name": "per layer", "verdict": "SUPPORTED"}]
    facts["provenance"]["data_source"] = "tfds"
    assert report.schema_violations(facts) == []


def _set(path: tuple, value):
    def mutate(facts: dict) -> None:
        *parents, last = path
        target = facts
        for key in parents:
            target = target[key]
        target[last] = value
    return mutate


BROKEN_CORES = {
    "unknown verdict": (_set(("claims", 0, "hypotheses", 0, "verdict"), "MAYBE"), "$.claims[0].hypotheses[0].verdict"),
    "claim verdict not in the enum": (_set(("claims", 1, "verdict"), "supported"), "$.claims[1].verdict"),
    "effect as text": (_set(("claims", 0, "hypotheses", 0, "effect"), "0.03"), "$.claims[0].hypotheses[0].effect"),
    "p above 1": (_set(("claims", 0, "hypotheses", 0, "p_adjusted"), 1.5), "$.claims[0].hypotheses[0].p_adjusted"),
    "seed count as float": (_set(("claims", 0, "hypotheses", 0, "n"), 3.5), "$.claims[0].hypotheses[0].n"),
    "claim id": (_set(("claims", 0, "id"), "claim 1"), "$.claims[0].id"),
    "unknown outcome": (_set(("claims", 0, "outcome"), "ok"), "$.claims[0].outcome"),
    "seeds as text": (_set(("seeds", 0), "42"), "$.seeds[0]"),
    "older schema version": (_set(("schema_version",), 0), "$.schema_version"),
    "missing verdict": (lambda facts: facts["claims"][0]["hypotheses"][0].pop("verdict"), "$.claims[0].hypotheses[0]"),
    "missing schema version": (lambda facts: facts.pop("schema_version"), "$: 'schema_version' is a required"),
}


@pytest.mark.parametrize("mutate, where", BROKEN_CORES.values(), ids=BROKEN_CORES.keys())
def test_a_broken_core_is_rejected_with_its_place(tmp_path, mutate, where):
    facts = copy.deepcopy(_written(tmp_path))
    mutate(facts)
    violations = report.schema_violations(facts)
    assert violations and any(line.startswith(where) for line in violations), violations


def test_the_tests_refuse_a_report_that_breaks_the_schema(tmp_path):
    """The conftest fixture that validates every report the tests write does fail on a bad one."""
    evidence = synthetic_evidence()
    evidence["claims"][0]["verdict"] = "PROBABLY"
    with pytest.raises(AssertionError, match=r"breaks reports/evidence.schema.json:\s+\$\.claims\[0\]\.verdict"):
        report.write_report(evidence, {}, tmp_path / "e.html", tmp_path / "e.json")
