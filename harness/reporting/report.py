"""Write the evidence report: `evidence.json` and one self-contained `evidence.html`.

The HTML embeds every figure as a base64 palette PNG data URI (rendered at
`DPI`, see `figure_to_data_uri`): it stays the same size however many seeds
and epochs a plot draws, where SVG grows with every point, and at 100 dpi it
is sharp at its natural width. The page
loads nothing from the network (no CDN CSS, JS or fonts), so it opens offline.
Both files carry the same facts; the JSON names figures without embedding them.
Both are written atomically, so a reader never sees a half-written report.

The report's content (the schema `write_report` expects; NaN anywhere becomes
null in the JSON and "—" in the page):

    {
      "schema_version": int,               # added by write_report: SCHEMA_VERSION
      "title": str, "generated": ISO timestamp str, "tier": "smoke" | "full",
      "interrupted": bool,                 # the run stopped before every claim ran
      "protocol": dict, "seeds": [int],
      "family": {"size": int, "alpha": 0.05, "correction": "Holm"},
      "claims": [{                           # evidence_report.ClaimRow
          "id": "C1", "title": str, "quote": str,   # quote: the writeup's words
          "operationalisation": str,                # the test's docstring, shown pre-formatted
          "outcome": "passed" | "failed" | "xfailed" | "xpassed" | "error" | "skipped" | "not run",
          "verdict": "SUPPORTED" | "REFUTED" | "INCONCLUSIVE" | None,
          "reason": str,                            # plain language, for failures/xfails; "" otherwise
          "hypotheses": [{                          # evidence_report.HypothesisRow: stats.Verdict.as_dict() plus
              "hypothesis": "C4.layer2.end", "statement": str, "test": str, "n": int,
              "effect": float, "ci_low": float, "ci_high": float, "unit": str, "kind": str,
              "p_value": float, "p_adjusted": float, "p_opposite": float,
              "p_opposite_adjusted": float, "verdict": str, "seeds_needed": int | None,
              "note": str,                          # optional
              "family": "primary" | "secondary",    # primary hypotheses decide the claim
              "supports_if": str,                   # which sign of the effect supports the claim
              "pinned": str | None, "stability": str,  # smoke calibration (fixtures/smoke_expectations.json)
          }],
          "exact": str, "exact_holds": bool | None,  # an exact check (C0, C8) in words, and whether it held
          "reported_vs_reproduced": [writeup.ReportedNumber],  # its fields, as a dict in the JSON
          "figures": [str],                         # names of entries in the figures dict
          "details": dict,                          # free-form: scalars, dicts, lists of dicts
      }],
      "writeup_figures": [str],                     # the writeup's figures reproduced, in its order
      "provenance": {"commit": str, "dirty": bool, "dataset_digest": str, "versions": dict,
                     "devices": [str], "cache_keys": dict, "wall_seconds": dict,
                     "command": str, ...},          # extra keys are shown too
      "changes_since_reference": dict | None,  # harness/reporting/compare.py: what changed since reports/reference/
      "header_facts": [{"label": str, "text": str,     # optional: more facts for the page's header, in order
                        "status": "ok" | "warn" | "fail" | None}],
      "sections": [{"id": str, "title": str,           # optional: more folded sections, after the claims and
                    "summary": str, "body": Any}],     # listed in the contents; body shown like a claim's details
      "sequential": dict,    # --seeds auto only: until_decided.Sequential.as_dict (the rule, every hypothesis's
                             # confidence sequence, where it was decided); the hypotheses' intervals are then
                             # anytime-valid and their p-values null (e-values decide)
    }

The page opens with a verdict board that fits one screen (`board_rows`: per
claim its verdict, the reference's verdict, one sentence with the number that
decides it, and how many of its hypotheses support it) and a table of
contents; every section below it is folded (`<details>`), opens from the
board's links, and prints unfolded (print CSS and a `beforeprint` handler).
No table is wider than the page: long cells wrap.

The JSON's machine-readable contract is `reports/evidence.schema.json` (JSON
Schema 2020-12, versioned by SCHEMA_VERSION); `schema_violations` checks a
report against it, and the tests check every report they write.

A claim with no verdict (not run, skipped, error) is shown as such, and the
page opens with a banner listing every claim without a verdict and saying
when the run was interrupted. A figure named but not supplied, or that fails
to render, is shown as missing (with the error), not dropped.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import io
import json
import math
import os
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jsonschema
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from harness import REPOSITORY
from harness.atomic import write_all_atomically

DPI = 100
TEMPLATE = "evidence.html.j2"
MULTIVERSE_TEMPLATE = "multiverse.html.j2"
# The version of reports/evidence.schema.json the JSON follows: bump both together when a core field is
# renamed, removed or retyped (added fields need no bump: the schema accepts them). 2: the sequential mode
# (--seeds auto), where a hypothesis's interval and p-values change meaning (anytime-valid; null p).
SCHEMA_VERSION = 2
# Versions `harness.reporting.compare` still reads: version 1 is version 2 without the sequential mode, so a version-1
# file is checked against this schema as if it said 2.
READABLE_SCHEMA_VERSIONS = (1, 2)
SCHEMA_PATH = REPOSITORY / "reports" / "evidence.schema.json"


# --------------------------------------------------------------------------- figures


def figure_to_data_uri(fig: Figure, dpi: int = DPI) -> str:
    """The figure as a `data:image/png;base64,...` URI, in 256 colours.

    Plots use few colours (antialiased edges aside), so a palette PNG without
    dithering looks the same and is about a third of the size of full colour.
    """
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=dpi, facecolor="white")
    image = Image.open(rendered).convert("RGB")
    palette = io.BytesIO()
    image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(palette, format="png", optimize=True)
    return "data:image/png;base64," + base64.b64encode(palette.getvalue()).decode("ascii")


# Every figure's embedding, by the figure object: the session writes its report more than once (the browser
# check, then the final report) from the same figures, and rendering them is most of writing it. A figure is
# finished when its builder returns it and never changed after, so its first rendering stands.
_EMBEDDED: weakref.WeakKeyDictionary[Figure, dict[str, Any]] = weakref.WeakKeyDictionary()


def _embed(figures: Mapping[str, Figure]) -> dict[str, dict[str, Any]]:
    """Render every figure once (a figure shown in several sections or reports
    is encoded once, `_EMBEDDED`). Figures are left intact. A figure that fails
    to render is recorded with its error, shown in its place: the report is
    still written."""
    embedded: dict[str, dict[str, Any]] = {}
    for name, fig in figures.items():
        if fig not in _EMBEDDED:
            try:
                width, height = (round(v * DPI) for v in fig.get_size_inches())
                _EMBEDDED[fig] = {"uri": figure_to_data_uri(fig), "width": width, "height": height,
                                  "title": fig.get_suptitle()}
            except Exception as error:  # noqa: BLE001 -- any drawing error must not cost the whole report
                embedded[name] = {"error": f"{type(error).__name__}: {error}"}
                continue
        embedded[name] = dict(_EMBEDDED[fig])
    return embedded


# --------------------------------------------------------------------------- JSON


def json_safe(value: Any) -> Any:
    """A copy of `value` that `json.dumps(..., allow_nan=False)` accepts: numpy
    scalars and arrays become Python numbers and lists, NaN/inf become None,
    tuples become lists, dataclasses (through their own `as_dict` where they have one) and Paths are
    converted, keys become str."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if hasattr(value, "as_dict") and not isinstance(value, type):
        return json_safe(value.as_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: json_safe(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


@functools.cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)  # a broken schema file fails here, not as "invalid data"
    return jsonschema.Draft202012Validator(schema)


def schema_violations(facts: Any) -> list[str]:
    """Every way the parsed `evidence.json` content `facts` breaks the schema, as "JSON path: problem" lines
    (empty when it follows it)."""
    errors = sorted(_schema_validator().iter_errors(facts), key=lambda error: list(map(str, error.absolute_path)))
    return [f"{error.json_path}: {error.message}" for error in errors]


# --------------------------------------------------------------------------- formatting (template filters)


def format_number(value: Any, digits: int = 4) -> str:
    """Numbers for people: integers in full, others to `digits` significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def format_p(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1e}" if value < 1e-3 else f"{value:.3g}"


def verdict_label(claim: Mapping[str, Any]) -> str:
    """What the page says about a claim: its verdict, or why it has none."""
    if claim.get("verdict"):
        return claim["verdict"]
    return "NOT RUN" if claim.get("outcome") in ("not run", "skipped") else "NO VERDICT"


def css_class(label: str | None) -> str:
    """'NOT RUN' -> 'not-run': a verdict or outcome as a CSS class name."""
    return (label or "none").lower().replace(" ", "-")


# Verdict colours, colour-blind safe (Okabe & Ito's bluish green and vermillion, and a neutral grey), always
# shown with the verdict's word or mark (VERDICT_MARKS) so that colour is never the only cue. Dark text reads
# on all three. The multiverse's PNG heat map uses the same (multiverse_report.heatmap).
VERDICT_COLOURS = {"SUPPORTED": "#009E73", "REFUTED": "#D55E00", "INCONCLUSIVE": "#D9D9D9"}
VERDICT_MARKS = {"SUPPORTED": "✓", "REFUTED": "✗", "INCONCLUSIVE": "?"}


# --------------------------------------------------------------------------- the verdict board


@dataclass(frozen=True)
class BoardRow:
    """One claim on the verdict board at the top of the page."""

    id: str
    title: str
    label: str  # verdict_label: the verdict, or why there is none
    outcome: str  # the test's outcome
    reference: str | None  # the reference's verdict of this claim; None without one
    sentence: str  # claim_sentence
    counts: list[str]  # hypothesis_counts


def board_rows(facts: Mapping[str, Any], reference: Mapping[str, Any] | None) -> list[BoardRow]:
    """The verdict board: one row per claim of `facts` (the JSON-safe evidence), with the verdict of
    `reference` (`_reference_view`) beside it."""
    return [
        BoardRow(claim["id"], claim["title"], verdict_label(claim), claim["outcome"],
                 reference["claims"].get(claim["id"]) if reference else None,
                 claim_sentence(claim), hypothesis_counts(claim))
        for claim in facts["claims"]
    ]


def _primaries(claim: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [h for h in claim.get("hypotheses") or [] if h.get("family", "primary") == "primary"]


def deciding_hypothesis(claim: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The primary hypothesis whose number decides the claim's verdict. A claim holds only if every primary
    hypothesis does (intersection-union, stats.overall), so:

    - SUPPORTED: the weakest support, the largest adjusted p (the claim is as sure as its weakest part);
    - REFUTED: the clearest refutation, the smallest adjusted p against the claim;
    - INCONCLUSIVE: the undecided one farthest from settling, the most seeds needed (None, beyond reach, most).

    None when no primary hypothesis has the claim's verdict (an exact check decided it, or nothing did)."""
    verdict = claim.get("verdict")
    candidates = [h for h in _primaries(claim) if h["verdict"] == verdict]
    if not candidates:
        return None
    if verdict == "SUPPORTED":
        return max(candidates, key=lambda h: _p_or(h["p_adjusted"], 1.0))
    if verdict == "REFUTED":
        return min(candidates, key=lambda h: _p_or(h["p_opposite_adjusted"], 1.0))
    return max(candidates, key=lambda h: math.inf if h.get("seeds_needed") is None else h["seeds_needed"])


def _p_or(p: float | None, missing: float) -> float:
    return missing if p is None else p


def exact_check_holds(claim: Mapping[str, Any]) -> bool | None:
    """Whether the claim's exact check held: as recorded (`exact_holds`), or, in reports written before that
    field, as its verdict implies (SUPPORTED needs it; REFUTED with no refuted primary hypothesis means it
    failed); None without an exact check or where the verdict does not tell."""
    if not claim.get("exact"):
        return None
    if claim.get("exact_holds") is not None:
        return claim["exact_holds"]
    if claim.get("verdict") == "SUPPORTED":
        return True
    if claim.get("verdict") == "REFUTED" and not any(h["verdict"] == "REFUTED" for h in _primaries(claim)):
        return False
    return None


def format_effect(h: Mapping[str, Any]) -> str:
    """A hypothesis's effect and 95% CI for people: '+3.01 [2.44, 3.58] accuracy points'. Accuracies (units
    starting with "accuracy") are shown in percentage points; three significant digits."""
    unit = h.get("unit") or ""
    scale = 100.0 if unit.startswith("accuracy") else 1.0
    unit = "accuracy points" + unit[len("accuracy"):] if scale == 100.0 else unit

    def shown(value: float | None, sign: str = "") -> str:
        return "—" if value is None else f"{value * scale:{sign}.3g}"

    return f"{shown(h['effect'], '+')} [{shown(h['ci_low'])}, {shown(h['ci_high'])}]" + (f" {unit}" if unit else "")


# The board's sentence stays one or two lines: a reason longer than this is cut (the section has it whole).
SENTENCE_CHARACTERS = 220


def claim_sentence(claim: Mapping[str, Any]) -> str:
    """One plain sentence with the number that decides the claim's verdict (`deciding_hypothesis`): its
    statement, effect [95% CI], n and adjusted p; how many seeds would settle an INCONCLUSIVE one. A claim
    decided by an exact check says the check; a claim without a verdict says why."""
    if not claim.get("verdict"):
        reason = (claim.get("reason") or "").strip().splitlines()
        return _shortened(reason[0] if reason else f"No verdict: the test's outcome is {claim['outcome']}.")
    h = deciding_hypothesis(claim)
    if h is None:
        return _exact_sentence(claim)
    n = f"n = {format_number(h['n'])}"
    statement = h["statement"][:1].upper() + h["statement"][1:]
    if claim["verdict"] == "REFUTED":
        because = h.get("refuted_because") or "against the claim"
        return f"Refuted ({because}): {h['statement']}: {format_effect(h)}, {n}, adj. p against {format_p(h['p_opposite_adjusted'])}."
    if claim["verdict"] == "INCONCLUSIVE":
        if h.get("seeds_needed") is None:
            settle = "no number of seeds within reach would settle it at this effect"
        else:
            towards = f", to {h['settles']}" if h.get("settles") else ""
            settle = f"about {format_number(h['seeds_needed'])} seeds would settle it{towards}"
        return f"Not settled: {h['statement']}: {format_effect(h)}, {n}, adj. p {format_p(h['p_adjusted'])}; {settle}."
    weakest = "Weakest part: " + h["statement"] if len(_primaries(claim)) > 1 else statement
    return f"{weakest}: {format_effect(h)}, {n}, adj. p {format_p(h['p_adjusted'])}."


def _exact_sentence(claim: Mapping[str, Any]) -> str:
    """The exact check in words: when it holds, its first fact and how many more hold; when it fails, all."""
    exact = claim.get("exact") or ""
    if not exact:
        return f"{verdict_label(claim).capitalize()}: no hypothesis decided this claim."
    holds = exact_check_holds(claim)
    if holds is False:
        return _shortened(f"Exact check fails: {exact}.")
    parts = exact.split("; ")
    more = f"; {len(parts) - 1} more exact facts hold" if len(parts) > 1 else ""
    return _shortened(f"Exact check{' holds' if holds else ''}: {parts[0]}{more}.")


def _shortened(text: str) -> str:
    return text if len(text) <= SENTENCE_CHARACTERS else text[: SENTENCE_CHARACTERS - 1].rstrip() + "…"


def hypothesis_counts(claim: Mapping[str, Any]) -> list[str]:
    """How many of a claim's hypotheses support it, per family, for claims with more than one: "12 of 16
    primary hypotheses support it", or with secondary ones too "12 of 16 primary, 3 of 8 secondary support
    it"; and whether its exact check holds, where it has one."""
    hypotheses = claim.get("hypotheses") or []
    counts = []
    if len(hypotheses) > 1:
        parts = []
        for family in ("primary", "secondary"):
            members = [h for h in hypotheses if h.get("family", "primary") == family]
            if members:
                parts.append(f"{sum(h['verdict'] == 'SUPPORTED' for h in members)} of {len(members)} {family}")
        counts.append(", ".join(parts) + (" support it" if len(parts) > 1 else " hypotheses support it"))
    holds = exact_check_holds(claim)
    if holds is not None:
        counts.append("exact check holds" if holds else "exact check fails")
    return counts


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in the template fails loudly
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=format_number, pval=format_p, verdict_label=verdict_label, css=css_class,
                       effect=format_effect)
    env.globals.update(verdict_colours=VERDICT_COLOURS, verdict_marks=VERDICT_MARKS)
    return env


