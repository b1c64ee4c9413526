"""Has a smoke run's numbers moved? A joint test of a fresh run against the calibration's seed sets.

The pinned verdicts (stability.py) catch a change that flips a stable verdict;
most changes that move the numbers flip none. This module reads the numbers
themselves. A smoke run is summarised by one vector of VALUES (`record`):
every hypothesis's effect, and the levels the claims rest on, per variant
(final train and test accuracy, the test-accuracy curve at a few epochs, and
per layer the active-neuron count and the ReLU outputs' mean and std at the
last epoch), each averaged over the run's seeds. The calibration
(claims/calibrate_smoke.py) records this vector for K disjoint seed sets,
drawn on two numeric paths: K exchangeable draws of an unchanged harness on
"some machine". A fresh run of an unchanged harness on a new machine is one
more such draw; a bug is a draw from somewhere else.

The test. For value j with calibration values x_1j..x_Kj (mean m_j, sd s_j),
the fresh value x_j is studentised against them,

    T_j = (x_j - m_j) / (s_j sqrt(1 + 1/K)),

which is Student t with K - 1 df if the values are normal across seed sets.
They are not quite (set means of a chaotic training have heavier tails), so
the reference distribution of T is measured rather than assumed: every
calibration set in turn is studentised against the other K - 1 the same way,
the K x m leave-one-out scores are pooled over the values (one tail shape for
all), and a Student t with scale is fitted to them by maximum likelihood
(scipy.stats.t.fit, location 0). Normal values give a large df and the t_{K-1}
above; heavier tails a smaller df and a wider reference. Each T_j is mapped
to a normal score through that fit, u_j = Phi^-1(F_fit(T_j)).

The run DRIFTED when the largest score is too large for an unchanged harness:

    M = max_j |u_j|  >  Phi^-1(1 - ALPHA / (2m))       (Bonferroni over the m values),

so the chance of a false alarm is at most ALPHA (under the fitted tails) whatever the values' dependence
(they are strongly correlated: an accuracy and its curve move together); the
test is one decision for the whole vector, the family-wise error controlled
jointly. Its validity needs only each value's marginal model (normal across
seed sets; a fresh machine one more exchangeable draw), not a model of the
dependence; the leave-one-out scores are drawn with K - 1 calibration sets
against the fresh run's K, which only widens the reference. A sum of squared scores, whose threshold needs the correlations
(Satterthwaite's scaled chi^2), was tried first: on the real calibration its
leave-one-out check went red on an unchanged seed set, evidence that the
correlation model behind its threshold does not hold here, so it is not used.
The assumptions are checked, not assumed: `leave_one_out` treats each
calibration set in turn as the fresh run against the others, and
tests/test_drift.py simulates correlated nulls (normal and Student-t) and planted moves.

Values whose calibration draws are all equal (no spread), or all but one, cannot be
standardised; they are left out and listed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import stats as scipy_stats

from harness.deciding.stats import Verdict
from harness.training.run_set import RunSet

# A fresh machine's unchanged harness may go red through this test with at most this probability.
ALPHA = 0.01
# The fewest calibration sets that give the predictive t (K - 1 df) and the fitted tails a footing.
MIN_SETS = 8
RECALIBRATE = "python -m claims.calibrate_smoke --cifar10 PATH   (README, 'Smoke expectations')"
# How many of the values that moved most a result names.
SHOWN = 8
# The test-accuracy curve is recorded at these fractions of the tier's epochs (0 means epoch 1).
CURVE_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)


def curve_epochs(epochs: int) -> list[int]:
    """The epochs at which the test-accuracy curve enters the record: epoch 1, the quarters, the last."""
    return sorted({max(1, round(f * epochs)) for f in CURVE_FRACTIONS})


def record(runs: RunSet, verdicts: Sequence[Verdict], seeds: slice = slice(None)) -> dict[str, float]:
    """One run's VALUES: every hypothesis's effect and the levels the claims rest on, means over `seeds`
    (an index range of the run set's seeds; all of them by default).

    Keys name the quantity: `effect:C1`, `level:dropout:test_accuracy@12`,
    `level:baseline:train_relu_std[2]` (layer 2, last epoch).
    """
    values = {f"effect:{v.result.hypothesis}": float(v.result.effect) for v in verdicts}
    last = runs.config.tier.epochs
    for variant in runs.variants:
        for name in ("train_accuracy", "test_accuracy"):
            values[f"level:{variant}:{name}@{last}"] = float(runs.curve(name, variant)[seeds, last].mean())
        for epoch in curve_epochs(last):
            if epoch != last:
                values[f"level:{variant}:test_accuracy@{epoch}"] = float(
                    runs.curve("test_accuracy", variant)[seeds, epoch].mean())
        for name in ("test_active_count", "train_relu_mean", "train_relu_std"):
            per_layer = runs.curve(name, variant)[seeds, last].mean(axis=0)
            values.update({f"level:{variant}:{name}[{layer}]": float(v) for layer, v in enumerate(per_layer)})
    return values


def stored(records: Sequence[Mapping[str, float]]) -> dict:
    """The calibration sets' values as the expectations file keeps them: names once, one row per set,
    6 significant digits (far below any seed spread)."""
    names = list(records[0])
    return {"names": names, "sets": [[float(f"{r[n]:.6g}") for n in names] for r in records]}


def calibration_records(content: Mapping) -> list[dict[str, float]]:
    """Inverse of `stored`."""
    return [dict(zip(content["names"], row)) for row in content["sets"]]


@dataclass(frozen=True)
class Moved:
    """One value of a fresh run against its calibration draws."""

    name: str
    value: float
    calibration_mean: float
    calibration_sd: float
    z: float  # u_j: the value's normal score under the predictive distribution (see the module docstring)

    def describe(self) -> str:
        spreads = (self.value - self.calibration_mean) / self.calibration_sd
        return (f"{self.name} = {self.value:.4g} (calibration {self.calibration_mean:.4g} ± "
                f"{self.calibration_sd:.2g}: {spreads:+.1f} calibration spreads, score {self.z:+.1f})")


@dataclass(frozen=True)
class Drift:
    """The drift test's outcome for one fresh run."""

    sets: int
    values: int
    max_statistic: float
    max_threshold: float
    tail_df: float  # the reference t fitted to the calibration's leave-one-out scores
    tail_scale: float
    moved: tuple[Moved, ...]  # the SHOWN values with the largest |z|, largest first
    unmodelled: tuple[str, ...]  # values without spread in the calibration (or with it in one set alone), left out
    missing: tuple[str, ...]  # calibrated values the fresh run lacks, or the reverse

    @property
    def drifted(self) -> bool:
        return self.max_statistic > self.max_threshold

    def summary(self) -> str:
        verdict = "DRIFTED" if self.drifted else "within calibration"
        return (
            f"smoke drift test: {verdict} -- largest |score| {self.max_statistic:.2f} "
            f"(threshold {self.max_threshold:.2f}), {self.values} values against {self.sets} calibration "
            f"seed sets (reference tails: t with {self.tail_df:.3g} df, scale {self.tail_scale:.3g}), "
            f"false-alarm rate at most {ALPHA:.0%} under the model"
        )

    def message(self) -> str:
        """What a failing test prints: the statistics, the values that moved most, and what to do."""
        lines = [self.summary(), "values that moved most (largest scores first):"]
        lines += [f"  {m.describe()}" for m in self.moved]
        if self.missing:
            lines.append("values not in both the run and the calibration: " + ", ".join(self.missing))
        lines.append(
            "If the change was intended (a claim, the smoke configuration or the harness changed what it "
            f"measures), recalibrate: {RECALIBRATE}. Otherwise the change moved the numbers beyond seed noise."
        )
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "drifted": self.drifted, "alpha": ALPHA, "sets": self.sets, "values": self.values,
            "max_statistic": self.max_statistic, "max_threshold": self.max_threshold,
            "tail_df": self.tail_df, "tail_scale": self.tail_scale,
            "moved": [vars(m) for m in self.moved], "unmodelled": list(self.unmodelled),
            "missing": list(self.missing), "recalibrate": RECALIBRATE,
        }


