"""Fault injection: one test per row of issue 10's table. Each asserts the clear message and that nothing was lost.

Tiny runs (tests/tiny_problem.py) and generated archives (fixtures/fake_cifar.py)
only; the kills and interrupts are real signals sent to real processes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from tiny_problem import NUM_TEST, NUM_TRAIN, tiny_config

from fixtures.fake_cifar import FOLDER, make_fake_cifar10, write_fake_archive
from fixtures.finite import nonfinite_problem
from harness.atomic import write_all_atomically
from harness.data.cifar10 import ARCHIVE_NAME, DatasetError, load_cifar10
from harness.settings import offline_requested
from harness.training import cache
from harness.training.input_pipeline import TierData
from harness.training.runs import get_runs
from harness.training.train import TrainingDiverged, train_runs

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]

INNER_CONFTEST = 'pytest_plugins = ["fixtures.options", "fixtures.report_plugin"]\n'

# A process that trains the tiny problem through get_runs, printing each chunk's epoch; it sleeps after each
# report so that the test can act between chunks. argv: cache dir, epochs, seconds to sleep, barrier dir or "".
TRAINER = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, "tests")
import numpy as np
from harness.training.input_pipeline import TierData
from harness.training.runs import get_runs
from tiny_problem import NUM_TEST, NUM_TRAIN, tiny_config, tiny_dataset

cache_dir, epochs, pause, barrier = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
data = TierData(tiny_dataset(), np.arange(NUM_TRAIN), np.arange(NUM_TEST), "synthetic",
                np.zeros((NUM_TRAIN, 3072), np.uint8), np.zeros(NUM_TRAIN, np.int32))
if barrier:  # start training together with the other process
    Path(barrier, str(time.time())).touch()
    while len(list(Path(barrier).iterdir())) < 2:
        time.sleep(0.01)

def progress(done):
    print(f"epoch {done}", flush=True)
    time.sleep(pause)

runs, key = get_runs(tiny_config(epochs=epochs), data, cache_dir=cache_dir, progress=progress, checkpoint_interval_s=0)
print(f"cache {runs.meta['cache']}", flush=True)
"""


EPOCHS = 8  # four chunks of two on a CPU; every trainer process trains the same configuration ...
# ... so that they share one compilation through the session's persistent cache (tests/conftest.py).


