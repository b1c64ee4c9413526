"""What the writeup says: its claims (with stable ids) and the numbers it reports.

The quotes are verbatim from ../shared/writeup/dropout-writeup.txt; the
numbers are the notebook's printed outputs for its single run (seed 42).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.deciding import stats


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    quote: str


CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in (
        Claim("C0", "Same parameters and initialisation",
              "both models have the same number of parameters as well as initial distributions"),
        Claim("C1", "Dropout generalises better",
              "the candidate model with the dropout layers performs better than the baseline"),
        Claim("C2", "The baseline overfits more",
              "the baseline model tends to overfit considerably more on the training data, reaching a "
              "training accuracy of 99%, but lagging behind the candidate in terms of test set performance"),
        Claim("C3", "Dropout converges more slowly",
              "It also takes longer to converge than the baseline."),
        Claim("C4", "Dropout gives fewer active neurons",
              "both the baseline and candidate models have similar numbers of activated neurons at the start "
              "of training. However, as training progresses, the candidate model tends to have fewer "
              "activations per training example"),
        Claim("C5", "Activation statistics grow without dropout, stabilise with it",
              "both the mean and standard deviation of the baseline activations increase as training "
              "progressses. However, the candidate activation statistics tend to stabilize and even decrease"),
        Claim("C6", "Dropout activations are sparser and smaller",
              "the baseline activations are more spread out than the candidate ones, which are more sparse "
              "and smaller in magnitude"),
        Claim("C7", "Dropout is an ensemble of sub-networks",
              "a single neural network with dropout is an ensemble of 2^n models, where n is the number of neurons"),
        Claim("C8", "Scaling by 1-p at test time",
              "During the testing phase, dropout is not applied, but instead, the outputs of each layer are "
              "scaled down by a factor of 1-p"),
        Claim("C9", "Robustness to small input changes",
              "the addition of noise makes the model more robust to small changes in the input distribution"),
        Claim("C10", "Less co-adaptation",
              "a neuron cannot necessarily depend on other units and has to individually learn a more robust function"),
    )
}

PARAMETER_COUNT = 831_210
PARAMETERS_PER_SAMPLE = 16.6242
TRAIN_SIZE = 50_000

# Accuracy printed by the notebook: {variant: {split: {epoch: accuracy}}}.
ACCURACY: dict[str, dict[str, dict[int, float]]] = {
    "baseline": {
        "train": {0: 0.1096, 1: 0.4692, 51: 0.9252, 101: 0.9718, 151: 0.9854, 200: 0.9921},
        "test": {0: 0.1108, 1: 0.4593, 51: 0.5441, 101: 0.5348, 151: 0.5276, 200: 0.5258},
    },
    "dropout": {
        "train": {0: 0.1096, 1: 0.4253, 51: 0.6953, 101: 0.7653, 151: 0.8072, 200: 0.8342},
        "test": {0: 0.1108, 1: 0.4278, 51: 0.5547, 101: 0.5547, 151: 0.5597, 200: 0.5558},
    },
}


@dataclass(frozen=True)
class ReportedNumber:
    """One number the writeup prints, beside our seeds: a row of the report's "reported vs reproduced" table.

    mean / sd / pi_low / pi_high are None where we have no such number (an
    epoch this tier does not reach; one seed has no interval); `inside` is None
    where there is no interval to be inside of.
    """

    quantity: str
    writeup: float
    mean: float | None = None
    sd: float | None = None
    pi_low: float | None = None
    pi_high: float | None = None
    inside: bool | None = None
    note: str = ""


def reported_vs_reproduced(values: np.ndarray, reported: float, quantity: str, note: str = "") -> ReportedNumber:
    """Does the writeup's single-run number lie in the 95% prediction interval of our seeds?

    `values` holds one number per seed. The prediction interval is for one new
    run: mean +- t(n-1, .975) * sd * sqrt(1 + 1/n).
    """
    values = np.asarray(values, dtype=float)
    low, high = stats.prediction_interval(values) if len(values) > 1 else (np.nan, np.nan)
    interval = bool(np.isfinite(low))
    return ReportedNumber(
        quantity=quantity,
        writeup=reported,
        mean=float(values.mean()),
        sd=float(values.std(ddof=1)) if len(values) > 1 else None,
        pi_low=float(low) if interval else None,
        pi_high=float(high) if interval else None,
        inside=bool(low <= reported <= high) if interval else None,
        note=note,
    )


def accuracy_table(curves: dict[str, np.ndarray], variants: tuple[str, ...], epochs: int,
                   tier: str) -> list[ReportedNumber]:
    """Every accuracy the writeup prints, beside our seeds at the same epoch.

    Epochs beyond this tier's last epoch are listed as not reached; at the
    smoke tier the data is a subset, so the comparison is indicative only.
    """
    rows = []
    scale_note = "" if tier == "full" else f"{tier} tier: reduced data and epochs, not comparable in level"
    for variant, splits in ACCURACY.items():
        for split, points in splits.items():
            for epoch, reported in points.items():
                quantity = f"{variant} {split} accuracy, epoch {epoch}"
                if epoch > epochs:
                    rows.append(ReportedNumber(quantity, reported,
                                               note=f"epoch {epoch} not reached (this tier trains {epochs} epochs)"))
                    continue
                values = curves[f"{split}_accuracy"][variants.index(variant), :, epoch]
                rows.append(reported_vs_reproduced(values, reported, quantity, scale_note))
    return rows
