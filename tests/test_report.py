"""Tests of harness/reporting/figures.py and harness/reporting/report.py on synthetic data.

`write_synthetic_report` builds a report with every kind of claim the real run
can produce (passed, failed, xfailed, not run; per-layer sub-verdicts; a NaN
p-value; a missing figure); test_report_browser.py opens the same report.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import numpy as np
import pytest
from matplotlib.figure import Figure

from harness import REPOSITORY, atomic
from harness.reporting import figures, report

EPOCHS, LAYERS, BINS = 6, 4, 12


# --------------------------------------------------------------------------- synthetic data


def _curves(rng: np.random.Generator, seeds: int, *extra: int) -> np.ndarray:
    """(2, seeds, EPOCHS+1, *extra) rising curves with seed noise."""
    shape = (2, seeds, EPOCHS + 1, *extra)
    trend = np.linspace(0.1, 0.9, EPOCHS + 1).reshape((1, 1, -1) + (1,) * len(extra))
    return trend + 0.03 * rng.standard_normal(shape)


def _figure_builders(seeds: int) -> dict[str, tuple[Callable[[], Figure], int]]:
    """name -> (a zero-argument builder of that figure for `seeds` seeds, its expected number of axes)."""
    rng = np.random.default_rng(seeds)
    paired = rng.normal(0.5, 0.02, (2, seeds))
    writeup_points = {"baseline train": {0: 0.11, 5: 0.9}, "dropout test": {1: 0.43, 5: 0.55}}
    return {
        "sample_images": (lambda: figures.sample_images(rng.integers(0, 256, (25, 3072), dtype=np.uint8), np.arange(25) % 10, [f"class {i}" for i in range(10)]), 25),
        "input_histograms": (lambda: figures.input_histograms(rng.integers(0, 256, 500), rng.standard_normal(500)), 2),
        "initial_weights": (lambda: figures.initial_weights([np.tile(rng.standard_normal(40), (2, 1)) for _ in range(LAYERS)]), 2 * LAYERS),
        "accuracy_curves": (lambda: figures.accuracy_curves(_curves(rng, seeds), _curves(rng, seeds) * 0.6, writeup_points), 2),
        "activation_counts": (lambda: figures.activation_counts(100 * _curves(rng, seeds, LAYERS)), LAYERS),
        "activation_stats": (lambda: figures.activation_stats(_curves(rng, seeds, LAYERS), _curves(rng, seeds, LAYERS)), 2 * LAYERS),
        "positive_histograms": (lambda: figures.positive_histograms(rng.poisson(50, (2, seeds, LAYERS, BINS)), np.linspace(0, 4, BINS + 1)), 2),
        "c1_final_test": (lambda: figures.paired_dots(paired, "test accuracy", "C1: final test accuracy"), 1),
        "mc_dropout": (lambda: figures.mc_dropout(np.array([1, 2, 4, 8]), rng.uniform(0.4, 0.5, (seeds, 4)), rng.uniform(0.5, 0.55, seeds), rng.uniform(0.3, 0.4, seeds)), 1),
        "perturbation": (lambda: figures.perturbation(np.array([0.0, 0.1, 0.2]), rng.uniform(0.3, 0.5, (2, seeds, 3))), 1),
        "expectation_bias": (lambda: figures.expectation_bias(rng.normal(0, 1e-3, (seeds, 4)), np.full((seeds, 4), 1e-3), 0.01), 1),
        "c10_coadaptation": (lambda: figures.per_layer_paired(rng.normal(0, 1, (2, seeds, LAYERS)), "correlation", "C10: co-adaptation"), 1),
    }


WRITEUP_FIGURES = [
    "sample_images", "input_histograms", "initial_weights", "accuracy_curves",
    "activation_counts", "activation_stats", "positive_histograms",
]


def _hypothesis(name: str, verdict: str, p: float, seeds_needed: int | None = None, statement: str = "dropout > baseline") -> dict:
    return {
        "hypothesis": name, "statement": statement, "test": "paired t (one-sided)", "n": 3,
        "effect": np.float64(0.03), "ci_low": np.float64(0.01), "ci_high": 0.05, "unit": "accuracy",
        "kind": "superiority", "p_value": p, "p_adjusted": min(1.0, p * 4) if not math.isnan(p) else p,
        "p_opposite": 0.9, "p_opposite_adjusted": 1.0, "verdict": verdict, "seeds_needed": seeds_needed,
        "note": "",
    }


def synthetic_evidence() -> dict:
    claim = {"operationalisation": "Measured: ...\n  Test: paired t over seeds.", "reason": "",
             "reported_vs_reproduced": [], "details": {}, "figures": []}
    return {
        "title": "Evidence: How and Why Does Dropout Work? (synthetic)",
        "generated": "2026-01-01T00:00:00+00:00",
        "tier": "smoke",
        "interrupted": True,
        "protocol": {"name": "writeup", "dropout_keys": "per_epoch", "learning_rate": 1e-3, "dropout_rates": (0.4, 0.3, 0.2, 0.2)},
        "seeds": np.array([42, 43, 44]),
        "family": {"size": 7, "alpha": 0.05, "correction": "Holm"},
        "claims": [
            claim | {
                "id": "C1", "title": "Dropout improves test accuracy", "quote": "the candidate model with the dropout layers performs better",
                "outcome": "passed", "verdict": "SUPPORTED", "hypotheses": [_hypothesis("C1.final_test", "SUPPORTED", 0.004)],
                "reported_vs_reproduced": [
                    {"quantity": "baseline final test", "writeup": 0.5258, "mean": 0.52, "sd": 0.004, "pi_low": 0.51, "pi_high": 0.53, "inside": True, "note": ""},
                    {"quantity": "dropout final test", "writeup": 0.5558, "mean": None, "sd": None, "pi_low": None, "pi_high": None, "inside": None, "note": "one seed: no interval"},
                ],
                "details": {"mcnemar": [{"seed": 42, "b": 310, "c": 250, "p": 0.012}, {"seed": 43, "b": 290, "c": 270, "p": float("nan")}], "epochs": 6},
                "figures": ["accuracy_curves", "c1_final_test"],
            },
            claim | {
                "id": "C2", "title": "Baseline overfits more", "quote": "reaching a training accuracy of 99%",
                "outcome": "failed", "verdict": "REFUTED", "reason": "Baseline train accuracy 0.91 ± 0.01, below 0.99 in every seed.",
                "hypotheses": [_hypothesis("C2.train_99", "REFUTED", 0.97)],
            },
            claim | {
                "id": "C4", "title": "Fewer activations with dropout", "quote": "the candidate model tends to have fewer activations",
                "outcome": "xfailed", "verdict": "INCONCLUSIVE", "reason": "At smoke scale the per-layer differences are within noise.",
                "hypotheses": [_hypothesis(f"C4.layer{layer}.end", "INCONCLUSIVE", p, seeds, f"dropout has fewer active units in Dense_{layer} at the last epoch")
                               for layer, (p, seeds) in enumerate([(0.2, 9), (float("nan"), None), (0.3, 12), (0.04, 5)])],
                "figures": ["activation_counts"],
            },
            claim | {
                "id": "C7", "title": "Dropout is an ensemble", "quote": "a single neural network with dropout is an ensemble of 2^n models",
                "outcome": "not run", "verdict": None, "figures": ["mc_dropout_never_made"],
            },
            claim | {
                "id": "C10", "title": "Less co-adaptation", "quote": "a neuron cannot necessarily depend on other units",
                "outcome": "passed", "verdict": "SUPPORTED", "hypotheses": [_hypothesis("C10.corr", "SUPPORTED", 1e-6)],
                "figures": ["c10_coadaptation"],
            },
        ],
        "writeup_figures": WRITEUP_FIGURES,
        "provenance": {
            "commit": "0123abc", "dirty": True, "dataset_digest": "sha256:feed", "versions": {"jax": "0.4.30", "numpy": np.__version__},
            "devices": ["cpu:0", "cpu:1"], "cache_keys": {"writeup/smoke": "abc123"}, "wall_seconds": {"train": 12.5, "claims": np.float32(3.25)},
            "command": "pytest claims/",
        },
    }


SYNTHETIC_SEEDS = 3


@functools.cache
def synthetic_figures() -> dict[str, Figure]:
    """Every figure of the synthetic report, built once per process: a report embeds a figure's first rendering,
    so every synthetic report of the process (here and in tests/test_report_browser.py) renders them once."""
    return {name: build() for name, (build, _) in _figure_builders(SYNTHETIC_SEEDS).items()}


def write_synthetic_report(directory: Path) -> tuple[dict, Path, Path]:
    """Write the synthetic report into `directory` (created); returns (evidence, html, json)."""
    evidence = synthetic_evidence()
    html_path, json_path = directory / "evidence.html", directory / "evidence.json"
    report.write_report(evidence, synthetic_figures(), html_path, json_path)
    return evidence, html_path, json_path


class _Elements(HTMLParser):
    """Every start tag of a page as (tag, attributes)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def with_tag(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.elements if t == tag]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[dict, Path, Path]:
    # A folder two levels deep that does not exist yet: write_report creates it.
    return write_synthetic_report(tmp_path_factory.mktemp("report") / "not" / "yet")


