"""The smoke calibration's model of verdict stability (harness/deciding/stability.py), on simulated seed sets."""

import json

import numpy as np
import pytest
from scipy import stats as scipy_stats

from claims import calibrate_smoke
from harness import REPOSITORY
from harness.deciding import stability
from harness.deciding.stats import ALPHA, INCONCLUSIVE, REFUTED, SUPPORTED


def simulated_sets(effect: float, sets: int, seeds: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Raw one-sided p-values (for, against) of a paired t-test on `sets` independent seed sets."""
    t = scipy_stats.ttest_1samp(rng.normal(effect, 1.0, (sets, seeds)), 0.0, axis=1).statistic
    return scipy_stats.t.sf(t, seeds - 1), scipy_stats.t.cdf(t, seeds - 1)


def test_the_predictive_threshold_has_exact_coverage_and_the_tail_estimate_is_conservative():
    """For normal draws, a new draw falls below the predictive 5% point 5% of the time (exact, Student t),
    and the predicted probability of a fixed tail is on average above the true one (never optimistic)."""
    rng = np.random.default_rng(0)
    below_point, predicted = [], []
    for z in rng.normal(3.0, 1.0, (2000, 10)):
        point = z.mean() + z.std(ddof=1) * np.sqrt(1 + 1 / 10) * scipy_stats.t.ppf(0.05, 9)
        assert stability.predictive_below(z, point) == pytest.approx(0.05)
        below_point.append(rng.normal(3.0, 1.0) < point)
        predicted.append(stability.predictive_below(z, 0.0))
    assert abs(np.mean(below_point) - 0.05) < 0.016  # binomial sd at 2000 draws: 0.0049
    assert np.mean(predicted) > scipy_stats.norm.cdf(-3.0)


def test_no_spread_gives_no_model():
    assert stability.predictive_below([5.0] * 10, 1.0) is None


def test_a_strong_effect_is_pinned_and_a_null_effect_is_not():
    rng = np.random.default_rng(1)
    pin_threshold = stability.SUITE_RED_BUDGET / 40  # what calibrate() pins at, in a calibration of 40 hypotheses
    p, q = simulated_sets(effect=4.5, sets=10, seeds=10, rng=rng)
    assert stability.flip_probability(SUPPORTED, p, q, family_size=40) <= pin_threshold
    p0, q0 = simulated_sets(effect=0.0, sets=10, seeds=10, rng=rng)
    # With no effect, "INCONCLUSIVE" is what most sets say, yet a fresh set says otherwise about 2 alpha of the time.
    assert stability.flip_probability(INCONCLUSIVE, p0, q0, family_size=40) > max(2 * ALPHA * 0.5, pin_threshold)


def test_the_modelled_flip_probability_bounds_the_real_one():
    """Simulate the whole procedure: calibrate on 10 sets, then count how often fresh sets break the pin."""
    rng = np.random.default_rng(2)
    m, seeds = 40, 10
    for effect in (1.2, 1.6, 2.0):
        p, q = simulated_sets(effect, sets=10, seeds=seeds, rng=rng)
        modelled = stability.flip_probability(SUPPORTED, p, q, family_size=m)
        fresh, _ = simulated_sets(effect, sets=4000, seeds=seeds, rng=rng)
        real = np.mean(np.asarray(fresh) >= ALPHA / m)
        # A single calibration is itself a random draw: allow its sampling error, but it must be the right size.
        assert modelled is not None and real <= max(4 * modelled, 0.01), (effect, modelled, real)


def test_a_refuted_pin_counts_both_ways_to_lose_it():
    rng = np.random.default_rng(3)
    p, q = simulated_sets(effect=-4.5, sets=10, seeds=10, rng=rng)
    refuted = stability.flip_probability(REFUTED, p, q, family_size=40)
    assert refuted < 1e-3
    assert stability.flip_probability(SUPPORTED, p, q, family_size=40) > 0.99


def calibration_set(k: int, verdicts: dict[str, tuple[str, float, float]]) -> dict:
    return {
        "set": k, "seeds": [10 * k + i for i in range(3)], "xla_flags": "",
        "hypotheses": {
            hid: {"claim": hid.split(".")[0], "family": "primary", "verdict": v, "effect": 0.1,
                  "p_value": p, "p_opposite": q, "p_adjusted": min(1.0, 2 * p), "p_opposite_adjusted": min(1.0, 2 * q)}
            for hid, (v, p, q) in verdicts.items()
        },
    }


def test_calibrate_pins_only_unanimous_and_improbable_flips():
    rng = np.random.default_rng(4)
    sets = []
    for k in range(10):
        strong = float(10 ** -rng.uniform(12, 16))
        sets.append(calibration_set(k, {
            "C1": (SUPPORTED, strong, 1 - strong),
            "C2": (SUPPORTED if k else INCONCLUSIVE, 1e-8, 0.9),  # one set disagrees
            "C3": (INCONCLUSIVE, float(rng.uniform(0.05, 0.9)), float(rng.uniform(0.05, 0.9))),
        }))
    result = stability.calibrate(sets)
    hyps = result["hypotheses"]
    assert hyps["C1"]["pinned"] == SUPPORTED and hyps["C1"]["frequencies"][SUPPORTED] == 10
    assert hyps["C2"]["pinned"] is None and hyps["C2"]["frequencies"] == {SUPPORTED: 9, REFUTED: 0, INCONCLUSIVE: 1}
    assert hyps["C3"]["pinned"] is None
    assert result["pinned"] == 1
    assert result["suite_red_probability"] == pytest.approx(hyps["C1"]["flip_probability"])
    assert result["flip_threshold"] == stability.SUITE_RED_BUDGET / 3


def write_expectations(path, key: str, hypotheses: dict) -> None:
    path.write_text(json.dumps({"provenance": {"config_key": key}, "hypotheses": hypotheses,
                                "sets": [calibration_set(k, {}) for k in range(10)]}))


def test_expectations_are_refused_when_stale(tmp_path):
    path = tmp_path / "smoke_expectations.json"
    entry = {"frequencies": {SUPPORTED: 10, REFUTED: 0, INCONCLUSIVE: 0}, "flip_probability": 1e-6,
             "pinned": SUPPORTED}
    write_expectations(path, "key-a", {"C1": entry})
    loaded = stability.load_expectations(path, "key-a", ["C1"])
    assert loaded["C1"].pinned == SUPPORTED and "pinned SUPPORTED" in loaded["C1"].stability()
    assert loaded["C1"].seeds == 30  # 10 sets of 3 seeds
    with pytest.raises(stability.StaleExpectations, match="another smoke configuration.*calibrate_smoke"):
        stability.load_expectations(path, "key-b", ["C1"])
    with pytest.raises(stability.StaleExpectations, match="not calibrated: C2; no longer exist: none"):
        stability.load_expectations(path, "key-a", ["C1", "C2"])
    with pytest.raises(stability.StaleExpectations, match="cannot read"):
        stability.load_expectations(tmp_path / "missing.json", "key-a", ["C1"])
    path.write_text(json.dumps({"provenance": {"config_key": "key-a"}, "hypotheses": {"C1": entry}}))
    with pytest.raises(stability.StaleExpectations, match="no calibrated seed sets.*calibrate_smoke"):
        stability.load_expectations(path, "key-a", ["C1"])


def test_the_committed_expectations_hold_their_promises():
    """The file in fixtures/ shows at least MIN_SETS seed sets, and what it pins meets the suite's red budget."""
    content = json.loads((REPOSITORY / stability.EXPECTATIONS_FILE).read_text())
    assert len(content["sets"]) >= stability.MIN_SETS
    assert any(s["xla_flags"] for s in content["sets"]), "no seed set on another numeric path"
    assert len({seed for s in content["sets"] for seed in s["seeds"]}) == sum(len(s["seeds"]) for s in content["sets"])
    pinned = [h for h in content["hypotheses"].values() if h["pinned"]]
    assert all(h["flip_probability"] <= content["flip_threshold"] for h in pinned)
    assert content["suite_red_probability"] <= stability.SUITE_RED_BUDGET


# --------------------------------------------------------------------------- the holes an audit found


def test_no_evidence_either_way_in_every_set_is_never_pinned():
    """p = q = 1 in every set (a hypothesis that never saw evidence): no spread, so no model and no pin. The
    model used to skip such a part and call the flip probability 0, pinning INCONCLUSIVE."""
    assert stability.flip_probability(INCONCLUSIVE, [1.0] * 16, [1.0] * 16, family_size=40) is None
    sets = [calibration_set(k, {"C9": (INCONCLUSIVE, 1.0, 1.0)}) for k in range(16)]
    calibrated = stability.calibrate(sets)["hypotheses"]["C9"]
    assert calibrated["pinned"] is None and calibrated["flip_probability"] is None
    # the same holds for any constant p, e.g. an exact test at its floor 2^-10 in every set
    assert stability.flip_probability(SUPPORTED, [2.0**-10] * 16, [1.0] * 16, family_size=40) is None


def test_the_file_keeps_every_sets_p_and_q_and_the_flip_probabilities_recompute_from_it(tmp_path):
    rng = np.random.default_rng(5)
    sets = []
    strong_p, strong_q = simulated_sets(effect=4.5, sets=16, seeds=10, rng=rng)
    weak_p, weak_q = simulated_sets(effect=-4.0, sets=16, seeds=10, rng=rng)
    for k in range(16):
        sets.append(calibration_set(k, {
            "C1": (SUPPORTED, float(strong_p[k]), float(strong_q[k])),
            "C2": (REFUTED, float(weak_p[k]), float(weak_q[k])),
            "C3": (INCONCLUSIVE, float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9))),
        }))
    path = tmp_path / "expectations.json"
    path.write_text(json.dumps(stability.calibrate(sets), indent=1, sort_keys=True))
    content = json.loads(path.read_text())
    assert content["calibrated_seeds"] == 48 and "1 seed in 48" in content["blind_spot"]
    for hid, h in content["hypotheses"].items():
        assert len(h["p_value"]) == len(h["p_opposite"]) == 16
        # raw p as decided, to P_DIGITS significant digits of its smaller tail
        raw = [s["hypotheses"][hid]["p_value"] for s in sets]
        np.testing.assert_allclose(np.minimum(h["p_value"], 1 - np.array(h["p_value"])),
                                   np.minimum(raw, 1 - np.array(raw)), rtol=10.0 ** -(stability.P_DIGITS - 1))
        (verdict,) = [v for v, count in h["frequencies"].items() if count == 16]
        recomputed = stability.flip_probability(verdict, h["p_value"], h["p_opposite"], content["family_sizes"]["primary"])
        assert recomputed == h["flip_probability"], hid
    assert content["hypotheses"]["C1"]["pinned"] == SUPPORTED and content["hypotheses"]["C2"]["pinned"] == REFUTED


