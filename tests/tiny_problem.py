"""A tiny CIFAR-shaped problem for the harness's own tests (random data, small widths)."""

import jax.numpy as jnp
import numpy as np

from harness.config import WRITEUP, RunConfig, Tier
from harness.data.cifar10 import NUM_CLASSES, PIXELS_PER_IMAGE
from harness.training.input_pipeline import TierData
from harness.training.run_set import Dataset

# 100 training examples: three full batches of 32 and the short last batch (4),
# like the notebook's 1,562 x 32 + 16. 100 of each split: tests/test_until_decided.py
# trains CIFAR-10 at these sizes (ten images per class), so its programs and these
# have the same shapes and the session's persistent compilation cache compiles them once.
NUM_TRAIN, NUM_TEST = 100, 100
TINY_WIDTHS = (16, 8, 8, 8)


def tiny_dataset() -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset(
        train_x=jnp.asarray(rng.normal(size=(NUM_TRAIN, PIXELS_PER_IMAGE)).astype(np.float32)),
        train_y=jnp.asarray(rng.integers(0, 10, NUM_TRAIN).astype(np.int32)),
        test_x=jnp.asarray(rng.normal(size=(NUM_TEST, PIXELS_PER_IMAGE)).astype(np.float32)),
        test_y=jnp.asarray(rng.integers(0, 10, NUM_TEST).astype(np.int32)),
    )


def tiny_config(epochs: int = 2, seeds: int = 2, protocol=WRITEUP) -> RunConfig:
    return RunConfig(protocol=protocol, tier=Tier("tiny", epochs=epochs, num_seeds=seeds), widths=TINY_WIDTHS)


def tiny_cifar_config(name: str) -> RunConfig:
    """Real CIFAR-10 at the tiny problem's sizes (ten images per class) and widths, three seeds, two epochs: the
    configuration of tests/test_until_decided.py's batches and tests/test_mutants.py's seed sets, so that one
    compilation of each program (and of the probes that tests/test_probes.py runs on three seeds) serves all."""
    tier = Tier(name, epochs=2, num_seeds=3, train_per_class=NUM_TRAIN // NUM_CLASSES,
                test_per_class=NUM_TEST // NUM_CLASSES)
    return RunConfig(protocol=WRITEUP, tier=tier, widths=TINY_WIDTHS)


def tiny_tier_data(dataset: Dataset) -> TierData:
    """`dataset` as a tier's data, as the cache keys it (a synthetic source digest)."""
    return TierData(
        dataset=dataset,
        train_indices=np.arange(NUM_TRAIN),
        test_indices=np.arange(NUM_TEST),
        source_digest="synthetic",
        raw_train_images=np.zeros((NUM_TRAIN, PIXELS_PER_IMAGE), np.uint8),
        raw_train_labels=np.zeros(NUM_TRAIN, np.int32),
    )
