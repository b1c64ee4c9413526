"""The session's real evidence report, opened in a headless Chromium.

Marked `after_claims`, so it runs after every claim (conftest.py): every claim
of the tier has been decided by then; it writes the report as it stands and
checks it the way a reader would see it: what loaded, and its layout at a
1400x900 window (every claim's verdict on the first screen, nothing wider than
the window at 1400 and 1000 px, folded sections that unfold on a click and
print unfolded; harness/reporting/browser.py). (The report is written again at session
end, with this test's own outcome and the final wall time.)
"""

import pytest

from fixtures.options import CHROMIUM, NEEDS_BROWSER
from fixtures.report_plugin import write_reports
from harness.deciding.writeup import CLAIMS
from harness.reporting.browser import check_report_in_browser

pytestmark = [*NEEDS_BROWSER, pytest.mark.after_claims]


def test_evidence_report_opens_in_a_browser(evidence, request):
    reports = write_reports(request.config, interrupted=False)
    html = next(p for p in reports if evidence.tier in p.name or len(reports) == 1)
    seen = check_report_in_browser(html, html.with_suffix(".png"), CHROMIUM)
    assert seen["problems"] == [], seen["problems"]
    assert seen["claim_sections"] == [f"claim-{claim_id}" for claim_id in CLAIMS]
    assert list(seen["layout"]["first_screen"]) == list(CLAIMS)  # every claim's verdict, all on the first screen
    assert seen["images"] >= 7  # at least the writeup's seven figures, all loaded (no problems above)
