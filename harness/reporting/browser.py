"""Open a written report in a real headless Chromium and say what it saw.

Drives Debian's Chromium (`apt-get install chromium`) through the `playwright`
package with `executable_path`, so no browser is downloaded: never run
`playwright install`. The browser gets a fresh profile and network emulation
off, so the check also proves the report opens offline.

Besides what loaded, it checks the layout a reader gets (`check_layout`): at
FIRST_SCREEN (a common laptop window) every element marked `data-first-screen`
(each claim's verdict badge; the multiverse's sentences) lies inside the first
viewport; at FIRST_SCREEN's width and at NARROW_WIDTH, folded and unfolded,
nothing is wider than the window (document scrollWidth, and every table); a
folded section unfolds on a click on its summary and on a link to it; printing
shows every section's content.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.atomic import write_atomically

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
FIRST_SCREEN = {"width": 1400, "height": 900}  # a common laptop's browser window
NARROW_WIDTH = 1000  # the report must stay readable, without horizontal scrolling, down to this width
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


# Layout measurements, each run in the page as it stands; all return plain JSON.
_FIRST_SCREEN = """() => [...document.querySelectorAll('[data-first-screen]')].map(e => {
  const r = e.getBoundingClientRect();
  const inside = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
    && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
  return {name: e.dataset.firstScreen, inside: inside, bottom: Math.round(r.bottom)};
})"""
_WIDTHS = """() => ({
  scroll_width: document.documentElement.scrollWidth,
  page_height: document.documentElement.scrollHeight,
  wide_tables: [...document.querySelectorAll('table')]
    .filter(t => t.checkVisibility() && t.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map(t => (t.id || t.className || 'table') + ' (' + Math.round(t.getBoundingClientRect().width) + ' px wide)'),
})"""
_SET_ALL_FOLDED = "open => document.querySelectorAll('details').forEach(d => { d.open = open; })"
# The first folded section's summary, marked so that playwright can click it as a reader would.
_MARK_FOLDED_SUMMARY = """() => {
  const folded = [...document.querySelectorAll('details:not([open])')].find(d => d.querySelector(':scope > summary'));
  if (!folded) return false;
  folded.querySelector(':scope > summary').setAttribute('data-layout-check', 'summary');
  return true;
}"""
_UNFOLDED_SHOWS_CONTENT = """() => {
  const summary = document.querySelector('[data-layout-check="summary"]');
  const details = summary.parentElement;
  const content = [...details.children].filter(e => e !== summary);
  return details.open && content.length > 0 && content.every(e => e.checkVisibility());
}"""
# An in-page link (in the first screen's part of the page) whose target holds a folded section.
_MARK_LINK_TO_FOLDED = """() => {
  const link = [...document.querySelectorAll('a[href^="#"]')].find(a => {
    const target = document.getElementById(decodeURIComponent(a.getAttribute('href').slice(1)));
    return target && target.querySelector(':scope > details:not([open])') && a.checkVisibility();
  });
  if (!link) return null;
  link.setAttribute('data-layout-check', 'link');
  return link.getAttribute('href');
}"""
_LINK_TARGET_UNFOLDED = """href => document.getElementById(decodeURIComponent(href.slice(1)))
  .querySelector(':scope > details').open"""
# Inside folded sections, what printing shows: every element directly under a <details> but its summary.
_FOLDED_CONTENT_SHOWN = """() => [...document.querySelectorAll('details:not([open]) > :not(summary)')]
  .every(e => e.checkVisibility())"""
_BEFOREPRINT_UNFOLDS = """() => {
  window.dispatchEvent(new Event('beforeprint'));
  const all = [...document.querySelectorAll('details')].every(d => d.open);
  window.dispatchEvent(new Event('afterprint'));
  return all;
}"""


class BrowserUnavailable(RuntimeError):
    """No Chromium executable or no playwright package: the check cannot run."""


def find_chromium(configured: str | None) -> str | None:
    """The Chromium executable to drive: `configured` (the caller reads ${CHROMIUM_ENV}), else the first on PATH."""
    if configured:
        return configured
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def check_layout(page: Any) -> dict[str, Any]:
    """The layout of the page loaded in `page` (a playwright Page at FIRST_SCREEN), as a reader gets it.

    Returns a JSON-safe dict: `first_screen` ({name: inside the first viewport} for every element marked
    `data-first-screen`), `first_screen_bottom` (px: the lowest one's bottom edge), `page_height` (px, as loaded: sections folded), `page_height_unfolded`,
    `scroll_width` and `wide_tables` per "<width> folded|unfolded" (the document's scrollWidth; the tables
    whose right edge passes the window), `folded_sections` (how many <details> are folded at load),
    `click_unfolds` (a click on a folded section's summary shows its content; None: nothing folded),
    `link_unfolds` (a click on an in-page link to a folded section unfolds it; None: no such link),
    `print_shows_folded` (print media shows the folded sections' content) and `beforeprint_unfolds` (the
    `beforeprint` event unfolds every section). The page is left as loaded: folded, at FIRST_SCREEN.
    """
    layout: dict[str, Any] = {"scroll_width": {}, "wide_tables": {}}
    marked = page.evaluate(_FIRST_SCREEN)
    layout["first_screen"] = {e["name"]: e["inside"] for e in marked}
    layout["first_screen_bottom"] = max((e["bottom"] for e in marked), default=None)
    initially_open = page.evaluate("() => [...document.querySelectorAll('details')].map(d => d.open)")
    layout["folded_sections"] = initially_open.count(False)
    for state in ("folded", "unfolded"):
        page.evaluate(_SET_ALL_FOLDED, state == "unfolded")
        for width in (FIRST_SCREEN["width"], NARROW_WIDTH):
            page.set_viewport_size({"width": width, "height": FIRST_SCREEN["height"]})
            measured = page.evaluate(_WIDTHS)
            layout["scroll_width"][f"{width} {state}"] = measured["scroll_width"]
            layout["wide_tables"][f"{width} {state}"] = measured["wide_tables"]
            if width == FIRST_SCREEN["width"]:
                layout["page_height" if state == "folded" else "page_height_unfolded"] = measured["page_height"]
    page.set_viewport_size(FIRST_SCREEN)
    page.evaluate(_SET_ALL_FOLDED, False)

    page.emulate_media(media="print")
    layout["print_shows_folded"] = page.evaluate(_FOLDED_CONTENT_SHOWN)
    page.emulate_media(media="screen")
    layout["beforeprint_unfolds"] = page.evaluate(_BEFOREPRINT_UNFOLDS)

    layout["click_unfolds"] = None
    if page.evaluate(_MARK_FOLDED_SUMMARY):
        page.click('[data-layout-check="summary"]')
        layout["click_unfolds"] = page.evaluate(_UNFOLDED_SHOWS_CONTENT)
    page.evaluate(_SET_ALL_FOLDED, False)
    layout["link_unfolds"] = None
    href = page.evaluate(_MARK_LINK_TO_FOLDED)
    if href is not None:
        page.click('[data-layout-check="link"]')
        layout["link_unfolds"] = page.evaluate(_LINK_TARGET_UNFOLDED, href)

    # Back to the page as loaded, at the top.
    page.evaluate("opened => document.querySelectorAll('details').forEach((d, k) => { d.open = opened[k]; })",
                  initially_open)
    page.evaluate("() => { history.replaceState(null, '', location.pathname); window.scrollTo(0, 0); }")
    return layout


def layout_problems(layout: dict[str, Any]) -> list[str]:
    """What in `check_layout`'s result a reader would trip over, in words (empty: none)."""
    problems = []
    below = [name for name, inside in layout["first_screen"].items() if not inside]
    if not layout["first_screen"]:
        problems.append("no element is marked data-first-screen: the first screen's content cannot be checked")
    if below:
        problems.append(f"not inside the first {FIRST_SCREEN['width']}x{FIRST_SCREEN['height']} screen: {below}")
    for key, width in layout["scroll_width"].items():
        window = int(key.split()[0])
        if width > window:
            problems.append(f"horizontal scrolling at {key}: the page is {width} px wide in a {window} px window")
    for key, tables in layout["wide_tables"].items():
        if tables:
            problems.append(f"tables wider than the window at {key}: {tables}")
    if layout["folded_sections"] == 0:
        problems.append("no section is folded when the page opens")
    for key, what in (("click_unfolds", "a click on a folded section's summary did not show its content"),
                      ("link_unfolds", "a link to a folded section did not unfold it"),
                      ("print_shows_folded", "printing does not show the folded sections' content"),
                      ("beforeprint_unfolds", "the beforeprint event did not unfold every section")):
        if layout[key] is False:
            problems.append(what)
    return problems


@contextlib.contextmanager
def open_chromium(executable: str | None) -> Iterator[Any]:
    """A headless Chromium (a fresh profile, the network off) to open reports in: a playwright
    BrowserContext, closed on exit. `executable` is Chromium's (`find_chromium`). Raises `BrowserUnavailable`
    when it cannot run. Several checks can share one (`check_report_in_browser(..., browser=)`): starting
    the browser costs more than a check."""
    if executable is None:
        raise BrowserUnavailable("no Chromium executable found: install it with `apt-get install chromium` or set $CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise BrowserUnavailable(
            "the `playwright` package is missing: `pip install playwright` (it drives the system Chromium; "
            "do not run `playwright install`)"
        ) from error
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=list(CHROMIUM_ARGS), viewport=FIRST_SCREEN,
            offline=True,
        )
        try:
            yield context
        finally:
            context.close()


def check_report_in_browser(
    html_path: Path, screenshot_path: Path, executable: str | None, full_page: bool = False, browser: Any = None
) -> dict[str, Any]:
    """Load `html_path` in headless Chromium at FIRST_SCREEN, check its layout (`check_layout`), save a
    screenshot of the page as it opens (`full_page`: all of it, folded), report what loaded.

    Returns a JSON-safe dict: `claim_sections` (ids of the claim sections, in
    page order), counts of `images` and `svgs`, `layout` (`check_layout`), and the failures found:
    `images_not_loaded`, `empty_svgs`, `broken_links` (in-page anchors with no
    target), `console_errors`, `page_errors`, `network_requests` (anything not
    file:/data:/about:), and the layout's (`layout_problems`). `problems` lists them in words; empty means
    the page rendered cleanly. The page opens in `browser` (`open_chromium`) if given, else in a Chromium
    of its own started from `executable` (`find_chromium`). Raises `BrowserUnavailable` when it cannot run.
    """
    if browser is None:
        with open_chromium(executable) as own:
            return check_report_in_browser(html_path, screenshot_path, executable, full_page, own)

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
    page = browser.new_page()
    try:
        page.on("console", on_console)
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.on("request", on_request)
        page.goto(Path(html_path).resolve().as_uri(), wait_until="load")
        seen = page.evaluate(_INSPECT_PAGE)
        layout = check_layout(page)
        image = page.screenshot(full_page=full_page)
        write_atomically(Path(screenshot_path), lambda f: f.write(image))
    finally:
        page.close()

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
        "layout": layout,
    }
    result["problems"] = [
        f"{key.replace('_', ' ')}: {result[key]}"
        for key in ("images_not_loaded", "empty_svgs", "broken_links", "console_errors", "page_errors", "network_requests")
        if result[key]
    ] + layout_problems(layout)
    return result
