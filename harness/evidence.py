"""Everything a tier's claims are decided from, gathered once per session."""

from __future__ import annotations

from dataclasses import dataclass

from harness.config import RunConfig
from harness.probes import Probes
from harness.runs import TierData
from harness.train import RunSet


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
