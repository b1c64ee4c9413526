"""The smoke drift test keeps its promise: at most ALPHA false alarms on unchanged draws, and it finds a planted move.

Simulated calibrations shaped like the real one (tens of correlated values,
16 seed sets): the values share a few common factors, as accuracies, curves
and activation levels of one run do.
"""

import math
import os

import numpy as np
import pytest

from harness.deciding import drift

SETS, VALUES, FACTORS = 16, 120, 4
# Each check fits the reference tails: few repetitions in CI catch a gross failure (a rule that ignores heavy tails
# fails the Student-t-5 case); DROPOUT_CLAIMS_LONG_SIMULATIONS=1 runs enough for a tight bound.
REPETITIONS = 2000 if os.environ.get("DROPOUT_CLAIMS_LONG_SIMULATIONS") else 150


def draws(rng: np.random.Generator, loadings: np.ndarray, df: float | None) -> np.ndarray:
    """SETS + 1 rows of VALUES values: common factors plus independent noise, normal or Student t with `df`."""
    def noise(shape: tuple[int, int]) -> np.ndarray:
        return rng.standard_normal(shape) if df is None else rng.standard_t(df, shape)
    return noise((SETS + 1, FACTORS)) @ loadings + noise((SETS + 1, VALUES))


def alarm_rate(shared: float, shift: np.ndarray | None = None, repetitions: int = REPETITIONS,
               seed: int = 0, df: float | None = None) -> float:
    """How often the test goes red when the last of SETS + 1 draws is the fresh run, moved by `shift` calibration
    spreads per value; `shared` scales the common factors (0: independent values); `df` gives heavy tails."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0.0, shared, size=(FACTORS, VALUES))
    alarms = 0
    for _ in range(repetitions):
        rows = draws(rng, loadings, df)
        calibration, fresh = rows[:-1], rows[-1]
        if shift is not None:
            fresh = fresh + shift * calibration.std(axis=0, ddof=1)
        alarms += drift.statistics(calibration, fresh).drifted
    return alarms / repetitions


def bound(rate: float, repetitions: int = REPETITIONS) -> float:
    """`rate` plus three Monte Carlo standard errors."""
    return rate + 3 * math.sqrt(rate * (1 - rate) / repetitions)


@pytest.mark.parametrize(("shared", "df"), [(1.5, None), (0.5, 5.0)], ids=["correlated-normal", "correlated-t5"])
def test_false_alarms_at_most_alpha(shared, df):
    """An unchanged harness (the fresh run one more exchangeable draw) goes red at most ALPHA of the time,
    whatever the values' correlation, and also when their tails are heavier than normal (Student t)."""
    assert alarm_rate(shared, df=df) <= bound(drift.ALPHA)


def test_finds_one_large_move():
    """A bug that moves one value by 8 calibration spreads and nothing else."""
    shift = np.zeros(VALUES)
    shift[7] = 8.0
    assert alarm_rate(0.5, shift, repetitions=50, seed=2) >= 0.9


def as_records(matrix: np.ndarray) -> list[dict[str, float]]:
    return [{f"v{j}": float(x) for j, x in enumerate(row)} for row in matrix]


def test_failure_message_names_the_value_that_moved_and_the_fix():
    rng = np.random.default_rng(3)
    calibration = as_records(rng.normal(size=(SETS, 5)))
    fresh = dict(calibration[0], v3=50.0)
    result = drift.check(calibration, fresh)
    assert result.drifted
    assert result.moved[0].name == "v3"
    assert "v3 = 50" in result.message() and "python -m claims.calibrate_smoke" in result.message()


def test_constant_values_are_left_out_and_non_finite_values_drift():
    rng = np.random.default_rng(4)
    calibration = [dict(r, fixed=1.0) for r in as_records(rng.normal(size=(SETS, 5)))]
    assert drift.check(calibration, dict(calibration[0], fixed=2.0)).unmodelled == ("fixed",)
    assert drift.check(calibration, dict(calibration[0], v1=float("nan"))).drifted


