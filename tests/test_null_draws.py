"""claims/null_draws.py's pieces: which seeds each draw trains, one set cut out of many, the counts and their bounds.
The command itself trains hundreds of smoke seed sets (a GPU job); its output is reports/reference/null-draws.json."""

import json

import numpy as np
import pytest
from tiny_problem import tiny_config

from claims import null_draws
from claims.calibrate_smoke import smoke_config
from harness.deciding import drift
from harness.training.train import train_runs


@pytest.fixture(autouse=True)
def _locks_in_tmp_path(tmp_path, monkeypatch):
    """The result file's lock lives in the system's temporary folder: here, in the test's own."""
    monkeypatch.setattr(null_draws.tempfile, "gettempdir", lambda: str(tmp_path))


def test_programs_cover_the_sets_once_in_order():
    programs = null_draws.batches(16, 65, 30)
    assert [(b.start, b.stop) for b in programs] == [(16, 46), (46, 76), (76, 81)]


@pytest.mark.parametrize("sets", [range(16, 19), range(40, 41)])
def test_a_program_trains_exactly_the_seeds_the_calibration_numbers_its_sets_by(sets):
    config = null_draws.program_config(sets)
    assert config.tier.seeds() == tuple(s for k in sets for s in smoke_config(k).tier.seeds())
    assert config.protocol == smoke_config(0).protocol and config.tier.epochs == smoke_config(0).tier.epochs


def test_one_set_cut_out_of_many_is_a_run_set_of_its_seeds(tiny_data):
    config = tiny_config()  # two seeds, as other tests train: its programs are compiled once for all of them
    runs = train_runs(config, tiny_data, config.tier.seeds())
    part = runs.of_seeds(slice(1, 2))
    assert part.seeds == runs.seeds[1:] and part.config.tier.seeds() == part.seeds
    assert part.curves["test_accuracy"].shape == (2, 1, config.tier.epochs + 1)
    np.testing.assert_array_equal(part.params["Dense_0"]["kernel"], runs.params["Dense_0"]["kernel"][:, 1:])
    assert drift.record(part, []) == drift.record(runs, [], seeds=slice(1, 2))


def test_the_counts_and_their_exact_bounds():
    def draws(n, drifted=(), pinned=()):
        return [{"set": k, "drift": {"drifted": k in drifted, "max_statistic": 1.0 + (k in drifted), "max_threshold": 1.5},
                 "pins_changed": ["C1"] if k in pinned else [], "path": "gpu:H100" if k < 60 else "cpu with AVX"}
                for k in range(n)]

    clean = null_draws.summary(draws(368))
    assert clean["drift"]["alarms"] == 0 and clean["drift"]["upper_95"] < 0.01 <= null_draws.summary(draws(367))["drift"]["upper_95"]
    mixed = null_draws.summary(draws(100, drifted={3, 7}, pinned={7, 9}))
    assert (mixed["drift"]["alarms"], mixed["pins"]["alarms"], mixed["either"]["alarms"]) == (2, 2, 3)
    assert mixed["drift"]["low_95"] < 0.02 < mixed["drift"]["upper_95"] and mixed["max_to_threshold"] == 2.0 / 1.5
    assert mixed["draws_by_path"] == {"cpu with AVX": 40, "gpu:H100": 60}
    assert "2 of 100 fresh seed sets" in null_draws.describe({"summary": mixed})
    assert "40 drawn on cpu with AVX" in null_draws.describe({"summary": mixed})


def test_each_draw_names_its_numeric_path(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", " --xla_cpu_max_isa=AVX ")
    assert null_draws.numeric_path().endswith(" with --xla_cpu_max_isa=AVX")
    monkeypatch.delenv("XLA_FLAGS")
    assert "--xla" not in null_draws.numeric_path() and null_draws.numeric_path().startswith("cpu:")


def test_a_calibration_of_another_configuration_is_refused_with_the_fix(tmp_path, capsys):
    stale = tmp_path / "expectations.json"
    stale.write_text(json.dumps({"provenance": {"config_key": "other"}}))
    with pytest.raises(SystemExit):
        null_draws.main(["--expectations", str(stale), "--out", str(tmp_path / "out.json")])
    assert "recalibrate first (python -m claims.calibrate_smoke)" in capsys.readouterr().err


def test_draws_judged_against_another_calibration_are_not_continued(tmp_path, capsys):
    earlier = tmp_path / "out.json"
    earlier.write_text(json.dumps({"draws": [{"set": 16}], "provenance": {"calibration": {"generated": "before"}}}))
    with pytest.raises(SystemExit):
        null_draws.main(["--out", str(earlier)])
    assert "judged against another calibration" in capsys.readouterr().err


def test_a_missing_calibration_or_a_first_set_inside_it_is_refused_with_the_fix(tmp_path, capsys):
    with pytest.raises(SystemExit):
        null_draws.main(["--expectations", str(tmp_path / "none.json"), "--out", str(tmp_path / "out.json")])
    assert "cannot read the smoke calibration" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        null_draws.main(["--first-set", "3", "--out", str(tmp_path / "out.json")])
    assert "--first-set 3 reuses seeds of the calibration's sets" in capsys.readouterr().err


def test_a_second_run_into_the_same_file_is_refused_while_the_first_draws(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(null_draws, "local_cifar10", lambda *args: pytest.fail("the second run went on to draw"))
    out = tmp_path / "draws.json"
    with null_draws.writer_lock(out), pytest.raises(SystemExit):  # another cache: the lock is the file's
        null_draws.main(["--out", str(out), "--cache-dir", str(tmp_path / "another-cache")])
    assert f"another python -m claims.null_draws is drawing into {out}" in capsys.readouterr().err
    assert not out.exists()
