"""Measurements on the trained networks, after training (claims C7-C10).

Each probe is a pure function of the run set and the tier's test split; all
randomness comes from fixed keys derived from the seed, so probes are
reproducible and the two variants of a seed see the same noise.
Results are numpy arrays with a leading (variants, seeds) or (seeds,) shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from harness.evidence import Probes
from harness.models import MLP, dropout, keep_probabilities
from harness.run_set import Dataset, RunLayout, RunSet

# C7: how many sampled sub-networks are averaged.
MC_SAMPLES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
# C8: masks per layer for the Monte-Carlo expectation.
EXPECTATION_SAMPLES = 64
# C9: Gaussian input noise, in units of the normalised test inputs' std. The
# grid reaches levels that really degrade accuracy (a grid that stops at 0.4
# moved accuracy by less than half a point at smoke scale and could see nothing).
NOISE_LEVELS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0)
# C10: the share of a layer's units removed at test time, and how many random
# choices of which units are averaged.
ABLATION_FRACTION = 0.25
ABLATION_DRAWS = 8
# Probe keys are folded from the seed with these tags so that they never
# collide with the training keys (which use the seed itself and fold_in 1).
_TAG_MC, _TAG_EXPECT, _TAG_NOISE, _TAG_ABLATE = 1007, 1008, 1009, 1010


def _compiled(build: Callable[..., Callable]) -> Callable[..., Callable]:
    """A probe's program, `one_run(variables, seed, x, y, keep)` vmapped over the runs and jitted, built once
    per network widths (and constants the probe is built with): every run set of those widths and shapes
    (the multiverse's conditions, the calibration's seed sets) reuses one compilation. The keep
    probabilities are an argument for that reason.

    The test split is an argument too, not a constant closed over: a constant of the test set's size made
    the compilers fold it into the program, and compiling dominated the probes' cost (see
    benchmarks/test_probe_cost.py).
    """

    @functools.cache
    def program(widths: tuple[int, ...], *constants: float) -> Callable:
        return jax.jit(jax.vmap(build(widths, *constants), in_axes=(0, 0, None, None, None)))

    return program


def _hidden(model: MLP, variables: dict, x: jax.Array) -> tuple[jax.Array, ...]:
    return model.apply(variables, x, train=False)[1]


def _head(variables: dict, relu0: jax.Array, masks_fn, widths) -> jax.Array:
    """Logits from the first hidden layer's ReLU output onward, with dropout via `masks_fn(layer, h)`.

    The first layer (Dense 3072->256, BN, ReLU) is identical for every mask, so
    Monte-Carlo passes start after it: a 20x saving on the costliest layer.
    """
    params, stats = variables["params"], variables["batch_stats"]
    h = masks_fn(0, relu0)
    for layer in range(1, len(widths)):
        z = h @ params[f"Dense_{layer}"]["kernel"] + params[f"Dense_{layer}"]["bias"]
        bn, running = params[f"BatchNorm_{layer}"], stats[f"BatchNorm_{layer}"]
        z = (z - running["mean"]) / jnp.sqrt(running["var"] + 1e-5) * bn["scale"] + bn["bias"]
        h = masks_fn(layer, jax.nn.relu(z))
    last = f"Dense_{len(widths)}"
    return h @ params[last]["kernel"] + params[last]["bias"]


def monte_carlo_dropout(run_set: RunSet, data: Dataset) -> dict[str, np.ndarray]:
    """C7: average the softmax of k sub-networks (fresh masks per example and layer)."""
    measured = _over_runs(_monte_carlo_program(run_set.config.widths), run_set, "dropout", data)
    names = ("mc_accuracy", "single_subnetwork_accuracy", "deterministic_accuracy")
    return {"mc_samples": np.asarray(MC_SAMPLES), **dict(zip(names, measured, strict=True))}


@_compiled
def _monte_carlo_program(widths: tuple[int, ...]) -> Callable:
    model = MLP(widths=widths)
    k_max = max(MC_SAMPLES)

    def one_run(variables: dict, seed: jax.Array, x: jax.Array, y: jax.Array, keep: jax.Array) -> tuple[jax.Array, ...]:
        relus = _hidden(model, variables, x)
        deterministic = _head(variables, relus[0], lambda _l, h: h, widths)
        keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), _TAG_MC), k_max)

        def sample(key: jax.Array) -> jax.Array:
            layer_keys = jax.random.split(key, len(widths))
            logits = _head(variables, relus[0], lambda l, h: dropout(h, keep[l], layer_keys[l]), widths)
            return jax.nn.softmax(logits)

        probs = jax.lax.map(sample, keys)  # (k_max, examples, classes)
        running_mean = jnp.cumsum(probs, axis=0) / jnp.arange(1, k_max + 1)[:, None, None]
        correct = jnp.argmax(running_mean, axis=-1) == y
        single = (jnp.argmax(probs, axis=-1) == y).mean()
        return (
            correct.mean(axis=-1)[jnp.asarray(MC_SAMPLES) - 1],
            single,
            (jnp.argmax(deterministic, -1) == y).mean(),
        )

    return one_run


def scaling_conventions(run_set: RunSet, data: Dataset) -> dict[str, np.ndarray]:
    """C8: inverted dropout (scale 1/q in training) vs the writeup's text (scale by q at test).

    Per dropout layer, with that layer's eval-mode input h fixed, the train-time
    output's expectation must equal the test-time output:
      inverted:  E[mask * h / q] = h       (flax; test-time rule: identity)
      standard:  E[mask * h]     = q * h   (the writeup's text; test-time rule: scale by q)
    Both relative biases are the same number, (mean_K sum(dropout(h)) - sum(h)) / sum(h),
    estimated from EXPECTATION_SAMPLES draws of the model's own dropout layer
    (`harness.models.dropout`, the function the trainer applies); `expectation_noise`
    is its standard error from sampling alone. Network level: the
    standard-convention network (next layer's weights divided by q, outputs
    scaled by q at test) must compute the same function as the trained
    inverted-dropout network.

    Where the conventions meet practice: the next BatchNorm learns its running
    variance from train-time (dropped-out) inputs but normalises test-time ones.
    `variance_shift` is Var(next Dense's output under dropout) / Var(without),
    per unit over the test set, averaged over units and masks: the same ratio
    under either convention (both scale train and test by the same q), and the
    mismatch Li et al. (2019, "Understanding the disharmony between dropout and
    batch normalization by variance shift") trace dropout + BatchNorm problems to.
    """
    measured = _over_runs(_scaling_program(run_set.config.widths), run_set, "dropout", data)
    names = ("expectation_bias", "expectation_noise", "variance_shift", "conversion_max_error", "conversion_agreement")
    return dict(zip(names, measured, strict=True))


@_compiled
def _scaling_program(widths: tuple[int, ...]) -> Callable:
    model = MLP(widths=widths)

    def one_run(variables: dict, seed: jax.Array, x: jax.Array, _y: jax.Array, keep: jax.Array) -> tuple[jax.Array, ...]:
        relus = _hidden(model, variables, x)
        keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), _TAG_EXPECT), len(widths))
        biases, noise = [], []
        shifts = []
        for layer, h in enumerate(relus):
            q = keep[layer]
            kernel = variables["params"][f"Dense_{layer + 1}"]["kernel"]
            test_variance = (h @ kernel).var(axis=0)

            def one_mask(key: jax.Array, h: jax.Array = h, q: jax.Array = q, kernel: jax.Array = kernel,
                         test_variance: jax.Array = test_variance) -> tuple[jax.Array, jax.Array]:
                dropped = dropout(h, q, key)  # the trainer's own dropout layer (inverted: kept units / q)
                return dropped.sum(), ((dropped @ kernel).var(axis=0) / test_variance).mean()

            # Masks are drawn one at a time (lax.map), never materialised together.
            sums, ratios = jax.lax.map(one_mask, jax.random.split(keys[layer], EXPECTATION_SAMPLES))
            total = h.sum()
            biases.append((sums.mean() - total) / total)
            # Var(sum_i m_i h_i / q) = (1-q)/q sum h_i^2 per mask, divided by K masks.
            noise.append(jnp.sqrt((1 - q) / q * (h**2).sum() / EXPECTATION_SAMPLES) / total)
            shifts.append(ratios.mean())
        # An identity checked to 1e-4 needs float32 products: at the default precision a GPU multiplies
        # in TF32, whose 10-bit mantissa rounds each product by up to 2^-11 (reports/reference/README.md
        # shows C8 failing on an H200 for that reason alone).
        with jax.default_matmul_precision("highest"):
            inverted_logits, (relu0, *_) = model.apply(variables, x, train=False)
            standard_logits = _head(
                _standard_convention(variables, keep, widths), relu0, lambda l, h: h * keep[l], widths
            )
        return (
            jnp.stack(biases),
            jnp.stack(noise),
            jnp.stack(shifts),
            jnp.abs(inverted_logits - standard_logits).max() / jnp.abs(inverted_logits).max(),
            (jnp.argmax(inverted_logits, -1) == jnp.argmax(standard_logits, -1)).mean(),
        )

    return one_run


def _standard_convention(variables: dict, keep: jax.Array, widths) -> dict:
    """The same network for the scale-at-test convention: the layer after each dropout gets W / q."""
    params = dict(variables["params"])
    for layer in range(len(widths)):
        nxt = f"Dense_{layer + 1}"
        params[nxt] = {**params[nxt], "kernel": params[nxt]["kernel"] / keep[layer]}
    return {"params": params, "batch_stats": variables["batch_stats"]}


def input_noise(run_set: RunSet, data: Dataset) -> dict[str, np.ndarray]:
    """C9: test accuracy with Gaussian noise of std sigma * std(test inputs) added to every input.

    The same noise (keyed by seed and level) is used for both variants of a seed: it is drawn once per
    seed and level and fed to both networks (drawing it is most of this probe's cost on a CPU).
    """
    per_seed = {  # leaves (variants, seeds, ...) -> (seeds, variants, ...): one program step per seed
        name: jax.tree_util.tree_map(lambda a: jnp.swapaxes(jnp.asarray(a), 0, 1), getattr(run_set, name))
        for name in ("params", "batch_stats")
    }
    noisy = _input_noise_program(run_set.config.widths)(  # (seeds, variants, levels)
        per_seed, jnp.asarray(run_set.seeds, jnp.uint32), data.test_x, data.test_y, _keep(run_set))
    return {"noise_levels": np.asarray(NOISE_LEVELS), "noisy_accuracy": np.swapaxes(np.asarray(noisy), 0, 1)}


@_compiled
def _input_noise_program(widths: tuple[int, ...]) -> Callable:
    model = MLP(widths=widths)

    def accuracy(variables: dict, seed: jax.Array, x: jax.Array, y: jax.Array, _keep: jax.Array) -> jax.Array:
        """(variants, levels) for one seed; `variables` has leaves shaped (variants, ...)."""
        spread = jnp.std(x)

        def at_level(level_index: int, sigma: float) -> jax.Array:
            key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), _TAG_NOISE), level_index)
            noisy = x if sigma == 0 else x + sigma * spread * jax.random.normal(key, x.shape)
            logits = jax.vmap(lambda v: model.apply(v, noisy, train=False)[0])(variables)
            return (jnp.argmax(logits, -1) == y).mean(axis=-1)

        return jnp.stack([at_level(i, s) for i, s in enumerate(NOISE_LEVELS)], axis=-1)

    return accuracy


def coadaptation(run_set: RunSet, data: Dataset) -> dict[str, np.ndarray]:
    """C10 proxy: mean absolute Pearson correlation between the units of a layer (test set).

    Co-adapted units fire together; dropout is meant to break such
    dependencies (Srivastava et al. 2014, sec. 7.1; Cogswell et al. 2016 use
    the same cross-covariance as a measure of redundant, co-adapted units).
    Units that never fire have no correlation and are excluded (and counted).
    """
    coadapted, dead = _over_runs(_coadaptation_program(run_set.config.widths), run_set, None, data)
    return {"coadaptation": _by_variant(run_set, coadapted), "dead_units": _by_variant(run_set, dead)}


@_compiled
def _coadaptation_program(widths: tuple[int, ...]) -> Callable:
    model = MLP(widths=widths)

    def one_run(variables: dict, _seed: jax.Array, x: jax.Array, _y: jax.Array,
                _keep: jax.Array) -> tuple[jax.Array, jax.Array]:
        values, dead = [], []
        for h in _hidden(model, variables, x):
            centred = h - h.mean(axis=0)
            norms = jnp.sqrt((centred**2).sum(axis=0))
            alive = norms > 0
            corr = (centred.T @ centred) / jnp.where(alive, norms, 1.0)[:, None] / jnp.where(alive, norms, 1.0)[None]
            pair = alive[:, None] & alive[None, :] & ~jnp.eye(h.shape[1], dtype=bool)
            values.append(jnp.where(pair, jnp.abs(corr), 0.0).sum() / jnp.maximum(pair.sum(), 1))
            dead.append((~alive).sum())
        return jnp.stack(values), jnp.stack(dead)

    return one_run


def unit_ablation(run_set: RunSet, data: Dataset) -> dict[str, np.ndarray]:
    """C10, functional: test accuracy lost when a random ABLATION_FRACTION of one layer's units is removed.

    Per hidden layer l, ABLATION_DRAWS random sets of round(fraction x width)
    units are zeroed at test time (eval mode) and the survivors scaled by
    width / (width - removed), so the next layer's expected input is unchanged
    and only the dependence on *which* units fire is probed. Drop = clean
    accuracy - mean ablated accuracy. The draws depend on the seed and layer
    only, so both variants of a seed lose the same units. A unit that relies on
    specific partners (co-adaptation) makes the network fragile to losing them;
    ablation robustness as the signature of not relying on single units is
    Morcos et al. (2018, "On the importance of single directions for
    generalization").
    """
    drops = _over_runs(_ablation_program(run_set.config.widths, ABLATION_FRACTION), run_set, None, data)
    return {"ablation_drop": _by_variant(run_set, drops)}


@_compiled
def _ablation_program(widths: tuple[int, ...], fraction: float) -> Callable:
    model = MLP(widths=widths)

    def one_run(variables: dict, seed: jax.Array, x: jax.Array, y: jax.Array, _keep: jax.Array) -> jax.Array:
        relus = _hidden(model, variables, x)
        clean = (jnp.argmax(_head(variables, relus[0], lambda _l, h: h, widths), -1) == y).mean()
        base_key = jax.random.fold_in(jax.random.PRNGKey(seed), _TAG_ABLATE)
        drops = []
        for layer, width in enumerate(widths):
            removed = round(fraction * width)

            def ablated(key: jax.Array, layer: int = layer, width: int = width, removed: int = removed) -> jax.Array:
                keep = jax.random.permutation(key, width) >= removed  # exactly `removed` units off
                scale = jnp.where(keep, width / (width - removed), 0.0)
                logits = _head(variables, relus[0], lambda l, h: h * scale if l == layer else h, widths)
                return (jnp.argmax(logits, -1) == y).mean()

            keys = jax.random.split(jax.random.fold_in(base_key, layer), ABLATION_DRAWS)
            drops.append(clean - jax.lax.map(ablated, keys).mean())
        return jnp.stack(drops)

    return one_run


def _keep(run_set: RunSet) -> jax.Array:
    return keep_probabilities(run_set.config.protocol.dropout_rates)


def _over_runs(program: Callable, run_set: RunSet, variant: str | None, data: Dataset):
    """`program` over one variant's runs (or every variant's, variant-major: `_by_variant` undoes that), on
    the test split. Both variants of a seed get the same seed, so probes keyed by the seed give them the
    same noise, masks and ablations."""
    picked = slice(None) if variant is None else slice(v := run_set.variants.index(variant), v + 1)
    layout = RunLayout(run_set.variants[picked], run_set.seeds)
    flat = lambda a: layout.join(jnp.asarray(a[picked]))
    variables = {"params": jax.tree_util.tree_map(flat, run_set.params),
                 "batch_stats": jax.tree_util.tree_map(flat, run_set.batch_stats)}
    seeds = jnp.asarray(layout.run_seeds(), jnp.uint32)
    outputs = program(variables, seeds, data.test_x, data.test_y, _keep(run_set))
    return jax.tree_util.tree_map(np.asarray, outputs)


def _by_variant(run_set: RunSet, values: np.ndarray) -> np.ndarray:
    """(runs, ...) of every variant, variant-major, as (variants, seeds, ...)."""
    return run_set.layout.split(values)


def measure(run_set: RunSet, data: Dataset) -> Probes:
    """Every probe, on the tier's test split."""
    return Probes(
        **monte_carlo_dropout(run_set, data),
        **scaling_conventions(run_set, data),
        **input_noise(run_set, data),
        **coadaptation(run_set, data),
        **unit_ablation(run_set, data),
    )
