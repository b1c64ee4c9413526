"""The writeup's own training code, transcribed: the reference the harness is checked against.

`MLPDropout` is the notebook's candidate class with flax's `nn.Dropout`
(the baseline is the same with every rate 0), and `train_one_run` is its
`train_and_evaluate`: a Python loop calling a jitted single-model step, the
epoch's permutation key doubling as the dropout key of every step and layer.
It trains one run at a time and is slow by design: tests compare the vmapped
trainer with it number for number, and the benchmarks time the trainer against it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import optax
from flax import linen as nn
from flax.training import train_state

from harness.config import HIDDEN_WIDTHS, WRITEUP_DROPOUT_RATES
from harness.data.cifar10 import NUM_CLASSES


class MLPDropout(nn.Module):
    """The notebook's MLPDropout (rates all 0 gives its baseline MLP): returns (logits, outputs)."""

    rates: Sequence[float] = WRITEUP_DROPOUT_RATES
    widths: Sequence[int] = HIDDEN_WIDTHS

    @nn.compact
    def __call__(self, x, train: bool = True, rng=None):
        outputs = {}
        for layer, (width, rate) in enumerate(zip(self.widths, self.rates)):
            x = nn.Dense(width)(x)
            x = nn.BatchNorm(use_running_average=not train)(x)
            x = nn.relu(x)
            outputs[f"Relu_{layer}"] = x
            x = nn.Dropout(rate=rate, deterministic=not train)(x, rng=rng)
        x = nn.Dense(NUM_CLASSES)(x)
        return x, outputs


@functools.cache
def _adam(learning_rate: float) -> optax.GradientTransformation:
    """One optimizer object per rate: it is part of the jitted step's static state."""
    return optax.adam(learning_rate)


# Module level (not inside train_one_run as in the notebook) so that runs of
# equal models share one compilation; the computation is the notebook's.
@jax.jit
def _train_step(state, batch_stats, images, labels, rng):
    def loss_fn(params):
        (logits, _), updated = state.apply_fn(
            {"params": params, "batch_stats": batch_stats}, images, train=True, rng=rng, mutable=["batch_stats"]
        )
        loss = optax.softmax_cross_entropy(logits, jax.nn.one_hot(labels, NUM_CLASSES)).mean()
        return loss, updated["batch_stats"]

    grads, batch_stats = jax.grad(loss_fn, has_aux=True)(state.params)
    return state.apply_gradients(grads=grads), batch_stats


@jax.jit
def _accuracy(state, batch_stats, images, labels):
    logits, _ = state.apply_fn({"params": state.params, "batch_stats": batch_stats}, images, train=False)
    return jnp.mean(jnp.argmax(logits, -1) == labels)


def train_one_run(
    model: MLPDropout,
    seed: int,
    train_x: jax.Array,
    train_y: jax.Array,
    test_x: jax.Array,
    test_y: jax.Array,
    *,
    epochs: int,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    evaluate: bool = True,
) -> tuple[train_state.TrainState, dict, list[tuple[float, float]]]:
    """The notebook's loop for one model: (final state, batch stats, [(train acc, test acc)] per epoch 0..E)."""
    rng = jax.random.PRNGKey(seed)
    variables = model.init(rng, jnp.ones((32, train_x.shape[1])), train=True, rng=rng)
    state = train_state.TrainState.create(apply_fn=model.apply, params=variables["params"], tx=_adam(learning_rate))
    batch_stats = variables["batch_stats"]

    def eval_both():
        return (float(_accuracy(state, batch_stats, train_x, train_y)), float(_accuracy(state, batch_stats, test_x, test_y)))

    history = [eval_both()] if evaluate else []
    num_train = train_x.shape[0]
    for _ in range(epochs):
        rng, sub_rng = jax.random.split(rng)
        permutation = jax.random.permutation(sub_rng, num_train)
        train_x, train_y = train_x[permutation], train_y[permutation]
        for i in range(0, num_train, batch_size):
            state, batch_stats = _train_step(
                state, batch_stats, train_x[i : i + batch_size], train_y[i : i + batch_size], sub_rng
            )
        if evaluate:
            history.append(eval_both())
    jax.block_until_ready(state.params)
    return state, batch_stats, history
