"""CIFAR-10 arrays -> what one tier trains and tests on: the subset, normalised, on device.

Pure transforms of arrays already verified by data/cifar10.py (which does all the file I/O).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from harness.config import RunConfig
from harness.data.cifar10 import NUM_CLASSES, Cifar10, DatasetError
from harness.training.run_set import Dataset

# Pixels converted to float64 at a time when computing a split's std: bounds the
# temporary to 64 MB instead of a 1.2 GB float64 copy of the whole train split.
_STD_CHUNK_PIXELS = 1 << 23


@dataclass(frozen=True)
class TierData:
    """The tier's view of CIFAR-10: which examples, normalised per the protocol."""

    dataset: Dataset
    train_indices: np.ndarray
    test_indices: np.ndarray
    source_digest: str
    raw_train_images: np.ndarray  # uint8, HWC, for the writeup's figures
    raw_train_labels: np.ndarray
    read_from: str = ""  # which file the data was read from (provenance)


def prepare(cifar: Cifar10, config: RunConfig) -> TierData:
    """The tier's examples (a stratified subset, or every one), normalised as the protocol says, on device."""
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
        dataset, train_idx, test_idx, cifar.digest, cifar.train_images[train_idx], cifar.train_labels[train_idx],
        cifar.read_from,
    )


def stratified_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted int64 indices of ``per_class`` examples of each of the 10 classes.

    The smoke tier trains on such a subset; the same (labels, per_class, seed) always
    gives the same indices so cached runs and reruns see the same data.
    """
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in range(NUM_CLASSES):
        members = np.flatnonzero(labels == cls)
        if members.size < per_class:
            raise DatasetError(
                f"Class {cls} has {members.size} examples, fewer than the {per_class} per class asked for. "
                "Fix: ask for fewer per class (the tier's subset size) or use the full data."
            )
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


class _Scaling(NamedTuple):
    """What the writeup divides a split by: (x - mean) / std, then / max of that."""

    mean: np.float32
    std: np.float32
    max: np.float32


def normalise(train: np.ndarray, test: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """The writeup's preprocessing, as float32.

    ``"own"`` (the writeup): each split is standardised with its own mean and std
    over all pixels and divided by its own maximum, so the test set is scaled by
    statistics of itself. ``"train"`` (the corrected protocol): the test split uses
    the train split's mean, std and maximum.
    """
    if mode not in ("own", "train"):
        raise ValueError(f"mode must be 'own' or 'train', got {mode!r}")
    train_scaling = _scaling_of(train)
    test_scaling = train_scaling if mode == "train" else _scaling_of(test)
    return _apply_scaling(train, train_scaling), _apply_scaling(test, test_scaling)


def _scaling_of(split: np.ndarray) -> _Scaling:
    """Mean and std in float64 (float32 sums over 150 M pixels drift), used in float32 like the writeup."""
    pixels = split.reshape(-1)
    mean = pixels.mean(dtype=np.float64)
    squared_deviations = 0.0
    for start in range(0, pixels.size, _STD_CHUNK_PIXELS):
        deviations = pixels[start : start + _STD_CHUNK_PIXELS].astype(np.float64) - mean
        squared_deviations += float(deviations @ deviations)
    std = np.sqrt(squared_deviations / pixels.size)
    if std == 0:
        raise ValueError("cannot normalise a split whose pixels are all equal (std 0)")
    mean32, std32 = np.float32(mean), np.float32(std)
    # The same float32 operations _apply_scaling performs on every pixel, so the
    # brightest pixel of the split maps to exactly 1.0.
    max32 = (np.float32(pixels.max()) - mean32) / std32
    return _Scaling(mean32, std32, max32)


def _apply_scaling(split: np.ndarray, scaling: _Scaling) -> np.ndarray:
    out = split.astype(np.float32)  # a fresh copy: the in-place steps below never touch the input
    out -= scaling.mean
    out /= scaling.std
    out /= scaling.max
    return out
