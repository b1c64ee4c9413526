"""Everything a tier's claims are decided from: the tier's data, its runs and the probes measured on them.

Types only (gather.py gathers them), so that what reads evidence -- the claims,
claim_check.py, the report -- does not import the trainer or the probes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.config import RunConfig
from harness.training.input_pipeline import TierData
from harness.training.run_set import RunSet


@dataclass(frozen=True)
class Probes:
    mc_samples: np.ndarray  # (K,)
    mc_accuracy: np.ndarray  # (seeds, K): accuracy of the average of k sub-networks' softmax (dropout variant)
    single_subnetwork_accuracy: np.ndarray  # (seeds,): mean accuracy of one sampled sub-network
    deterministic_accuracy: np.ndarray  # (seeds,): the eval-mode (weight-scaled) network
    expectation_bias: np.ndarray  # (seeds, layers): relative bias of the train-time mean vs the test-time rule
    expectation_noise: np.ndarray  # (seeds, layers): its standard error from sampling alone
    variance_shift: np.ndarray  # (seeds, layers): next BatchNorm's input variance, train-time dropout / test time
    conversion_max_error: np.ndarray  # (seeds,): max |logit difference| / max |logit|, inverted vs standard
    conversion_agreement: np.ndarray  # (seeds,): fraction of identical predictions between the two
    noise_levels: np.ndarray  # (P,)
    noisy_accuracy: np.ndarray  # (variants, seeds, P)
    coadaptation: np.ndarray  # (variants, seeds, layers): mean |correlation| between units of a layer
    dead_units: np.ndarray  # (variants, seeds, layers): units never positive on the test set (excluded above)
    ablation_drop: np.ndarray  # (variants, seeds, layers): test accuracy lost when a share of a layer's units is removed

    @classmethod
    def concatenate(cls, parts: Sequence[Probes]) -> Probes:
        """The probes of several batches of seeds as one, along each field's seed axis (`PROBE_SEED_AXIS`)."""
        fields = {field.name for field in dataclasses.fields(cls)}
        if fields != set(PROBE_SEED_AXIS):
            raise ValueError(f"PROBE_SEED_AXIS must name every field of Probes: differs in {fields ^ set(PROBE_SEED_AXIS)}")
        return cls(**{
            name: getattr(parts[0], name) if axis is None
            else np.concatenate([getattr(part, name) for part in parts], axis=axis)
            for name, axis in PROBE_SEED_AXIS.items()
        })


# Where each probe keeps its seeds (None: not per seed), as the comments of `Probes` say.
PROBE_SEED_AXIS: dict[str, int | None] = {
    "mc_samples": None, "mc_accuracy": 0, "single_subnetwork_accuracy": 0, "deterministic_accuracy": 0,
    "expectation_bias": 0, "expectation_noise": 0, "variance_shift": 0, "conversion_max_error": 0,
    "conversion_agreement": 0, "noise_levels": None, "noisy_accuracy": 1, "coadaptation": 1, "dead_units": 1,
    "ablation_drop": 1,
}


# Compared and hashed by identity (its arrays have no one truth value): the report keys the figures it drew by
# the evidence they show (harness/reporting/evidence_report.py).
@dataclass(frozen=True, eq=False)
class Evidence:
    config: RunConfig
    data: TierData
    runs: RunSet
    probes: Probes
    cache_key: str
    probe_seconds: float
    # The first seed's initial kernel of each layer, flattened in pairs (2, -1): the writeup's figure of
    # initial weights, drawn by the same initialiser as training (gather.py), not redrawn by the report.
    initial_kernels: tuple[np.ndarray, ...] = ()
    # --seeds auto: how the seeds were added and what the sequential rule decided (until_decided.Sequential;
    # typed loosely because that module builds evidence, so importing it here would close a cycle); None for a
    # fixed number of seeds.
    sequential: Any = None

    @property
    def tier(self) -> str:
        return self.config.tier.name

    @property
    def n(self) -> int:
        """Paired seeds: the unit of replication."""
        return len(self.runs.seeds)

    @property
    def reduced(self) -> bool:
        """Not the tier's own verdicts, so labelled "reduced" in the terminal, the report and its JSON: the one
        place this is decided.

        With a fixed number of seeds: fewer epochs or seeds than the tier's defaults. Under --seeds auto the
        stopping rule chooses the seeds and its verdicts hold wherever it stops, so stopping before the fixed
        tier's seed count is not reduced; fewer epochs than the tier's default are, and so is a --max-seeds below
        the tier's default cap that ended the run with primary hypotheses still open (the tier's own rule would
        have trained on: `until_decided.Sequential.stopped_below_default_cap`).
        """
        tier = self.config.tier
        if self.sequential is None:
            return tier.is_reduced()
        return tier.is_reduced(seeds_by_rule=True) or self.sequential.stopped_below_default_cap(tier.name)
