"""C1: dropout generalises better (final test accuracy)."""

import numpy as np

from harness.deciding import stats, writeup
from harness.deciding.claim_check import per_seed
from harness.reporting import figures

CLAIM = "C1"
READS = ("curves/test_accuracy",)

# The smallest effect of interest: one accuracy point, a third of the writeup's
# own +0.030 (0.5558 vs 0.5258). A gain reliably below it excludes the claimed effect.
MIN_EFFECT = 0.01


def final_test_accuracy(ev) -> tuple[np.ndarray, np.ndarray]:
    return ev.runs.curve("test_accuracy", "dropout")[:, -1], ev.runs.curve("test_accuracy", "baseline")[:, -1]


def hypotheses(ev) -> list[stats.Result]:
    dropout, baseline = final_test_accuracy(ev)
    return [
        stats.paired_t(
            dropout, baseline, hypothesis="C1", alternative="greater", unit="accuracy", min_effect=MIN_EFFECT,
            between_variants=True,
            discrete=False,  # accuracy over the whole test split (thousands of images): a fine-grained mean
            statement="dropout's final test accuracy exceeds the baseline's (paired by seed)",
        )
    ]


def test_c1_dropout_beats_baseline_on_test(claim):
    """The writeup: "the candidate model with the dropout layers performs better than the baseline"
    (final test accuracy 0.5558 vs 0.5258, one run).

    Operationalisation: test accuracy (eval mode, full test split of the tier)
    after the last epoch, one number per run. H1: mean over seeds of
    (dropout - baseline) > 0; one-sided paired test across seeds, Holm-corrected
    within the tier's family; effect = mean paired difference with its 95% t CI.
    REFUTED if dropout is significantly worse, or if the gain is significantly
    below 0.01 accuracy (a third of the writeup's +0.030: the claimed effect excluded).
    Complement for test-set sampling noise: per seed, an exact McNemar test on the
    two networks' paired predictions over the same test images (reported, not in
    the family).
    """
    ev = claim.evidence
    dropout, baseline = final_test_accuracy(ev)
    correct = ev.runs.final["test_correct"]
    variants = ev.runs.variants
    mcnemar = [
        stats.mcnemar(correct[variants.index("dropout"), s], correct[variants.index("baseline"), s],
                      hypothesis=f"C1.mcnemar.seed{seed}",
                      statement="dropout correct more often than the baseline on the same test images")
        for s, seed in enumerate(ev.runs.seeds)
    ]
    claim.details = {
        "McNemar per seed (exact, one-sided; not Holm-corrected)": [
            {"seed": seed, "accuracy difference": round(r.effect, 4), "p": float(f"{r.p_value:.3g}")}
            for seed, r in zip(ev.runs.seeds, mcnemar)
        ],
        "dropout final test accuracy": per_seed(dropout),
        "baseline final test accuracy": per_seed(baseline),
    }
    last = ev.config.tier.epochs
    claim.reported = [
        row for row in writeup.accuracy_table(ev.runs.curves, ev.runs.variants, last, ev.tier)
        if "test accuracy, epoch 200" in row.quantity
    ]
    claim.figures["C1_final_test_accuracy"] = figures.paired_dots(
        np.stack([baseline, dropout]), ylabel="test accuracy", title=f"Final test accuracy (epoch {last})"
    )
    claim.writeup_figures = ["accuracy_curves"]
    claim.assert_as_expected()
