"""The harness's MLP is the writeup's MLP: same parameters, same initial weights, same dropout masks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from harness.config import WRITEUP_DROPOUT_RATES
from harness.training.models import (
    MLP,
    count_params,
    dropout,
    init_variables,
    keep_probabilities,
)
from tests.writeup_loop import MLPDropout

KEY = jax.random.PRNGKey(42)


def test_parameter_count_is_the_writeups():
    assert count_params(init_variables(MLP(), 42)["params"]) == 831_210


def test_initial_weights_match_the_writeups_classes_for_both_variants():
    ours = init_variables(MLP(), KEY)
    for rates in (WRITEUP_DROPOUT_RATES, (0.0,) * 4):  # candidate, baseline
        theirs = MLPDropout(rates=rates).init(KEY, jnp.ones((32, 3072)), train=True, rng=KEY)
        jax.tree_util.tree_map(np.testing.assert_array_equal, ours, theirs)


@pytest.mark.parametrize("rate", [0.2, 0.3, 0.4])
def test_dropout_reproduces_flax_dropout_bit_for_bit(rate):
    x = jax.random.normal(KEY, (32, 256))
    key = jax.random.PRNGKey(7)
    theirs = nn.Dropout(rate=rate, deterministic=False).apply({}, x, rng=key)
    ours = dropout(x, keep_probabilities([rate])[0], key)
    np.testing.assert_array_equal(ours, theirs)


def _forward_pair(rates):
    x = jax.random.normal(jax.random.PRNGKey(1), (32, 3072))
    variables = init_variables(MLP(), KEY)
    key = jax.random.PRNGKey(3)
    # The notebook passes the same rng to all four dropout layers.
    (ours, _), _ = MLP().apply(variables, x, train=True, keep_probs=keep_probabilities(rates),
                               dropout_keys=jnp.stack([key] * 4), mutable=["batch_stats"])
    (theirs, _), _ = MLPDropout(rates=rates).apply(variables, x, train=True, rng=key, mutable=["batch_stats"])
    return ours, theirs


def test_training_forward_pass_matches_the_writeups_candidate():
    ours, theirs = _forward_pair(WRITEUP_DROPOUT_RATES)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_baseline_is_the_network_without_dropout():
    ours, theirs = _forward_pair((0.0,) * 4)
    np.testing.assert_array_equal(ours, theirs)


def test_eval_mode_has_no_dropout_and_returns_each_relu():
    variables = init_variables(MLP(), KEY)
    x = jax.random.normal(KEY, (5, 3072))
    logits, relus = MLP().apply(variables, x, train=False)
    assert logits.shape == (5, 10)
    assert [r.shape[1] for r in relus] == [256, 128, 64, 32]
    # The writeup's dropout network at test time (its nn.Dropout layers deterministic), output for output.
    theirs, outputs = MLPDropout(rates=WRITEUP_DROPOUT_RATES).apply(variables, x, train=False)
    np.testing.assert_allclose(logits, theirs, rtol=1e-6, atol=1e-6)
    for layer, relu in enumerate(relus):
        np.testing.assert_allclose(relu, outputs[f"Relu_{layer}"], rtol=1e-6, atol=1e-6)
