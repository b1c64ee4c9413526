"""Shared fixtures of the harness's own tests, and one compilation cache for all of them."""

import json
import os
import shutil
import tempfile
from pathlib import Path

import jax
import pytest
from tiny_problem import tiny_dataset

from harness.reporting import report
from harness.training.run_set import Dataset

# Most of these tests' time is XLA compiling the same few tiny programs: in this process, in the trainer
# processes the fault tests kill and resume, and in the fresh interpreters of the sharding and numeric-path
# tests. One persistent compilation cache for the session (shared through the environment with every
# subprocess and pytest-xdist worker started after this) compiles each program once. A program loaded from
# it is the one compiled, so the numbers are the same; jax keys it by the XLA flags too, so the
# numeric-path test's other instruction set still compiles its own.
COMPILATION_CACHE_VARIABLE = "JAX_COMPILATION_CACHE_DIR"
_OWN_COMPILATION_CACHE = COMPILATION_CACHE_VARIABLE not in os.environ  # else a parent process made it
if _OWN_COMPILATION_CACHE:
    os.environ[COMPILATION_CACHE_VARIABLE] = tempfile.mkdtemp(prefix="dropout-claims-tests-xla-")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
jax.config.update("jax_compilation_cache_dir", os.environ[COMPILATION_CACHE_VARIABLE])
jax.config.update("jax_persistent_cache_min_compile_time_secs", float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))


def pytest_unconfigure(config: pytest.Config) -> None:
    """The session's compilation cache goes with the process that made it."""
    if _OWN_COMPILATION_CACHE:
        shutil.rmtree(os.environ.pop(COMPILATION_CACHE_VARIABLE), ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_data() -> Dataset:
    return tiny_dataset()


@pytest.fixture(autouse=True)
def every_written_report_follows_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every evidence.json a test writes (directly or through an inner pytest session in this process) is
    validated against reports/evidence.schema.json: a violation fails the test that wrote it."""
    write = report.write_report

    def write_and_validate(content, figures, html_path, json_path) -> None:
        write(content, figures, html_path, json_path)
        violations = report.schema_violations(json.loads(Path(json_path).read_text(encoding="utf-8")))
        assert not violations, f"{json_path} breaks reports/evidence.schema.json:\n" + "\n".join(violations)

    monkeypatch.setattr(report, "write_report", write_and_validate)
