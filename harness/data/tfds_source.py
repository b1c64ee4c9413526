"""CIFAR-10 from a prepared tensorflow-datasets (TFDS) copy, read without TensorFlow.

The writeup loads CIFAR-10 with ``tfds.load('cifar10')``, so people who follow it
have TFDS's prepared copy (``<data dir>/cifar10/<version>/``) rather than the
official archive. This reads such a copy through ``tfds.data_source``: random
access to ``array_record`` files, images decoded by Pillow, no TensorFlow. A copy
prepared in TFDS's default ``tfrecord`` format needs TensorFlow to read and is
refused with the command that prepares an array_record copy instead.

TFDS stores the examples shuffled. Its cifar10 builder names each example by its
position in the official batches (``train_00042``, ``test_00007``), so the
examples are put back in the official order by that id and split into the five
train batches and the test batch; the pixels and labels are then verified
against the official content digests (harness/data/cifar10.py) exactly as the archive
is. The result is the same `Cifar10`, with the same dataset digest, so runs
cached from either source are shared.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import numpy as np

from harness.data import cifar10 as data

DATA_DIR_ENV_VAR = "TFDS_DATA_DIR"
DATASET = "cifar10"
SPLITS = {"train": data.TRAIN_BATCHES, "test": (data.TEST_BATCH,)}
ARRAY_RECORD = "array_record"
_ID = re.compile(r"(train|test)_(\d+)")
_FIX = (
    f"Fix: point --tfds-data-dir=DIR or ${DATA_DIR_ENV_VAR}=DIR at the folder that holds {DATASET}/<version>/ "
    f"prepared in the {ARRAY_RECORD} format (`tfds build {DATASET} --file_format={ARRAY_RECORD}` prepares one), "
    "or read the official archive instead (--cifar10=PATH)."
)


def load_tfds_cifar10(
    data_dir: str | os.PathLike[str] | None = None,
    expected_digests: Mapping[str, str] | None = data.CONTENT_DIGESTS,
) -> data.Cifar10:
    """CIFAR-10 from the prepared TFDS copy in `data_dir` (None: TFDS's own default folder), in the official
    order and verified against `expected_digests` (None: not verified, for generated data).

    fixtures/options.py resolves `data_dir` from --tfds-data-dir or $TFDS_DATA_DIR; this reads no environment.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise data.DatasetError(
            f"Reading CIFAR-10 through tensorflow-datasets needs the package ({error}). "
            "Fix: pip install -e '.[tfds]', or read the official archive instead (--cifar10=PATH)."
        ) from error
    builder = tfds.builder(DATASET, data_dir=None if data_dir is None else os.fspath(data_dir))
    where = f"{builder.data_dir}"
    if not builder.is_prepared():
        raise data.DatasetError(f"No prepared TFDS {DATASET} found at {where}. {_FIX}")
    file_format = str(builder.info.file_format.value if builder.info.file_format else "tfrecord")
    if file_format != ARRAY_RECORD:
        raise data.DatasetError(
            f"The TFDS {DATASET} at {where} is stored as {file_format}, which only TensorFlow reads. {_FIX}"
        )
    sources = builder.as_data_source()
    batches = {}
    for split, names in SPLITS.items():
        images, labels = _official_order(sources[split], split, where)
        # TFDS gives (n, 32, 32, 3); the digests are defined on the pickles' rows of 1024 R, 1024 G, 1024 B.
        rows = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), data.PIXELS_PER_IMAGE)
        for name, batch_rows, batch_labels in zip(names, np.array_split(rows, len(names)),
                                                  np.array_split(labels, len(names))):
            batches[name] = (batch_rows, batch_labels)
    read_from = f"tensorflow-datasets {DATASET} {builder.info.version} ({ARRAY_RECORD}) at {where}"
    try:
        return data.verified_batches(batches, f"{read_from}, put in the official order by id", expected_digests)
    except data.DatasetError as error:  # the same checks as the archive's, but the fix is this source's
        problem = str(error).split(" Fix: ")[0]
    raise data.DatasetError(f"{problem} {_FIX}")


def _official_order(source, split: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images (n, 32, 32, 3), labels (n,)) of one split, in the official order its example ids give."""
    examples = source.__getitems__(range(len(source)))
    positions = []
    for example in examples:
        raw = example["id"]
        match = _ID.fullmatch(raw.decode() if isinstance(raw, bytes) else str(raw))
        if match is None or match.group(1) != split:
            raise data.DatasetError(
                f"The TFDS {DATASET} {split} split at {where} has an example id {raw!r}, not '{split}_<position>': "
                f"it was not prepared by TFDS's {DATASET} builder. {_FIX}"
            )
        positions.append(int(match.group(2)))
    if not positions or sorted(positions) != list(range(len(positions))):
        raise data.DatasetError(
            f"The TFDS {DATASET} {split} split at {where} does not hold each position 0..{len(positions) - 1} once: "
            f"it is empty, incomplete or damaged. {_FIX}"
        )
    order = np.argsort(positions)
    images = np.stack([np.asarray(examples[i]["image"], dtype=np.uint8) for i in order])
    labels = np.asarray([examples[i]["label"] for i in order], dtype=np.int64)
    return images, labels
