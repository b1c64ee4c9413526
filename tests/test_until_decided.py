"""Seeds until decided (`--seeds auto`, harness/deciding/until_decided.py) end to end on a tiny configuration.

The statistics are proven in tests/test_sequential.py; here the mode around them: batches trained through the
tier's path and cached one entry per seed range, a stop of its own once every primary hypothesis is decided,
a later call with a higher cap that loads the earlier batches instead of training them, Ctrl-C between
batches, and the sequences in the report and its JSON. The family is a tiny one made for it (one primary and
one secondary hypothesis with large effects), so that it decides within a few seeds: the claims' own family
needs many more (reports/reference/sequential-cost.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from tiny_problem import tiny_cifar_config

from fixtures.options import MAX_SEEDS, auto_of, pytest_addoption
from harness import REPOSITORY
from harness.config import AUTO_SEEDS, SMOKE, WRITEUP, RunConfig, Tier
from harness.data.cifar10 import ENV_VAR, load_cifar10
from harness.deciding import sequential, stats, until_decided
from harness.deciding.claim_check import ClaimCheck, format_verdict
from harness.deciding.until_decided import AutoSeeds, resolve_auto
from harness.evidence.evidence import Evidence
from harness.evidence.gather import gather
from harness.reporting import compare, evidence_report, report
from harness.settings import cache_dir_of
from harness.training import runs

# The tiny problem's sizes (ten images per class): its programs and these are compiled once (tests/tiny_problem.py).
CONFIG = tiny_cifar_config("auto-check")
BATCH = 3
REFERENCE_V1 = REPOSITORY / "reports" / "reference" / "evidence-writeup.json"
REFERENCE_V2 = REPOSITORY / "reports" / "reference" / "evidence-smoke-auto.json"

pytest_plugins = ["pytester"]

needs_cifar10 = pytest.mark.skipif(not os.environ.get(ENV_VAR), reason=f"needs the real CIFAR-10: set {ENV_VAR}")


def tiny_family(evidence) -> dict[str, stats.Decided]:
    """Primary: the dropout model's final training loss is above 0 (t e-process, m = 1: decidable from 5 seeds,
    never at 3). Secondary: the two models' final training losses agree within 10 (equivalence)."""
    dropout = evidence.runs.curve("train_loss", "dropout")[:, -1]
    baseline = evidence.runs.curve("train_loss", "baseline")[:, -1]
    primary = stats.one_sample_t(dropout, hypothesis="C1.loss", statement="the dropout model's loss is positive",
                                 discrete=False)
    secondary = stats.equivalence_tost(dropout, baseline, margin=10.0, hypothesis="C1.same", discrete=False,
                                       statement="the two losses agree within 10")
    return {"C1": stats.Decided(stats.holm([primary]), stats.holm([secondary]))}


@pytest.fixture(scope="module")
def cifar():
    return load_cifar10(Path(os.environ[ENV_VAR]), cache_dir=cache_dir_of(None))


