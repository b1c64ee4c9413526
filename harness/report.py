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
          "reported_vs_reproduced": [writeup.ReportedNumber],  # its fields, as a dict in the JSON
          "figures": [str],                         # names of entries in the figures dict
          "details": dict,                          # free-form: scalars, dicts, lists of dicts
      }],
      "writeup_figures": [str],                     # the writeup's figures reproduced, in its order
      "provenance": {"commit": str, "dirty": bool, "dataset_digest": str, "versions": dict,
                     "devices": [str], "cache_keys": dict, "wall_seconds": dict,
                     "command": str, ...},          # extra keys are shown too
      "changes_since_reference": dict | None,  # harness/compare.py: what changed since reports/reference/
    }

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
from collections.abc import Mapping
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
# renamed, removed or retyped (added fields need no bump: the schema accepts them).
SCHEMA_VERSION = 1
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


def _embed(figures: Mapping[str, Figure]) -> dict[str, dict[str, Any]]:
    """Render every figure once (a figure shown in several sections is encoded
    once). Figures are left intact: the session writes the report more than
    once (the browser check, then the final report) from the same claim
    figures. A figure that fails to render is recorded with its error, shown
    in its place: the report is still written."""
    embedded: dict[str, dict[str, Any]] = {}
    for name, fig in figures.items():
        try:
            width, height = (round(v * DPI) for v in fig.get_size_inches())
            embedded[name] = {"uri": figure_to_data_uri(fig), "width": width, "height": height, "title": fig.get_suptitle()}
        except Exception as error:  # noqa: BLE001 -- any drawing error must not cost the whole report
            embedded[name] = {"error": f"{type(error).__name__}: {error}"}
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


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in the template fails loudly
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=format_number, pval=format_p, verdict_label=verdict_label, css=css_class)
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
    referenced = {name for claim in facts["claims"] for name in claim.get("figures", [])} | set(facts["writeup_figures"])
    html_text = _environment().get_template(TEMPLATE).render(
        evidence=facts,
        images=_embed(figures),
        other_figures=[name for name in figures if name not in referenced],
        reference=_reference_view(facts, Path(html_path)),
    )
    _write_pair(html_path, html_text, json_path, json_text)


def write_multiverse_report(
    content: Mapping[str, Any], figures: Mapping[str, Figure], html_path: Path, json_path: Path
) -> None:
    """Write the multiverse's `json_path` and self-contained `html_path`: `content` holds its title,
    generation time, wall time, provenance and `matrix` (multiverse_report.Matrix.as_dict); atomically, as a pair."""
    facts = json_safe(content)
    json_text = json.dumps(facts, indent=2, allow_nan=False, ensure_ascii=False)
    html_text = _environment().get_template(MULTIVERSE_TEMPLATE).render(facts=facts, images=_embed(figures))
    _write_pair(html_path, html_text, json_path, json_text)


def _write_pair(html_path: Path, html_text: str, json_path: Path, json_text: str) -> None:
    """Both staged before either replaces its old file: a failed write leaves the old pair, never a new JSON
    beside an old page."""
    write_all_atomically([
        (Path(html_path), lambda out: out.write(html_text.encode("utf-8"))),
        (Path(json_path), lambda out: out.write(json_text.encode("utf-8"))),
    ])
