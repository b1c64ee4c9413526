"""The synthetic report, opened in a real headless Chromium (Debian's `chromium`).

Skipped, with the reason, where no Chromium executable or no `playwright`
package is found. The real claims run calls the same
`harness.browser.check_report_in_browser` on the real report.
"""

from __future__ import annotations

from pathlib import Path

from test_report import write_synthetic_report

from fixtures.options import CHROMIUM, NEEDS_BROWSER
from harness.browser import check_report_in_browser

pytestmark = NEEDS_BROWSER


def screenshot_path(directory: Path) -> Path:
    """Where the check saves its screenshot (the real run passes a path under reports/)."""
    return directory / "evidence-synthetic.png"


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    evidence, html_path, _ = write_synthetic_report(tmp_path)
    seen = check_report_in_browser(html_path, screenshot_path(tmp_path), CHROMIUM)
    assert seen["problems"] == []
    assert seen["claim_sections"] == [f"claim-{claim['id']}" for claim in evidence["claims"]]
    assert seen["images"] > 0  # every one of them loaded: no "images not loaded" problem above
    assert seen["title"] == evidence["title"]
    assert screenshot_path(tmp_path).stat().st_size > 0
