"""The sequential statistics prove themselves: closed forms against their definitions, error rates under
monitoring after every seed, coverage at every n at once, power on planted effects, decisions that stand.

Simulated rates are judged as in tests/test_stats.py: exact binomial tests (`scipy.stats.binomtest`) at a
strict 0.001 level against the promised bound, so a valid procedure essentially never fails, and an invalid
one (the naive repeated t-test, a family without correction) is shown to fail the same check. Every
simulation has a fixed numpy seed and prints its measured rate (`pytest -s` shows them); the committed
reports/reference/sequential-cost.md records the larger runs of `python -m harness.deciding.sequential_cost`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as st

from harness.deciding import sequential as q
from harness.deciding import sequential_cost as cost
from harness.deciding.stats import ALPHA, INCONCLUSIVE, REFUTED, SUPPORTED

STRICT = 0.001  # level of the binomial checks on simulated rates
CAP = 64  # seeds monitored, one decision after every seed
FAMILY = 41  # the full tier's primary family size (Bonferroni divisor where a test needs a realistic one)


def assert_rate_at_most(name: str, k: int, n: int, p0: float) -> None:
    """Observed rate k/n is not significantly ABOVE p0."""
    print(f"\n[sequential-sim] {name}: {k}/{n} = {k / n:.4f}")
    p = st.binomtest(k, n, p0, alternative="greater").pvalue
    assert p > STRICT, f"{name}: rate {k}/{n} = {k / n:.4f} significantly above {p0} (p = {p:.2g})"


def assert_rate_above(name: str, k: int, n: int, p0: float) -> None:
    """Observed rate k/n is significantly ABOVE p0 (what an invalid rule shows)."""
    print(f"\n[sequential-sim] {name}: {k}/{n} = {k / n:.4f}")
    p = st.binomtest(k, n, p0, alternative="greater").pvalue
    assert p < STRICT, f"{name}: rate {k}/{n} = {k / n:.4f} not significantly above {p0} (p = {p:.2g})"


def _count(rate: float, n: int) -> int:
    return round(rate * n)


def _haar_mixture_bayes_factor(x: np.ndarray, g: float, one_sided: bool) -> float:
    """The definition: integrate the normal likelihood over delta ~ N(0, g) (x2 on delta > 0 if one-sided)
    and over sigma with the right-Haar weight 1/sigma, against the same sigma integral at delta = 0.
    ((2 pi)^(-n/2) cancels; sum (x - delta sigma)^2 = S - 2 delta sigma sum(x) + n delta^2 sigma^2.)"""
    n, total, squares = x.size, float(x.sum()), float(np.sum(x * x))

    def likelihood(delta: float, sigma: float) -> float:
        return math.exp(-(squares - 2 * delta * sigma * total + n * (delta * sigma) ** 2) / (2 * sigma**2)) \
            / sigma ** (n + 1)

    def prior(delta: float) -> float:
        return (2.0 if one_sided else 1.0) * math.exp(-delta * delta / (2 * g)) / math.sqrt(2 * math.pi * g)

    low = 0.0 if one_sided else -np.inf
    alternative = integrate.dblquad(lambda d, s: likelihood(d, s) * prior(d), 0, np.inf, low, np.inf,
                                    epsabs=0, epsrel=1e-9)[0]
    null = integrate.quad(lambda s: likelihood(0.0, s), 0, np.inf, epsabs=0, epsrel=1e-10)[0]
    return alternative / null


def _t(x: np.ndarray) -> float:
    return float(x.mean() / (x.std(ddof=1) / math.sqrt(x.size)))


# --------------------------------------------------------------------------- the closed forms


def test_closed_forms_are_the_haar_gaussian_mixture_bayes_factors_with_exponent_n_over_2():
    x = np.array([0.31, -0.12, 0.83, 0.47, 0.22])
    n, g, t = x.size, 2.0, _t(x)
    two = _haar_mixture_bayes_factor(x, g, one_sided=False)
    assert math.exp(q.log_e_t(t, n, g)) == pytest.approx(two, rel=1e-6)
    assert math.exp(q.log_e_t_greater(t, n, g)) == pytest.approx(_haar_mixture_bayes_factor(x, g, True), rel=1e-6)
    # the exponent nu/2 gives another number: E_n(nu) = E_n(n) / ratio^(1/2)
    ratio = (1 + t * t / (n - 1)) / (1 + t * t / ((n - 1) * (1 + n * g)))
    assert math.exp(q.log_e_t(t, n, g)) / math.sqrt(ratio) != pytest.approx(two, rel=1e-3)


@pytest.mark.parametrize("n", [2, 8, 64])
def test_null_expectation_is_one_with_n_over_2_and_below_one_with_nu_over_2(n):
    """E_0[E_n] = integral of E_n(t) against Student t(n - 1): a likelihood ratio integrates to 1."""
    density = st.t(n - 1).pdf

    def mean(log_e) -> float:
        return integrate.quad(lambda t: math.exp(float(log_e(t))) * density(t), -np.inf, np.inf, limit=400)[0]

    for g in (1.0, 100.0):
        def nu_over_2(t: float, g: float = g) -> float:  # E_n with the exponent (n - 1)/2
            ratio = math.log1p(t * t / (n - 1)) - math.log1p(t * t / ((n - 1) * (1 + n * g)))
            return float(q.log_e_t(t, n, g)) - 0.5 * ratio

        assert mean(lambda t, g=g: q.log_e_t(t, n, g)) == pytest.approx(1.0, rel=1e-6)
        assert mean(lambda t, g=g: q.log_e_t_greater(t, n, g)) == pytest.approx(1.0, rel=1e-6)
        assert mean(nu_over_2) < 0.9
    assert mean(lambda t: q.log_e_t_mixture(t, n, (1.0, 100.0))) == pytest.approx(1.0, rel=1e-6)


def test_the_simulation_decides_the_exponent():
    """Monte Carlo mean of E_4 (g = 1) on normal data with no effect: 1 with n/2; far below with nu/2.
    (E_4 has variance sqrt(5) - 1 under the null: the standard error over 10^5 draws is 0.0035.)"""
    x = np.random.default_rng(1).standard_normal((100_000, 4)) * 3.7
    t = x.mean(axis=1) * 2 / x.std(axis=1, ddof=1)
    e_n = np.exp(q.log_e_t(t, 4, 1.0))
    e_nu = e_n / np.sqrt((1 + t * t / 3) / (1 + t * t / 15))
    se = e_n.std() / math.sqrt(e_n.size)
    print(f"\n[sequential-sim] mean E_4: exponent n/2 {e_n.mean():.4f}, nu/2 {e_nu.mean():.4f} (se {se:.4f})")
    assert abs(e_n.mean() - 1.0) < 5 * se
    assert e_nu.mean() < 1.0 - 20 * se


def test_one_sided_e_value_increases_with_t():
    """The monotonicity that makes E+ valid for the composite null "effect <= 0" and its boundary unique."""
    t = np.linspace(-40, 40, 4001)
    for n in (2, 3, 8, 64):
        for g in (1.0, 100.0):
            log_e = q.log_e_t_greater(t, n, g)
            assert np.all(log_e[1:] >= log_e[:-1]), (n, g)


def test_sign_e_value_is_a_fair_bet_under_the_null_and_matches_its_integral():
    for size in range(1, 41):
        k = np.arange(size + 1)
        assert float(np.sum(st.binom.pmf(k, size, 0.5) * np.exp(q.log_e_sign_greater(k, size - k)))) == \
            pytest.approx(1.0, rel=1e-9)
    integral = 2 ** 11 * integrate.quad(lambda p: p**7 * (1 - p) ** 3, 0.5, 1)[0]
    assert math.exp(float(q.log_e_sign_greater(7, 3))) == pytest.approx(integral, rel=1e-9)


def test_smallest_n_that_can_decide_at_the_family_level_is_as_the_docstring_says():
    """With 41 hypotheses at alpha 0.05: the default prior g = 1 decides from 7 seeds, the mixture over
    g in {1, 100} from 4, the sign e-process from 13 (all signs alike)."""
    c = FAMILY / ALPHA
    assert q.PRIOR_SCALES == (1.0,)
    assert [math.isfinite(q.t_boundary(n, c)) for n in (6, 7)] == [False, True]
    assert [math.isfinite(q.t_boundary(n, c, (1.0, 100.0))) for n in (3, 4)] == [False, True]
    assert [float(q.log_e_sign_greater(n, 0)) >= math.log(c) for n in (12, 13)] == [False, True]


def test_fast_crossing_checks_agree_with_the_e_values():
    rng = np.random.default_rng(2)
    ns = np.arange(1, 33)
    continuous = 0.4 + rng.standard_normal((500, 32))
    discrete = rng.integers(-1, 3, (500, 32)).astype(float)
    for x, statistic, scales in ((continuous, "t", (1.0,)), (continuous, "t", (1.0, 100.0)), (discrete, "sign", ())):
        for shift in (0.0, 0.3):
            for threshold in (20.0, FAMILY / ALPHA):
                log_e = q.log_e_greater(x, ns, shift, statistic, scales or q.PRIOR_SCALES)
                fast = q.reached_greater(x, ns, shift, threshold, statistic, scales or q.PRIOR_SCALES)
                near = np.abs(log_e - math.log(threshold)) < 1e-9
                assert np.array_equal(fast[~near], (log_e >= math.log(threshold))[~near])
    for n in (8, 16, 64):
        for scales in ((1.0,), (1.0, 100.0)):
            b = q.t_boundary(n, FAMILY / ALPHA, scales)
            assert float(q.log_e_t_mixture(b, n, scales)) == pytest.approx(math.log(FAMILY / ALPHA), abs=1e-9)


# --------------------------------------------------------------------------- validity under monitoring


@pytest.mark.parametrize("noise", ["normal", "t3", "discrete"])
def test_no_effect_monitored_after_every_seed_is_supported_at_most_alpha_and_the_naive_rule_is_not(noise):
    paths = 10_000
    sequential, naive = cost.monitored_null_rates(np.random.default_rng(3), paths, CAP, noise)
    assert_rate_at_most(f"{noise}: sequential rule, monitored after every seed to {CAP}",
                        _count(sequential, paths), paths, ALPHA)
    assert_rate_above(f"{noise}: naive t-test rerun after every seed", _count(naive, paths), paths, ALPHA)


def test_running_maximum_of_the_e_value_crosses_one_over_alpha_at_most_alpha():
    """Ville's inequality read off the e-values themselves (not the boundary), normal data, every seed to 64."""
    paths = 4000
    x = 5.0 * np.random.default_rng(4).standard_normal((paths, CAP))
    log_e = q.log_e_greater(x, np.arange(1, CAP + 1))
    crossed = int(np.sum(np.max(log_e, axis=1) >= math.log(1 / ALPHA)))
    assert_rate_at_most("running max of E+ >= 1/alpha", crossed, paths, ALPHA)


