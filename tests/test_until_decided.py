"""Seeds until decided (`--seeds auto`, harness/until_decided.py) end to end on a tiny configuration.

The statistics are proven in tests/test_sequential.py; here the mode around them: batches trained through the
tier's path and cached one entry per seed range, a stop of its own once every primary hypothesis is decided,
a later call with a higher cap that loads the earlier batches instead of training them, Ctrl-C between
batches, and the sequences in the report and its JSON. The family is a tiny one made for it (one primary and
one secondary hypothesis with large effects), so that it decides within a few seeds: the claims' own family
needs many more (reports/reference/sequential-cost.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from tiny_problem import TINY_WIDTHS

from fixtures.options import cache_dir_of
from harness import REPOSITORY, compare, evidence_report, report, runs, stats, until_decided
from harness.config import AUTO_SEEDS, WRITEUP, RunConfig, Tier
from harness.data import ENV_VAR, load_cifar10

CONFIG = RunConfig(protocol=WRITEUP, tier=Tier("auto-check", epochs=2, num_seeds=3, train_per_class=10,
                                               test_per_class=10), widths=TINY_WIDTHS)
BATCH = 3
REFERENCE_V1 = REPOSITORY / "reports" / "reference" / "evidence-writeup.json"
REFERENCE_V2 = REPOSITORY / "reports" / "reference" / "evidence-smoke-auto.json"

needs_cifar10 = pytest.mark.skipif(not os.environ.get(ENV_VAR), reason=f"needs the real CIFAR-10: set {ENV_VAR}")


def tiny_family(evidence) -> dict[str, stats.Decided]:
    """Primary: the dropout model's final training loss is above 0 (t e-process, m = 1: decidable from 5 seeds,
    never at 3). Secondary: the two models' final training losses agree within 10 (equivalence)."""
    dropout = evidence.runs.curve("train_loss", "dropout")[:, -1]
    baseline = evidence.runs.curve("train_loss", "baseline")[:, -1]
    primary = stats.one_sample_t(dropout, hypothesis="C1.loss", statement="the dropout model's loss is positive")
    secondary = stats.equivalence_tost(dropout, baseline, margin=10.0, hypothesis="C1.same",
                                       statement="the two losses agree within 10")
    return {"C1": stats.Decided(stats.holm([primary]), stats.holm([secondary]))}


