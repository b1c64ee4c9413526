"""The multiverse's report: the decided matrix (decide.py) written as a page and its JSON.

    multiverse_decide.Matrix
      -> `write`: the report (report.write_multiverse_report renders it: sentences first, the heat map as an
         HTML table) with the heat map as a static image too, how fast the one program trained, and where the
         numbers came from
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from harness.config import Condition, Tier
from harness.multiverse.decide import Matrix
from harness.reporting import figures, report
from harness.training.run_set import RunSet


def training_speed(runs: Mapping[Condition, tuple[RunSet, str]]) -> dict[str, Any]:
    """How fast the one program trained every condition (all conditions share it, so any one's run set says):

        µs per model-step = training seconds (after compiling; per-epoch evaluation included)
                            / (runs x epochs x steps per epoch)

    Empty when the run sets predate these facts."""
    run_set, _ = next(iter(runs.values()))
    meta = run_set.meta
    if "program_runs" not in meta:
        return {}
    model_steps = meta["program_runs"] * meta["program_epochs"] * meta["steps_per_epoch"]
    return {
        "runs": meta["program_runs"], "epochs": meta["program_epochs"], "steps_per_epoch": meta["steps_per_epoch"],
        "model_steps": model_steps,
        "compile_seconds": round(run_set.compile_seconds, 1), "train_seconds": round(run_set.train_seconds, 1),
        "resumed_seconds": round(run_set.resumed_seconds, 1),
        "us_per_model_step": round(run_set.train_seconds / model_steps * 1e6, 2),
        "devices": meta["devices"], "peak_device_memory_bytes": meta["peak_device_memory_bytes"],
        "cache": meta.get("cache", ""),
    }


def heatmap(m: Matrix) -> Figure:
    """The primary hypotheses (they decide the claims) down, the conditions across: the static image of the
    page's heat map (the page shows it as an HTML table, from the matrix in its JSON)."""
    rows = [row for row in m.rows if row.family == "primary"]
    marks = {j: "primary" if c.is_primary else "control" for j, c in enumerate(m.conditions)
             if c.is_primary or c.is_control}
    return figures.multiverse_heatmap(
        [row.hypothesis or row.claim for row in rows],
        [f"{c.protocol} ×{c.rate_scale:g} @{c.epoch_fraction:g}" for c in m.conditions],
        [[cell.verdict if cell else None for cell in row.cells] for row in rows],
        [[cell.effect if cell else None for cell in row.cells] for row in rows],
        marks,
        report.VERDICT_COLOURS,  # the HTML page's colours
    )


def report_content(m: Matrix, tier: Tier, provenance: Mapping[str, Any], wall_seconds: Mapping[str, float],
                   training: Mapping[str, Any]) -> dict[str, Any]:
    """What report.write_multiverse_report writes: the matrix of `tier` (labelled reduced when it has fewer
    seeds or epochs than the tier's defaults) with where it came from, how long each step took (`wall_seconds`:
    "total", "training" (or loading), "probes", "decisions") and how fast the one program trained (`training`,
    from `training_speed`)."""
    return {
        "title": 'Multiverse: where the claims of "How and Why Does Dropout Work?" hold',
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "epochs": tier.epochs,
        "reduced": tier.is_reduced(),
        "wall_seconds": {step: round(seconds, 1) for step, seconds in wall_seconds.items()},
        "training": dict(training),
        "matrix": m.as_dict(),
        "provenance": dict(provenance),
    }


def write(m: Matrix, tier: Tier, runs: Mapping[Condition, tuple[RunSet, str]], provenance: Mapping[str, Any],
          wall_seconds: Mapping[str, float], html: Path) -> None:
    """`html` and the JSON beside it (the whole matrix): heat map, sentences, table, speed and provenance."""
    content = report_content(m, tier, provenance, wall_seconds, training_speed(runs))
    report.write_multiverse_report(content, {"multiverse_heatmap": heatmap(m)}, html, html.with_suffix(".json"))