def recording_training(patch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The seeds of every training from now on (the cache's loads are not trainings)."""
    seeds: list[tuple[int, ...]] = []
    train = runs.train_runs

    def recording(config, data, batch_seeds, **kwargs):
        seeds.append(tuple(batch_seeds))
        return train(config, data, batch_seeds, **kwargs)

    patch.setattr(runs, "train_runs", recording)
    return seeds


def batches_of(cifar, cache_dir: Path) -> until_decided.GatherBatch:
    """What the session passes: the tier's gather, on this cache."""
    return lambda config, progress, stop: gather(config, cifar, cache_dir=cache_dir, progress=progress,
                                                 stop_requested=stop)


def two_calls(cifar, cache_dir: Path) -> dict:
    """A call capped at 3 seeds, then one capped at 9 on the same cache: what each trained and returned."""
    out = {"cache_dir": cache_dir, "told": []}
    with pytest.MonkeyPatch.context() as patch:
        out["trained first"] = recording_training(patch)
        out["capped"] = until_decided.seeds_until_decided(
            CONFIG, AutoSeeds(BATCH, 3), batches_of(cifar, cache_dir), tiny_family)
    with pytest.MonkeyPatch.context() as patch:
        out["trained second"] = recording_training(patch)
        out["decided"] = until_decided.seeds_until_decided(
            CONFIG, AutoSeeds(BATCH, 9), batches_of(cifar, cache_dir), tiny_family,
            told=out["told"].append)
    return out


@needs_cifar10
@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_seeds_until_decided_end_to_end(cifar, tmp_path, monkeypatch):
    """One test for the three checks below: they share the trainings (under pytest-xdist, separate tests
    could each train them in another worker)."""
    calls = two_calls(cifar, tmp_path / "cache")
    it_stops_at_the_cap_then_on_its_own_training_only_the_new_batches(calls)
    the_report_and_its_json_carry_every_sequence_and_where_it_was_decided(calls, tmp_path, monkeypatch)
    ctrl_c_between_batches_leaves_the_decisions_of_the_batches_before(calls, cifar, monkeypatch)


def it_stops_at_the_cap_then_on_its_own_training_only_the_new_batches(two_calls: dict) -> None:
    first_seed = CONFIG.tier.first_seed
    capped, ev = two_calls["capped"], two_calls["decided"]
    assert two_calls["trained first"] == [tuple(range(first_seed, first_seed + 3))]
    assert capped.sequential.stopped == "the cap of 3 seeds reached" and capped.n == 3
    assert capped.sequential.decided["C1"].primary[0].verdict == stats.INCONCLUSIVE  # n = 3 cannot reach 20
    # the first batch came from the cache; only the second was trained, and the third was not needed
    assert two_calls["trained second"] == [tuple(range(first_seed + 3, first_seed + 6))]
    assert ev.runs.seeds == tuple(range(first_seed, first_seed + 6))
    assert ev.runs.meta["cache"] == "batch 1: hit, batch 2: miss"
    seq = ev.sequential
    assert seq.stopped == "every primary hypothesis decided" and [look.n for look in seq.looks] == [3, 6]
    assert len(two_calls["told"]) == 2 and two_calls["told"][-1].endswith("1 of 1 primary hypotheses decided")
    primary, = seq.decided["C1"].primary
    assert primary.verdict == stats.SUPPORTED and np.isnan(primary.p_adjusted)
    assert primary.result.ci_low > 0 and "Bonferroni over 1" in primary.result.test
    # the seeds' values are those of a fixed run of the same seeds: the evidence is the batches side by side
    whole = tiny_family(ev)["C1"].primary[0].result
    assert primary.result.effect == whole.effect and primary.result.values == whole.values


def the_report_and_its_json_carry_every_sequence_and_where_it_was_decided(two_calls: dict, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ev = two_calls["decided"]
    # the writeup's figures are tested with the report (tests/test_report.py); drawing them would double this test
    monkeypatch.setattr(evidence_report, "reproduce_writeup_figures", lambda evidence: {})
    content, figures = evidence_report.assemble(
        tier=CONFIG.tier.name, evidence=ev, checks={}, collected=[], outcomes={}, interrupted=False,
        provenance={"commit": "test", "dirty": False, "dataset_digest": ev.data.source_digest},
        reference_dir=tmp_path)
    html = tmp_path / "evidence.html"
    report.write_report(content, figures, html, html.with_suffix(".json"))
    written = json.loads(html.with_suffix(".json").read_text())
    assert written["schema_version"] == report.SCHEMA_VERSION == 2
    section = written["sequential"]
    assert section["seeds_used"] == 6 and section["batches"] == 2 and section["looks"] == [3, 6]
    row = next(h for h in section["hypotheses"] if h["hypothesis"] == "C1.loss")
    assert (row["decided_at_n"], row["decided_at_batch"], row["verdict"]) == (6, 2, stats.SUPPORTED)
    assert [step["n"] for step in row["sequence"]] == [3, 6] and row["sequence"][0]["ci_low"] is None  # -inf at 3
    page = html.read_text()
    assert row["figure"] in figures and row["figure"] in page
    assert "decided at n = 6 (batch 2)" in page and "Stop when every primary hypothesis is SUPPORTED" in page
    assert written["family"]["correction"].startswith("Bonferroni")


def ctrl_c_between_batches_leaves_the_decisions_of_the_batches_before(two_calls: dict, cifar,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    trained = recording_training(monkeypatch)

    def interrupt_after_the_first_look(line: str) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends; the loop's handler turns it into a request

    ev = until_decided.seeds_until_decided(
        CONFIG, AutoSeeds(BATCH, 9), batches_of(cifar, two_calls["cache_dir"]), tiny_family,
        told=interrupt_after_the_first_look)
    assert trained == [] and ev.n == 3  # batch 1 from the cache, then no batch 2
    assert ev.sequential.interrupted == "Ctrl-C after batch 1 (3 seeds): no further batch trained"
    assert ev.sequential.stopped.startswith("interrupted: ")
    monkeypatch.setattr(evidence_report, "reproduce_writeup_figures", lambda evidence: {})
    content, _ = evidence_report.assemble(
        tier=CONFIG.tier.name, evidence=ev, checks={}, collected=[], outcomes={}, interrupted=False,
        provenance={"commit": "test", "dirty": False, "dataset_digest": None}, reference_dir=two_calls["cache_dir"])
    assert content["interrupted"] and content["sequential"]["interrupted"]


@pytest.mark.parametrize("batch, cap, message", [
    (4, 2, "--max-seeds must be at least 3"),
    (4, 3, "--max-seeds 3 is below --seed-batch 4: not even one batch fits"),
    (4, 10, "--max-seeds 10 is not a multiple of --seed-batch 4: batches are cached by their seed range"),
    (0, 10, "--seed-batch must be at least 1"),
])
def test_a_bad_batch_or_cap_is_refused_with_the_fix(batch, cap, message):
    with pytest.raises(ValueError, match="Fix: ") as refused:
        AutoSeeds(batch, cap)
    assert message in str(refused.value)


class Options:
    """What `auto_of` reads of a pytest config: its options."""

    def __init__(self, **given) -> None:
        self.given = {"--seeds": None, "--seed-batch": None, "--max-seeds": None, "markexpr": ""} | given

    def getoption(self, name: str):
        return self.given[name]


@pytest.mark.parametrize("given, message", [
    ({"--seeds": "auto", "--max-seeds": 6, "--seed-batch": 4}, "--max-seeds 6 is not a multiple of --seed-batch 4"),
    ({"--max-seeds": 20}, "--max-seeds only apply to --seeds auto. Fix: add --seeds auto"),
    ({"--seeds": "auto", "markexpr": "multiverse"}, "--seeds auto decides the claims' tiers"),
    ({"--seeds": "auto", "--seed-batch": 3}, "not a multiple of --seed-batch 3"),  # a tier's default cap
    ({"--seeds": "auto", "--max-seeds": MAX_SEEDS + 4, "--seed-batch": 4}, f"--max-seeds must be at most {MAX_SEEDS}"),
])
def test_bad_options_of_the_mode_are_refused_with_the_fix(given, message):
    with pytest.raises(pytest.UsageError, match="Fix: ") as refused:
        auto_of(Options(**given))
    assert message in str(refused.value)


def test_the_mode_goes_with_an_expression_that_leaves_the_multiverse_out():
    assert auto_of(Options(**{"--seeds": "auto", "markexpr": "full and not multiverse"})) is not None


def test_the_mode_fills_in_each_tiers_defaults_and_the_session_refuses_a_bad_option_before_training(pytester, tmp_path):
    assert auto_of(Options(**{"--seeds": "auto"})) == (None, None)
    assert [resolve_auto((None, None), tier) for tier in AUTO_SEEDS] == [
        AutoSeeds(batch, cap) for batch, cap in AUTO_SEEDS.values()]
    assert resolve_auto((2, None), "full") == AutoSeeds(2, AUTO_SEEDS["full"][1])
    # A session of the claims' plugins, in this process: the option is refused at start-up, before any training.
    pytester.makeconftest('pytest_plugins = ["fixtures.options", "fixtures.session", "fixtures.report_plugin"]\n')
    pytester.makepyfile(test_c1="CLAIM = 'C1'\n\n\ndef test_claim(evidence):\n    raise AssertionError('trained')\n")
    result = pytester.runpytest("-p", "no:cacheprovider", f"--cache-dir={tmp_path}", "--seeds", "auto",
                                "--max-seeds", "7", "--seed-batch", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--max-seeds 7 is not a multiple of --seed-batch 2*Fix: pass --max-seeds 8 or 6*"])


def auto_evidence(tier: Tier, auto: AutoSeeds, n: int, decided: bool) -> Evidence:
    """A tier's evidence as --seeds auto leaves it after n seeds, every primary hypothesis decided or one open:
    what labels a run reduced, without training it."""
    status = sequential.Status("C1", n, n // auto.batch, 0.1, 0.05, 0.15, 3.0, -3.0, 2.0,
                               stats.SUPPORTED if decided else stats.INCONCLUSIVE, n if decided else None,
                               n // auto.batch if decided else None, None)
    primary = sequential.Monitor((sequential.Hypothesis("C1", "superiority", "greater"),), batch_ends=(n,),
                                 statuses=(status,))
    record = until_decided.Sequential(auto, (until_decided.Look(n, {"primary": primary}),), "", "", {})
    runs = SimpleNamespace(seeds=tuple(range(n)))
    return Evidence(RunConfig(WRITEUP, dataclasses.replace(tier, num_seeds=n)), None, runs, None, "", 0.0,
                    sequential=record)


@pytest.mark.parametrize("epochs, cap, n, decided, reduced", [
    (SMOKE.epochs, 20, 5, True, False),  # stopped at 5 seeds, below the fixed tier's 10: the rule's verdicts
    (SMOKE.epochs, 20, 20, False, False),  # the tier's own cap reached with hypotheses open
    (SMOKE.epochs - 1, 20, 5, True, True),  # fewer epochs than the tier's
    (SMOKE.epochs, 10, 10, False, True),  # a lower cap stopped it undecided: the tier's rule would go on
    (SMOKE.epochs, 10, 10, True, False),  # a lower cap, but decided by then: what the tier's rule decides
])
def test_an_auto_run_is_reduced_by_its_epochs_or_a_lower_cap_not_by_stopping_early(epochs, cap, n, decided, reduced):
    evidence = auto_evidence(dataclasses.replace(SMOKE, epochs=epochs), AutoSeeds(5, cap), n, decided)
    check = ClaimCheck("C1", evidence, stats.Decided([], []))
    assert ("(reduced)" in check.summary().splitlines()[0]) is reduced
    assert evidence.reduced is reduced  # what the report, its JSON and the terminal read


def test_the_help_states_each_tiers_defaults():
    helps = {}

    class Group:
        def addoption(self, name: str, **kwargs) -> None:
            helps[name] = kwargs.get("help", "")

    class Parser:
        def getgroup(self, *args) -> Group:
            return Group()

    pytest_addoption(Parser())
    for tier, (batch, cap) in AUTO_SEEDS.items():
        assert f"{tier} {cap}" in helps["--max-seeds"] and f"{tier} {batch}" in helps["--seed-batch"]
    assert "'auto'" in helps["--seeds"]


@pytest.mark.parametrize("old, new", [(REFERENCE_V1, REFERENCE_V2), (REFERENCE_V2, REFERENCE_V1)],
                         ids=["1 to 2", "2 to 1"])
def test_compare_reads_both_schema_versions(old, new, capsys):
    """The committed full-tier reference (version 1) against the committed smoke --seeds auto run (version 2).
    (The command's own process is tested in tests/test_compare.py.)"""
    versions = [json.loads(path.read_text())["schema_version"] for path in (old, new)]
    assert sorted(versions) == [1, 2]
    assert compare.main([str(old), str(new)]) in (compare.EXIT_SAME, compare.EXIT_VERDICT_CHANGED), capsys.readouterr().err
    tiers = [json.loads(path.read_text())["tier"] for path in (old, new)]
    out = capsys.readouterr().out
    assert f"old: {old} ({tiers[0]} tier" in out and f"new: {new} ({tiers[1]} tier" in out
    assert compare.main([str(REFERENCE_V2), str(REFERENCE_V2)]) == compare.EXIT_SAME, capsys.readouterr().err


@pytest.mark.parametrize("boundary", [{"min_effect": 1.0}, {"kind": "equivalence", "alternative": "within",
                                                             "margin": 0.5}])
def test_a_discrete_hypothesis_with_a_boundary_is_refused_not_tested_for_its_median(boundary):
    discrete = stats.Result("C3.x", "s", "sign flips", 5, 0.0, -1.0, 1.0, 0.5, 0.5, discrete=True, **boundary)
    with pytest.raises(ValueError, match="C3.x: a discrete statistic with .*Fix: decide it with a fixed number"):
        until_decided.hypothesis_of(discrete)
    # The same boundary on a continuous statistic, and a discrete one against 0, have their e-processes.
    assert until_decided.hypothesis_of(dataclasses.replace(discrete, discrete=False)).statistic == "t"
    plain = dataclasses.replace(discrete, kind="superiority", alternative="greater", margin=None, min_effect=None)
    assert until_decided.hypothesis_of(plain).statistic == "sign"


def test_a_sequential_verdict_line_names_its_interval_as_anytime_valid_not_a_95_percent_ci():
    result = stats.Result("C1", "s", "t", 12, 0.02, 0.01, 0.03, 0.01, 0.99)
    fixed = stats.Verdict(result, 0.02, 1.0, stats.SUPPORTED, None, None, None)
    sequential_line = format_verdict(dataclasses.replace(fixed, p_adjusted=np.nan, p_opposite_adjusted=np.nan))
    assert "[95% CI +0.01, +0.03]" in format_verdict(fixed)
    assert "[anytime-valid interval +0.01, +0.03]" in sequential_line and "95% CI" not in sequential_line
