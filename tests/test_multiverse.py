"""The multiverse's machinery on a small real problem (harness/multiverse/gather.py; the whole one: claims/test_multiverse.py).

The tiny multiverse (the writeup's condition and its negative control, 2 epochs) is trained as one program
on a CIFAR-10 subset, cached, decided, drawn and reported. The same program also trains the control's
"dropout" model one epoch further, for the planted bug: a "dropout" model secretly given one more epoch
than its baseline must make the negative control fail, naming the cell. More seeds than the minimum (3):
with 3, Holm's correction over the family lets nothing through, so the control could not fail at all.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import jax
import numpy as np
import pytest

from claims import family
from harness import REPOSITORY
from harness.config import (
    FULL,
    MULTIVERSE,
    PROTOCOLS,
    SMOKE,
    TINY_MULTIVERSE,
    VARIANTS,
    WRITEUP,
    Condition,
    RunConfig,
    Tier,
)
from harness.data.cifar10 import ENV_VAR, load_cifar10
from harness.deciding import stats
from harness.multiverse import decide as multiverse_decide
from harness.multiverse import gather as multiverse
from harness.multiverse import report as multiverse_report
from harness.multiverse.gather import FULL_MULTIVERSE_ANCHOR, FULL_MULTIVERSE_BUDGET_S
from harness.reporting import report
from harness.settings import cache_dir_of
from harness.training.models import arms_of, keep_probabilities
from harness.training.run_set import RunSet

TIER = Tier("multiverse-check", epochs=2, num_seeds=6, train_per_class=50, test_per_class=50)
PRIMARY, CONTROL = TINY_MULTIVERSE

needs_cifar10 = pytest.mark.skipif(not os.environ.get(ENV_VAR), reason=f"needs the real CIFAR-10: set {ENV_VAR}")


# --------------------------------------------------------------------------- no training


def test_arms_share_each_protocols_baseline_and_carry_its_flags():
    conditions = (Condition("writeup", 1.0), Condition("writeup", 0.5), Condition("corrected", 1.0, 0.5))
    arms = {arm.name: arm for arm in multiverse.program_arms(multiverse.Plan.of(conditions, SMOKE).configs)}
    assert list(arms) == ["writeup/baseline", "writeup x1/dropout", "writeup x0.5/dropout",
                          "corrected/baseline", "corrected x1/dropout"]
    assert arms["writeup/baseline"].keep_probs == (1.0,) * 4
    rates = PROTOCOLS["writeup"].dropout_rates
    np.testing.assert_allclose(arms["writeup x0.5/dropout"].keep_probs, [1 - r / 2 for r in rates], rtol=1e-6)
    assert not arms["writeup x1/dropout"].fresh_dropout_keys and not arms["writeup x1/dropout"].alt_test
    assert arms["corrected x1/dropout"].fresh_dropout_keys and arms["corrected/baseline"].alt_test


def test_a_condition_derives_its_arms_as_a_tier_of_its_configuration_does():
    """models.arms_of is the one derivation of arms: the writeup's condition trains the writeup tier's two arms
    (under qualified names), and every condition's dropout arm keeps keep_probabilities of its scaled rates."""
    plan = multiverse.Plan.of(MULTIVERSE, SMOKE)
    arms = {arm.name: arm for arm in multiverse.program_arms(plan.configs)}
    assert len(arms) == multiverse.num_arms(MULTIVERSE)
    primary = [arms[name]._replace(name=variant) for name, variant in zip(multiverse.arm_names(Condition()), VARIANTS)]
    assert tuple(primary) == arms_of(RunConfig(WRITEUP, SMOKE))
    for condition, config in plan.configs.items():
        scaled = [round(rate * condition.rate_scale, 6) for rate in PROTOCOLS[condition.protocol].dropout_rates]
        assert config.protocol.dropout_rates == tuple(scaled) and config.tier.epochs == condition.epochs(SMOKE)
        dropout = arms[multiverse.arm_names(condition)[1]]
        assert dropout.keep_probs == tuple(float(k) for k in keep_probabilities(scaled))


