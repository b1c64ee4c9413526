"""C0: both models have the same parameters and the same initial weights, and reproduce the writeup's epoch 0."""

import operator

import jax
import jax.numpy as jnp
import numpy as np

from harness.config import WRITEUP_SEED, RunConfig
from harness.data.cifar10 import Cifar10
from harness.deciding import writeup
from harness.training.input_pipeline import normalise
from harness.training.models import MLP, count_params
from harness.training.train import init_states

CLAIM = "C0"
READS: tuple[str, ...] = ()  # decided exactly, in its test, from the initial states and the data


def epoch0_accuracies(cifar: Cifar10, variables: dict) -> tuple[float, float]:
    """Train and test accuracy of the untrained network `variables` on the FULL splits, as the writeup evaluates it.

    Each split normalised by its own statistics (the writeup's code), BatchNorm
    in eval mode with its initial running statistics, no training step: the
    number depends on the initial weights and the normalised data only.
    """
    model = MLP()
    train_x, test_x = normalise(cifar.train_images, cifar.test_images, "own")
    predict = jax.jit(lambda x: jnp.argmax(model.apply(variables, x, train=False)[0], axis=-1))
    return tuple(
        float(np.mean(np.asarray(predict(jnp.asarray(x))) == labels))
        for x, labels in ((train_x, cifar.train_labels), (test_x, cifar.test_labels))
    )


def initial_network(config: RunConfig, seed: int) -> dict:
    """The trainer's initial network of `seed` (`init_states`, as every run starts); both variants share it."""
    states = init_states(config, [seed], num_train=8)
    first = lambda leaf: np.asarray(leaf)[0]
    return jax.tree_util.tree_map(first, {"params": states.params, "batch_stats": states.batch_stats})


def printed(value: float) -> str:
    """As the notebook prints accuracies (f"{x:0.4f}")."""
    return f"{value:0.4f}"


def test_c0_same_parameters_and_initialisation(claim, cifar10):
    """The writeup: "both models have the same number of parameters as well as initial distributions"
    (831,210 parameters each; P/S ratio 16.6242 on the 50,000 training images; epoch 0 train
    accuracy 0.1096 and test accuracy 0.1108 for both models).

    Operationalisation (exact, no statistics; the same in every tier): for every
    seed of the tier, build the initial state of both variants exactly as the
    trainer does, then
      1. count the trainable parameters of each variant: both must equal 831,210,
         and 831,210 / 50,000 must round to the writeup's 16.6242;
      2. compare every initial weight and bias of the two variants: they must be
         bitwise identical (identical values imply identical distributions);
      3. check the two variants differ only in their dropout keep-probabilities
         (all 1 for the baseline, 0.6/0.7/0.8/0.8 for the candidate);
      4. reproduce the writeup's epoch 0 exactly: the trainer's initial network of
         seed 42 (the writeup's RANDOM_KEY), full 50,000 / 10,000 splits normalised as
         its code does, eval mode, no step. Epoch
         0 is fixed by the initial weights and the normalised data alone, before any
         data order or rounding chaos, so it must print the writeup's digits (0.1096
         train, 0.1108 test; one network, since step 2 shows both variants start from
         the same weights). A mismatch is a finding about initialisation or normalisation.
    """
    ev = claim.evidence
    seeds = ev.runs.seeds
    states = init_states(ev.config, seeds, num_train=ev.data.dataset.train_x.shape[0])  # the trainer's own program
    params = jax.tree_util.tree_map(ev.runs.layout.split, states.params)
    counts = [count_params(jax.tree_util.tree_map(operator.itemgetter((v, 0)), params)) for v in range(2)]
    identical = all(np.array_equal(a[0], a[1]) for a in jax.tree_util.tree_leaves(params))
    keep = ev.runs.layout.split(states.keep_probs)
    expected_keep = 1.0 - np.asarray(ev.config.protocol.dropout_rates, np.float32)
    keeps_right = bool(np.all(keep[0] == 1.0) and np.allclose(keep[1], expected_keep))
    ratio = counts[0] / writeup.TRAIN_SIZE
    train0, test0 = epoch0_accuracies(cifar10, initial_network(ev.config, WRITEUP_SEED))
    reported0 = writeup.ACCURACY["baseline"]
    epoch0_right = (printed(train0), printed(test0)) == (printed(reported0["train"][0]), printed(reported0["test"][0]))

    holds = (counts == [writeup.PARAMETER_COUNT] * 2 and identical and keeps_right
             and round(ratio, 4) == writeup.PARAMETERS_PER_SAMPLE and epoch0_right)
    claim.exact = (holds, (
        f"parameters baseline {counts[0]:,} / dropout {counts[1]:,} (writeup {writeup.PARAMETER_COUNT:,}); "
        f"P/S ratio {ratio:.4f} (writeup {writeup.PARAMETERS_PER_SAMPLE}); initial weights bitwise identical "
        f"for all {len(seeds)} seeds: {identical}; variants differ only in keep-probabilities: {keeps_right}; "
        f"epoch 0 of seed {WRITEUP_SEED} on the full splits: train {printed(train0)} / test {printed(test0)} "
        f"(writeup {printed(reported0['train'][0])} / {printed(reported0['test'][0])}): "
        f"{'reproduced' if epoch0_right else 'NOT reproduced'}"
    ))
    claim.reported = [
        writeup.reported_vs_reproduced([counts[0]], writeup.PARAMETER_COUNT, "baseline parameters", "exact count"),
        writeup.reported_vs_reproduced([counts[1]], writeup.PARAMETER_COUNT, "dropout parameters", "exact count"),
        writeup.reported_vs_reproduced([ratio], writeup.PARAMETERS_PER_SAMPLE, "parameters per training sample", "exact"),
        writeup.reported_vs_reproduced([train0], reported0["train"][0], "train accuracy, epoch 0 (seed 42, full split)",
                                       "exact, to the printed digits"),
        writeup.reported_vs_reproduced([test0], reported0["test"][0], "test accuracy, epoch 0 (seed 42, full split)",
                                       "exact, to the printed digits"),
    ]
    claim.writeup_figures = ["initial_weights"]
    claim.details = {"model": repr(MLP()), "seeds": list(seeds),
                     "epoch 0 accuracy, seed 42, full splits": {"train": train0, "test": test0}}
    claim.assert_as_expected()