def start_trainer(cache_dir: Path, pause: float, barrier: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    return subprocess.Popen(
        [sys.executable, "-c", TRAINER, str(cache_dir), str(EPOCHS), str(pause), str(barrier or "")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_line(process: subprocess.Popen, wanted: str) -> None:
    for line in process.stdout:
        if line.strip() == wanted:
            return
    raise AssertionError(f"the trainer ended before printing {wanted!r}: {process.stderr.read()[-3000:]}")


@pytest.fixture
def tier_data(tiny_data) -> TierData:
    return TierData(tiny_data, np.arange(NUM_TRAIN), np.arange(NUM_TEST), "synthetic",
                    np.zeros((NUM_TRAIN, 3072), np.uint8), np.zeros(NUM_TRAIN, np.int32))


@pytest.fixture
def inner(pytester):
    pytester.makeconftest(INNER_CONFTEST)
    return pytester


def assert_identical(a, b) -> None:
    for group in ("curves", "final"):
        for name, value in getattr(a, group).items():
            np.testing.assert_array_equal(value, getattr(b, group)[name], err_msg=f"{group}/{name}")
    np.testing.assert_array_equal(a.params["Dense_0"]["kernel"], b.params["Dense_0"]["kernel"])


# --------------------------------------------------------------------------- the table's rows


def test_unwritable_cache_fails_at_start_up_and_a_late_write_failure_keeps_the_runs(
    inner, tmp_path, tier_data, monkeypatch
):
    blocker = tmp_path / "a-file"
    blocker.write_text("where the cache folder should be")
    result = inner.runpytest("-p", "no:cacheprovider", f"--cache-dir={blocker}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cache folder*cannot be written*Fix: pass --cache-dir DIR*"])

    def disk_full(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(cache, "save", disk_full)  # the cache breaks after start-up
    with pytest.warns(cache.CacheWarning, match="kept in memory"):
        runs, _ = get_runs(tiny_config(), tier_data, cache_dir=tmp_path / "cache")
    assert runs.meta["cache"] == "miss (not saved)"
    assert np.isfinite(runs.curves["train_loss"]).all()  # the trained runs are returned, not lost


def test_a_diverged_run_is_named_and_never_cached(tmp_path, tier_data):
    # One infinite pixel sends every run's loss to NaN in epoch 1 (the same compiled program as every other
    # tiny run here; a learning rate of 1e20 diverges as well, but would be a program of its own to compile).
    train_x = tier_data.dataset.train_x.at[3, 0].set(np.inf)
    broken = dataclasses.replace(tier_data, dataset=tier_data.dataset._replace(train_x=train_x))
    with pytest.raises(TrainingDiverged, match=r"baseline seed 42 \(from epoch 1\).*dropout seed 43") as caught:
        get_runs(tiny_config(), broken, cache_dir=tmp_path, checkpoint_interval_s=0)
    assert "Nothing was cached" in str(caught.value) and "learning rate" in str(caught.value)
    assert not list(tmp_path.glob("runs/*")) and not list(tmp_path.glob("checkpoints/*"))


def test_non_finite_evidence_is_refused_naming_the_claim_and_the_summary():
    reader = SimpleNamespace(CLAIM="C4", READS=("curves/test_active_count",))  # as a claim module declares it
    counts = np.ones((2, 3, 5, 4))
    counts[1, 2, 3, 0] = np.nan

    @dataclasses.dataclass
    class Probes:
        mc_accuracy: np.ndarray

    evidence = SimpleNamespace(
        runs=SimpleNamespace(curves={"test_active_count": counts}, final={}, seeds=(42, 43, 44)),
        probes=Probes(mc_accuracy=np.array([0.5, np.inf])),
    )
    problem = nonfinite_problem(evidence, [reader])
    assert "curves/test_active_count is NaN or infinite at dropout seed 44, index (3, 0)" in problem
    assert "read by C4" in problem
    assert "probes/mc_accuracy is NaN or infinite at index (1,); read by no claim" in problem
    evidence.runs.curves["test_active_count"][1, 2, 3, 0] = 1.0
    evidence.probes.mc_accuracy[1] = 0.5
    assert nonfinite_problem(evidence, [reader]) == ""


def test_damaged_decoded_cache_that_cannot_be_deleted_is_decoded_again(tmp_path, monkeypatch):
    fake = make_fake_cifar10(20)
    archive = tmp_path / ARCHIVE_NAME
    write_fake_archive(archive, fake)
    load_cifar10(archive, cache_dir=tmp_path / "cache", expected_digests=fake.digests)
    (cache_file,) = (tmp_path / "cache").glob("cifar10-*.npz")
    cache_file.write_bytes(cache_file.read_bytes()[:1000])
    real_unlink = Path.unlink

    def read_only_unlink(self, missing_ok=False):
        if self == cache_file:
            raise PermissionError(13, "Permission denied", str(self))
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", read_only_unlink)
    with pytest.warns(UserWarning, match="could not delete it.*Permission denied.*decoding the source again"):
        loaded = load_cifar10(archive, cache_dir=tmp_path / "cache", expected_digests=fake.digests)
    assert loaded.digest and "decoded and verified" in loaded.read_from


def test_a_write_killed_midway_leaves_its_temp_file_in_tmp_which_start_up_sweeps(inner, tmp_path):
    cache_dir = tmp_path / "cache"
    writer = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time; from pathlib import Path; from harness.atomic import temp_folder, write_atomically\n"
            "cache = Path(sys.argv[1])\n"
            "def slow(out):\n    out.write(b'x' * 1000); out.flush(); print('writing', flush=True); time.sleep(60)\n"
            "write_atomically(cache / 'cifar10-x.npz', slow, temp_dir=temp_folder(cache))\n"
        ), str(cache_dir)],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True,
    )
    assert writer.stdout.readline().strip() == "writing"
    writer.kill()
    writer.wait()
    (stale,) = (cache_dir / "tmp").iterdir()  # the debris is in tmp/, nowhere else
    assert [p.name for p in cache_dir.iterdir()] == ["tmp"]
    hour_ago = time.time() - 3700
    os.utime(stale, (hour_ago, hour_ago))
    fresh = cache_dir / "tmp" / ".another-write-in-progress.tmp"
    fresh.write_bytes(b"y")
    legacy = cache_dir / ".cifar10-old.npz.abc.tmp"  # left beside the entry before tmp/ existed
    legacy.write_bytes(b"z")
    os.utime(legacy, (hour_ago, hour_ago))

    inner.runpytest("-p", "no:cacheprovider", f"--cache-dir={cache_dir}")
    assert not stale.exists() and not legacy.exists()
    assert fresh.exists()  # younger than an hour: maybe another process's write in progress


