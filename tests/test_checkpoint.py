"""Checkpoints: a stopped training resumes to the same numbers, bit for bit, as an uninterrupted one."""

import jax
import numpy as np
import pytest
from tiny_problem import tiny_config

from harness import cache
from harness.run_set import Snapshot, TrainingInterrupted
from harness.train import init_states, train_runs


def assert_identical(a, b):
    for name in a.curves:
        np.testing.assert_array_equal(a.curves[name], b.curves[name], err_msg=name)
    for name in a.final:
        np.testing.assert_array_equal(a.final[name], b.final[name], err_msg=name)
    for group in ("params", "batch_stats"):
        jax.tree_util.tree_map(np.testing.assert_array_equal, getattr(a, group), getattr(b, group))


@pytest.fixture(scope="module")
def uninterrupted(tiny_data):
    config = tiny_config(epochs=6)
    return config, train_runs(config, tiny_data, config.tier.seeds())


def test_stopped_then_resumed_equals_uninterrupted(tmp_path, tiny_data, uninterrupted):
    config, whole = uninterrupted
    checkpoints = cache.Checkpoints(tmp_path, "key", interval_s=0)
    seen = []
    with pytest.raises(TrainingInterrupted, match=f"interrupted at epoch 2 of {config.tier.epochs}"):
        train_runs(config, tiny_data, config.tier.seeds(), progress=seen.append, checkpoints=checkpoints,
                   stop_requested=lambda: bool(seen))  # stop after the first chunk
    assert checkpoints.path.exists()

    resumed_checkpoints = cache.Checkpoints(tmp_path, "key", interval_s=3600)
    resumed = train_runs(config, tiny_data, config.tier.seeds(), checkpoints=resumed_checkpoints)
    assert resumed_checkpoints.restored_epoch == 2
    assert_identical(resumed, whole)


def test_a_checkpoint_for_another_state_is_ignored_with_a_warning(tmp_path, tiny_data, uninterrupted):
    config, whole = uninterrupted
    other = tiny_config(epochs=6, seeds=3)  # three seeds: six runs, not four
    # What an interrupted training of `other` saves first (saved directly: training it would only compile it).
    other_state = jax.device_get(init_states(other, other.tier.seeds(), tiny_data.train_x.shape[0]))
    cache.Checkpoints(tmp_path, "key", interval_s=0).save(Snapshot(0, other_state, {}))
    with pytest.warns(cache.CacheWarning, match="different training state"):
        again = train_runs(config, tiny_data, config.tier.seeds(), checkpoints=cache.Checkpoints(tmp_path, "key"))
    assert_identical(again, whole)


def test_a_damaged_checkpoint_is_ignored_with_a_warning(tmp_path, tiny_data, uninterrupted):
    config, whole = uninterrupted
    checkpoints = cache.Checkpoints(tmp_path, "key", interval_s=0)
    with pytest.raises(TrainingInterrupted):
        train_runs(config, tiny_data, config.tier.seeds(), checkpoints=checkpoints, stop_requested=lambda: True)
    raw = bytearray(checkpoints.path.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 32] = b"\xff" * 32
    checkpoints.path.write_bytes(bytes(raw))
    with pytest.warns(cache.CacheWarning, match="training from the start"):
        again = train_runs(config, tiny_data, config.tier.seeds(), checkpoints=cache.Checkpoints(tmp_path, "key"))
    assert_identical(again, whole)
