"""Seeds until decided: anytime-valid e-processes, confidence sequences and decisions that stand.

A fixed-n test rerun after every added seed is not valid: stopping at the
first p < alpha inflates the false-positive rate (optional stopping; the
simulation in `sequential_cost` shows by how much). This module decides each
pre-registered hypothesis with an *e-process* instead: a non-negative process
E_n that, whatever the true null distribution, satisfies Ville's inequality

    P(sup_n E_n >= 1/a) <= a.

The bound is on the whole path, so a decision "E_n >= 1/a at some monitored
n" keeps its error rate <= a under ANY stopping rule, including rules that
look at the other hypotheses or at the clock. Every function here is pure;
`monitor` is what a sequential driver calls after each batch of seeds.

Data and notation
-----------------
Per hypothesis, x_1, x_2, ... are the per-seed values whose mean is the effect
(paired differences a - b, or values minus a reference), i.i.d. across seeds.
After n seeds: mean m_n, sd s_n (ddof 1), t_n = m_n sqrt(n) / s_n, nu = n - 1.
"Claimed direction" units: y = x for a claim "effect > 0", y = -x for "< 0".

The t e-process (continuous data; model x ~ N(mu, sigma^2), sigma unknown)
-----------------------------------------------------------------------
The scale-invariant Gaussian-mixture Bayes factor (Lai 1976; Wang & Ramdas
2023; Perez-Ortiz, Lardy, de Heide & Grunwald 2024): a right-Haar prior
d sigma / sigma on the scale, a prior pi on the standardised effect
delta = mu / sigma, null delta = 0. With prior delta ~ N(0, g), integrating
delta then sigma (x | sigma ~ N(0, sigma^2 (I + g 1 1')), det = 1 + n g,
quadratic form S - g n^2 m^2 / (1 + n g) with S = sum x_i^2 = s^2 (nu + t^2)):

    E_n(g) = (1 + n g)^(-1/2) [(1 + t_n^2/nu) / (1 + t_n^2/(nu (1 + n g)))]^(n/2).   (two-sided)

The exponent is n/2, not nu/2: both likelihoods carry sigma^-n and the Haar
integral of sigma^-(n+1) exp(-Q / (2 sigma^2)) is proportional to Q^(-n/2).
tests/test_sequential.py checks this three ways: the formula equals the
definitional double integral over (delta, sigma); its null expectation
(an integral against Student t(nu)) is exactly 1 with n/2, and clearly below 1
with nu/2 (still valid, being smaller, but it throws evidence away); and the
simulated running maximum crosses 1/alpha at most alpha of the time.

Why it is an e-process: E_n depends on the data only through t_n, and it is the
likelihood ratio of the maximal invariant under scaling (the direction of
(x_1, ..., x_n), whose law depends on delta only, through t_n ~ noncentral
t(nu, delta sqrt(n))), mixed over pi. So under delta = 0 it is a martingale
with E_1 = 1 in the filtration of these invariants, for every sigma (Wijsman's
representation theorem, as used by Perez-Ortiz et al. 2024), and Ville applies.

One-sided (the claim "effect > 0"): the half-normal prior 2 N(0, g) on
delta > 0. Integrating delta first gives 2 x (two-sided integrand) x
Phi(n m / (sigma sqrt(n + 1/g))); the sigma integral of Phi(b / sigma) against
sigma^-(n+1) exp(-Q/(2 sigma^2)) is a Student t CDF with n degrees of freedom:

    E+_n(g) = 2 E_n(g) F_{t,n}( t_n n sqrt(g) / sqrt(nu (1 + n g) + t_n^2) ).

It is again a mixture of likelihood ratios (a martingale under delta = 0), and
it increases with t_n (each noncentral t likelihood ratio with delta > 0 does:
monotone likelihood ratio). That settles the COMPOSITE null "effect <= 0": for
a true mean mu <= 0, the t statistic of x - mu is at least t_n, so
E+_n(x) <= E+_n(x - mu), which is a martingale under the truth; Ville on the
latter bounds the crossing probability of the former by a. (The two-sided
E_n with the sign condition t_n > 0 would be valid by the same argument; the
one-sided mixture is up to twice as large, so it decides sooner.)

Prior scale (pre-registered here, before any `--seeds auto` run): g = 1,
delta ~ N(0, 1), the conventional unit-information scale; `PRIOR_SCALES` is a
tuple because an equal-weight mixture over several g is also an e-process (a
mixture of martingales on one filtration; it loses at most log(#scales) against
its best component), which `Hypothesis.scales` may pre-register instead.
Why not wider: a `--seeds auto` run stops when its LAST hypothesis is decided,
so its cost is set by the small effects (about one sd or less), which g = 1
serves. A wider prior decides large effects sooner -- many primary hypotheses
of the committed full-tier references have |effect|/sd above 10 (the cost
table's d column), and with the mixture g in {1, 100} those are decided at
n = 4 instead of 7 (the first n at which sup_t E+_n = 2 (1 + n g)^((n-1)/2)
exceeds 1/alpha', m = 41) -- but its Occam factor (1 + n g)^(-1/2) slows the small ones, and with them the
run. The cost table (`python -m harness.deciding.sequential_cost`) shows both. Validity
does not depend on g; only power does.

The confidence sequence (CS) and its decisions
----------------------------------------------
Testing the shifted data x - mu0 for every mu0 and keeping the mu0 not
rejected gives a CS. E+ increases in t and t(x - mu0) decreases in mu0, so
inverting E+_n(x - mu0) >= 1/a is one root in t, the same for every data set:

    lower_n = m_n - b_n(a) s_n / sqrt(n),   upper_n = m_n + b_n(a) s_n / sqrt(n),

with E+_n(b_n) = 1/a (`t_boundary`; infinite while sup_t E+_n < 1/a). Each
side holds at every n at once with probability >= 1 - a (the true-mean
martingale above), and stays valid when intersected over time (the running
max of lower, min of upper), which is what we report. A two-sided (1 - alpha)
CS takes a = alpha/2 per side.

The sign e-process (discrete data: tied or constant values)
--------------------------------------------------------
Where the fixed-n harness uses the exact sign-flip test (integer epochs,
accuracies on one test set), the t model does not hold. Its anytime-valid
counterpart bets on signs (Waudby-Smith & Ramdas 2024, testing by betting):
under the null "x symmetric about 0", every nonzero sign is a fair coin given
the past, so for any bet lambda in [0, 1) prod_i (1 + lambda sign(x_i)) is a
martingale (a zero is no bet). Mixing lambda uniformly (equivalently
p = (1 + lambda)/2 uniform on (1/2, 1), prior density 2), with k positive and j
negative values:

    E_sign(k, j) = 2^(k+j+1) int_{1/2}^{1} p^k (1-p)^j dp
                 = 2^(k+j+1) B(k+1, j+1) I_{1/2}(j+1, k+1)          (I: regularised incomplete beta)

No tuning, closed form, and increasing in each sign, so by the coupling
argument above it also holds for a centre below 0. Its CS for the centre of
symmetry (the median) is a pair of order statistics: x_(r) <= centre <=
x_(n+1-r), r = #{i < n : E_sign(n - i, i) >= 1/a} (`sign_rank`), again the
same rank for every data set. Decisions use the e-values at the tested points;
the interval is for display. Deciding needs E_sign(n, 0) = (2^(n+1) - 1)/(n + 1)
>= 1/alpha': 13 seeds at alpha' = 0.05/41, against 10 for the fixed-n exact
sign-flip test (2^-n < alpha'), the price of looking after every batch.
The statistic of a hypothesis is pre-registered (`Hypothesis.statistic`):
switching test on the data seen would need both tests' error rates.

Decisions (alpha' = alpha/m, Bonferroni over the family of m hypotheses)
-----------------------------------------------------------------------
Each one-sided side test below has error <= alpha' at its null:

* superiority, claim "effect > 0" (y units; bound = min_effect or 0):
  SUPPORTED when E+(y) >= 1/alpha' (the CS's lower end > 0); REFUTED when
  E+(bound - y) >= 1/alpha' (its upper end < bound): "claimed effect excluded",
  or "opposite direction" when E+(-y) >= 1/alpha' too.
* equivalence, margin D (TOST-like): SUPPORTED when E+(x + D) and E+(D - x)
  have each reached 1/alpha' (the running CS lies inside (-D, D)); REFUTED when
  max(E+(x - D), E+(-D - x)) / 2 >= 1/alpha' ("outside the margin"): the two
  sides share alpha' because for a true mean inside the margin either could
  err, and their mean is dominated by (E+(x - mu) + E+(mu - x))/2, a
  martingale under the truth.

A decision is taken at the first monitored n where its side has reached the
threshold (SUPPORTED first when both hold at once: with a min_effect, an effect
between 0 and min_effect makes both true); it never un-decides, even if the
e-value later falls back. False SUPPORTED over the family: <= sum of m
side errors <= alpha; the same for false REFUTED. As in the fixed-n harness,
the two error types are controlled separately.

Family control: Bonferroni on the e-processes, not e-Holm. e-Holm (Vovk & Wang
2021: closed testing with the arithmetic mean of e-values) needs the mean of
the true nulls' e-processes to be an e-process, i.e. all of them
supermartingales on ONE filtration. These are martingales each in its own
filtration (the scale invariants of its own quantity; the t e-process is not a
martingale given the raw values of the past seeds, since its increment depends
on sigma), so the mean of several has no Ville bound. Bonferroni needs only
each one's own Ville bound and a union bound: valid for any dependence between
hypotheses and any stopping rule, and a decided hypothesis stays decided
(e-Holm's adjusted values can fall when others change).

Validity rests on the model, as for the fixed-n t-test: i.i.d. seeds and
normal per-seed values for the t e-process (the simulations also show it for
symmetric heavy tails, t with 3 df); only symmetry for the sign e-process.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import optimize, special

from harness.deciding.stats import ALPHA, INCONCLUSIVE, REFUTED, SUPPORTED

PRIOR_SCALES: tuple[float, ...] = (1.0,)  # variances g of the standardised effect's prior (see the docstring)
STATISTICS = ("t", "sign")
STATISTIC_WORDS = {"t": "Gaussian-mixture t e-process", "sign": "sign-betting e-process"}
KINDS = ("superiority", "equivalence")

# verdict codes in the vectorised decisions
UNDECIDED, SUPPORT, REFUTE = 0, 1, 2
VERDICTS = {UNDECIDED: INCONCLUSIVE, SUPPORT: SUPPORTED, REFUTE: REFUTED}
# why a REFUTED was refuted
OPPOSITE, EXCLUDED, OUTSIDE = 0, 1, 2


# --------------------------------------------------------------------------- the t e-process


def log_e_t(t: Any, n: Any, g: float) -> np.ndarray:
    """log of the two-sided Gaussian-mixture t e-value E_n(g) (see the module docstring); 0 for n < 2."""
    t, n = np.asarray(t, float), np.asarray(n, float)
    nu = np.maximum(n - 1.0, 1.0)
    a = 1.0 + n * g
    tt = t * t
    out = -0.5 * np.log(a) + 0.5 * n * (np.log1p(tt / nu) - np.log1p(tt / (nu * a)))
    return np.where(n >= 2, out, 0.0)


def log_e_t_greater(t: Any, n: Any, g: float) -> np.ndarray:
    """log of the one-sided (effect > 0, half-normal prior) mixture e-value E+_n(g); 0 for n < 2."""
    t, n = np.asarray(t, float), np.asarray(n, float)
    nu = np.maximum(n - 1.0, 1.0)
    arg = t * n * math.sqrt(g) / np.sqrt(nu * (1.0 + n * g) + t * t)
    with np.errstate(divide="ignore"):  # F -> 0 for a t far below 0: no evidence, log = -inf
        out = math.log(2.0) + log_e_t(t, n, g) + np.log(special.stdtr(n, arg))
    return np.where(n >= 2, out, 0.0)


def log_e_t_mixture(t: Any, n: Any, scales: Sequence[float] = PRIOR_SCALES) -> np.ndarray:
    """log of the equal-weight mixture over prior scales of E+_n(g): the one-sided e-value used to decide."""
    logs = [log_e_t_greater(t, n, g) for g in scales]
    return np.logaddexp.reduce(logs, axis=0) - math.log(len(scales))


@functools.lru_cache(maxsize=4096)
def t_boundary(n: int, threshold: float, scales: tuple[float, ...] = PRIOR_SCALES) -> float:
    """The t at which the one-sided mixture e-value reaches `threshold` after n seeds; inf if it cannot.

    E+ increases in t from E_n(0) < 1 to sum_g 2 (1 + n g)^((n-1)/2) / |scales|;
    the root is found with `scipy.optimize.brentq` to 1e-12.
    """
    if n < 2:
        return math.inf
    log_c = math.log(threshold)
    sup = float(np.logaddexp.reduce([math.log(2.0) + 0.5 * (n - 1) * math.log1p(n * g) for g in scales])
                - math.log(len(scales)))
    if sup <= log_c:
        return math.inf

    def gap(t: float) -> float:
        return float(log_e_t_mixture(t, n, scales)) - log_c

    hi = 1.0
    while gap(hi) < 0:
        hi *= 2.0
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-12, rtol=1e-12))


# --------------------------------------------------------------------------- the sign e-process


def log_e_sign_greater(k: Any, j: Any) -> np.ndarray:
    """log E_sign(k, j): k positive and j negative values, the uniform mixture of sign bets on "centre > 0"."""
    k, j = np.asarray(k, float), np.asarray(j, float)
    with np.errstate(divide="ignore"):  # I -> 0 when the negatives dominate: log = -inf
        return (k + j + 1.0) * math.log(2.0) + special.betaln(k + 1, j + 1) + np.log(special.betainc(j + 1, k + 1, 0.5))


@functools.lru_cache(maxsize=4096)
def sign_rank(n: int, threshold: float) -> int:
    """r: with n values, "centre >= x_(r)" is what the sign e-process at `threshold` can assert (0: nothing)."""
    i = np.arange(n)
    return int(np.count_nonzero(log_e_sign_greater(n - i, i) >= math.log(threshold)))


# --------------------------------------------------------------------------- per checkpoint


def _checkpoints(x: np.ndarray, ns: Any) -> np.ndarray:
    ns = np.asarray(ns, dtype=int)
    if ns.ndim != 1 or ns.size == 0 or ns[0] < 1 or np.any(np.diff(ns) <= 0) or ns[-1] > x.shape[-1]:
        raise ValueError(f"checkpoints must be increasing seed counts in 1..{x.shape[-1]}, got {ns.tolist()}")
    return ns


def prefix_mean_sd(x: Any, ns: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd (ddof 1; nan for n = 1) of x[..., :n] for every checkpoint n in `ns`: shape (..., K).

    Sums are taken about the first value (the sd is shift-invariant), which keeps
    them accurate when the mean is many sds from 0 and makes a prefix's numbers
    the same whatever follows it.
    """
    x = np.asarray(x, float)
    ns = _checkpoints(x, ns)
    centred = x - x[..., :1]
    s1 = np.cumsum(centred, axis=-1)[..., ns - 1]
    s2 = np.cumsum(centred * centred, axis=-1)[..., ns - 1]
    shift = s1 / ns
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.maximum(s2 - ns * shift * shift, 0.0) / (ns - 1)
    return x[..., :1] + shift, np.where(ns >= 2, np.sqrt(var), np.nan)


