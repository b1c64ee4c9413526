"""The runs of a tier or of the multiverse's conditions: from the cache when an intact entry exists, else
trained and cached.

`cached_runs` is the one door through which run sets are obtained from the cache
(harness/evidence/gather.py asks for a tier's through `get_runs`, harness/multiverse/gather.py for
its conditions'), so each configuration trains at most once across sessions, even
when two sessions start together (a lock per cache key). Training survives what it
can: a kill resumes from the last checkpoint, Ctrl-C stops at the next chunk
boundary with a checkpoint, and a cache that cannot be written costs only the
cache (the runs are still returned).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from harness import HARNESS_VERSION
from harness.config import VARIANTS, RunConfig
from harness.training import cache, distributed
from harness.training.compiler import CPU_OPTIONS, CPU_RUN_ONCE_OPTIONS, numeric_path
from harness.training.input_pipeline import TierData
from harness.training.run_set import RunSet
from harness.training.train import TrainingDiverged, train_runs

# The modules whose code computes a run's numbers (beside its configuration and data, which the key holds): the
# training itself, and the loader that lays the verified pixels out as images (harness/data/cifar10.py).
TRAINING_CODE = (*(Path(__file__).with_name(name) for name in (
    "train.py", "models.py", "summaries.py", "input_pipeline.py", "compiler.py")),
    Path(__file__).parents[1] / "data" / "cifar10.py")


def code_digest(files: Sequence[Path]) -> str:
    """SHA-256 over the files' names and bytes, in order."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


# Libraries whose code computes a run's numbers besides jax and jaxlib: flax's layers and initialisers, optax's
# Adam, numpy's subset draws and statistics; on an accelerator its plugin and vendor libraries (by name prefix).
NUMERIC_LIBRARIES = ("flax", "optax", "numpy")
ACCELERATOR_LIBRARIES = ("jax-cuda", "jax-rocm", "libtpu", "nvidia-")
# jax settings that change the numbers of the same program (precision, random bits, dtypes).
NUMERIC_SETTINGS = ("jax_default_matmul_precision", "jax_enable_x64", "jax_threefry_partitionable",
                    "jax_default_prng_impl")


