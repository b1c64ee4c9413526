"""Run cache: hit, miss, damaged entry, wrong key, forced retraining, atomic writes."""

import json
import shutil
from types import SimpleNamespace

import jax
import numpy as np
import pytest
from tiny_problem import tiny_config, tiny_tier_data

from harness.atomic import temp_folder
from harness.training import cache, runs
from harness.training.input_pipeline import TierData
from harness.training.models import keep_probabilities
from harness.training.runs import get_runs


@pytest.fixture
def tier_data(tiny_data) -> TierData:
    return tiny_tier_data(tiny_data)


def assert_same_runs(a, b):
    assert a.config == b.config and a.seeds == b.seeds
    for name in a.curves:
        np.testing.assert_array_equal(a.curves[name], b.curves[name], err_msg=name)
    for name in a.final:
        np.testing.assert_array_equal(a.final[name], b.final[name], err_msg=name)
    np.testing.assert_array_equal(a.params["Dense_0"]["kernel"], b.params["Dense_0"]["kernel"])


def test_miss_trains_then_hit_loads_the_same_numbers(tmp_path, tier_data):
    config = tiny_config()
    trained, key = get_runs(config, tier_data, cache_dir=tmp_path)
    loaded, same_key = get_runs(config, tier_data, cache_dir=tmp_path)
    assert key == same_key
    assert trained.meta["cache"] == "miss" and loaded.meta["cache"] == "hit"
    assert_same_runs(trained, loaded)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [f"{key}.npz"]
    assert not list(temp_folder(tmp_path).glob("*"))  # no temporary files left where the writes stage them


def test_an_entry_carries_its_keep_probabilities_and_an_older_one_derives_them(tmp_path, tier_data):
    """The probes read the keep probabilities from the run set: an entry written before run sets carried them
    loads with them derived as training derives them (models.arms_of)."""
    config = tiny_config()
    trained, key = get_runs(config, tier_data, cache_dir=tmp_path)
    expected = {"baseline": (1.0,) * 4,
                "dropout": tuple(float(k) for k in keep_probabilities(config.protocol.dropout_rates))}
    assert trained.keep_probs == cache.load(tmp_path, key).keep_probs == expected
    path = cache.entry_path(tmp_path, key)
    with np.load(path) as npz:
        arrays = dict(npz)
    manifest = json.loads(arrays.pop(cache.MANIFEST).tobytes())
    del manifest["keep_probs"], manifest["digests"]
    cache._write_verified(tmp_path, path, arrays, manifest)  # as the code before keep_probs wrote it
    assert cache.load(tmp_path, key).keep_probs == expected


def test_key_covers_what_decides_the_runs():
    config = tiny_config()
    key = config.key("digest", "1")
    assert key != tiny_config(seeds=3).key("digest", "1")
    assert key != config.key("other digest", "1")
    assert key != config.key("digest", "2")


