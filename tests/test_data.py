"""Tests of harness.data.cifar10: finding, downloading, verifying, decoding and caching CIFAR-10.

All but the last test use tiny generated datasets (fixtures/fake_cifar.py) and a
local HTTP server, so they run offline in about a second. The last one reads the
real archive named by $DROPOUT_CLAIMS_CIFAR10 and is skipped without it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import socket
import tarfile
import threading
import warnings
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from fixtures.fake_cifar import (
    BATCH_NAMES,
    FOLDER,
    make_fake_cifar10,
    write_fake_archive,
    write_fake_folder,
)
from harness.data import cifar10 as data
from harness.data.cifar10 import (
    ARCHIVE_NAME,
    CACHE_ENV_VAR,
    ENV_VAR,
    DatasetError,
    load_cifar10,
    resolve_source,
)
from harness.settings import cache_dir_of, configured_cifar10
from harness.training import input_pipeline
from harness.training.input_pipeline import normalise, stratified_subset

REAL_CIFAR10 = os.environ.get(ENV_VAR)
IMAGES_PER_BATCH = 20
NO_DATA_ADVICE = f"set --cifar10=PATH or {ENV_VAR}=PATH"


@pytest.fixture
def fake():
    return make_fake_cifar10(IMAGES_PER_BATCH, seed=0)


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


def write_archive(tmp_path, fake, key_type="bytes"):
    source_dir = tmp_path / "source"
    source_dir.mkdir(exist_ok=True)
    archive = source_dir / ARCHIVE_NAME
    write_fake_archive(archive, fake, key_type=key_type)
    return archive


def assert_matches_fake(loaded, fake):
    """The loaded arrays are the fake's batches, train concatenated in order, converted to HWC."""

    def hwc(chw_rows):
        return chw_rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).reshape(-1, 3072)

    train_names = BATCH_NAMES[:5]
    np.testing.assert_array_equal(loaded.train_images, hwc(np.concatenate([fake.data[n] for n in train_names])))
    np.testing.assert_array_equal(loaded.train_labels, np.concatenate([fake.labels[n] for n in train_names]))
    np.testing.assert_array_equal(loaded.test_images, hwc(fake.data["test_batch"]))
    np.testing.assert_array_equal(loaded.test_labels, fake.labels["test_batch"])
    assert loaded.train_images.dtype == np.uint8 and loaded.test_images.dtype == np.uint8
    assert loaded.train_labels.dtype == np.int32 and loaded.test_labels.dtype == np.int32
    assert loaded.train_images.shape == (5 * IMAGES_PER_BATCH, 3072)


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("key_type", ["bytes", "str"])
def test_loads_pickles_with_bytes_or_str_keys(tmp_path, fake, cache_dir, key_type):
    archive = write_archive(tmp_path, fake, key_type)
    loaded = load_cifar10(archive, cache_dir=cache_dir, expected_digests=fake.digests)
    assert_matches_fake(loaded, fake)


def test_archive_folder_and_its_parent_give_identical_data(tmp_path, fake):
    archive = write_archive(tmp_path, fake)
    extracted_parent = tmp_path / "extracted"
    write_fake_folder(extracted_parent, fake)

    from_archive = load_cifar10(archive, expected_digests=None)
    for source in (extracted_parent, extracted_parent / FOLDER):
        from_folder = load_cifar10(source, expected_digests=None)
        for field in ("train_images", "train_labels", "test_images", "test_labels"):
            np.testing.assert_array_equal(getattr(from_folder, field), getattr(from_archive, field))
        assert from_folder.digest == from_archive.digest


def test_images_are_flattened_in_hwc_order(tmp_path, fake, cache_dir):
    # Channels told apart by value: red = row index, green = 64 + column, blue = 200.
    rows, cols = np.mgrid[0:32, 0:32]
    planes = np.stack([rows, 64 + cols, np.full((32, 32), 200)]).astype(np.uint8)
    fake.data["data_batch_1"][0] = planes.reshape(-1)  # pickle layout: all red, all green, all blue

    loaded = load_cifar10(write_archive(tmp_path, fake), cache_dir=cache_dir, expected_digests=fake.digests)

    image = loaded.train_images[0].reshape(32, 32, 3)
    assert list(loaded.train_images[0][:6]) == [0, 64, 200, 0, 65, 200]  # pixel (0,0) then pixel (0,1)
    np.testing.assert_array_equal(image[..., 0], rows)
    np.testing.assert_array_equal(image[..., 1], 64 + cols)
    np.testing.assert_array_equal(image[..., 2], 200)