def test_a_value_that_differs_in_one_set_alone_is_left_out_not_scored_infinite():
    rng = np.random.default_rng(4)
    calibration = [dict(r, almost=5.0) for r in as_records(rng.normal(size=(SETS, 5)))]
    calibration[2] = dict(calibration[2], almost=5.1)
    result = drift.check(calibration, dict(calibration[0], almost=5.0))
    assert result.unmodelled == ("almost",) and np.isfinite(result.max_statistic) and not result.drifted
    assert not any(r.drifted for r in drift.leave_one_out(calibration))
    calibration[5] = dict(calibration[5], almost=5.1)  # two sets apart: spread however one is left out
    assert drift.check(calibration, dict(calibration[0], almost=5.0)).unmodelled == ()


def test_a_calibration_without_any_spread_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="none of the 3 has any. Recalibrate: python -m claims.calibrate_smoke"):
        drift.check(as_records(np.ones((SETS, 3))), {"v0": 1.0, "v1": 1.0, "v2": 1.0})


def test_too_few_sets_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="calibrate_smoke"):
        drift.check(as_records(np.zeros((drift.MIN_SETS - 1, 3))), {"v0": 0.0})


def test_leave_one_out_gives_one_result_per_set():
    rng = np.random.default_rng(5)
    calibration = as_records(rng.normal(size=(SETS, 10)))
    results = drift.leave_one_out(calibration)
    assert len(results) == SETS and all(r.sets == SETS - 1 for r in results)


def test_the_leave_one_out_summary_counts_the_red_draws_and_bounds_the_rate():
    rng = np.random.default_rng(6)
    calibration = as_records(rng.normal(size=(SETS, 10)))
    calibration[3] = dict(calibration[3], v0=100.0)  # one set far off: it goes red when left out
    summary = drift.false_alarms(drift.leave_one_out(calibration))
    assert summary["draws"] == SETS and summary["alarms"] >= 1
    assert summary["alarms"] / SETS < summary["upper_95"] < 1
    assert "went red" in drift.describe_false_alarms(summary)


def test_the_draws_that_can_show_the_promise_are_the_fewest_whose_clean_bound_reaches_it():
    for alpha in (drift.ALPHA, 0.05):
        n = drift.draws_to_show(alpha)
        assert drift.alarm_rate(0, n)["upper_95"] <= alpha < drift.alarm_rate(0, n - 1)["upper_95"]
    assert drift.promise_measured(0, drift.draws_to_show()) == "the promised 1% shown"
    assert drift.promise_measured(0, 92) == f"the promised 1% not shown: that needs {drift.draws_to_show()} with none red"
    assert drift.promise_measured(1, 120) == "the promised 1% not shown"
    assert drift.promise_measured(9, 100) == "above the promised 1%"


def test_what_was_measured_of_the_false_alarm_rate_names_its_draws_and_bounds():
    expectations = {"provenance": {"generated": "today"},
                    "drift_leave_one_out": drift.false_alarms(drift.leave_one_out(
                        as_records(np.random.default_rng(7).normal(size=(SETS, 10)))))}
    loo = expectations["drift_leave_one_out"]
    fresh = {"provenance": {"calibration": {"generated": "today"}},
             "summary": {"drift": drift.alarm_rate(1, 120), "draws_by_path": {"cpu with AVX": 120}}}
    lines = drift.measured_false_alarms(expectations, fresh)
    assert lines[0].startswith(f"leave one out: {loo['alarms']} of {SETS} calibration seed sets red")
    assert lines[0].endswith(f"; {drift.promise_measured(loo['alarms'], SETS)})")
    assert lines[1].startswith("fresh seed sets (python -m claims.null_draws): 1 of 120 red (95% upper bound 4.6%; "
                               "the promised 1% not shown)")
    assert lines[1].endswith("drawn 120 on cpu with AVX")
    stale = fresh | {"provenance": {"calibration": {"generated": "before"}}}  # judged against another calibration
    assert drift.measured_false_alarms(expectations, stale)[1].endswith(
        "judged against another calibration and does not count; draw them again with python -m claims.null_draws")
    assert drift.measured_false_alarms(expectations, None) == lines[:1]
