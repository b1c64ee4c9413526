"""The vmapped trainer computes what the writeup's own loop computes, run by run."""

import dataclasses

import jax
import numpy as np
import pytest
from tiny_problem import NUM_TEST, NUM_TRAIN, TINY_WIDTHS, tiny_config

from harness.config import CORRECTED, VARIANTS, WRITEUP_DROPOUT_RATES
from harness.training.models import MLP, arms_of
from harness.training.run_set import RunLayout
from harness.training.train import chunk_length, programs, train_runs
from tests.writeup_loop import MLPDropout, train_one_run

TOL = {"rtol": 1e-4, "atol": 1e-5}


def assert_same_network(ours: dict, theirs: dict, x) -> None:
    """Same function (eval-mode logits) and same weights, except what BatchNorm makes arbitrary.

    BatchNorm subtracts the batch mean, so the Dense biases feeding it get a zero
    gradient up to float32 rounding, and Adam (which divides by the gradient's
    scale) turns that rounding noise into steps of size ~lr: those biases, and the
    running means that absorb them, drift differently in any two implementations
    without changing what the network computes. Everything else must agree.
    """
    def compare(path, a, b):
        name = jax.tree_util.keystr(path)
        feeds_batchnorm = "Dense" in name and "Dense_4" not in name and name.endswith("['bias']")
        if feeds_batchnorm or name.endswith("['mean']"):
            return
        np.testing.assert_allclose(a, b, **TOL, err_msg=name)

    jax.tree_util.tree_map_with_path(compare, ours, theirs)
    model = MLP(widths=TINY_WIDTHS)
    np.testing.assert_allclose(
        model.apply(ours, x, train=False)[0], model.apply(theirs, x, train=False)[0], rtol=1e-2, atol=1e-2
    )


def count_near_ties(ours: dict, theirs: dict, x) -> int:
    """Examples the two networks classify differently, all of which must have a top-2 logit gap within
    the logits' tolerance (1e-2, see `assert_same_network`) in one of the networks."""
    model = MLP(widths=TINY_WIDTHS)
    logits = [np.asarray(model.apply(v, x, train=False)[0]) for v in (ours, theirs)]
    differ = np.argmax(logits[0], -1) != np.argmax(logits[1], -1)
    gaps = [np.diff(np.sort(l, axis=-1)[:, -2:], axis=-1)[:, 0] for l in logits]
    undecided = (gaps[0] < 2e-2) | (gaps[1] < 2e-2)
    assert np.all(undecided[differ]), "a confidently classified example changed class"
    return int(differ.sum())


@pytest.fixture(scope="module")
def two_seeds(tiny_data):
    config = tiny_config(epochs=2, seeds=2)
    return config, train_runs(config, tiny_data, config.tier.seeds())


@pytest.mark.parametrize("variant, rates", [("baseline", (0.0,) * 4), ("dropout", WRITEUP_DROPOUT_RATES)])
def test_each_run_equals_the_writeups_loop(two_seeds, tiny_data, variant, rates):
    config, runs = two_seeds
    model = MLPDropout(rates=rates, widths=TINY_WIDTHS)  # one object: its seeds share the jitted step's compilation
    for s, seed in enumerate(runs.seeds):
        state, batch_stats, history = train_one_run(
            model, seed,
            tiny_data.train_x, tiny_data.train_y, tiny_data.test_x, tiny_data.test_y, epochs=config.tier.epochs,
        )
        ours = runs.network(variant, s)
        theirs = {"params": state.params, "batch_stats": batch_stats}
        assert_same_network(ours, theirs, tiny_data.test_x)
        history = np.asarray(history)
        # Epoch 0 is the same network in both: identical accuracies.
        assert runs.curve("train_accuracy", variant)[s, 0] == history[0, 0]
        assert runs.curve("test_accuracy", variant)[s, 0] == history[0, 1]
        # After training, rounding (another on every machine) may flip a prediction only where the
        # network is undecided: every example the two networks classify differently is a near-tie.
        for x, y, accuracy, recorded in ((tiny_data.train_x, tiny_data.train_y, "train_accuracy", history[-1, 0]),
                                         (tiny_data.test_x, tiny_data.test_y, "test_accuracy", history[-1, 1])):
            near_ties = count_near_ties(ours, theirs, x)
            assert abs(runs.curve(accuracy, variant)[s, -1] - recorded) * len(y) <= near_ties + 1e-6, accuracy