def test_digest_is_sha256_over_batch_digests_in_order(tmp_path, fake, cache_dir):
    loaded = load_cifar10(write_archive(tmp_path, fake), cache_dir=cache_dir, expected_digests=fake.digests)
    expected = hashlib.sha256("".join(fake.digests[name] for name in BATCH_NAMES).encode()).hexdigest()
    assert loaded.digest == expected


def test_loaded_arrays_are_read_only(tmp_path, fake):
    loaded = load_cifar10(write_archive(tmp_path, fake), expected_digests=None)
    with pytest.raises(ValueError):
        loaded.train_images[0, 0] = 1


def test_truncated_archive_is_a_clear_error(tmp_path, fake, cache_dir):
    archive = write_archive(tmp_path, fake)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DatasetError, match="corrupt, truncated") as caught:
        load_cifar10(archive, cache_dir=cache_dir, expected_digests=fake.digests)
    assert str(archive) in str(caught.value)
    assert ENV_VAR in str(caught.value)  # the fix
    assert caught.value.__cause__ is not None


def test_archive_without_a_batch_names_it(tmp_path, fake, cache_dir):
    folder = tmp_path / "extracted"
    write_fake_folder(folder, fake)
    archive = tmp_path / "partial.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in BATCH_NAMES[:-1]:
            tar.add(folder / FOLDER / name, arcname=f"{FOLDER}/{name}")
    with pytest.raises(DatasetError, match="lacks the batch file.*test_batch"):
        load_cifar10(archive, cache_dir=cache_dir, expected_digests=fake.digests)


def test_folder_without_a_batch_names_it(tmp_path, fake):
    write_fake_folder(tmp_path, fake)
    (tmp_path / FOLDER / "data_batch_4").unlink()
    with pytest.raises(DatasetError, match="data_batch_4"):
        load_cifar10(tmp_path, expected_digests=None)


def test_folder_without_batches_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="holds neither"):
        load_cifar10(tmp_path, expected_digests=None)


class _RunsCodeWhenUnpickled:
    def __reduce__(self):
        return (os.getcwd, ())


def _batch_pickle(data: np.ndarray, labels: list[int] | None) -> bytes:
    content = {b"data": data} if labels is None else {b"data": data, b"labels": labels}
    return pickle.dumps(content)


_IMAGES = np.zeros((IMAGES_PER_BATCH, 3072), np.uint8)
_LABELS = [0] * IMAGES_PER_BATCH


@pytest.mark.parametrize(
    "payload, problem",
    [
        (b"not a pickle at all", "Cannot unpickle"),
        (pickle.dumps(_RunsCodeWhenUnpickled()), "refusing to load"),
        (pickle.dumps([1, 2, 3]), "not a dict"),
        (_batch_pickle(_IMAGES, None), "lacks the key"),
        (_batch_pickle(_IMAGES[:, :3000], _LABELS), r"expected uint8 \(n, 3072\)"),
        (_batch_pickle(_IMAGES.astype(np.int64), _LABELS), "expected uint8"),
        (_batch_pickle(_IMAGES, _LABELS[:3]), "labels for"),
        (_batch_pickle(_IMAGES, [10] * IMAGES_PER_BATCH), r"in 0\.\.9"),
    ],
    ids=["garbage", "code", "not-dict", "no-labels", "wrong-width", "wrong-dtype", "label-count", "label-range"],
)
def test_malformed_batch_is_a_clear_error(tmp_path, fake, payload, problem):
    write_fake_folder(tmp_path, fake)
    (tmp_path / FOLDER / "test_batch").write_bytes(payload)
    with pytest.raises(DatasetError, match=problem) as caught:
        load_cifar10(tmp_path, expected_digests=None)
    assert "test_batch" in str(caught.value)


