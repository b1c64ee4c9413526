"""Open a written report in a real headless Chromium and say what it saw.

Drives Debian's Chromium (`apt-get install chromium`) through the `playwright`
package with `executable_path`, so no browser is downloaded: never run
`playwright install`. The browser gets a fresh profile and network emulation
off, so the check also proves the report opens offline.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM_ENV = "CHROMIUM"  # an explicit executable overrides the search
CHROMIUM_NAMES = ("chromium", "chromium-browser")
# `--headless` itself is added by playwright (headless=True).
CHROMIUM_ARGS = (
    "--no-sandbox",  # we run as root in containers, where the sandbox cannot start
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 1000}
LOCAL_SCHEMES = ("file:", "data:", "about:")

# Runs in the page once it has loaded; returns plain JSON.
_INSPECT_PAGE = """() => {
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  return {
    title: document.title,
    claim_sections: [...document.querySelectorAll('section[id^="claim-"]')].map(s => s.id),
    images: [...document.images].map(i => ({name: i.alt, loaded: i.complete && i.naturalWidth > 0})),
    svgs: [...document.querySelectorAll('svg')].map((s, k) => ({name: s.id || `svg #${k}`, visible: visible(s)})),
    broken_links: [...document.querySelectorAll('a[href^="#"]')]
      .map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(id)),
  };
}"""


class BrowserUnavailable(RuntimeError):
    """No Chromium executable or no playwright package: the check cannot run."""


def find_chromium(configured: str | None) -> str | None:
    """The Chromium executable to drive: `configured` (the caller reads ${CHROMIUM_ENV}), else the first on PATH."""
    if configured:
        return configured
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def check_report_in_browser(
    html_path: Path, screenshot_path: Path, executable: str | None, full_page: bool = False
) -> dict[str, Any]:
    """Load `html_path` in headless Chromium, save a screenshot, report what loaded.

    Returns a JSON-safe dict: `claim_sections` (ids of the claim sections, in
    page order), counts of `images` and `svgs`, and the failures found:
    `images_not_loaded`, `empty_svgs`, `broken_links` (in-page anchors with no
    target), `console_errors`, `page_errors`, `network_requests` (anything not
    file:/data:/about:). `problems` lists them in words; empty means the page
    rendered cleanly. `executable` is Chromium's (`find_chromium`). Raises `BrowserUnavailable` when it
    cannot run.
    """
    if executable is None:
        raise BrowserUnavailable("no Chromium executable found: install it with `apt-get install chromium` or set $CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise BrowserUnavailable(
            "the `playwright` package is missing: `pip install playwright` (it drives the system Chromium; "
            "do not run `playwright install`)"
        ) from error

    console_errors: list[str] = []
    page_errors: list[str] = []
    network_requests: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    def on_request(request: Any) -> None:
        if not request.url.startswith(LOCAL_SCHEMES):
            network_requests.append(request.url)

    screenshot_path = Path(screenshot_path)
    screenshot_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=list(CHROMIUM_ARGS), viewport=VIEWPORT, offline=True
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("request", on_request)
            page.goto(Path(html_path).resolve().as_uri(), wait_until="load")
            seen = page.evaluate(_INSPECT_PAGE)
            page.screenshot(path=str(screenshot_path), full_page=full_page)
        finally:
            context.close()

    result = {
        "title": seen["title"],
        "claim_sections": seen["claim_sections"],
        "images": len(seen["images"]),
        "images_not_loaded": [image["name"] for image in seen["images"] if not image["loaded"]],
        "svgs": len(seen["svgs"]),
        "empty_svgs": [svg["name"] for svg in seen["svgs"] if not svg["visible"]],
        "broken_links": seen["broken_links"],
        "console_errors": console_errors,
        "page_errors": page_errors,
        "network_requests": network_requests,
        "screenshot": str(screenshot_path),
    }
    result["problems"] = [
        f"{key.replace('_', ' ')}: {result[key]}"
        for key in ("images_not_loaded", "empty_svgs", "broken_links", "console_errors", "page_errors", "network_requests")
        if result[key]
    ]
    return result
