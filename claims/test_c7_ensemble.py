"""C7: a network with dropout is an ensemble of sub-networks (Monte-Carlo dropout)."""

import numpy as np

from harness.deciding import stats
from harness.deciding.claim_check import per_seed
from harness.evidence.probes import MC_SAMPLES
from harness.reporting import figures

CLAIM = "C7"
READS = ("probes/mc_accuracy", "probes/single_subnetwork_accuracy", "probes/deterministic_accuracy")

# "approaches": the averaged ensemble within 1 accuracy point of the deterministic
# network -- a third of the 3-point dropout effect the writeup reports (C1).
APPROACH_MARGIN = 0.01


def hypotheses(ev) -> list[stats.Result]:
    p = ev.probes
    largest = p.mc_accuracy[:, -1]
    return [
        stats.paired_t(
            p.single_subnetwork_accuracy, p.deterministic_accuracy, alternative="less",
            hypothesis="C7.single_below", unit="accuracy",
            discrete=False,  # accuracies over the whole test split
            statement="a single sampled sub-network is less accurate than the deterministic network",
        ),
        stats.paired_t(
            largest, p.mc_accuracy[:, 0], alternative="greater", hypothesis="C7.averaging_helps", unit="accuracy",
            discrete=False,  # accuracies over the whole test split
            statement=f"averaging {MC_SAMPLES[-1]} sub-networks beats one sub-network",
        ),
        stats.equivalence_tost(
            largest, p.deterministic_accuracy, margin=APPROACH_MARGIN, hypothesis="C7.approaches",
            unit="accuracy",
            discrete=False,  # accuracies over the whole test split
            statement=f"the average of {MC_SAMPLES[-1]} sub-networks is within {APPROACH_MARGIN} accuracy "
                      "of the deterministic network",
        ),
    ]


def test_c7_dropout_is_an_ensemble(claim):
    """The writeup: "Dropout can also be seen as a way of creating an ensemble of models with shared
    weights. Mathematically, a single neural network with dropout is an ensemble of 2^n models".

    Operationalisation, on each trained dropout network (tier's test split): a
    sub-network is the network with a fresh dropout mask per example and layer
    (BatchNorm in eval mode); the ensemble prediction averages the softmax of k
    sampled sub-networks, k in 1, 2, 4, ..., 64; the deterministic network is the
    eval-mode network (flax's weight scaling).
      C7.single_below     one sub-network's accuracy < the deterministic network's
                          (one-sided paired t-test across seeds);
      C7.averaging_helps  the 64-sample average beats one sub-network (one-sided paired t);
      C7.approaches       |64-sample average - deterministic| < 0.01 accuracy (paired TOST).
    """
    p = claim.evidence.probes
    claim.details = {
        f"ensemble accuracy, k={k} (mean over seeds)": round(float(p.mc_accuracy[:, i].mean()), 4)
        for i, k in enumerate(MC_SAMPLES)
    } | {
        "deterministic accuracy": per_seed(p.deterministic_accuracy),
        "single sub-network accuracy": per_seed(p.single_subnetwork_accuracy),
    }
    claim.figures["C7_mc_dropout"] = figures.mc_dropout(
        np.asarray(MC_SAMPLES), p.mc_accuracy, p.deterministic_accuracy, p.single_subnetwork_accuracy
    )
    claim.assert_as_expected()