# --------------------------------------------------------------------------- writing


def _reference_view(facts: Mapping[str, Any], html_path: Path) -> dict[str, Any] | None:
    """What the template shows beside each verdict: the reference's tier, its verdicts by claim and by
    hypothesis, and its HTML report as an address relative to this report (so that the link works wherever
    the repository is; None without a page). None without a comparable reference."""
    changes = facts.get("changes_since_reference") or {}
    if not changes.get("claim_verdicts"):
        return None
    page = changes.get("reference_html")
    target = None if not page else Path(page) if Path(page).is_absolute() else REPOSITORY / page
    return {
        "tier": changes.get("reference_tier"),
        "claims": changes["claim_verdicts"],
        "hypotheses": changes.get("hypothesis_verdicts", {}),
        "link": None if target is None else Path(os.path.relpath(target.resolve(), html_path.resolve().parent)).as_posix(),
    }


def write_report(content: Mapping[str, Any], figures: Mapping[str, Figure], html_path: Path, json_path: Path) -> None:
    """Write `json_path` and the self-contained `html_path` from the report's `content` (what
    evidence_report.assemble returns; schema in this module's docstring), embedding `figures` by name; the
    figures are left as they were. Folders are created as needed."""
    facts = {"schema_version": SCHEMA_VERSION} | json_safe(content)
    # Render everything before writing anything, so a failure leaves the old pair intact.
    json_text = json.dumps(facts, indent=2, allow_nan=False, ensure_ascii=False)
    html_text = evidence_page(facts, _embed(figures), Path(html_path))
    _write_pair(html_path, html_text, json_path, json_text)