def studentised(calibration: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """T_j of `fresh` (m,) against `calibration` (K, m): its distance from the mean in predictive spreads."""
    k = calibration.shape[0]
    return (fresh - calibration.mean(axis=0)) / (calibration.std(axis=0, ddof=1) * math.sqrt(1 + 1 / k))


def reference_tails(calibration: np.ndarray) -> tuple[float, float]:
    """(df, scale) of the Student t fitted to the pooled leave-one-out scores of the calibration sets."""
    scores = [studentised(np.delete(calibration, k, axis=0), calibration[k]) for k in range(calibration.shape[0])]
    df, _, scale = scipy_stats.t.fit(np.ravel(scores), floc=0.0)
    return float(df), float(scale)


def normal_scores(t: np.ndarray, df: float, scale: float) -> np.ndarray:
    """u_j: each T_j's probability under the fitted t, mapped to a standard normal score (signed)."""
    upper = t > 0
    # logsf / logcdf keep a tail probability down to about 1e-300 (hundreds of spreads away); beyond that the
    # score is infinite, which the test reads as drifted all the same.
    log_tail = np.where(upper, scipy_stats.t.logsf(t, df, scale=scale), scipy_stats.t.logcdf(t, df, scale=scale))
    return np.where(upper, 1.0, -1.0) * -scipy_stats.norm.ppf(np.exp(log_tail))


def max_threshold(m: int, alpha: float) -> float:
    """Bonferroni's two-sided threshold for max |u_j| over m values."""
    return float(scipy_stats.norm.isf(alpha / (2 * m)))


def with_spread(calibration: np.ndarray) -> np.ndarray:
    """Which columns of `calibration` (K, m) can be studentised: those with spread however one set is left out
    (`reference_tails` studentises each set against the other K - 1, so a value that differs in one set alone
    would score infinitely there)."""
    return np.all([np.delete(calibration, k, axis=0).std(axis=0, ddof=1) > 0
                   for k in range(calibration.shape[0])], axis=0)


class Statistics(NamedTuple):
    """The statistic M of a fresh row against a calibration matrix, its threshold and the scores u_j."""

    max_statistic: float
    max_threshold: float
    scores: np.ndarray
    tail_df: float
    tail_scale: float

    @property
    def drifted(self) -> bool:
        return self.max_statistic > self.max_threshold


def statistics(calibration: np.ndarray, fresh: np.ndarray, alpha: float = ALPHA) -> Statistics:
    """M of `fresh` (m,) against `calibration` (K, m), every column with spread; false-alarm budget `alpha`."""
    df, scale = reference_tails(calibration)
    u = normal_scores(studentised(calibration, fresh), df, scale)
    u = np.where(np.isnan(u), np.inf, u)  # a non-finite value is a broken run, not a draw
    return Statistics(float(np.max(np.abs(u))), max_threshold(calibration.shape[1], alpha), u, df, scale)


def check(calibration: Sequence[Mapping[str, float]], fresh: Mapping[str, float]) -> Drift:
    """The drift test of one fresh run's values against K calibration sets' values (see the module docstring)."""
    if len(calibration) < MIN_SETS:
        raise ValueError(f"the drift test needs at least {MIN_SETS} calibration seed sets, got {len(calibration)}; "
                         f"recalibrate: {RECALIBRATE}")
    names = [n for n in calibration[0] if all(n in c for c in calibration)]
    missing = sorted((set(names) ^ set(fresh)) | {n for c in calibration for n in c if n not in names})
    names = [n for n in names if n in fresh]
    matrix = np.array([[c[n] for n in names] for c in calibration], dtype=float)
    row = np.array([fresh[n] for n in names], dtype=float)
    spread = with_spread(matrix)
    if not spread.any():
        raise ValueError(f"the drift test needs values with spread across the calibration sets; none of the "
                         f"{len(names)} has any. Recalibrate: {RECALIBRATE}")
    kept = [n for n, s in zip(names, spread) if s]
    matrix, row = matrix[:, spread], row[spread]
    found = statistics(matrix, np.where(np.isfinite(row), row, np.inf))
    order = np.argsort(-np.abs(found.scores))[:SHOWN]
    moved = tuple(
        Moved(kept[j], float(row[j]), float(matrix[:, j].mean()), float(matrix[:, j].std(ddof=1)),
              float(found.scores[j]))
        for j in order
    )
    return Drift(
        sets=len(calibration), values=len(kept),
        max_statistic=found.max_statistic, max_threshold=found.max_threshold,
        tail_df=found.tail_df, tail_scale=found.tail_scale,
        moved=moved, unmodelled=tuple(n for n, s in zip(names, spread) if not s), missing=tuple(missing),
    )


def leave_one_out(calibration: Sequence[Mapping[str, float]]) -> list[Drift]:
    """Each calibration set in turn as the fresh run against the others: draws of an unchanged harness, though
    not independent ones (they share all but one calibration set; `false_alarms` says what that allows)."""
    return [check([c for j, c in enumerate(calibration) if j != i], calibration[i])
            for i in range(len(calibration))]


def alarm_rate(alarms: int, draws: int) -> dict:
    """`alarms` red runs among `draws` unchanged ones, with the exact (Clopper-Pearson) two-sided 95% interval
    on the rate: with no alarm its upper end is 1 - 0.025^(1/draws)."""
    interval = scipy_stats.binomtest(alarms, draws).proportion_ci(0.95, method="exact")
    return {"draws": draws, "alarms": alarms, "low_95": float(interval.low), "upper_95": float(interval.high)}


def draws_to_show(alpha: float = ALPHA) -> int:
    """The fewest unchanged draws that can show a false-alarm rate of at most `alpha`: with none red, the exact
    95% upper bound of `alarm_rate`, 1 - 0.025^(1/n), is at most alpha from n = ceil(ln 0.025 / ln(1 - alpha)).
    The number is fixed before drawing (claims/null_draws.py's default), so the bound needs no stopping rule."""
    return math.ceil(math.log(0.025) / math.log1p(-alpha))


def promise_measured(alarms: int, draws: int, alpha: float = ALPHA) -> str:
    """What `alarms` red among `draws` unchanged runs say of the promise `alpha`, by the exact 95% interval:
    shown (upper end at most alpha), broken (lower end above it), or not shown, with how many draws a
    clean count needs (`draws_to_show`)."""
    rate = alarm_rate(alarms, draws)
    if rate["upper_95"] <= alpha:
        return f"the promised {alpha:.0%} shown"
    if rate["low_95"] > alpha:
        return f"above the promised {alpha:.0%}"
    if alarms == 0:
        return f"the promised {alpha:.0%} not shown: that needs {draws_to_show(alpha)} with none red"
    return f"the promised {alpha:.0%} not shown"


def false_alarms(results: Sequence[Drift]) -> dict:
    """What the leave-one-out draws say about the false-alarm rate: how many went red, the 95% upper bound on the
    rate from that many draws (`alarm_rate`), and each draw's statistic as a share of its threshold. The bound is
    indicative only: the leave-one-out draws share all but one of their calibration sets, where the exact interval
    assumes independent draws (claims/null_draws.py's fresh seed sets, judged against one fixed calibration, are)."""
    rate = alarm_rate(sum(r.drifted for r in results), len(results))
    return {
        "draws": rate["draws"], "alarms": rate["alarms"], "upper_95": rate["upper_95"], "alpha": ALPHA,
        "max_to_threshold": [round(r.max_statistic / r.max_threshold, 3) for r in results],
    }


NULL_DRAWS_FILE = "reports/reference/null-draws.json"  # claims/null_draws.py's result


def measured_false_alarms(expectations: Mapping, null_draws: Mapping | None) -> list[str]:
    """What has been measured of the false-alarm rate that the model promises (ALPHA), a line per kind of draw,
    each as alarms among draws with the exact 95% upper bound on the rate (`alarm_rate`) and what that says of
    the promise (`promise_measured`): the calibration's
    leave-one-out draws (`expectations`, the smoke calibration's content), and the fresh seed sets of
    claims/null_draws.py (`null_draws`, its result file's content) when they were judged against this calibration
    (draws judged against another one do not count, and the line says so)."""
    lines = []
    if "drift_leave_one_out" in expectations:
        loo = expectations["drift_leave_one_out"]
        lines.append(f"leave one out: {loo['alarms']} of {loo['draws']} calibration seed sets red "
                     f"(95% upper bound {loo['upper_95']:.1%}, indicative: the draws share calibration sets; "
                     f"{promise_measured(loo['alarms'], loo['draws'])})")
    if null_draws and null_draws.get("provenance", {}).get("calibration") != expectations.get("provenance"):
        lines.append(f"fresh seed sets: {NULL_DRAWS_FILE} was judged against another calibration and does not "
                     "count; draw them again with python -m claims.null_draws")
    elif null_draws:
        fresh = null_draws["summary"]["drift"]
        paths = "; ".join(f"{n} on {path}" for path, n in null_draws["summary"].get("draws_by_path", {}).items())
        lines.append(f"fresh seed sets (python -m claims.null_draws): {fresh['alarms']} of {fresh['draws']} red "
                     f"(95% upper bound {fresh['upper_95']:.1%}; {promise_measured(fresh['alarms'], fresh['draws'])})"
                     + (f", drawn {paths}" if paths else ""))
    return lines


def describe_false_alarms(summary: Mapping) -> str:
    """One line for the calibration's terminal output and the README."""
    return (
        f"drift test, leave one out: {summary['alarms']} of {summary['draws']} unchanged seed sets went red "
        f"(95% upper bound on the rate, indicative as the draws share calibration sets: {summary['upper_95']:.1%}; "
        f"the model's promise {summary['alpha']:.0%}); "
        f"largest score / threshold {max(summary['max_to_threshold']):.2f}"
    )
