"""Every decision rule of harness/stats.py keeps size <= alpha on every data shape it promises.

The grid (harness/size_grid.py): rules x shapes x n in {5, 8, 10, 12, 16}, exact
for shapes on a few values, simulated otherwise. Here at `CI_SIMS` samples per
simulated cell; `pytest -m size_grid` runs it at the committed table's size.
The committed table (reports/size-grid.md) is checked to be the rendering of
its numbers, complete and within its bounds.
"""

from __future__ import annotations

import json

import pytest

from harness import REPOSITORY, size_grid
from harness.stats import ALPHA

CI_SIMS = 2000


def _over(cells: list) -> str:
    return "\n".join(f"  {c.rule} | {c.shape} | n={c.n}: size {c.size:.4f} > bound {c.bound:.4f}" for c in cells)


@pytest.fixture(scope="module")
def cells() -> list[size_grid.Cell]:
    return size_grid.size_cells(sims=CI_SIMS)


def test_every_promised_cell_is_within_its_bound(cells):
    promised = [c for c in cells if c.promised]
    over = [c for c in promised if not c.within]
    assert not over, f"{len(over)} of {len(promised)} promised cells exceed alpha + 3 s.e.:\n{_over(over)}"


def test_the_grid_covers_every_rule_shape_and_n(cells):
    assert len(cells) == len(size_grid.RULES) * len(size_grid.SHAPES) * len(size_grid.SEEDS)
    used = [r for r in size_grid.RULES if r.promised is not None]
    assert {r.name for r in used} >= {"superiority", "opposite direction", "claimed effect excluded", "TOST"}
    for rule in used:
        promised = {c.shape for c in cells if c.rule == rule.name and c.promised}
        # the sign-flip rules promise every symmetric shape, the boundary rules every shape but a continuous skew
        assert promised >= {s.name for s in size_grid.SHAPES if s.symmetric}, rule.name
    boundary_rules = ("claimed effect excluded", "above a named constant", "TOST")
    skewed_two_point = {s.name for s in size_grid.SHAPES if s.exact and not s.symmetric}
    assert len(skewed_two_point) == 2
    for name in boundary_rules:
        assert skewed_two_point <= {c.shape for c in cells if c.rule == name and c.promised}, name


def _cell(cells, rule: str, shape_prefix: str, n: int) -> size_grid.Cell:
    (cell,) = [c for c in cells if c.rule == rule and c.shape.startswith(shape_prefix) and c.n == n]
    return cell


def test_exact_cells_agree_with_hand_computation_and_the_grid_sees_the_old_defects(cells):
    # +-1 values, n = 5: only the all-positive pattern reaches p = 1/32 < alpha
    assert _cell(cells, "superiority", "symmetric two-point", 5).size == pytest.approx(1 / 32)
    # The audit's skewed two-point, d in {0, 3} at (2/3, 1/3) around min_effect: sign flips alone about the
    # boundary reject whenever all n seeds sit at 0, probability (2/3)^5 = 0.132 at n = 5. The grid shows it
    # (a contrast row) and the boundary test does not do it.
    contrast = _cell(cells, "sign flips about min_effect (contrast)", "skewed two-point {-1, +2}", 5)
    assert contrast.exact and contrast.size == pytest.approx((2 / 3) ** 5) and not contrast.within
    assert _cell(cells, "claimed effect excluded", "skewed two-point {-1, +2}", 5).size <= ALPHA
    # A plain t-test on symmetric 3-valued differences at n = 5 exceeds alpha, exactly
    assert _cell(cells, "t-test (contrast)", "symmetric 3-valued", 5).size > ALPHA


@pytest.mark.size_grid
def test_the_grid_at_the_tables_size(request):
    """The committed table's simulation size (minutes on one core): `pytest tests/test_size_grid.py -m size_grid`."""
    if "size_grid" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the large grid runs only when selected: pytest tests/test_size_grid.py -m size_grid")
    large = size_grid.size_cells(sims=size_grid.DEFAULT_SIMS)
    over = [c for c in large if c.promised and not c.within]
    assert not over, _over(over)


def test_the_committed_table_is_generated_complete_and_within_its_bounds():
    facts = json.loads(size_grid.TABLE.with_suffix(".json").read_text())
    expected = {(r.name, s.name, n) for r in size_grid.RULES for s in size_grid.SHAPES for n in size_grid.SEEDS}
    assert {(c["rule"], c["shape"], c["n"]) for c in facts["cells"]} == expected, (
        "reports/size-grid.json is stale: regenerate it with python -m harness.size_grid")
    over = [c for c in facts["cells"] if c["promised"] and not c["within"]]
    assert not over, over
    assert all(c["within"] == (c["size"] <= c["bound"]) for c in facts["cells"])
    assert size_grid.TABLE.read_text() == size_grid.render(facts), (
        "reports/size-grid.md is not the rendering of size-grid.json: regenerate both, never edit them")
    assert (REPOSITORY / "README.md").read_text().count("reports/size-grid.md") >= 1
