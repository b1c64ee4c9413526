"""Which smoke-tier verdicts hold on any machine: a model of each hypothesis's spread across seed sets.

A smoke run on another CPU, XLA build or jax version is a fresh random draw of
the same configuration (training is chaotic), so the smoke tier may only assert
a verdict that almost every draw gives. `claims/calibrate_smoke.py` draws K
disjoint seed sets and decides the whole family on each; this module turns
those K decisions into pinned verdicts and checks a run against them.

The model. For one hypothesis, set k gives its raw one-sided p-value for the
claim, p_k, and for the opposite, q_k. On the probit scale z = Phi^-1(1 - p)
a one-sided test's statistic is (close to) normal across independent draws,
so z_1..z_K are modelled as i.i.d. N(mu, sigma^2) with both unknown. The
probability that a NEW draw z falls below a threshold c is then the
predictive probability

    P(z < c) = F_{t, K-1}( (c - mean(z)) / (sd(z) sqrt(1 + 1/K)) ),

(Student's t with K - 1 degrees of freedom: the normal predictive distribution
with mean and variance estimated from K draws), which is conservative for
small K through the t's heavy tails. Holm's adjusted p lies between the raw p
and m x p (m = the family's size), which gives bounds that hold whatever the
other hypotheses do:

    pinned SUPPORTED:     flip <= P(p >= alpha / m)                      (p < alpha/m implies p_adj < alpha)
    pinned REFUTED:       flip <= P(q >= alpha / m) + P(p < alpha)      (SUPPORTED takes precedence;
                                                                        one event when p + q = 1)
    INCONCLUSIVE:         flip <= P(p < alpha) + P(q < alpha)           (rejection needs raw p < alpha)

A verdict is pinned when all K sets gave it AND its modelled flip probability
is at most `SUITE_RED_BUDGET` / (number of hypotheses of the tier), so that the
whole smoke suite goes red on a fresh machine with probability at most the
budget (a union bound over the pinned hypotheses). With K around 10 an
INCONCLUSIVE verdict can never be pinned (P(p < alpha) alone is about alpha
under no effect); such hypotheses are reported with their frequencies.

No spread, no model: where a p-value takes the same value in every set -- 1
in every set (a hypothesis that never saw evidence either way), or an exact
test's floor 2^-n -- the K sets say nothing about how far a fresh set may
move, so the hypothesis is not pinned, whatever it says.

The file keeps, per hypothesis, every set's raw p and q (rounded to
`P_DIGITS` significant digits of the smaller of p and 1 - p, before the flip
probability is computed from them), so that anyone can recompute a pin's
flip probability from the file (`flip_probability`).

What the pins cannot see (`blind_spot`): the model extrapolates from the
spread of K sets. A failure mode that strikes one seed in M -- a diverging run,
a rare bad initialisation -- shows up in N calibrated seeds with probability
1 - (1 - 1/M)^N: for M = N, about 63%. Failure modes rarer than about one in
the number of calibrated seeds are most likely absent from the calibration,
and then no pin accounts for them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from harness.deciding.stats import ALPHA, INCONCLUSIVE, REFUTED, SUPPORTED

EXPECTATIONS_FILE = "fixtures/smoke_expectations.json"
# The whole smoke suite may go red on a fresh machine with at most this probability.
SUITE_RED_BUDGET = 0.02
# Fewer seed sets leave the model's spread too uncertain to pin anything.
MIN_SETS = 10
# p-values are clipped to [P_FLOOR, P_CEILING] so that z stays finite.
P_FLOOR = 1e-300
P_CEILING = 1.0 - 2.0**-53
VERDICTS = (SUPPORTED, REFUTED, INCONCLUSIVE)
# Significant digits kept of each set's raw p and q (of min(p, 1 - p), so that p near 1 keeps its tail).
P_DIGITS = 4


def probit(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """z = Phi^-1(1 - p): large z = strong evidence; p = 0.5 gives 0."""
    return scipy_stats.norm.isf(np.clip(np.asarray(p, dtype=float), P_FLOOR, P_CEILING))


def predictive_below(z: Sequence[float] | np.ndarray, threshold: float) -> float | None:
    """P(a new draw < threshold) under z_1..z_K i.i.d. normal, mean and sd unknown (see the module docstring).

    None when the K values have no spread (e.g. a p-value at its floor in every
    set): the model cannot say how far a new draw may move.
    """
    z = np.asarray(z, dtype=float)
    k = z.shape[0]
    sd = float(np.std(z, ddof=1)) if k > 1 else 0.0
    if not sd > 0:
        return None
    scale = sd * math.sqrt(1 + 1 / k)
    return float(scipy_stats.t.cdf((threshold - float(np.mean(z))) / scale, k - 1))


def flip_probability(verdict: str, p: Sequence[float], q: Sequence[float], family_size: int) -> float | None:
    """Modelled probability that a fresh seed set does NOT give `verdict` (upper bound; see the module docstring).

    `p` / `q`: the hypothesis's raw one-sided p-values for the claim and for the
    opposite, one per seed set; `family_size`: the m of its Holm family.

    Where p and q are the two tails of one statistic (p + q = 1: a one-sided
    test without a smallest effect), one z per set carries both, z = Phi^-1(1 - p)
    computed from the smaller tail so that it stays finite, and the two events
    of a REFUTED pin collapse into one (q >= alpha/m already contains p < alpha).
    Otherwise (TOST, a pre-registered smallest effect, the two tails of a sign-flip
    test, which overlap at the observed value) p and q are modelled apart.
    None: some part has no spread across the sets (no model, never pinned).
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    strict, lenient = scipy_stats.norm.isf(ALPHA / family_size), scipy_stats.norm.isf(ALPHA)
    if np.allclose(p + q, 1.0, rtol=0.0, atol=1e-9):
        z = np.where(p < 0.5, probit(p), -probit(q))
        parts = {
            SUPPORTED: [(z, strict, "below")],
            REFUTED: [(z, -strict, "above")],
            INCONCLUSIVE: [(z, lenient, "above"), (z, -lenient, "below")],
        }[verdict]
    else:
        z_p, z_q = probit(p), probit(q)
        parts = {
            SUPPORTED: [(z_p, strict, "below")],
            REFUTED: [(z_q, strict, "below"), (z_p, lenient, "above")],
            INCONCLUSIVE: [(z_p, lenient, "above"), (z_q, lenient, "above")],
        }[verdict]
    total = 0.0
    for values, threshold, side in parts:
        below = predictive_below(values, threshold)
        if below is None:
            # No spread: the same p in every set (1, or an exact test's 2^-n floor) leaves the model nothing
            # to extrapolate from, in either direction (see the module docstring).
            return None
        total += below if side == "below" else 1.0 - below
    return min(total, 1.0)


