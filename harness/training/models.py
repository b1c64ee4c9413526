"""The writeup's two networks: one MLP, with or without dropout after each hidden ReLU.

    Dense 256 -> BN -> ReLU [-> Dropout 0.4] -> Dense 128 -> BN -> ReLU [-> 0.3]
    -> Dense 64 -> BN -> ReLU [-> 0.2] -> Dense 32 -> BN -> ReLU [-> 0.2] -> Dense 10

The baseline is the same module with every dropout rate 0. Rates (as keep
probabilities 1 - p) are *inputs*
rather than static attributes so that one vmapped program can train both
variants side by side; with rate 0 the mask is all ones and the division is by
1.0, so the baseline computes exactly what a network without dropout layers does.
`dropout` reproduces `flax.linen.Dropout` bit for bit (tests/test_models.py).
`arms_of` turns a configuration into those inputs, for every program that trains.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from harness.config import HIDDEN_WIDTHS, VARIANTS, RunConfig
from harness.data.cifar10 import NUM_CLASSES, PIXELS_PER_IMAGE
from harness.training.run_set import Arm


def dropout(x: jax.Array, keep_prob: jax.Array, key: jax.Array) -> jax.Array:
    """Inverted dropout: keep each unit with probability q = 1 - p, scale kept units by 1/q.

    E[dropout(x)] = q * x / q = x, so at test time the layer is the identity
    (flax's convention; the writeup's text describes the equivalent
    scale-by-(1-p)-at-test convention, checked in claim C8). The caller passes
    q, computed in float64 as flax does, so that the float32 q is the same one
    `nn.Dropout(rate=p)` uses and the masks agree bit for bit.
    """
    mask = jax.random.bernoulli(key, p=keep_prob, shape=x.shape)
    return jax.lax.select(mask, x / keep_prob, jnp.zeros_like(x))


class MLP(nn.Module):
    """Returns (logits, ReLU outputs of each hidden layer).

    `train` selects BatchNorm's batch statistics (and updates its running
    averages); dropout is applied iff `dropout_keys` is given, independently of
    `train`, so Monte-Carlo dropout on a trained network (claim C7) is
    `train=False` with keys.
    """

    widths: Sequence[int] = HIDDEN_WIDTHS
    num_classes: int = NUM_CLASSES

    @nn.compact
    def __call__(
        self,
        x: jax.Array,
        *,
        train: bool,
        keep_probs: jax.Array | None = None,
        dropout_keys: jax.Array | None = None,
    ) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        relu_outputs = []
        for layer, width in enumerate(self.widths):
            x = nn.Dense(width)(x)
            # Flax defaults, as in the writeup: momentum 0.99, epsilon 1e-5.
            x = nn.BatchNorm(use_running_average=not train)(x)
            x = nn.relu(x)
            relu_outputs.append(x)
            if dropout_keys is not None:
                x = dropout(x, keep_probs[layer], dropout_keys[layer])
        logits = nn.Dense(self.num_classes)(x)
        return logits, tuple(relu_outputs)


def model_of(config: RunConfig) -> MLP:
    """The network of a configuration; its dropout rates are inputs, so one model serves both variants."""
    return MLP(widths=config.widths)


def init_variables(model: MLP, seed: int | jax.Array) -> dict:
    """Both variants are initialised from the same key, so their weights are identical.

    The writeup initialises with a dummy batch of ones of shape (32, 3072).
    """
    key = jax.random.PRNGKey(seed) if isinstance(seed, int) else seed
    return model.init(key, jnp.ones((32, PIXELS_PER_IMAGE), jnp.float32), train=True)


def count_params(params) -> int:
    """Number of trainable scalars (the writeup's count_params)."""
    return sum(int(leaf.size) for leaf in jax.tree_util.tree_leaves(params))


def keep_probabilities(rates: Sequence[float]) -> jax.Array:
    """1 - p per layer, computed in float64 like flax before the cast to float32."""
    return jnp.asarray([1.0 - float(rate) for rate in rates], jnp.float32)


def arms_of(config: RunConfig, variants: tuple[str, ...] = VARIANTS, *, alt_test: bool = False) -> tuple[Arm, ...]:
    """The arms `config` trains: each variant's keep probabilities (`keep_probabilities` of the protocol's rates,
    all ones for the baseline) and the protocol's dropout-key schedule as a flag.

    The one place a configuration becomes arms: a tier's run set, each multiverse condition (which qualifies the
    names and, for the protocol whose test split is the alternative one, sets `alt_test`) and a cache entry
    written before run sets carried their keep probabilities all derive them here, so a change of the rates
    (claims/mutants.py's graded `rate` mutant) reaches training and the probes alike.
    """
    dropout = tuple(float(k) for k in keep_probabilities(config.protocol.dropout_rates))
    keep = {"baseline": (1.0,) * len(dropout), "dropout": dropout}
    unknown = [variant for variant in variants if variant not in keep]
    if unknown or not variants:
        raise ValueError(f"variants must be a non-empty choice of {sorted(keep)}, got {list(variants)}")
    fresh = config.protocol.dropout_keys == "per_step"
    return tuple(Arm(variant, keep[variant], fresh_dropout_keys=fresh, alt_test=alt_test) for variant in variants)