def test_digest_mismatch_names_the_batch_and_both_digests(tmp_path, fake, cache_dir):
    expected = dict(fake.digests, data_batch_3="0" * 64)
    with pytest.raises(DatasetError, match="data_batch_3") as caught:
        load_cifar10(write_archive(tmp_path, fake), cache_dir=cache_dir, expected_digests=expected)
    message = str(caught.value)
    assert "0" * 64 in message and fake.digests["data_batch_3"] in message
    assert ENV_VAR in message
    assert not list(cache_dir.glob("*.npz"))  # unverified data is never cached


def test_partial_expected_digests_is_a_caller_error(tmp_path, fake):
    with pytest.raises(ValueError, match="test_batch"):
        load_cifar10(write_archive(tmp_path, fake), expected_digests={name: "0" * 64 for name in BATCH_NAMES[:-1]})


def test_read_only_source_folder_is_never_written(tmp_path, fake, cache_dir):
    archive = write_archive(tmp_path, fake)
    source_dir = archive.parent
    before = sorted(os.listdir(source_dir))
    source_dir.chmod(0o555)
    try:
        loaded = load_cifar10(archive, cache_dir=cache_dir, expected_digests=fake.digests)
    finally:
        source_dir.chmod(0o755)
    assert_matches_fake(loaded, fake)
    # We run as root, which ignores 0o555: check that nothing appeared beside the archive.
    assert sorted(os.listdir(source_dir)) == before
    assert list(cache_dir.glob("cifar10-*.npz"))


# --------------------------------------------------------------------------- decoded cache


def test_cache_hit_does_not_decode_an_unchanged_source(tmp_path, fake, cache_dir, monkeypatch):
    archive = write_archive(tmp_path, fake)
    first = load_cifar10(archive, cache_dir=cache_dir, expected_digests=fake.digests)
    assert not list((cache_dir / "tmp").iterdir())  # no temp files left
    assert "decoded and verified" in first.read_from and str(archive) in first.read_from

    def no_decoding(source):
        raise AssertionError(f"decoded {source} again")

    monkeypatch.setattr(data, "_read_batches", no_decoding)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = load_cifar10(archive, cache_dir=cache_dir, expected_digests=fake.digests)
    assert_matches_fake(second, fake)
    assert second.digest == first.digest
    assert second.read_from.startswith(str(cache_dir / f"cifar10-{first.digest}.npz"))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


def _tamper_one_pixel(path: Path) -> None:
    with np.load(path) as stored:
        arrays = dict(stored)
    arrays["data_batch_2.data"][0, 0] ^= 0xFF
    np.savez(path, **arrays)


def _drop_an_entry(path: Path) -> None:
    with np.load(path) as stored:
        arrays = {key: value for key, value in stored.items() if key != "test_batch.labels"}
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "damage", [_truncate, _tamper_one_pixel, _drop_an_entry], ids=["truncated", "tampered", "incomplete"]
)
def test_damaged_cache_is_decoded_again_with_a_warning(tmp_path, fake, cache_dir, damage):
    archive = write_archive(tmp_path, fake)
    load_cifar10(archive, cache_dir=cache_dir, expected_digests=fake.digests)
    (cache_file,) = cache_dir.glob("cifar10-*.npz")
    damage(cache_file)

    with pytest.warns(UserWarning, match="damaged"):
        reloaded = load_cifar10(archive, cache_dir=cache_dir, expected_digests=fake.digests)
    assert_matches_fake(reloaded, fake)

    with warnings.catch_warnings():  # the rewritten entry is intact again
        warnings.simplefilter("error")
        again = load_cifar10(archive, cache_dir=cache_dir, expected_digests=fake.digests)
    assert_matches_fake(again, fake)
    assert again.read_from.startswith(str(cache_file))


def test_unwritable_cache_warns_and_still_loads(tmp_path, fake):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match=CACHE_ENV_VAR):
        loaded = load_cifar10(write_archive(tmp_path, fake), cache_dir=blocker / "cache", expected_digests=fake.digests)
    assert_matches_fake(loaded, fake)