def rounded_p(p: float) -> float:
    """p to `P_DIGITS` significant digits of min(p, 1 - p): 0.999999876 keeps its 1.24e-7 tail, 3.14159e-5 -> 3.142e-5."""
    p = float(p)
    if p > 0.5:
        return 1.0 - float(f"{1.0 - p:.{P_DIGITS}g}")
    return float(f"{p:.{P_DIGITS}g}")


def calibrated_seeds(sets: Sequence[dict]) -> int:
    """How many seeds the calibration trained, over all its sets."""
    return sum(len(s["seeds"]) for s in sets)


def unseen_probability(rate: float, seeds: int) -> float:
    """P(a failure mode striking each seed independently with probability `rate` shows in none of `seeds` seeds)."""
    return (1.0 - rate) ** seeds


def blind_spot(seeds: int) -> str:
    """What pins calibrated on `seeds` seeds cannot see, in words (README, report, terminal)."""
    return (f"blind to failure modes rarer than about 1 seed in {seeds} (the seeds calibrated): one that rare "
            f"stays out of the calibration with probability {unseen_probability(1 / seeds, seeds):.0%}")


def calibrate(sets: list[dict]) -> dict[str, Any]:
    """The expectations file's content from the per-set decisions of `claims/calibrate_smoke.py`.

    Each set: {"seeds", "xla_flags", ..., "hypotheses": {id: {"claim", "family",
    "verdict", "p_value", "p_opposite", "effect", ...}}}. Every set must decide
    the same hypotheses. Per hypothesis the file keeps its verdict frequencies,
    every set's raw p and q (`rounded_p`; the flip probability is computed from
    the rounded values, so `flip_probability(pinned or unanimous verdict, p, q,
    family_sizes[family])` recomputes it from the file exactly), the range of
    its effect, the flip probability and the pin.
    """
    ids = list(sets[0]["hypotheses"])
    for s in sets:
        if list(s["hypotheses"]) != ids:
            raise ValueError(f"seed set {s['seeds'][0]}.. decided other hypotheses than the first set")
    total = len(ids)
    threshold = SUITE_RED_BUDGET / total
    family_sizes = {f: sum(1 for h in sets[0]["hypotheses"].values() if h["family"] == f)
                    for f in {h["family"] for h in sets[0]["hypotheses"].values()}}
    hypotheses = {}
    for hid in ids:
        rows = [s["hypotheses"][hid] for s in sets]
        first = rows[0]
        verdicts = [r["verdict"] for r in rows]
        frequencies = {v: verdicts.count(v) for v in VERDICTS}
        unanimous = verdicts[0] if len(set(verdicts)) == 1 else None
        p, q = [rounded_p(r["p_value"]) for r in rows], [rounded_p(r["p_opposite"]) for r in rows]
        flip = (flip_probability(unanimous, p, q, family_sizes[first["family"]])
                if unanimous is not None else None)
        pinned = unanimous if unanimous is not None and flip is not None and flip <= threshold else None
        hypotheses[hid] = {
            "claim": first["claim"],
            "family": first["family"],
            "frequencies": frequencies,
            "p_value": p,
            "p_opposite": q,
            "effect": {"min": min(r["effect"] for r in rows), "max": max(r["effect"] for r in rows)},
            "flip_probability": flip,
            "pinned": pinned,
        }
    pinned = [h["flip_probability"] for h in hypotheses.values() if h["pinned"]]
    return {
        "sets": [{k: v for k, v in s.items() if k != "hypotheses"} for s in sets],
        "family_sizes": family_sizes,
        "alpha": ALPHA,
        "suite_red_budget": SUITE_RED_BUDGET,
        "flip_threshold": threshold,
        "hypotheses": hypotheses,
        "pinned": len(pinned),
        "suite_red_probability": 1.0 - float(np.prod([1.0 - f for f in pinned])),
        "calibrated_seeds": calibrated_seeds(sets),
        "blind_spot": blind_spot(calibrated_seeds(sets)),
    }