# --------------------------------------------------------------------------- figures


@pytest.mark.parametrize("seeds", [1, SYNTHETIC_SEEDS])
@pytest.mark.parametrize("name", list(_figure_builders(1)))
def test_figure_has_expected_axes_and_renders(name: str, seeds: int) -> None:
    build, expected_axes = _figure_builders(seeds)[name]
    # The synthetic report's own figures are rendered by its report, every one of them checked by
    # test_every_figure_is_embedded_as_png_and_nothing_is_fetched; the others are rendered here.
    synthetic = seeds == SYNTHETIC_SEEDS
    fig = synthetic_figures()[name] if synthetic else build()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == expected_axes
    if not synthetic:
        fig.savefig(io.BytesIO(), format="png", dpi=20)  # drawing errors surface only when drawn


def test_figures_reject_arrays_without_the_variant_axis() -> None:
    with pytest.raises(ValueError, match="leading axis"):
        figures.accuracy_curves(np.zeros((3, 2, 5)), np.zeros((3, 2, 5)))


def test_accuracy_curves_show_the_writeup_points_in_the_legend() -> None:
    fig = figures.accuracy_curves(np.zeros((2, 2, 4)), np.zeros((2, 2, 4)), {"dropout train": {1: 0.4}})
    assert "writeup (one run)" in [text.get_text() for text in fig.legends[0].get_texts()]