def _t_statistic(x: np.ndarray, ns: np.ndarray, shift: float) -> np.ndarray:
    """t = (m_n - shift) sqrt(n) / s_n at each checkpoint; NaN where it is undefined: at n = 1, and while the first
    n values are all equal (t = c/0). There the t e-process has no evidence either way (e = 1, no side reached), as
    the fixed-n t-test refuses such a sample (p = 1): a hypothesis whose first seeds tie stays undecided until
    its values spread, instead of stopping the run."""
    mean, sd = prefix_mean_sd(x, ns)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((ns >= 2) & (sd > 0), (mean - shift) * np.sqrt(ns) / sd, np.nan)


def _sign_counts(x: np.ndarray, ns: np.ndarray, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """(#values above shift, #values below shift) among the first n, at each checkpoint."""
    return np.cumsum(x > shift, axis=-1)[..., ns - 1], np.cumsum(x < shift, axis=-1)[..., ns - 1]


def log_e_greater(x: Any, ns: Any, shift: float = 0.0, statistic: str = "t",
                  scales: Sequence[float] = PRIOR_SCALES) -> np.ndarray:
    """log e-value of "centre > shift" after each checkpoint n in `ns`, for x of shape (..., N): shape (..., K).

    statistic "t": log_e_t_mixture of t = (m_n - shift) sqrt(n) / s_n (0 where t is undefined: at n = 1, and
    while the first n values tie);
    "sign": log_e_sign_greater of the counts of x_i above and below `shift`.
    For "centre < shift" pass -x and -shift.
    """
    x = np.asarray(x, float)
    ns = _checkpoints(x, ns)
    if statistic == "t":
        t = _t_statistic(x, ns, shift)
        return np.where(np.isnan(t), 0.0, log_e_t_mixture(np.nan_to_num(t), ns, tuple(scales)))
    if statistic == "sign":
        return log_e_sign_greater(*_sign_counts(x, ns, shift))
    raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")


@functools.lru_cache(maxsize=256)
def _sign_reached_table(n_max: int, threshold: float) -> np.ndarray:
    """[k, j] -> E_sign(k, j) >= threshold, for k, j <= n_max."""
    k = np.arange(n_max + 1)
    return log_e_sign_greater(k[:, None], k[None, :]) >= math.log(threshold)


def reached_greater(x: Any, ns: Any, shift: float, threshold: float, statistic: str = "t",
                    scales: Sequence[float] = PRIOR_SCALES) -> np.ndarray:
    """Whether the e-value of "centre > shift" is >= `threshold` at each checkpoint: bool, shape (..., K).

    The same event as `log_e_greater(...) >= log(threshold)`, computed without
    evaluating e-values: t >= `t_boundary` (E+ increases in t), or a table of
    E_sign over the possible sign counts.
    """
    x = np.asarray(x, float)
    ns = _checkpoints(x, ns)
    if statistic == "t":
        b = np.array([t_boundary(int(n), threshold, tuple(scales)) for n in ns])
        return _t_statistic(x, ns, shift) >= b  # False where t is undefined (NaN)
    if statistic == "sign":
        above, below = _sign_counts(x, ns, shift)
        return _sign_reached_table(int(ns[-1]), threshold)[above, below]
    raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")


def confidence_bounds(x: Any, ns: Any, level: float, statistic: str = "t",
                      scales: Sequence[float] = PRIOR_SCALES) -> tuple[np.ndarray, np.ndarray]:
    """Running anytime-valid bounds (lower, upper) on the centre after each checkpoint: shape (..., K) each.

    Each side fails (at any checkpoint, ever) with probability <= `level`; so
    level = alpha/2 gives a two-sided (1 - alpha) confidence sequence. "t": the
    mean, m_n -+ b_n s_n / sqrt(n) (`t_boundary`); "sign": the median, order
    statistics x_(r), x_(n+1-r) of the first n values (`sign_rank`). Both are
    intersected over the checkpoints (running max of lower, min of upper).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    x = np.asarray(x, float)
    ns = _checkpoints(x, ns)
    if statistic == "t":
        mean, sd = prefix_mean_sd(x, ns)
        b = np.array([t_boundary(int(n), 1.0 / level, tuple(scales)) for n in ns])
        with np.errstate(invalid="ignore"):  # inf * sd, and nan sd at n = 1
            # no bound where t is undefined (n = 1, or no spread yet): the interval says nothing there
            half = np.where(np.isfinite(b) & (sd > 0), b * sd / np.sqrt(ns), np.inf)
        lower, upper = mean - half, mean + half
    elif statistic == "sign":
        lower = np.full(x.shape[:-1] + ns.shape, -np.inf)
        upper = np.full(x.shape[:-1] + ns.shape, np.inf)
        for col, n in enumerate(ns):
            r = sign_rank(int(n), 1.0 / level)
            if r:
                ordered = np.sort(x[..., :n], axis=-1)
                lower[..., col], upper[..., col] = ordered[..., r - 1], ordered[..., n - r]
    else:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    return np.maximum.accumulate(lower, axis=-1), np.minimum.accumulate(upper, axis=-1)


# --------------------------------------------------------------------------- hypotheses and decisions


@dataclass(frozen=True)
class Hypothesis:
    """One pre-registered hypothesis, as the sequential rule decides it.

    `name` identifies it (the fixed-n harness's hypothesis id). kind
    "superiority": the claim is "centre > 0" (alternative "greater") or
    "centre < 0" ("less"), optionally with `min_effect` (> 0, in the claimed
    direction's units) whose exclusion REFUTES it; kind "equivalence": the claim
    is |centre| < `margin` (alternative "within"). `statistic`: "t" (continuous
    values) or "sign" (discrete values: ties, zeros). `scales`: the prior
    scales of the t e-process (PRIOR_SCALES unless pre-registered otherwise).
    """

    name: str
    kind: str = "superiority"
    alternative: str = "greater"
    min_effect: float | None = None
    margin: float | None = None
    statistic: str = "t"
    scales: tuple[float, ...] = PRIOR_SCALES

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.statistic not in STATISTICS:
            raise ValueError(f"{self.name}: statistic must be one of {STATISTICS}, got {self.statistic!r}")
        if not self.scales or not all(math.isfinite(g) and g > 0 for g in self.scales):
            raise ValueError(f"{self.name}: prior scales must be positive and finite, got {self.scales!r}")
        if self.kind == "equivalence":
            if self.alternative != "within" or self.min_effect is not None:
                raise ValueError(f"{self.name}: an equivalence hypothesis has alternative 'within' and no min_effect")
            if self.margin is None or not (math.isfinite(self.margin) and self.margin > 0):
                raise ValueError(f"{self.name}: equivalence needs a positive finite margin, got {self.margin!r}")
        else:
            if self.alternative not in ("greater", "less"):
                raise ValueError(f"{self.name}: alternative must be 'greater' or 'less', got {self.alternative!r}")
            if self.margin is not None:
                raise ValueError(f"{self.name}: a margin belongs to an equivalence hypothesis")
            if self.min_effect is not None and not (math.isfinite(self.min_effect) and self.min_effect > 0):
                raise ValueError(f"{self.name}: min_effect must be positive and finite (claimed direction's units) "
                                 f"or None, got {self.min_effect!r}")


@dataclass(frozen=True)
class Decisions:
    """The sequential rule along the checkpoints, for one path or many.

    `verdict` (shape (..., K)): UNDECIDED / SUPPORT / REFUTE codes, constant
    from the first decision on. `reason` (..., K): OPPOSITE / EXCLUDED / OUTSIDE
    where REFUTE. `log_e_for` (shape (...)): the log e-value for the claim at
    the last checkpoint (equivalence: the smaller of its two sides);
    `log_e_against`: for the refutation. A decision is taken when such an
    e-value has reached `log_threshold` at some checkpoint (Ville's event), so a
    later fall does not undo it.
    """

    verdict: np.ndarray
    reason: np.ndarray
    log_e_for: np.ndarray
    log_e_against: np.ndarray
    log_threshold: float

    def decided_at(self) -> np.ndarray:
        """Index of the deciding checkpoint (shape (...)); -1 where undecided at the last one."""
        decided = self.verdict != UNDECIDED
        return np.where(decided[..., -1], np.argmax(decided, axis=-1), -1)


def decide(x: Any, hypothesis: Hypothesis, ns: Any, family_size: int, alpha: float = ALPHA) -> Decisions:
    """Decide `hypothesis` on per-seed values x (shape (..., N)) at each checkpoint n in `ns`.

    alpha' = alpha / family_size (Bonferroni); the side tests and the order of
    precedence are in the module docstring.
    """
    if family_size < 1:
        raise ValueError(f"family_size must be >= 1, got {family_size}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    x = np.asarray(x, float)
    ns = _checkpoints(x, ns)
    threshold = family_size / alpha
    h = hypothesis

    def reached(values: np.ndarray, shift: float, at: float = threshold) -> np.ndarray:
        # "centre of values > shift" established at this checkpoint or before
        hit = reached_greater(values, ns, shift, at, h.statistic, h.scales)
        return np.logical_or.accumulate(hit, axis=-1)

    def log_e_now(values: np.ndarray, shift: float) -> np.ndarray:
        return log_e_greater(values, ns[-1:], shift, h.statistic, h.scales)[..., 0]

    if h.kind == "superiority":
        y = x if h.alternative == "greater" else -x
        bound = h.min_effect or 0.0
        support, refute = reached(y, 0.0), reached(-y, -bound)
        opposite = refute if h.min_effect is None else reached(-y, 0.0)
        reason = np.where(opposite, OPPOSITE, EXCLUDED)
        log_for, log_against = log_e_now(y, 0.0), log_e_now(-y, -bound)
    else:
        margin = float(h.margin)  # type: ignore[arg-type]  # checked by Hypothesis
        support = reached(x, -margin) & reached(-x, -margin)
        refute = reached(x, margin, 2 * threshold) | reached(-x, margin, 2 * threshold)
        reason = np.full(x.shape[:-1] + ns.shape, OUTSIDE)
        log_for = np.minimum(log_e_now(x, -margin), log_e_now(-x, -margin))
        log_against = np.maximum(log_e_now(x, margin), log_e_now(-x, margin)) - math.log(2.0)
    now = np.where(support, SUPPORT, np.where(refute, REFUTE, UNDECIDED))
    decided = now != UNDECIDED
    first = np.argmax(decided, axis=-1)[..., None]
    verdict = np.where(decided, np.take_along_axis(now, first, axis=-1), UNDECIDED)
    why = np.where(verdict == REFUTE, np.take_along_axis(reason, first, axis=-1), OPPOSITE)
    return Decisions(verdict, why, log_for, log_against, math.log(threshold))


# --------------------------------------------------------------------------- monitoring a growing run


@dataclass(frozen=True)
class Status:
    """One hypothesis after a batch: what a sequential driver and its report show.

    `effect`: mean of the values (sign as given). `ci_low`, `ci_high`: the
    running anytime-valid interval at the decision level (each side alpha/m;
    for "sign", the median's). `log10_e_for`, `log10_e_against`: log10 of the
    current e-values (see `Decisions`); decisions compare them with
    `log10_threshold` = log10(m/alpha). `decided_at_n`/`decided_at_batch`
    (1-based) record when the verdict was reached; it never changes after.
    `note`: set when the running interval came out empty (values that do not
    share one mean, or a miss of probability <= 2 alpha/m); the interval at this
    n alone is shown instead.
    """

    hypothesis: str
    n: int
    batch: int
    effect: float
    ci_low: float
    ci_high: float
    log10_e_for: float
    log10_e_against: float
    log10_threshold: float
    verdict: str
    decided_at_n: int | None
    decided_at_batch: int | None
    refuted_because: str | None
    note: str = ""


EMPTY_NOTE = ("the running interval is empty (the seeds' values do not look like one mean, or a miss of "
              "probability <= 2 alpha/m): the interval at this n alone is shown")


def _because(h: Hypothesis, code: int) -> str:
    if code == OUTSIDE:
        return f"difference outside the margin ±{h.margin:g}"
    if code == EXCLUDED:
        sign = 1.0 if h.alternative == "greater" else -1.0
        return f"claimed effect ({'>=' if sign > 0 else '<='} {sign * float(h.min_effect):+g}) excluded"  # type: ignore[arg-type]
    return "opposite direction"


def _digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


@dataclass(frozen=True)
class Monitor:
    """The sequential state of one family: its hypotheses, the seeds seen after each batch, the decisions.

    Start with `Monitor(hypotheses)`; `monitor(state, values)` after every
    batch returns the next state. `digests` fingerprint the values seen, so a
    later batch that changes earlier seeds' values is refused.
    """

    hypotheses: tuple[Hypothesis, ...]
    alpha: float = ALPHA
    batch_ends: tuple[int, ...] = ()
    digests: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()

    def __post_init__(self) -> None:
        names = [h.name for h in self.hypotheses]
        if not names:
            raise ValueError("a sequential family needs at least one hypothesis")
        if len(set(names)) != len(names):
            raise ValueError(f"hypothesis names must be unique, got duplicates in {names}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")

    @property
    def n(self) -> int:
        """Seeds seen so far (0 before the first batch)."""
        return self.batch_ends[-1] if self.batch_ends else 0

    def all_decided(self) -> bool:
        """True when every hypothesis is SUPPORTED or REFUTED: the sequential run may stop."""
        return bool(self.statuses) and all(s.verdict != INCONCLUSIVE for s in self.statuses)


def _values(state: Monitor, values: Mapping[str, Any]) -> list[np.ndarray]:
    names = [h.name for h in state.hypotheses]
    missing, unknown = sorted(set(names) - set(values)), sorted(set(values) - set(names))
    if missing or unknown:
        raise ValueError(f"values must be given for exactly the family's hypotheses: missing {missing}, "
                         f"unknown {unknown}")
    out = []
    for name in names:
        x = np.asarray(values[name], dtype=float)
        if x.ndim != 1:
            raise ValueError(f"{name}: values must be 1-D (one per seed, cumulative), got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name}: values contain NaN or inf at seeds {np.flatnonzero(~np.isfinite(x)).tolist()}")
        out.append(x)
    sizes = {x.shape[0] for x in out}
    if len(sizes) != 1:
        raise ValueError(f"every hypothesis needs one value per seed seen; got different counts {sorted(sizes)}")
    n = sizes.pop()
    if n <= state.n:
        raise ValueError(f"a batch must add seeds: {n} values given, {state.n} already seen")
    for name, x, digest in zip(names, out, state.digests):
        if _digest(x[: state.n]) != digest:
            raise ValueError(f"{name}: the values of the first {state.n} seeds changed since the last batch; "
                             "pass every seed's value, cumulatively, in the same order")
    return out


def monitor(state: Monitor, values: Mapping[str, Any]) -> Monitor:
    """Decide every hypothesis of the family after one more batch of seeds.

    `values` maps each hypothesis name to its per-seed values for ALL seeds so
    far (cumulative, in seed order; the earlier ones must be unchanged). The
    decisions are re-derived at every batch end seen (`decide`), and a verdict
    reached at an earlier batch is kept as it was.
    """
    xs = _values(state, values)
    n = xs[0].shape[0]
    ns = np.array([*state.batch_ends, n])
    m = len(state.hypotheses)
    level = state.alpha / m
    earlier = {s.hypothesis: s for s in state.statuses}
    statuses = []
    for h, x in zip(state.hypotheses, xs):
        d = decide(x, h, ns, m, state.alpha)
        lower, upper = confidence_bounds(x, ns, level, h.statistic, h.scales)
        note = ""
        if lower[-1] > upper[-1]:
            lower, upper = confidence_bounds(x, ns[-1:], level, h.statistic, h.scales)
            note = EMPTY_NOTE
        at = int(d.decided_at())
        status = Status(
            h.name, n, len(ns), float(np.mean(x)), float(lower[-1]), float(upper[-1]),
            float(d.log_e_for / math.log(10)), float(d.log_e_against / math.log(10)),
            d.log_threshold / math.log(10), VERDICTS[int(d.verdict[-1])],
            None if at < 0 else int(ns[at]), None if at < 0 else at + 1,
            _because(h, int(d.reason[-1])) if d.verdict[-1] == REFUTE else None, note,
        )
        before = earlier.get(h.name)
        if before is not None and before.verdict != INCONCLUSIVE:  # a decision stands
            status = replace(status, verdict=before.verdict, decided_at_n=before.decided_at_n,
                             decided_at_batch=before.decided_at_batch, refuted_because=before.refuted_because)
        statuses.append(status)
    return replace(state, batch_ends=tuple(int(k) for k in ns), digests=tuple(_digest(x) for x in xs),
                   statuses=tuple(statuses))
