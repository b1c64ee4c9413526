"""Root conftest: the project's pytest plugins (options, session fixtures, the evidence report)."""

from pathlib import Path

import pytest

pytest_plugins = ["fixtures.options", "fixtures.session", "fixtures.report_plugin"]

CLAIMS = Path(__file__).parent / "claims"


@pytest.hookimpl(tryfirst=True)  # before xdist's worker names each item by its group
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `after_claims` (they read what every claim decided) run after all the others.

    Under pytest-xdist (`pytest -n 2`), every claim test also runs in one
    worker, in this order: they share one session's training and evidence, and
    the report is written by the process that decided them. `--dist loadgroup`
    (pyproject.toml) sends a group to one worker and starts the largest group
    first, so the claims train while the other worker runs the harness's own tests.
    """
    items.sort(key=lambda item: item.get_closest_marker("after_claims") is not None)  # stable: order kept
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if CLAIMS in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("claims"))
