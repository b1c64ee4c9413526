"""The planted bugs of claims/mutants.py: each still applies to the source, and one is caught end to end.

The whole mutation suite (every bug on the smoke tier, judged by the pins and
by the drift test) is `python -m claims.mutants`; here one bug goes through
the same path on a tiny configuration: the source copied, the line changed,
the copy trained in a process of its own, its levels tested for drift against
calibration seed sets of the same configuration trained here.
"""

import argparse
import json
import os
from pathlib import Path

import pytest
from tiny_problem import tiny_cifar_config

from claims import calibrate_smoke, mutants
from claims.calibrate_smoke import SMOKE_CONFIG, smoke_config, worker_command
from harness import REPOSITORY
from harness.config import RunConfig
from harness.data.cifar10 import ARCHIVE_NAME, ENV_VAR, load_cifar10
from harness.deciding import drift
from harness.settings import cache_dir_of
from harness.training.input_pipeline import prepare
from harness.training.train import train_runs

# The tiny networks on ten images per class, two epochs: the drift test's machinery, not its power, is on trial.
# (tests/test_until_decided.py trains the same configuration: one compilation serves both.)
TINY = tiny_cifar_config("mutant-check")
CALIBRATION_SETS = drift.MIN_SETS


@pytest.mark.parametrize("mutant", mutants.MUTANTS + mutants.SWEEP, ids=lambda m: m.name)
def test_every_mutant_changes_exactly_one_line_of_the_source(mutant, tmp_path):
    source = REPOSITORY / mutant.path
    (tmp_path / mutant.path).parent.mkdir(parents=True)
    (tmp_path / mutant.path).write_text(source.read_text())
    mutant.plant(tmp_path)
    before, after = source.read_text().splitlines(), (tmp_path / mutant.path).read_text().splitlines()
    assert len(before) == len(after) and sum(a != b for a, b in zip(before, after)) == 1


def test_a_mutant_whose_line_is_gone_is_refused_with_the_fix(tmp_path):
    planted = tmp_path / mutants.MUTANTS[0].path
    planted.parent.mkdir(parents=True)
    planted.write_text("nothing to change here\n")
    with pytest.raises(ValueError, match="update the mutant"):
        mutants.MUTANTS[0].plant(tmp_path)


@pytest.mark.skipif(not os.environ.get(ENV_VAR), reason=f"needs the real CIFAR-10: set {ENV_VAR}")
def test_a_planted_bug_is_caught_by_the_drift_test_end_to_end(tmp_path):
    cache = cache_dir_of(None)
    cifar = load_cifar10(Path(os.environ[ENV_VAR]), cache_dir=cache)
    # The calibration: CALIBRATION_SETS disjoint seed sets of the tiny tier, each trained as the mutant's
    # worker trains its set (the same program).
    data = prepare(cifar, TINY).dataset
    calibration = [drift.record(train_runs(TINY, data, smoke_config(k, TINY).tier.seeds()), [])
                   for k in range(CALIBRATION_SETS)]
    # The bug: inputs no longer divided by their maximum, planted in a copy and trained there on the next seeds.
    # It changes the data, not the compiled programs, so the worker loads this session's compilations (the
    # session's persistent compilation cache) instead of compiling its own.
    planted = next(m for m in mutants.MUTANTS if m.name == "no-max-scaling")
    fresh = smoke_config(CALIBRATION_SETS, TINY)
    result = mutants.run(planted, os.environ[ENV_VAR], cache, tmp_path, config=fresh, levels_only=True)
    assert "error" not in result, result
    found = drift.check(calibration, result["values"])
    assert found.drifted, found.message()
    # Inputs twice too large: the first layer's activations moved most.
    assert ":train_relu_" in found.moved[0].name and found.moved[0].name.endswith("[0]"), found.message()


def test_a_missing_archive_is_refused_before_any_mutant_runs(tmp_path, capsys, monkeypatch):
    """Else every worker would crash on it, and each crash would count as a caught bug."""
    monkeypatch.setattr(mutants, "run", lambda *args, **kwargs: pytest.fail("a mutant ran"))
    out = tmp_path / "mutants.json"
    with pytest.raises(SystemExit):
        mutants.main(["--cifar10", str(tmp_path / "nowhere.tar.gz"), "--cache-dir", str(tmp_path), "--out", str(out)])
    assert "does not exist" in capsys.readouterr().err and not out.exists()


def test_the_workers_are_handed_absolute_paths_to_data_verified_here(tmp_path, monkeypatch):
    """A worker runs in another folder with a cache of its own: a relative path, or an archive found only in this
    command's cache, would be missing there, and every mutant's crash on it would count as a caught bug."""
    verified = []
    monkeypatch.setattr(calibrate_smoke, "load_cifar10", lambda source, cache_dir: verified.append(source))
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    here = tmp_path.resolve()
    for folder in ("data", "cache"):
        (here / folder).mkdir()
        (here / folder / ARCHIVE_NAME).write_bytes(b"")
    given = argparse.Namespace(cifar10=f"data/{ARCHIVE_NAME}", cache_dir="cache")
    calibrate_smoke.settle_worker_paths(argparse.ArgumentParser(), given)
    assert (given.cifar10, given.cache_dir) == (str(here / "data" / ARCHIVE_NAME), str(here / "cache"))
    found_in_cache = argparse.Namespace(cifar10=None, cache_dir="cache")
    calibrate_smoke.settle_worker_paths(argparse.ArgumentParser(), found_in_cache)
    assert found_in_cache.cifar10 == str(here / "cache" / ARCHIVE_NAME)
    assert verified == [here / "data" / ARCHIVE_NAME, here / "cache" / ARCHIVE_NAME]


