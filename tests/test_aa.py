"""End-to-end A/A check: the real trainer on the smoke tier's data, two groups that differ only by seed.

Both groups are baselines (every dropout rate 0); group A is seeds 42-46 and
group B seeds 47-51, paired in order. Fed through the claims' own hypotheses
as if B were the dropout model, no "A and B differ" claim may come out
SUPPORTED after the family's Holm correction: there is no effect to find.
"""

import dataclasses
import os

import numpy as np
import pytest

from harness import stats
from harness.config import SMOKE, WRITEUP, RunConfig
from harness.data import ENV_VAR, load_cifar10, resolve_source
from harness.evidence import Evidence
from harness.runs import prepare
from harness.train import train_runs

GROUP_SIZE = 5  # the smoke tier's seeds per model
EPOCHS = 2

pytestmark = pytest.mark.skipif(
    not os.environ.get(ENV_VAR), reason=f"needs the real CIFAR-10: set {ENV_VAR}"
)


@pytest.fixture(scope="module")
def a_vs_b() -> Evidence:
    cifar = load_cifar10(resolve_source(None, allow_download=False))
    config = RunConfig(
        protocol=dataclasses.replace(WRITEUP, dropout_rates=(0.0,) * 4),
        tier=dataclasses.replace(SMOKE, epochs=EPOCHS, num_seeds=2 * GROUP_SIZE),
    )
    data = prepare(cifar, config)
    runs = train_runs(config, data.dataset, config.tier.seeds())
    # Both "variants" are identical baselines here: keep one, split its seeds into A and B.
    split = lambda a: np.stack([a[0, :GROUP_SIZE], a[0, GROUP_SIZE:]])  # noqa: E731
    runs.curves = {name: split(v) for name, v in runs.curves.items()}
    runs.final = {name: split(v) for name, v in runs.final.items()}
    runs.seeds = runs.seeds[:GROUP_SIZE]
    return Evidence(config=config, data=data, runs=runs, probes=None, cache_key="", probe_seconds=0.0)


def test_two_groups_of_baselines_are_not_told_apart(a_vs_b):
    from claims import test_c1_test_accuracy, test_c2_overfitting, test_c3_convergence, test_c6_positive_activations

    results = [
        *test_c1_test_accuracy.hypotheses(a_vs_b),
        test_c2_overfitting.hypotheses(a_vs_b)[0],  # the gap; "reaches 99%" is not an A-vs-B comparison
        *test_c3_convergence.hypotheses(a_vs_b),
        *test_c6_positive_activations.hypotheses(a_vs_b),
    ]
    verdicts = stats.holm(results)
    supported = [v.result.hypothesis for v in verdicts if v.verdict == stats.SUPPORTED]
    assert supported == [], "\n".join(str(v) for v in verdicts)
    # The groups really are different runs (not the same seeds twice).
    assert not np.array_equal(a_vs_b.runs.curves["test_accuracy"][0], a_vs_b.runs.curves["test_accuracy"][1])