def library_versions() -> dict[str, str]:
    """The installed versions of NUMERIC_LIBRARIES and of every ACCELERATOR_LIBRARIES distribution."""
    versions = {name: importlib.metadata.version(name) for name in NUMERIC_LIBRARIES}
    for distribution in importlib.metadata.distributions():
        name = (distribution.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith(ACCELERATOR_LIBRARIES):
            versions[name] = distribution.version
    return versions


@functools.cache
def run_identity() -> str:
    """What decides a trained run's numbers besides its configuration and data, for the run cache's key: the
    harness version, the training code (`code_digest` of TRAINING_CODE), the jax and jaxlib versions and those of
    the other numeric libraries (`library_versions`), jax's NUMERIC_SETTINGS, the compiler options and the numeric
    path (`compiler.numeric_path`: devices, processor, $XLA_FLAGS). Training is chaotic, so runs of other code,
    another build, other settings or another path are another draw: never reused as this one's. Cached per
    process (XLA reads its flags once per process too)."""
    return json.dumps(build_identity() | {"path": numeric_path()}, sort_keys=True)


def build_identity() -> dict:
    """`run_identity` less the numeric path: what it reads without starting jax's backend (claims/smoke_grid.py,
    whose workers do the training, names its results by it)."""
    return {
        "harness": HARNESS_VERSION, "training_code": code_digest(TRAINING_CODE),
        "jax": jax.__version__, "jaxlib": importlib.metadata.version("jaxlib"), "libraries": library_versions(),
        "settings": {name: str(getattr(jax.config, name)) for name in NUMERIC_SETTINGS},
        "compiler": [CPU_OPTIONS, CPU_RUN_ONCE_OPTIONS],
    }


def run_sharding(num_runs: int) -> NamedSharding | None:
    """Shard the run axis over as many devices as divide it; None on one device.

    Runs are independent, so N devices train N times the runs in about the
    same time; every other array (the data) is replicated.
    """
    devices = jax.local_devices()  # this process's: under harness/training/distributed.py each process trains its own share
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
    """(run set, cache key) of a tier: `cached_runs` of its one entry, trained as one `train_runs`."""
    key = config.key(data.source_digest, run_identity())

    def train(_missing: tuple[int, ...], checkpoints: cache.Checkpoints,
              stop: Callable[[], bool]) -> list[RunSet]:
        """The tier's one run set: every seed of both variants."""
        seeds = config.tier.seeds()
        run_set = train_runs(
            config, data.dataset, seeds, progress=progress, sharding=run_sharding(len(seeds) * len(VARIANTS)),
            checkpoints=checkpoints, stop_requested=stop,
        )
        run_set.meta = {
            "devices": [str(d) for d in jax.devices()],
            "num_train": int(data.dataset.train_x.shape[0]),
            "num_test": int(data.dataset.test_x.shape[0]),
            "peak_device_memory_bytes": peak_device_memory(),
        }
        return [run_set]

    (run_set,) = cached_runs((key,), train, cache_dir=cache_dir, retrain=retrain,
                             checkpoint_interval_s=checkpoint_interval_s, stop_requested=stop_requested)
    return run_set, key


# train(missing, checkpoints, stop) -> the run sets of the keys at the indices `missing` (see `cached_runs`)
Train = Callable[[tuple[int, ...], cache.Checkpoints, Callable[[], bool]], Sequence[RunSet]]


def cached_runs(
    keys: tuple[str, ...],
    train: Train,
    *,
    cache_dir: Path,
    retrain: bool = False,
    checkpoint_interval_s: float = cache.CHECKPOINT_INTERVAL_S,
    stop_requested: Callable[[], bool] | None = None,
    across_processes: bool = False,
) -> list[RunSet | None]:
    """The run set of each cache key: loaded where an intact entry exists (not with `retrain`), the rest trained
    together by one call of `train(missing, checkpoints, stop)` and cached.

    `train` trains the run sets of the keys at the indices `missing`, in that order, as one program: it resumes
    from `checkpoints` (keyed by `checkpoint_key` of those keys) and saves to them, and stops at a chunk boundary
    once `stop()` is true. The rules: one lock per key, held while loading, training and saving; an entry is
    verified on load and written atomically; a write that fails only warns; a diverged training
    (`TrainingDiverged`) caches nothing and drops its checkpoint, which resuming would diverge from again. A
    Ctrl-C during training raises `TrainingInterrupted` at the next chunk boundary; one that comes after the
    last chunk is delivered (as KeyboardInterrupt) once the entries are written, so finished work is kept. A
    caller that handles Ctrl-C itself (the sequential mode stops between batches) passes its own
    `stop_requested` and gets no KeyboardInterrupt after the last chunk: it sees the request when it asks.

    `across_processes` (the multiverse under harness/training/distributed.py): process 0 alone reads and writes the
    cache, and tells the others what to train; they get None for what they did not train. Every process keeps
    a checkpoint of its own share of the seeds (`checkpoint_key`), so that a killed job resumes in every process.
    """
    writer = distributed.is_reporting_process() or not across_processes
    interrupts = deferred_interrupts() if stop_requested is None else contextlib.nullcontext(stop_requested)
    with contextlib.ExitStack() as held:
        for key in sorted(set(keys)) if writer else ():  # one order for every process: no deadlock
            held.enter_context(cache.one_writer(cache_dir, key))
        stop = held.enter_context(interrupts)
        found = [None if retrain or not writer else cache.load(cache_dir, key) for key in keys]  # warns if damaged
        hits = [run_set is not None for run_set in found]
        missing = tuple(i for i, hit in enumerate(distributed.as_reporting_process_says(hits) if across_processes
                                                   else hits) if not hit)
        if missing:
            checkpoints = cache.Checkpoints(cache_dir, checkpoint_key([keys[i] for i in missing], across_processes),
                                            interval_s=checkpoint_interval_s)
            trained = _trained(missing, train, checkpoints, stop, retrain)
            saved = [_saved(cache_dir, keys[i], run_set) for i, run_set in zip(missing, trained, strict=True)
                     if writer]
            if all(saved):  # another process's share is saved by process 0 (if that fails, it retrains)
                checkpoints.delete()
            for i, run_set in zip(missing, trained, strict=True):
                found[i] = run_set
    return found


def program_key(keys: list[str]) -> str:
    """The key of one training of the entries `keys`, in program order (its checkpoint's, in one process): the
    entry's own key when it is one (a tier's), else a digest of them all in that order (which lays out the
    program's arms)."""
    return keys[0] if len(keys) == 1 else hashlib.sha256(" ".join(keys).encode()).hexdigest()


def checkpoint_key(keys: list[str], across_processes: bool = False) -> str:
    """The key of the checkpoint this process keeps while training the entries `keys` (`program_key`); across
    processes, each process's own: its snapshot holds its share of the seeds only."""
    key = program_key(keys)
    if across_processes and jax.process_count() > 1:
        key = hashlib.sha256(f"{key} process {jax.process_index()} of {jax.process_count()}".encode()).hexdigest()
    return key


def _trained(missing: tuple[int, ...], train: Train, checkpoints: cache.Checkpoints,
             stop: Callable[[], bool], retrain: bool) -> list[RunSet]:
    """`train`'s run sets, each with its meta saying how the cache was used and where training resumed."""
    if retrain:  # a checkpoint is as untrusted as the entry: it may come from older code
        checkpoints.delete()
    try:
        trained = list(train(missing, checkpoints, stop))
    except TrainingDiverged:
        checkpoints.delete()  # resuming would diverge again
        raise
    resumed = checkpoints.restored_epoch
    for run_set in trained:
        run_set.meta = {"cache": "retrained" if retrain else "miss", "resumed_from_epoch": resumed, **run_set.meta}
    return trained


def _saved(cache_dir: Path, key: str, run_set: RunSet) -> bool:
    """Write the entry; on failure warn, say so in the run set's meta and return False (the runs are kept)."""
    try:
        cache.save(cache_dir, key, run_set)
    except OSError as error:
        run_set.meta["cache"] += " (not saved)"
        warnings.warn(
            f"Could not write the run cache entry {cache.entry_path(cache_dir, key)} ({error}); the runs are "
            f"kept in memory for this session and will be trained again next time. {cache.FIX_CACHE}",
            cache.CacheWarning, stacklevel=4,
        )
        return False
    return True


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