def test_family_error_rates_at_the_references_sds_stay_below_alpha_and_would_not_uncorrected():
    family = cost.primary_hypotheses(cost.reference_path("writeup"))
    assert len(family) == FAMILY
    paths = 1000
    rates = cost.family_error_rates(family, np.random.default_rng(5), paths, CAP)
    for verdict in (SUPPORTED, REFUTED):
        assert_rate_at_most(f"family-wise wrong {verdict} ({FAMILY} hypotheses, Bonferroni)",
                            _count(rates[verdict], paths), paths, ALPHA)
    uncorrected = cost.family_error_rates(family, np.random.default_rng(5), paths, CAP, family_size=1)
    assert_rate_above("family-wise wrong SUPPORTED without correction", _count(uncorrected[SUPPORTED], paths),
                      paths, ALPHA)


@pytest.mark.parametrize("noise", ["normal", "t3", "lognormal"])
def test_confidence_sequence_covers_at_every_n_at_once(noise):
    paths = 4000
    covered = cost.coverage(np.random.default_rng(6), paths, CAP, noise)
    assert_rate_at_most(f"{noise}: the 95% sequence misses at some n <= {CAP}", _count(1 - covered, paths),
                        paths, ALPHA)


def test_composite_null_a_true_effect_against_the_claim_is_supported_less_often():
    paths = 4000
    x = -0.2 + np.random.default_rng(7).standard_normal((paths, CAP))
    d = q.decide(x, q.Hypothesis("h"), np.arange(1, CAP + 1), 1)
    assert_rate_at_most("effect -0.2 sd, claim > 0", int(np.sum(d.verdict[:, -1] == q.SUPPORT)), paths, ALPHA)