def test_a_training_killed_midway_resumes_to_the_same_numbers(tmp_path, tier_data):
    config = tiny_config(epochs=EPOCHS)
    trainer = start_trainer(tmp_path, pause=0.5)
    wait_for_line(trainer, "epoch 4")  # the checkpoint of epoch 2 is written before training goes on
    trainer.send_signal(signal.SIGKILL)
    trainer.wait()
    assert list(tmp_path.glob("checkpoints/*.npz")) and not list(tmp_path.glob("runs/*.npz"))

    resumed, key = get_runs(config, tier_data, cache_dir=tmp_path)
    assert resumed.meta["resumed_from_epoch"] >= 2
    assert_identical(resumed, train_runs(config, tier_data.dataset, config.tier.seeds()))
    assert cache.load(tmp_path, key) is not None
    assert not list(tmp_path.glob("checkpoints/*.npz"))  # deleted once the entry is written


def test_ctrl_c_stops_at_the_next_chunk_with_a_checkpoint(tmp_path):
    trainer = start_trainer(tmp_path, pause=0.5)
    wait_for_line(trainer, "epoch 2")
    trainer.send_signal(signal.SIGINT)
    _, stderr = trainer.communicate(timeout=120)  # a hang guard; that it stopped early is the epoch below
    assert trainer.returncode != 0
    assert "training interrupted at epoch 2 of 8" in stderr or "training interrupted at epoch 4 of 8" in stderr
    assert "Segmentation fault" not in stderr and trainer.returncode != -signal.SIGSEGV
    (checkpoint,) = tmp_path.glob("checkpoints/*.npz")
    assert checkpoint.stat().st_size > 0


def test_the_report_says_where_training_was_interrupted(inner, monkeypatch):
    inner.makeconftest(INNER_CONFTEST + (
        "import pytest\nfrom harness.training.run_set import TrainingInterrupted\n\n\n"
        "@pytest.fixture(scope='session', params=[pytest.param('smoke', marks=pytest.mark.smoke, id='smoke')])\n"
        "def evidence(request):\n    raise TrainingInterrupted(6, 20)\n"
    ))
    inner.makepyfile(test_c1="CLAIM = 'C1'\n\n\ndef test_claim(evidence):\n    pass\n")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    inner.runpytest_subprocess("-p", "no:cacheprovider")
    report = json.loads((inner.path / "reports" / "evidence.json").read_text())
    assert report["interrupted"]
    assert report["provenance"]["interrupted"] == "training interrupted at epoch 6 of 20"
    c1 = next(c for c in report["claims"] if c["id"] == "C1")
    assert c1["outcome"] == "not run" and "interrupted at epoch 6 of 20" in c1["reason"]


@pytest.mark.parametrize("named", ["empty folder", "corrupt archive", "absent"])
def test_a_named_source_is_checked_even_when_the_decoded_cache_is_filled(tmp_path, named):
    fake = make_fake_cifar10(20)
    good = tmp_path / ARCHIVE_NAME
    write_fake_archive(good, fake)
    first = load_cifar10(good, cache_dir=tmp_path / "cache", expected_digests=fake.digests)
    assert str(good) in first.read_from
    if named == "empty folder":
        source = tmp_path / "empty"
        source.mkdir()
        problem = f"neither the CIFAR-10 batch files.*nor a {FOLDER}/ folder"
    elif named == "corrupt archive":
        source = tmp_path / "corrupt.tar.gz"
        source.write_bytes(b"\x1f\x8b" + os.urandom(4000))
        problem = "corrupt, truncated or unreadable"
    else:
        source, problem = tmp_path / "nowhere", "does not exist"
    with pytest.raises(DatasetError, match=problem):
        load_cifar10(source, cache_dir=tmp_path / "cache", expected_digests=fake.digests)
    again = load_cifar10(good, cache_dir=tmp_path / "cache", expected_digests=fake.digests)
    assert again.read_from.startswith(str(tmp_path / "cache")) and str(good) in again.read_from


def test_two_processes_train_the_same_runs_once(tmp_path):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    trainers = [start_trainer(tmp_path / "cache", pause=0.5, barrier=barrier) for _ in range(2)]
    outputs = [t.communicate(timeout=240) for t in trainers]
    assert [t.returncode for t in trainers] == [0, 0], [err[-2000:] for _, err in outputs]
    caches = sorted(next(line for line in out.splitlines() if line.startswith("cache ")) for out, _ in outputs)
    assert caches == ["cache hit", "cache miss"]
    assert sum("Waiting for another process that is training the same runs" in err for _, err in outputs) == 1


