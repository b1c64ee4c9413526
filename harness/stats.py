"""Paired tests, equivalence, Holm correction and verdicts.

Every claim of the writeup becomes one or more pre-registered hypotheses. Each
hypothesis is decided by one function below, which returns a `Result`: the
effect in the claimed direction with its 95% CI, the p-value FOR the claim
(`p_value`, small = evidence the claim holds) and the p-value AGAINST it
(`p_opposite`, small = evidence the opposite holds). `holm` then corrects the
tier's whole family of hypotheses (Holm-Bonferroni, family-wise error rate
<= alpha) and turns each `Result` into a `Verdict`:

    SUPPORTED     p_adjusted < alpha            (significant in the claimed direction)
    REFUTED       p_opposite_adjusted < alpha   (significant the other way / effect excluded)
    INCONCLUSIVE  neither; `seeds_needed` says how many seeds would settle it

Design rules:

* The seed is the unit of replication: tests compare two variants *paired by
  seed* (`a[i]` and `b[i]` come from the same seed), so they operate on the
  paired differences `d = a - b`.
* The tests themselves come from `scipy.stats` (t, Wilcoxon, binomial,
  bootstrap, Kendall, linear regression, the noncentral t for power); this
  module only wires them up. The exception is Holm's step-down adjustment,
  which scipy does not provide (`scipy.stats.false_discovery_control` is
  Benjamini-Hochberg / -Yekutieli, which controls the FDR, not the FWER).
* Inputs with NaN or inf raise `ValueError`: a missing number must never be
  silently dropped from a claim's evidence.
* Degenerate data (every paired difference identical, so the t statistic is
  0/0 or c/0) is decided deterministically and explained in `Result.note`
  instead of returning NaN.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
from scipy import integrate, stats

ALPHA = 0.05
CONFIDENCE = 0.95  # level of every reported (two-sided) CI
TARGET_POWER = 0.8  # `seeds_needed` is the n that reaches this power
SEEDS_CAP = 1000  # `seeds_needed` searches n up to this; beyond it -> None

SUPPORTED, REFUTED, INCONCLUSIVE = "SUPPORTED", "REFUTED", "INCONCLUSIVE"

MIN_SEEDS_T = 3  # t-tests and TOST: n-1 >= 2 degrees of freedom
# Wilcoxon signed-rank: the smallest attainable one-sided exact p is 1/2**n,
# so with n <= 4 (1/16 = 0.0625) it can never fall below 0.05; n = 5 gives 1/32.
MIN_SEEDS_WILCOXON = 5

_ALTERNATIVES = ("greater", "less")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Result:
    """The outcome of ONE pre-registered hypothesis, before multiplicity correction.

    `effect` keeps the sign as computed (e.g. mean of `a - b`); whether that is
    the claimed direction is recorded in `alternative` ("greater": the claim is
    effect > 0, "less": effect < 0; "within" for equivalence). `ci_low`/`ci_high`
    are a two-sided 95% CI of `effect`.

    Fields beyond the core record (all defaulted):

    * `alternative` -- see above.
    * `sd` -- standard deviation of the per-unit quantity the test averages
      (paired differences, per-seed slopes); with `effect` it gives the
      standardized effect (Cohen's d_z) used for `Verdict.seeds_needed`.
      None where no t-type power model applies (McNemar).
    * `margin` -- the equivalence margin (TOST only).
    * `min_n` -- the smallest n at which this test can decide anything
      (3 for t / TOST, 5 for Wilcoxon); floors `seeds_needed`.
    * `note` -- how degenerate data was decided, which CI method was used, etc.
    """

    hypothesis: str
    statement: str
    test: str
    n: int
    effect: float
    ci_low: float
    ci_high: float
    p_value: float
    p_opposite: float
    unit: str = ""
    kind: str = "superiority"  # or "equivalence"
    alternative: str = "greater"
    sd: float | None = None
    margin: float | None = None
    min_n: int = MIN_SEEDS_T
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    """A `Result` after Holm correction over its family.

    `seeds_needed` is only set for INCONCLUSIVE results that have a power
    model (`Result.sd` set):

    * superiority: the smallest n (>= `Result.min_n`) at which a one-sided
      one-sample t-test on the paired differences, at level alpha/m (the
      Bonferroni level: Holm rejects whenever p < alpha/m, so this n suffices
      whatever the other hypotheses do), has 80% power for the observed
      standardized effect d_z = effect / sd in the claimed direction. Power is
      P(T > t_{1-alpha/m, n-1}) with T ~ noncentral t(n-1, d_z * sqrt(n))
      (`scipy.stats.nct`). For Wilcoxon results this t-based number is used as
      an approximation (the signed-rank test's efficiency relative to the
      t-test is 3/pi ~ 0.955 for normal data).
    * equivalence: the smallest n at which TOST at level alpha/m has 80%
      power for the observed mean difference, sd and margin (see `power_tost`).

    None means: not INCONCLUSIVE, no power model, or no finite n up to
    `SEEDS_CAP` reaches 80% (effect ~0 or of the wrong sign, or for
    equivalence an observed difference at/over the margin).
    """

    result: Result
    p_adjusted: float
    p_opposite_adjusted: float
    verdict: str
    seeds_needed: int | None

    def as_dict(self) -> dict[str, Any]:
        """Flat, JSON-safe dict: the Result's fields plus the Verdict's (NaN/inf -> None)."""
        out: dict[str, Any] = asdict(self.result)
        out.update(
            p_adjusted=self.p_adjusted,
            p_opposite_adjusted=self.p_opposite_adjusted,
            verdict=self.verdict,
            seeds_needed=self.seeds_needed,
        )
        return {k: _json_safe(v) for k, v in out.items()}


def _json_safe(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


# --------------------------------------------------------------------------- validation


def require_n(n: int, minimum: int, what: str) -> None:
    """Raise ValueError unless `n >= minimum` (n = number of paired seeds).

    Minimums used here: 3 for t-tests and TOST (a t-test needs n-1 >= 2 degrees
    of freedom to say anything useful), 5 for the Wilcoxon signed-rank test
    (its smallest one-sided exact p is 1/2**n: 1/16 = 0.0625 at n = 4, so below
    5 seeds it can never reach 0.05).
    """
    if n < minimum:
        raise ValueError(
            f"{what} needs at least {minimum} paired seeds, got {n}; "
            f"run with --seeds N (N >= {minimum})"
        )


def _vector(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf: {arr.tolist()}")
    return arr


def _paired(a: Any, b: Any) -> np.ndarray:
    a_, b_ = _vector(a, "a"), _vector(b, "b")
    if a_.shape != b_.shape:
        raise ValueError(f"paired samples differ in length: {a_.shape[0]} vs {b_.shape[0]}")
    return a_ - b_


def _check_alternative(alternative: str) -> None:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")


def _opposite(alternative: str) -> str:
    return "less" if alternative == "greater" else "greater"


def _is_constant(d: np.ndarray) -> bool:
    """All values equal up to floating-point noise of their own scale."""
    return bool(np.allclose(d, d[0], rtol=1e-12, atol=0.0))


def one_sample_t(
    d: Any,
    *,
    hypothesis: str,
    statement: str,
    alternative: str = "greater",
    popmean: float = 0.0,
    unit: str = "",
    test: str | None = None,
) -> Result:
    """One-sample t-test on per-unit values `d` (paired differences, slopes, ...).

    H0: E[d] = popmean (one-sided: E[d] <= popmean for "greater").
    H1 (the claim): E[d] > popmean ("greater") or E[d] < popmean ("less").
    Statistic: t = (mean(d) - popmean) / (sd(d) / sqrt(n)), sd with ddof=1,
    t ~ Student t(n-1) under H0 (`scipy.stats.ttest_1samp`).
    p_value = P(T >= t) for "greater" (P(T <= t) for "less"); p_opposite is the
    other tail of the same statistic (`scipy.stats.t`).
    effect = mean(d) - popmean, with the two-sided 95% t CI
    mean(d) - popmean +- t_{n-1, 0.975} sd / sqrt(n) (`confidence_interval`).

    Degenerate data (all d equal to c, sd = 0): t is undefined; decided
    deterministically: c - popmean in the claimed direction -> p = 0,
    p_opposite = 1; in the opposite direction -> p = 1, p_opposite = 0;
    c == popmean -> p = p_opposite = 1. CI = [c - popmean, c - popmean].
    """
    _check_alternative(alternative)
    x = _vector(d, "d")
    n = int(x.shape[0])
    require_n(n, MIN_SEEDS_T, f"{hypothesis}: t-test")
    if test is None:
        test = "paired t-test (one-sided)" if popmean == 0.0 else f"one-sample t-test vs {popmean:g} (one-sided)"
    if _is_constant(x):
        c = float(np.mean(x)) - popmean
        sign = 1.0 if alternative == "greater" else -1.0
        if c * sign > 0:
            p, p_opp, how = 0.0, 1.0, "in the claimed direction -> p = 0"
        elif c * sign < 0:
            p, p_opp, how = 1.0, 0.0, "against the claimed direction -> p_opposite = 0"
        else:
            p, p_opp, how = 1.0, 1.0, "zero -> p = p_opposite = 1"
        return Result(
            hypothesis, statement, test, n, c, c, c, p, p_opp, unit,
            alternative=alternative, sd=0.0, min_n=MIN_SEEDS_T,
            note=f"zero variance: all {n} values equal {c + popmean:.6g} (difference from "
            f"{popmean:g}: {c:+.6g}); t undefined; "
            f"decided deterministically: constant difference {how}",
        )
    res = stats.ttest_1samp(x, popmean, alternative="two-sided")
    t_stat, df = float(res.statistic), int(res.df)
    p_greater, p_less = float(stats.t.sf(t_stat, df)), float(stats.t.cdf(t_stat, df))
    p, p_opp = (p_greater, p_less) if alternative == "greater" else (p_less, p_greater)
    ci = res.confidence_interval(CONFIDENCE)
    return Result(
        hypothesis, statement, test, n,
        float(np.mean(x)) - popmean, float(ci.low) - popmean, float(ci.high) - popmean,
        p, p_opp, unit,
        alternative=alternative, sd=float(np.std(x, ddof=1)), min_n=MIN_SEEDS_T,
        note=f"t = {t_stat:.4g}, df = {df}",
    )


def paired_t(
    a: Any,
    b: Any,
    *,
    hypothesis: str,
    statement: str,
    alternative: str = "greater",
    unit: str = "",
) -> Result:
    """Paired t-test of `a` against `b`, paired by seed (index i = seed i).

    d_i = a_i - b_i. H0: E[d] = 0. H1 (the claim): E[d] > 0 ("greater": a > b)
    or E[d] < 0 ("less": a < b). Statistic t = mean(d) / (sd(d)/sqrt(n)) ~ t(n-1)
    under H0 -- identical to `scipy.stats.ttest_rel(a, b)`.
    effect = mean(a - b) (sign as computed), 95% two-sided t CI.
    See `one_sample_t` for the zero-variance rule.
    """
    return one_sample_t(
        _paired(a, b), hypothesis=hypothesis, statement=statement,
        alternative=alternative, popmean=0.0, unit=unit,
        test="paired t-test (one-sided)",
    )


# --------------------------------------------------------------------------- bootstrap, Wilcoxon


def _bootstrap_mean_ci(
    d: np.ndarray, confidence: float, seed: int, n_resamples: int
) -> tuple[float, float, str]:
    if _is_constant(d):
        m = float(np.mean(d))
        return m, m, "constant data: CI = [mean, mean]"
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            res = stats.bootstrap(
                (d,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                method=method, vectorized=True, rng=np.random.default_rng(seed),
            )
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(lo) and math.isfinite(hi):
            return lo, hi, f"{method} bootstrap of the mean, {n_resamples} resamples, seed {seed}"
    m = float(np.mean(d))  # unreachable in practice: percentile only fails on constant data
    return m, m, "bootstrap failed: CI = [mean, mean]"


def bootstrap_mean_ci(
    d: Any, confidence: float = CONFIDENCE, seed: int = 0, n_resamples: int = 9999
) -> tuple[float, float]:
    """Two-sided bootstrap CI of the mean of `d` (one-sample: resample the units, i.e. the seeds' paired differences).

    `scipy.stats.bootstrap` with the BCa method (bias-corrected and accelerated)
    and a fixed `numpy.random.default_rng(seed)`, so the CI is reproducible.
    If BCa is degenerate (its jackknife acceleration is 0/0, e.g. too few
    distinct values) it falls back to the percentile method; constant data
    gives [mean, mean].

    Caveat (measured in tests/test_stats.py): with a handful of seeds every
    bootstrap CI under-covers, because the resampling distribution of the mean
    has variance s^2 (n-1)/n^2 and normal-like rather than t(n-1) tails; prefer
    the t CI as the headline interval at small n.
    """
    x = _vector(d, "d")
    require_n(int(x.shape[0]), 2, "bootstrap CI")
    lo, hi, _ = _bootstrap_mean_ci(x, confidence, seed, n_resamples)
    return lo, hi


def _wilcoxon_method(d: np.ndarray) -> str:
    """Mirror of scipy.stats.wilcoxon's method='auto' choice, for the record."""
    n = d.shape[0]
    nz = d[d != 0]
    has_ties = np.unique(np.abs(nz)).shape[0] < nz.shape[0]
    if n > 50:
        return "normal approximation with continuity correction"
    if not (has_ties or nz.shape[0] < n):
        return "exact null distribution"
    if n <= 13:
        return "exact permutation over all 2^n sign flips (ties/zeros present)"
    return "normal approximation with continuity correction (ties/zeros, n > 13)"


def wilcoxon_signed_rank(
    a: Any,
    b: Any,
    *,
    hypothesis: str,
    statement: str,
    alternative: str = "greater",
    unit: str = "",
    seed: int = 0,
    n_resamples: int = 9999,
) -> Result:
    """Wilcoxon signed-rank test on the paired differences d = a - b.

    H0: the distribution of d is symmetric about 0. H1 (the claim): it is
    shifted to the right ("greater": a > b) or left ("less").
    Statistic: W+ = sum of the ranks of |d_i| over the positive d_i (zeros
    dropped, Wilcoxon's convention), via `scipy.stats.wilcoxon(method="auto")`:
    the exact null distribution when there are no ties or zeros (n <= 50), an
    exact permutation over all 2^n sign flips when there are ties/zeros and
    n <= 13, else the normal approximation. The method used is in `test`.
    p_opposite is the same test with the opposite alternative.

    effect = mean(d), with a 95% BCa bootstrap CI of the mean (percentile
    fallback; see `bootstrap_mean_ci`); the CI method is in `note`. The
    effect is the mean, not the Hodges-Lehmann median, so that it is on the
    same footing as the t-based results in the report.

    Needs n >= 5: below that the one-sided exact p (>= 1/2**n) can never be < 0.05.
    All d == 0 -> p = p_opposite = 1 (no signed ranks at all).
    """
    _check_alternative(alternative)
    d = _paired(a, b)
    n = int(d.shape[0])
    require_n(n, MIN_SEEDS_WILCOXON, f"{hypothesis}: Wilcoxon signed-rank test")
    method = _wilcoxon_method(d)
    test = f"Wilcoxon signed-rank (one-sided, {method})"
    lo, hi, ci_how = _bootstrap_mean_ci(d, CONFIDENCE, seed, n_resamples)
    sd = float(np.std(d, ddof=1))
    if np.all(d == 0):
        return Result(
            hypothesis, statement, test, n, 0.0, 0.0, 0.0, 1.0, 1.0, unit,
            alternative=alternative, sd=sd, min_n=MIN_SEEDS_WILCOXON,
            note=f"all {n} paired differences are zero: p = p_opposite = 1; CI: {ci_how}",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's unused z on tied data
        p = float(stats.wilcoxon(d, alternative=alternative).pvalue)
        p_opp = float(stats.wilcoxon(d, alternative=_opposite(alternative)).pvalue)
    return Result(
        hypothesis, statement, test, n, float(np.mean(d)), lo, hi, p, p_opp, unit,
        alternative=alternative, sd=sd, min_n=MIN_SEEDS_WILCOXON, note=f"CI: {ci_how}",
    )


# --------------------------------------------------------------------------- equivalence


def equivalence_tost(
    a: Any,
    b: Any,
    *,
    margin: float,
    hypothesis: str,
    statement: str,
    unit: str = "",
) -> Result:
    """Paired TOST (two one-sided t-tests) equivalence test on d = a - b.

    H0: |E[d]| >= margin. H1 (the claim "a and b are similar"): |E[d]| < margin.
    The two one-sided tests (t statistics from one `scipy.stats.ttest_1samp`
    call against both bounds, one-sided tails from `scipy.stats.t`, df = n-1):
        p_lower: H0 E[d] <= -margin vs E[d] > -margin
        p_upper: H0 E[d] >= +margin vs E[d] < +margin
    p_value = max(p_lower, p_upper) (reject H0 iff both reject; equivalently
    the 90% t CI lies inside (-margin, margin)).

    p_opposite -- evidence that the difference lies OUTSIDE the margin: the
    one-sided t-test p of E[d] > +margin or of E[d] < -margin, on whichever
    side the estimate lies (= the smaller of the two). REFUTED at alpha thus
    means the (1 - 2 alpha) CI lies entirely outside [-margin, margin].

    effect = mean(d) with its 95% two-sided t CI (for display; the decision is
    the max-p above). kind = "equivalence".
    Zero variance (all d = c): |c| < margin -> p = 0, p_opposite = 1;
    |c| > margin -> p = 1, p_opposite = 0; |c| == margin -> both 1.
    """
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"margin must be a positive finite number, got {margin!r}")
    d = _paired(a, b)
    n = int(d.shape[0])
    require_n(n, MIN_SEEDS_T, f"{hypothesis}: TOST equivalence test")
    test = f"TOST equivalence (paired t), margin ±{margin:g}"
    mean = float(np.mean(d))
    if _is_constant(d):
        if abs(mean) < margin:
            p, p_opp, how = 0.0, 1.0, "inside the margin -> p = 0"
        elif abs(mean) > margin:
            p, p_opp, how = 1.0, 0.0, "outside the margin -> p_opposite = 0"
        else:
            p, p_opp, how = 1.0, 1.0, "exactly on the margin -> p = p_opposite = 1"
        return Result(
            hypothesis, statement, test, n, mean, mean, mean, p, p_opp, unit,
            kind="equivalence", alternative="within", sd=0.0, margin=float(margin),
            min_n=MIN_SEEDS_T,
            note=f"zero variance: all {n} paired differences equal {mean:+.6g}; "
            f"decided deterministically: {how}",
        )
    # one ttest_1samp call against -margin, +margin and 0 at once; the one-sided
    # tails of its t statistics (df = n-1) come from scipy.stats.t
    res = stats.ttest_1samp(d[:, None], np.array([-margin, margin, 0.0]))
    t_lo, t_hi = float(res.statistic[0]), float(res.statistic[1])
    df = n - 1
    p_lower = float(stats.t.sf(t_lo, df))  # H0 E[d] <= -margin
    p_upper = float(stats.t.cdf(t_hi, df))  # H0 E[d] >= +margin
    p_above = float(stats.t.sf(t_hi, df))  # evidence E[d] > +margin
    p_below = float(stats.t.cdf(t_lo, df))  # evidence E[d] < -margin
    ci_all = res.confidence_interval(CONFIDENCE)
    ci_low, ci_high = float(ci_all.low[2]), float(ci_all.high[2])
    return Result(
        hypothesis, statement, test, n, mean, ci_low, ci_high,
        max(p_lower, p_upper), p_above if mean >= 0 else p_below, unit,
        kind="equivalence", alternative="within", sd=float(np.std(d, ddof=1)),
        margin=float(margin), min_n=MIN_SEEDS_T,
        note=f"TOST one-sided p: vs -margin {p_lower:.4g}, vs +margin {p_upper:.4g}",
    )


# --------------------------------------------------------------------------- McNemar


def mcnemar(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    *,
    hypothesis: str,
    statement: str,
    alternative: str = "greater",
    unit: str = "accuracy",
) -> Result:
    """Exact McNemar test on paired predictions over one test set.

    `correct_a[i]`, `correct_b[i]`: whether classifiers a and b got example i
    right (same examples, same order). Discordant counts:
    n01 = #(a right, b wrong), n10 = #(a wrong, b right).
    H0: P(a right, b wrong) = P(a wrong, b right), i.e. equal accuracy;
    conditional on the m = n01 + n10 discordant pairs, n01 ~ Binomial(m, 1/2).
    H1 (the claim): a is right more often ("greater"), or less often ("less").
    p_value = `scipy.stats.binomtest(n01, m, 0.5, alternative)`; p_opposite the
    other alternative. No discordant pairs -> p = p_opposite = 1.

    effect = acc(a) - acc(b) = (n01 - n10) / n, n = number of examples.
    CI: Wald interval for a difference of paired proportions (normal
    approximation, Agresti 2002 sec. 10.1):
    effect +- z_{0.975} sqrt((n01 + n10) - (n01 - n10)^2 / n) / n.
    It is adequate for test sets of thousands of examples, not for tiny ones.
    """
    _check_alternative(alternative)
    a = np.asarray(correct_a)
    b = np.asarray(correct_b)
    for name, arr in (("correct_a", a), ("correct_b", b)):
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
        if arr.dtype != bool:
            f = arr.astype(float)
            if not np.all(np.isfinite(f)):
                raise ValueError(f"{name} contains NaN or inf")
            if not np.all((f == 0) | (f == 1)):
                raise ValueError(f"{name} must be boolean (or 0/1)")
    if a.shape != b.shape:
        raise ValueError(f"paired predictions differ in length: {a.shape[0]} vs {b.shape[0]}")
    n = int(a.shape[0])
    if n == 0:
        raise ValueError(f"{hypothesis}: McNemar test needs at least one example")
    a, b = a.astype(bool), b.astype(bool)
    n01 = int(np.count_nonzero(a & ~b))
    n10 = int(np.count_nonzero(~a & b))
    m = n01 + n10
    effect = (n01 - n10) / n
    half = float(stats.norm.ppf(0.5 + CONFIDENCE / 2)) * math.sqrt(max(m - (n01 - n10) ** 2 / n, 0.0)) / n
    test = "exact McNemar (binomial on discordant pairs, one-sided)"
    note = f"discordant pairs: a-only right {n01}, b-only right {n10}; CI: Wald for paired proportions"
    if m == 0:
        return Result(
            hypothesis, statement, test, n, 0.0, 0.0, 0.0, 1.0, 1.0, unit,
            alternative=alternative, sd=None, min_n=1,
            note=note + "; no discordant pairs: p = p_opposite = 1",
        )
    p = float(stats.binomtest(n01, m, 0.5, alternative=alternative).pvalue)
    p_opp = float(stats.binomtest(n01, m, 0.5, alternative=_opposite(alternative)).pvalue)
    return Result(
        hypothesis, statement, test, n, effect, effect - half, effect + half, p, p_opp, unit,
        alternative=alternative, sd=None, min_n=1, note=note,
    )


# --------------------------------------------------------------------------- trends


def trend_test(
    epochs: np.ndarray,
    values: np.ndarray,
    *,
    hypothesis: str,
    statement: str,
    alternative: str = "greater",
    unit: str = "",
    statistic: str = "slope",
) -> Result:
    """"X increases (or decreases) as training progresses", with the seed as the unit.

    `values` has shape (seeds, epochs), `epochs` the matching epoch numbers.
    Per seed s, a trend statistic of values[s] against epochs:
      statistic="slope" (default): the OLS slope (`scipy.stats.linregress`),
        in units of `unit` per epoch;
      statistic="kendall": Kendall's tau-b (`scipy.stats.kendalltau`), a
        monotone, scale-free trend in [-1, 1] (a seed with constant values has
        tau 0).
    Then a one-sample t-test across seeds on those per-seed statistics
    (`one_sample_t`): H0: E[trend] = 0; H1 (the claim): E[trend] > 0
    ("greater": increases) or < 0 ("less": decreases). The per-seed fits only
    summarise each seed; epochs within a seed are NOT treated as independent.
    effect = mean per-seed slope (per epoch) or mean tau, with 95% t CI.
    """
    if statistic not in ("slope", "kendall"):
        raise ValueError(f"statistic must be 'slope' or 'kendall', got {statistic!r}")
    x = _vector(epochs, "epochs")
    y = np.asarray(values, dtype=float)
    if y.ndim != 2 or y.shape[1] != x.shape[0]:
        raise ValueError(f"values must have shape (seeds, {x.shape[0]}), got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("values contains NaN or inf")
    if np.unique(x).shape[0] < 2:
        raise ValueError("trend_test needs at least two distinct epochs")
    require_n(int(y.shape[0]), MIN_SEEDS_T, f"{hypothesis}: trend test")
    if statistic == "slope":
        per_seed = np.array([stats.linregress(x, row).slope for row in y])
        what, eff_unit = "per-seed OLS slope", (f"{unit} per epoch" if unit else "per epoch")
    else:
        taus = []
        for row in y:
            tau = float(stats.kendalltau(x, row).statistic) if np.ptp(row) > 0 else 0.0
            taus.append(tau)
        per_seed = np.array(taus)
        what, eff_unit = "per-seed Kendall tau", "Kendall tau"
    res = one_sample_t(
        per_seed, hypothesis=hypothesis, statement=statement, alternative=alternative,
        unit=eff_unit, test=f"{what} vs epoch, one-sample t-test across seeds (one-sided)",
    )
    return res


# --------------------------------------------------------------------------- power


def power_t(dz: float, n: int, alpha: float = ALPHA) -> float:
    """Power of the one-sided one-sample (paired) t-test at level `alpha`.

    With true standardized effect d_z = E[d]/sd(d) in the tested direction and
    n units: power = P(T > t_{1-alpha, n-1}), T ~ noncentral t(df = n-1,
    nc = d_z sqrt(n)) (`scipy.stats.nct`).
    """
    df = n - 1
    return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, dz * math.sqrt(n)))


def power_tost(delta_z: float, margin_z: float, n: int, alpha: float = ALPHA) -> float:
    """Exact power of the paired TOST at level `alpha`, in sd units.

    delta_z = E[d]/sd, margin_z = margin/sd. TOST rejects iff
    -margin + c s/sqrt(n) < mean(d) < margin - c s/sqrt(n), c = t_{1-alpha, n-1}.
    mean(d) ~ N(delta, sd^2/n) and V = (n-1) s^2/sd^2 ~ chi2(n-1) independently, so
    power = E_V[Phi(sqrt(n)(margin_z - delta_z) - c s) - Phi(-sqrt(n)(margin_z + delta_z) + c s)],
    s = sqrt(V/(n-1)), the bracket being 0 once the interval is empty
    (s >= margin_z sqrt(n)/c). Integrated over the chi2 quantile u in
    (0, F(V_max)) (`scipy.integrate.quad`), which stays accurate at large n where
    the density of s is a narrow spike.
    """
    df = n - 1
    c = float(stats.t.ppf(1 - alpha, df))
    rn = math.sqrt(n)
    s_max = margin_z * rn / c
    if s_max <= 0:
        return 0.0
    u_max = float(stats.chi2.cdf(df * s_max**2, df))
    if u_max <= 0:
        return 0.0

    def integrand(u: float) -> float:
        s = math.sqrt(float(stats.chi2.ppf(u, df)) / df)
        hi = rn * (margin_z - delta_z) - c * s
        lo = -rn * (margin_z + delta_z) + c * s
        return max(float(stats.norm.cdf(hi) - stats.norm.cdf(lo)), 0.0)

    val, _ = integrate.quad(integrand, 0.0, u_max, limit=200)
    return min(max(val, 0.0), 1.0)


def _smallest_n(power_at: Any, lo: int, cap: int, target: float) -> int | None:
    """Smallest n in [lo, cap] with power_at(n) >= target, assuming power increases with n."""
    if power_at(cap) < target:
        return None
    if power_at(lo) >= target:
        return lo
    while cap - lo > 1:  # invariant: power(lo) < target <= power(cap)
        mid = (lo + cap) // 2
        if power_at(mid) >= target:
            cap = mid
        else:
            lo = mid
    return cap


def seeds_needed_t(
    dz: float, alpha: float = ALPHA, power: float = TARGET_POWER,
    min_n: int = MIN_SEEDS_T, cap: int = SEEDS_CAP,
) -> int | None:
    """Smallest n >= min_n at which `power_t(dz, n, alpha) >= power`; None if dz <= 0 or n > cap."""
    if not math.isfinite(dz) or dz <= 0:
        return None
    return _smallest_n(lambda n: power_t(dz, n, alpha), min_n, cap, power)


def seeds_needed_tost(
    delta_z: float, margin_z: float, alpha: float = ALPHA, power: float = TARGET_POWER,
    min_n: int = MIN_SEEDS_T, cap: int = SEEDS_CAP,
) -> int | None:
    """Smallest n >= min_n at which `power_tost(...) >= power`; None if |delta| >= margin or n > cap."""
    if not (math.isfinite(delta_z) and math.isfinite(margin_z)) or abs(delta_z) >= margin_z:
        return None
    return _smallest_n(lambda n: power_tost(delta_z, margin_z, n, alpha), min_n, cap, power)


def _seeds_needed(r: Result, level: float) -> int | None:
    if r.sd is None or not r.sd > 0:
        return None
    if r.kind == "equivalence":
        if r.margin is None:
            return None
        return seeds_needed_tost(r.effect / r.sd, r.margin / r.sd, level, min_n=r.min_n)
    sign = 1.0 if r.alternative == "greater" else -1.0
    return seeds_needed_t(sign * r.effect / r.sd, level, min_n=r.min_n)


# --------------------------------------------------------------------------- multiplicity


def holm_adjust(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni step-down adjusted p-values (in the input order).

    Sort p ascending: p_(1) <= ... <= p_(m). Adjusted
    p~_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)). Rejecting H_(i) iff
    p~_(i) < alpha controls the family-wise error rate at alpha under any
    dependence between the tests (Holm 1979). scipy has no Holm
    (`false_discovery_control` is Benjamini-Hochberg/-Yekutieli).
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError("p-values must be 1-D")
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must be finite and in [0, 1], got {p.tolist()}")
    m = p.shape[0]
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def holm(results: Sequence[Result], alpha: float = ALPHA) -> list[Verdict]:
    """Holm-correct a family of hypotheses and decide each one.

    `p_value` and `p_opposite` are each Holm-adjusted across the whole family
    (`holm_adjust`). Verdict: SUPPORTED if p_adjusted < alpha; else REFUTED if
    p_opposite_adjusted < alpha; else INCONCLUSIVE, with `seeds_needed` at the
    Bonferroni level alpha/m (see `Verdict`).
    """
    results = list(results)
    if not results:
        return []
    m = len(results)
    p_adj = holm_adjust([r.p_value for r in results])
    q_adj = holm_adjust([r.p_opposite for r in results])
    out = []
    for r, p, q in zip(results, p_adj, q_adj):
        if p < alpha:
            verdict, needed = SUPPORTED, None
        elif q < alpha:
            verdict, needed = REFUTED, None
        else:
            verdict, needed = INCONCLUSIVE, _seeds_needed(r, alpha / m)
        out.append(Verdict(r, float(p), float(q), verdict, needed))
    return out