# --------------------------------------------------------------------------- power


@pytest.mark.parametrize("hypothesis, centre, statistic, expected", [
    (q.Hypothesis("up"), 1.0, "t", SUPPORTED),
    (q.Hypothesis("down", alternative="less"), 1.0, "t", REFUTED),
    (q.Hypothesis("big", min_effect=1.0), 0.0, "t", REFUTED),
    (q.Hypothesis("same", "equivalence", "within", margin=1.0), 0.0, "t", SUPPORTED),
    (q.Hypothesis("apart", "equivalence", "within", margin=1.0), 2.0, "t", REFUTED),
    (q.Hypothesis("signs", statistic="sign"), 1.0, "sign", SUPPORTED),
])
def test_planted_effects_are_decided_the_right_way(hypothesis, centre, statistic, expected):
    """Unit-sd values, a family of 41, decisions after every 2 seeds: at least 90% of runs decide the planted
    truth by 64 seeds, and almost none decide it wrongly."""
    paths = 500
    rng = np.random.default_rng(8)
    noise = rng.integers(-1, 2, (paths, CAP)).astype(float) if statistic == "sign" else rng.standard_normal((paths, CAP))
    d = q.decide(centre + noise, hypothesis, np.arange(2, CAP + 1, 2), FAMILY)
    verdicts = np.array([q.VERDICTS[int(v)] for v in d.verdict[:, -1]])
    right = float(np.mean(verdicts == expected))
    wrong = float(np.mean((verdicts != expected) & (verdicts != INCONCLUSIVE)))
    print(f"\n[sequential-sim] {hypothesis.name}: {expected} in {right:.3f}, the other way in {wrong:.3f}")
    assert right >= 0.9
    assert wrong <= 0.01


