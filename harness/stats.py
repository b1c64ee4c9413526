"""Paired tests, equivalence, Holm correction and verdicts.

Every claim of the writeup becomes one or more pre-registered hypotheses. Each
hypothesis is decided by one function below, which returns a `Result`: the
effect in the claimed direction with its 95% CI, the p-value FOR the claim
(`p_value`, small = evidence the claim holds) and the p-value AGAINST it
(`p_opposite`, small = evidence the opposite holds). `holm` then corrects the
tier's whole family of hypotheses (Holm-Bonferroni, family-wise error rate
<= alpha) and turns each `Result` into a `Verdict`:

    SUPPORTED     p_adjusted < alpha            (significant in the claimed direction)
    REFUTED       p_opposite_adjusted < alpha   (significant the other way, or the claimed effect excluded)
    INCONCLUSIVE  neither; `seeds_needed` says how many seeds would settle it AT THE OBSERVED EFFECT

Design rules:

* The seed is the unit of replication: tests compare two variants *paired by
  seed* (`a[i]` and `b[i]` come from the same seed), so they operate on the
  paired differences `d = a - b`.
* The tests themselves come from `scipy.stats` (t, binomial, Kendall, linear
  regression, the noncentral t for power); this module only wires them up. The exception is Holm's step-down adjustment,
  which scipy does not provide (`scipy.stats.false_discovery_control` is
  Benjamini-Hochberg / -Yekutieli, which controls the FDR, not the FWER).
* Inputs with NaN or inf raise `ValueError`: a missing number must never be
  silently dropped from a claim's evidence.
* Discrete data -- tied magnitudes, zero differences, or every difference
  identical (integer epochs, accuracies on a test set of 1,000 images) -- is
  decided by an exact sign-flip permutation test instead of the t-test: the t
  test's size with 3-valued differences is above alpha, and a constant
  difference would give t = c/0 and p = 0 at any n. The sign-flip test is exact
  under the symmetric null whatever the data, and its p can never fall below
  2^-n (1/8 at n = 3), which is the honest floor of a design with n seeds.
  `Result.discrete` and `Result.test` record which test decided.
* A superiority hypothesis with no smallest effect of interest can never be
  REFUTED by a true zero effect. Where the writeup implies a size, the caller
  pre-registers `min_effect`; `p_opposite` then tests "effect < min_effect"
  (in the claimed direction's units), and `Verdict.refuted_because` says
  whether the refutation is "opposite direction" or "claimed effect excluded".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import integrate, special, stats

ALPHA = 0.05
CONFIDENCE = 0.95  # level of every reported (two-sided) CI
TARGET_POWER = 0.8  # `seeds_needed` is the n that reaches this power
SEEDS_CAP = 1000  # `seeds_needed` searches n up to this; beyond it -> None

SUPPORTED, REFUTED, INCONCLUSIVE = "SUPPORTED", "REFUTED", "INCONCLUSIVE"

MIN_SEEDS_T = 3  # t-tests and TOST: n-1 >= 2 degrees of freedom

# Sign-flip permutation test (discrete data): exact over all 2^n sign flips up to
# this n (2^20 ~ 1e6 means, evaluated in blocks), a fixed-seed Monte Carlo beyond.
EXACT_SIGN_FLIP_MAX_N = 20
SIGN_FLIP_RESAMPLES = 99_999
SIGN_FLIP_SEED = 0
SIGN_FLIP_BATCH = 2**16
SIGN_FLIP_TOL = 1e-9  # means of x / max|x| closer than this are ties
# |d| values closer than this fraction of max |d| count as tied (and as zero);
# differences of accuracies on one test set are equal only up to float rounding.
TIE_RTOL = 1e-9

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
      (3 for t / TOST); floors `seeds_needed`.
    * `note` -- how degenerate data was decided, which CI method was used, etc.
    * `min_effect` -- the pre-registered smallest effect of interest (positive,
      in the claimed direction's units), or None. When set, `p_opposite` is the
      p of "effect < min_effect" and `p_opposite_direction` keeps the p of the
      opposite direction against no effect.
    * `p_opposite_direction` -- see `min_effect`; None without it (then
      `p_opposite` is that p).
    * `discrete` -- the data had tied magnitudes, zeros or no variance, so the
      p-values come from the exact sign-flip permutation test (p >= 2^-n).
    * `between_variants` -- the hypothesis compares the baseline with the
      dropout model (set by the caller); the A/A check runs exactly these.
    * `values` -- the per-unit values the test averages, in seed order (minus
      `popmean`, so that `effect` is their mean): what the sequential mode
      (`--seeds auto`, harness/until_decided.py) feeds its e-processes. Empty
      where the unit is not the seed (McNemar). Not in `Verdict.as_dict`: the
      report carries effects, not raw values.
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
    min_effect: float | None = None
    p_opposite_direction: float | None = None
    discrete: bool = False
    between_variants: bool = False
    values: tuple[float, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Verdict:
    """A `Result` after Holm correction over its family.

    `seeds_needed` is only set for INCONCLUSIVE results that have a power
    model (`Result.sd` set). It ASSUMES THE OBSERVED EFFECT IS THE TRUE ONE:
    it says how many seeds would settle the question if the effect were what
    this run saw, not how many the true effect needs. `settles` says which way
    ("support" or "refute"):

    * superiority, observed effect in the claimed direction: the smallest n
      (>= `Result.min_n`) at which a one-sided one-sample t-test on the paired
      differences, at level alpha/m (the Bonferroni level: Holm rejects
      whenever p < alpha/m, so this n suffices whatever the other hypotheses
      do), has 80% power for the observed standardized effect
      d_z = effect / sd in the claimed direction -> "support". Power is
      P(T > t_{1-alpha/m, n-1}) with T ~ noncentral t(n-1, d_z * sqrt(n))
      (`scipy.stats.nct`).
    * superiority, observed effect against the claim (or short of a
      pre-registered `min_effect`): the same for the test behind
      `p_opposite`, with d_z = (min_effect - effect in the claimed direction)
      / sd (min_effect 0 if none) -> "refute". With `min_effect`, an effect
      between 0 and min_effect could settle either way; the smaller n wins.
    * equivalence: observed |difference| inside the margin: the smallest n at
      which TOST at level alpha/m has 80% power (see `power_tost`) ->
      "support"; outside it: the one-sided t-test of "beyond the margin" with
      d_z = (|difference| - margin) / sd -> "refute".
    * For sign-flip (discrete) results the t-based number is an approximation,
      and n is floored where 2^-n < alpha/m, below which no sign pattern can
      reach significance.

    None means: not INCONCLUSIVE, no power model, or no finite n up to
    `SEEDS_CAP` reaches 80% (an effect ~0 with no `min_effect`, or a
    difference exactly on the margin).

    `refuted_because` (REFUTED only): "opposite direction" (significant the
    other way after Holm), "claimed effect (>= X) excluded" (only the
    pre-registered smallest effect of interest is rejected), or for
    equivalence "difference outside the margin ±X".
    """

    result: Result
    p_adjusted: float
    p_opposite_adjusted: float
    verdict: str
    seeds_needed: int | None
    settles: str | None = None
    refuted_because: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Flat dict: the Result's fields plus the Verdict's (`report.json_safe` makes it JSON)."""
        out: dict[str, Any] = asdict(self.result)
        del out["values"]
        out.update(
            p_adjusted=self.p_adjusted,
            p_opposite_adjusted=self.p_opposite_adjusted,
            verdict=self.verdict,
            seeds_needed=self.seeds_needed,
            settles=self.settles,
            refuted_because=self.refuted_because,
        )
        return out


