"""The size of every decision rule of harness/deciding/stats.py, over a grid of data shapes and seed counts.

    python -m harness.deciding.size_grid [--sims 20000] [--seed 0] [--out reports/size-grid.md]

writes the table (markdown) and its numbers (the same name, .json). For each
rule, each shape of per-seed values and n in `SEEDS`, the probability that the
rule rejects when the truth sits exactly on its null boundary:

* exactly, for shapes on a few values: the sum over every composition of n
  draws (how many seeds take each value) of its multinomial probability times
  whether the rule rejects that sample -- the rules' p-values depend on the
  values alone, not on their order;
* by simulation otherwise (`--sims` samples from `--seed`), with its Monte
  Carlo standard error at alpha, sqrt(alpha (1 - alpha) / sims).

Each statistic's kind is declared where its hypothesis is built (harness/deciding/stats.py):
the continuous kind's rules are t-tests, the discrete kind's exact sign flips
against 0 and the boundary test (the larger p of sign flips and a bootstrap-t)
against any other boundary. A rule promises size <= alpha on the shapes its
kind admits (`Rule.promised`); tests/test_size_grid.py asserts size <= alpha +
3 s.e. (exact: <= alpha) on every promised cell. Cells outside a promise are
shown too, so the table says where each guarantee ends:

* the t-test promises symmetric continuous shapes (Gaussian, t with 3 df). On
  values on a few levels its size exceeds alpha, which is why such statistics
  are declared discrete; on a skewed continuous shape its one-sided size in the
  direction of the short tail exceeds alpha at every n of the grid (a documented
  exclusion, `EXCLUDED`): a continuous statistic is assumed near-symmetric
  across seeds;
* sign flips promise every symmetric shape (their null: two variants
  exchangeable within a seed make the paired difference symmetric);
* the boundary test promises every shape but a continuous skew, the audit's
  skewed two-point included; a continuous skew that n seeds did not sample no
  test of a mean can see (Bahadur & Savage 1956).

One rule harness/deciding/stats.py does NOT use is shown for contrast: sign flips about
a boundary without the bootstrap-t guard (the audit's defect 2).

Also written: the power of the sign-flip test next to the t-test's on Gaussian
data (what declaring a statistic discrete costs), and the largest Holm family
each n can clear with sign flips at all (p >= 2^-n).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

from harness import REPOSITORY
from harness.atomic import write_all_atomically
from harness.deciding import stats

ALPHA = stats.ALPHA
SEEDS = (5, 8, 10, 12, 16)
TABLE = REPOSITORY / "reports" / "size-grid.md"
DEFAULT_SIMS = 10_000
# Values in units of one step of accuracy on a 1,000-image test set, where the audit found the defects.
UNIT = 0.001
MIN_EFFECT = 0.001  # the audit's smallest effect of interest: d in {0, 0.003} at (2/3, 1/3) has exactly this mean
NAMED_CONSTANT = 0.99  # a value a claim names, as C2 names 99% training accuracy
MARGIN = 1.0  # an equivalence margin far wider than any shape's spread, so that only the near side of the TOST decides
POWER_EFFECTS = (0.5, 1.0)  # true mean / sd of Gaussian differences for the power table


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Shape:
    """Per-seed values with mean 0 (in `UNIT`s): a finite distribution (`values`, `probabilities`) or `draw`."""

    name: str
    symmetric: bool
    skewed_continuous: bool = False
    values: tuple[float, ...] = ()
    probabilities: tuple[float, ...] = ()
    draw: Callable[[np.random.Generator, int, int], np.ndarray] | None = field(default=None, compare=False)

    @property
    def exact(self) -> bool:
        return self.draw is None

    @property
    def continuous(self) -> bool:
        """Drawn from a density: values almost surely all distinct (Gaussian, t, gamma)."""
        return self.draw is not None and self.name != NEAR_TWO_POINT

    def samples(self, n: int, sims: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(rows, weights): every composition of n draws with its probability, or `sims` equally weighted draws."""
        if self.draw is not None:
            return self.draw(rng, sims, n), np.full(sims, 1.0 / sims)
        rows, weights = [], []
        for counts in compositions(n, len(self.values)):
            rows.append(np.repeat(self.values, counts))
            weights.append(scipy_stats.multinomial.pmf(counts, n, self.probabilities))
        return np.array(rows), np.array(weights)


def compositions(n: int, parts: int) -> Iterator[tuple[int, ...]]:
    """Every tuple of `parts` non-negative counts summing to n (stars and bars)."""
    for bars in itertools.combinations(range(n + parts - 1), parts - 1):
        edges = (-1, *bars, n + parts - 1)
        yield tuple(edges[i + 1] - edges[i] - 1 for i in range(parts))