# --------------------------------------------------------------------------- report


def test_report_writes_exactly_the_two_files(written) -> None:
    _, html_path, _ = written
    assert sorted(p.name for p in html_path.parent.iterdir()) == ["evidence.html", "evidence.json"]


def test_json_carries_the_evidence_with_nan_as_null(written) -> None:
    evidence, _, json_path = written

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in JSON")

    facts = json.loads(json_path.read_text(), parse_constant=refuse)
    assert facts == {"schema_version": report.SCHEMA_VERSION} | report.json_safe(evidence)
    assert facts["seeds"] == [42, 43, 44]
    c4 = next(claim for claim in facts["claims"] if claim["id"] == "C4")
    assert c4["hypotheses"][1]["p_value"] is None
    assert c4["hypotheses"][0]["seeds_needed"] == 9


def test_every_claim_has_a_board_row_and_a_folded_section(written) -> None:
    evidence, html_path, _ = written
    page = _Elements(html_path.read_text())
    claim_ids = [claim["id"] for claim in evidence["claims"]]
    section_ids = [attrs["id"] for attrs in page.with_tag("section")]
    assert [i for i in section_ids if i.startswith("claim-")] == [f"claim-{i}" for i in claim_ids]
    assert [attrs["data-claim"] for attrs in page.with_tag("tr") if "data-claim" in attrs] == claim_ids
    assert [attrs["data-first-screen"] for attrs in page.with_tag("span") if "data-first-screen" in attrs] == claim_ids
    links = [attrs["href"] for attrs in page.with_tag("a")]
    assert all(links.count(f"#claim-{i}") >= 2 for i in claim_ids)  # from the board and from the contents
    assert len(page.with_tag("details")) == len(section_ids)  # every section folds...
    assert not [attrs for attrs in page.with_tag("details") if "open" in attrs]  # ...and is folded at first


def escape(text: str) -> str:
    """`text` as the report's templates write it (HTML-escaped)."""
    return jinja2.Environment(autoescape=True).from_string("{{ text }}").render(text=text)


