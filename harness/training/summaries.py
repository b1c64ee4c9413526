"""What each run reports, computed on device from one eval-mode pass over a split.

The writeup dumped every ReLU output to disk (per saved epoch, 2 models x 60,000
images x 480 units) and reduced it later; we reduce on device and keep only these numbers. To add a
summary, add an entry to `per_epoch` or `at_end`: the trainer, the cache and
the run set carry every entry through by name.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class SplitPass(NamedTuple):
    """Logits and hidden ReLU outputs of one network on a whole split (eval mode)."""

    logits: jax.Array
    relus: tuple[jax.Array, ...]
    labels: jax.Array

    @classmethod
    def of(cls, model, variables: dict, x: jax.Array, y: jax.Array) -> SplitPass:
        logits, relus = model.apply(variables, x, train=False)
        return cls(logits, relus, y)

    @property
    def correct(self) -> jax.Array:
        return jnp.argmax(self.logits, axis=-1) == self.labels

    @property
    def loss(self) -> jax.Array:
        return optax.softmax_cross_entropy_with_integer_labels(self.logits, self.labels).mean()


def positive_stats(values: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Mean and std of the strictly positive entries, and the fraction that are positive.

    Two passes (mean first, then squared deviations) to keep float32 accurate.
    """
    positive = values > 0
    count = jnp.maximum(positive.sum(), 1)
    mean = jnp.where(positive, values, 0.0).sum() / count
    var = jnp.where(positive, (values - mean) ** 2, 0.0).sum() / count
    return mean, jnp.sqrt(var), positive.mean()


def hist_edges(hist_bins: int, hist_max: float) -> jax.Array:
    """Bin edges of `test_positive_hist` (the last bin also holds values above hist_max)."""
    return jnp.linspace(0.0, hist_max, hist_bins + 1)


def per_epoch(train: SplitPass, test: SplitPass) -> dict[str, jax.Array]:
    """Taken at epoch 0 and after every epoch. Per-layer entries have shape (layers,).

    - accuracies and eval-mode losses on the full splits (writeup's curves; C1-C3);
    - test_active_count: positive ReLU outputs per example, test set (writeup's
      "activation counts" figure; C4);
    - train_relu_mean / train_relu_std over all units and examples, train set
      (writeup's "activation statistics" figure; C5).
    """
    return {
        "train_accuracy": train.correct.mean(),
        "test_accuracy": test.correct.mean(),
        "train_loss": train.loss,
        "test_loss": test.loss,
        "test_active_count": jnp.stack([(r > 0).sum(axis=-1).mean() for r in test.relus]),
        "train_relu_mean": jnp.stack([r.mean() for r in train.relus]),
        "train_relu_std": jnp.stack([r.std() for r in train.relus]),
    }


def at_end(test: SplitPass, *, hist_bins: int, hist_max: float) -> dict[str, jax.Array]:
    """Taken once, after the last epoch, on the test set.

    - test_correct: per-example correctness (paired McNemar tests, C1);
    - test_positive_hist: per-layer histogram of positive activations over
      (0, hist_max], overflow in the last bin (writeup's histogram; C6);
    - positive-activation mean / std / fraction per layer and pooled over all
      layers, as the writeup pools them (C6).
    """
    edges = hist_edges(hist_bins, hist_max)

    def histogram(r: jax.Array) -> jax.Array:
        values = r.ravel()
        bins = jnp.clip(jnp.searchsorted(edges, values, side="left") - 1, 0, hist_bins - 1)
        return jnp.zeros(hist_bins, jnp.int32).at[bins].add((values > 0).astype(jnp.int32))

    per_layer = [positive_stats(r) for r in test.relus]
    pooled = positive_stats(jnp.concatenate([r.ravel() for r in test.relus]))
    return {
        "test_correct": test.correct,
        "test_positive_hist": jnp.stack([histogram(r) for r in test.relus]),
        "test_positive_mean": jnp.stack([s[0] for s in per_layer]),
        "test_positive_std": jnp.stack([s[1] for s in per_layer]),
        "test_positive_fraction": jnp.stack([s[2] for s in per_layer]),
        "test_positive_mean_pooled": pooled[0],
        "test_positive_std_pooled": pooled[1],
        "test_positive_fraction_pooled": pooled[2],
    }
