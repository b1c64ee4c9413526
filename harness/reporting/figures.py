"""Matplotlib figures of the evidence report: numpy arrays in, `Figure` out.

Every function builds a fresh `matplotlib.figure.Figure` through the
object-oriented API, never pyplot: such a figure is not registered with any
GUI manager or global state, so building many of them (in tests, in one report)
cannot leak or interfere, and saving it picks the Agg renderer by itself.

Arrays follow the harness's axis order: (variant, seed, epoch, layer, ...),
variant 0 = baseline, 1 = dropout. Where the writeup shows one run we show the
across-seed mean (thick line), a 95% band (two-sided t-interval of the mean
over seeds; undefined, so not drawn, with a single seed) and each seed as a
thin line. Baseline and dropout keep the same colours in every figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from harness.config import VARIANTS
from harness.deciding.stats import mean_band

VARIANT_LABELS = ("Baseline", "Dropout (candidate)")
# matplotlib's first two default colours: the writeup's own figures draw the
# baseline blue and the candidate orange, so readers can compare side by side.
VARIANT_COLORS = ("#1f77b4", "#ff7f0e")
SPLITS = ("train", "test")


# --------------------------------------------------------------------------- shared helpers


def _plot_seeds(ax: Axes, x: np.ndarray, values: np.ndarray, color: str, linestyle: str = "-", per_seed: bool = True) -> None:
    """Draw (S, N) per-seed values against x: thin seed lines, the mean and its band."""
    values = np.asarray(values, dtype=float)
    mean, low, high = mean_band(values)
    if per_seed and values.shape[0] > 1:
        ax.plot(x, values.T, color=color, lw=0.5, alpha=0.35, linestyle=linestyle)
    ax.plot(x, mean, color=color, lw=1.8, linestyle=linestyle)
    if low is not None:
        ax.fill_between(x, low, high, color=color, alpha=0.22, lw=0)


def _plot_variants(ax: Axes, x: np.ndarray, values: np.ndarray) -> None:
    """Draw (2, S, N) values: both variants against the same x."""
    for variant, color in zip(values, VARIANT_COLORS):
        _plot_seeds(ax, x, variant, color)


def _draw_pairs(ax: Axes, pair: np.ndarray, centre: float, width: float = 0.36) -> list[float]:
    """Draw (2, S) paired values around x=centre: one grey line per seed joining its
    baseline and dropout dots, and each variant's mean with its 95% CI bar outside.
    Returns the two x positions (for tick labels)."""
    pair = np.asarray(pair, dtype=float)
    xs = [centre - width / 2, centre + width / 2]
    ax.plot(xs, pair, color="0.6", lw=0.8, zorder=1)
    for x, side, values, color in zip(xs, (-1, 1), pair, VARIANT_COLORS):
        ax.scatter(np.full(values.shape, x), values, color=color, s=22, zorder=2)
        mean, low, high = mean_band(values[:, None])
        error = None if low is None else [mean - low, high - mean]
        ax.errorbar(x + side * 0.1, mean, yerr=error, fmt="_", color=color, ms=10, capsize=3, lw=1.5, zorder=3)
    return xs


def _grid(fig: Figure, nrows: int, ncols: int, **kwargs) -> np.ndarray:
    return fig.subplots(nrows, ncols, squeeze=False, **kwargs)


def _seeds(n: int) -> str:
    return f"{n} seed{'s' * (n != 1)}"


def _variant_handles() -> list[Line2D]:
    return [Line2D([], [], color=c, lw=1.8, label=lb) for c, lb in zip(VARIANT_COLORS, VARIANT_LABELS)]


def _band_handles(n_seeds: int) -> list[Line2D | Patch]:
    """Legend entries saying what `_plot_seeds` draws."""
    handles: list[Line2D | Patch] = [Line2D([], [], color="0.3", lw=1.8, label=f"mean of {_seeds(n_seeds)}")]
    if n_seeds > 1:
        handles.append(Patch(color="0.3", alpha=0.22, label="95% CI of the mean (t)"))
        handles.append(Line2D([], [], color="0.3", lw=0.5, alpha=0.6, label="one seed"))
    return handles


def _paired_handles(n_seeds: int) -> list[Line2D]:
    """Legend entries saying what `_draw_pairs` draws."""
    dots = [Line2D([], [], color=c, marker="o", ls="", label=lb) for c, lb in zip(VARIANT_COLORS, VARIANT_LABELS)]
    summary = f"mean ± 95% CI ({_seeds(n_seeds)})" if n_seeds > 1 else "the seed's value"
    return dots + [Line2D([], [], color="0.6", lw=0.8, label="one seed's pair"), Line2D([], [], color="0.3", marker="_", ms=10, ls="", label=summary)]


def _finish(fig: Figure, title: str, handles: Sequence[Line2D | Patch]) -> Figure:
    """Title the figure and give it one legend below the panels, as many
    columns as its width holds."""
    fig.suptitle(title)
    columns = max(1, min(len(handles), int(fig.get_figwidth() // 2.2)))
    fig.legend(handles=handles, loc="outside lower center", ncols=columns, fontsize="small", frameon=False)
    return fig


def _require(array: np.ndarray, name: str, ndim: int, variants: bool = True) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != ndim or (variants and array.shape[0] != len(VARIANTS)):
        lead = f"({len(VARIANTS)}, ...)" if variants else "any"
        raise ValueError(f"{name} must have {ndim} dimensions with leading axis {lead}, got shape {array.shape}")
    return array


# --------------------------------------------------------------------------- the writeup's figures


def sample_images(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> Figure:
    """A square grid of training images (N, 3072) uint8 in HWC order, titled by class."""
    images = _require(images, "images", 2, variants=False)
    side = int(np.ceil(np.sqrt(len(images))))
    fig = Figure(figsize=(1.1 * side, 1.2 * side + 0.4), layout="constrained")
    axes = _grid(fig, side, side)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, image, label in zip(axes.flat, images, labels):
        ax.imshow(image.reshape(32, 32, 3))
        ax.set_title(class_names[int(label)], fontsize=7, pad=2)
    fig.suptitle("Training examples")
    return fig


def input_histograms(raw: np.ndarray, normalised: np.ndarray) -> Figure:
    """Input feature values before and after normalisation (20 bins, as the writeup)."""
    fig = Figure(figsize=(9, 3), layout="constrained")
    for ax, values, what in zip(_grid(fig, 1, 2).flat, (raw, normalised), ("Unnormalised", "Normalised")):
        ax.hist(np.ravel(values), bins=20, color="0.45")
        ax.set(title=f"{what} input feature distribution", xlabel="feature value", ylabel="count")
    fig.suptitle("Input features (train split)")
    return fig


def initial_weights(kernels: Sequence[np.ndarray]) -> Figure:
    """Initial kernel values of Dense_0..Dense_3, baseline row above dropout row.

    `kernels[l]` is (2, fan_in * fan_out) for one seed. Both rows share each
    layer's bins, and each dropout panel prints the largest absolute difference
    from the baseline, so identical initialisation (claim C0) is visible.
    """
    fig = Figure(figsize=(13, 5.5), layout="constrained")
    axes = _grid(fig, len(VARIANTS), len(kernels))
    for layer, kernel in enumerate(kernels):
        kernel = _require(kernel, f"kernels[{layer}]", 2)
        bins = np.histogram_bin_edges(kernel, bins=60)
        for row, (values, color, variant) in enumerate(zip(kernel, VARIANT_COLORS, VARIANTS)):
            ax = axes[row, layer]
            ax.hist(values, bins=bins, color=color, alpha=0.85)
            ax.set_title(f"Dense_{layer} weights ({variant})", fontsize="medium")
        difference = float(np.max(np.abs(kernel[0] - kernel[1])))
        axes[1, layer].text(0.02, 0.95, f"max |Δ| = {difference:.3g}", transform=axes[1, layer].transAxes, va="top", fontsize=8)
    return _finish(fig, "Initial weight distributions (seed 0)", _variant_handles())


def accuracy_curves(
    train: np.ndarray, test: np.ndarray, writeup: Mapping[str, Mapping[int, float]] | None = None
) -> Figure:
    """Train and test accuracy against epoch (0 = before training), (2, S, E+1) each.

    `writeup` overlays the writeup's reported single-run points as open
    diamonds, keyed "<variant> <split>", e.g. {"baseline train": {0: 0.1096, ...}}.
    """
    train, test = _require(train, "train", 3), _require(test, "test", 3)
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    axes = _grid(fig, 1, 2).flat
    epochs = np.arange(train.shape[-1])
    for ax, split, values in zip(axes, SPLITS, (train, test)):
        _plot_variants(ax, epochs, values)
        ax.set(title=f"{split.capitalize()} accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1 if split == "train" else None))
    for key, points in (writeup or {}).items():
        variant, split = key.split()
        ax = axes[SPLITS.index(split)]
        color = VARIANT_COLORS[VARIANTS.index(variant)]
        ax.scatter(list(points), list(points.values()), marker="D", s=28, facecolor="white", edgecolor=color, lw=1.4, zorder=4)
    handles = _variant_handles() + _band_handles(train.shape[1])
    if writeup:
        handles.append(Line2D([], [], marker="D", ls="", mfc="white", mec="0.2", label="writeup (one run)"))
    return _finish(fig, "Accuracy over training", handles)


def activation_counts(counts: np.ndarray) -> Figure:
    """Positive ReLU outputs per test example against epoch, one panel per layer; (2, S, E+1, L)."""
    counts = _require(counts, "counts", 4)
    layers = counts.shape[-1]
    fig = Figure(figsize=(10, 6.5), layout="constrained")
    epochs = np.arange(counts.shape[2])
    for layer, ax in enumerate(_grid(fig, (layers + 1) // 2, 2).flat):
        if layer >= layers:
            ax.set_axis_off()
            continue
        _plot_variants(ax, epochs, counts[..., layer])
        ax.set(title=f"Dense_{layer} activation counts (test)", xlabel="epoch", ylabel="active units per example")
    return _finish(fig, "Activated neurons per example (test set)", _variant_handles() + _band_handles(counts.shape[1]))


def activation_stats(mean: np.ndarray, std: np.ndarray) -> Figure:
    """Mean (top row) and std (bottom row) of each layer's ReLU outputs on train; (2, S, E+1, L) each."""
    mean, std = _require(mean, "mean", 4), _require(std, "std", 4)
    layers = mean.shape[-1]
    fig = Figure(figsize=(3.3 * layers, 6), layout="constrained")
    axes = _grid(fig, 2, layers)
    epochs = np.arange(mean.shape[2])
    for row, (values, what) in enumerate(((mean, "mean"), (std, "std"))):
        for layer in range(layers):
            _plot_variants(axes[row, layer], epochs, values[..., layer])
            axes[row, layer].set(title=f"Dense_{layer} outputs ({what})", xlabel="epoch")
    return _finish(fig, "Activation statistics (train set)", _variant_handles() + _band_handles(mean.shape[1]))


