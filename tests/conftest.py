"""Shared fixtures of the harness's own tests."""

import json
from pathlib import Path

import pytest

from harness import report
from harness.train import Dataset
from tiny_problem import tiny_dataset


@pytest.fixture(scope="session")
def tiny_data() -> Dataset:
    return tiny_dataset()


@pytest.fixture(autouse=True)
def every_written_report_follows_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every evidence.json a test writes (directly or through an inner pytest session in this process) is
    validated against reports/evidence.schema.json: a violation fails the test that wrote it."""
    write = report.write_report

    def write_and_validate(evidence, figures, html_path, json_path) -> None:
        write(evidence, figures, html_path, json_path)
        violations = report.schema_violations(json.loads(Path(json_path).read_text(encoding="utf-8")))
        assert not violations, f"{json_path} breaks reports/evidence.schema.json:\n" + "\n".join(violations)

    monkeypatch.setattr(report, "write_report", write_and_validate)
