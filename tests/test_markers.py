"""The opt-in markers (the root conftest.py's OPT_IN_MARKERS): a test marked `full` or `multiverse` runs only when
the -m expression asks for that marker (fixtures/options.py's `names_marker`)."""

import pytest

from fixtures.options import names_marker


@pytest.mark.parametrize(("expression", "full", "multiverse"), [
    ("", False, False),
    ("full", True, False),
    ("full and multiverse", True, True),
    ("multiverse or not full", False, True),
    ("not full", False, False),
    ("(full) and not multiverse", True, False),
    ("fullish", False, False),
    ("multiverse or not (full)", False, True),
    ("not (multiverse or (full))", False, False),
    ("not not full", True, False),
    ("(not full) or multiverse", False, True),
])
def test_a_marker_is_asked_for_only_when_named_and_not_negated(expression, full, multiverse):
    assert (names_marker(expression, "full"), names_marker(expression, "multiverse")) == (full, multiverse)