@dataclass(frozen=True)
class Expectation:
    """What the calibration measured for one hypothesis; `seeds`: how many seeds the whole calibration trained."""

    hypothesis: str
    frequencies: dict[str, int]
    flip_probability: float | None
    pinned: str | None
    seeds: int

    @property
    def sets(self) -> int:
        return sum(self.frequencies.values())

    def stability(self) -> str:
        """Plain words for the report and the failure message: a pin's flip probability and its blind spot."""
        seen = ", ".join(f"{v} {n}/{self.sets}" for v, n in self.frequencies.items() if n)
        flip = "no model (no spread)" if self.flip_probability is None else f"{self.flip_probability:.1e}"
        if self.pinned:
            return (f"pinned {self.pinned}: calibration {seen}; modelled flip probability {flip}; "
                    f"{blind_spot(self.seeds)}")
        return f"not pinned: unstable at this scale (calibration {seen}; modelled flip probability {flip})"


class StaleExpectations(RuntimeError):
    """The expectations file does not describe this configuration or these hypotheses."""


def load_expectations(path: Path, config_key: str, hypotheses: Sequence[str]) -> dict[str, Expectation]:
    """The calibrated expectations for `hypotheses`, or StaleExpectations saying what to rerun."""
    fix = "regenerate it: python -m claims.calibrate_smoke (see README, 'Smoke expectations')"
    try:
        content = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise StaleExpectations(f"cannot read the smoke expectations {path}: {error}; {fix}") from None
    if content.get("provenance", {}).get("config_key") != config_key:
        raise StaleExpectations(
            f"the smoke expectations {path} were calibrated for another smoke configuration or harness version; {fix}"
        )
    calibrated = content["hypotheses"]
    missing = sorted(set(hypotheses) - set(calibrated))
    extra = sorted(set(calibrated) - set(hypotheses))
    if missing or extra:
        raise StaleExpectations(
            f"the smoke expectations {path} do not match the claims' hypotheses "
            f"(not calibrated: {', '.join(missing) or 'none'}; no longer exist: {', '.join(extra) or 'none'}); {fix}"
        )
    seeds = calibrated_seeds(content.get("sets", []))
    if not seeds:
        raise StaleExpectations(f"the smoke expectations {path} list no calibrated seed sets; {fix}")
    return {
        hid: Expectation(hid, calibrated[hid]["frequencies"], calibrated[hid]["flip_probability"],
                         calibrated[hid]["pinned"], seeds)
        for hid in hypotheses
    }


def describe(expectations: dict[str, Any]) -> str:
    """A terminal summary of an expectations file."""
    hyps = expectations["hypotheses"]
    lines = [(
        f"{len(expectations['sets'])} seed sets; {expectations['pinned']} of {len(hyps)} hypotheses pinned "
        f"(flip threshold {expectations['flip_threshold']:.1e}); modelled chance that a fresh machine sees a "
        f"red smoke suite: {expectations['suite_red_probability']:.2%}; the pins are "
        f"{blind_spot(calibrated_seeds(expectations['sets']))}"
    )]
    for hid, h in hyps.items():
        seen = ", ".join(f"{v} {n}" for v, n in h["frequencies"].items() if n)
        flip = "-" if h["flip_probability"] is None else f"{h['flip_probability']:.1e}"
        lines.append(f"  {hid:42s} {h['pinned'] or 'not pinned':13s} [{seen}] flip {flip}")
    return "\n".join(lines)
