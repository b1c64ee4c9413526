"""Root conftest: the project's pytest plugins (options, session fixtures, the evidence report)."""

import pytest

pytest_plugins = ["fixtures.options", "fixtures.session", "fixtures.report_plugin"]


# Run only when the -m expression names them: the full tier needs a GPU, the multiverse trains every
# condition. So `-m multiverse` is the smoke multiverse alone, `-m full` the full tier's claims alone,
# and `-m "full and multiverse"` the full multiverse.
OPT_IN_MARKERS = ("full", "multiverse")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `after_claims` (they read what every claim decided) run after all the others; tests
    marked with an OPT_IN_MARKERS marker the -m expression does not name are deselected."""
    # A plugin of this conftest's, imported once pytest has it (so that pytest rewrites its asserts).
    from fixtures.options import names_marker

    expression = config.getoption("markexpr") or ""
    unnamed = [m for m in OPT_IN_MARKERS if not names_marker(expression, m)]
    deselected = [item for item in items if any(item.get_closest_marker(m) for m in unnamed)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]
    items.sort(key=lambda item: item.get_closest_marker("after_claims") is not None)  # stable: order kept
