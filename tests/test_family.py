"""The claims as one family (claims/family.py): explicit modules, failures attributed to their claim."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from claims import family
from harness.config import WRITEUP, RunConfig, Tier
from harness.deciding import stats
from harness.evidence.evidence import Evidence, Probes
from harness.evidence.probes import MC_SAMPLES, NOISE_LEVELS
from harness.training import summaries
from harness.training.models import arms_of
from harness.training.run_set import RunSet
from harness.training.summaries import SplitPass


def test_every_claim_module_is_listed_once_in_the_writeups_order():
    modules = family.claim_modules()
    assert [m.CLAIM for m in modules] == [f"C{i}" for i in range(11)]


def test_a_statistic_that_cannot_be_computed_names_its_claim():
    """C4 takes the log of active-unit counts: a dead layer gives -inf, which must not surface as a bare numpy error."""
    counts = np.array([3.0, 0.0, 2.0])
    module = types.ModuleType("claims.test_cx")
    module.CLAIM = "CX"
    module.hypotheses = lambda ev: [stats.paired_t(np.log(counts), np.log(counts + 1), hypothesis="CX",
                                                   statement="stand-in", discrete=False)]
    with np.errstate(divide="ignore"), pytest.raises(family.HypothesisError, match=r"CX \(claims.test_cx.hypotheses\)"):
        family._computed(module, "hypotheses", evidence=None)


# Each probe's shape as `Probes` documents it: the axes named by letters, sized below.
PROBE_SHAPES = {
    "mc_samples": "K", "mc_accuracy": "sK", "single_subnetwork_accuracy": "s", "deterministic_accuracy": "s",
    "expectation_bias": "sl", "expectation_noise": "sl", "variance_shift": "sl", "conversion_max_error": "s",
    "conversion_agreement": "s", "noise_levels": "P", "noisy_accuracy": "vsP", "coadaptation": "vsl",
    "dead_units": "vsl", "ablation_drop": "vsl",
}


class Recorded(dict):
    """A dict of summaries that notes, as 'kind/name', every one that is read."""

    def __init__(self, kind: str, values: dict, seen: set[str]) -> None:
        super().__init__(values)
        self.kind, self.seen = kind, seen

    def __getitem__(self, name: str):
        self.seen.add(f"{self.kind}/{name}")
        return super().__getitem__(name)


class RecordedProbes:
    """Probes that note, as 'probes/name', every one that is read."""

    def __init__(self, probes: Probes, seen: set[str]) -> None:
        self._probes, self._seen = probes, seen

    def __getattr__(self, name: str):
        self._seen.add(f"probes/{name}")
        return getattr(self._probes, name)


def recording_evidence(seen: set[str], seeds: int = 6, epochs: int = 6, test_images: int = 50) -> Evidence:
    """Random but well-formed evidence of the claims' real shapes (the summaries' from summaries.py, traced, not
    run), recording into `seen` each summary and probe read: cheap enough to decide the whole family."""
    rng = np.random.default_rng(0)
    widths = (8, 6, 5, 4)
    config = RunConfig(WRITEUP, Tier("recorded", epochs=epochs, num_seeds=seeds), widths=widths, hist_bins=10)
    split = SplitPass(jax.ShapeDtypeStruct((test_images, 10), jnp.float32),
                      tuple(jax.ShapeDtypeStruct((test_images, w), jnp.float32) for w in widths),
                      jax.ShapeDtypeStruct((test_images,), jnp.int32))
    curves = jax.eval_shape(summaries.per_epoch, split, split)
    final = jax.eval_shape(lambda s: summaries.at_end(s, hist_bins=config.hist_bins, hist_max=config.hist_max),
                           split)

    def values(shape: tuple[int, ...], dtype) -> np.ndarray:
        if np.dtype(dtype) == bool:
            return rng.random(shape) < 0.6
        return rng.uniform(0.2, 0.8, shape) * (10 if np.dtype(dtype).kind == "i" else 1)

    runs = RunSet(
        config=config, seeds=tuple(range(seeds)), params={}, batch_stats={},
        keep_probs={arm.name: arm.keep_probs for arm in arms_of(config)},
        curves=Recorded("curves", {n: values((2, seeds, epochs + 1, *s.shape), s.dtype) for n, s in curves.items()},
                        seen),
        final=Recorded("final", {n: values((2, seeds, *s.shape), s.dtype) for n, s in final.items()}, seen),
    )
    sizes = {"K": len(MC_SAMPLES), "P": len(NOISE_LEVELS), "s": seeds, "v": 2, "l": len(widths)}
    probes = Probes(**{name: values(tuple(sizes[axis] for axis in axes), float) for name, axes in PROBE_SHAPES.items()}
                    | {"mc_samples": np.asarray(MC_SAMPLES), "noise_levels": np.asarray(NOISE_LEVELS)})
    return Evidence(config, None, runs, RecordedProbes(probes, seen), "", 0.0)


def test_each_claim_declares_exactly_the_summaries_its_verdicts_read():
    """READS, which names the claims reading a non-finite summary (fixtures/finite.py), against what deciding each
    claim reads: a summary read but not declared, or declared but not read, fails."""
    for module in family.claim_modules():
        seen: set[str] = set()
        evidence = recording_evidence(seen)
        for function in ("hypotheses", "secondary"):
            if hasattr(module, function):
                getattr(module, function)(evidence)
        assert set(module.READS) == seen, f"{module.CLAIM}: READS differs from what it reads by {set(module.READS) ^ seen}"
    assert family.decide(recording_evidence(set()))  # the same evidence decides the family as one
