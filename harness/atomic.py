"""Atomic file writes: readers see the old file or the new one, never half of one.

Temporary files go to a caller-chosen folder (the cache keeps them in its
`tmp/` folder, see `temp_folder`), so a process killed mid-write leaves its
debris in one known place, which `sweep` clears at the next start-up.
`exclusive` makes one process at a time do a costly write that others wait for.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import filelock

# Temp files younger than this may belong to a write still in progress in another process.
STALE_AFTER_S = 3600.0
TEMP_FOLDER = "tmp"


def temp_folder(cache_dir: Path) -> Path:
    """Where writes into `cache_dir` stage their temp files (same file system, so `os.replace` is atomic)."""
    return Path(cache_dir) / TEMP_FOLDER


def write_atomically(destination: Path, write: Callable[[BinaryIO], None], *, temp_dir: Path | None = None) -> Path:
    """Call `write` on a temp file, fsync it, then `os.replace` it into place.

    A failed or interrupted write removes the temp file and leaves any old
    file untouched. The result is world-readable (mkstemp makes 0600 files).
    `temp_dir` must be on the destination's file system; default: its folder.
    """
    write_all_atomically([(Path(destination), write)], temp_dir=temp_dir)
    return Path(destination)


def write_all_atomically(
    writes: Sequence[tuple[Path, Callable[[BinaryIO], None]]], *, temp_dir: Path | None = None
) -> None:
    """Write every file to a temp file first; move them into place, in order, only when all were written.

    So a failure while writing any of them (disk full, a folder that cannot
    be written) leaves every old file as it was: the report never shows a
    new JSON beside an old HTML page.
    """
    folders = [str(destination) for destination, _ in writes if Path(destination).is_dir()]
    if folders:  # refused before anything is written: os.replace would fail only after the work
        raise IsADirectoryError(f"cannot write {', '.join(folders)}: a folder is in the way. Fix: name a file")
    staged: list[tuple[str, Path]] = []
    try:
        for destination, write in writes:
            destination.parent.mkdir(parents=True, exist_ok=True)
            folder = temp_dir if temp_dir is not None else destination.parent
            folder.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{destination.name}.", suffix=".tmp")
            staged.append((temp_name, destination))
            with os.fdopen(handle, "wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp_name, 0o644)
        for temp_name, destination in staged:
            os.replace(temp_name, destination)
        for folder in {destination.parent for _, destination in staged}:
            sync_folder(folder)
    finally:
        for temp_name, _ in staged:  # only what was not moved into place is still there
            Path(temp_name).unlink(missing_ok=True)


def sync_folder(folder: Path) -> None:
    """Make the renames into `folder` durable: after a power loss a rename not yet on disk is undone (the old
    file back, nothing half-written). Where folders cannot be opened to sync (Windows), nothing is done."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse to sync a folder; the rename stands, only its durability is the OS's
    finally:
        os.close(descriptor)


def sweep(folder: Path, *, older_than_s: float = STALE_AFTER_S, pattern: str = "*") -> list[Path]:
    """Delete the files in `folder` matching `pattern` not modified for `older_than_s`; return them.

    What a killed process left behind (a decoded-data temp file is 184 MB).
    Younger files are left alone: they may be a write in progress elsewhere.
    """
    removed = []
    cutoff = time.time() - older_than_s
    for path in Path(folder).glob(pattern):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:  # gone meanwhile, or not ours to delete: not worth failing a session for
            continue
    return removed


@contextlib.contextmanager
def exclusive(lock_path: Path, doing: str, fix: str) -> Iterator[None]:
    """Hold an OS file lock at `lock_path`; say so when waiting for the process that holds it.

    The lock dies with its process, so a killed run never blocks the next one.
    Where no lock file can be made (a read-only folder), go on unlocked with a
    warning: the worst case is work done twice, never work lost.
    """
    lock: filelock.FileLock | None = filelock.FileLock(lock_path)
    try:
        Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            print(f"Waiting for another process that is {doing} (lock {lock_path})...", file=sys.stderr, flush=True)
            lock.acquire()
    except OSError as error:
        warnings.warn(f"Cannot lock {lock_path} ({error}); another process may be {doing} too. {fix}", stacklevel=3)
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()
