"""What goes into the report when a session is cut short or runs only some claims."""

import base64
import io
import json
import re
import subprocess

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from harness import REPOSITORY
from harness.deciding import drift
from harness.deciding.writeup import CLAIMS
from harness.evidence.evidence import Evidence
from harness.reporting import evidence_report, figures, provenance, report
from harness.reporting.evidence_report import assemble

PROVENANCE = provenance.of(None, session_seconds=1.0)  # where a session without evidence came from


def test_every_claim_is_listed_and_the_missing_ones_are_marked_not_run(tmp_path):
    evidence, figures = assemble(
        tier="smoke", evidence=None, checks={}, collected=["C0", "C1"],
        outcomes={"C0": ("error", "CIFAR-10 not found: set --cifar10")}, interrupted=True, provenance=PROVENANCE,
    )
    by_id = {c.id: c for c in evidence["claims"]}
    assert list(by_id) == list(CLAIMS)
    assert by_id["C0"].outcome == "error" and "--cifar10" in by_id["C0"].reason
    assert by_id["C1"].outcome == "not run" and "ended before" in by_id["C1"].reason
    assert by_id["C2"].outcome == "not run" and "not selected" in by_id["C2"].reason
    assert evidence["interrupted"] and figures == {}

    html, js = tmp_path / "evidence.html", tmp_path / "evidence.json"
    report.write_report(evidence, figures, html, js)  # a report is written even with no evidence at all
    assert json.loads(js.read_text())["claims"][1]["outcome"] == "not run"
    assert "claim-C10" in html.read_text()


def test_writing_twice_embeds_the_same_figures_rendered_once(tmp_path, monkeypatch):
    """The session writes the report for the browser check and again at the end, from the same figures: the
    second report embeds the first one's rendering; a new figure is rendered."""
    rendered = []
    render = report.figure_to_data_uri
    monkeypatch.setattr(report, "figure_to_data_uri", lambda fig: rendered.append(fig) or render(fig))
    evidence, _ = assemble(tier="smoke", evidence=None, checks={}, collected=[], outcomes={},
                           interrupted=False, provenance=PROVENANCE)
    dots = lambda: figures.paired_dots(np.array([[0.5, 0.6, 0.55], [0.6, 0.65, 0.6]]), "accuracy", "paired")
    figs = {"dots": dots()}
    first, second, third = tmp_path / "a.html", tmp_path / "b.html", tmp_path / "c.html"
    report.write_report(evidence, figs, first, tmp_path / "a.json")
    report.write_report(evidence, figs, second, tmp_path / "b.json")
    assert rendered == [figs["dots"]]
    report.write_report(evidence, {"dots": dots()}, third, tmp_path / "c.json")
    assert len(rendered) == 2
    first_png, second_png, third_png = (_embedded_image(p) for p in (first, second, third))
    assert first_png.std() > 10  # a drawn figure, not a blank canvas
    np.testing.assert_array_equal(first_png, second_png)
    assert np.abs(first_png - third_png).mean() < 1.0  # the same plot drawn again looks the same


def test_the_writeup_figures_of_one_evidence_are_drawn_once(monkeypatch):
    drawn = []
    monkeypatch.setattr(evidence_report, "_draw_writeup_figures", lambda ev: drawn.append(ev) or {"f": Figure()})
    one, other = (Evidence(None, None, None, None, "", 0.0) for _ in range(2))
    first, again, theirs = (evidence_report.reproduce_writeup_figures(ev) for ev in (one, one, other))
    assert drawn == [one, other] and drawn[0] is one
    assert first["f"] is again["f"] and theirs["f"] is not first["f"]


def _embedded_image(html_path):
    uri = re.search(r'src="data:image/png;base64,([^"]+)"', html_path.read_text()).group(1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri))).convert("L"), dtype=float)


def test_a_commit_named_by_the_caller_wins_over_a_copied_trees_git():
    """scripts/gpu_full_tier.sh on a machine that got a copy of the tree: its .git may be stale."""
    told = provenance.of(None, 1.0, told_commit="abc123")
    assert told["commit"] == "abc123 (from $DROPOUT_CLAIMS_COMMIT)" and told["dirty"] is False
    git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPOSITORY, capture_output=True, text=True, check=False)
    untold = git.stdout.strip() if git.returncode == 0 else "unknown (not a git checkout)"
    assert provenance.of(None, 1.0)["commit"] == untold  # not told: git's own


def test_the_drift_test_shows_its_result_and_what_was_measured_of_its_false_alarms(tmp_path):
    rng = np.random.default_rng(0)
    calibration = [{f"v{j}": float(x) for j, x in enumerate(row)} for row in rng.normal(size=(16, 5))]
    result = drift.check(calibration, {"v0": 9.0, "v1": 0.0, "v2": 0.0, "v3": 0.0, "v4": 0.0})
    measured = ["leave one out: 0 of 16 calibration seed sets red (95% upper bound 20.6%)"]
    evidence, _ = assemble(tier="smoke", evidence=None, checks={}, collected=[], outcomes={}, interrupted=False,
                           provenance=PROVENANCE, drift_result=result, drift_measured=measured)
    header = {f["label"]: f for f in evidence["header_facts"]}["Smoke drift test"]
    assert header["status"] == "fail" and "v0 = 9" in header["text"] and measured[0] in header["text"]
    section = {s["id"]: s for s in evidence["sections"]}["smoke-drift"]
    assert section["body"]["its false-alarm rate, measured"] == measured
    report.write_report(evidence, {}, tmp_path / "e.html", tmp_path / "e.json")
    assert measured[0] in (tmp_path / "e.html").read_text()