def _gamma(shape_k: float, sign: float) -> Callable[[np.random.Generator, int, int], np.ndarray]:
    def draw(rng: np.random.Generator, sims: int, n: int) -> np.ndarray:
        return sign * (rng.gamma(shape_k, 1.0, (sims, n)) - shape_k) / math.sqrt(shape_k)
    return draw


def _near_two_point(rng: np.random.Generator, sims: int, n: int) -> np.ndarray:
    return rng.choice((-1.0, 1.0), (sims, n)) * rng.integers(94, 107, (sims, n)) / 1000 / UNIT


# The audit's skewed two-point: d in {0, 3} units at (2/3, 1/3), mean 1, centred. Its skewness, 1/sqrt(2),
# is the continuous skewed shape's too: a gamma with shape 8 (skewness 2 / sqrt(8)).
SKEW_GAMMA_SHAPE = 8.0
NEAR_TWO_POINT = "near-two-point ±(94..106)/1000"  # drawn, but on 26 values: few-valued, not continuous
SHAPES = (
    Shape("Gaussian", True, draw=lambda rng, sims, n: rng.normal(0.0, 1.0, (sims, n))),
    Shape("t, 3 df", True, draw=lambda rng, sims, n: rng.standard_t(3, (sims, n))),
    Shape("symmetric two-point ±1", True, values=(-1.0, 1.0), probabilities=(0.5, 0.5)),
    Shape(NEAR_TWO_POINT, True, draw=_near_two_point),
    Shape("symmetric 3-valued {-1, 0, 1}", True, values=(-1.0, 0.0, 1.0), probabilities=(1 / 3,) * 3),
    Shape("symmetric 5-valued {-2..2}", True, values=(-2.0, -1.0, 0.0, 1.0, 2.0), probabilities=(0.2,) * 5),
    Shape("skewed two-point {-1, +2} at (2/3, 1/3)", False, values=(-1.0, 2.0), probabilities=(2 / 3, 1 / 3)),
    Shape("skewed two-point {-2, +1} at (1/3, 2/3)", False, values=(-2.0, 1.0), probabilities=(1 / 3, 2 / 3)),
    Shape(f"skewed continuous: gamma({SKEW_GAMMA_SHAPE:g}), long right tail", False, skewed_continuous=True,
          draw=_gamma(SKEW_GAMMA_SHAPE, 1.0)),
    Shape(f"skewed continuous: gamma({SKEW_GAMMA_SHAPE:g}), long left tail", False, skewed_continuous=True,
          draw=_gamma(SKEW_GAMMA_SHAPE, -1.0)),
)


# --------------------------------------------------------------------------- rules


def _rejects(x: np.ndarray, boundary: float, tail: int, discrete: bool) -> np.ndarray:
    """`stats.mean_tails` < alpha: the test harness/deciding/stats.py runs for a statistic of this kind. For the
    discrete kind about a boundary != 0 only rows whose sign-flip p is below alpha can reject (the boundary p is
    never below it: tests/test_stats.py), so the bootstrap runs on those alone."""
    if not discrete or boundary == 0.0:
        return stats.mean_tails(x, boundary, discrete=discrete)[tail] < ALPHA
    out = stats.sign_flip_tails(x - boundary)[tail] < ALPHA
    if out.any():
        out[out] = stats.mean_tails(x[out], boundary, discrete=True)[tail] < ALPHA
    return out


def _tost_rejects(x: np.ndarray, margin: float, discrete: bool) -> np.ndarray:
    """`stats.equivalence_tails` < alpha, for data whose mean sits on +margin (pre-filtered as above)."""
    if not discrete:
        return stats.equivalence_tails(x, margin, discrete=False)[0] < ALPHA
    out = stats.sign_flip_tails(x - margin)[1] < ALPHA
    if out.any():
        out[out] = stats.equivalence_tails(x[out], margin, discrete=True)[0] < ALPHA
    return out


@dataclass(frozen=True)
class Rule:
    """A decision of harness/deciding/stats.py: what it says, where its null boundary lies, and on which shapes it
    promises size <= alpha (`promised`; None: shown for contrast, not used by the harness)."""

    name: str
    says: str
    rejects: Callable[[np.ndarray], np.ndarray] = field(compare=False)  # rows of values (mean on the boundary)
    boundary: float
    promised: Callable[[Shape], bool] | None = field(compare=False)