def test_a_tier_too_short_for_a_training_length_is_refused_with_the_fix():
    quarter = (Condition(), Condition(epoch_fraction=0.25))
    with pytest.raises(ValueError, match=r"after 1 epoch\(s\) of 4.*Fix: train at least 6 epochs"):
        multiverse.check_tier(quarter, dataclasses.replace(SMOKE, epochs=4))
    multiverse.check_tier(quarter, dataclasses.replace(SMOKE, epochs=6))  # the fix it names is enough
    with pytest.raises(ValueError, match=r"after 1 epoch\(s\) of 5"):
        multiverse.check_tier(quarter, dataclasses.replace(SMOKE, epochs=5))  # and the least that is


def test_conditions_one_program_cannot_train_are_refused_with_the_fix():
    primary, control = Condition(), Condition(rate_scale=0.0)
    other_rate = RunConfig(dataclasses.replace(WRITEUP, learning_rate=1e-2), SMOKE)
    with pytest.raises(ValueError, match=r"another learning rate or batch size.*Fix: give every condition"):
        multiverse.check_one_program({primary: primary.run_config(SMOKE), control: other_rate})
    multiverse.check_one_program({primary: primary.run_config(SMOKE), control: control.run_config(SMOKE)})


def test_the_full_multiverse_grows_with_the_devices_and_never_below_the_minimum_seeds():
    measured = {"training": {"runs": 100, "epochs": 20, "train_seconds": 40.0, "compile_seconds": 20.0},
                "wall_seconds": {"training": 70.0, "probes": 30.0, "decisions": 10.0},
                "matrix": {"seeds": list(range(10))}}
    # fixed 20 + 30 s; per seed 10 arms x 200 epochs x 0.02 s / devices + (10 + 10) / 10 s
    assert multiverse.estimated_seconds(measured, MULTIVERSE, FULL, 1) == 50 + 8 * (40 + 2)
    seeds = [multiverse.affordable_seeds(measured, MULTIVERSE, FULL, devices, 600.0) for devices in (1, 8)]
    assert seeds == [(600 - 50) // (40 + 2), (600 - 50) // (40 / 8 + 2)] == [13, 78]
    assert multiverse.affordable_seeds(measured, MULTIVERSE, FULL, 1, 60.0) == stats.MIN_SEEDS_T
    # Measured on a resumed run: its 40 s of training include 30 s of an earlier session, which this session's
    # 40 s training step did not spend; the rest (data, caching) is still the same 10 s, not -20 s.
    resumed = measured | {"training": measured["training"] | {"resumed_seconds": 30.0},
                          "wall_seconds": measured["wall_seconds"] | {"training": 40.0}}
    assert multiverse.estimated_seconds(resumed, MULTIVERSE, FULL, 1) == 50 + 8 * (40 + 2)


def test_the_measured_run_that_sizes_the_full_multiverse_is_committed_and_reproduces_itself():
    measured = json.loads((REPOSITORY / "reports" / "reference" / FULL_MULTIVERSE_ANCHOR).read_text())
    tier, said = multiverse.sized_tier(measured, FULL_MULTIVERSE_ANCHOR, MULTIVERSE, FULL, 1, FULL_MULTIVERSE_BUDGET_S)
    assert tier.num_seeds >= stats.MIN_SEEDS_T and tier.epochs == FULL.epochs
    assert said.startswith(f"{tier.num_seeds} seeds: ") and FULL_MULTIVERSE_ANCHOR in said
    # the estimate of the measured run itself is its own wall time (less the report's own writing)
    itself = dataclasses.replace(FULL, epochs=measured["training"]["epochs"],
                                 num_seeds=len(measured["matrix"]["seeds"]))
    steps = measured["wall_seconds"]
    assert multiverse.estimated_seconds(measured, MULTIVERSE, itself, 1) == pytest.approx(
        steps["training"] + steps["probes"] + steps["decisions"])


def _matrix(verdicts: dict[Condition, str], tier: str = "smoke") -> multiverse_decide.Matrix:
    cells = tuple(multiverse_decide.Cell(v, 0.1, 0.0, 0.2, 0.01, 0.9) for v in verdicts.values())
    rows = (multiverse_decide.Row("C9", None, "claim", "", "", False, cells),
            multiverse_decide.Row("C9", "C9.x", "primary", "", "", True, cells))
    return multiverse_decide.Matrix(tuple(verdicts), rows, {}, tier, (1, 2, 3))


def test_the_sentence_names_the_factor_under_which_a_claim_breaks():
    m = _matrix({Condition("writeup", s): v for s, v in ((0.0, "INCONCLUSIVE"), (0.5, "INCONCLUSIVE"),
                                                          (1.0, "SUPPORTED"), (1.5, "SUPPORTED"))})
    assert m.sentence(m.rows[0]) == "C9 holds in 2 of 3 conditions; it breaks whenever the rates are ×0.5."


def test_a_supported_comparison_under_the_control_is_named():
    m = _matrix({Condition(): "SUPPORTED", Condition(rate_scale=0.0): "SUPPORTED"})
    (violation,) = m.control_violations()
    assert violation.startswith("C9.x is SUPPORTED under the negative control writeup · rates ×0 · 1 of the epochs")


def test_a_multiverse_with_fewer_epochs_than_its_tier_is_reported_as_reduced(tmp_path):
    m = _matrix({Condition(): "SUPPORTED", Condition(rate_scale=0.0): "INCONCLUSIVE"}, FULL.name)
    walls = {"total": 3.0, "training": 1.0, "probes": 1.0, "decisions": 1.0}
    html = tmp_path / "multiverse-full.html"
    for tier, reduced in ((dataclasses.replace(FULL, epochs=20), True), (FULL, False)):
        content = multiverse_report.report_content(m, tier, {"commit": "test"}, walls, {})
        report.write_multiverse_report(content, {"multiverse_heatmap": multiverse_report.heatmap(m)}, html,
                                       html.with_suffix(".json"))
        assert content["reduced"] is reduced and ('id="reduced"' in html.read_text()) is reduced


# --------------------------------------------------------------------------- one small multiverse


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """The tiny multiverse through condition_runs (so cached), and the control's runs one epoch further."""
    cifar = load_cifar10(Path(os.environ[ENV_VAR]), cache_dir=cache_dir_of(None))
    plan = multiverse.Plan.of(TINY_MULTIVERSE, TIER)
    data = multiverse.tier_data(cifar, plan)
    ahead: dict[str, RunSet] = {}

    def train_also_one_epoch_further(plan, data, **kwargs):
        """Every condition at its epochs, and the control one epoch further: one program, one training."""
        longer = dataclasses.replace(plan.tier, epochs=plan.tier.epochs + 1)
        at = lambda c, epochs: dataclasses.replace(c, epoch_fraction=epochs / longer.epochs)
        conditions = (*(at(c, config.tier.epochs) for c, config in plan.configs.items()), at(CONTROL, longer.epochs))
        views = multiverse.train_conditions(multiverse.Plan.of(conditions, longer), data, **kwargs)
        ahead["control"] = views[at(CONTROL, longer.epochs)]
        return {c: views[at(c, config.tier.epochs)] for c, config in plan.configs.items()}

    cache_dir = tmp_path_factory.mktemp("multiverse-cache")
    runs = multiverse.condition_runs(plan, data, cache_dir=cache_dir, train=train_also_one_epoch_further)
    return {"cifar": cifar, "plan": plan, "data": data, "runs": runs, "ahead": ahead["control"],
            "cache_dir": cache_dir}


@pytest.fixture(scope="module")
def probed(trained) -> dict:
    """Every condition's evidence, probed once for the tests that decide it step by step."""
    return multiverse.gather_conditions(trained["runs"], trained["data"])


@needs_cifar10
def test_the_tiny_multiverse_is_decided_cached_and_reported(trained, probed, tmp_path):
    m = multiverse_decide.matrix(probed, family.decide)

    assert m.conditions == TINY_MULTIVERSE and not m.errors
    claims_with_primaries = [row.claim for row in m.claim_rows()]
    assert claims_with_primaries == [f"C{k}" for k in range(1, 11)]
    assert all(len(row.cells) == 2 and all(cell is not None for cell in row.cells) for row in m.rows)
    assert m.control_violations() == []  # the honest control: the two variants are one model

    html = tmp_path / "multiverse-check.html"
    speed = multiverse_report.training_speed(trained["runs"])
    content = multiverse_report.report_content(m, TIER, {"commit": "test"}, {"total": 3.0, "training": 1.0, "probes": 1.0,
                                                                       "decisions": 1.0}, speed)
    report.write_multiverse_report(content, {"multiverse_heatmap": multiverse_report.heatmap(m)}, html,
                                   html.with_suffix(".json"))
    page, written = html.read_text(), json.loads(html.with_suffix(".json").read_text())
    assert 'data-figure="multiverse_heatmap"' in page and "data:image/png;base64," in page
    assert all(sentence in page for sentence in written["matrix"]["sentences"].values())
    assert len(written["matrix"]["rows"]) == len(m.rows) and written["matrix"]["conditions"][0]["primary"]
    arms = multiverse.num_arms(TINY_MULTIVERSE)
    # this fixture's one program also trains the control one epoch further (see `trained`)
    assert speed["runs"] == arms * TIER.num_seeds and speed["epochs"] == TIER.epochs + 1
    assert speed["model_steps"] == speed["runs"] * speed["epochs"] * -(-TIER.train_per_class * 10 // PROTOCOLS["writeup"].batch_size)
    assert speed["us_per_model_step"] > 0 and f'{speed["us_per_model_step"]} µs per model-step' in page

    def no_training(*args, **kwargs):
        raise AssertionError("every condition is cached: nothing may train")

    again = multiverse.condition_runs(trained["plan"], trained["data"], cache_dir=trained["cache_dir"],
                                      train=no_training)
    for condition, (run_set, key) in again.items():
        assert key == trained["runs"][condition][1]
        np.testing.assert_array_equal(run_set.curves["test_accuracy"],
                                      trained["runs"][condition][0].curves["test_accuracy"])


@needs_cifar10
def test_the_driver_gathers_decides_and_writes_as_the_steps_do(trained, probed, tmp_path):
    """gather_multiverse, the flow the multiverse_matrix fixture runs: every condition from the cache, probed
    and decided as the steps above decide them, and written."""
    gathered = multiverse.gather_multiverse(trained["plan"], trained["cifar"], cache_dir=trained["cache_dir"],
                                            decide=family.decide)
    steps = multiverse_decide.matrix(probed, family.decide)
    assert json.dumps(gathered.matrix.as_dict()) == json.dumps(steps.as_dict())
    assert [run_set.meta["cache"] for run_set, _ in gathered.runs.values()] == ["hit", "hit"]
    assert set(gathered.walls) == {"total", "training", "probes", "decisions"}
    html = tmp_path / "multiverse-check.html"
    gathered.write(html, told_commit="test")
    written = json.loads(html.with_suffix(".json").read_text())
    assert written["matrix"]["conditions"][0]["primary"] and "data:image/png;base64," in html.read_text()


@needs_cifar10
def test_the_negative_control_catches_a_dropout_model_given_one_more_epoch(trained):
    honest, _ = trained["runs"][CONTROL]
    planted = one_epoch_ahead(honest, trained["ahead"])
    evidence = multiverse.gather_conditions({CONTROL: (planted, "planted")}, trained["data"])
    violations = multiverse_decide.matrix(evidence, family.decide).control_violations()
    assert violations, "a dropout model trained one epoch more than its baseline went unnoticed by the control"
    assert all(f"under the negative control {CONTROL.name}" in v for v in violations)
    print("\n".join(["[planted bug] caught:", *violations]))


def one_epoch_ahead(honest: RunSet, ahead: RunSet) -> RunSet:
    """The planted bug: the "dropout" runs are `ahead`'s (one epoch more), reported at `honest`'s epochs."""
    d = honest.variants.index("dropout")

    def planted(mine, theirs):
        out = np.array(mine)
        out[d] = theirs[d]
        return out

    return dataclasses.replace(
        honest,
        curves={k: planted(v, ahead.curves[k][:, :, 1:]) for k, v in honest.curves.items()},
        final={k: planted(v, ahead.final[k]) for k, v in honest.final.items()},
        params=jax.tree_util.tree_map(planted, honest.params, ahead.params),
        batch_stats=jax.tree_util.tree_map(planted, honest.batch_stats, ahead.batch_stats),
    )