def positive_histograms(hist: np.ndarray, edges: np.ndarray) -> Figure:
    """Histograms of positive activations on test at the final epoch, pooled over layers
    as the writeup does; (2, S, L, B) counts over the shared `edges` (B+1,)."""
    pooled = _require(hist, "hist", 4).sum(axis=2)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    for ax, variant, color, label in zip(_grid(fig, 1, 2, sharey=True).flat, pooled, VARIANT_COLORS, VARIANT_LABELS):
        _plot_seeds(ax, centres, variant, color)
        ax.set(title=f"{label} positive activations (test)", xlabel="activation value", xlim=(edges[0], edges[-1]))
    fig.axes[0].set_ylabel("count per bin")
    return _finish(fig, "Positive activations at the final epoch, all layers pooled", _variant_handles() + _band_handles(pooled.shape[1]))


# --------------------------------------------------------------------------- claim figures


def paired_dots(values: np.ndarray, ylabel: str, title: str) -> Figure:
    """One number per seed and variant, (2, S): each seed's pair joined by a line."""
    values = _require(values, "values", 2)
    fig = Figure(figsize=(4.5, 4), layout="constrained")
    ax = _grid(fig, 1, 1)[0, 0]
    ax.set_xticks(_draw_pairs(ax, values, centre=0.0), [variant.capitalize() for variant in VARIANTS])
    ax.set(xlim=(-0.6, 0.6), ylabel=ylabel)
    return _finish(fig, title, _paired_handles(values.shape[1]))


