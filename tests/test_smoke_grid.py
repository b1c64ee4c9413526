"""claims/smoke_grid.py: its grid points are checked when given, and a kept seed set's result is reused only
where everything that decided it is unchanged."""

import argparse

import pytest

from claims import smoke_grid
from harness.config import MIN_EPOCHS


@pytest.mark.parametrize("point", ["0x24", "-5x12", f"100x{MIN_EPOCHS - 1}", "100-24", "axb"])
def test_a_point_that_cannot_train_is_refused_when_given(point):
    with pytest.raises(argparse.ArgumentTypeError, match="TRAIN_PER_CLASSxEPOCHS|at least 1 training image"):
        smoke_grid.parse_point(point)


def test_a_kept_result_is_reused_only_when_nothing_that_decided_it_changed(tmp_path, monkeypatch):
    decided = []

    def fake_run_set(index, other_isa, args, tmp, train_only, config):
        decided.append((index, other_isa))
        return {"set": index, "decided": len(decided)}

    monkeypatch.setattr(smoke_grid, "run_set", fake_run_set)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    args = argparse.Namespace(cache_dir=str(tmp_path))
    tier = smoke_grid.parse_point("100x24")
    first = smoke_grid.decided_set(0, False, args, tmp_path, tier, "100x24")
    assert smoke_grid.decided_set(0, False, args, tmp_path, tier, "100x24") == first and len(decided) == 1
    smoke_grid.decided_set(0, False, args, tmp_path, smoke_grid.parse_point("100x12"), "100x24")  # another tier
    assert len(decided) == 2
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=AVX")  # another numeric path
    smoke_grid.decided_set(0, False, args, tmp_path, tier, "100x24")
    assert len(decided) == 3
    for kept in (tmp_path / "grid-results").glob("*.json"):
        kept.write_text("{ damaged")
    smoke_grid.decided_set(0, False, args, tmp_path, tier, "100x24")  # decided again, not a JSONDecodeError
    assert len(decided) == 4