@pytest.fixture(scope="module")
def cifar():
    return load_cifar10(Path(os.environ[ENV_VAR]), cache_dir=cache_dir_of(None))


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The seeds of every training that happens (the cache's loads are not trainings)."""
    seeds: list[tuple[int, ...]] = []
    train = runs.train_runs

    def recording(config, data, batch_seeds, **kwargs):
        seeds.append(tuple(batch_seeds))
        return train(config, data, batch_seeds, **kwargs)

    monkeypatch.setattr(runs, "train_runs", recording)
    return seeds


@needs_cifar10
def test_it_stops_on_its_own_reuses_cached_batches_and_reports_the_sequences(cifar, trained, tmp_path):
    first_seed = CONFIG.tier.first_seed
    capped = until_decided.seeds_until_decided(CONFIG, cifar, until_decided.AutoSeeds(BATCH, 3), tiny_family,
                                               cache_dir=tmp_path)
    assert trained == [tuple(range(first_seed, first_seed + 3))]
    assert capped.sequential.stopped == "the cap of 3 seeds reached" and capped.n == 3
    assert capped.sequential.decided["C1"].primary[0].verdict == stats.INCONCLUSIVE  # n = 3 cannot reach 20

    trained.clear()
    told: list[str] = []
    ev = until_decided.seeds_until_decided(CONFIG, cifar, until_decided.AutoSeeds(BATCH, 9), tiny_family,
                                           cache_dir=tmp_path, told=told.append)
    # the first batch came from the cache; only the second was trained, and the third was not needed
    assert trained == [tuple(range(first_seed + 3, first_seed + 6))]
    assert ev.runs.seeds == tuple(range(first_seed, first_seed + 6)) and ev.runs.meta["cache"] == (
        "batch 1: hit, batch 2: miss")
    seq = ev.sequential
    assert seq.stopped == "every primary hypothesis decided" and [look.n for look in seq.looks] == [3, 6]
    assert len(told) == 2 and told[-1].endswith("1 of 1 primary hypotheses decided")
    primary, = seq.decided["C1"].primary
    assert primary.verdict == stats.SUPPORTED and np.isnan(primary.p_adjusted)
    assert primary.result.ci_low > 0 and "Bonferroni over 1" in primary.result.test
    # the seeds' values are those of a fixed run of the same seeds: the evidence is the batches side by side
    whole = tiny_family(ev)["C1"].primary[0].result
    assert primary.result.effect == whole.effect and primary.result.values == whole.values

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
    assert row["figure"] in figures and row["figure"] in html.read_text()
    page = html.read_text()
    assert "decided at n = 6 (batch 2)" in page and "Stop when every primary hypothesis is SUPPORTED" in page
    assert written["family"]["correction"].startswith("Bonferroni")


@needs_cifar10
@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_between_batches_leaves_the_decisions_of_the_batches_before(cifar, trained, tmp_path):
    def interrupt_after_the_first_look(line: str) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends; the loop's handler turns it into a request

    ev = until_decided.seeds_until_decided(CONFIG, cifar, until_decided.AutoSeeds(BATCH, 9), tiny_family,
                                           cache_dir=tmp_path, told=interrupt_after_the_first_look)
    assert len(trained) == 1 and ev.n == 3
    assert ev.sequential.interrupted == "Ctrl-C after batch 1 (3 seeds): no further batch trained"
    assert ev.sequential.stopped.startswith("interrupted: ")
    content, _ = evidence_report.assemble(
        tier=CONFIG.tier.name, evidence=ev, checks={}, collected=[], outcomes={}, interrupted=False,
        provenance={"commit": "test", "dirty": False, "dataset_digest": None}, reference_dir=tmp_path)
    assert content["interrupted"] and content["sequential"]["interrupted"]


@pytest.mark.parametrize("batch, cap, message", [
    (4, 2, "--max-seeds must be at least 3"),
    (4, 3, "--max-seeds 3 is below --seed-batch 4: not even one batch fits"),
    (4, 10, "--max-seeds 10 is not a multiple of --seed-batch 4: batches are cached by their seed range"),
    (0, 10, "--seed-batch must be at least 1"),
])
def test_a_bad_batch_or_cap_is_refused_with_the_fix(batch, cap, message):
    with pytest.raises(ValueError, match="Fix: ") as refused:
        until_decided.AutoSeeds(batch, cap)
    assert message in str(refused.value)


@pytest.mark.parametrize("arguments, message", [
    (["--seeds", "auto", "--max-seeds", "6", "--seed-batch", "4"], "--max-seeds 6 is not a multiple of --seed-batch 4"),
    (["--max-seeds", "20"], "--max-seeds only apply to --seeds auto. Fix: add --seeds auto"),
    (["--seeds", "auto", "-m", "multiverse"], "--seeds auto decides the claims' tiers"),
    (["--seeds", "auto", "--seed-batch", "3"], "not a multiple of --seed-batch 3"),  # smoke's default cap 20
    (["--seeds", "often"], "expected a number of seeds or 'auto'"),
])
def test_bad_options_of_the_mode_stop_the_session_before_training(arguments, message, tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "claims/test_c0_parameters.py", "-p", "no:cacheprovider",
                           "--cache-dir", str(tmp_path), *arguments],
                          cwd=REPOSITORY, capture_output=True, text=True, check=False)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR and message in done.stderr, done.stderr


def test_the_help_states_each_tiers_defaults():
    done = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd=REPOSITORY,
                          capture_output=True, text=True, check=True)
    text = " ".join(done.stdout.split())
    caps = ", ".join(f"{tier} {cap}" for tier, (_, cap) in AUTO_SEEDS.items())
    batches = ", ".join(f"{tier} {batch}" for tier, (batch, _) in AUTO_SEEDS.items())
    assert f"--max-seeds=N with --seeds auto: the most paired seeds to train (default: {caps})" in text
    assert f"--seed-batch=K with --seeds auto: paired seeds added between decisions, one cache entry each (default: {batches})" in text


@pytest.mark.parametrize("old, new", [(REFERENCE_V1, REFERENCE_V2), (REFERENCE_V2, REFERENCE_V1)],
                         ids=["1 to 2", "2 to 1"])
def test_compare_reads_both_schema_versions(old, new):
    """The committed full-tier reference (version 1) against the committed smoke --seeds auto run (version 2)."""
    versions = [json.loads(path.read_text())["schema_version"] for path in (old, new)]
    assert sorted(versions) == [1, 2]
    done = subprocess.run([sys.executable, "-m", "harness.compare", str(old), str(new)], cwd=REPOSITORY,
                          capture_output=True, text=True, check=False)
    assert done.returncode in (compare.EXIT_SAME, compare.EXIT_VERDICT_CHANGED), done.stderr
    tiers = [json.loads(path.read_text())["tier"] for path in (old, new)]
    assert f"old: {old} ({tiers[0]} tier" in done.stdout and f"new: {new} ({tiers[1]} tier" in done.stdout
    itself = subprocess.run([sys.executable, "-m", "harness.compare", str(REFERENCE_V2), str(REFERENCE_V2)],
                            cwd=REPOSITORY, capture_output=True, text=True, check=False)
    assert itself.returncode == compare.EXIT_SAME, itself.stderr
