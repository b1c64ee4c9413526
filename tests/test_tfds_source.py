"""harness/data/tfds_source.py on a small TFDS cifar10 that the test prepares itself, offline and without TensorFlow."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest_plugins = ["pytester"]

from fixtures.fake_cifar import (
    TEST_BATCH,
    TRAIN_BATCHES,
    make_fake_cifar10,
    write_fake_folder,
)
from harness.data import cifar10 as data
from harness.data.tfds_source import load_tfds_cifar10

tfds = pytest.importorskip("tensorflow_datasets", reason="the tfds extra is not installed: pip install -e '.[tfds]'")
Image = pytest.importorskip("PIL.Image")
from tensorflow_datasets.image_classification.cifar import Cifar10 as TfdsCifar10

IMAGES_PER_BATCH = 4


def prepare_tfds_copy(data_dir, fake) -> None:
    """What `tfds build cifar10 --file_format=array_record` writes, from the fake's batches instead of the
    download: TFDS's own cifar10 builder (features, ids, shuffling), only its source swapped."""

    def examples(prefix, names):
        rows = np.concatenate([fake.data[name] for name in names])
        labels = np.concatenate([fake.labels[name] for name in names])
        for index, (row, label) in enumerate(zip(rows, labels)):
            image = Image.fromarray(row.reshape(3, 32, 32).transpose(1, 2, 0))  # PIL: no TensorFlow to encode
            yield index, {"id": f"{prefix}_{index:05d}", "image": image, "label": int(label)}

    class FromFake(TfdsCifar10, skip_registration=True):
        name = "cifar10"

        def _split_generators(self, dl_manager):
            return {"train": examples("train", TRAIN_BATCHES), "test": examples("test", (TEST_BATCH,))}

    FromFake(data_dir=str(data_dir), file_format="array_record").download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False)
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    fake = make_fake_cifar10(images_per_batch=IMAGES_PER_BATCH, seed=3)
    root = tmp_path_factory.mktemp("tfds")
    prepare_tfds_copy(root / "tfds", fake)
    write_fake_folder(root / "official", fake)
    return fake, root


def test_the_tfds_copy_reads_as_the_official_files_do(prepared):
    fake, root = prepared
    stored = tfds.data_source("cifar10", data_dir=str(root / "tfds"))["train"]
    stored_ids = [example["id"] for example in stored.__getitems__(range(len(stored)))]
    assert stored_ids != sorted(stored_ids)  # TFDS shuffled them: the official order has to be restored
    from_tfds = load_tfds_cifar10(root / "tfds", expected_digests=fake.digests)
    official = data.load_cifar10(root / "official", expected_digests=None)
    assert from_tfds.digest == official.digest
    for field in ("train_images", "train_labels", "test_images", "test_labels"):
        np.testing.assert_array_equal(getattr(from_tfds, field), getattr(official, field))
    assert "tensorflow-datasets cifar10 3.0.2 (array_record)" in from_tfds.read_from


def test_other_pixels_than_the_official_ones_are_refused(prepared):
    fake, root = prepared
    wrong = dict(fake.digests, data_batch_3="0" * 64)
    with pytest.raises(data.DatasetError, match="data_batch_3 .* has content digest .* Fix: point --tfds-data-dir"):
        load_tfds_cifar10(root / "tfds", expected_digests=wrong)


def test_no_prepared_copy_says_where_it_looked_and_how_to_fix_it(tmp_path):
    with pytest.raises(data.DatasetError, match=f"No prepared TFDS cifar10 found at {tmp_path}.*Fix: point --tfds"):
        load_tfds_cifar10(tmp_path)


def test_a_tfrecord_copy_is_refused_with_the_command_that_prepares_an_array_record_one(prepared, tmp_path):
    _, root = prepared
    copy = tmp_path / "cifar10" / "3.0.2"
    copy.mkdir(parents=True)
    for file in (root / "tfds" / "cifar10" / "3.0.2").iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    info = json.loads((copy / "dataset_info.json").read_text())
    info["fileFormat"] = "tfrecord"
    (copy / "dataset_info.json").write_text(json.dumps(info))
    with pytest.raises(data.DatasetError, match="stored as tfrecord, which only TensorFlow reads.*--file_format=array"):
        load_tfds_cifar10(tmp_path)


@pytest.mark.parametrize("given_by", ["option", "environment"])
def test_the_claims_run_reads_it_with_source_tfds(prepared, pytester, monkeypatch, given_by):
    """--source=tfds with --tfds-data-dir=DIR (else $TFDS_DATA_DIR) reaches this loader: the fake's pixels
    fail the official digests."""
    _, root = prepared
    pytester.makeconftest('pytest_plugins = ["fixtures.options", "fixtures.session"]')
    pytester.makepyfile(test_reads_tfds="def test_reads_tfds(cifar10):\n    pass\n")
    where = [f"--tfds-data-dir={root / 'tfds'}"] if given_by == "option" else []
    if given_by == "environment":
        monkeypatch.setenv("TFDS_DATA_DIR", str(root / "tfds"))
    result = pytester.runpytest("-p", "no:cacheprovider", f"--cache-dir={pytester.path / 'cache'}", "--source=tfds",
                                *where)
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        "*data_batch_1 read from tensorflow-datasets cifar10 3.0.2 (array_record)*Fix: point --tfds-data-dir*"
    ])