def test_the_cache_folder_is_the_option_else_the_environment(tmp_path):
    """harness/settings.py resolves it (fixtures/options.py once per session); the harness is handed the folder and
    reads no environment."""
    environ = {CACHE_ENV_VAR: str(tmp_path / "mine"), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert cache_dir_of(str(tmp_path / "option"), environ) == tmp_path / "option"
    assert cache_dir_of(None, environ) == tmp_path / "mine"
    assert cache_dir_of(None, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}) == tmp_path / "xdg" / "dropout-claims"
    assert cache_dir_of(None, {}) == Path.home() / ".cache" / "dropout-claims"


# --------------------------------------------------------------------------- resolve_source


def test_option_beats_environment_variable(tmp_path):
    from_option, from_env = tmp_path / "option.tar.gz", tmp_path / "env.tar.gz"
    environ = {ENV_VAR: str(from_env)}
    assert configured_cifar10(str(from_option), environ) == (from_option, "--cifar10")
    assert configured_cifar10(None, environ) == (from_env, f"${ENV_VAR}")
    assert configured_cifar10(None, {}) == (None, "")


@pytest.mark.parametrize("origin", ["--cifar10", f"${ENV_VAR}"])
def test_configured_path_that_does_not_exist_is_named(tmp_path, cache_dir, origin):
    missing = tmp_path / "nowhere" / ARCHIVE_NAME
    with pytest.raises(DatasetError, match="does not exist") as caught:
        resolve_source(missing, origin=origin, cache_dir=cache_dir, allow_download=False)
    assert str(missing) in str(caught.value)
    assert origin in str(caught.value)


def test_archive_already_in_cache_is_used(cache_dir):
    cache_dir.mkdir()
    (cache_dir / ARCHIVE_NAME).touch()
    assert resolve_source(None, cache_dir=cache_dir, allow_download=False) == cache_dir / ARCHIVE_NAME


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep test output clean
        pass


@pytest.fixture
def web_root(tmp_path, monkeypatch):
    """A folder served over HTTP on 127.0.0.1; yields (folder, base URL)."""
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # a configured proxy must not intercept the local server
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_download_lands_in_the_cache_dir(web_root, fake, cache_dir):
    root, base_url = web_root
    write_fake_archive(root / "served.tar.gz", fake)
    md5 = hashlib.md5((root / "served.tar.gz").read_bytes()).hexdigest()

    source = resolve_source(None, cache_dir=cache_dir, url=f"{base_url}/served.tar.gz", archive_md5=md5)

    assert source == cache_dir / ARCHIVE_NAME
    assert sorted(os.listdir(cache_dir)) == [ARCHIVE_NAME, "tmp"] and not os.listdir(cache_dir / "tmp")
    assert source.read_bytes() == (root / "served.tar.gz").read_bytes()
    assert_matches_fake(load_cifar10(source, cache_dir=cache_dir, expected_digests=fake.digests), fake)


def test_download_with_wrong_md5_leaves_nothing(web_root, fake, cache_dir):
    root, base_url = web_root
    write_fake_archive(root / "served.tar.gz", fake)
    with pytest.raises(DatasetError, match="md5"):
        resolve_source(None, cache_dir=cache_dir, url=f"{base_url}/served.tar.gz", archive_md5="0" * 32)
    assert os.listdir(cache_dir) == ["tmp"] and not os.listdir(cache_dir / "tmp")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("where", ["closed-port", "404"])
def test_failed_download_says_how_to_provide_the_data(web_root, cache_dir, where):
    _, base_url = web_root
    url = f"http://127.0.0.1:{_closed_port()}/x.tar.gz" if where == "closed-port" else f"{base_url}/absent.tar.gz"
    with pytest.raises(DatasetError, match=NO_DATA_ADVICE) as caught:
        resolve_source(None, cache_dir=cache_dir, url=url)
    assert str(cache_dir / ARCHIVE_NAME) in str(caught.value)
    assert "cifar-10-batches-py" in str(caught.value)
    assert not cache_dir.exists() or not list(cache_dir.rglob("*.*"))


def test_download_not_allowed_says_how_to_provide_the_data(cache_dir):
    with pytest.raises(DatasetError, match=NO_DATA_ADVICE):
        resolve_source(None, cache_dir=cache_dir, allow_download=False)


# --------------------------------------------------------------------------- subsets


def _shuffled_labels(per_class: int) -> np.ndarray:
    return np.random.default_rng(1).permutation(np.repeat(np.arange(10), per_class))


