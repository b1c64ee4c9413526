"""C5: baseline activation mean/std grow during training; with dropout they stabilise (and even decrease)."""

import numpy as np
from scipy import stats as scipy_stats

from harness.deciding import stats

CLAIM = "C5"
READS = ("curves/train_relu_mean", "curves/train_relu_std")

STATISTICS = {"mean": "train_relu_mean", "std": "train_relu_std"}
# Epoch 0 is the untrained network read through BatchNorm's initial running
# statistics, far below every trained epoch: starting there would make a curve
# "increase" whatever training does (C4 excludes it for the same reason).
FIRST_EPOCH = 1
# "stabilise": over the second half of training the statistic changes by less
# than 10% of its own level (per seed: second-half OLS slope x the half's length /
# the half's mean value).
STABLE_MARGIN = 0.10


def curve(ev, summary: str, variant: str, layer: int) -> np.ndarray:
    """(seeds, epochs from FIRST_EPOCH): one layer's statistic on the train split, eval mode."""
    return ev.runs.curve(summary, variant)[:, FIRST_EPOCH:, layer]


def net_change(values: np.ndarray) -> np.ndarray:
    """Per seed: the last epoch's value minus the first epoch's (epoch FIRST_EPOCH)."""
    return values[:, -1] - values[:, 0]


def second_half(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, values) of the second half of training: epochs >= E/2, E the last epoch."""
    epochs = np.arange(FIRST_EPOCH, FIRST_EPOCH + values.shape[1])
    half = epochs >= epochs[-1] / 2
    return epochs[half], values[:, half]


def second_half_slopes(values: np.ndarray) -> np.ndarray:
    """Per seed, the OLS slope over the second half (per epoch)."""
    epochs, half = second_half(values)
    return np.array([scipy_stats.linregress(epochs, row).slope for row in half])


def relative_second_half_change(values: np.ndarray) -> np.ndarray:
    """Per seed: second-half slope x the half's length in epochs / the half's mean value."""
    epochs, half = second_half(values)
    return second_half_slopes(values) * (epochs[-1] - epochs[0]) / half.mean(axis=1)


def _parts(ev):
    for layer in range(len(ev.config.widths)):
        for name, summary in STATISTICS.items():
            yield layer, name, curve(ev, summary, "baseline", layer), curve(ev, summary, "dropout", layer)


def hypotheses(ev) -> list[stats.Result]:
    """Primary, per layer and statistic: the baseline's net increase, and dropout's stabilisation."""
    results = []
    for layer, name, base, drop in _parts(ev):
        results.append(stats.one_sample_t(
            net_change(base), hypothesis=f"C5.layer{layer}.{name}.baseline_increases", alternative="greater",
            discrete=False,  # change of a mean / std over every ReLU output of the train split
            statement=f"layer {layer}: the baseline's activation {name} (train) is higher at the "
                                      f"last epoch than at epoch {FIRST_EPOCH}",
        ))
        results.append(stats.one_sample_t(
            relative_second_half_change(drop), popmean=STABLE_MARGIN, alternative="less",
            discrete=False,  # an OLS slope of such means over epochs, relative to their level
            hypothesis=f"C5.layer{layer}.{name}.dropout_stabilises", unit="relative change",
            statement=f"layer {layer}: over the second half of training dropout's activation {name} changes by "
                      f"less than +{STABLE_MARGIN:.0%} of its level",
        ))
    return results


def secondary(ev) -> list[stats.Result]:
    """Sub-verdicts on the curves' shape: the baseline's trend, dropout's decrease, dropout against the baseline."""
    results = []
    for layer, name, base, drop in _parts(ev):
        epochs = np.arange(FIRST_EPOCH, FIRST_EPOCH + base.shape[1])
        results.append(stats.trend_test(
            epochs, base, hypothesis=f"C5.layer{layer}.{name}.baseline_trend", alternative="greater",
            statement=f"layer {layer}: the baseline's activation {name} trends upward from epoch {FIRST_EPOCH} on",
        ))
        results.append(stats.one_sample_t(
            relative_second_half_change(drop), alternative="less",
            discrete=False,  # as dropout_stabilises: a relative OLS slope of means
            hypothesis=f"C5.layer{layer}.{name}.dropout_decreases", unit="relative change",
            statement=f"layer {layer}: over the second half of training dropout's activation {name} decreases",
        ))
        results.append(stats.paired_t(
            second_half_slopes(base), second_half_slopes(drop), alternative="greater", between_variants=True,
            discrete=False,  # OLS slopes of means over every ReLU output
            hypothesis=f"C5.layer{layer}.{name}.dropout_below_baseline", unit="per epoch",
            statement=f"layer {layer}: over the second half of training dropout's activation {name} grows more "
                      "slowly than the baseline's",
        ))
    return results


def test_c5_activation_statistics(claim):
    """The writeup: "both the mean and standard deviation of the baseline activations increase as
    training progressses. However, the candidate activation statistics tend to stabilize and even
    decrease" (figure "Outputs (Mean)" / "(Standard Deviation)", per layer, train set).

    Operationalisation, per hidden layer l and statistic s in {mean, std} of all ReLU
    outputs over the tier's train split (eval mode), from epoch 1 to the last epoch E
    (epoch 0 is the untrained network through BatchNorm's initial statistics, far
    below every trained epoch, so it would manufacture an increase):
    primary (decide the claim):
      C5.layer<l>.<s>.baseline_increases  "increase as training progresses" as the figure
          shows it: the baseline ends higher than it started; per seed s(E) - s(1);
          H1: > 0, one-sided test across seeds.
      C5.layer<l>.<s>.dropout_stabilises  "tend to stabilize": dropout's own curve is flat
          over the second half (epochs >= E/2): per seed the OLS slope there x the half's
          length / the half's mean level; H1: < +10%, one-sided one-sample t-test.
    secondary (sub-verdicts on the curves' shape, shown, not deciding):
      C5.layer<l>.<s>.baseline_trend          OLS slope from epoch 1 on > 0 (a curve that dips
          and partly recovers can trend up with a net decrease, or the reverse);
      C5.layer<l>.<s>.dropout_decreases       "and even decrease" (hedged): the same
          second-half change < 0;
      C5.layer<l>.<s>.dropout_below_baseline  dropout's second-half slope < the baseline's.
    The claim's verdict rule: C5 holds iff, in every layer and for both statistics, the
    baseline's net change is positive AND dropout's second-half change stays below +10%
    (the net change, not the trend, decides "increase": it is what the writeup's figure
    shows; the trend is reported beside it).
    """
    ev = claim.evidence
    claim.details = {
        f"layer {layer} {name}: epoch {FIRST_EPOCH} -> last (mean over seeds)": {
            "baseline": [round(float(base[:, 0].mean()), 4), round(float(base[:, -1].mean()), 4)],
            "dropout": [round(float(drop[:, 0].mean()), 4), round(float(drop[:, -1].mean()), 4)],
            "dropout second-half relative change (mean over seeds)": round(
                float(relative_second_half_change(drop).mean()), 4),
        }
        for layer, name, base, drop in _parts(ev)
    }
    claim.writeup_figures = ["activation_stats"]
    claim.assert_as_expected()
