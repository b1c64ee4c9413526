"""The runs of a tier: from the cache when an intact entry exists, else trained and cached.

This is the one door through which claims obtain runs (via the session-scoped
`runs` fixture), so each tier trains at most once per session and at most
once per configuration across sessions, even when two sessions start
together (a lock per cache key). Training survives what it can: a kill
resumes from the last checkpoint, Ctrl-C stops at the next chunk boundary
with a checkpoint, and a cache that cannot be written costs only the cache
(the runs are still returned).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from harness import HARNESS_VERSION, cache
from harness.config import VARIANTS, RunConfig
from harness.input_pipeline import TierData
from harness.run_set import RunSet
from harness.train import TrainingDiverged, train_runs


def run_sharding(num_runs: int) -> NamedSharding | None:
    """Shard the run axis over as many devices as divide it; None on one device.

    Runs are independent, so N devices train N times the runs in about the
    same time; every other array (the data) is replicated.
    """
    devices = jax.local_devices()  # this process's: under harness/distributed.py each process trains its own share
    usable = max(d for d in range(1, len(devices) + 1) if num_runs % d == 0)
    if usable == 1:
        return None
    mesh = Mesh(np.array(devices[:usable]), ("runs",))
    return NamedSharding(mesh, PartitionSpec("runs"))


def get_runs(
    config: RunConfig,
    data: TierData,
    *,
    cache_dir: Path,
    retrain: bool = False,
    progress: Callable[[int], None] | None = None,
    checkpoint_interval_s: float = cache.CHECKPOINT_INTERVAL_S,
    stop_requested: Callable[[], bool] | None = None,
) -> tuple[RunSet, str]:
    """(run set, cache key). Trains when there is no trustworthy entry or `retrain` is set.

    A diverged training raises `TrainingDiverged` and caches nothing. A
    Ctrl-C during training raises `TrainingInterrupted` at the next chunk
    boundary; one that comes after the last chunk is delivered (as
    KeyboardInterrupt) once the entry is written, so finished work is kept.
    A caller that handles Ctrl-C itself (the sequential mode stops between
    batches) passes its own `stop_requested` and gets no KeyboardInterrupt
    after the last chunk: it sees the request when it asks.
    """
    key = config.key(data.source_digest, HARNESS_VERSION)
    interrupts = deferred_interrupts() if stop_requested is None else contextlib.nullcontext(stop_requested)
    with cache.one_writer(cache_dir, key), interrupts as stop:
        cached = None if retrain else cache.load(cache_dir, key)  # warns when an entry is damaged
        if cached is not None:
            return cached, key
        checkpoints = cache.Checkpoints(cache_dir, key, interval_s=checkpoint_interval_s)
        if retrain:  # a checkpoint is as untrusted as the entry: it may come from older code
            checkpoints.delete()
        seeds = config.tier.seeds()
        try:
            run_set = train_runs(
                config, data.dataset, seeds, progress=progress, sharding=run_sharding(len(seeds) * len(VARIANTS)),
                checkpoints=checkpoints, stop_requested=stop,
            )
        except TrainingDiverged:
            checkpoints.delete()  # resuming would diverge again
            raise
        run_set.meta = {
            "cache": "retrained" if retrain else "miss",
            "resumed_from_epoch": checkpoints.restored_epoch,
            "devices": [str(d) for d in jax.devices()],
            "num_train": int(data.dataset.train_x.shape[0]),
            "num_test": int(data.dataset.test_x.shape[0]),
            "peak_device_memory_bytes": peak_device_memory(),
        }
        try:
            cache.save(cache_dir, key, run_set)
        except OSError as error:
            run_set.meta["cache"] += " (not saved)"
            warnings.warn(
                f"Could not write the run cache entry {cache.entry_path(cache_dir, key)} ({error}); the runs are "
                f"kept in memory for this session and will be trained again next time. {cache.FIX_CACHE}",
                cache.CacheWarning, stacklevel=2,
            )
        else:
            checkpoints.delete()
    return run_set, key


@contextlib.contextmanager
def deferred_interrupts(deliver: bool = True) -> Iterator[Callable[[], bool]]:
    """Turn the first Ctrl-C into a request that training honours at its next chunk boundary.

    A KeyboardInterrupt raised at an arbitrary point (inside jax's lowering
    or compilation, between an array's transfer and its use) can leave the
    process in a state that crashes at exit; a request checked at a chunk
    boundary stops cleanly, with a checkpoint. A second Ctrl-C stops at once.
    A request that training did not consume is delivered on leaving. Outside
    the main thread (where signals cannot be caught) nothing is deferred.
    """
    requested = threading.Event()

    def on_interrupt(signum: int, frame: object) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()
        print("\nCtrl-C: stopping at the end of this chunk of epochs, with a checkpoint "
              "(press Ctrl-C again to stop at once).", file=sys.stderr, flush=True)

    if threading.current_thread() is not threading.main_thread():
        yield requested.is_set
        return
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield requested.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
    if deliver and requested.is_set():
        raise KeyboardInterrupt


def peak_device_memory() -> int | None:
    """Largest peak bytes in use over the devices, where the backend reports it (GPUs do, CPUs do not)."""
    peaks = [(d.memory_stats() or {}).get("peak_bytes_in_use") for d in jax.devices()]
    return max((p for p in peaks if p is not None), default=None)
