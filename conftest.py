"""Root conftest: the project's pytest plugins (options, session fixtures, the evidence report)."""

from pathlib import Path

import pytest

pytest_plugins = ["fixtures.options", "fixtures.session", "fixtures.report_plugin"]

CLAIMS = Path(__file__).parent / "claims"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `after_claims` (they read what every claim decided) run after all the others."""
    items.sort(key=lambda item: item.get_closest_marker("after_claims") is not None)  # stable: order kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under pytest-xdist (`pytest -n 2`), every claim test runs in one worker, in collection order.

    They share one session's training and evidence, and the report is written
    by the process that decided them. Every other test is a unit of its own;
    xdist's scope scheduling starts the largest unit first, so the claims train
    while the other worker runs the harness's own tests.
    """
    from xdist.scheduler import LoadScopeScheduling

    class ClaimsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return CLAIMS.name if nodeid.startswith(f"{CLAIMS.name}/") else nodeid

    return ClaimsTogether(config, log)
