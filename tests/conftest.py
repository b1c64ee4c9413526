"""Shared fixtures of the harness's own tests."""

import pytest

from harness.train import Dataset
from tiny_problem import tiny_dataset


@pytest.fixture(scope="session")
def tiny_data() -> Dataset:
    return tiny_dataset()
