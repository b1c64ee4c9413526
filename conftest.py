"""Root conftest: the project's pytest plugins (options, session fixtures, the evidence report)."""

pytest_plugins = ["fixtures.options", "fixtures.evidence", "fixtures.report_plugin"]
