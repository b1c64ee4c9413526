"""C0: both models have the same parameters and the same initial weights."""

import jax
import numpy as np

from harness import writeup
from harness.models import MLP, count_params
from harness.train import init_states

CLAIM = "C0"
SMOKE_XFAIL = None


def test_c0_same_parameters_and_initialisation(claim):
    """The writeup: "both models have the same number of parameters as well as initial distributions"
    (831,210 parameters each; P/S ratio 16.6242 on the 50,000 training images).

    Operationalisation (exact, no statistics): for every seed of the tier, build
    the initial state of both variants exactly as the trainer does, then
      1. count the trainable parameters of each variant: both must equal 831,210,
         and 831,210 / 50,000 must round to the writeup's 16.6242;
      2. compare every initial weight and bias of the two variants: they must be
         bitwise identical (identical values imply identical distributions);
      3. check the two variants differ only in their dropout keep-probabilities
         (all 1 for the baseline, 0.6/0.7/0.8/0.8 for the candidate).
    """
    ev = claim.evidence
    seeds = ev.runs.seeds
    states = init_states(ev.config, seeds, num_train=8)
    params = jax.tree_util.tree_map(lambda a: np.asarray(a).reshape(2, len(seeds), *a.shape[1:]), states.params)
    counts = [count_params(jax.tree_util.tree_map(lambda a: a[v, 0], params)) for v in range(2)]
    identical = all(np.array_equal(a[0], a[1]) for a in jax.tree_util.tree_leaves(params))
    keep = np.asarray(states.keep_probs).reshape(2, len(seeds), -1)
    expected_keep = 1.0 - np.asarray(ev.config.protocol.dropout_rates, np.float32)
    keeps_right = np.all(keep[0] == 1.0) and np.allclose(keep[1], expected_keep)
    ratio = counts[0] / writeup.TRAIN_SIZE

    holds = counts == [writeup.PARAMETER_COUNT] * 2 and identical and keeps_right and round(ratio, 4) == writeup.PARAMETERS_PER_SAMPLE
    claim.exact = (
        holds,
        f"parameters baseline {counts[0]:,} / dropout {counts[1]:,} (writeup {writeup.PARAMETER_COUNT:,}); "
        f"P/S ratio {ratio:.4f} (writeup {writeup.PARAMETERS_PER_SAMPLE}); initial weights bitwise identical "
        f"for all {len(seeds)} seeds: {identical}; variants differ only in keep-probabilities: {keeps_right}",
    )
    claim.reported = [
        writeup.reported_vs_reproduced([counts[0]], writeup.PARAMETER_COUNT, "baseline parameters", "exact count"),
        writeup.reported_vs_reproduced([counts[1]], writeup.PARAMETER_COUNT, "dropout parameters", "exact count"),
        writeup.reported_vs_reproduced([ratio], writeup.PARAMETERS_PER_SAMPLE, "parameters per training sample", "exact"),
    ]
    claim.writeup_figures = ["initial_weights"]
    claim.details = {"model": repr(MLP()), "seeds": list(seeds)}
    claim.assert_supported()
