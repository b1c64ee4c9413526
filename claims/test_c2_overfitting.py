"""C2: the baseline overfits considerably more, reaching 99% training accuracy."""

import numpy as np

from harness.deciding import stats, writeup
from harness.deciding.claim_check import per_seed
from harness.reporting import figures

CLAIM = "C2"
READS = ("curves/train_accuracy", "curves/test_accuracy")

# "reaching a training accuracy of 99%", as written.
REACHES = 0.99
# "considerably more": the baseline's gap larger by at least 5 accuracy points
# (the writeup's own difference is 0.19: 0.4663 vs 0.2784). A difference reliably
# below it excludes the claimed effect.
CONSIDERABLY = 0.05


def generalisation_gap(ev, variant: str) -> np.ndarray:
    """Final train accuracy minus final test accuracy, per seed."""
    return ev.runs.curve("train_accuracy", variant)[:, -1] - ev.runs.curve("test_accuracy", variant)[:, -1]


def hypotheses(ev) -> list[stats.Result]:
    return [
        stats.paired_t(
            generalisation_gap(ev, "baseline"), generalisation_gap(ev, "dropout"),
            hypothesis="C2.gap", alternative="greater", unit="accuracy", min_effect=CONSIDERABLY,
            between_variants=True,
            discrete=False,  # differences of accuracies over whole splits (thousands of images each)
            statement="the baseline's final train-test accuracy gap exceeds dropout's",
        ),
        stats.one_sample_t(
            ev.runs.curve("train_accuracy", "baseline")[:, -1], popmean=REACHES,
            hypothesis="C2.train99", alternative="greater", unit="accuracy",
            discrete=False,  # accuracy over the whole train split (thousands of images)
            statement=f"the baseline's final training accuracy reaches 99% (mean > {REACHES})",
        ),
    ]


def test_c2_baseline_overfits_more(claim):
    """The writeup: "the baseline model tends to overfit considerably more on the training data,
    reaching a training accuracy of 99%, but lagging behind the candidate in terms of test set
    performance" (final train 0.9921 vs 0.8342; test 0.5258 vs 0.5558).

    Operationalisation, after the last epoch, eval mode, full splits of the tier:
      C2.gap      overfitting = train accuracy - test accuracy per run;
                  H1: baseline's gap > dropout's gap, one-sided paired test across seeds;
                  REFUTED also when the difference is significantly below 0.05
                  ("considerably": the claimed effect excluded).
      C2.train99  H1: the baseline's mean final train accuracy > 0.99, as written;
                  one-sided one-sample t-test; the margin (mean - 0.99) is shown.
    "lagging behind the candidate" on test is claim C1 and is decided there.
    """
    ev = claim.evidence
    gaps = np.stack([generalisation_gap(ev, "baseline"), generalisation_gap(ev, "dropout")])
    baseline_train = ev.runs.curve("train_accuracy", "baseline")[:, -1]
    claim.details = {
        "baseline gap": per_seed(gaps[0]), "dropout gap": per_seed(gaps[1]),
        f"baseline final train accuracy minus {REACHES} (per seed)": per_seed(baseline_train - REACHES),
    }
    claim.reported = [
        row for row in writeup.accuracy_table(ev.runs.curves, ev.runs.variants, ev.config.tier.epochs, ev.tier)
        if "train accuracy, epoch 200" in row.quantity
    ]
    claim.figures["C2_generalisation_gap"] = figures.paired_dots(
        gaps, ylabel="train - test accuracy", title="Generalisation gap at the last epoch"
    )
    claim.writeup_figures = ["accuracy_curves"]
    claim.assert_as_expected()