def test_a_pinned_hypothesis_left_undecided_counts_as_flipped(monkeypatch):
    quiet = drift.Drift(sets=16, values=1, max_statistic=0.0, max_threshold=4.0, tail_df=5.0, tail_scale=1.0,
                        moved=(), unmodelled=(), missing=())
    monkeypatch.setattr(mutants.drift, "check", lambda calibration, values: quiet)
    monkeypatch.setattr(mutants.drift, "calibration_records", lambda values: [])
    expectations = {"hypotheses": {"C1": {"pinned": "SUPPORTED"}, "C2": {"pinned": "REFUTED"}, "C3": {"pinned": None}},
                    "values": {}}
    kept = mutants.judge({"hypotheses": {"C1": {"verdict": "SUPPORTED"}, "C2": {"verdict": "REFUTED"}},
                          "values": {}}, expectations)
    assert kept["pins_flipped"] == [] and not kept["caught"]
    lost = mutants.judge({"hypotheses": {"C2": {"verdict": "REFUTED"}}, "values": {}}, expectations)
    assert lost["pins_flipped"] == ["C1"] and lost["caught"]


def test_the_decoded_data_are_copied_where_they_cannot_be_linked(tmp_path, monkeypatch):
    source = tmp_path / "cache"
    source.mkdir()
    (source / "cifar10-abc.npz").write_bytes(b"decoded")

    def cross_device(*_):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(mutants.os, "link", cross_device)
    mutants.link_decoded_data(source, tmp_path / "copy")
    assert (tmp_path / "copy" / "cifar10-abc.npz").read_bytes() == b"decoded"


def test_a_graded_mutant_of_an_unknown_parameter_is_refused():
    with pytest.raises(ValueError, match="choose lr, rate or mask"):
        mutants.graded("momentum", 2.0)


def test_the_worker_is_told_its_configuration_unless_it_is_the_smoke_tiers(tmp_path):
    """What claims/smoke_grid.py's candidates and the test above pass reaches the worker whole; the smoke
    tier's own seed sets carry no --config (the worker's default)."""
    def told(config) -> RunConfig | None:
        command = worker_command(3, tmp_path, tmp_path / "result.json", None, config)
        return RunConfig.from_dict(json.loads(command[command.index("--config") + 1])) if "--config" in command else None

    assert told(SMOKE_CONFIG) is None and smoke_config(0) == SMOKE_CONFIG
    assert told(TINY) == TINY and told(smoke_config(2, TINY)).tier.first_seed == TINY.tier.first_seed + 6


def test_each_finished_mutant_is_written_at_once_and_the_other_rows_stay(tmp_path, monkeypatch):
    """An interrupted sweep (hours on a CPU) keeps what it finished, and the rows of the mutants it did not reach."""
    out = tmp_path / "mutants.json"
    out.write_text(json.dumps({"earlier-row": {"kind": "model", "what": "kept", "pins_flipped": ["C1"], "caught": True}}))
    monkeypatch.setattr(mutants, "settle_worker_paths", lambda parser, args: None)
    monkeypatch.setattr(mutants, "judge", lambda result, expectations: {"pins_flipped": [], "caught": result["caught"]})
    first, second = mutants.MUTANTS[:2]

    def run(mutant, *args, **kwargs):
        if mutant is second:
            raise KeyboardInterrupt
        return {"caught": False}

    monkeypatch.setattr(mutants, "run", run)
    with pytest.raises(KeyboardInterrupt):
        mutants.main(["--only", first.name, second.name, "--out", str(out), "--cache-dir", str(tmp_path)])
    rows = json.loads(out.read_text())
    assert set(rows) == {"earlier-row", first.name} and rows[first.name]["caught"] is False


def test_the_control_changes_nothing_runs_first_and_its_alarm_is_told(tmp_path, monkeypatch, capsys):
    """The unmodified copy is judged like a mutant: flagged, it says the numeric path alone moves the values."""
    source = REPOSITORY / mutants.CONTROL.path
    (tmp_path / mutants.CONTROL.path).parent.mkdir(parents=True)
    (tmp_path / mutants.CONTROL.path).write_text(source.read_text())
    mutants.CONTROL.plant(tmp_path)
    assert (tmp_path / mutants.CONTROL.path).read_text() == source.read_text()

    ran = []
    monkeypatch.setattr(mutants, "settle_worker_paths", lambda parser, args: None)
    monkeypatch.setattr(mutants, "run", lambda mutant, *args, **kwargs: ran.append(mutant.name) or {})
    monkeypatch.setattr(mutants, "judge", lambda result, expectations: {"pins_flipped": [], "caught": True})
    out = tmp_path / "mutants.json"
    mutants.main(["--only", mutants.MUTANTS[0].name, mutants.CONTROL.name, "--out", str(out),
                  "--cache-dir", str(tmp_path)])
    assert ran == [mutants.CONTROL.name, mutants.MUTANTS[0].name]
    printed = capsys.readouterr().out
    assert "is flagged on this numeric path" in printed
    assert f"| {mutants.CONTROL.name} | none |" in printed and "| false alarm |" in printed
    row = json.loads(out.read_text())[mutants.CONTROL.name]
    assert row["path"] and row["commit"] and row["generated"]
