"""Checkpoints: a stopped training resumes to the same numbers, bit for bit, as an uninterrupted one; a tier's
and the multiverse's alike (one cache path, harness/training/runs.py `cached_runs`)."""

import os
import signal
import time

import jax
import numpy as np
import pytest
from tiny_problem import TINY_WIDTHS, tiny_config, tiny_tier_data

from harness.config import Condition, Tier
from harness.multiverse import gather as multiverse
from harness.training import cache, runs
from harness.training.run_set import Snapshot, TrainingInterrupted
from harness.training.train import init_states, train_runs

# A multiverse whose program keeps the networks of epoch 2 of 6 (the condition at a third of the epochs).
CONDITIONS = (Condition(), Condition(rate_scale=0.0), Condition(epoch_fraction=1 / 3))


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

    # The time the first part took, as saved, replaced by a sentinel that a resumed run must count.
    saved = cache.Checkpoints(tmp_path, "key", interval_s=0)
    first_part = saved.restore(jax.device_get(init_states(config, config.tier.seeds(), tiny_data.train_x.shape[0])))
    assert first_part.seconds > 0
    saved.save(first_part._replace(seconds=1000.0))

    resumed_checkpoints = cache.Checkpoints(tmp_path, "key", interval_s=3600)
    started = time.perf_counter()
    resumed = train_runs(config, tiny_data, config.tier.seeds(), checkpoints=resumed_checkpoints)
    assert resumed_checkpoints.restored_epoch == 2
    assert_identical(resumed, whole)
    assert 1000.0 < resumed.train_seconds < 1000.0 + time.perf_counter() - started


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


def test_a_snapshot_without_a_kept_epoch_behind_it_trains_from_the_start(tmp_path, tiny_data, uninterrupted):
    """A checkpoint written without the networks of a kept epoch before it (by a training that kept none, or by
    older code) cannot give them back: training starts again, to the same numbers."""
    config, whole = uninterrupted
    seen = []
    with pytest.raises(TrainingInterrupted, match="interrupted at epoch 4"):
        train_runs(config, tiny_data, config.tier.seeds(), progress=seen.append,
                   checkpoints=cache.Checkpoints(tmp_path, "key", interval_s=0), stop_requested=lambda: 4 in seen)
    resumed = []
    again = train_runs(config, tiny_data, config.tier.seeds(), progress=resumed.append, keep_at=(2,),
                       checkpoints=cache.Checkpoints(tmp_path, "key"))
    assert resumed[0] == 2  # from the start, not from epoch 4
    assert_identical(again, whole)


@pytest.fixture(scope="module")
def multiverse_whole(tmp_path_factory, tiny_data):
    plan = multiverse.Plan.of(CONDITIONS, Tier("tiny", epochs=6, num_seeds=2), widths=TINY_WIDTHS)
    data = {"writeup": tiny_tier_data(tiny_data)}
    return plan, data, multiverse.condition_runs(plan, data, cache_dir=tmp_path_factory.mktemp("whole"))


def test_a_multiverse_stopped_by_ctrl_c_resumes_past_its_kept_epoch_to_the_same_numbers(tmp_path, multiverse_whole):
    """The multiverse's conditions take the tiers' cache path: Ctrl-C is deferred to the next chunk boundary,
    which saves a checkpoint of the whole program, the networks kept at epoch 2 included; the next session
    resumes from epoch 4 and caches what an uninterrupted training caches."""
    plan, data, whole = multiverse_whole

    def ctrl_c_after_epoch_4(done: int) -> None:
        if done == 4:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted, match="interrupted at epoch 4 of 6"):
        multiverse.condition_runs(plan, data, cache_dir=tmp_path, progress=ctrl_c_after_epoch_4)
    checkpoint = cache.Checkpoints(tmp_path, runs.program_key(list(plan.keys(data).values())))
    assert checkpoint.path.exists() and not (tmp_path / "runs").exists()

    seen = []
    resumed = multiverse.condition_runs(plan, data, cache_dir=tmp_path, progress=seen.append)
    assert seen[0] == 4 and not checkpoint.path.exists()
    for condition, (run_set, key) in resumed.items():
        assert key == whole[condition][1] and run_set.meta["resumed_from_epoch"] == 4
        assert run_set.config.tier.epochs == condition.epochs(plan.tier)
        assert run_set.keep_probs == whole[condition][0].keep_probs
        assert_identical(run_set, whole[condition][0])
        assert_identical(cache.load(tmp_path, key), whole[condition][0])
