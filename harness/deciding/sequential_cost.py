"""What the sequential rule costs and what it guarantees, by simulation: the table in reports/reference/.

    python -m harness.deciding.sequential_cost            # writes reports/reference/sequential-cost.md

Two parts, both from `harness.deciding.sequential`'s functions:

* Validity. A single hypothesis with no true effect, monitored after every
  seed up to the cap: how often the sequential rule ever says SUPPORTED
  (<= alpha by Ville's inequality) against the naive rule that reruns the
  one-sided t-test after every seed and stops at the first p < alpha (optional
  stopping: well above alpha). Per-seed values normal, Student t with 3 df
  (heavy tails), and discrete symmetric (the sign e-process). Then the
  coverage of the two-sided (1 - alpha) confidence sequence at every n at once,
  and the family's error rates: the primary hypotheses of a reference, each
  at its least favourable null with the reference's sd, Bonferroni over the
  family.
* Cost. For every primary hypothesis of the committed full-tier references
  (reports/reference/evidence-<protocol>.json), taking its measured effect and
  sd as the truth (normal per-seed values): the expected seeds at which the
  sequential rule decides it (batches of `batch` seeds, stopping at `cap`, the
  family's Bonferroni level), against the fixed n at which the fixed-n test
  (one-sided t-test, or TOST for equivalence, at the Bonferroni level
  alpha/m, n >= 3) has 80% power for the same decision -- the n the harness's
  `seeds_needed` reports. A `--seeds auto` run stops when every primary
  hypothesis is decided, so the table also gives the run's expected seeds
  (the largest over the family, hypotheses drawn independently).

Simulated, so seeded (`--seed`) and with Monte Carlo error: a rate from R
paths has a standard error of about sqrt(rate (1 - rate) / R).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from harness import REPOSITORY
from harness.atomic import write_atomically
from harness.deciding.sequential import (
    PRIOR_SCALES,
    REFUTE,
    SUPPORT,
    Hypothesis,
    confidence_bounds,
    decide,
    prefix_mean_sd,
)
from harness.deciding.stats import ALPHA, REFUTED, SUPPORTED

PROTOCOLS = ("writeup", "corrected")
OUT = REPOSITORY / "reports" / "reference" / "sequential-cost.md"
TARGET_POWER = 0.8
FIXED_MIN_N = 3  # the fixed-n t-test and TOST need n - 1 >= 2 degrees of freedom (as the harness does)
FIXED_CAP = 1000  # the fixed-n search stops here ("> 1000")
TOST_DRAWS = 20_000  # Monte Carlo draws per n for the power of TOST (standard error <= 0.0035)
NOISES = ("normal", "t3", "discrete")
WIDE_SCALES = (1.0, 100.0)  # the wider prior the table compares with (sequential.py's docstring says why not)


@dataclass(frozen=True)
class Planted:
    """A reference's primary hypothesis with its measured effect and sd, taken as the truth."""

    hypothesis: Hypothesis
    effect: float
    sd: float
    reference_verdict: str


def reference_path(protocol: str) -> Path:
    return REPOSITORY / "reports" / "reference" / f"evidence-{protocol}.json"


def primary_hypotheses(path: Path) -> list[Planted]:
    """The primary family of an evidence JSON, as sequential hypotheses with their effect and sd."""
    try:
        facts = json.loads(Path(path).read_text(encoding="utf-8"))
        rows = [h for claim in facts["claims"] for h in claim["hypotheses"] if h.get("family") == "primary"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a readable evidence JSON with claims and hypotheses ({err}); "
                         "pass a report written by `pytest claims/`") from err
    planted = []
    for h in rows:
        if h.get("sd") is None or not h["sd"] > 0:
            raise ValueError(f"{path}: primary hypothesis {h['hypothesis']} has no positive sd, so no power model")
        planted.append(Planted(
            Hypothesis(h["hypothesis"], h["kind"], h["alternative"], h.get("min_effect"), h.get("margin"),
                       "sign" if h.get("discrete") else "t"),
            float(h["effect"]), float(h["sd"]), h["verdict"]))
    if not planted:
        raise ValueError(f"{path}: no primary hypotheses")
    return planted


