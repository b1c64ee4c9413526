"""Paired tests, equivalence, Holm correction and verdicts.

Every claim of the writeup becomes one or more pre-registered hypotheses. Each
hypothesis is decided by one function below, which returns a `Result`: the
effect in the claimed direction with its 95% CI, the p-value FOR the claim
(`p_value`, small = evidence the claim holds) and the p-value AGAINST it
(`p_opposite`, small = evidence the opposite holds). `holm` then corrects the
tier's whole family of hypotheses (Holm-Bonferroni), each direction on its own:
the chance of any false SUPPORTED is <= alpha, and of any false REFUTED <= alpha
(so of a wrong verdict of either kind, <= 2 alpha), except that TOST's REFUTED
side is chosen from the data (`equivalence_tost`: up to alpha more where the
margin is no wider than about a standard error), and turns each `Result` into
a `Verdict`:

    SUPPORTED     p_adjusted < alpha            (significant in the claimed direction)
    REFUTED       p_opposite_adjusted < alpha   (significant the other way, or the claimed effect excluded)
    INCONCLUSIVE  neither; `seeds_needed` says how many seeds would settle it AT THE OBSERVED EFFECT

Design rules:

* The seed is the unit of replication: tests compare two variants *paired by
  seed* (`a[i]` and `b[i]` come from the same seed), so they operate on the
  paired differences `d = a - b`.
* The test is chosen by the KIND of the statistic, which the claim module
  declares when it builds the hypothesis (`discrete=` on `one_sample_t`,
  `paired_t`, `equivalence_tost`; `trend_test` derives it from its statistic),
  never by the data. One rule per kind (`mean_tails`, `equivalence_tails`),
  for a test of the mean of per-seed values x_1..x_n against a value b:

  - continuous (per-seed means over thousands of images or units: accuracies,
    activation summaries, slopes, correlations): the one-sample t-test,
    t = (mean(x) - b) / (s / sqrt(n)), s the sd with ddof = 1, T ~ Student
    t(n - 1) under H0 (`scipy.stats.ttest_1samp`); one-sided p = P(T >= t) or
    P(T <= t). The same test against every b: 0 ("no difference"), a value the
    claim names (popmean), the claimed effect (`min_effect`), an equivalence
    margin. Exact for Gaussian x, conservative for heavy tails. A constant
    sample (s = 0, t = c/0) is refused, p = 1 both ways: a continuous
    statistic that takes one value says nothing about where its mean lies.
  - discrete (values few by construction: integer epochs, counts, Kendall
    taus): against b = 0, the exact sign-flip randomisation test of the values
    (`sign_flip_tails`): under H0 "x symmetric about 0" (what two variants
    exchangeable within a seed imply for d = a - b) each of the 2^n sign
    patterns s of the observed x is equally likely, and
    p = #{s : mean(s x) >= mean(x)} / 2^n (<= for the other tail); exact for
    every symmetric shape, ties and zeros included, and p >= 2^-n. Against
    b != 0, where nothing makes x symmetric about b, `boundary_tails`: the
    larger of the sign-flip p of x - b and a bootstrap-t p, which carries the
    skew of the data; a constant sample is refused (p = 1).

  The t-test's size exceeds alpha on values on a few levels (reports/size-grid.md:
  two-, three- and five-valued shapes) and the sign-flip test cannot go below
  2^-n (8 seeds: 2^-8, above Holm's first step alpha / 41 over the primary
  family), so each kind gets the test that is valid for it AND can decide at
  the tiers' seed counts. Neither holds its size on a skewed continuous shape
  at these n (the grid's gamma rows, in the direction of the short tail;
  every test of a mean shares the limit, Bahadur & Savage 1956): a continuous
  statistic is assumed close to symmetric across seeds. `python -m harness.deciding.size_grid`
  measures every rule over a grid of shapes and n (reports/size-grid.md;
  tests/test_size_grid.py asserts size <= alpha + 3 Monte Carlo s.e. on every
  shape a rule promises, and lists what it does not promise).
* The tests themselves come from `scipy.stats` (t, binomial, Kendall, linear
  regression, permutation tests beyond `EXACT_SIGN_FLIP_MAX_N`, the noncentral
  t for power); this module wires them up, vectorised over samples for the
  size grid. The exceptions: the exact sign-flip count (meet in the middle:
  scipy enumerates the 2^n patterns in Python, seconds per call from n ~ 16;
  checked against it in tests/test_stats.py), the bootstrap-t (scipy's
  `bootstrap` gives intervals, not a studentised p) and Holm's step-down
  adjustment, which scipy does not provide (`scipy.stats.false_discovery_control`
  is Benjamini-Hochberg / -Yekutieli, which controls the FDR, not the FWER).
* Inputs with NaN or inf raise `ValueError`: a missing number must never be
  silently dropped from a claim's evidence.
* A superiority hypothesis with no smallest effect of interest can never be
  REFUTED by a true zero effect. Where the writeup implies a size, the caller
  pre-registers `min_effect`; `p_opposite` then tests "effect < min_effect"
  (in the claimed direction's units), and `Verdict.refuted_because` says
  whether the refutation is "opposite direction" or "claimed effect excluded".
"""

