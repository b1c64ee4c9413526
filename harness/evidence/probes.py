"""Measurements on the trained networks, after training (claims C7-C10), as one compiled program.

Each probe is a pure function of one run's network (or one seed's two networks)
and the tier's test split; all randomness comes from fixed keys derived from the
seed, so probes are reproducible and the two variants of a seed see the same
noise. `measure` runs every probe of a run set in one jitted program: the
eval-mode pass over the test split is computed once per network and shared, and
one compilation serves every run set of the same widths and shapes (the claims,
the A/A check, each multiverse condition, the calibration's seed sets).
Results are numpy arrays with a leading (variants, seeds) or (seeds,) shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from harness.evidence.evidence import Probes
from harness.training import compiler
from harness.training.models import MLP, dropout
from harness.training.run_set import Dataset, RunSet

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
# The probes measured on the dropout variant alone (C7, C8: no comparison between the variants).
OF_THE_DROPOUT_MODEL: tuple[str, ...] = (
    "mc_samples", "mc_accuracy", "single_subnetwork_accuracy", "deterministic_accuracy",
    "expectation_bias", "expectation_noise", "variance_shift", "conversion_max_error", "conversion_agreement",
)


def measure(run_set: RunSet, data: Dataset, *, of_the_dropout_model: bool = True) -> Probes:
    """Every probe of `run_set`'s networks, on the test split `data.test_x`, `data.test_y`.

    The probes of the dropout model alone (`OF_THE_DROPOUT_MODEL`) read the run set's "dropout" variant, with
    the keep probabilities it trained with (`RunSet.keep_probs`); the others read every network. The keep
    probabilities and the ablated share are arguments of the program, not constants, so a run set of other
    dropout rates (the multiverse's conditions) or another ABLATION_FRACTION reuses the compilation. `of_the_dropout_model=False` leaves those probes out (NaN, one
    per seed): the A/A check, whose "dropout" slot holds baselines, has no use for them.
    """
    dropout_variant = run_set.variants.index("dropout") if of_the_dropout_model else None
    program = _program(run_set.config.widths, dropout_variant)
    variables = {"params": run_set.params, "batch_stats": run_set.batch_stats}
    # Host scalars and seeds as numpy values: converting them with jax would compile programs of its own.
    measured = program(variables, np.asarray(run_set.seeds, np.uint32), data.test_x, data.test_y,
                       np.asarray(run_set.keep_probs["dropout"], np.float32), np.float32(ABLATION_FRACTION))
    constants = {"mc_samples": np.asarray(MC_SAMPLES), "noise_levels": np.asarray(NOISE_LEVELS)}
    if not of_the_dropout_model:
        constants |= {name: np.full(len(run_set.seeds), np.nan) for name in OF_THE_DROPOUT_MODEL}
    return Probes(**constants, **jax.tree_util.tree_map(np.asarray, jax.device_get(measured)))


@functools.cache
def _program(widths: tuple[int, ...], dropout_variant: int | None) -> Callable:
    """`measure`'s program for networks of `widths` whose "dropout" variant is `dropout_variant` (None: without
    the probes of the dropout model alone):
    (variables with leaves (variants, seeds, ...), seeds, test x, test y, keep, fraction) -> the probes.

    The test split is an argument, not a constant closed over: a constant of the test set's size made the
    compilers fold it into the program, and compiling dominated the probes' cost (see
    benchmarks/test_probe_cost.py).
    """
    model = MLP(widths=widths)

    def probes(variables: dict, seeds: jax.Array, x: jax.Array, y: jax.Array, keep: jax.Array,
               fraction: jax.Array) -> dict[str, jax.Array]:
        num_variants, num_seeds = jax.tree_util.tree_leaves(variables)[0].shape[:2]
        # Runs on one axis, variant-major (run = variant x seeds + seed), as training lays them out.
        as_runs = lambda tree: jax.tree_util.tree_map(lambda a: a.reshape(-1, *a.shape[2:]), tree)
        by_variant = lambda tree: jax.tree_util.tree_map(lambda a: a.reshape(num_variants, num_seeds, *a.shape[1:]), tree)
        networks, run_seeds = as_runs(variables), jnp.tile(seeds, num_variants)
        # The eval-mode pass over the test split, once per network: (runs, examples, ...).
        logits, relus = jax.vmap(lambda v: model.apply(v, x, train=False))(networks)

        coadapted, dead = jax.vmap(_coadaptation)(relus)
        drops = jax.vmap(lambda v, s, relu0: _unit_ablation(v, s, relu0, y, fraction, widths))(
            networks, run_seeds, relus[0])
        noisy = _input_noise(model, variables, seeds, x, y, by_variant(logits))
        between_variants = {"noisy_accuracy": noisy,
                            **by_variant({"coadaptation": coadapted, "dead_units": dead, "ablation_drop": drops})}
        if dropout_variant is None:
            return between_variants

        dropout_runs = slice(dropout_variant * num_seeds, (dropout_variant + 1) * num_seeds)
        pick = lambda tree: jax.tree_util.tree_map(lambda leaf: leaf[dropout_runs], tree)
        dropout_networks, dropout_relus = pick(networks), pick(relus)
        mc = jax.vmap(lambda v, s, relu0: _monte_carlo_dropout(v, s, relu0, y, keep, widths))(
            dropout_networks, seeds, dropout_relus[0])
        scaling = jax.vmap(lambda v, s, r: _scaling_conventions(model, v, s, r, x, keep, widths))(
            dropout_networks, seeds, dropout_relus)
        return {**mc, **scaling, **between_variants}

    return compiler.jit(probes)


def _head(variables: dict, relu0: jax.Array, masks_fn, widths) -> jax.Array:
    """Logits from the first hidden layer's ReLU output onward, with dropout via `masks_fn(layer, h)`.

    The first layer (Dense 3072->256, BN, ReLU) is identical for every mask, so
    Monte-Carlo passes start after it: the costliest layer runs once, not once per sample.
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