def _symmetric(shape: Shape) -> bool:
    return shape.symmetric


def _symmetric_continuous(shape: Shape) -> bool:
    return shape.symmetric and shape.continuous


def _not_continuous_skew(shape: Shape) -> bool:
    return not shape.skewed_continuous


RULES = (
    Rule("t: superiority", "continuous kind, SUPPORTED: mean > 0 (t-test)",
         lambda x: _rejects(x, 0.0, 0, False), 0.0, _symmetric_continuous),
    Rule("t: opposite direction", "continuous kind, REFUTED: mean < 0 (t-test)",
         lambda x: _rejects(x, 0.0, 1, False), 0.0, _symmetric_continuous),
    Rule("t: claimed effect excluded", f"continuous kind, REFUTED: mean < min_effect = {MIN_EFFECT:g} (t-test)",
         lambda x: _rejects(x, MIN_EFFECT, 1, False), MIN_EFFECT, _symmetric_continuous),
    Rule("t: above a named constant", f"continuous kind, SUPPORTED: mean > popmean = {NAMED_CONSTANT:g} (t-test)",
         lambda x: _rejects(x, NAMED_CONSTANT, 0, False), NAMED_CONSTANT, _symmetric_continuous),
    Rule("t: TOST", f"continuous kind, SUPPORTED: |mean| < margin = {MARGIN:g}, true mean on +margin (t per side)",
         lambda x: _tost_rejects(x, MARGIN, False), MARGIN, _symmetric_continuous),
    Rule("discrete: superiority", "discrete kind, SUPPORTED: mean > 0 (exact sign flips)",
         lambda x: _rejects(x, 0.0, 0, True), 0.0, _symmetric),
    Rule("discrete: opposite direction", "discrete kind, REFUTED: mean < 0 (exact sign flips)",
         lambda x: _rejects(x, 0.0, 1, True), 0.0, _symmetric),
    Rule("discrete: claimed effect excluded",
         f"discrete kind, REFUTED: mean < min_effect = {MIN_EFFECT:g} (boundary test)",
         lambda x: _rejects(x, MIN_EFFECT, 1, True), MIN_EFFECT, _not_continuous_skew),
    Rule("discrete: above a named constant",
         f"discrete kind, SUPPORTED: mean > popmean = {NAMED_CONSTANT:g} (boundary test)",
         lambda x: _rejects(x, NAMED_CONSTANT, 0, True), NAMED_CONSTANT, _not_continuous_skew),
    Rule("discrete: TOST",
         f"discrete kind, SUPPORTED: |mean| < margin = {MARGIN:g}, true mean on +margin (boundary test per side)",
         lambda x: _tost_rejects(x, MARGIN, True), MARGIN, _not_continuous_skew),
    Rule("sign flips about min_effect (contrast)",
         f"mean < min_effect = {MIN_EFFECT:g} by sign flips alone, no bootstrap-t guard -- not used",
         lambda x: stats.sign_flip_tails(x - MIN_EFFECT)[1] < ALPHA, MIN_EFFECT, None),
)

# The documented exclusion: a promise the continuous kind would need and does not keep. Listed in the table.
EXCLUDED = ("The t-test (continuous kind) on a skewed continuous shape: its one-sided size in the direction of "
            "the short tail exceeds alpha at every n of the grid, n = 5 included (the t rows of the two gamma "
            "shapes above); so do sign flips, and the boundary test comes near or over the bound. A continuous "
            "statistic is assumed near-symmetric across seeds.")


# --------------------------------------------------------------------------- the grid


@dataclass(frozen=True)
class Cell:
    """One rule on one shape at one n: the size, how it was found, and the bound it is held to."""

    rule: str
    shape: str
    n: int
    size: float
    exact: bool
    sims: int | None
    promised: bool

    @property
    def standard_error(self) -> float:
        return 0.0 if self.exact else math.sqrt(ALPHA * (1 - ALPHA) / self.sims)

    @property
    def bound(self) -> float:
        return ALPHA + 3 * self.standard_error

    @property
    def within(self) -> bool:
        return self.size <= self.bound

    def as_dict(self) -> dict:
        return asdict(self) | {"standard_error": self.standard_error, "bound": self.bound, "within": self.within}


