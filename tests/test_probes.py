"""Post-training probes (C7-C10) agree with the trainer and with direct computation."""

import dataclasses

import numpy as np
import pytest
from tiny_problem import tiny_config

from harness import probes
from harness.models import MLP
from harness.train import train_runs


@pytest.fixture(scope="module")
def trained(tiny_data):
    config = tiny_config()
    return train_runs(config, tiny_data, config.tier.seeds())


def test_head_reproduces_the_network_from_its_first_hidden_layer(trained, tiny_data):
    variables = trained.network("dropout", 0)
    logits, relus = MLP(widths=trained.config.widths).apply(variables, tiny_data.test_x, train=False)
    head = probes._head(variables, relus[0], lambda _l, h: h, trained.config.widths)
    np.testing.assert_allclose(head, logits, rtol=1e-5, atol=1e-5)


def test_monte_carlo_dropout(trained, tiny_data):
    mc = probes.monte_carlo_dropout(trained, tiny_data)
    assert mc["mc_accuracy"].shape == (2, len(probes.MC_SAMPLES))
    # The deterministic network is the trained dropout network the trainer evaluated.
    np.testing.assert_allclose(mc["deterministic_accuracy"], trained.curve("test_accuracy", "dropout")[:, -1])
    assert np.all((mc["mc_accuracy"] >= 0) & (mc["mc_accuracy"] <= 1))


def test_scaling_conventions(trained, tiny_data):
    sc = probes.scaling_conventions(trained, tiny_data)
    assert np.all(sc["conversion_max_error"] < 1e-4) and np.all(sc["conversion_agreement"] == 1.0)
    # Unbiased up to sampling error: within 4 standard errors in every layer.
    assert np.all(np.abs(sc["expectation_bias"]) < 4 * sc["expectation_noise"])


def test_input_noise_at_level_zero_is_the_clean_accuracy(trained, tiny_data):
    noisy = probes.input_noise(trained, tiny_data)["noisy_accuracy"]
    assert noisy.shape == (2, 2, len(probes.NOISE_LEVELS))
    np.testing.assert_allclose(noisy[..., 0], trained.curves["test_accuracy"][:, :, -1])


def test_coadaptation_is_the_mean_absolute_correlation(trained, tiny_data):
    co = probes.coadaptation(trained, tiny_data)
    _, relus = MLP(widths=trained.config.widths).apply(trained.network("baseline", 1), tiny_data.test_x, train=False)
    h = np.asarray(relus[2])
    alive = h.std(axis=0) > 0
    corr = np.corrcoef(h[:, alive], rowvar=False)
    expected = np.abs(corr[~np.eye(alive.sum(), dtype=bool)]).mean()
    np.testing.assert_allclose(co["coadaptation"][0, 1, 2], expected, rtol=1e-4)
    assert co["dead_units"][0, 1, 2] == (~alive).sum()


def test_without_dropout_the_expectation_is_exact_and_the_variance_unshifted(trained, tiny_data):
    """Keep probability 1: the model's own dropout layer is the identity, so no bias and a variance ratio of 1."""
    no_dropout = dataclasses.replace(
        trained, config=dataclasses.replace(
            trained.config, protocol=dataclasses.replace(trained.config.protocol, dropout_rates=(0.0,) * 4)))
    sc = probes.scaling_conventions(no_dropout, tiny_data)
    np.testing.assert_allclose(sc["expectation_bias"], 0.0, atol=1e-6)
    np.testing.assert_allclose(sc["variance_shift"], 1.0, rtol=1e-5)


def test_dropout_inflates_the_next_layers_variance(trained, tiny_data):
    """Train-time masks add variance the next BatchNorm never sees at test time (Li et al. 2019)."""
    assert np.all(probes.scaling_conventions(trained, tiny_data)["variance_shift"] > 1.0)


def test_removing_no_unit_costs_nothing_and_removing_units_is_measured_per_layer(trained, tiny_data, monkeypatch):
    drops = probes.unit_ablation(trained, tiny_data)["ablation_drop"]
    assert drops.shape == (2, 2, len(trained.config.widths))
    assert np.all(np.abs(drops) <= 1.0)
    monkeypatch.setattr(probes, "ABLATION_FRACTION", 0.0)
    np.testing.assert_allclose(probes.unit_ablation(trained, tiny_data)["ablation_drop"], 0.0, atol=1e-6)