def per_layer_paired(values: np.ndarray, ylabel: str, title: str) -> Figure:
    """Per-layer paired values, (2, S, L): one group of paired dots per layer."""
    values = _require(values, "values", 3)
    layers = values.shape[-1]
    fig = Figure(figsize=(1.8 * layers + 2, 4), layout="constrained")
    ax = _grid(fig, 1, 1)[0, 0]
    for layer in range(layers):
        _draw_pairs(ax, values[..., layer], centre=float(layer))
    ax.set_xticks(range(layers), [f"Dense_{layer}" for layer in range(layers)])
    ax.set(ylabel=ylabel, xlim=(-0.6, layers - 0.4))
    return _finish(fig, title, _paired_handles(values.shape[1]))


def mc_dropout(ks: np.ndarray, mc_accuracy: np.ndarray, deterministic: np.ndarray, single_subnetwork: np.ndarray) -> Figure:
    """Test accuracy of the dropout network: Monte-Carlo averages of k sampled
    sub-networks (S, K) against k, with the deterministic network and a single
    sub-network, (S,) each, as horizontal references."""
    ks = np.asarray(ks, dtype=float)
    mc_accuracy = _require(mc_accuracy, "mc_accuracy", 2, variants=False)
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = _grid(fig, 1, 1)[0, 0]
    deterministic = np.broadcast_to(np.asarray(deterministic, float)[:, None], mc_accuracy.shape)
    single_subnetwork = np.broadcast_to(np.asarray(single_subnetwork, float)[:, None], mc_accuracy.shape)
    series = (  # values, colour, line style, label, draw each seed?
        (mc_accuracy, VARIANT_COLORS[1], "-", "MC average of k sub-networks", True),
        (deterministic, "0.1", "--", "deterministic network", False),
        (single_subnetwork, "0.55", ":", "one sub-network", False),
    )
    for values, color, style, _, per_seed in series:
        _plot_seeds(ax, ks, values, color, linestyle=style, per_seed=per_seed)
    if np.all(ks > 0):
        ax.set_xscale("log", base=2)
    ax.set(xlabel="sub-networks averaged (k)", ylabel="test accuracy")
    handles = [Line2D([], [], color=c, ls=st, lw=1.8, label=lb) for _, c, st, lb, _ in series]
    return _finish(fig, "Dropout as an ensemble (Monte-Carlo dropout)", handles + _band_handles(mc_accuracy.shape[0]))


