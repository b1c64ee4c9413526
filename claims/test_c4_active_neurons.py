"""C4: similar numbers of active neurons at the start, fewer with dropout as training progresses."""

import numpy as np

from harness.deciding import stats
from harness.reporting import figures

CLAIM = "C4"
READS = ("curves/test_active_count",)

# "similar": the two counts within 10% of each other (ratio in [1/1.1, 1.1]),
# tested on the log ratio so the margin is symmetric.
SIMILAR_RATIO = 1.10
# "the start of training": after the first epoch. Epoch 0 is identical by
# construction (same initial weights, eval mode), so it cannot test anything.
START_EPOCH = 1


def counts(ev, variant: str) -> np.ndarray:
    """(seeds, epochs + 1, layers): positive ReLU outputs per test example."""
    return ev.runs.curve("test_active_count", variant)


def hypotheses(ev) -> list[stats.Result]:
    base, drop = counts(ev, "baseline"), counts(ev, "dropout")
    results = []
    for layer in range(base.shape[-1]):
        results.append(stats.equivalence_tost(
            np.log(drop[:, START_EPOCH, layer]), np.log(base[:, START_EPOCH, layer]), margin=np.log(SIMILAR_RATIO),
            hypothesis=f"C4.layer{layer}.start", unit="log ratio", between_variants=True,
            discrete=False,  # log of counts averaged over every test example: a fine-grained mean
            statement=f"layer {layer}: active neurons per test example similar at epoch {START_EPOCH} "
                      f"(ratio within {SIMILAR_RATIO:g})",
        ))
        results.append(stats.paired_t(
            drop[:, -1, layer], base[:, -1, layer], alternative="less",
            hypothesis=f"C4.layer{layer}.end", unit="active neurons", between_variants=True,
            discrete=False,  # active units per example averaged over the test split, not an integer count
            statement=f"layer {layer}: dropout has fewer active neurons per test example at the last epoch",
        ))
    return results


def test_c4_fewer_active_neurons_with_dropout(claim):
    """The writeup: "both the baseline and candidate models have similar numbers of activated
    neurons at the start of training. However, as training progresses, the candidate model tends
    to have fewer activations per training example" (figure "Activation Counts (Test)", per layer).

    Operationalisation, per hidden layer l = 0..3, on the tier's test split in eval
    mode (the writeup's figure uses the test set): count = number of positive ReLU
    outputs per example, averaged over the examples.
      C4.layer<l>.start  "similar at the start": after epoch 1, dropout/baseline count
                         ratio within [1/1.1, 1.1]; paired TOST on the log ratio.
      C4.layer<l>.end    "fewer as training progresses": at the last epoch, dropout's
                         count < the baseline's; one-sided paired t-test.
    The claim holds overall iff all eight parts are SUPPORTED (Holm over the tier's family).
    """
    ev = claim.evidence
    final = np.stack([counts(ev, v)[:, -1, :] for v in ("baseline", "dropout")])
    claim.details = {
        f"layer {l} counts at epoch 0 / {START_EPOCH} / last (mean over seeds, baseline vs dropout)": [
            {"epoch": int(e), "baseline": round(float(counts(ev, "baseline")[:, e, l].mean()), 2),
             "dropout": round(float(counts(ev, "dropout")[:, e, l].mean()), 2)}
            for e in (0, START_EPOCH, ev.config.tier.epochs)
        ]
        for l in range(final.shape[-1])
    }
    claim.figures["C4_final_counts"] = figures.per_layer_paired(
        final, ylabel="active neurons per test example", title="Active neurons at the last epoch"
    )
    claim.writeup_figures = ["activation_counts"]
    claim.assert_as_expected()
