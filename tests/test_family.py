"""The claims as one family (claims/family.py): explicit modules, failures attributed to their claim."""

import types

import numpy as np
import pytest

from claims import family
from harness import stats


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
