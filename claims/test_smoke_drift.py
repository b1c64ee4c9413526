"""The smoke run's numbers against the calibration's seed sets: a change that moves them fails here.

The pinned verdicts (each claim's test) fail only when a stable verdict flips;
most changes that move the numbers flip none. This test reads the numbers: the
run's values (every hypothesis's effect and the levels the claims rest on,
harness/deciding/drift.py `record`) are tested jointly against the values of the
calibration's seed sets (fixtures/smoke_expectations.json), and the test fails
when the run is not one more draw like them, with at most a 1% chance of a
false alarm on a fresh machine (the model and its checks: harness/deciding/drift.py).
"""

import json

import pytest

from fixtures.session import DRIFT
from harness import REPOSITORY
from harness.config import SMOKE
from harness.deciding import drift, stability


def test_smoke_numbers_are_one_more_draw_of_the_calibration(request, evidence, decided, expectations):
    if evidence.tier != SMOKE.name:
        pytest.skip("the drift test compares a smoke run with the smoke calibration; the full tier asserts the claims")
    assert not expectations.stale, expectations.problem
    if expectations.problem:
        pytest.skip(f"not compared with the calibration: {expectations.problem}")
    content = json.loads((REPOSITORY / stability.EXPECTATIONS_FILE).read_text())
    assert "values" in content, (
        f"{stability.EXPECTATIONS_FILE} holds no calibration values for the drift test; recalibrate: {drift.RECALIBRATE}"
    )
    verdicts = [v for d in decided.values() for v in d.all()]
    result = drift.check(drift.calibration_records(content["values"]), drift.record(evidence.runs, verdicts))
    request.config.stash.setdefault(DRIFT, {})[evidence.tier] = result
    assert not result.drifted, result.message()
