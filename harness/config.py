"""Protocols and tiers as plain, hashable data.

Everything that decides a run's numbers lives in a `RunConfig`; its `key()` is
what the run cache is keyed by (together with the dataset digest and the
harness version), so a change here can never silently reuse an old run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

# Dropout rates after the four hidden ReLUs of the writeup's candidate model.
WRITEUP_DROPOUT_RATES: tuple[float, ...] = (0.4, 0.3, 0.2, 0.2)
HIDDEN_WIDTHS: tuple[int, ...] = (256, 128, 64, 32)
# The writeup's RANDOM_KEY; our first seed, so seed 0 of a run set is the writeup's own.
WRITEUP_SEED = 42

VARIANTS: tuple[str, ...] = ("baseline", "dropout")
# The claims compare the first epoch with the last and fit slopes over the second half of training.
MIN_EPOCHS = 2


@dataclass(frozen=True)
class Protocol:
    """How the models are trained and the data prepared.

    `writeup` reproduces the notebook, quirks included; `corrected` fixes the
    two quirks the brief names, to ask whether a claim survives them.
    """

    name: str
    # "per_epoch": one key per epoch, reused by every step and every dropout
    # layer (the notebook passes the epoch's permutation key as `rng`).
    # "per_step": a fresh key per step and per layer (what nn.Dropout intends).
    dropout_keys: str = "per_epoch"
    # "own": each split normalised by its own mean/std, then its own max
    # (the notebook). "train": the test split uses the train split's statistics.
    test_normalisation: str = "own"
    learning_rate: float = 1e-3
    batch_size: int = 32
    dropout_rates: tuple[float, ...] = WRITEUP_DROPOUT_RATES

    def __post_init__(self) -> None:
        if self.dropout_keys not in ("per_epoch", "per_step"):
            raise ValueError(f"dropout_keys must be 'per_epoch' or 'per_step', got {self.dropout_keys!r}")
        if self.test_normalisation not in ("own", "train"):
            raise ValueError(f"test_normalisation must be 'own' or 'train', got {self.test_normalisation!r}")


WRITEUP = Protocol(name="writeup")
CORRECTED = Protocol(name="corrected", dropout_keys="per_step", test_normalisation="train")
PROTOCOLS = {p.name: p for p in (WRITEUP, CORRECTED)}


@dataclass(frozen=True)
class Tier:
    """How much data, how many epochs and seeds.

    `train_per_class` / `test_per_class` of None means the whole split.
    """

    name: str
    epochs: int
    num_seeds: int
    train_per_class: int | None = None
    test_per_class: int | None = None
    subset_seed: int = 0
    # Seeds are first_seed, first_seed + 1, ...: the tiers start at the writeup's own
    # seed; the smoke calibration (claims/calibrate_smoke.py) moves it to draw
    # disjoint seed sets of the same configuration.
    first_seed: int = WRITEUP_SEED

    def seeds(self) -> tuple[int, ...]:
        return tuple(self.first_seed + i for i in range(self.num_seeds))

    def is_reduced(self, *, seeds_by_rule: bool = False) -> bool:
        """Fewer epochs or seeds than the tier's defaults (e.g. `-m full --seeds 3 --epochs 2`): not the tier's
        verdicts. `seeds_by_rule`: a stopping rule chose the number of seeds (--seeds auto), so only fewer epochs
        count. A tier's evidence asks `Evidence.reduced`, which decides this for both modes."""
        default = TIERS.get(self.name)
        return default is not None and (
            self.epochs < default.epochs or (not seeds_by_rule and self.num_seeds < default.num_seeds))