def size_cells(shapes: tuple[Shape, ...] = SHAPES, rules: tuple[Rule, ...] = RULES, seeds: tuple[int, ...] = SEEDS,
               sims: int = DEFAULT_SIMS, seed: int = 0) -> list[Cell]:
    """Every rule x shape x n cell. One set of samples per shape and n serves every rule (each rule adds its
    boundary to the mean-0 values), so the cells of one column differ by the rules alone."""
    rng = np.random.default_rng(seed)
    cells = []
    for shape in shapes:
        for n in seeds:
            values, weights = shape.samples(n, sims, rng)
            for rule in rules:
                rejected = rule.rejects(rule.boundary + UNIT * values)
                cells.append(Cell(
                    rule.name, shape.name, n, float(np.sum(weights[rejected])), shape.exact,
                    None if shape.exact else sims, rule.promised is not None and rule.promised(shape),
                ))
    return cells


@dataclass(frozen=True)
class Power:
    """P(SUPPORTED) at one-sided alpha for Gaussian differences with mean `effect` sd, by each test."""

    effect: float
    n: int
    t_analytic: float
    t_test: float
    sign_flips: float
    boundary_test: float
    sims: int


def power_rows(effects: tuple[float, ...] = POWER_EFFECTS, seeds: tuple[int, ...] = SEEDS,
               sims: int = DEFAULT_SIMS, seed: int = 1) -> list[Power]:
    """Simulated power of the continuous kind's t-test and the discrete kind's sign-flip test (against 0) and
    boundary test (against a boundary the mean lies `effect` sd beyond), on the same Gaussian samples; the
    t-test's analytic power (`stats.power_t`) checks the simulation."""
    rng = np.random.default_rng(seed)
    rows = []
    for effect in effects:
        for n in seeds:
            x = rng.normal(effect, 1.0, (sims, n)) * UNIT
            rows.append(Power(
                effect, n, stats.power_t(effect, n), float(np.mean(_rejects(x, 0.0, 0, False))),
                float(np.mean(_rejects(x, 0.0, 0, True))),
                float(np.mean(_rejects(x + NAMED_CONSTANT, NAMED_CONSTANT, 0, True))), sims,
            ))
    return rows


def holm_reach(seeds: tuple[int, ...] = SEEDS) -> list[dict]:
    """Per n: the smallest sign-flip p, 2^-n, and the largest family m with 2^-n < alpha / m (Holm's first step)."""
    return [{"n": n, "smallest_p": 0.5**n, "largest_family": math.ceil(ALPHA * 2**n) - 1} for n in seeds]


# --------------------------------------------------------------------------- the table


def code_digest() -> str:
    """sha256 of the code the table measures (the statistics and this grid): a table from other code is stale."""
    digest = hashlib.sha256()
    for module in (Path(stats.__file__), Path(__file__)):
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def grid_facts(sims: int = DEFAULT_SIMS, seed: int = 0) -> dict:
    """Everything the table shows, as plain data (what the .json holds)."""
    start = time.perf_counter()
    cells = size_cells(sims=sims, seed=seed)
    power = power_rows(sims=sims, seed=seed + 1)
    return {
        "command": "python -m harness.deciding.size_grid " + f"--sims {sims} --seed {seed}",
        "code_sha256": code_digest(),
        "alpha": ALPHA,
        "sims": sims,
        "seed": seed,
        "seconds": round(time.perf_counter() - start, 1),
        "rules": [{"name": r.name, "says": r.says, "used": r.promised is not None} for r in RULES],
        "excluded": EXCLUDED,
        "cells": [c.as_dict() for c in cells],
        "power": [asdict(p) for p in power],
        "holm_reach": holm_reach(),
    }


def _size_table(cells: list[dict], heading: str) -> list[str]:
    lines = [heading, "", "| rule | shape | how | " + " | ".join(f"n = {n}" for n in SEEDS) + " |",
             "|---|---|---|" + "---:|" * len(SEEDS)]
    rows: dict[tuple[str, str], dict[int, dict]] = {}
    for c in cells:
        rows.setdefault((c["rule"], c["shape"]), {})[c["n"]] = c
    for (rule, shape), by_n in rows.items():
        how = "exact" if next(iter(by_n.values()))["exact"] else "simulated"
        marks = [f"{by_n[n]['size']:.4f}" + ("" if by_n[n]["within"] else " **>**") for n in SEEDS]
        lines.append(f"| {rule} | {shape} | {how} | " + " | ".join(marks) + " |")
    return lines


