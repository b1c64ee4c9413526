"""Every decision rule of harness/deciding/stats.py keeps size <= alpha on every data shape it promises.

The grid (harness/deciding/size_grid.py): rules x shapes x n in {5, 8, 10, 12, 16}, exact
for shapes on a few values, simulated otherwise. The committed table
(reports/size-grid.md/.json) holds the whole grid at its simulation size; here
it is checked to come from the current statistics code, to be complete, within
its bounds and the rendering of its numbers, and a corner of it (n = 5 and 8,
`CI_SIMS` samples per simulated cell) is recomputed: the exact cells must equal
the file's, every promised cell must be within its bound. `pytest -m size_grid`
recomputes the whole grid at the table's size (minutes).
"""

from __future__ import annotations

import json

import pytest

from harness import REPOSITORY
from harness.deciding import size_grid
from harness.deciding.stats import ALPHA

CI_SIMS = 300
CI_SEEDS = (5, 8)


def _over(cells: list) -> str:
    return "\n".join(f"  {c.rule} | {c.shape} | n={c.n}: size {c.size:.4f} > bound {c.bound:.4f}" for c in cells)


def _committed() -> dict:
    return json.loads(size_grid.TABLE.with_suffix(".json").read_text())


def test_a_corner_of_the_grid_recomputed_agrees_with_the_table_and_keeps_every_promise():
    cells = size_grid.size_cells(sims=CI_SIMS, seeds=CI_SEEDS)
    assert len(cells) == len(size_grid.RULES) * len(size_grid.SHAPES) * len(CI_SEEDS)
    over = [c for c in cells if c.promised and not c.within]
    assert not over, f"{len(over)} promised cells exceed alpha + 3 s.e.:\n{_over(over)}"
    table = {(c["rule"], c["shape"], c["n"]): c["size"] for c in _committed()["cells"] if c["exact"]}
    for c in cells:
        if c.exact:
            assert c.size == pytest.approx(table[(c.rule, c.shape, c.n)], abs=1e-12), (c.rule, c.shape, c.n)


def test_each_kind_promises_the_shapes_of_its_null():
    """The t rules promise the symmetric continuous shapes; sign flips every symmetric shape; the discrete
    kind's boundary rules every shape but a continuous skew, the audit's skewed two-point included. The
    continuous skew is a documented exclusion of the t rules, named in the table."""
    shapes = size_grid.SHAPES
    symmetric = {s.name for s in shapes if s.symmetric}
    symmetric_continuous = {s.name for s in shapes if s.symmetric and s.continuous}
    assert symmetric_continuous == {"Gaussian", "t, 3 df"}
    skewed_two_point = {s.name for s in shapes if s.exact and not s.symmetric}
    skewed_continuous = {s.name for s in shapes if s.skewed_continuous}
    assert len(skewed_two_point) == 2 and len(skewed_continuous) == 2
    used = {r.name: {s.name for s in shapes if r.promised(s)} for r in size_grid.RULES if r.promised is not None}
    t_rules = [name for name in used if name.startswith("t:")]
    discrete_rules = [name for name in used if name.startswith("discrete:")]
    assert len(t_rules) == len(discrete_rules) == 5
    for name in t_rules:
        assert used[name] == symmetric_continuous, name
    for name in discrete_rules:
        assert used[name] >= symmetric, name
        boundary = next(r.boundary for r in size_grid.RULES if r.name == name)
        if boundary != 0.0:
            assert used[name] == {s.name for s in shapes} - skewed_continuous, name
    assert "skewed continuous" in size_grid.EXCLUDED and size_grid.EXCLUDED in size_grid.TABLE.read_text()


def _one_cell(rule: str, shape_prefix: str, n: int) -> size_grid.Cell:
    (cell,) = size_grid.size_cells(shapes=tuple(s for s in size_grid.SHAPES if s.name.startswith(shape_prefix)),
                                   rules=tuple(r for r in size_grid.RULES if r.name == rule), seeds=(n,))
    assert cell.exact
    return cell


def test_exact_cells_agree_with_hand_computation_and_the_grid_sees_the_old_defects():
    # +-1 values, n = 5: only the all-positive pattern reaches p = 1/32 < alpha
    assert _one_cell("discrete: superiority", "symmetric two-point", 5).size == pytest.approx(1 / 32)
    # The audit's skewed two-point, d in {0, 3} at (2/3, 1/3) around min_effect: sign flips alone about the
    # boundary reject whenever all n seeds sit at 0, probability (2/3)^5 = 0.132 at n = 5. The grid shows it
    # (a contrast row) and the discrete kind's boundary test does not do it.
    contrast = _one_cell("sign flips about min_effect (contrast)", "skewed two-point {-1, +2}", 5)
    assert contrast.size == pytest.approx((2 / 3) ** 5) and not contrast.within
    assert _one_cell("discrete: claimed effect excluded", "skewed two-point {-1, +2}", 5).size <= ALPHA
    # A t-test on symmetric 3-valued differences at n = 5 exceeds alpha, exactly: such a statistic is discrete
    assert _one_cell("t: superiority", "symmetric 3-valued", 5).size > ALPHA


@pytest.mark.size_grid
def test_the_grid_at_the_tables_size(request):
    """The committed table's simulation size (minutes on one core): `pytest tests/test_size_grid.py -m size_grid`."""
    if "size_grid" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the large grid runs only when selected: pytest tests/test_size_grid.py -m size_grid")
    large = size_grid.size_cells(sims=_committed()["sims"])
    over = [c for c in large if c.promised and not c.within]
    assert not over, _over(over)


def test_the_committed_table_is_current_complete_and_within_its_bounds():
    facts = _committed()
    regenerate = "regenerate it with python -m harness.deciding.size_grid"
    assert facts["code_sha256"] == size_grid.code_digest(), (
        f"reports/size-grid.json was computed from another harness/deciding/stats.py or harness/deciding/size_grid.py: {regenerate}")
    expected = {(r.name, s.name, n) for r in size_grid.RULES for s in size_grid.SHAPES for n in size_grid.SEEDS}
    assert {(c["rule"], c["shape"], c["n"]) for c in facts["cells"]} == expected, f"stale grid: {regenerate}"
    over = [c for c in facts["cells"] if c["promised"] and not c["within"]]
    assert not over, over
    assert all(c["within"] == (c["size"] <= c["bound"]) for c in facts["cells"])
    assert size_grid.TABLE.read_text() == size_grid.render(facts), (
        "reports/size-grid.md is not the rendering of size-grid.json: regenerate both, never edit them")
    assert (REPOSITORY / "README.md").read_text().count("reports/size-grid.md") >= 1


@pytest.mark.parametrize("argv, message", [(["--out", "table.json"], "name it .md"),
                                           (["--seed", "-1"], "a seed is a non-negative integer")])
def test_bad_options_are_refused_before_the_grid_is_computed(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(size_grid, "grid_facts", lambda *_: pytest.fail("the grid was computed"))
    with pytest.raises(SystemExit):
        size_grid.main(argv)
    assert message in capsys.readouterr().err