@pytest.mark.parametrize("value, offline", [("1", True), ("true", True), ("Yes", True), ("on", True),
                                            ("0", False), ("false", False), ("no", False), ("OFF", False)])
def test_the_offline_variable_reads_the_usual_words(monkeypatch, value, offline):
    monkeypatch.setenv("DROPOUT_CLAIMS_OFFLINE", value)
    assert offline_requested() is offline


def test_the_offline_variable_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("DROPOUT_CLAIMS_OFFLINE", "maybe")
    with pytest.raises(ValueError, match="'maybe' is neither on.*nor off.*Fix"):
        offline_requested()


def test_absurd_seed_counts_are_refused_with_their_memory_cost(inner):
    result = inner.runpytest("-p", "no:cacheprovider", f"--seeds={10**21}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--seeds must be at most 256*MiB of weights, Adam moments*GiB*"])


def test_the_options_of_a_multi_process_run_are_refused_without_distributed(inner):
    result = inner.runpytest("-p", "no:cacheprovider", "--coordinator=127.0.0.1:1234", "--process-id=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--coordinator, --process-id only apply to a multi-process run. Fix: add --distributed*"])


@pytest.mark.parametrize("where", ["a folder", "an unwritable folder", "a JSON name"])
def test_an_unwritable_report_fails_at_start_up(inner, where):
    if where == "a folder":
        report = inner.path / "adir.html"
        report.mkdir()
        expected = "*could not write the evidence report*is a folder*Fix: pass --report PATH*"
    elif where == "a JSON name":  # its own .json beside it would overwrite it
        report, expected = inner.path / "adir.json", "*the report is an HTML page; name it .html*"
    else:
        blocker = inner.path / "not-a-folder"
        blocker.write_text("a file where the report's folder should be")
        report, expected = blocker / "evidence.html", "*could not write the evidence report*Fix: pass --report PATH*"
    result = inner.runpytest("-p", "no:cacheprovider", f"--report={report}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert not (inner.path / "adir.json").exists()
    assert not (inner.path / "adir.html").is_file()


def test_an_atomic_write_onto_a_folder_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError, match="a folder is in the way"):
        write_all_atomically([(tmp_path / "first.json", lambda f: f.write(b"{}")),
                              (tmp_path / "taken", lambda f: f.write(b"x"))])
    assert not (tmp_path / "first.json").exists() and not list(tmp_path.glob(".*.tmp"))


def test_an_atomic_write_syncs_the_folder_it_renamed_into(tmp_path, monkeypatch):
    """The renamed file survives a power loss only once its folder is synced too."""
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.path.realpath(f"/proc/self/fd/{fd}")),
                                                 real_fsync(fd)))
    write_all_atomically([(tmp_path / "a" / "x.json", lambda f: f.write(b"{}")),
                          (tmp_path / "b" / "y.json", lambda f: f.write(b"[]"))])
    folders = {str(tmp_path.resolve() / "a"), str(tmp_path.resolve() / "b")}
    assert folders <= set(synced) and (tmp_path / "b" / "y.json").read_bytes() == b"[]"


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_numpy_integer_labels_are_accepted_but_code_is_not(tmp_path):
    fake = make_fake_cifar10(20)
    archive = tmp_path / ARCHIVE_NAME
    write_fake_archive(archive, fake, label_type="numpy")
    loaded = load_cifar10(archive, cache_dir=tmp_path / "cache", expected_digests=fake.digests)
    np.testing.assert_array_equal(loaded.test_labels, fake.labels["test_batch"])

    folder = tmp_path / "hostile" / FOLDER
    folder.mkdir(parents=True)
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        labels = [np.int64(0)] * 19 + [_RunsCode()]
        (folder / name).write_bytes(pickle.dumps({"data": fake.data[name], "labels": labels}))
    with pytest.raises(DatasetError, match="refusing to load posix.system|refusing to load os.system"):
        load_cifar10(folder.parent, expected_digests=None)


def test_missing_data_is_reported_once(pytester, tmp_path, monkeypatch):
    pytester.makeconftest('pytest_plugins = ["fixtures.options", "fixtures.session", "fixtures.report_plugin"]\n')
    pytester.makepyfile(**{f"test_needs_data_{i}": "def test_it(cifar10):\n    pass\n" for i in range(3)})
    monkeypatch.delenv("DROPOUT_CLAIMS_CIFAR10", raising=False)
    monkeypatch.setenv("DROPOUT_CLAIMS_OFFLINE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = pytester.runpytest("-p", "no:cacheprovider", f"--cache-dir={tmp_path / 'empty-cache'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert output.count("No CIFAR-10 data found") == 1, output