def test_the_unfolded_page_carries_every_hypothesis_and_reason(written) -> None:
    evidence, html_path, _ = written
    text = html_path.read_text()
    for claim in evidence["claims"]:
        assert all(f"<code>{h['hypothesis']}</code>" in text and escape(h["statement"]) in text
                   for h in claim.get("hypotheses", []))
        assert escape(claim["quote"]) in text and escape(claim["reason"]) in text


def test_header_facts_and_extra_sections_are_shown_and_listed(tmp_path) -> None:
    """Facts other parts of the run add to the header, and sections of their own, folded and in the contents."""
    evidence = synthetic_evidence() | {
        "header_facts": [{"label": "Smoke drift", "text": "12 of 12 pinned verdicts held", "status": "ok"}],
        "sections": [{"id": "drift", "title": "Smoke drift test", "summary": "all held",
                      "body": [{"hypothesis": "C1", "pinned": "SUPPORTED", "now": "SUPPORTED"}]}],
    }
    report.write_report(evidence, {}, tmp_path / "e.html", tmp_path / "e.json")
    text = (tmp_path / "e.html").read_text()
    assert '<li class="ok"><strong>Smoke drift:</strong> 12 of 12 pinned verdicts held</li>' in text
    assert '<a href="#drift">Smoke drift test</a>' in text
    assert '<section class="extra" id="drift">' in text and "<th>pinned</th>" in text
    assert report.schema_violations(json.loads((tmp_path / "e.json").read_text())) == []


def test_page_shows_verdicts_banner_reasons_and_missing_figure(written) -> None:
    evidence, html_path, _ = written
    text = html_path.read_text()
    for label in ("SUPPORTED", "REFUTED", "INCONCLUSIVE", "NOT RUN"):
        assert f'class="badge {report.css_class(label)}">{label}<' in text
    assert 'id="incomplete"' in text and "interrupted" in text
    assert evidence["claims"][1]["reason"] in text
    assert "mc_dropout_never_made" in text and "was not produced" in text
    assert "0123abc" in text and "dirty" in text


def test_every_figure_is_embedded_as_png_and_nothing_is_fetched(written) -> None:
    evidence, html_path, _ = written
    page = _Elements(html_path.read_text())
    sources = [attrs["src"] for attrs in page.with_tag("img")]
    shown = [name for claim in evidence["claims"] for name in claim["figures"] if name in _figure_builders(1)]
    shown += WRITEUP_FIGURES + ["mc_dropout", "perturbation", "expectation_bias"]  # referenced nowhere: "Other figures"
    assert len(sources) == len(shown)
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    links = [value for _, attrs in page.elements for key, value in attrs.items() if key in ("src", "href") and value]
    assert not [link for link in links if link.startswith(("http://", "https://", "//"))]


def test_failed_write_keeps_the_old_report_and_leaves_no_temp_file(tmp_path, monkeypatch) -> None:
    evidence = synthetic_evidence()
    html_path, json_path = tmp_path / "evidence.html", tmp_path / "evidence.json"
    report.write_report(evidence, {}, html_path, json_path)
    before = html_path.read_text()

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        report.write_report(evidence | {"title": "changed"}, {}, html_path, json_path)
    assert html_path.read_text() == before
    assert sorted(os.listdir(tmp_path)) == ["evidence.html", "evidence.json"]


def test_a_figure_that_cannot_be_drawn_is_reported_in_its_place(tmp_path, monkeypatch) -> None:
    def broken(fig: Figure) -> str:
        raise RuntimeError("no ink")

    monkeypatch.setattr(report, "figure_to_data_uri", broken)
    evidence = synthetic_evidence()
    report.write_report(evidence, {"accuracy_curves": Figure()}, tmp_path / "e.html", tmp_path / "e.json")
    assert "<code>accuracy_curves</code> could not be drawn: RuntimeError: no ink" in (tmp_path / "e.html").read_text()


def test_json_safe_converts_numpy_and_non_finite_values() -> None:
    converted = report.json_safe({1: (np.int64(2), np.float32(np.inf)), "a": np.array([0.5, np.nan]), "b": np.bool_(True)})
    assert converted == {"1": [2, None], "a": [0.5, None], "b": True}
    json.dumps(converted, allow_nan=False)


def test_numbers_and_p_values_are_formatted_for_people() -> None:
    assert [report.format_number(v) for v in (None, True, 831210.0, 0.55581234)] == ["—", "yes", "831,210", "0.5558"]
    assert [report.format_p(v) for v in (None, 0.0123, 2e-6)] == ["—", "0.0123", "2.0e-06"]