def test_rounding_keeps_the_small_tail():
    assert stability.rounded_p(0.999999876543) == pytest.approx(1 - 1.235e-7, abs=1e-16)
    assert stability.rounded_p(3.14159e-5) == 3.142e-5 and stability.rounded_p(1.0) == 1.0
    p, q = 0.999999876543, 1 - 0.999999876543
    assert abs(stability.rounded_p(p) + stability.rounded_p(q) - 1.0) < 1e-12  # p + q = 1 survives rounding


def test_the_pins_say_what_they_cannot_see():
    """A pin is modelled from the calibrated seeds: a failure mode rarer than about one seed in that many most
    likely never showed. The statement's number is the chance of exactly that, checked by simulation."""
    seeds = 160
    unseen = stability.unseen_probability(1 / seeds, seeds)
    rng = np.random.default_rng(6)
    simulated = np.mean(~np.any(rng.random((20_000, seeds)) < 1 / seeds, axis=1))
    assert abs(simulated - unseen) < 4 * np.sqrt(unseen * (1 - unseen) / 20_000)
    words = stability.blind_spot(seeds)
    assert "1 seed in 160" in words and f"{unseen:.0%}" in words
    pinned = stability.Expectation("C1", {SUPPORTED: 16, REFUTED: 0, INCONCLUSIVE: 0}, 1e-6, SUPPORTED, seeds)
    assert words in pinned.stability()
    assert words not in stability.Expectation("C2", {SUPPORTED: 8, REFUTED: 0, INCONCLUSIVE: 8}, None, None,
                                              seeds).stability()


@pytest.mark.parametrize("argv", [["--sets", "15", "--other-isa-sets", "-3"], ["--sets", "-3", "--other-isa-sets", "13"]])
def test_a_negative_count_of_seed_sets_is_refused(argv, capsys, monkeypatch):
    monkeypatch.setattr(calibrate_smoke, "run_set", lambda *_, **__: pytest.fail("a seed set ran"))
    with pytest.raises(SystemExit):
        calibrate_smoke.main(argv)
    assert "neither may be negative" in capsys.readouterr().err