def _accuracy(logits: jax.Array, y: jax.Array) -> jax.Array:
    return (jnp.argmax(logits, -1) == y).mean(axis=-1)


def _monte_carlo_dropout(variables: dict, seed: jax.Array, relu0: jax.Array, y: jax.Array, keep: jax.Array,
                         widths: tuple[int, ...]) -> dict[str, jax.Array]:
    """C7, one dropout network: average the softmax of k sub-networks (fresh masks per example and layer).

    mc_accuracy[k] is the accuracy of the mean of the first MC_SAMPLES[k] sub-networks' softmax; the single
    sub-network's accuracy is averaged over all max(MC_SAMPLES) of them; the deterministic network is the
    eval-mode one (inverted dropout: no mask, no scaling).
    """
    k_max = max(MC_SAMPLES)
    deterministic = _head(variables, relu0, lambda _l, h: h, widths)
    keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), _TAG_MC), k_max)

    def sample(key: jax.Array) -> jax.Array:
        layer_keys = jax.random.split(key, len(widths))
        logits = _head(variables, relu0, lambda l, h: dropout(h, keep[l], layer_keys[l]), widths)
        return jax.nn.softmax(logits)

    probs = jax.lax.map(sample, keys)  # (k_max, examples, classes)
    running_mean = jnp.cumsum(probs, axis=0) / jnp.arange(1, k_max + 1)[:, None, None]
    correct = jnp.argmax(running_mean, axis=-1) == y
    return {
        "mc_accuracy": correct.mean(axis=-1)[jnp.asarray(MC_SAMPLES) - 1],
        "single_subnetwork_accuracy": (jnp.argmax(probs, axis=-1) == y).mean(),
        "deterministic_accuracy": _accuracy(deterministic, y),
    }