def test_refuted_says_why():
    ns = np.arange(2, CAP + 1, 2)
    x = np.random.default_rng(9).standard_normal((200, CAP))
    big = q.Hypothesis("big", min_effect=1.0)
    excluded = q.decide(x, big, ns, FAMILY)  # no effect: the claimed effect is excluded, the opposite is not shown
    refuted = excluded.verdict[:, -1] == q.REFUTE
    assert refuted.mean() > 0.9 and np.all(excluded.reason[refuted, -1] == q.EXCLUDED)
    # far below 0: both are shown at the first checkpoint that can decide, so "opposite direction"
    for d in (q.decide(x - 100.0, big, ns, FAMILY), q.decide(x - 1.0, q.Hypothesis("any"), ns, FAMILY)):
        refuted = d.verdict[:, -1] == q.REFUTE
        assert refuted.mean() > 0.9 and np.all(d.reason[refuted, -1] == q.OPPOSITE)


# --------------------------------------------------------------------------- decisions that stand


def test_a_decision_never_changes_along_the_checkpoints():
    rng = np.random.default_rng(10)
    x = 0.3 * rng.standard_normal((2000, CAP)) + rng.choice([-0.5, 0.0, 0.5], (2000, 1))
    for h in (q.Hypothesis("h", min_effect=0.2), q.Hypothesis("e", "equivalence", "within", margin=0.3)):
        v = q.decide(x, h, np.arange(2, CAP + 1, 2), FAMILY).verdict
        ever = np.any(v != q.UNDECIDED, axis=1)
        first = np.argmax(v != q.UNDECIDED, axis=1)
        later = np.arange(v.shape[1]) >= first[:, None]
        assert ever.any()
        # From its first decision on, a row keeps it: no flip, and no falling back to UNDECIDED.
        first_decision = v[np.arange(len(v)), first][:, None]
        assert np.all((v == first_decision)[ever][later[ever]])


