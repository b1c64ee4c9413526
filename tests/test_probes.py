"""Post-training probes (C7-C10) agree with the trainer and with direct computation, and compile once."""

import dataclasses

import jax
import numpy as np
import pytest
from tiny_problem import tiny_config

from harness.evidence import probes
from harness.evidence.evidence import Probes
from harness.training.models import MLP, arms_of
from harness.training.train import train_runs


@pytest.fixture(scope="module")
def trained(tiny_data):
    config = tiny_config(seeds=3)  # the shapes of tests/test_until_decided.py's batches: compiled once
    return train_runs(config, tiny_data, config.tier.seeds())


@pytest.fixture(scope="module")
def measured(trained, tiny_data):
    return probes.measure(trained, tiny_data)


def without_dropout(run_set):
    """The same networks, with the dropout rates of a run set set to 0 (keep probability 1)."""
    config = dataclasses.replace(
        run_set.config, protocol=dataclasses.replace(run_set.config.protocol, dropout_rates=(0.0,) * 4))
    return dataclasses.replace(run_set, config=config, keep_probs={arm.name: arm.keep_probs for arm in arms_of(config)})


def test_head_reproduces_the_network_from_its_first_hidden_layer(trained, tiny_data):
    variables = trained.network("dropout", 0)
    logits, relus = MLP(widths=trained.config.widths).apply(variables, tiny_data.test_x, train=False)
    head = probes._head(variables, relus[0], lambda _l, h: h, trained.config.widths)
    np.testing.assert_allclose(head, logits, rtol=1e-5, atol=1e-5)


def test_monte_carlo_dropout(trained, measured):
    assert measured.mc_accuracy.shape == (len(trained.seeds), len(probes.MC_SAMPLES))
    # The deterministic network is the trained dropout network the trainer evaluated.
    np.testing.assert_allclose(measured.deterministic_accuracy, trained.curve("test_accuracy", "dropout")[:, -1])
    assert np.all((measured.mc_accuracy >= 0) & (measured.mc_accuracy <= 1))
    # The sub-networks are sampled: their averages are not the deterministic network's accuracy throughout
    # (without dropout they are, see test_without_dropout_...).
    assert np.any(measured.mc_accuracy != measured.deterministic_accuracy[:, None])


def test_scaling_conventions(measured):
    assert np.all(measured.conversion_max_error < 1e-4) and np.all(measured.conversion_agreement == 1.0)
    # Unbiased up to sampling error: within 4 standard errors in every layer.
    assert np.all(np.abs(measured.expectation_bias) < 4 * measured.expectation_noise)


def test_input_noise_at_level_zero_is_the_clean_accuracy(trained, measured):
    noisy = measured.noisy_accuracy
    assert noisy.shape == (2, len(trained.seeds), len(probes.NOISE_LEVELS))
    np.testing.assert_allclose(noisy[..., 0], trained.curves["test_accuracy"][:, :, -1])
    # Noise levels above 0 are measured, one per level: not copies of the clean accuracy or of each other.
    assert np.all((noisy >= 0) & (noisy <= 1))
    assert len({tuple(level.ravel()) for level in noisy.T}) == len(probes.NOISE_LEVELS)


def test_coadaptation_is_the_mean_absolute_correlation(trained, tiny_data, measured):
    _, relus = MLP(widths=trained.config.widths).apply(trained.network("baseline", 1), tiny_data.test_x, train=False)
    h = np.asarray(relus[2])
    alive = h.std(axis=0) > 0
    corr = np.corrcoef(h[:, alive], rowvar=False)
    expected = np.abs(corr[~np.eye(alive.sum(), dtype=bool)]).mean()
    np.testing.assert_allclose(measured.coadaptation[0, 1, 2], expected, rtol=1e-4)
    assert measured.dead_units[0, 1, 2] == (~alive).sum()


def test_without_dropout_the_expectation_is_exact_and_the_variance_unshifted(trained, tiny_data):
    """Keep probability 1: the model's own dropout layer is the identity, so no bias and a variance ratio of 1,
    and every Monte Carlo average is the deterministic network."""
    sc = probes.measure(without_dropout(trained), tiny_data)
    np.testing.assert_array_equal(sc.mc_accuracy, np.broadcast_to(sc.deterministic_accuracy[:, None],
                                                                  sc.mc_accuracy.shape))
    np.testing.assert_allclose(sc.expectation_bias, 0.0, atol=1e-6)
    np.testing.assert_allclose(sc.variance_shift, 1.0, rtol=1e-5)


def test_dropout_inflates_the_next_layers_variance(measured):
    """Train-time masks add variance the next BatchNorm never sees at test time (Li et al. 2019)."""
    assert np.all(measured.variance_shift > 1.0)


def test_removing_no_unit_costs_nothing_and_removing_units_is_measured_per_layer(trained, tiny_data, measured,
                                                                                 monkeypatch):
    drops = measured.ablation_drop
    assert drops.shape == (2, len(trained.seeds), len(trained.config.widths))
    assert np.all(np.abs(drops) <= 1.0)
    assert np.all(np.any(drops != 0, axis=(0, 1)))  # in every layer, removing a quarter of its units moves something
    monkeypatch.setattr(probes, "ABLATION_FRACTION", 0.0)
    np.testing.assert_allclose(probes.measure(trained, tiny_data).ablation_drop, 0.0, atol=1e-6)


def test_one_compilation_serves_other_dropout_rates_and_ablated_shares(trained, tiny_data, measured, monkeypatch):
    """Every probe is one program per widths and shapes: run sets of other rates (the multiverse's conditions,
    the A/A check's rate 0) or another ablated share run it again without tracing or compiling anything."""
    traced = []

    def listener(event: str, *_, **__) -> None:
        if event.startswith("/jax/core/compile/"):  # tracing, lowering, compiling (or loading a compiled) program
            traced.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        probes.measure(without_dropout(trained), tiny_data)
        monkeypatch.setattr(probes, "ABLATION_FRACTION", 0.5)
        probes.measure(trained, tiny_data)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert traced == [], f"measuring again traced or compiled: {traced}"


def test_the_program_without_the_dropout_models_probes_measures_the_rest_alike(trained, tiny_data, measured):
    """The A/A check's program (of_the_dropout_model=False) measures the probes between the variants as the full
    program does, and leaves the dropout model's own out (NaN)."""
    between = probes.measure(trained, tiny_data, of_the_dropout_model=False)
    for name in (field.name for field in dataclasses.fields(Probes)):
        if name in probes.OF_THE_DROPOUT_MODEL:
            assert np.isnan(getattr(between, name)).all(), name
        else:
            np.testing.assert_allclose(getattr(between, name), getattr(measured, name), rtol=1e-6, err_msg=name)
