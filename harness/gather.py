"""Gather a tier's evidence once per session (or per calibration seed set): data, runs, probes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from harness import probes
from harness.config import RunConfig
from harness.data import Cifar10
from harness.evidence import Evidence
from harness.input_pipeline import prepare
from harness.runs import get_runs


def gather(
    config: RunConfig,
    cifar: Cifar10,
    *,
    cache_dir: Path,
    retrain: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Evidence:
    """The tier's data, its runs (cached or trained) and the probes measured on them."""
    data = prepare(cifar, config)
    run_set, key = get_runs(config, data, cache_dir=cache_dir, retrain=retrain, progress=progress)
    start = time.perf_counter()
    measured = probes.measure(run_set, data.dataset)
    return Evidence(config, data, run_set, measured, key, time.perf_counter() - start)