# --------------------------------------------------------------------------- the verdict board


def _primary(name: str, verdict: str, p: float, **fields) -> dict:
    return _hypothesis(name, verdict, p) | {"family": "primary"} | fields


def test_the_board_sentence_gives_the_number_that_decides_the_verdict() -> None:
    c1 = {"id": "C1", "outcome": "passed", "verdict": "SUPPORTED",
          "hypotheses": [_primary("C1", "SUPPORTED", 0.004, statement="dropout's test accuracy is higher")]}
    assert report.claim_sentence(c1) == ("Dropout's test accuracy is higher: +3 [1, 5] accuracy points, n = 3, "
                                         "adj. p 0.016.")
    # Supported: the weakest part (the largest adjusted p) is the one the claim rests on.
    weak = _primary("C4.weak", "SUPPORTED", 0.01, statement="weak part")
    c4 = {"id": "C4", "outcome": "passed", "verdict": "SUPPORTED",
          "hypotheses": [_primary("C4.strong", "SUPPORTED", 1e-6), weak, _hypothesis("C4.s", "REFUTED", 0.9) | {"family": "secondary"}]}
    assert report.deciding_hypothesis(c4) is weak
    assert report.claim_sentence(c4).startswith("Weakest part: weak part: +3 [1, 5] accuracy points")
    assert report.hypothesis_counts(c4) == ["2 of 2 primary, 0 of 1 secondary support it"]
    # Refuted: the clearest refutation, with why; inconclusive: the part farthest from settling.
    clear = _primary("C5.a", "REFUTED", 0.99, p_opposite_adjusted=1e-5, refuted_because="opposite direction", unit="")
    c5 = {"id": "C5", "outcome": "failed", "verdict": "REFUTED",
          "hypotheses": [_primary("C5.b", "REFUTED", 0.99, p_opposite_adjusted=0.01), clear, _primary("C5.c", "SUPPORTED", 0.001)]}
    assert report.deciding_hypothesis(c5) is clear
    assert report.claim_sentence(c5) == ("Refuted (opposite direction): dropout > baseline: +0.03 [0.01, 0.05], n = 3, "
                                         "adj. p against 1.0e-05.")
    assert report.hypothesis_counts(c5) == ["1 of 3 primary hypotheses support it"]
    far = _primary("C9.far", "INCONCLUSIVE", 0.4, seeds_needed=None)
    c9 = {"id": "C9", "outcome": "xfailed", "verdict": "INCONCLUSIVE",
          "hypotheses": [_primary("C9.near", "INCONCLUSIVE", 0.2, seeds_needed=12, settles="support"), far]}
    assert report.deciding_hypothesis(c9) is far
    assert report.claim_sentence(c9).endswith("no number of seeds within reach would settle it at this effect.")
    c9["hypotheses"] = c9["hypotheses"][:1]
    assert report.claim_sentence(c9).endswith("; about 12 seeds would settle it, to support.")


def test_the_board_sentence_of_an_exact_check_and_of_a_claim_without_verdict() -> None:
    c0 = {"id": "C0", "outcome": "passed", "verdict": "SUPPORTED", "hypotheses": [],
          "exact": "parameters 831,210 / 831,210; weights identical; epoch 0 reproduced", "exact_holds": True}
    assert report.claim_sentence(c0) == "Exact check holds: parameters 831,210 / 831,210; 2 more exact facts hold."
    assert report.hypothesis_counts(c0) == ["exact check holds"]
    # A failed exact check decides a claim whose hypotheses hold; older reports lack exact_holds: inferred.
    c8 = {"id": "C8", "outcome": "failed", "verdict": "REFUTED", "exact": "logits differ by 6e-4",
          "hypotheses": [_primary("C8", "SUPPORTED", 1e-9)]}
    assert report.exact_check_holds(c8) is False
    assert report.claim_sentence(c8) == "Exact check fails: logits differ by 6e-4."
    not_run = {"id": "C7", "outcome": "not run", "verdict": None, "reason": "the session ended before this claim ran"}
    assert report.claim_sentence(not_run) == "the session ended before this claim ran"
    long_error = {"id": "C3", "outcome": "error", "verdict": None, "reason": "x" * 500 + "\nTraceback"}
    assert len(report.claim_sentence(long_error)) == report.SENTENCE_CHARACTERS