def evidence_page(facts: Mapping[str, Any], images: Mapping[str, Mapping[str, Any]], html_path: Path,
                  figures_left_out: str = "") -> str:
    """The HTML page of the JSON-safe evidence `facts` (an `evidence.json`'s content), to be written at
    `html_path` (its links to the reference page are relative to it); `images` are the embedded figures by
    name (`_embed`). A page built from an `evidence.json` alone has no figures: `figures_left_out` says why,
    in place of each."""
    referenced = {name for claim in facts["claims"] for name in claim.get("figures", [])} | set(facts["writeup_figures"])
    reference = _reference_view(facts, html_path)
    return _environment().get_template(TEMPLATE).render(
        evidence=facts,
        images=images,
        figures_left_out=figures_left_out,
        other_figures=[name for name in images if name not in referenced],
        reference=reference,
        board=board_rows(facts, reference),
    )


def write_multiverse_report(
    content: Mapping[str, Any], figures: Mapping[str, Figure], html_path: Path, json_path: Path
) -> None:
    """Write the multiverse's `json_path` and self-contained `html_path`: `content` holds its title,
    generation time, wall time, provenance and `matrix` (multiverse_decide.Matrix.as_dict); atomically, as a pair."""
    facts = json_safe(content)
    json_text = json.dumps(facts, indent=2, allow_nan=False, ensure_ascii=False)
    _write_pair(html_path, multiverse_page(facts, _embed(figures)), json_path, json_text)