def test_monitor_keeps_a_decision_when_later_seeds_pull_the_evidence_back():
    h = q.Hypothesis("C1", min_effect=0.5)
    strong = 2.0 + 0.01 * np.arange(6)  # six seeds far above 0 with a little spread
    against = -3.0 - 0.01 * np.arange(30)
    state = q.Monitor((h,))
    state = q.monitor(state, {"C1": strong[:4]})
    state = q.monitor(state, {"C1": strong})
    (first,) = state.statuses
    assert (first.verdict, first.decided_at_n, first.decided_at_batch) == (SUPPORTED, 4, 1)
    state = q.monitor(state, {"C1": np.concatenate([strong, against])})
    (later,) = state.statuses
    assert later.log10_e_for < later.log10_threshold <= later.log10_e_against  # the evidence now points the other way
    assert (later.verdict, later.decided_at_n, later.decided_at_batch, later.refuted_because) == (SUPPORTED, 4, 1, None)
    assert later.n == 36 and later.batch == 3 and state.batch_ends == (4, 6, 36)
    # two regimes cannot share one mean: the running interval came out empty, so the current one is shown
    assert later.ci_low <= later.effect <= later.ci_high and "empty" in later.note
    assert state.all_decided()


def test_monitor_reports_what_decide_and_the_confidence_sequence_say():
    rng = np.random.default_rng(11)
    family = (q.Hypothesis("up"), q.Hypothesis("within", "equivalence", "within", margin=0.5),
              q.Hypothesis("counts", alternative="less", statistic="sign"))
    values = {"up": 0.8 + rng.standard_normal(12), "within": 0.1 * rng.standard_normal(12),
              "counts": rng.integers(-3, 2, 12).astype(float)}
    state = q.Monitor(family)
    for end in (4, 8, 12):
        state = q.monitor(state, {k: v[:end] for k, v in values.items()})
    ns = np.array([4, 8, 12])
    for h, s in zip(family, state.statuses):
        d = q.decide(values[h.name], h, ns, len(family))
        lower, upper = q.confidence_bounds(values[h.name], ns, ALPHA / len(family), h.statistic)
        at = int(d.decided_at())
        assert s.verdict == q.VERDICTS[int(d.verdict[-1])]
        assert s.decided_at_n == (None if at < 0 else int(ns[at]))
        assert (s.ci_low, s.ci_high) == (lower[-1], upper[-1])
        assert s.effect == pytest.approx(values[h.name].mean())
        assert s.log10_threshold == pytest.approx(math.log10(len(family) / ALPHA))
    assert state.statuses[1].verdict == SUPPORTED  # 0.1-sd noise well inside a 0.5 margin


@pytest.mark.parametrize("values, message", [
    ({"a": [1.0, 2.0, 3.0]}, r"missing \['b'\], unknown \[\]"),
    ({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0], "c": [1.0, 2.0, 3.0]}, r"missing \[\], unknown \['c'\]"),
    ({"a": [1.0, np.nan, 3.0], "b": [1.0, 2.0, 3.0]}, "NaN or inf"),
    ({"a": [[1.0, 2.0]], "b": [1.0, 2.0]}, "1-D"),
    ({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0]}, "different counts"),
])
def test_monitor_refuses_bad_values_with_the_fix(values, message):
    state = q.Monitor((q.Hypothesis("a"), q.Hypothesis("b")))
    with pytest.raises(ValueError, match=message):
        q.monitor(state, values)


