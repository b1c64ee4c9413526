"""The reports, opened in a real headless Chromium (Debian's `chromium`), as a reader gets them.

Skipped, with the reason, where no Chromium executable or no `playwright`
package is found. The real claims run calls the same
`harness.reporting.browser.check_report_in_browser` on the real (smoke) report
(claims/test_report_in_browser.py); here: the synthetic report, a page built
from the committed full-tier reference JSON (83 hypotheses), the full
multiverse's page, and a broken page that the layout check must catch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_report import synthetic_evidence, write_synthetic_report

from fixtures.options import CHROMIUM, NEEDS_BROWSER
from harness import REPOSITORY
from harness.reporting import report
from harness.reporting.browser import (
    FIRST_SCREEN,
    NARROW_WIDTH,
    check_report_in_browser,
    open_chromium,
)

pytestmark = NEEDS_BROWSER

REFERENCE = REPOSITORY / "reports" / "reference"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser for the module's pages: starting it costs more than checking a page."""
    with open_chromium(CHROMIUM) as browser:
        yield browser


def screenshot_path(directory: Path) -> Path:
    """Where the check saves its screenshot (the real run passes a path under reports/)."""
    return directory / "evidence-synthetic.png"


def test_report_renders_in_headless_chromium(tmp_path: Path, chromium: Any) -> None:
    evidence, html_path, _ = write_synthetic_report(tmp_path)
    seen = check_report_in_browser(html_path, screenshot_path(tmp_path), CHROMIUM, browser=chromium)
    assert seen["problems"] == []
    assert seen["claim_sections"] == [f"claim-{claim['id']}" for claim in evidence["claims"]]
    assert list(seen["layout"]["first_screen"]) == [claim["id"] for claim in evidence["claims"]]
    assert seen["images"] > 0  # every one of them loaded: no "images not loaded" problem above
    assert seen["title"] == evidence["title"]
    assert screenshot_path(tmp_path).stat().st_size > 0


def test_the_full_tiers_page_shows_every_verdict_on_the_first_screen(tmp_path: Path, chromium: Any) -> None:
    """The page of the committed full-tier reference (its 83 hypotheses), rebuilt from its JSON."""
    facts = json.loads((REFERENCE / "evidence-writeup.json").read_text())
    html = tmp_path / "evidence-writeup.html"
    html.write_text(report.evidence_page(facts, {}, html, figures_left_out="not embedded in the JSON"))
    seen = check_report_in_browser(html, tmp_path / "evidence-writeup.png", CHROMIUM, browser=chromium)
    assert seen["problems"] == []
    assert list(seen["layout"]["first_screen"]) == [claim["id"] for claim in facts["claims"]]
    assert seen["layout"]["page_height"] < seen["layout"]["page_height_unfolded"]


def test_the_full_multiverses_page_shows_its_sentences_first(tmp_path: Path, chromium: Any) -> None:
    facts = json.loads((REFERENCE / "multiverse-full.json").read_text())
    html = tmp_path / "multiverse-full.html"
    html.write_text(report.multiverse_page(facts, {}))
    seen = check_report_in_browser(html, tmp_path / "multiverse-full.png", CHROMIUM, browser=chromium)
    assert seen["problems"] == []
    assert list(seen["layout"]["first_screen"]) == list(facts["matrix"]["sentences"])


def test_the_layout_check_fails_a_page_too_wide_or_too_long(tmp_path: Path, chromium: Any) -> None:
    """The check can fail: a table wider than the window, and a header that pushes the board down."""
    html_path = tmp_path / "evidence.html"
    report.write_report(synthetic_evidence(), {}, html_path, tmp_path / "evidence.json")
    text = html_path.read_text()
    wide = f'<table id="too-wide" style="min-width: {FIRST_SCREEN["width"] + 200}px"><tr><td>wide</td></tr></table>'
    tall = f'<div style="height: {FIRST_SCREEN["height"]}px"></div>'
    html_path.write_text(text.replace('<div id="verdicts">', tall + wide + '<div id="verdicts">', 1))
    seen = check_report_in_browser(html_path, screenshot_path(tmp_path), CHROMIUM, browser=chromium)
    assert not any(seen["layout"]["first_screen"].values())
    assert seen["layout"]["wide_tables"][f"{NARROW_WIDTH} folded"] == ["too-wide (1600 px wide)"]
    problems = "\n".join(seen["problems"])
    assert "not inside the first 1400x900 screen" in problems
    assert f"horizontal scrolling at {NARROW_WIDTH} unfolded" in problems and "tables wider than the window" in problems