def test_stratified_subset_is_deterministic_sorted_and_balanced():
    labels = _shuffled_labels(50)
    indices = stratified_subset(labels, per_class=7, seed=3)
    np.testing.assert_array_equal(indices, stratified_subset(labels, per_class=7, seed=3))
    assert indices.dtype == np.int64
    assert np.all(np.diff(indices) > 0)  # sorted, no repeats
    np.testing.assert_array_equal(np.bincount(labels[indices], minlength=10), [7] * 10)
    assert not np.array_equal(indices, stratified_subset(labels, per_class=7, seed=4))


def test_stratified_subset_refuses_a_class_with_too_few_examples():
    labels = _shuffled_labels(5)
    with pytest.raises(DatasetError, match="fewer than the 6 per class"):
        stratified_subset(labels, per_class=6, seed=0)
    with pytest.raises(DatasetError, match="Class 9"):
        stratified_subset(labels[labels != 9], per_class=1, seed=0)


def test_stratified_subset_needs_a_positive_size():
    with pytest.raises(ValueError):
        stratified_subset(_shuffled_labels(5), per_class=0, seed=0)


# --------------------------------------------------------------------------- normalisation


def _writeup_normalisation(split: np.ndarray, mean: float, std: float, scale: float | None = None) -> np.ndarray:
    """The writeup's formula in float64, as a reference."""
    standardised = (split.astype(np.float64) - mean) / std
    return standardised / (standardised.max() if scale is None else scale)


@pytest.fixture
def splits():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 200, size=(64, 3072), dtype=np.uint8)
    test = rng.integers(30, 256, size=(16, 3072), dtype=np.uint8)  # brighter: its own stats differ
    return train, test


def test_own_normalisation_uses_each_splits_statistics(splits, monkeypatch):
    monkeypatch.setattr(input_pipeline, "_STD_CHUNK_PIXELS", 1000)  # exercise the chunked std on small data
    train, test = splits
    train_out, test_out = normalise(train, test, "own")
    assert train_out.dtype == np.float32 and test_out.dtype == np.float32
    assert train_out.max() == 1.0 and test_out.max() == 1.0
    for raw, out in ((train, train_out), (test, test_out)):
        expected = _writeup_normalisation(raw, raw.mean(dtype=np.float64), raw.std(dtype=np.float64))
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_train_normalisation_reuses_the_train_statistics(splits):
    train, test = splits
    train_out, test_out = normalise(train, test, "train")
    np.testing.assert_array_equal(train_out, normalise(train, test, "own")[0])
    mean, std = train.mean(dtype=np.float64), train.std(dtype=np.float64)
    train_max = ((train.astype(np.float64) - mean) / std).max()
    np.testing.assert_allclose(test_out, _writeup_normalisation(test, mean, std, train_max), rtol=1e-5, atol=1e-6)
    assert test_out.max() > 1.0  # the test split is brighter than anything in train


def test_normalise_leaves_its_inputs_alone_and_refuses_unknown_modes(splits):
    train, test = splits
    before = train.copy()
    normalise(train, test, "own")
    np.testing.assert_array_equal(train, before)
    with pytest.raises(ValueError, match="mode"):
        normalise(train, test, "global")


# --------------------------------------------------------------------------- the real data


def test_real_cifar10_archive(tmp_path):
    if not REAL_CIFAR10:
        pytest.skip(f"set {ENV_VAR} to the real cifar-10-python.tar.gz (or its folder) to check the real data")
    loaded = load_cifar10(Path(REAL_CIFAR10), cache_dir=tmp_path)
    assert loaded.train_images.shape == (50_000, 3072) and loaded.test_images.shape == (10_000, 3072)
    np.testing.assert_array_equal(np.bincount(loaded.train_labels, minlength=10), [5000] * 10)
    np.testing.assert_array_equal(np.bincount(loaded.test_labels, minlength=10), [1000] * 10)
    assert list(loaded.train_labels[:10]) == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert list(loaded.test_labels[:10]) == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    # README: data_batch_1 row 0 starts 59,43,50: the red values of the first three pixels.
    assert list(loaded.train_images[0].reshape(32, 32, 3)[0, :3, 0]) == [59, 43, 50]