# --------------------------------------------------------------------------- validation


def require_n(n: int, minimum: int, what: str) -> None:
    """Raise ValueError unless `n >= minimum` (n = number of paired seeds).

    Minimum used here: 3 for t-tests and TOST (a t-test needs n-1 >= 2 degrees
    of freedom to say anything useful).
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


def _is_discrete(x: np.ndarray) -> bool:
    """Values on a few levels: at most n/2 distinct magnitudes |x_i| (zero counting as one), or all equal.

    Distinct up to `TIE_RTOL` of max |x|. Such data (integer epochs, a handful
    of accuracy steps) is what makes the t-test's size wrong (3-valued
    differences: up to 0.06 at alpha = 0.05) and gives it p = 0 on constant
    data, so it goes to the exact sign-flip test. An incidental tie among
    otherwise spread values (two seeds whose accuracies differ by the same
    number of test images) does not: switching there would make the test, and
    its 2^-n floor, a matter of chance, and at 8 seeds that floor (1/256) can
    never survive Holm over a family of ~40.
    """
    mag = np.sort(np.abs(x))
    if mag[-1] == 0:
        return True
    distinct = 1 + int(np.count_nonzero(np.diff(mag) > TIE_RTOL * mag[-1]))
    return distinct <= x.shape[0] / 2 or _is_constant(x)


def _exact_sign_flip_count(z: np.ndarray, observed: float, alternative: str) -> int:
    """How many of the 2^n sign patterns of z have a mean >= observed ("greater") or <= it ("less").

    Enumerated in blocks of `SIGN_FLIP_BATCH` patterns (row k's signs are the
    bits of k), vectorised: `scipy.stats.permutation_test`'s exact enumeration
    builds the patterns in Python and takes seconds per call from n ~ 16.
    """
    n = z.shape[0]
    bits = np.arange(n)
    count = 0
    for start in range(0, 2**n, SIGN_FLIP_BATCH):
        rows = np.arange(start, min(start + SIGN_FLIP_BATCH, 2**n))
        means = ((1 - 2 * ((rows[:, None] >> bits) & 1)) @ z) / n
        hit = means >= observed - SIGN_FLIP_TOL if alternative == "greater" else means <= observed + SIGN_FLIP_TOL
        count += int(np.count_nonzero(hit))
    return count


def sign_flip_p(x: Any, alternative: str) -> float:
    """One-sided sign-flip permutation p-value of mean(x) against 0.

    H0: x is symmetric about 0, so every one of the 2^n sign patterns of x is
    equally likely; p = the fraction of sign flips whose mean is >= the
    observed one ("greater"; <= for "less"), the observed pattern included.
    Exact under H0 whatever the distribution, ties and zeros included, so its
    size is <= alpha at any n. The price of exactness: p >= 2^-n (n = 3: 0.125,
    n = 5: 0.031), the floor of what n seeds can show. All 2^n patterns are
    enumerated up to n = `EXACT_SIGN_FLIP_MAX_N` (checked against
    `scipy.stats.permutation_test` in tests/test_stats.py); beyond,
    `scipy.stats.permutation_test` draws `SIGN_FLIP_RESAMPLES` random flips
    from a fixed seed (p >= 1/(resamples + 1), still valid). Means are
    compared on x / max|x| with a tolerance of `SIGN_FLIP_TOL`, so that flips
    equal in exact arithmetic count as ties despite float rounding.
    """
    _check_alternative(alternative)
    v = _vector(x, "x")
    scale = float(np.max(np.abs(v)))
    if scale == 0.0:
        return 1.0
    z = v / scale
    n = z.shape[0]
    if n <= EXACT_SIGN_FLIP_MAX_N:
        return _exact_sign_flip_count(z, float(np.mean(z)), alternative) / 2**n
    res = stats.permutation_test(
        (z,), lambda w, axis: np.round(np.mean(w, axis=axis), 10),
        permutation_type="samples", vectorized=True, alternative=alternative,
        n_resamples=SIGN_FLIP_RESAMPLES, rng=np.random.default_rng(SIGN_FLIP_SEED),
    )
    return float(res.pvalue)


def _sign_flip_how(n: int) -> str:
    flips = ("all 2^n flips" if n <= EXACT_SIGN_FLIP_MAX_N
             else f"{SIGN_FLIP_RESAMPLES} random flips, seed {SIGN_FLIP_SEED}")
    return f"{flips}; chosen for values on few levels"


def _check_min_effect(min_effect: float | None) -> None:
    if min_effect is not None and not (math.isfinite(min_effect) and min_effect > 0):
        raise ValueError(
            f"min_effect must be a positive finite number (the smallest effect of interest, in the claimed "
            f"direction's units), got {min_effect!r}; pass None for no smallest effect"
        )


def one_sample_t(
    d: Any,
    *,
    hypothesis: str,
    statement: str,
    alternative: str = "greater",
    popmean: float = 0.0,
    min_effect: float | None = None,
    unit: str = "",
    test: str | None = None,
    between_variants: bool = False,
) -> Result:
    """One-sample test on per-unit values `d` (paired differences, slopes, ...): t-test, or sign flips if discrete.

    H0: E[d] = popmean (one-sided: E[d] <= popmean for "greater").
    H1 (the claim): E[d] > popmean ("greater") or E[d] < popmean ("less").
    `test` names what `d` is (e.g. "paired differences"); the method is appended.

    Continuous data (more than n/2 distinct magnitudes |d - popmean|): t-test,
    t = (mean(d) - popmean) / (sd(d) / sqrt(n)), sd with ddof=1, t ~ Student
    t(n-1) under H0 (`scipy.stats.ttest_1samp`); p_value = P(T >= t) for
    "greater" (P(T <= t) for "less").

    Discrete data (values on a few levels, or all equal -- see
    `_is_discrete`): `sign_flip_p` on d - popmean, exact under the symmetric null
    whatever the data; p >= 2^-n, so 3 identical differences give p = 1/8 and
    can never be SUPPORTED, where the t statistic c/0 would give p = 0. The
    choice depends only on |d - popmean|, which the sign-flip null holds fixed,
    so choosing does not bias it.

    p_opposite: the same test in the other direction, against popmean -- or,
    with a pre-registered `min_effect` (> 0, the smallest effect of interest in
    the claimed direction's units), against popmean + min_effect ("greater";
    popmean - min_effect for "less"): small p_opposite then means "the claimed
    effect is excluded", which a true zero effect eventually shows. The p of
    the opposite direction against popmean is kept in `p_opposite_direction`.

    effect = mean(d) - popmean, with the two-sided 95% t CI
    (`confidence_interval`); for constant data (sd = 0) the CI is [c, c].
    """
    _check_alternative(alternative)
    _check_min_effect(min_effect)
    x = _vector(d, "d")
    n = int(x.shape[0])
    require_n(n, MIN_SEEDS_T, f"{hypothesis}: t-test")
    if test is None:
        test = "values" if popmean == 0.0 else f"values vs {popmean:g}"
    sign = 1.0 if alternative == "greater" else -1.0
    centred = x - popmean
    bound = 0.0 if min_effect is None else sign * min_effect  # what p_opposite is tested against
    effect = float(np.mean(centred))
    discrete = _is_discrete(centred) or (min_effect is not None and _is_discrete(centred - bound))
    if _is_constant(x):
        sd, ci_low, ci_high = 0.0, effect, effect
        note = (f"zero variance: all {n} values equal {float(np.mean(x)):.6g} (difference from {popmean:g}: "
                f"{effect:+.6g}); t undefined, decided by sign flips (p >= 2^-{n} = {0.5**n:.3g}); CI = [c, c]")
    else:
        res = stats.ttest_1samp(centred[:, None], np.array([0.0, bound]))  # against 0 and the bound at once
        sd = float(np.std(x, ddof=1))
        ci = res.confidence_interval(CONFIDENCE)
        ci_low, ci_high = float(ci.low[0]), float(ci.high[0])
        t0, tb = float(res.statistic[0]), float(res.statistic[1])
        note = (f"tied or zero values: decided by sign flips (p >= 2^-{n} = {0.5**n:.3g}); t CI" if discrete
                else f"t = {t0:.4g}, df = {n - 1}")
    if discrete:
        p = sign_flip_p(centred, alternative)
        p_dir = sign_flip_p(centred, _opposite(alternative))
        p_opp = p_dir if min_effect is None else sign_flip_p(centred - bound, _opposite(alternative))
        method = f"exact sign-flip permutation test of the mean (one-sided; {_sign_flip_how(n)})"
    else:
        tails = {"greater": (stats.t.sf(t0, n - 1), stats.t.sf(tb, n - 1)),
                 "less": (stats.t.cdf(t0, n - 1), stats.t.cdf(tb, n - 1))}
        p = float(tails[alternative][0])
        p_dir, p_opp = (float(q) for q in tails[_opposite(alternative)])
        method = "t-test (one-sided)"
    if min_effect is not None:
        note += f"; p_opposite tests the claimed effect ({'>=' if sign > 0 else '<='} {bound:+g}) against the data"
    return Result(
        hypothesis, statement, f"{test}: {method}", n, effect, ci_low, ci_high, p, p_opp, unit,
        alternative=alternative, sd=sd, min_n=MIN_SEEDS_T, note=note,
        min_effect=None if min_effect is None else float(min_effect),
        p_opposite_direction=None if min_effect is None else p_dir,
        discrete=discrete, between_variants=between_variants, values=tuple(float(v) for v in centred),
    )


def paired_t(
    a: Any,
    b: Any,
    *,
    hypothesis: str,
    statement: str,
    alternative: str = "greater",
    min_effect: float | None = None,
    unit: str = "",
    between_variants: bool = False,
) -> Result:
    """Paired t-test of `a` against `b`, paired by seed (index i = seed i); sign flips for discrete data.

    d_i = a_i - b_i. H0: E[d] = 0. H1 (the claim): E[d] > 0 ("greater": a > b)
    or E[d] < 0 ("less": a < b). Statistic t = mean(d) / (sd(d)/sqrt(n)) ~ t(n-1)
    under H0 -- identical to `scipy.stats.ttest_rel(a, b)`.
    effect = mean(a - b) (sign as computed), 95% two-sided t CI.
    See `one_sample_t` for discrete data (exact sign flips, p >= 2^-n) and for
    `min_effect`. `between_variants=True` marks a comparison of the baseline
    with the dropout model (what the A/A check must never find).
    """
    return one_sample_t(
        _paired(a, b), hypothesis=hypothesis, statement=statement,
        alternative=alternative, popmean=0.0, min_effect=min_effect, unit=unit,
        test="paired differences", between_variants=between_variants,
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
    between_variants: bool = False,
) -> Result:
    """Paired TOST (two one-sided tests) equivalence test on d = a - b.

    H0: |E[d]| >= margin. H1 (the claim "a and b are similar"): |E[d]| < margin.
    The two one-sided tests:
        p_lower: H0 E[d] <= -margin vs E[d] > -margin
        p_upper: H0 E[d] >= +margin vs E[d] < +margin
    p_value = max(p_lower, p_upper) (reject H0 iff both reject; for the t
    version, equivalently the 90% t CI lies inside (-margin, margin)).
    Continuous data: t statistics from one `scipy.stats.ttest_1samp` call
    against both bounds, one-sided tails from `scipy.stats.t`, df = n-1.
    Discrete data (tied or zero values of |d - margin| or |d + margin|, or all
    d equal): each one-sided test is the exact sign-flip test on d -+ margin
    (`sign_flip_p`), so a constant difference inside the margin gets
    p = 2^-n (never 0: n seeds cannot show more), not the t statistic's c/0.

    p_opposite -- evidence that the difference lies OUTSIDE the margin: the
    one-sided p of E[d] > +margin or of E[d] < -margin, on whichever side the
    estimate lies (= the smaller of the two). REFUTED at alpha thus means the
    difference is significantly beyond the margin.

    effect = mean(d) with its 95% two-sided t CI (for display; the decision is
    the max-p above; [c, c] for constant data). kind = "equivalence".
    `between_variants=True` marks a comparison of the baseline with the
    dropout model.
    """
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"margin must be a positive finite number, got {margin!r}")
    d = _paired(a, b)
    n = int(d.shape[0])
    require_n(n, MIN_SEEDS_T, f"{hypothesis}: TOST equivalence test")
    mean = float(np.mean(d))
    discrete = _is_discrete(d - margin) or _is_discrete(d + margin)
    if _is_constant(d):
        sd, ci_low, ci_high = 0.0, mean, mean
        note = (f"zero variance: all {n} paired differences equal {mean:+.6g}, decided by sign flips "
                f"(p >= 2^-{n} = {0.5**n:.3g}); CI = [c, c]; ")
    else:
        # one ttest_1samp call against -margin, +margin and 0; one-sided tails (df = n-1) from scipy.stats.t
        res = stats.ttest_1samp(d[:, None], np.array([-margin, margin, 0.0]))
        t_lo, t_hi = float(res.statistic[0]), float(res.statistic[1])
        sd = float(np.std(d, ddof=1))
        ci = res.confidence_interval(CONFIDENCE)
        ci_low, ci_high = float(ci.low[2]), float(ci.high[2])
        note = "tied or zero values of |d -+ margin|: decided by sign flips; " if discrete else ""
    if discrete:
        test = f"TOST equivalence (paired exact sign-flip test per side; {_sign_flip_how(n)}), margin ±{margin:g}"
        p_lower = sign_flip_p(d + margin, "greater")
        p_upper = sign_flip_p(d - margin, "less")
        p_above = sign_flip_p(d - margin, "greater")
        p_below = sign_flip_p(d + margin, "less")
    else:
        test = f"TOST equivalence (paired t), margin ±{margin:g}"
        df = n - 1
        p_lower, p_upper = float(stats.t.sf(t_lo, df)), float(stats.t.cdf(t_hi, df))
        p_above, p_below = float(stats.t.sf(t_hi, df)), float(stats.t.cdf(t_lo, df))
    note += f"TOST one-sided p: vs -margin {p_lower:.4g}, vs +margin {p_upper:.4g}"
    return Result(
        hypothesis, statement, test, n, mean, ci_low, ci_high,
        max(p_lower, p_upper), p_above if mean >= 0 else p_below, unit,
        kind="equivalence", alternative="within", sd=sd,
        margin=float(margin), min_n=MIN_SEEDS_T, note=note, discrete=discrete,
        between_variants=between_variants, values=tuple(float(v) for v in d),
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
    min_effect: float | None = None,
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
    Then a one-sample test across seeds on those per-seed statistics
    (`one_sample_t`: the t-test, or the exact sign-flip test when the per-seed
    statistics tie -- Kendall taus often do -- or are all equal):
    H0: E[trend] = 0; H1 (the claim): E[trend] > 0 ("greater": increases) or
    < 0 ("less": decreases). The per-seed fits only summarise each seed; epochs
    within a seed are NOT treated as independent. `min_effect` (per epoch, or
    in tau) is the pre-registered smallest trend of interest (see
    `one_sample_t`). effect = mean per-seed slope (per epoch) or mean tau,
    with 95% t CI.
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
    return one_sample_t(
        per_seed, hypothesis=hypothesis, statement=statement, alternative=alternative,
        min_effect=min_effect, unit=eff_unit, test=f"{what} vs epoch, across seeds",
    )


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
        # The ufuncs behind stats.chi2.ppf and stats.norm.cdf, called directly: the same numbers, without
        # the distribution objects' per-call argument checks (quad calls this thousands of times).
        s = math.sqrt(2.0 * float(special.gammaincinv(df / 2, u)) / df)
        hi = rn * (margin_z - delta_z) - c * s
        lo = -rn * (margin_z + delta_z) + c * s
        return max(float(special.ndtr(hi) - special.ndtr(lo)), 0.0)

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


def _sign_flip_min_n(level: float) -> int:
    """The smallest n whose sign-flip p floor 2^-n is below `level`."""
    return math.floor(math.log2(1 / level)) + 1


def _seeds_needed(r: Result, level: float) -> tuple[int | None, str | None]:
    """(n, "support" | "refute") at the observed effect; see `Verdict`."""
    if r.sd is None or not r.sd > 0:
        return None, None
    lo = max(r.min_n, _sign_flip_min_n(level)) if r.discrete else r.min_n
    if r.kind == "equivalence":
        if r.margin is None:
            return None, None
        if abs(r.effect) < r.margin:
            return seeds_needed_tost(r.effect / r.sd, r.margin / r.sd, level, min_n=lo), "support"
        return seeds_needed_t((abs(r.effect) - r.margin) / r.sd, level, min_n=lo), "refute"
    toward = (1.0 if r.alternative == "greater" else -1.0) * r.effect  # observed effect in the claimed direction
    ways = [(seeds_needed_t(toward / r.sd, level, min_n=lo), "support"),
            (seeds_needed_t(((r.min_effect or 0.0) - toward) / r.sd, level, min_n=lo), "refute")]
    found = [(n, way) for n, way in ways if n is not None]
    return min(found, key=lambda w: w[0]) if found else (None, None)


def _refuted_because(r: Result, direction_adjusted: float, alpha: float) -> str:
    if r.kind == "equivalence":
        return f"difference outside the margin ±{r.margin:g}"
    if r.min_effect is None or direction_adjusted < alpha:
        return "opposite direction"
    unit = f" {r.unit}" if r.unit else ""
    return f"claimed effect ({'>=' if r.alternative == 'greater' else '<='} " \
           f"{r.min_effect if r.alternative == 'greater' else -r.min_effect:+g}{unit}) excluded"


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
    Bonferroni level alpha/m (see `Verdict`). A REFUTED hypothesis with a
    `min_effect` is labelled "opposite direction" only if its
    `p_opposite_direction`, Holm-adjusted over the family's opposite-direction
    p-values, is also below alpha; else "claimed effect excluded".
    """
    results = list(results)
    if not results:
        return []
    m = len(results)
    p_adj = holm_adjust([r.p_value for r in results])
    q_adj = holm_adjust([r.p_opposite for r in results])
    direction_adj = holm_adjust([r.p_opposite if r.p_opposite_direction is None else r.p_opposite_direction
                                 for r in results])
    out = []
    for r, p, q, qd in zip(results, p_adj, q_adj, direction_adj):
        if p < alpha:
            out.append(Verdict(r, float(p), float(q), SUPPORTED, None))
        elif q < alpha:
            out.append(Verdict(r, float(p), float(q), REFUTED, None, refuted_because=_refuted_because(r, qd, alpha)))
        else:
            needed, settles = _seeds_needed(r, alpha / m)
            out.append(Verdict(r, float(p), float(q), INCONCLUSIVE, needed, settles=settles))
    return out


@dataclass(frozen=True)
class Decided:
    """One claim's verdicts: `primary` decide it, `secondary` are shown beside it."""

    primary: list[Verdict]
    secondary: list[Verdict]

    def all(self) -> list[Verdict]:
        return [*self.primary, *self.secondary]


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


def mean_band(values: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Mean over axis 0 (seeds) of every column (e.g. epoch), and the two-sided CONFIDENCE t-interval of it.

    mean +- t_{n-1, (1+CONFIDENCE)/2} * sd / sqrt(n): `one_sample_t`'s interval, for a whole curve at once.
    Returns (mean, low, high); low and high are None with a single seed, where
    the interval does not exist. NaN (a missing epoch) propagates, so a plotted
    line has a gap instead of a made-up value.
    """
    values = np.asarray(values, dtype=float)
    mean = values.mean(axis=0)
    n = values.shape[0]
    if n < 2:
        return mean, None, None
    half_width = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * stats.sem(values, axis=0)
    return mean, mean - half_width, mean + half_width


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
