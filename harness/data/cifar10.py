"""CIFAR-10 on disk -> verified uint8 arrays, stratified subsets and the writeup's normalisation.

The writeup loads CIFAR-10 through tensorflow-datasets; we read the official
"python version" (the ``cifar-10-python.tar.gz`` archive or its extracted
``cifar-10-batches-py/`` folder) so the harness needs no TensorFlow. Every batch is
checked against a content digest that depends only on pixels and labels, so the
official download and the shared re-pickled copy are accepted alike and anything
else (truncated, tampered, a different dataset) is refused with a message that
says what to do. The archive's folder may be read-only (CI mounts it so): nothing
is ever written beside it; decoded arrays are cached in the cache directory, and
used only while the source they were decoded from is still there, unchanged.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import pickle
import tarfile
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, NamedTuple

import numpy as np
from tqdm import tqdm

from harness.atomic import exclusive, temp_folder, write_atomically

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# The md5 published next to the official download; it only guards the download
# itself, the content digests below guard the data whatever its packaging.
OFFICIAL_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"

TRAIN_BATCHES: tuple[str, ...] = tuple(f"data_batch_{k}" for k in range(1, 6))
TEST_BATCH = "test_batch"
BATCH_NAMES: tuple[str, ...] = (*TRAIN_BATCHES, TEST_BATCH)

# SHA-256 of each batch's 'data' array as C-contiguous uint8 bytes (n x 3072, the
# pickle's channel-major rows) followed by its labels as uint8 bytes. Independent of
# how the pickle was written, so the official files and re-pickled copies agree.
# Copied from /work/shared/datasets/cifar10/README.txt.
CONTENT_DIGESTS: dict[str, str] = {
    "data_batch_1": "ba52cb2d72c412975d7556bb26bd094956f1c002d1937053f6f1252f2ac17114",
    "data_batch_2": "350ff9000489d02f2568c0dcf4912ffdbae9e50932147905fb1b8159ad54f0ac",
    "data_batch_3": "a2b8653fc457df407af6c38b7e0d1a12530f3b5f81fce9f81516efd065daf722",
    "data_batch_4": "133e6292c377755074c305db8a684d48d5397372cb0aba34f52b4335eab35d97",
    "data_batch_5": "eb08cdc11fd1267ef871cf4790f193684b3f556d13317be68f4eb374a078ea87",
    "test_batch": "9a4c74f5c8b6f2c4e13d3a1dfb43a5a8cda8a9da515e99fd620d2013a1a6287a",
}

ENV_VAR = "DROPOUT_CLAIMS_CIFAR10"
CACHE_ENV_VAR = "DROPOUT_CLAIMS_CACHE"

ARCHIVE_NAME = "cifar-10-python.tar.gz"
BATCHES_FOLDER = "cifar-10-batches-py"
NUM_CLASSES = 10
# batches.meta label_names, in label order
LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SIDE = 32
CHANNELS = 3
PIXELS_PER_IMAGE = IMAGE_SIDE * IMAGE_SIDE * CHANNELS  # 3072

_DOWNLOAD_TIMEOUT_S = 60
_DOWNLOAD_CHUNK_BYTES = 1 << 20

_FIX_SOURCE = (
    f"Fix: point --cifar10=PATH or {ENV_VAR}=PATH at an intact copy of {ARCHIVE_NAME} "
    f"or of its extracted {BATCHES_FOLDER}/ folder; if this is the copy downloaded into "
    "the cache, delete it and it will be downloaded again."
)

_FIX_CACHE = f"Fix: set --cache-dir or {CACHE_ENV_VAR} to a writable folder."

# The only globals a CIFAR-10 pickle needs (numpy arrays, as written by numpy 1.x or
# 2.x, protocol 2 to 5). Refusing everything else means a tampered archive cannot run
# code through pickle.
_ALLOWED_PICKLE_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),  # numpy scalars (labels as np.int64): a dtype and raw bytes
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how Python 3 writes bytes under protocol 2
    }
)


class DatasetError(RuntimeError):
    """The CIFAR-10 data is missing, unreadable or not the expected data.

    Every message names the problem and the fix (which option or variable to set,
    which file to delete), because the user meets it before any claim runs.
    """


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value
class Cifar10:
    """CIFAR-10 as the writeup feeds it to the models, before normalisation.

    Images are flattened in HWC order (32, 32, 3) like tensorflow-datasets, which the
    writeup uses, not in the pickle's channel-major order. Arrays are read-only so a
    session-wide instance cannot be altered in place by one consumer.
    """

    train_images: np.ndarray  # uint8 (N, 3072), HWC
    train_labels: np.ndarray  # int32 (N,)
    test_images: np.ndarray  # uint8 (M, 3072), HWC
    test_labels: np.ndarray  # int32 (M,)
    # SHA-256 over the per-batch content digests in batch order: a stable id of the
    # data for cache keys, whatever file it was read from.
    digest: str
    read_from: str = ""  # what was read: the source, or the decoded cache (and of which source), for provenance


class _Batch(NamedTuple):
    """One batch as stored in the pickle: the form the content digest is defined on."""

    data: np.ndarray  # uint8 (n, 3072), channel-major rows
    labels: np.ndarray  # uint8 (n,)


# --------------------------------------------------------------------------- finding the data


def resolve_source(
    configured: Path | None,
    *,
    origin: str = "--cifar10",
    cache_dir: Path,
    allow_download: bool = True,
    url: str = OFFICIAL_URL,
    archive_md5: str = OFFICIAL_ARCHIVE_MD5,
) -> Path:
    """The archive or folder to read CIFAR-10 from.

    A ``configured`` path (from the option or the variable that ``origin`` names, as
    harness/settings.py resolved them) must exist. Without one, the archive in
    ``cache_dir`` is used, downloaded there first when allowed. When none of this
    yields data, one error lists every way to provide it. Reads no environment.
    """
    if configured is not None:
        if not configured.exists():
            raise DatasetError(
                f"The CIFAR-10 path given by {origin} does not exist: {configured}. Fix: set {origin} to "
                f"the path of {ARCHIVE_NAME} or of its extracted {BATCHES_FOLDER}/ folder."
            )
        return configured

    archive = cache_dir / ARCHIVE_NAME
    if archive.is_file():
        return archive
    if not allow_download:
        raise _no_data_error(archive, "downloading is not allowed here")
    try:
        _download(url, archive, archive_md5)
    except (OSError, http.client.HTTPException) as error:  # offline, refused, HTTP error, unwritable cache
        raise _no_data_error(archive, f"downloading {url} failed: {error}") from error
    return archive


def _no_data_error(archive: Path, why: str) -> DatasetError:
    """The one message for "no CIFAR-10 anywhere": every way to provide it, and why download did not."""
    return DatasetError(
        f"No CIFAR-10 data found ({why}). Fix: set --cifar10=PATH or {ENV_VAR}=PATH to "
        f"{ARCHIVE_NAME} or the extracted {BATCHES_FOLDER}/ folder, or place the archive at {archive}."
    )


def _download(url: str, destination: Path, expected_md5: str) -> None:
    """Fetch ``url`` to ``destination`` with a progress bar; only a file with the right md5 lands there."""

    def fetch_and_check(out: BinaryIO) -> None:
        md5 = hashlib.md5(usedforsecurity=False)
        with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
            size = int(response.headers.get("Content-Length") or 0) or None
            progress = tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=f"Downloading {url}")
            with progress as bar:
                while chunk := response.read(_DOWNLOAD_CHUNK_BYTES):
                    out.write(chunk)
                    md5.update(chunk)
                    bar.update(len(chunk))
        if md5.hexdigest() != expected_md5:
            raise DatasetError(
                f"The file downloaded from {url} has md5 {md5.hexdigest()}, expected {expected_md5}; "
                f"it was discarded. Fix: retry, or download {ARCHIVE_NAME} yourself and set "
                f"--cifar10=PATH or {ENV_VAR}=PATH to it."
            )

    write_atomically(destination, fetch_and_check, temp_dir=temp_folder(destination.parent))


# --------------------------------------------------------------------------- loading


def load_cifar10(
    source: str | os.PathLike[str],
    *,
    cache_dir: Path | None = None,
    expected_digests: Mapping[str, str] | None = CONTENT_DIGESTS,
) -> Cifar10:
    """Read and verify CIFAR-10 from an archive (.tar.gz/.tgz/.tar) or a batches folder.

    Decoding the 170 MB archive takes seconds, so the decoded batches are cached in
    ``cache_dir`` under the dataset digest the expected content digests imply; a
    cache entry is re-verified on every load and a damaged one is decoded again.
    The cache is used only for a source known to hold that data: one that was
    decoded and verified before and has not changed since (same files, sizes and
    modification times, recorded beside the cache). Any other source (a new copy,
    an empty folder, a corrupt archive) is read and verified, so a named source is
    never silently ignored. One process decodes at a time; others wait for it.
    ``expected_digests=None`` skips verification and caching (there is no trusted
    key before decoding); it is meant for tests that generate their own data.
    ``cache_dir=None`` caches nothing: the source is decoded and verified on every load.
    """
    source = Path(source)
    if expected_digests is None:
        batches = _read_batches(source)
        return _assemble(batches, _batch_digests(batches), f"{source}")

    expected = _complete_expectation(expected_digests)
    if cache_dir is None:  # nowhere to keep the decoded arrays: read and verify every time
        batches = _read_batches(source)
        _check_digests(_batch_digests(batches), expected, source)
        return _assemble(batches, expected, f"{source} (decoded and verified)")
    cache_file = cache_dir / f"cifar10-{_dataset_digest(expected)}.npz"
    with exclusive(cache_dir / "locks" / f"{cache_file.stem}.lock", "decoding CIFAR-10", _FIX_CACHE):
        fingerprint = _fingerprint(source)
        known = fingerprint in _known_sources(cache_file)
        batches = _load_cached_batches(cache_file, expected) if known else None
        if batches is not None:
            return _assemble(batches, expected, f"{cache_file} (decoded from {source}, unchanged since)")
        batches = _read_batches(source)
        _check_digests(_batch_digests(batches), expected, source)
        if not cache_file.is_file():  # an existing one is verified when next used, and replaced if damaged
            _cache_batches(cache_file, batches)
        _remember_source(cache_file, fingerprint)
    return _assemble(batches, expected, f"{source} (decoded and verified)")


def _fingerprint(source: Path) -> str:
    """Identifies the source's files as they are now: resolved paths, sizes, modification times."""
    if source.is_dir():
        folder = _batches_folder(source)
        files = [folder / name for name in BATCH_NAMES]
    elif source.is_file():
        files = [source]
    else:
        raise DatasetError(f"CIFAR-10 source {source} does not exist. {_FIX_SOURCE}")
    try:
        stats = [(str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    except OSError as error:
        raise DatasetError(f"Cannot read CIFAR-10 source {source}: {error}. {_FIX_SOURCE}") from error
    return json.dumps(stats)


def _sources_file(cache_file: Path) -> Path:
    return cache_file.with_name(cache_file.stem + ".sources.json")


def _known_sources(cache_file: Path) -> list[str]:
    """Fingerprints of the sources verified to hold the cached data (none when unreadable)."""
    try:
        known = json.loads(_sources_file(cache_file).read_text())
    except (OSError, ValueError):
        return []
    return [k for k in known if isinstance(k, str)] if isinstance(known, list) else []


def _remember_source(cache_file: Path, fingerprint: str) -> None:
    known = [k for k in _known_sources(cache_file) if k != fingerprint] + [fingerprint]
    try:
        write_atomically(_sources_file(cache_file), lambda out: out.write(json.dumps(known).encode()),
                         temp_dir=temp_folder(cache_file.parent))
    except OSError:  # _cache_batches has already warned that this cache cannot be written
        pass


def _complete_expectation(expected_digests: Mapping[str, str]) -> dict[str, str]:
    """The expected digests in batch order; a partial mapping is a caller's bug, not bad data."""
    missing = [name for name in BATCH_NAMES if name not in expected_digests]
    if missing:
        raise ValueError(f"expected_digests lacks {missing}; give a digest for each of {list(BATCH_NAMES)}")
    return {name: expected_digests[name] for name in BATCH_NAMES}


def _read_batches(source: Path) -> dict[str, _Batch]:
    """All six batches from an archive or a folder, each parsed and shape-checked."""
    if source.is_dir():
        return _read_batches_from_folder(_batches_folder(source))
    if source.is_file():
        return _read_batches_from_archive(source)
    raise DatasetError(f"CIFAR-10 source {source} does not exist. {_FIX_SOURCE}")


def _batches_folder(source: Path) -> Path:
    """Accept the cifar-10-batches-py folder itself or the folder it was extracted into."""
    for candidate in (source, source / BATCHES_FOLDER):
        if (candidate / BATCH_NAMES[0]).is_file():
            return candidate
    raise DatasetError(
        f"{source} holds neither the CIFAR-10 batch files ({', '.join(BATCH_NAMES)}) "
        f"nor a {BATCHES_FOLDER}/ folder with them. {_FIX_SOURCE}"
    )


def _read_batches_from_folder(folder: Path) -> dict[str, _Batch]:
    batches = {}
    for name in BATCH_NAMES:
        path = folder / name
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise DatasetError(f"Cannot read CIFAR-10 batch {path}: {error}. {_FIX_SOURCE}") from error
        batches[name] = _parse_batch(raw, str(path))
    return batches


def _read_batches_from_archive(archive: Path) -> dict[str, _Batch]:
    """Read the batches straight out of the tar, in one pass, without extracting.

    Stream mode decompresses the archive once, front to back (random access into a
    gzip re-decompresses from the start); nothing is written, so a read-only folder
    is fine.
    """
    batches: dict[str, _Batch] = {}
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                name = PurePosixPath(member.name).name
                if member.isfile() and name in BATCH_NAMES and name not in batches:
                    raw = tar.extractfile(member).read()
                    batches[name] = _parse_batch(raw, f"{archive}:{member.name}")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DatasetError(
            f"Cannot read the CIFAR-10 archive {archive}: it is corrupt, truncated or unreadable ({error}). "
            + _FIX_SOURCE
        ) from error
    missing = [name for name in BATCH_NAMES if name not in batches]
    if missing:
        raise DatasetError(
            f"The CIFAR-10 archive {archive} lacks the batch file(s) {', '.join(missing)}. {_FIX_SOURCE}"
        )
    return batches


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: the data cannot run code."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}, which a CIFAR-10 batch never contains")
        return super().find_class(module, name)


def _parse_batch(raw: bytes, where: str) -> _Batch:
    """One batch pickle -> its data and labels; keys may be bytes (official) or str (re-pickled)."""
    try:
        # encoding="bytes" keeps Python 2 strings (the official files) as bytes,
        # which is what lets numpy rebuild the arrays from them.
        content = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as error:  # pickle raises many types on bad input; all mean "unreadable"
        raise DatasetError(
            f"Cannot unpickle CIFAR-10 batch {where} ({type(error).__name__}: {error}). {_FIX_SOURCE}"
        ) from error
    if not isinstance(content, dict):
        raise DatasetError(f"CIFAR-10 batch {where} holds a {type(content).__name__}, not a dict. {_FIX_SOURCE}")
    fields = {key.decode("latin-1") if isinstance(key, bytes) else key: value for key, value in content.items()}
    missing = [key for key in ("data", "labels") if key not in fields]
    if missing:
        raise DatasetError(f"CIFAR-10 batch {where} lacks the key(s) {missing}. {_FIX_SOURCE}")
    return _checked_batch(np.asarray(fields["data"]), np.asarray(fields["labels"]), where)


def _checked_batch(data: np.ndarray, labels: np.ndarray, where: str) -> _Batch:
    """Refuse arrays that are not n images of 3072 uint8 pixels with n labels in 0..9."""
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS_PER_IMAGE:
        raise DatasetError(
            f"CIFAR-10 batch {where}: 'data' is {data.dtype} {data.shape}, expected uint8 (n, {PIXELS_PER_IMAGE}). "
            + _FIX_SOURCE
        )
    if labels.ndim != 1 or labels.shape[0] != data.shape[0]:
        raise DatasetError(f"CIFAR-10 batch {where}: {labels.shape} labels for {data.shape[0]} images. {_FIX_SOURCE}")
    in_range = labels.size == 0 or (labels.min() >= 0 and labels.max() < NUM_CLASSES)
    if not np.issubdtype(labels.dtype, np.integer) or not in_range:
        raise DatasetError(f"CIFAR-10 batch {where}: labels must be integers in 0..{NUM_CLASSES - 1}. {_FIX_SOURCE}")
    return _Batch(np.ascontiguousarray(data), labels.astype(np.uint8))


def _content_digest(batch: _Batch) -> str:
    """SHA-256 of the pixels (pickle layout) then the labels, both as uint8 bytes."""
    sha = hashlib.sha256()
    sha.update(memoryview(np.ascontiguousarray(batch.data, dtype=np.uint8)).cast("B"))
    sha.update(memoryview(np.ascontiguousarray(batch.labels, dtype=np.uint8)).cast("B"))
    return sha.hexdigest()


def _batch_digests(batches: Mapping[str, _Batch]) -> dict[str, str]:
    return {name: _content_digest(batches[name]) for name in BATCH_NAMES}


def _dataset_digest(batch_digests: Mapping[str, str]) -> str:
    """SHA-256 over the per-batch hex digests, concatenated in batch order."""
    return hashlib.sha256("".join(batch_digests[name] for name in BATCH_NAMES).encode("ascii")).hexdigest()


def _check_digests(actual: Mapping[str, str], expected: Mapping[str, str], source: Path) -> None:
    for name in BATCH_NAMES:
        if actual[name] != expected[name]:
            raise DatasetError(
                f"CIFAR-10 batch {name} read from {source} has content digest {actual[name]}, "
                f"expected {expected[name]}: it is damaged or not the official data. {_FIX_SOURCE}"
            )


def _assemble(batches: Mapping[str, _Batch], batch_digests: Mapping[str, str], read_from: str) -> Cifar10:
    """Concatenate the train batches in order and convert every image to HWC."""
    train_images = _chw_to_hwc(np.concatenate([batches[name].data for name in TRAIN_BATCHES]))
    train_labels = np.concatenate([batches[name].labels for name in TRAIN_BATCHES]).astype(np.int32)
    test_images = _chw_to_hwc(batches[TEST_BATCH].data)
    test_labels = batches[TEST_BATCH].labels.astype(np.int32)
    for array in (train_images, train_labels, test_images, test_labels):
        array.setflags(write=False)
    return Cifar10(train_images, train_labels, test_images, test_labels, _dataset_digest(batch_digests), read_from)


def _chw_to_hwc(data: np.ndarray) -> np.ndarray:
    """Rows of 1024 R, 1024 G, 1024 B values -> rows of (R, G, B) pixel triples, as tfds gives them."""
    images = data.reshape(-1, CHANNELS, IMAGE_SIDE, IMAGE_SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images).reshape(-1, PIXELS_PER_IMAGE)


def verified_batches(
    batches: Mapping[str, tuple[np.ndarray, np.ndarray]],
    read_from: str,
    expected_digests: Mapping[str, str] | None = CONTENT_DIGESTS,
) -> Cifar10:
    """CIFAR-10 from the six batches as another reader produced them (harness/data/tfds_source.py), in the pickles'
    layout: (uint8 (n, 3072) channel-major rows, labels) per batch name. The same shape and content-digest
    checks as the official files, so every source yields the same verified arrays and dataset digest.
    ``expected_digests=None`` skips verification (tests that generate their own data)."""
    checked = {name: _checked_batch(*batches[name], f"{read_from}:{name}") for name in BATCH_NAMES}
    if expected_digests is None:
        return _assemble(checked, _batch_digests(checked), read_from)
    expected = _complete_expectation(expected_digests)
    _check_digests(_batch_digests(checked), expected, Path(read_from))
    return _assemble(checked, expected, read_from)


# --------------------------------------------------------------------------- decoded cache


def _load_cached_batches(cache_file: Path, expected: Mapping[str, str]) -> dict[str, _Batch] | None:
    """The cached batches if present and intact; a damaged entry is deleted, never trusted."""
    if not cache_file.is_file():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as stored:
            batches = {
                name: _checked_batch(stored[f"{name}.data"], stored[f"{name}.labels"], f"{cache_file}:{name}")
                for name in BATCH_NAMES
            }
        _check_digests(_batch_digests(batches), expected, cache_file)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, DatasetError) as damage:
        try:
            cache_file.unlink(missing_ok=True)
            deleted = "deleted it"
        except OSError as error:  # a read-only cache: say so, and decode anyway
            deleted = f"could not delete it ({error}; {_FIX_CACHE})"
        warnings.warn(f"Decoded CIFAR-10 cache {cache_file} is damaged ({damage}); {deleted}; decoding the source again.")
        return None
    return batches


def _cache_batches(cache_file: Path, batches: Mapping[str, _Batch]) -> None:
    """Store the batches in pickle layout (what the digests are defined on); failing to cache is not fatal."""
    arrays = {}
    for name in BATCH_NAMES:
        arrays[f"{name}.data"] = batches[name].data
        arrays[f"{name}.labels"] = batches[name].labels
    try:
        write_atomically(cache_file, lambda out: np.savez(out, **arrays), temp_dir=temp_folder(cache_file.parent))
    except OSError as error:
        warnings.warn(
            f"Could not cache decoded CIFAR-10 at {cache_file} ({error}); every load will decode the source again. "
            + _FIX_CACHE
        )
