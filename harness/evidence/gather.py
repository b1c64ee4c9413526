"""Gather a tier's evidence once per session (or per calibration seed set): data, runs, probes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from harness.config import RunConfig
from harness.data.cifar10 import Cifar10
from harness.evidence import probes
from harness.evidence.evidence import Evidence
from harness.training.input_pipeline import prepare
from harness.training.runs import get_runs
from harness.training.train import init_states


def gather(
    config: RunConfig,
    cifar: Cifar10,
    *,
    cache_dir: Path,
    retrain: bool = False,
    progress: Callable[[int], None] | None = None,
    stop_requested: Callable[[], bool] | None = None,
) -> Evidence:
    """The tier's data, its runs (cached or trained), the probes measured on them and the first seed's
    initial weights. `stop_requested`: see `get_runs`."""
    data = prepare(cifar, config)
    run_set, key = get_runs(config, data, cache_dir=cache_dir, retrain=retrain, progress=progress,
                            stop_requested=stop_requested)
    start = time.perf_counter()
    measured = probes.measure(run_set, data.dataset)
    probe_seconds = time.perf_counter() - start
    return Evidence(config, data, run_set, measured, key, probe_seconds, initial_kernels(config, run_set.seeds[0]))


def initial_kernels(config: RunConfig, seed: int) -> tuple[np.ndarray, ...]:
    """The kernels `seed` starts training from, one per layer, as (2, -1) arrays for the figure."""
    params = init_states(config, (seed,), num_train=8).params  # num_train only sizes the data shuffle
    return tuple(np.asarray(params[f"Dense_{layer}"]["kernel"]).reshape(2, -1) for layer in range(len(config.widths)))