def multiverse_page(facts: Mapping[str, Any], images: Mapping[str, Mapping[str, Any]]) -> str:
    """The multiverse's HTML page from its JSON-safe `facts` (a multiverse JSON's content) and embedded
    `images` (`_embed`; the static heat map, where there is one)."""
    conditions = facts["matrix"]["conditions"]
    return _environment().get_template(MULTIVERSE_TEMPLATE).render(
        facts=facts, images=images, factors=CONDITION_FACTORS, heat_columns=column_groups(conditions),
        blocks=protocol_blocks(conditions),
    )


# The factors a multiverse condition varies, outermost first: (attribute, what it is, how a value is shown).
CONDITION_FACTORS = (("protocol", "protocol", "{}"), ("rate_scale", "dropout rates", "×{:g}"),
                     ("epoch_fraction", "fraction of the epochs", "{:g}"))


def column_groups(conditions: Sequence[Mapping[str, Any]],
                  factors: Sequence[tuple[str, str, str]] = CONDITION_FACTORS) -> list[list[dict[str, Any]]]:
    """The header rows of a matrix whose columns are `conditions` (dicts: Matrix.as_dict's), one row per
    factor: groups of adjacent conditions with the same value there and above ({"label", "span", "start": the
    first column's index, "primary": one column, the primary condition's, "control": the outermost group
    whose every column is a negative control's}). Groups nest: none straddles a group of the row above."""
    rows: list[list[dict[str, Any]]] = []
    keys: list[tuple] = [() for _ in conditions]
    marked_control: set[int] = set()  # columns under a group already labelled control
    for attribute, _, shown in factors:
        keys = [key + (condition[attribute],) for key, condition in zip(keys, conditions, strict=True)]
        row: list[dict[str, Any]] = []
        for j, key in enumerate(keys):
            if j and key == keys[j - 1]:
                row[-1]["span"] += 1
            else:
                row.append({"label": shown.format(key[-1]), "span": 1, "start": j})
        for group in row:
            columns = range(group["start"], group["start"] + group["span"])
            control = all(conditions[j]["control"] for j in columns) and not marked_control.intersection(columns)
            marked_control.update(columns if control else ())
            group |= {"control": control, "primary": group["span"] == 1 and conditions[group["start"]]["primary"]}
        rows.append(row)
    return rows


def protocol_blocks(conditions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The whole matrix is shown one protocol at a time, so that its cells, which carry numbers, fit the page's
    width: per protocol (in order of first appearance) its conditions' indices and their header rows
    (`column_groups` over the other factors)."""
    indices: dict[str, list[int]] = {}
    for j, condition in enumerate(conditions):
        indices.setdefault(condition["protocol"], []).append(j)
    blocks = []
    for protocol, columns in indices.items():
        # A protocol's conditions need not be adjacent in the matrix: each header group starts from its own.
        members = [conditions[j] for j in columns]
        groups = column_groups(members, CONDITION_FACTORS[1:])
        for row in groups:
            for group in row:
                group["start"] = columns[group["start"]]
        blocks.append({"protocol": protocol, "columns": columns, "groups": groups})
    return blocks


def _write_pair(html_path: Path, html_text: str, json_path: Path, json_text: str) -> None:
    """Both staged before either replaces its old file: a failed write leaves the old pair, never a new JSON
    beside an old page."""
    write_all_atomically([
        (Path(html_path), lambda out: out.write(html_text.encode("utf-8"))),
        (Path(json_path), lambda out: out.write(json_text.encode("utf-8"))),
    ])
