"""The runs of a tier: from the cache when an intact entry exists, else trained and cached.

This is the one door through which claims obtain runs (via the session-scoped
`runs` fixture), so each tier trains at most once per session and at most
once per configuration across sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from harness import HARNESS_VERSION, cache
from harness.config import VARIANTS, RunConfig
from harness.data import Cifar10, normalise, stratified_subset
from harness.train import Dataset, RunSet, train_runs


@dataclass(frozen=True)
class TierData:
    """The tier's view of CIFAR-10: which examples, normalised per the protocol."""

    dataset: Dataset
    train_indices: np.ndarray
    test_indices: np.ndarray
    source_digest: str
    raw_train_images: np.ndarray  # uint8, HWC, for the writeup's figures
    raw_train_labels: np.ndarray


def prepare(cifar: Cifar10, config: RunConfig) -> TierData:
    tier = config.tier
    train_idx = (
        np.arange(len(cifar.train_labels))
        if tier.train_per_class is None
        else stratified_subset(cifar.train_labels, tier.train_per_class, tier.subset_seed)
    )
    test_idx = (
        np.arange(len(cifar.test_labels))
        if tier.test_per_class is None
        else stratified_subset(cifar.test_labels, tier.test_per_class, tier.subset_seed)
    )
    train_x, test_x = normalise(
        cifar.train_images[train_idx], cifar.test_images[test_idx], config.protocol.test_normalisation
    )
    dataset = Dataset(
        train_x=jnp.asarray(train_x),
        train_y=jnp.asarray(cifar.train_labels[train_idx], jnp.int32),
        test_x=jnp.asarray(test_x),
        test_y=jnp.asarray(cifar.test_labels[test_idx], jnp.int32),
    )
    return TierData(
        dataset, train_idx, test_idx, cifar.digest, cifar.train_images[train_idx], cifar.train_labels[train_idx]
    )


def run_sharding(num_runs: int) -> NamedSharding | None:
    """Shard the run axis over as many devices as divide it; None on one device.

    Runs are independent, so N devices train N times the runs in about the
    same time; every other array (the data) is replicated.
    """
    devices = jax.devices()
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
) -> tuple[RunSet, str]:
    """(run set, cache key). Trains when there is no trustworthy entry or `retrain` is set."""
    key = config.key(data.source_digest, HARNESS_VERSION)
    cached = None if retrain else cache.load(cache_dir, key)  # warns when an entry is damaged
    if cached is not None:
        return cached, key
    seeds = config.tier.seeds()
    run_set = train_runs(
        config, data.dataset, seeds, progress=progress, sharding=run_sharding(len(seeds) * len(VARIANTS))
    )
    run_set.meta = {
        "cache": "retrained" if retrain else "miss",
        "devices": [str(d) for d in jax.devices()],
        "num_train": int(data.dataset.train_x.shape[0]),
        "num_test": int(data.dataset.test_x.shape[0]),
        "peak_device_memory_bytes": peak_device_memory(),
    }
    cache.save(cache_dir, key, run_set)
    return run_set, key


def peak_device_memory() -> int | None:
    """Largest peak bytes in use over the devices, where the backend reports it (GPUs do, CPUs do not)."""
    peaks = [(d.memory_stats() or {}).get("peak_bytes_in_use") for d in jax.devices()]
    return max((p for p in peaks if p is not None), default=None)