def perturbation(sigmas: np.ndarray, accuracy: np.ndarray) -> Figure:
    """Test accuracy under Gaussian input noise of scale sigma, (2, S, P)."""
    accuracy = _require(accuracy, "accuracy", 3)
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = _grid(fig, 1, 1)[0, 0]
    _plot_variants(ax, np.asarray(sigmas, dtype=float), accuracy)
    ax.set(xlabel="input noise σ", ylabel="test accuracy")
    return _finish(fig, "Robustness to input perturbation", _variant_handles() + _band_handles(accuracy.shape[1]))


def expectation_bias(bias: np.ndarray, noise: np.ndarray, margin: float) -> Figure:
    """Relative bias of the train-time mean against the test-time output per dropout layer, (S, L),
    with +-2 sampling standard errors (S, L) and the equivalence margin as references."""
    bias = _require(bias, "bias", 2, variants=False)
    noise = _require(noise, "noise", 2, variants=False)
    layers = np.arange(bias.shape[1])
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = _grid(fig, 1, 1)[0, 0]
    two_se = 2 * noise.mean(axis=0)
    ax.fill_between(layers, -two_se, two_se, color="0.85", label="±2 sampling s.e.")
    for bound in (-margin, margin):
        ax.axhline(bound, color="0.3", ls="--", lw=1)
    _plot_seeds(ax, layers, bias, VARIANT_COLORS[1], per_seed=True)
    ax.set_xticks(layers, [f"Dropout_{layer}" for layer in layers])
    ax.set(ylabel="(E[train output] - test output) / test output")
    handles = [
        Line2D([], [], color=VARIANT_COLORS[1], lw=1.8, label="relative bias"),
        Patch(color="0.85", label="±2 sampling s.e."),
        Line2D([], [], color="0.3", ls="--", label=f"equivalence margin ±{margin:g}"),
    ]
    return _finish(fig, "Train-time expectation vs test-time scaling", handles + _band_handles(bias.shape[0]))


