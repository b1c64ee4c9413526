"""Run sets and training checkpoints on disk, keyed by everything that decides them.

One run-cache entry is `runs/<key>.npz`; an unfinished training keeps its
latest state in `checkpoints/<key>.npz` until its entry is written. Inside
each, next to the arrays, a manifest records the key, metadata and the
SHA-256 of every array. Writes are staged in the cache's `tmp/` folder and
moved into place with `os.replace`, so a reader sees either the old file or
the new one, never half of one. On load the manifest is checked against the
key asked for and every array against its digest; a file that fails is
reported with a warning and treated as missing, never trusted.

`one_writer` holds a lock per key (`locks/<key>.lock`) so that two processes
asking for the same runs train them once: the second waits and loads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import warnings
import zipfile
from pathlib import Path

import jax
import numpy as np
from flax import traverse_util

from harness.atomic import exclusive, temp_folder, write_atomically
from harness.config import RunConfig
from harness.training.models import arms_of
from harness.training.run_set import Kept, RunSet, RunState, Snapshot

MANIFEST = "__manifest__"
# Checkpoints are written at chunk boundaries, but at most this often: writing
# the whole state after every chunk costs time the training would otherwise
# spend (`pytest benchmarks/test_checkpoint_cost.py -s` times the modes side by side).
# A kill loses at most this much training plus one chunk.
CHECKPOINT_INTERVAL_S = 30.0
FIX_CACHE = "Fix: make it writable, or point --cache-dir or DROPOUT_CLAIMS_CACHE at a writable folder."


class CacheWarning(UserWarning):
    """A cache entry or checkpoint was damaged, mismatched or could not be written."""


def _digest(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    return hashlib.sha256(f"{array.dtype.str}{array.shape}".encode() + array.tobytes()).hexdigest()


def _write_verified(cache_dir: Path, path: Path, arrays: dict[str, np.ndarray], manifest: dict) -> None:
    """Write `arrays` with a manifest (plus every array's digest) atomically, staged in the cache's tmp/."""
    manifest = manifest | {"digests": {name: _digest(a) for name, a in arrays.items()}}
    encoded = np.frombuffer(json.dumps(manifest).encode(), np.uint8)
    write_atomically(path, lambda f: np.savez(f, **arrays, **{MANIFEST: encoded}), temp_dir=temp_folder(cache_dir))


def _read_verified(path: Path, key: str) -> tuple[dict, dict[str, np.ndarray]] | str:
    """(manifest, arrays) if the file is intact and written for `key`, else why it cannot be trusted."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        manifest = json.loads(arrays.pop(MANIFEST).tobytes())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, EOFError) as error:
        return f"unreadable ({type(error).__name__}: {error})"
    if manifest.get("key") != key:
        return f"for another key ({manifest.get('key')!r})"
    expected = manifest.get("digests", {})
    if set(expected) != set(arrays):
        return "missing arrays " + ", ".join(sorted(set(expected) ^ set(arrays)))
    damaged = [name for name, a in arrays.items() if _digest(a) != expected[name]]
    if damaged:
        return "damaged (digest mismatch in " + ", ".join(damaged[:3]) + ")"
    return manifest, arrays


def _group(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) + 1 :]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


# --------------------------------------------------------------------------- finished runs


def _flatten(run_set: RunSet) -> dict[str, np.ndarray]:
    return {f"curves/{k}": v for k, v in run_set.curves.items()} | _flatten_networks(run_set)


def _flatten_networks(networks: RunSet | Kept, prefix: str = "") -> dict[str, np.ndarray]:
    """The final summaries and the networks of a run set or of a kept epoch, by path-like names."""
    arrays = {f"{prefix}final/{k}": v for k, v in networks.final.items()}
    for group in ("params", "batch_stats"):
        flat = traverse_util.flatten_dict(getattr(networks, group), sep="/")
        arrays |= {f"{prefix}{group}/{k}": np.asarray(v) for k, v in flat.items()}
    return arrays


def _networks(arrays: dict[str, np.ndarray]) -> dict[str, dict]:
    """`_flatten_networks`' final summaries and networks, nested again."""
    return {"final": _group(arrays, "final"),
            **{group: traverse_util.unflatten_dict(_group(arrays, group), sep="/") for group in ("params", "batch_stats")}}


def entry_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "runs" / f"{key}.npz"


def save(cache_dir: Path, key: str, run_set: RunSet) -> Path:
    """Write atomically; return the entry's path."""
    path = entry_path(cache_dir, key)
    manifest = {
        "key": key,
        "config": run_set.config.as_dict(),
        "seeds": list(run_set.seeds),
        "train_seconds": run_set.train_seconds,
        "compile_seconds": run_set.compile_seconds,
        "keep_probs": run_set.keep_probs,
        "meta": run_set.meta,
    }
    _write_verified(cache_dir, path, _flatten(run_set), manifest)
    return path