def _noise(rng: np.random.Generator, noise: str, shape: tuple[int, ...]) -> np.ndarray:
    """Per-seed values with centre 0: normal, Student t(3), or symmetric on {-2, ..., 2} (ties and zeros)."""
    if noise == "normal":
        return rng.standard_normal(shape)
    if noise == "t3":
        return rng.standard_t(3, shape)
    if noise == "discrete":
        return rng.integers(-2, 3, shape).astype(float)
    raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")


# --------------------------------------------------------------------------- validity


def naive_t_rejects(x: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """The naive rule: a one-sided t-test after every seed from FIXED_MIN_N on; did any p fall below alpha?"""
    ns = np.arange(FIXED_MIN_N, x.shape[-1] + 1)
    mean, sd = prefix_mean_sd(x, ns)
    with np.errstate(invalid="ignore", divide="ignore"):  # zero spread (discrete data): t undefined, no rejection
        p = stats.t.sf(mean * np.sqrt(ns) / sd, ns - 1)
    return np.any(p < alpha, axis=-1)


def monitored_null_rates(rng: np.random.Generator, paths: int, cap: int, noise: str,
                         alpha: float = ALPHA) -> tuple[float, float]:
    """(sequential, naive) rates of ever saying SUPPORTED under no effect, monitored after every seed to `cap`.

    One hypothesis "centre > 0", alpha unadjusted; statistic "t" for
    continuous noise, "sign" for discrete.
    """
    x = _noise(rng, noise, (paths, cap))
    h = Hypothesis("null", statistic="sign" if noise == "discrete" else "t")
    d = decide(x, h, np.arange(1, cap + 1), 1, alpha)
    return float(np.mean(d.verdict[:, -1] == SUPPORT)), float(np.mean(naive_t_rejects(x, alpha)))


def coverage(rng: np.random.Generator, paths: int, cap: int, noise: str, alpha: float = ALPHA) -> float:
    """How often the two-sided (1 - alpha) confidence sequence covers the true centre at every n <= cap at once.

    "normal", "t3": the t sequence for the mean (here 0.3 sd from 0); "lognormal": the sign sequence for the
    median (1), on a skewed distribution whose mean (e^0.5) it need not cover.
    """
    if noise == "lognormal":
        x, centre, statistic = rng.lognormal(0.0, 1.0, (paths, cap)), 1.0, "sign"
    else:
        x, centre, statistic = 0.3 + _noise(rng, noise, (paths, cap)), 0.3, "t"
    lower, upper = confidence_bounds(x, np.arange(1, cap + 1), alpha / 2, statistic)
    return float(np.mean(np.all((lower <= centre) & (centre <= upper), axis=-1)))


def least_favourable_nulls(p: Planted) -> dict[str, float]:
    """The true centres at which a wrong SUPPORTED, or a wrong REFUTED, of `p` is most likely."""
    h = p.hypothesis
    if h.kind == "equivalence":
        # A wrong SUPPORTED is likeliest at the margin; so is a wrong REFUTED ("outside the margin"): at centres
        # inside, its rate rises toward its value at the margin. By symmetry, +margin stands for both sides.
        return {SUPPORTED: float(h.margin), REFUTED: float(h.margin)}  # type: ignore[arg-type]
    sign = 1.0 if h.alternative == "greater" else -1.0
    return {SUPPORTED: 0.0, REFUTED: sign * (h.min_effect or 0.0)}


def family_error_rates(family: Sequence[Planted], rng: np.random.Generator, paths: int, cap: int,
                       alpha: float = ALPHA, family_size: int | None = None) -> dict[str, float]:
    """Family-wise rates of a wrong SUPPORTED and of a wrong REFUTED, each hypothesis at its least favourable
    null with its reference sd, independent across hypotheses, monitored after every seed to `cap`.

    `family_size` (default: the family's) is the Bonferroni divisor; 1 shows what no correction would do.
    """
    ns = np.arange(1, cap + 1)
    m = len(family) if family_size is None else family_size
    wrong = {SUPPORTED: np.zeros(paths, bool), REFUTED: np.zeros(paths, bool)}
    for p in family:
        for verdict, centre in least_favourable_nulls(p).items():
            x = centre + p.sd * _noise(rng, "normal", (paths, cap))
            code = SUPPORT if verdict == SUPPORTED else REFUTE
            wrong[verdict] |= decide(x, p.hypothesis, ns, m, alpha).verdict[:, -1] == code
    return {verdict: float(np.mean(w)) for verdict, w in wrong.items()}


# --------------------------------------------------------------------------- cost


def _first_n(power: np.ndarray, ns: np.ndarray) -> int | None:
    hit = np.flatnonzero(power >= TARGET_POWER)
    return int(ns[hit[0]]) if hit.size else None


def fixed_n(p: Planted, family_size: int, rng: np.random.Generator, alpha: float = ALPHA) -> int | None:
    """Smallest n in [FIXED_MIN_N, FIXED_CAP] at which the fixed-n test reaches 80% power for the decision
    the true effect allows, at level alpha/m; None beyond FIXED_CAP.

    Superiority: one-sided t-test power P(T > t_{1-alpha/m, n-1}), T ~ noncentral
    t(n-1, d sqrt(n)) (`scipy.stats.nct`), with d = effect/sd toward the claim
    (to support) or (bound - effect)/sd (to refute; bound = min_effect or 0); the
    smaller n. Equivalence inside the margin: TOST power by Monte Carlo
    (TOST_DRAWS draws of the mean and sd per n); outside: the one-sided t-test
    of "beyond the margin".
    """
    level = alpha / family_size
    chunks = np.array_split(np.arange(FIXED_MIN_N, FIXED_CAP + 1), range(16, FIXED_CAP + 1 - FIXED_MIN_N, 16))

    def smallest_n(power: Callable[[np.ndarray], np.ndarray]) -> int | None:
        for ns in chunks:  # power rises with n: stop at the first chunk that reaches the target
            found = _first_n(power(ns), ns)
            if found is not None:
                return found
        return None

    def t_test_n(dz: float) -> int | None:
        return smallest_n(lambda ns: stats.nct.sf(stats.t.ppf(1 - level, ns - 1), ns - 1, dz * np.sqrt(ns))) \
            if dz > 0 else None

    def tost_power(ns: np.ndarray) -> np.ndarray:
        col = ns[:, None]
        mean = p.effect + p.sd * rng.standard_normal((ns.size, TOST_DRAWS)) / np.sqrt(col)
        half = (stats.t.ppf(1 - level, col - 1) * p.sd * np.sqrt(rng.chisquare(col - 1, (ns.size, TOST_DRAWS))
                                                                / (col - 1)) / np.sqrt(col))
        return np.mean((mean - half > -margin) & (mean + half < margin), axis=1)

    h = p.hypothesis
    if h.kind == "superiority":
        toward = (1.0 if h.alternative == "greater" else -1.0) * p.effect
        found = [n for n in (t_test_n(toward / p.sd), t_test_n(((h.min_effect or 0.0) - toward) / p.sd))
                 if n is not None]
        return min(found) if found else None
    margin = float(h.margin)  # type: ignore[arg-type]
    if abs(p.effect) >= margin:
        return t_test_n((abs(p.effect) - margin) / p.sd)
    return smallest_n(tost_power)


@dataclass(frozen=True)
class Cost:
    """One hypothesis under the sequential rule: seeds used per simulated run and the verdicts reached."""

    planted: Planted
    seeds: np.ndarray  # per path: n at the decision, or the cap when undecided
    verdict: np.ndarray  # per path: UNDECIDED / SUPPORT / REFUTE code at the cap
    seeds_wide: np.ndarray  # the same paths with the wider prior mixture WIDE_SCALES
    fixed_n: int | None


def sequential_cost(p: Planted, family_size: int, rng: np.random.Generator, paths: int, batch: int, cap: int,
                    alpha: float = ALPHA) -> Cost:
    """Simulate `paths` runs of normal per-seed values N(effect, sd^2), decided after every `batch` seeds."""
    ns = np.arange(batch, cap + 1, batch)
    x = p.effect + p.sd * rng.standard_normal((paths, int(ns[-1])))
    spent = []
    for scales in (PRIOR_SCALES, WIDE_SCALES):
        h = Hypothesis(p.hypothesis.name, p.hypothesis.kind, p.hypothesis.alternative, p.hypothesis.min_effect,
                       p.hypothesis.margin, p.hypothesis.statistic, scales)
        d = decide(x, h, ns, family_size, alpha)
        at = d.decided_at()
        spent.append((np.where(at >= 0, ns[at], ns[-1]), d.verdict[:, -1]))
    return Cost(p, spent[0][0], spent[0][1], spent[1][0], fixed_n(p, family_size, rng, alpha))


# --------------------------------------------------------------------------- the table


def _standardised(p: Planted) -> str:
    h = p.hypothesis
    if h.kind == "equivalence":
        return f"{p.effect / p.sd:+.2f} (margin {float(h.margin) / p.sd:.1f})"  # type: ignore[arg-type]
    return f"{(1.0 if h.alternative == 'greater' else -1.0) * p.effect / p.sd:+.2f}"


def _prior(scales: Sequence[float]) -> str:
    """The prior in words: g = 1, or g in {1, 100} for an equal-weight mixture."""
    shown = [f"{g:g}" for g in scales]
    return f"g = {shown[0]}" if len(shown) == 1 else f"g in {{{', '.join(shown)}}}"


def _fixed(n: int | None) -> str:
    return f"> {FIXED_CAP}" if n is None else str(n)


def _decided_by(c: Cost, share: float, cap: int) -> str:
    """The n by which `share` of the simulated runs have decided (the sequential counterpart of a power)."""
    decided = np.sort(np.where(c.verdict != 0, c.seeds, cap + 1))
    n = int(decided[math.ceil(share * decided.size) - 1])
    return f"> {cap}" if n > cap else str(n)


def cost_table(costs: Sequence[Cost], cap: int) -> list[str]:
    """Markdown rows: per hypothesis, then the run (every primary hypothesis decided)."""
    lines = [("| hypothesis | d toward the claim | reference | fixed n (80% power) | sequential: mean seeds | "
              f"80% decided by | decided by the cap | SUPPORTED | REFUTED | mean seeds, {_prior(WIDE_SCALES)} |"),
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in costs:
        lines.append(
            f"| {c.planted.hypothesis.name} | {_standardised(c.planted)} | {c.planted.reference_verdict} | "
            f"{_fixed(c.fixed_n)} | {c.seeds.mean():.1f} | {_decided_by(c, TARGET_POWER, cap)} | "
            f"{np.mean(c.verdict != 0):.1%} | "
            f"{np.mean(c.verdict == SUPPORT):.1%} | {np.mean(c.verdict == REFUTE):.1%} | "
            f"{c.seeds_wide.mean():.1f} |")
    run = np.max([c.seeds for c in costs], axis=0)
    run_wide = np.max([c.seeds_wide for c in costs], axis=0)
    undecided = np.any([c.verdict == 0 for c in costs], axis=0)
    fixed = [c.fixed_n for c in costs]
    fixed_for_all = None if any(n is None for n in fixed) else max(n for n in fixed if n is not None)
    slowest = max(costs, key=lambda c: c.seeds.mean())
    cheaper = sum(c.fixed_n is None or c.seeds.mean() <= c.fixed_n for c in costs)
    lines += [
        "",
        (f"- The run (stops when all {len(costs)} are decided, or at {cap}): mean seeds {run.mean():.1f} "
        f"({_prior(WIDE_SCALES)}: {run_wide.mean():.1f}); it reaches the cap with a hypothesis undecided in "
        f"{undecided.mean():.1%} of runs; the slowest hypothesis is {slowest.planted.hypothesis.name} "
        f"(mean {slowest.seeds.mean():.1f} seeds)."),
        (f"- A fixed design with 80% power for every hypothesis on its own needs n = "
        f"{_fixed(fixed_for_all)}; the sequential rule's mean is at most the fixed n "
        f"for {cheaper} of {len(costs)} hypotheses."),
    ]
    return lines


def report(paths: int, batch: int, cap: int, seed: int, validity_paths: int, alpha: float = ALPHA) -> str:
    """The whole markdown document (validity, then the cost per reference)."""
    rng = np.random.default_rng(seed)
    families = {protocol: primary_hypotheses(reference_path(protocol)) for protocol in PROTOCOLS}
    lines = [
        "# Seeds until decided: what the sequential rule guarantees and costs",
        "",
        (f"Generated by `python -m harness.deciding.sequential_cost --paths {paths} --batch {batch} --cap {cap} "
        f"--seed {seed} --validity-paths {validity_paths}` (harness/deciding/sequential_cost.py; the statistics in "
        f"harness/deciding/sequential.py). alpha = {alpha}; prior N(0, g) on the standardised effect, "
        f"{_prior(PRIOR_SCALES)} (the last column: the equal-weight mixture {_prior(WIDE_SCALES)}). "
        "Simulated: a rate from R paths has a standard error of about sqrt(rate (1 - rate) / R)."),
        "",
        "## Validity under continuous monitoring",
        "",
        (f"One hypothesis with no effect, monitored after every seed up to {cap}, {validity_paths} paths: "
        "how often each rule ever says SUPPORTED (alpha unadjusted)."),
        "",
        "| per-seed values | sequential e-process | naive t-test after every seed |",
        "|---|---|---|",
    ]
    for noise, label in (("normal", "normal (t e-process)"), ("t3", "Student t, 3 df (t e-process)"),
                         ("discrete", "symmetric on {-2, ..., 2} (sign e-process)")):
        seq, naive = monitored_null_rates(rng, validity_paths, cap, noise, alpha)
        lines.append(f"| {label} | {seq:.4f} | {naive:.4f} |")
    lines += ["", f"Coverage of the two-sided {1 - alpha:.0%} confidence sequence at every n <= {cap} at once:", ""]
    for noise, label in (("normal", "mean, normal values"), ("t3", "mean, Student t 3 df"),
                         ("lognormal", "median (sign sequence), lognormal values")):
        lines.append(f"- {label}: {coverage(rng, validity_paths, cap, noise, alpha):.4f}")
    lines += ["", ("Family-wise error, each primary hypothesis at its least favourable null with its reference sd, "
              f"Bonferroni over the family, monitored after every seed to {cap} ({paths} runs):"), ""]
    for protocol, family in families.items():
        rates = family_error_rates(family, rng, paths, cap, alpha)
        lines.append(f"- {protocol} ({len(family)} hypotheses): a wrong SUPPORTED {rates[SUPPORTED]:.4f}, "
                     f"a wrong REFUTED {rates[REFUTED]:.4f}")
    for protocol, family in families.items():
        costs = [sequential_cost(p, len(family), rng, paths, batch, cap, alpha) for p in family]
        lines += [
            "", f"## Cost at the {protocol} reference's effects (reports/reference/evidence-{protocol}.json)", "",
            (f"Each primary hypothesis's measured effect and sd taken as the truth; normal per-seed values; "
            f"{paths} simulated runs, decided after every {batch} seeds up to {cap}, at alpha/{len(family)}. "
            "d: effect / sd in the claimed direction (equivalence: the difference and the margin in sd). "
            "Fixed n: the n at which the fixed-n test at the same level has 80% power (n >= 3). "
            "Mean seeds count an undecided run as the cap."), "",
            *cost_table(costs, cap),
        ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.deciding.sequential_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=int, default=2000, help="simulated runs per hypothesis, and of the family (default 2000)")
    parser.add_argument("--batch", type=int, default=2, help="seeds added between decisions (default 2)")
    parser.add_argument("--cap", type=int, default=64, help="most seeds a run may use (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="numpy seed (default 0)")
    parser.add_argument("--validity-paths", type=int, default=20000,
                        help="simulated paths of one hypothesis's error rate and coverage (default 20000)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"markdown file to write (default {OUT})")
    args = parser.parse_args(argv)
    for name in ("paths", "batch", "cap", "validity_paths"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.batch > args.cap:
        parser.error("--batch must not exceed --cap")
    if args.seed < 0:
        parser.error(f"--seed {args.seed}: a seed is a non-negative integer")
    text = report(args.paths, args.batch, args.cap, args.seed, args.validity_paths)
    write_atomically(args.out, lambda f: f.write(text.encode("utf-8")))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
