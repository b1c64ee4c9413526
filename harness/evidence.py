"""Everything a tier's claims are decided from, gathered once per session (or per calibration seed set)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness import probes
from harness.config import RunConfig
from harness.data import Cifar10
from harness.probes import Probes
from harness.input_pipeline import TierData, prepare
from harness.runs import get_runs
from harness.run_set import RunSet


@dataclass(frozen=True)
class Evidence:
    config: RunConfig
    data: TierData
    runs: RunSet
    probes: Probes
    cache_key: str
    probe_seconds: float

    @property
    def tier(self) -> str:
        return self.config.tier.name

    @property
    def n(self) -> int:
        """Paired seeds: the unit of replication."""
        return len(self.runs.seeds)


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
