"""Run sets on disk, keyed by everything that decides them.

One entry is one `.npz` file named by its key. Inside, next to the arrays, a
manifest records the key, the run set's metadata and the SHA-256 of every
array. Writes go to a temporary file in the same directory and are moved into
place with `os.replace`, so a reader sees either the old entry or the new one,
never half of one. On load the manifest is checked against the key asked for
and every array against its digest; an entry that fails is reported with a
warning and treated as missing (the caller retrains), never trusted.
"""

from __future__ import annotations

import hashlib
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
from flax import traverse_util

from harness.atomic import write_atomically
from harness.config import RunConfig
from harness.train import RunSet

MANIFEST = "__manifest__"


class CacheWarning(UserWarning):
    """A cache entry was damaged or did not match its key and will be retrained."""


def _digest(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    return hashlib.sha256(f"{array.dtype.str}{array.shape}".encode() + array.tobytes()).hexdigest()


def _flatten(run_set: RunSet) -> dict[str, np.ndarray]:
    arrays = {f"curves/{k}": v for k, v in run_set.curves.items()}
    arrays |= {f"final/{k}": v for k, v in run_set.final.items()}
    for group in ("params", "batch_stats"):
        flat = traverse_util.flatten_dict(getattr(run_set, group), sep="/")
        arrays |= {f"{group}/{k}": np.asarray(v) for k, v in flat.items()}
    return arrays


def _group(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) + 1 :]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def entry_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "runs" / f"{key}.npz"


def save(cache_dir: Path, key: str, run_set: RunSet) -> Path:
    """Write atomically; return the entry's path."""
    path = entry_path(cache_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = _flatten(run_set)
    manifest = {
        "key": key,
        "config": run_set.config.as_dict(),
        "seeds": list(run_set.seeds),
        "train_seconds": run_set.train_seconds,
        "compile_seconds": run_set.compile_seconds,
        "meta": run_set.meta,
        "digests": {name: _digest(a) for name, a in arrays.items()},
    }
    write_atomically(path, lambda f: np.savez(
        f, **arrays, **{MANIFEST: np.frombuffer(json.dumps(manifest).encode(), np.uint8)}
    ))
    return path


def load(cache_dir: Path, key: str) -> RunSet | None:
    """The cached run set for `key`, or None if absent or untrustworthy (with a warning)."""
    path = entry_path(cache_dir, key)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        manifest = json.loads(arrays.pop(MANIFEST).tobytes())
        problem = _check(manifest, arrays, key)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, EOFError) as error:
        problem = f"unreadable ({type(error).__name__}: {error})"
    if problem:
        warnings.warn(f"Run cache entry {path} is {problem}; retraining it.", CacheWarning, stacklevel=2)
        return None
    return RunSet(
        config=RunConfig.from_dict(manifest["config"]),
        seeds=tuple(manifest["seeds"]),
        curves=_group(arrays, "curves"),
        final=_group(arrays, "final"),
        params=traverse_util.unflatten_dict(_group(arrays, "params"), sep="/"),
        batch_stats=traverse_util.unflatten_dict(_group(arrays, "batch_stats"), sep="/"),
        train_seconds=manifest["train_seconds"],
        compile_seconds=manifest["compile_seconds"],
        meta=manifest["meta"] | {"cache": "hit"},
    )


def _check(manifest: dict, arrays: dict[str, np.ndarray], key: str) -> str:
    """Why the entry cannot be trusted, or '' if it can."""
    if manifest.get("key") != key:
        return f"for another key ({manifest.get('key')!r})"
    expected = manifest.get("digests", {})
    if set(expected) != set(arrays):
        return "missing arrays " + ", ".join(sorted(set(expected) ^ set(arrays)))
    damaged = [name for name, a in arrays.items() if _digest(a) != expected[name]]
    if damaged:
        return "damaged (digest mismatch in " + ", ".join(damaged[:3]) + ")"
    return ""