def test_a_run_does_not_depend_on_its_neighbours(two_seeds, tiny_data):
    """Runs are independent under vmap: listing the seeds the other way round swaps the results."""
    config, together = two_seeds
    swapped = train_runs(config, tiny_data, together.seeds[::-1])
    for name, curve in swapped.curves.items():
        np.testing.assert_allclose(curve[:, ::-1], together.curves[name], **TOL, err_msg=name)
    for name, final in swapped.final.items():
        np.testing.assert_allclose(final[:, ::-1], together.final[name], **TOL, err_msg=name)


def test_same_configuration_gives_the_same_numbers(two_seeds, tiny_data):
    config, first = two_seeds
    again = train_runs(config, tiny_data, first.seeds)
    for name in first.curves:
        np.testing.assert_array_equal(first.curves[name], again.curves[name], err_msg=name)
    jax.tree_util.tree_map(np.testing.assert_array_equal, first.params, again.params)


def test_both_variants_start_from_the_same_network(two_seeds):
    _, runs = two_seeds
    for name in ("train_accuracy", "test_accuracy", "test_active_count", "train_relu_mean"):
        np.testing.assert_array_equal(runs.curves[name][0, :, 0], runs.curves[name][1, :, 0], err_msg=name)


def test_summaries_have_the_documented_shapes(two_seeds):
    config, runs = two_seeds
    epochs, layers = config.tier.epochs + 1, len(TINY_WIDTHS)
    assert runs.curves["train_accuracy"].shape == (2, 2, epochs)
    assert runs.curves["test_active_count"].shape == (2, 2, epochs, layers)
    assert runs.final["test_positive_hist"].shape == (2, 2, layers, config.hist_bins)
    assert runs.final["test_correct"].shape == (2, 2, NUM_TEST)
    # Every positive activation lands in the histogram (overflow in the last bin).
    active = runs.curves["test_active_count"][:, :, -1].sum(-1) * NUM_TEST
    np.testing.assert_allclose(runs.final["test_positive_hist"].sum((-1, -2)), active, rtol=1e-5)


def test_corrected_protocol_changes_dropout_but_not_the_baseline(two_seeds, tiny_data):
    config, writeup = two_seeds
    corrected = train_runs(dataclasses.replace(config, protocol=CORRECTED), tiny_data, writeup.seeds)
    # Same data here, so only the dropout keys differ: the baseline has none.
    np.testing.assert_allclose(corrected.curves["train_loss"][0], writeup.curves["train_loss"][0], **TOL)
    assert not np.allclose(corrected.curves["train_loss"][1, :, 1:], writeup.curves["train_loss"][1, :, 1:])


def test_progress_is_reported_per_chunk(two_seeds, tiny_data):
    config, runs = two_seeds
    seen = []
    again = train_runs(config, tiny_data, runs.seeds, progress=seen.append)
    assert seen == [config.tier.epochs]
    assert again.compile_seconds == 0.0  # the same configuration and shapes reuse the compiled program


def test_chunks_divide_the_epochs():
    assert chunk_length(200) == 10 and chunk_length(7) == 7 and chunk_length(22) == 2 and chunk_length(3) == 3


def test_the_run_layout_is_variant_major_and_splits_what_it_joins(two_seeds):
    _, runs = two_seeds
    layout = RunLayout(VARIANTS, runs.seeds)
    assert layout.run_seeds() == runs.seeds + runs.seeds
    assert [layout.name(r) for r in range(layout.num_runs)] == [(v, s) for v in VARIANTS for s in runs.seeds]
    runs_axis = np.arange(layout.num_runs * 3).reshape(layout.num_runs, 3)
    np.testing.assert_array_equal(layout.join(layout.split(runs_axis)), runs_axis)
    # what train_runs returned is laid out the same way: run (dropout, seed 1) is its [1, 1]
    assert layout.split(runs_axis)[1, 1].tolist() == runs_axis[len(runs.seeds) + 1].tolist()
    assert runs.layout == layout



def test_an_unknown_variant_is_refused_by_name():
    with pytest.raises(ValueError, match=r"variants must be a non-empty choice of \['baseline', 'dropout'\], got \['dropuot'\]"):
        arms_of(tiny_config(), ("dropuot",))


def test_the_seed_sets_of_a_configuration_share_its_programs():
    """Programs are built once per configuration less its tier: another seed range, name or seed count (the
    calibration's sets, --seeds auto's batches) reuses them; another protocol does not."""
    config = tiny_config()
    other_seeds = dataclasses.replace(config, tier=dataclasses.replace(config.tier, name="batch 2", first_seed=99,
                                                                       num_seeds=5))
    assert programs(other_seeds, NUM_TRAIN) is programs(config, NUM_TRAIN)
    assert programs(tiny_config(protocol=CORRECTED), NUM_TRAIN) is not programs(config, NUM_TRAIN)