def test_effects_are_shown_in_accuracy_points_where_they_are_accuracies() -> None:
    h = {"effect": -0.0123, "ci_low": -0.02, "ci_high": None, "unit": "accuracy lost"}
    assert report.format_effect(h) == "-1.23 [-2, —] accuracy points lost"
    assert report.format_effect(h | {"unit": "epochs", "effect": 46.75}) == "+46.8 [-0.02, —] epochs"


REFERENCE_EVIDENCE = REPOSITORY / "reports" / "reference" / "evidence-writeup.json"


def test_a_page_built_from_the_reference_json_carries_all_of_it(tmp_path) -> None:
    """The full tier's 83 hypotheses: every one on the unfolded page, every claim on the board."""
    facts = json.loads(REFERENCE_EVIDENCE.read_text())
    text = report.evidence_page(facts, {}, tmp_path / "e.html", figures_left_out="not embedded")
    hypotheses = [h for claim in facts["claims"] for h in claim["hypotheses"]]
    assert len(hypotheses) == 83
    assert all(f"<code>{h['hypothesis']}</code>" in text for h in hypotheses)
    assert all(f'data-first-screen="{claim["id"]}"' in text for claim in facts["claims"])
    assert all(escape(key) in text for claim in facts["claims"] for key in claim["details"])
    assert all(escape(claim["reason"]) in text and escape(claim["operationalisation"]) in text for claim in facts["claims"])
    assert text.count("not embedded") == sum(len(claim["figures"]) for claim in facts["claims"]) + len(facts["writeup_figures"])


# --------------------------------------------------------------------------- the multiverse page


def _condition(protocol: str, scale: float, fraction: float) -> dict:
    return {"name": f"{protocol} ×{scale:g} @{fraction:g}", "protocol": protocol, "rate_scale": scale,
            "epoch_fraction": fraction, "primary": (protocol, scale, fraction) == ("writeup", 1.0, 1.0),
            "control": scale == 0.0}


def test_the_heat_maps_columns_are_grouped_by_factor_and_nest() -> None:
    conditions = [_condition(p, s, f) for p in ("writeup", "corrected") for s in (0.0, 1.0) for f in (0.5, 1.0)]
    protocol, rates, fractions = report.column_groups(conditions)
    assert [(g["label"], g["span"]) for g in protocol] == [("writeup", 4), ("corrected", 4)]
    assert [(g["label"], g["span"], g["control"]) for g in rates] == [
        ("×0", 2, True), ("×1", 2, False), ("×0", 2, True), ("×1", 2, False)]
    assert [g["label"] for g in fractions] == ["0.5", "1"] * 4
    assert not any(g["control"] for g in fractions)  # labelled once, on the outermost group
    assert [g["start"] for g in fractions if g["primary"]] == [3]
    blocks = report.protocol_blocks(conditions)
    assert [(b["protocol"], b["columns"]) for b in blocks] == [("writeup", [0, 1, 2, 3]), ("corrected", [4, 5, 6, 7])]
    assert [g["start"] for g in blocks[1]["groups"][0]] == [4, 6]


def test_the_multiverse_page_puts_its_sentences_first_and_its_heat_map_in_html() -> None:
    facts = json.loads((REPOSITORY / "reports" / "reference" / "multiverse-full.json").read_text())
    text = report.multiverse_page(facts, {})
    sentences = list(facts["matrix"]["sentences"].values())
    assert text.index(sentences[-1]) < text.index('id="heatmap"')
    heat = text[text.index('id="heatmap"'): text.index("</table>", text.index('id="heatmap"'))]
    primary = [row for row in facts["matrix"]["rows"] if row["family"] in ("claim", "primary")]
    assert heat.count("<tr") == len(primary) + len(report.CONDITION_FACTORS)
    cell = primary[1]["cells"][8]  # C1's hypothesis under the primary condition
    assert (f'effect {report.format_number(cell["effect"], 3)} [95% CI {report.format_number(cell["ci_low"], 3)}, '
            f'{report.format_number(cell["ci_high"], 3)}] accuracy; Holm-adjusted p {report.format_p(cell["p_adjusted"])}') in heat
    for verdict, colour in report.VERDICT_COLOURS.items():
        assert f"--{verdict.lower()}: {colour}" in text