def render(facts: dict) -> str:
    """The markdown table."""
    sims, alpha = facts["sims"], facts["alpha"]
    bound = alpha + 3 * math.sqrt(alpha * (1 - alpha) / sims)
    promised = [c for c in facts["cells"] if c["promised"]]
    outside = [c for c in facts["cells"] if not c["promised"]]
    worst = max(promised, key=lambda c: c["size"] - c["bound"])
    lines = [
        "# Size of the decision rules over data shapes (generated)",
        "",
        (f"Generated by `{facts['command']}` (harness/deciding/stats.py and size_grid.py: sha256 {facts['code_sha256']}..., "
        f"{facts['seconds']:g} s); the numbers are in `size-grid.json`. Do not edit by hand."),
        "",
        (f"Size: the probability that a rule rejects (one-sided, alpha = {alpha:g}) when the true mean sits exactly "
        f"on its null boundary. Values are in units of {UNIT:g} (one step of accuracy on 1,000 test images) around "
        "the boundary. Exact cells sum over every composition of the n seeds' values; simulated cells use "
        f"{sims} samples, standard error {math.sqrt(alpha * (1 - alpha) / sims):.4f}, bound "
        f"alpha + 3 s.e. = {bound:.4f}. A cell over its bound is marked **>**."),
        "",
        "The rules (harness/deciding/stats.py):",
        "",
        *[f"- **{r['name']}**: {r['says']}" for r in facts["rules"]],
        "",
        *_size_table(promised, "## Promised: size <= alpha (tests/test_size_grid.py asserts every cell)"),
        "",
        (f"Worst promised cell: {worst['rule']}, {worst['shape']}, n = {worst['n']}: {worst['size']:.4f} "
        f"(bound {worst['bound']:.4f})."),
        "",
        *_size_table(outside, "## Outside the promises (shown, not asserted)"),
        "",
        ("The t rules promise symmetric continuous shapes only: on values on a few levels their size exceeds "
         "alpha, which is why such statistics are declared discrete (harness/deciding/stats.py). Skewed values are no null "
         "of the sign-flip test (its null, symmetry, is what \"no difference between two exchangeable variants\" "
         "implies); a continuous skew whose long tail n seeds did not sample makes every test of a mean "
         "over-reject, and the boundary test's bootstrap-t guard only narrows that; the contrast row shows what "
         "the harness does not do."),
        "",
        f"**Documented exclusion.** {facts['excluded']}",
        "",
        f"## Power on Gaussian data (one-sided alpha = {alpha:g}, {sims} samples)",
        "",
        ("`effect`: true mean / sd. The t-test (continuous kind) and sign flips (discrete kind) test the mean "
         "against 0; the boundary test (discrete kind), against a boundary the mean lies `effect` sd above (as "
         "for popmean or min_effect). The difference is what declaring a statistic discrete costs."),
        "",
        "| effect | n | t-test (analytic) | t-test (simulated) | sign flips | boundary test |",
        "|---:|---:|---:|---:|---:|---:|",
        *[f"| {p['effect']:g} | {p['n']} | {p['t_analytic']:.3f} | {p['t_test']:.3f} | {p['sign_flips']:.3f} | "
          f"{p['boundary_test']:.3f} |" for p in facts["power"]],
        "",
        "## What n seeds can show at all",
        "",
        ("A test exact for every symmetric shape (the discrete kind's) has p >= 2^-n. Holm over m hypotheses "
         "rejects nothing unless its smallest p is below alpha / m: the largest family each n can reach at "
         "Holm's first step."),
        "",
        "| n | smallest p | largest Holm family |",
        "|---:|---:|---:|",
        *[f"| {h['n']} | {h['smallest_p']:.3g} | {h['largest_family']} |" for h in facts["holm_reach"]],
        "",
    ]
    return "\n".join(lines)


def write(facts: dict, out: Path) -> None:
    """The table at `out` and its numbers beside it (.json), written together: both or neither."""
    data, text = json.dumps(facts, indent=1) + "\n", render(facts)
    write_all_atomically([(out.with_suffix(".json"), lambda f: f.write(data.encode())),
                          (out, lambda f: f.write(text.encode()))])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=DEFAULT_SIMS, help="samples per simulated cell")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=TABLE)
    args = parser.parse_args(argv)
    if args.out.suffix == ".json":
        parser.error(f"--out {args.out}: its numbers are written beside it as .json, over the table; name it .md")
    if args.seed < 0:
        parser.error(f"--seed {args.seed}: a seed is a non-negative integer")
    if args.sims < 100:
        parser.error(f"--sims {args.sims} is too few for a size near alpha = {ALPHA}; use at least 100")
    facts = grid_facts(args.sims, args.seed)
    write(facts, args.out)
    over = [c for c in facts["cells"] if c["promised"] and not c["within"]]
    print(f"wrote {args.out} ({len(facts['cells'])} cells, {facts['seconds']:g} s); promised cells over their "
          f"bound: {len(over)}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