def load(cache_dir: Path, key: str) -> RunSet | None:
    """The cached run set for `key`, or None if absent or untrustworthy (with a warning)."""
    path = entry_path(cache_dir, key)
    if not path.exists():
        return None
    verified = _read_verified(path, key)
    if isinstance(verified, str):
        warnings.warn(f"Run cache entry {path} is {verified}; retraining it.", CacheWarning, stacklevel=2)
        return None
    manifest, arrays = verified
    config = RunConfig.from_dict(manifest["config"])
    # An entry written before run sets carried their keep probabilities: derived as training derived them.
    keep_probs = manifest.get("keep_probs") or {arm.name: arm.keep_probs for arm in arms_of(config)}
    return RunSet(
        config=config,
        seeds=tuple(manifest["seeds"]),
        curves=_group(arrays, "curves"),
        **_networks(arrays),
        keep_probs={variant: tuple(keep) for variant, keep in keep_probs.items()},
        train_seconds=manifest["train_seconds"],
        compile_seconds=manifest["compile_seconds"],
        meta=manifest["meta"] | {"cache": "hit"},
    )


# --------------------------------------------------------------------------- unfinished runs


class Checkpoints:
    """The latest training state of one key (see `train.Checkpointer`): resumable after a kill.

    A checkpoint that cannot be written is warned about once and then no
    longer attempted: training goes on, only resumability is lost.
    """

    def __init__(self, cache_dir: Path, key: str, *, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self.cache_dir = Path(cache_dir)
        self.key = key
        self.path = self.cache_dir / "checkpoints" / f"{key}.npz"
        self.interval_s = interval_s
        self.restored_epoch = 0  # the epoch training resumed from (0: from the start)
        self._last_save = time.monotonic()
        self._failed = False

    def due(self) -> bool:
        return not self._failed and time.monotonic() - self._last_save >= self.interval_s

    def save(self, snapshot: Snapshot) -> None:
        arrays = {f"state/{i:03d}": np.asarray(leaf) for i, leaf in enumerate(jax.tree_util.tree_leaves(snapshot.state))}
        arrays |= {f"history/{name}": value for name, value in snapshot.history.items()}
        for epoch, kept in snapshot.kept.items():
            arrays |= _flatten_networks(kept, prefix=f"kept/{epoch}/")
        manifest = {"key": self.key, "epoch": snapshot.epoch, "kept": sorted(snapshot.kept),
                    "seconds": snapshot.seconds}
        try:
            _write_verified(self.cache_dir, self.path, arrays, manifest)
        except OSError as error:
            self._failed = True
            warnings.warn(
                f"Could not write the training checkpoint {self.path} ({error}); training goes on, but a kill "
                f"now loses it. {FIX_CACHE}", CacheWarning, stacklevel=2,
            )
        self._last_save = time.monotonic()

    def restore(self, like: RunState) -> Snapshot | None:
        """The saved snapshot if intact and shaped like `like` (the fresh state), else None."""
        if not self.path.exists():
            return None
        verified = _read_verified(self.path, self.key)
        if isinstance(verified, str):
            problem = verified
        else:
            manifest, arrays = verified
            leaves, treedef = jax.tree_util.tree_flatten(like)
            state = _group(arrays, "state")
            saved = [state[name] for name in sorted(state)]
            shapes = [(np.shape(a), np.asarray(a).dtype) for a in leaves]
            problem = "" if [(a.shape, a.dtype) for a in saved] == shapes else "for a different training state"
        if problem:
            warnings.warn(f"Training checkpoint {self.path} is {problem}; training from the start.",
                          CacheWarning, stacklevel=2)
            return None
        self.restored_epoch = int(manifest["epoch"])
        kept = {epoch: Kept(**_networks(_group(arrays, f"kept/{epoch}"))) for epoch in manifest.get("kept", [])}
        return Snapshot(self.restored_epoch, jax.tree_util.tree_unflatten(treedef, saved), _group(arrays, "history"),
                        kept, float(manifest.get("seconds", 0.0)))

    def delete(self) -> None:
        with contextlib.suppress(OSError):  # a checkpoint left behind is only disk space: it is keyed
            self.path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- one writer per key


def one_writer(cache_dir: Path, key: str) -> contextlib.AbstractContextManager[None]:
    """Hold the key's lock: a second process asking for the same runs waits, then finds them cached."""
    return exclusive(Path(cache_dir) / "locks" / f"{key}.lock", "training the same runs", FIX_CACHE)