def multiverse_heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    verdicts: Sequence[Sequence[str | None]],
    effects: Sequence[Sequence[float | None]],
    marked_columns: Mapping[int, str],
    colours: Mapping[str, str],
) -> Figure:
    """Hypotheses down, conditions across: each cell coloured by its verdict (`colours`: verdict -> colour; a
    cell not decided stays white), with its effect written in it. `marked_columns` labels special columns under
    their tick (the primary condition, the controls)."""
    rows, columns = len(row_labels), len(column_labels)
    fig = Figure(figsize=(2.8 + 0.62 * columns, 1.6 + 0.24 * rows), layout="constrained")
    ax = fig.add_subplot()
    for i in range(rows):
        for j in range(columns):
            verdict, effect = verdicts[i][j], effects[i][j]
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=colours.get(verdict or "", "white"),
                                   edgecolor="white", lw=0.8))
            if effect is not None:
                ax.text(j + 0.5, i + 0.5, f"{effect:.2g}", ha="center", va="center", fontsize=5.5)
    ax.set_xlim(0, columns)
    ax.set_ylim(rows, 0)
    ax.set_xticks(np.arange(columns) + 0.5, [
        label + (f"\n[{marked_columns[j]}]" if j in marked_columns else "") for j, label in enumerate(column_labels)
    ], rotation=90, fontsize=6)
    ax.set_yticks(np.arange(rows) + 0.5, row_labels, fontsize=6)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    handles = [Patch(facecolor=color, label=verdict) for verdict, color in colours.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=6, frameon=False)
    ax.set_title("Primary hypotheses under every condition (cell: effect; colour: verdict, Holm within a condition)",
                 fontsize=8)
    return fig



def confidence_sequence(ns: np.ndarray, effect: np.ndarray, low: np.ndarray, high: np.ndarray,
                        decided_at: int | None, bounds: Sequence[float], title: str) -> Figure:
    """One hypothesis under `--seeds auto`: its running anytime-valid interval and mean against the seeds
    seen at each look, the effects its decision is about (`bounds`: 0, a claimed minimum, margins) dashed,
    and the look that decided it marked. An infinite side (too few seeds to bound it) runs off the plot."""
    ns, effect = np.asarray(ns, float), np.asarray(effect, float)
    low, high = np.asarray(low, float), np.asarray(high, float)
    finite = np.concatenate([effect, low[np.isfinite(low)], high[np.isfinite(high)], np.asarray(bounds, float)])
    span = max(float(np.ptp(finite)), 1e-12)
    bottom, top = float(finite.min()) - 0.1 * span, float(finite.max()) + 0.1 * span
    fig = Figure(figsize=(4.5, 3.2), layout="constrained")
    ax = _grid(fig, 1, 1)[0, 0]
    low, high = np.clip(low, bottom, top), np.clip(high, bottom, top)
    ax.fill_between(ns, low, high, color=VARIANT_COLORS[1], alpha=0.25, lw=0)
    ax.vlines(ns, low, high, color=VARIANT_COLORS[1], lw=1.0)  # each look's interval (a band needs two looks)
    ax.plot(ns, effect, color=VARIANT_COLORS[1], marker="o", ms=3, lw=1.5)
    for bound in bounds:
        ax.axhline(bound, color="0.3", lw=0.8, linestyle="--")
    handles: list[Line2D | Patch] = [
        Line2D([], [], color=VARIANT_COLORS[1], marker="o", ms=3, label="mean of the per-seed values"),
        Patch(color=VARIANT_COLORS[1], alpha=0.25, label="anytime-valid interval"),
        Line2D([], [], color="0.3", lw=0.8, linestyle="--", label="decision bounds"),
    ]
    if decided_at is not None:
        ax.axvline(decided_at, color="black", lw=1.2)
        handles.append(Line2D([], [], color="black", lw=1.2, label=f"decided at n = {decided_at}"))
    ax.set(xlabel="paired seeds", ylabel="effect", ylim=(bottom, top), xlim=(0, ns.max() + 1))
    return _finish(fig, title, handles)