def test_the_run_identity_names_the_training_code_the_jax_build_and_the_numeric_path(tmp_path, monkeypatch):
    a, b = tmp_path / "train.py", tmp_path / "models.py"
    a.write_text("x = 1\n"), b.write_text("y = 2\n")
    before = runs.code_digest([a, b])
    a.write_text("x = 2\n")  # one character of the training code
    assert runs.code_digest([a, b]) != before
    assert {f.name for f in runs.TRAINING_CODE} >= {"train.py", "models.py", "summaries.py", "cifar10.py"}
    assert all(f.is_file() for f in runs.TRAINING_CODE)
    identity = json.loads(runs.run_identity())
    assert identity["jax"] == jax.__version__ and identity["training_code"] == runs.code_digest(runs.TRAINING_CODE)
    assert set(identity["libraries"]) >= {"flax", "optax", "numpy"}
    assert identity["settings"]["jax_enable_x64"] == str(jax.config.jax_enable_x64)
    def another(change) -> bool:
        runs.run_identity.cache_clear()
        try:
            with monkeypatch.context() as patch:
                change(patch)
                return runs.run_identity() != json.dumps(identity, sort_keys=True)
        finally:
            runs.run_identity.cache_clear()

    assert not another(lambda patch: None)
    assert another(lambda patch: patch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=AVX"))  # another numeric path
    precision = jax.config.jax_default_matmul_precision
    try:  # another setting
        other = "highest" if precision != "highest" else "bfloat16"
        assert another(lambda patch: jax.config.update("jax_default_matmul_precision", other))
    finally:
        jax.config.update("jax_default_matmul_precision", precision)
    versions = runs.library_versions()
    assert another(lambda patch: patch.setattr(runs, "library_versions", lambda: versions | {"optax": "0.0.1"}))


def test_runs_of_another_identity_are_trained_again_not_reused(tmp_path, tier_data, monkeypatch):
    config = tiny_config()
    _, key = get_runs(config, tier_data, cache_dir=tmp_path)
    monkeypatch.setattr(runs, "run_identity", lambda: "other code, build or path")
    again, other_key = get_runs(config, tier_data, cache_dir=tmp_path)
    assert other_key != key and again.meta["cache"] == "miss"


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong key"])
def test_a_damaged_entry_is_retrained_with_a_warning(tmp_path, tier_data, damage):
    config = tiny_config()
    first, key = get_runs(config, tier_data, cache_dir=tmp_path)
    path = cache.entry_path(tmp_path, key)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 3 : len(raw) // 3 + 64] = b"\x00" * 64
        path.write_bytes(bytes(raw))
    else:  # an intact entry written for another key, filed under this one, must not be trusted
        shutil.move(cache.save(tmp_path, "another-key", first), path)
    with pytest.warns(cache.CacheWarning, match="retraining"):
        again, _ = get_runs(config, tier_data, cache_dir=tmp_path)
    assert again.meta["cache"] == "miss"
    assert cache.load(tmp_path, key) is not None  # rewritten intact


def test_retrain_forces_training(tmp_path, tier_data):
    config = tiny_config()
    get_runs(config, tier_data, cache_dir=tmp_path)
    again, _ = get_runs(config, tier_data, cache_dir=tmp_path, retrain=True)
    assert again.meta["cache"] == "retrained"


def test_a_failed_write_leaves_the_old_entry_and_no_temporary_file(tmp_path, tier_data, monkeypatch):
    config = tiny_config()
    runs, key = get_runs(config, tier_data, cache_dir=tmp_path)
    before = cache.entry_path(tmp_path, key).read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        cache.save(tmp_path, key, runs)
    assert cache.entry_path(tmp_path, key).read_bytes() == before
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [f"{key}.npz"]
    assert not list(temp_folder(tmp_path).glob("*"))


def test_across_processes_every_process_keeps_a_checkpoint_of_its_own_share(tmp_path, monkeypatch):
    """Process 0 alone writes the cache; each process checkpoints its own seeds, so a killed job resumes in all."""
    keys = ("entry-a", "entry-b")
    given = {}

    def as_process(index: int) -> cache.Checkpoints:
        monkeypatch.setattr(runs.jax, "process_count", lambda: 2)
        monkeypatch.setattr(runs.jax, "process_index", lambda: index)
        monkeypatch.setattr(runs.distributed, "is_reporting_process", lambda: index == 0)
        monkeypatch.setattr(runs.distributed, "as_reporting_process_says", lambda flags: [False] * len(flags))

        def train(missing, checkpoints, stop):
            given[index] = checkpoints
            return [SimpleNamespace(meta={}) for _ in missing]

        monkeypatch.setattr(runs, "_saved", lambda cache_dir, key, run_set: True)
        runs.cached_runs(keys, train, cache_dir=tmp_path, across_processes=True)
        return given[index]

    first, second = as_process(0), as_process(1)
    assert first is not None and second is not None and first.key != second.key
    assert second.key == runs.checkpoint_key(list(keys), across_processes=True) != runs.program_key(list(keys))
    monkeypatch.setattr(runs.jax, "process_count", lambda: 1)  # one process: the program's own key
    assert runs.checkpoint_key(list(keys), across_processes=True) == runs.program_key(list(keys))