def overall(verdicts: Sequence[Verdict]) -> str:
    """Intersection-union over the sub-hypotheses of one claim (e.g. per layer).

    The claim holds only if every part holds: SUPPORTED iff all parts are
    SUPPORTED; REFUTED if any part is REFUTED; otherwise INCONCLUSIVE.
    """
    verdicts = list(verdicts)
    if not verdicts:
        raise ValueError("overall() needs at least one verdict")
    kinds = [v.verdict for v in verdicts]
    if all(k == SUPPORTED for k in kinds):
        return SUPPORTED
    if any(k == REFUTED for k in kinds):
        return REFUTED
    return INCONCLUSIVE


# --------------------------------------------------------------------------- reference numbers


def prediction_interval(values: Any, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """t-based prediction interval for ONE new observation from the seeds' distribution.

    Assuming the n seed values are i.i.d. normal, a new draw X satisfies
    (X - mean) / (sd sqrt(1 + 1/n)) ~ t(n-1), so the interval is
    mean +- t_{n-1, (1+confidence)/2} * sd * sqrt(1 + 1/n) (sd with ddof=1).
    Used to say whether the writeup's single-run number lies inside what our
    seeds reproduce. Constant values give [mean, mean].
    """
    x = _vector(values, "values")
    n = int(x.shape[0])
    require_n(n, 2, "prediction interval")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    mean = float(np.mean(x))
    sd = 0.0 if _is_constant(x) else float(np.std(x, ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd * math.sqrt(1 + 1 / n)
    return mean - half, mean + half