from __future__ import annotations

import functools
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

MIN_SEEDS_T = 3  # every test of a mean: n-1 >= 2 degrees of freedom for its t (test, CI, bootstrap-t)

# The exact sign-flip test enumerates all 2^n sign patterns up to this n (meet in the middle: two halves of
# at most 2^15 patterns each), and draws SIGN_FLIP_RESAMPLES random patterns from a fixed seed beyond it.
EXACT_SIGN_FLIP_MAX_N = 30
SIGN_FLIP_RESAMPLES = 99_999
SIGN_FLIP_SEED = 0
SIGN_FLIP_TOL = 1e-9  # means of x / max|x| closer than this are ties
# The bootstrap-t of the discrete kind's boundary tests: resamples drawn once per n from a fixed seed, so a
# p-value is a function of the data alone (the data are sorted first: the same seeds in another order give
# the same p).
BOOTSTRAP_RESAMPLES = 9_999
BOOTSTRAP_SEED = 0
# Values equal up to this fraction of their largest magnitude are constant: differences of accuracies
# on one test set are equal only up to float rounding.
CONSTANT_RTOL = 1e-12

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
    * `min_n` -- the smallest n the test accepts (3); floors `seeds_needed`
      (a discrete statistic's further by `fewest_seeds`).
    * `note` -- how degenerate data was decided, which CI method was used, etc.
    * `min_effect` -- the pre-registered smallest effect of interest (positive,
      in the claimed direction's units), or None. When set, `p_opposite` is the
      p of "effect < min_effect" and `p_opposite_direction` keeps the p of the
      opposite direction against no effect.
    * `p_opposite_direction` -- see `min_effect`; None without it (then
      `p_opposite` is that p).
    * `discrete` -- the statistic's kind, declared by the claim module before
      any data (the module docstring): True, the p-values come from exact sign
      flips (p >= 2^-n) or the boundary test; False, from the t-test.
    * `between_variants` -- the hypothesis compares the baseline with the
      dropout model (set by the caller); the A/A check runs exactly these.
    * `values` -- the per-unit values the test averages, in seed order (minus
      `popmean`, so that `effect` is their mean): what the sequential mode
      (`--seeds auto`, harness/deciding/until_decided.py) feeds its e-processes. Empty
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
    * For a discrete statistic (sign flips, the boundary test) the t-based
      number is an approximation, and n is floored at `fewest_seeds(alpha/m)`,
      below which no sign pattern can reach significance.

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


def _rows(samples: Any) -> np.ndarray:
    """Samples as the rows of a 2-D array (a 1-D sample is one row); NaN or inf raise ValueError."""
    rows = np.asarray(samples, dtype=float)
    if rows.ndim == 1:
        rows = rows[None, :]
    if rows.ndim != 2:
        raise ValueError(f"samples must be 1-D or (samples, n), got shape {rows.shape}")
    if not np.all(np.isfinite(rows)):
        raise ValueError("samples contain NaN or inf")
    return rows


def constant_rows(samples: Any) -> np.ndarray:
    """Per row: every value equal up to `CONSTANT_RTOL` of the row's largest magnitude (a row of zeros too)."""
    rows = _rows(samples)
    return np.ptp(rows, axis=1) <= CONSTANT_RTOL * np.max(np.abs(rows), axis=1)


def _blocks(count: int, size: int) -> list[slice]:
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


# --------------------------------------------------------------------------- p-values of a mean, per kind


def t_tails(samples: Any, boundary: float) -> tuple[np.ndarray, np.ndarray]:
    """The continuous kind: one-sample t-test p-values of the mean against `boundary`, per row: (greater, less).

    t = (mean - boundary) / (s / sqrt(n)), one-sided tails of Student t(n - 1)
    (`scipy.stats.ttest_1samp`). A constant row gives p = 1 both ways (see the
    module docstring: refused, where t = c/0 would claim p = 0 at any n).
    """
    rows = _rows(samples)
    count, n = rows.shape
    require_n(n, MIN_SEEDS_T, "t-test")
    spread = ~constant_rows(rows)
    greater, less = np.ones(count), np.ones(count)
    if spread.any():
        t = stats.ttest_1samp(rows[spread], boundary, axis=1).statistic
        greater[spread], less[spread] = stats.t.sf(t, n - 1), stats.t.cdf(t, n - 1)
    return greater, less


@functools.cache
def _sign_patterns(k: int) -> np.ndarray:
    """(2^k, k): row j holds the signs (+1 for a 0 bit, -1 for a 1 bit) of the k bits of j."""
    patterns = (1 - 2 * ((np.arange(2**k)[:, None] >> np.arange(k)) & 1)).astype(float)
    patterns.flags.writeable = False
    return patterns


def _exact_sign_flip_tails(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fractions of the 2^n sign patterns of each row of z (|z| <= 1) whose sum is >= / <= the row's own sum.

    Meet in the middle: a pattern's sum is a + b, a over the first h = n // 2
    columns (2^h patterns), b over the rest (2^(n-h)). With the b sorted, the
    patterns with a + b >= s (s: the observed sum) number sum_a #{b >= s - a},
    one binary search per a: O(2^(n/2) n) per row instead of O(2^n n), the same
    count as listing every pattern (tests/test_stats.py checks it against
    `scipy.stats.permutation_test`). Sums within n * `SIGN_FLIP_TOL` of s count
    as ties (flips equal in exact arithmetic, apart in floating point).
    """
    rows, n = z.shape
    h = n // 2
    first = z[:, :h] @ _sign_patterns(h).T
    second = np.sort(z[:, h:] @ _sign_patterns(n - h).T, axis=1)
    observed = z.sum(axis=1)[:, None]
    tol = n * SIGN_FLIP_TOL
    # One binary search for all rows: row r's sums shifted by r * spacing (every sum lies in [-n, n]) stay
    # apart and sorted as one array; a query's position minus its row's start counts within its row.
    spacing = (4.0 * n + 1.0) * np.arange(rows)[:, None]
    merged = (second + spacing).ravel()
    start = second.shape[1] * np.arange(rows)[:, None]

    def positions(targets: np.ndarray, side: str) -> np.ndarray:
        return np.searchsorted(merged, (targets + spacing).ravel(), side=side).reshape(rows, -1) - start

    at_least = first.shape[1] * second.shape[1] - positions(observed - tol - first, "left").sum(axis=1)
    at_most = positions(observed + tol - first, "right").sum(axis=1)
    return at_least / 2.0**n, at_most / 2.0**n


def _monte_carlo_sign_flip_tails(z: np.ndarray) -> tuple[float, float]:
    """`scipy.stats.permutation_test` with `SIGN_FLIP_RESAMPLES` random sign patterns (seed `SIGN_FLIP_SEED`).

    One call gives the null distribution; both tails are read from it as scipy
    reads its own: p = (1 + #{flipped mean at least as extreme}) / (resamples + 1).
    """
    def statistic(w: np.ndarray, axis: int) -> np.ndarray:
        return np.round(np.mean(w, axis=axis), 10)

    result = stats.permutation_test(
        (z,), statistic, permutation_type="samples", vectorized=True, alternative="greater",
        n_resamples=SIGN_FLIP_RESAMPLES, rng=np.random.default_rng(SIGN_FLIP_SEED),
    )
    observed, null = float(statistic(z, 0)), result.null_distribution
    return float(result.pvalue), float((1 + np.count_nonzero(null <= observed)) / (null.size + 1))


def sign_flip_tails(samples: Any) -> tuple[np.ndarray, np.ndarray]:
    """The discrete kind against 0: sign-flip (randomisation) p-values of the mean, per row: (greater, less).

    H0: the values are symmetric about 0, so each of the 2^n sign patterns of
    the observed values is equally likely. p_greater = the fraction of patterns
    whose mean is >= the observed mean (the observed pattern included), p_less
    the fraction <=. Exact under H0 whatever the values -- tied, zero, on two
    levels or on twenty -- so its size is <= alpha at every n; the price is
    p >= 2^-n (n = 3: 0.125; n = 8: 0.0039; n = 10: 0.00098), the most n seeds
    can show (`fewest_seeds`). Every pattern is counted up to
    n = `EXACT_SIGN_FLIP_MAX_N` (`_exact_sign_flip_tails`); beyond, where 2^-n is
    far below any level in use, `SIGN_FLIP_RESAMPLES` random patterns from a
    fixed seed (p >= 1/(resamples + 1), valid as a Monte Carlo randomisation
    test). Means are compared on x / max|x|. A row of zeros gives p = 1 both ways.
    """
    rows = _rows(samples)
    count, n = rows.shape
    scale = np.max(np.abs(rows), axis=1)
    zero = scale == 0
    z = rows / np.where(zero, 1.0, scale)[:, None]
    greater, less = np.ones(count), np.ones(count)
    if n <= EXACT_SIGN_FLIP_MAX_N:
        per_block = max(1, 2**22 // 2 ** (n - n // 2))  # bounds the (rows, 2^(n/2)) arrays to ~32 MB
        for block in _blocks(count, per_block):
            greater[block], less[block] = _exact_sign_flip_tails(z[block])
    else:
        for i in range(count):
            greater[i], less[i] = _monte_carlo_sign_flip_tails(z[i])
    return np.where(zero, 1.0, greater), np.where(zero, 1.0, less)


def sign_flip_p(x: Any, alternative: str) -> float:
    """One-sided sign-flip p-value of mean(x) against 0 for one sample (see `sign_flip_tails`)."""
    _check_alternative(alternative)
    greater, less = sign_flip_tails(_vector(x, "x"))
    return float(greater[0] if alternative == "greater" else less[0])


def fewest_seeds(level: float) -> int:
    """The fewest seeds n whose smallest sign-flip p, 2^-n, is below `level`.

    No test that is exact for every symmetric distribution can do better: given
    the magnitudes |x_i| (complete for that family) the only randomness left is
    the 2^n equally likely sign patterns. Holm over a family of m hypotheses
    rejects nothing unless its smallest p is below alpha / m, so a discrete
    hypothesis needs at least fewest_seeds(alpha / m) seeds to be rejected at
    Holm's first step (later steps are less strict).
    """
    return math.floor(math.log2(1 / level)) + 1


@functools.cache
def _bootstrap_weights(n: int) -> np.ndarray:
    """(BOOTSTRAP_RESAMPLES, n): resample counts / n, multinomial(n, 1/n each), drawn once from the fixed seed."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=BOOTSTRAP_RESAMPLES) / n
    weights.flags.writeable = False
    return weights


def bootstrap_t_tails(samples: Any) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap-t p-values of the mean against 0, per row: (greater, less); 1 for a constant row.

    t = mean / (s / sqrt(n)) (s with ddof=1). Its null distribution is
    estimated by resampling the row with replacement: T* = (mean* - mean) /
    (s* / sqrt(n)) over `BOOTSTRAP_RESAMPLES` resamples (Efron & Tibshirani
    1993, ch. 12; second-order accurate where the t-test is first-order: it
    carries the data's skewness, Hall 1988). p_less = (1 + #{T* <= t}) / (B + 1),
    p_greater with >=. A resample of one repeated value has s* = 0: T* = +-inf
    by the sign of mean* - mean (0 if equal), which is what makes the test see
    skewed discrete data: with d in {0, 3} at (2/3, 1/3), the resamples that
    miss the rare 3 are exactly the samples a symmetric test would wrongly call
    significant. Resamples are drawn once per n from `BOOTSTRAP_SEED` and the
    row is sorted first, so p depends on the values alone, not on their order.
    Near-ties within 1e-9 |t| count as at least as extreme (conservative).
    """
    rows = np.sort(_rows(samples), axis=1)
    count, n = rows.shape
    require_n(n, MIN_SEEDS_T, "bootstrap-t")
    mean = rows.mean(axis=1)
    deviations = rows - mean[:, None]
    variance = (deviations**2).sum(axis=1) / (n - 1)
    constant = constant_rows(rows)
    t_observed = np.where(constant, 0.0, mean / np.sqrt(np.where(constant, 1.0, variance) / n))
    weights = _bootstrap_weights(n)
    at_least, at_most = np.ones(count), np.ones(count)
    for block in _blocks(count, 64):
        dev = deviations[block]
        spread = np.sqrt(np.where(constant[block], 1.0, variance[block]))
        shift = weights @ dev.T  # (B, rows): mean* - mean
        resampled_variance = np.maximum(weights @ (dev**2).T - shift**2, 0.0) * n / (n - 1)
        one_value = resampled_variance <= (1e-9 * spread) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = shift / np.sqrt(resampled_variance / n)
        signed_infinity = np.where(shift > 0, np.inf, -np.inf)
        t_star = np.where(one_value, np.where(np.abs(shift) <= 1e-9 * spread, 0.0, signed_infinity), t_star)
        t = t_observed[block]
        slack = 1e-9 * np.maximum(1.0, np.abs(t))
        at_least[block] += np.count_nonzero(t_star >= t - slack, axis=0)
        at_most[block] += np.count_nonzero(t_star <= t + slack, axis=0)
    resamples = BOOTSTRAP_RESAMPLES + 1
    return np.where(constant, 1.0, at_least / resamples), np.where(constant, 1.0, at_most / resamples)


def boundary_tails(samples: Any, boundary: float) -> tuple[np.ndarray, np.ndarray]:
    """The discrete kind against b != 0: p per row of "the mean is above b" (greater) and "below it" (less).

    For nulls that do not make the values symmetric: E[x] = b where b is a
    smallest effect of interest, an equivalence margin or a constant the claim
    names. Symmetry about such a boundary has no reason to hold: with d in
    {0, 0.003} at (2/3, 1/3) the mean is 0.001, yet most samples lie below it
    and the sign-flip test about 0.001 alone rejects far more often than alpha
    (reports/size-grid.md, "skewed two-point"; tests/test_stats.py). Each
    tail's p is the LARGER of
      * the sign-flip p of x - b (`sign_flip_tails`): exact when x is
        symmetric about b, any shape; and
      * the bootstrap-t p (`bootstrap_t_tails`): it estimates the skewed
        sampling distribution from the data, and on skewed discrete values it
        is what keeps the size.
    The larger of two p-values is a valid p-value whenever either one is, so
    the test keeps its size under symmetry exactly and under skew as far as the
    bootstrap-t does (reports/size-grid.md measures both). A constant row gives
    p = 1 both ways (refused): n equal values are as consistent with a mean at
    the boundary, reached through a rare value that did not show, as with any
    other mean (Bahadur & Savage 1956: no test of a mean holds its size over
    every distribution).
    """
    rows = _rows(samples)
    shifted = rows - boundary
    flip_greater, flip_less = sign_flip_tails(shifted)
    boot_greater, boot_less = bootstrap_t_tails(shifted)
    constant = constant_rows(rows)
    return (np.where(constant, 1.0, np.maximum(flip_greater, boot_greater)),
            np.where(constant, 1.0, np.maximum(flip_less, boot_less)))


def mean_tails(samples: Any, boundary: float, *, discrete: bool) -> tuple[np.ndarray, np.ndarray]:
    """The one rule per kind for "the mean is above / below `boundary`", per row: (greater, less).

    continuous: `t_tails` against any boundary. discrete: `sign_flip_tails`
    against 0 ("no difference": symmetry), `boundary_tails` against any other
    boundary. The module docstring gives the maths.
    """
    if not discrete:
        return t_tails(samples, boundary)
    if boundary == 0.0:
        return sign_flip_tails(samples)
    return boundary_tails(samples, boundary)


def equivalence_tails(samples: Any, margin: float, *, discrete: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: (p of |mean| < margin, p of mean > +margin, p of mean < -margin), by `mean_tails` of the kind.

    TOST: equivalence is shown when both "mean > -margin" and "mean < +margin"
    reject, so its p is the larger of the two one-sided p-values.
    """
    above_lower, below_lower = mean_tails(samples, -margin, discrete=discrete)
    above_upper, below_upper = mean_tails(samples, margin, discrete=discrete)
    return np.maximum(above_lower, below_upper), above_upper, below_lower


def _method(n: int, discrete: bool, boundary: float) -> str:
    """How `mean_tails` decides a test against `boundary`, in words."""
    if not discrete:
        return "t-test (declared continuous)"
    flips = ("all 2^n sign flips" if n <= EXACT_SIGN_FLIP_MAX_N
             else f"{SIGN_FLIP_RESAMPLES} random sign flips, seed {SIGN_FLIP_SEED}")
    if boundary == 0.0:
        return f"exact sign-flip randomisation test (declared discrete; {flips})"
    return (f"boundary test (declared discrete): the larger p of sign flips about it ({flips}) and a bootstrap-t "
            f"({BOOTSTRAP_RESAMPLES} resamples, seed {BOOTSTRAP_SEED})")


def _check_min_effect(min_effect: float | None) -> None:
    if min_effect is not None and not (math.isfinite(min_effect) and min_effect > 0):
        raise ValueError(
            f"min_effect must be a positive finite number (the smallest effect of interest, in the claimed "
            f"direction's units), got {min_effect!r}; pass None for no smallest effect"
        )


def _t_interval(x: np.ndarray, shift: float) -> tuple[float, float, float]:
    """(sd, CI low, CI high): the two-sided `CONFIDENCE` t interval of mean(x) - shift; [c, c] if constant."""
    if constant_rows(x)[0]:
        centre = float(np.mean(x)) - shift
        return 0.0, centre, centre
    ci = stats.ttest_1samp(x - shift, 0.0).confidence_interval(CONFIDENCE)
    return float(np.std(x, ddof=1)), float(ci.low), float(ci.high)


def _constant_note(x: np.ndarray, discrete: bool, popmean: float, min_effect: float | None) -> str:
    """What a constant sample gets: refused (p = 1) except by sign flips against 0 (discrete kind)."""
    n = x.shape[0]
    what = f"zero variance: all {n} values equal {float(np.mean(x)):.6g}; CI = [c, c]"
    if not discrete:
        return what + "; a continuous statistic with one value cannot locate its mean: refused, p = 1 both ways"
    if popmean != 0.0:
        return what + "; a constant sample cannot locate a mean against a boundary: refused, p = 1 both ways"
    return what + f"; sign flips (p >= 2^-{n} = {0.5**n:.3g})" + (
        "; p_opposite against the claimed effect refused (p = 1)" if min_effect is not None else "")


def one_sample_t(
    d: Any,
    *,
    hypothesis: str,
    statement: str,
    discrete: bool,
    alternative: str = "greater",
    popmean: float = 0.0,
    min_effect: float | None = None,
    unit: str = "",
    test: str | None = None,
    between_variants: bool = False,
) -> Result:
    """One-sided test of the mean of per-unit values `d` (paired differences, slopes, ...) against `popmean`.

    H0: E[d] = popmean (one-sided: E[d] <= popmean for "greater").
    H1 (the claim): E[d] > popmean ("greater") or E[d] < popmean ("less").
    `test` names what `d` is (e.g. "paired differences"); the method is appended.
    `discrete` is the statistic's pre-registered kind (the module docstring):
    False -- the t-test; True -- exact sign flips against 0, the boundary test
    (sign flips and bootstrap-t, the larger p) against popmean != 0.

    p_opposite: the same test in the other direction -- or, with a pre-registered
    `min_effect` (> 0, the smallest effect of interest in the claimed direction's
    units), the test of the kind against popmean + min_effect ("greater"; popmean -
    min_effect for "less"): small p_opposite then means "the claimed effect is
    excluded", which a true zero effect eventually shows. The p of the opposite
    direction against popmean is kept in `p_opposite_direction`.

    effect = mean(d) - popmean, with the two-sided 95% t CI (for display; the
    decision is the test above); for constant data the CI is [c, c].
    """
    _check_alternative(alternative)
    _check_min_effect(min_effect)
    x = _vector(d, "d")
    n = int(x.shape[0])
    require_n(n, MIN_SEEDS_T, f"{hypothesis}: test of a mean")
    if test is None:
        test = "values" if popmean == 0.0 else f"values vs {popmean:g}"
    sign = 1.0 if alternative == "greater" else -1.0
    effect = float(np.mean(x - popmean))
    sd, ci_low, ci_high = _t_interval(x, popmean)
    greater, less = mean_tails(x, popmean, discrete=discrete)
    p, p_dir = (float(greater[0]), float(less[0])) if sign > 0 else (float(less[0]), float(greater[0]))
    if sd == 0.0:
        note = _constant_note(x, discrete, popmean, min_effect)
    elif discrete:
        note = f"p >= 2^-{n} = {0.5**n:.3g}; CI: t interval, df = {n - 1}"
    else:
        note = f"t = {effect / (sd / math.sqrt(n)):.4g}, df = {n - 1}"
    p_opp = p_dir
    if min_effect is not None:
        bound = popmean + sign * min_effect
        above, below = mean_tails(x, bound, discrete=discrete)
        p_opp = float(below[0] if sign > 0 else above[0])
        note += (f"; p_opposite tests the claimed effect ({'>=' if sign > 0 else '<='} {bound - popmean:+g}) "
                 f"against the data: {_method(n, discrete, bound)}")
    return Result(
        hypothesis, statement, f"{test}: {_method(n, discrete, popmean)}, one-sided", n, effect, ci_low, ci_high,
        p, p_opp, unit,
        alternative=alternative, sd=sd, min_n=MIN_SEEDS_T, note=note,
        min_effect=None if min_effect is None else float(min_effect),
        p_opposite_direction=None if min_effect is None else p_dir,
        discrete=discrete, between_variants=between_variants, values=tuple(float(v) for v in x - popmean),
    )


def paired_t(
    a: Any,
    b: Any,
    *,
    hypothesis: str,
    statement: str,
    discrete: bool,
    alternative: str = "greater",
    min_effect: float | None = None,
    unit: str = "",
    between_variants: bool = False,
) -> Result:
    """Paired test of `a` against `b`, paired by seed (index i = seed i): `one_sample_t` on d = a - b.

    H0: E[d] = 0. H1 (the claim): E[d] > 0 ("greater": a > b) or E[d] < 0
    ("less": a < b). Continuous kind: t = mean(d) / (sd(d)/sqrt(n)) ~ t(n-1)
    under H0 -- identical to `scipy.stats.ttest_rel(a, b)`. Discrete kind: the
    exact sign-flip test of d (two variants exchangeable within a seed make d
    symmetric about 0 under H0). effect = mean(a - b) (sign as computed), 95%
    two-sided t CI. See `one_sample_t` for `min_effect`. `between_variants=True`
    marks a comparison of the baseline with the dropout model (what the A/A
    check must never find).
    """
    return one_sample_t(
        _paired(a, b), hypothesis=hypothesis, statement=statement, discrete=discrete,
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
    discrete: bool,
    unit: str = "",
    between_variants: bool = False,
) -> Result:
    """Paired TOST (two one-sided tests) equivalence test on d = a - b.

    H0: |E[d]| >= margin. H1 (the claim "a and b are similar"): |E[d]| < margin.
    The two one-sided tests, each a test of the mean at a boundary by the rule
    of the statistic's declared kind (`mean_tails`):
        p_lower: H0 E[d] <= -margin vs E[d] > -margin
        p_upper: H0 E[d] >= +margin vs E[d] < +margin
    p_value = max(p_lower, p_upper) (`equivalence_tails`): reject H0 iff both
    reject. Continuous kind: the paired t TOST (equivalently, the 90% t CI
    inside (-margin, margin)). Discrete kind: each side the boundary test (the
    larger p of sign flips about the margin and a bootstrap-t), so that neither
    symmetry about the margin nor a skewed, discrete d can make it over-claim
    equivalence. Constant differences give p = 1 both ways (refused): n equal
    values cannot show where the mean of a distribution with rare other values lies.

    p_opposite -- evidence that the difference lies OUTSIDE the margin: the
    one-sided p of E[d] > +margin or of E[d] < -margin, on whichever side the
    estimate lies. REFUTED at alpha thus means the difference is significantly
    beyond the margin.

    effect = mean(d) with its 95% two-sided t CI (for display; [c, c] for
    constant data). kind = "equivalence". `between_variants=True` marks a
    comparison of the baseline with the dropout model.
    """
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"margin must be a positive finite number, got {margin!r}")
    d = _paired(a, b)
    n = int(d.shape[0])
    require_n(n, MIN_SEEDS_T, f"{hypothesis}: TOST equivalence test")
    mean = float(np.mean(d))
    sd, ci_low, ci_high = _t_interval(d, 0.0)
    equivalent, above, below = (float(p[0]) for p in equivalence_tails(d, margin, discrete=discrete))
    # Against the claim: the side the estimate falls on. Choosing the side from the data adds, at a true mean on
    # one edge of the margin, the chance that the far side rejects as well: at most the one-sided tail beyond
    # 2 margin / se, small where the margin is several standard errors wide and up to alpha more where it is not.
    note = (f"zero variance: all {n} paired differences equal {mean:+.6g}; a constant sample cannot locate a "
            "mean: p = 1 both ways" if sd == 0.0 else f"CI: t interval, df = {n - 1}")
    return Result(
        hypothesis, statement,
        f"TOST equivalence, margin ±{margin:g} (each side: {_method(n, discrete, margin)})", n, mean,
        ci_low, ci_high, equivalent, above if mean >= 0 else below, unit,
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
    (`one_sample_t`), whose kind the statistic fixes: a slope is continuous
    (the t-test); a Kendall tau over E epochs takes at most E(E-1)/2 + 1
    values by construction, so it is discrete (exact sign flips against 0):
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
        per_seed, hypothesis=hypothesis, statement=statement, discrete=statistic == "kendall",
        alternative=alternative, min_effect=min_effect, unit=eff_unit, test=f"{what} vs epoch, across seeds",
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


def _seeds_needed(r: Result, level: float) -> tuple[int | None, str | None]:
    """(n, "support" | "refute") at the observed effect; see `Verdict`."""
    if r.sd is None or not r.sd > 0:
        return None, None
    lo = max(r.min_n, fewest_seeds(level)) if r.discrete else r.min_n
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
    sd = 0.0 if constant_rows(x)[0] else float(np.std(x, ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd * math.sqrt(1 + 1 / n)
    return mean - half, mean + half
