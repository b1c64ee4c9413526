"""C3: dropout takes longer to converge."""

import numpy as np

from harness.deciding import stats, writeup
from harness.deciding.claim_check import per_seed
from harness.reporting import figures

CLAIM = "C3"
READS = ("curves/train_accuracy",)

# A run has converged once its training accuracy first reaches this fraction of
# its own final value.
FRACTION_OF_FINAL = 0.9


def epochs_to_converge(train_accuracy: np.ndarray) -> np.ndarray:
    """(seeds, epochs + 1) -> (seeds,): first epoch with accuracy >= FRACTION_OF_FINAL * final."""
    reached = train_accuracy >= FRACTION_OF_FINAL * train_accuracy[:, -1:]
    return reached.argmax(axis=1).astype(float)


def hypotheses(ev) -> list[stats.Result]:
    return [
        stats.paired_t(
            epochs_to_converge(ev.runs.curve("train_accuracy", "dropout")),
            epochs_to_converge(ev.runs.curve("train_accuracy", "baseline")),
            hypothesis="C3", alternative="greater", unit="epochs", between_variants=True,
            discrete=True,  # whole epochs: differences of integers, few-valued and tied by construction
            statement=f"dropout needs more epochs than the baseline to reach {FRACTION_OF_FINAL:.0%} "
                      "of its final training accuracy",
        )
    ]


def test_c3_dropout_converges_more_slowly(claim):
    """The writeup: "It also takes longer to converge than the baseline." (curves: train accuracy
    baseline 0.4692/0.9252/0.9718/0.9854/0.9921, dropout 0.4253/0.6953/0.7653/0.8072/0.8342 at
    epochs 1/51/101/151/200).

    Operationalisation: convergence is the approach of a run to its own final
    level, so that speed is not confused with the (different) level each model
    settles at: epochs to converge = the first epoch at which the run's training
    accuracy (eval mode, full train split) reaches 90% of its value at the last
    epoch. H1: dropout's epochs to converge > the baseline's; one-sided paired
    test across seeds; integer epochs are a discrete statistic, so the test is the
    exact sign-flip test of the differences (p >= 2^-n; see harness/deciding/stats.py).
    On the writeup's own numbers this reads about epoch 35 vs 90.
    """
    ev = claim.evidence
    epochs = np.stack([
        epochs_to_converge(ev.runs.curve("train_accuracy", v)) for v in ("baseline", "dropout")
    ])
    claim.details = {"baseline epochs to converge": per_seed(epochs[0]),
                     "dropout epochs to converge": per_seed(epochs[1])}
    claim.reported = writeup.accuracy_table(ev.runs.curves, ev.runs.variants, ev.config.tier.epochs, ev.tier)
    claim.figures["C3_epochs_to_converge"] = figures.paired_dots(
        epochs, ylabel="epochs", title=f"Epochs to reach {FRACTION_OF_FINAL:.0%} of the final train accuracy"
    )
    claim.writeup_figures = ["accuracy_curves"]
    claim.assert_as_expected()