def _scaling_conventions(model: MLP, variables: dict, seed: jax.Array, relus: tuple[jax.Array, ...], x: jax.Array,
                         keep: jax.Array, widths: tuple[int, ...]) -> dict[str, jax.Array]:
    """C8, one dropout network: inverted dropout (scale 1/q in training) vs the writeup's text (scale by q at test).

    Per dropout layer, with that layer's eval-mode input h fixed, the train-time
    output's expectation must equal the test-time output:
      inverted:  E[mask * h / q] = h       (flax; test-time rule: identity)
      standard:  E[mask * h]     = q * h   (the writeup's text; test-time rule: scale by q)
    Both relative biases are the same number, (mean_K sum(dropout(h)) - sum(h)) / sum(h),
    estimated from EXPECTATION_SAMPLES draws of the model's own dropout layer
    (`harness.training.models.dropout`, the function the trainer applies); `expectation_noise`
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
    keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), _TAG_EXPECT), len(widths))
    biases, noise, shifts = [], [], []
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
    # shows C8 failing on an H200 for that reason alone). So this pass is not the shared eval-mode one.
    with jax.default_matmul_precision("highest"):
        inverted_logits, (relu0, *_) = model.apply(variables, x, train=False)
        standard_logits = _head(
            _standard_convention(variables, keep, widths), relu0, lambda l, h: h * keep[l], widths
        )
    return {
        "expectation_bias": jnp.stack(biases),
        "expectation_noise": jnp.stack(noise),
        "variance_shift": jnp.stack(shifts),
        "conversion_max_error": jnp.abs(inverted_logits - standard_logits).max() / jnp.abs(inverted_logits).max(),
        "conversion_agreement": (jnp.argmax(inverted_logits, -1) == jnp.argmax(standard_logits, -1)).mean(),
    }


def _standard_convention(variables: dict, keep: jax.Array, widths) -> dict:
    """The same network for the scale-at-test convention: the layer after each dropout gets W / q."""
    params = dict(variables["params"])
    for layer in range(len(widths)):
        nxt = f"Dense_{layer + 1}"
        params[nxt] = {**params[nxt], "kernel": params[nxt]["kernel"] / keep[layer]}
    return {"params": params, "batch_stats": variables["batch_stats"]}


def _input_noise(model: MLP, variables: dict, seeds: jax.Array, x: jax.Array, y: jax.Array,
                 clean_logits: jax.Array) -> jax.Array:
    """C9, every network: test accuracy with Gaussian noise of std sigma * std(test inputs) added to every
    input, (variants, seeds, NOISE_LEVELS).

    The same noise (keyed by seed and level) is used for both variants of a seed: it is drawn once per
    seed and level and fed to both networks (drawing it is most of this probe's cost on a CPU). At sigma 0
    the input is the clean test split, whose eval-mode logits (`clean_logits`, (variants, seeds, ...)) are
    already computed. The noisy levels run one after another (lax.map): one level's noisy copy of the test
    split per seed is in memory at a time.
    """
    spread = jnp.std(x)
    noisy_levels = [i for i, sigma in enumerate(NOISE_LEVELS) if sigma != 0]

    def per_seed(seed_variables: dict, seed: jax.Array) -> jax.Array:
        """(levels with noise, variants) for one seed; `seed_variables` has leaves shaped (variants, ...)."""

        def at_level(level: tuple[jax.Array, jax.Array]) -> jax.Array:
            index, sigma = level
            key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), _TAG_NOISE), index)
            noisy = x + sigma * spread * jax.random.normal(key, x.shape)
            return _accuracy(jax.vmap(lambda v: model.apply(v, noisy, train=False)[0])(seed_variables), y)

        levels = (jnp.asarray(noisy_levels, jnp.uint32), jnp.asarray([NOISE_LEVELS[i] for i in noisy_levels]))
        return jax.lax.map(at_level, levels)

    noisy = jax.vmap(per_seed, in_axes=(1, 0), out_axes=2)(variables, seeds)  # (levels, variants, seeds)
    clean = _accuracy(clean_logits, y)  # (variants, seeds)
    by_level = iter(noisy)
    return jnp.stack([clean if sigma == 0 else next(by_level) for sigma in NOISE_LEVELS], axis=-1)


def _coadaptation(relus: tuple[jax.Array, ...]) -> tuple[jax.Array, jax.Array]:
    """C10 proxy, one network: mean absolute Pearson correlation between the units of a layer (test set).

    Co-adapted units fire together; dropout is meant to break such
    dependencies (Srivastava et al. 2014, sec. 7.1; Cogswell et al. 2016 use
    the same cross-covariance as a measure of redundant, co-adapted units).
    Units that never fire have no correlation and are excluded (and counted).
    """
    values, dead = [], []
    for h in relus:
        centred = h - h.mean(axis=0)
        norms = jnp.sqrt((centred**2).sum(axis=0))
        alive = norms > 0
        corr = (centred.T @ centred) / jnp.where(alive, norms, 1.0)[:, None] / jnp.where(alive, norms, 1.0)[None]
        pair = alive[:, None] & alive[None, :] & ~jnp.eye(h.shape[1], dtype=bool)
        values.append(jnp.where(pair, jnp.abs(corr), 0.0).sum() / jnp.maximum(pair.sum(), 1))
        dead.append((~alive).sum())
    return jnp.stack(values), jnp.stack(dead)


def _unit_ablation(variables: dict, seed: jax.Array, relu0: jax.Array, y: jax.Array, fraction: jax.Array,
                   widths: tuple[int, ...]) -> jax.Array:
    """C10, functional, one network: test accuracy lost when a random `fraction` of one layer's units is removed.

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
    clean = _accuracy(_head(variables, relu0, lambda _l, h: h, widths), y)
    base_key = jax.random.fold_in(jax.random.PRNGKey(seed), _TAG_ABLATE)
    drops = []
    for layer, width in enumerate(widths):
        removed = jnp.round(fraction * width).astype(jnp.int32)  # half to even, as Python's round

        def ablated(key: jax.Array, layer: int = layer, width: int = width, removed: jax.Array = removed) -> jax.Array:
            kept = jax.random.permutation(key, width) >= removed  # exactly `removed` units off
            scale = jnp.where(kept, width / (width - removed), 0.0)
            return _accuracy(_head(variables, relu0, lambda l, h: h * scale if l == layer else h, widths), y)

        keys = jax.random.split(jax.random.fold_in(base_key, layer), ABLATION_DRAWS)
        drops.append(clean - jax.lax.map(ablated, keys).mean())
    return jnp.stack(drops)
