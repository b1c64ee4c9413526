"""The claims as one family: the claim modules, and every hypothesis of a tier decided together.

Each claim module defines `CLAIM`, its id, and `READS`, the summaries its
verdicts are decided from ('curves/<name>', 'final/<name>', 'probes/<name>':
fixtures/finite.py names the claims reading a non-finite one; tests/test_family.py
checks the declarations against what deciding reads), and
`hypotheses(evidence)`: the PRIMARY hypotheses, which
decide the claim (it holds only if every one is SUPPORTED). A module may also
define `secondary(evidence)`: sub-verdicts shown beside the claim (e.g. per
layer where the writeup's figure pools the layers) that do not decide it.
Primary hypotheses of all claims form one Holm family, secondary ones another,
so that a claim's verdict is corrected for every claim of the tier whichever
claims a session selected, and adding a sub-verdict never weakens a verdict.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from harness.deciding import stats
from harness.deciding.stats import Decided

# In the writeup's order; the report lists the claims in this order too.
CLAIM_MODULES: tuple[str, ...] = (
    "test_c0_parameters",
    "test_c1_test_accuracy",
    "test_c2_overfitting",
    "test_c3_convergence",
    "test_c4_active_neurons",
    "test_c5_activation_statistics",
    "test_c6_positive_activations",
    "test_c7_ensemble",
    "test_c8_scaling",
    "test_c9_input_noise",
    "test_c10_coadaptation",
)


def claim_modules() -> list[ModuleType]:
    return [importlib.import_module(f"claims.{name}") for name in CLAIM_MODULES]


def decide(evidence) -> dict[str, Decided]:
    """Every claim's hypotheses computed from the evidence, each family Holm-corrected as a whole."""
    modules = claim_modules()
    primary = {m.CLAIM: _computed(m, "hypotheses", evidence) for m in modules if hasattr(m, "hypotheses")}
    secondary = {m.CLAIM: _computed(m, "secondary", evidence) for m in modules if hasattr(m, "secondary")}
    decided_primary = _holm_by_claim(primary)
    decided_secondary = _holm_by_claim(secondary)
    return {
        m.CLAIM: Decided(decided_primary.get(m.CLAIM, []), decided_secondary.get(m.CLAIM, []))
        for m in modules
    }


class HypothesisError(ValueError):
    """A claim's statistic could not be computed (e.g. a log of a zero count): names the claim and why."""


def _computed(module: ModuleType, function: str, evidence) -> list[stats.Result]:
    """`module.function(evidence)`, with a failure of the statistics layer attributed to its claim."""
    try:
        return getattr(module, function)(evidence)
    except ValueError as error:
        raise HypothesisError(
            f"{module.CLAIM} ({module.__name__}.{function}) cannot be decided from this evidence: {error}. "
            "A non-finite statistic usually means a degenerate run (e.g. a layer with no active unit, "
            "whose log count is -inf); check the run's summaries in the report."
        ) from None


def _holm_by_claim(results: dict[str, list[stats.Result]]) -> dict[str, list[stats.Verdict]]:
    family = stats.holm([r for rs in results.values() for r in rs])
    by_id = {v.result.hypothesis: v for v in family}
    if len(by_id) != len(family):
        raise ValueError("two hypotheses share an id: " + ", ".join(sorted(v.result.hypothesis for v in family)))
    return {claim: [by_id[r.hypothesis] for r in rs] for claim, rs in results.items()}
