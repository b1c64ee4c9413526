"""Root conftest: the project's pytest plugins (options, session fixtures, the evidence report)."""

import pytest

pytest_plugins = ["fixtures.options", "fixtures.session", "fixtures.report_plugin"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `after_claims` (they read what every claim decided) run after all the others."""
    items.sort(key=lambda item: item.get_closest_marker("after_claims") is not None)  # stable: order kept