def test_a_t_hypothesis_whose_first_seeds_tie_stays_undecided_until_they_spread():
    """As the fixed-n t-test refuses a sample without spread (p = 1): no evidence either way, and the run goes on."""
    family = (q.Hypothesis("tied"), q.Hypothesis("spread", kind="equivalence", alternative="within", margin=0.5))
    tied, spread = [1.0] * 20, np.tile(np.linspace(-0.1, 0.1, 10), 4)
    state = q.monitor(q.Monitor(family), {"tied": tied[:10], "spread": spread[:10]})
    status = state.statuses[0]
    assert status.verdict == INCONCLUSIVE and status.log10_e_for == status.log10_e_against == 0.0
    assert (status.ci_low, status.ci_high) == (-np.inf, np.inf)
    # Once the values spread, the evidence counts from all seeds: twenty more clearly above 0 decide it.
    later = q.monitor(state, {"tied": tied + [1.5, 0.5] * 10, "spread": spread})
    assert later.statuses[0].verdict == SUPPORTED and later.statuses[0].decided_at_n == 40
    assert np.isfinite(later.statuses[0].ci_low)


def test_monitor_refuses_values_that_are_not_cumulative():
    state = q.monitor(q.Monitor((q.Hypothesis("a"),)), {"a": [1.0, 2.0, 4.0]})
    with pytest.raises(ValueError, match="must add seeds"):
        q.monitor(state, {"a": [1.0, 2.0, 4.0]})
    with pytest.raises(ValueError, match="changed since the last batch"):
        q.monitor(state, {"a": [1.0, 2.5, 4.0, 5.0]})


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "superior"}, "kind"),
    ({"statistic": "rank"}, "statistic"),
    ({"scales": (0.0,)}, "prior scales"),
    ({"min_effect": -1.0}, "min_effect"),
    ({"margin": 1.0}, "margin belongs"),
    ({"kind": "equivalence", "alternative": "within"}, "margin"),
    ({"alternative": "within"}, "alternative"),
])
def test_hypotheses_are_checked_when_registered(kwargs, message):
    with pytest.raises(ValueError, match=message):
        q.Hypothesis("h", **kwargs)


def test_a_monitor_refuses_two_hypotheses_of_one_name():
    with pytest.raises(ValueError, match="unique"):
        q.Monitor((q.Hypothesis("h"), q.Hypothesis("h")))


# --------------------------------------------------------------------------- the cost table


def test_fixed_n_is_the_smallest_with_80_percent_power():
    planted = cost.Planted(q.Hypothesis("h"), 0.5, 1.0, SUPPORTED)
    n = cost.fixed_n(planted, FAMILY, np.random.default_rng(12))
    level = ALPHA / FAMILY

    def power(k: int) -> float:
        return float(st.nct.sf(st.t.ppf(1 - level, k - 1), k - 1, 0.5 * math.sqrt(k)))

    assert power(n) >= 0.8 > power(n - 1)


def test_cost_command_writes_every_primary_hypothesis_of_both_references(tmp_path):
    out = tmp_path / "cost.md"
    assert cost.main(["--paths", "20", "--validity-paths", "200", "--cap", "8", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "python -m harness.deciding.sequential_cost --paths 20 --batch 2 --cap 8" in text
    for protocol in cost.PROTOCOLS:
        for p in cost.primary_hypotheses(cost.reference_path(protocol)):
            assert f"| {p.hypothesis.name} |" in text
    assert text.count("| C1 |") == 2
    with pytest.raises(SystemExit):
        cost.main(["--batch", "9", "--cap", "8", "--out", str(out)])
    with pytest.raises(SystemExit):
        cost.main(["--seed", "-1", "--out", str(out)])