# Smoke: a miniature of the full tier, chosen by `python -m claims.smoke_grid` among tiers of about the same
# CPU cost (fixtures/smoke_grid.json: agreement with the full-tier reference plus the share of hypotheses a short
# calibration decides alike): few enough training images that the baseline overfits as in the full tier, trained
# for more epochs. 10 paired seeds (a discrete statistic's exact sign-flip p is at least 2^-n, and 2^-10 still
# passes the first step of Holm's correction over the primary family; fewer seeds would make such hypotheses
# undecidable). 2,000 test images halve the binomial noise of test accuracies (against 1,000) for the cost of
# evaluation alone.
SMOKE = Tier(name="smoke", epochs=24, num_seeds=10, train_per_class=100, test_per_class=200)
FULL = Tier(name="full", epochs=200, num_seeds=8)
TIERS = {t.name: t for t in (SMOKE, FULL)}
# --seeds auto (harness/deciding/until_decided.py): per tier, (paired seeds per batch, most seeds in all). Not part of a
# run's key: a batch is a tier with a seed range. Full: batches of 4 keep a GPU's program as wide as the fixed
# tier's half while wasting at most 3 seeds past the decision; the cap of 64 is the cost table's
# (reports/reference/sequential-cost.md), where the slowest primary hypotheses of the references are decided.
# Smoke: batches of 5 (half the fixed tier); the cap of 20 bounds a CPU run at twice the fixed tier's training,
# past the 13 seeds the sign e-process needs at the family's level.
AUTO_SEEDS: dict[str, tuple[int, int]] = {SMOKE.name: (5, 20), FULL.name: (4, 64)}


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run set's numbers, except the data itself."""

    protocol: Protocol
    tier: Tier
    widths: tuple[int, ...] = HIDDEN_WIDTHS
    # Histogram of positive test activations at the last epoch (the writeup's
    # figure shows 0..4 in 100 bins); values above hist_max land in the last bin.
    hist_bins: int = 100
    hist_max: float = 4.0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        """Inverse of `as_dict` (after a JSON round trip, which turns tuples into lists)."""
        protocol = {k: tuple(v) if isinstance(v, list) else v for k, v in d["protocol"].items()}
        return cls(
            protocol=Protocol(**protocol),
            tier=Tier(**d["tier"]),
            widths=tuple(d["widths"]),
            hist_bins=d["hist_bins"],
            hist_max=d["hist_max"],
        )

    def key(self, dataset_digest: str, version: str) -> str:
        """SHA-256 over the config, the data it sees and `version`: the harness version where the key names the
        configuration (the smoke calibration's), everything else that decides the numbers where it names trained
        runs (the run cache's: training/runs.py's `run_identity`)."""
        payload = json.dumps(
            {"config": self.as_dict(), "dataset": dataset_digest, "harness": version},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


# --------------------------------------------------------------------------- the multiverse (harness/multiverse/gather.py)


@dataclass(frozen=True)
class Condition:
    """One cell of the multiverse: the claims decided under another protocol, dropout rates or training length.

    `rate_scale` multiplies the writeup's dropout rates (0: the negative control, where the "dropout" model is
    the baseline under another name); `epoch_fraction` of the tier's epochs is where the claims are read.
    """

    protocol: str = "writeup"
    rate_scale: float = 1.0
    epoch_fraction: float = 1.0

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}: choose one of {sorted(PROTOCOLS)}")
        rates = PROTOCOLS[self.protocol].dropout_rates
        if not (self.rate_scale >= 0 and max(rates) * self.rate_scale < 1):
            raise ValueError(f"rate_scale {self.rate_scale:g} must be >= 0 and keep every dropout rate below 1 "
                             f"(the writeup's largest is {max(rates):g})")
        if not 0 < self.epoch_fraction <= 1:
            raise ValueError(f"epoch_fraction must be in (0, 1], got {self.epoch_fraction:g}")

    @property
    def name(self) -> str:
        return f"{self.protocol} · rates ×{self.rate_scale:g} · {self.epoch_fraction:g} of the epochs"

    @property
    def is_primary(self) -> bool:
        """The writeup's own condition: the pre-registered verdicts that the tiers assert."""
        return self.protocol == WRITEUP.name and self.rate_scale == 1 and self.epoch_fraction == 1

    @property
    def is_control(self) -> bool:
        """Rates 0: any SUPPORTED difference between the two "variants" is a false positive of the pipeline."""
        return self.rate_scale == 0

    def epochs(self, tier: Tier) -> int:
        return max(1, round(tier.epochs * self.epoch_fraction))

    def run_config(self, tier: Tier, widths: tuple[int, ...] = HIDDEN_WIDTHS) -> RunConfig:
        """The configuration this condition's runs would have trained alone (the claims read it)."""
        base = PROTOCOLS[self.protocol]
        rates = tuple(round(rate * self.rate_scale, 6) for rate in base.dropout_rates)
        return RunConfig(protocol=dataclasses.replace(base, dropout_rates=rates),
                         tier=dataclasses.replace(tier, epochs=self.epochs(tier)), widths=widths)


def multiverse(
    protocols: tuple[str, ...] = (WRITEUP.name, CORRECTED.name),
    rate_scales: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5),
    epoch_fractions: tuple[float, ...] = (0.25, 0.5, 1.0),
) -> tuple[Condition, ...]:
    """Every combination, protocol-major (the report's columns in this order)."""
    return tuple(Condition(p, r, f) for p in protocols for r in rate_scales for f in epoch_fractions)


# The default: 2 protocols x 4 rate scales (0: the negative control) x 3 training lengths.
MULTIVERSE: tuple[Condition, ...] = multiverse()
# The machinery's own check in every `pytest` (tests/test_multiverse.py): the primary condition and its control.
TINY_MULTIVERSE: tuple[Condition, ...] = (Condition(), Condition(rate_scale=0.0))
