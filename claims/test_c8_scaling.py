"""C8: scaling by 1-p at test time (the writeup's text) vs inverted dropout (its code)."""

import numpy as np

from harness import figures, stats
from harness.probes import EXPECTATION_SAMPLES
from fixtures.claim_check import per_seed

CLAIM = "C8"
SMOKE_XFAIL = None

# "agree in expectation": the train-time mean within 1% of the test-time output.
EXPECTATION_MARGIN = 0.01
# The two conventions are the same function up to float32 rounding.
CONVERSION_TOLERANCE = 1e-4


def hypotheses(ev) -> list[stats.Result]:
    bias = ev.probes.expectation_bias  # (seeds, layers)
    worst = bias[np.arange(len(bias)), np.abs(bias).argmax(axis=1)]
    return [
        stats.equivalence_tost(
            worst, np.zeros_like(worst), margin=EXPECTATION_MARGIN, hypothesis="C8.expectation",
            unit="relative bias",
            statement="in every dropout layer, the expected train-time output equals the test-time output "
                      f"within {EXPECTATION_MARGIN:.0%}",
        )
    ]


def test_c8_scaling_conventions_agree(claim):
    """The writeup: "During the testing phase, dropout is not applied, but instead, the outputs of
    each layer are scaled down by a factor of 1-p" -- while its code uses flax's inverted dropout,
    which scales by 1/(1-p) in training and does nothing at test time.

    Operationalisation, on each trained dropout network (tier's test split):
      C8.expectation  per dropout layer, with the layer's eval-mode input h fixed,
          the relative bias (E_mask[train-time output] - test-time output) / test-time
          output, estimated from 64 sampled masks; it is the same number for the
          writeup's convention (mask*h vs (1-p)h) and flax's (mask*h/(1-p) vs h).
          Per seed the layer with the largest |bias| is taken; H1: it lies within
          +-1% (paired TOST across seeds). Sampling error alone is reported beside it.
      exact part      the writeup's convention applied to the trained network (next
          layer's weights divided by 1-p, outputs scaled by 1-p at test) computes
          the same logits as the eval-mode network: max |difference| / max |logit|
          below 1e-4 and identical predictions, for every seed.
    """
    p = claim.evidence.probes
    exact = bool(np.all(p.conversion_max_error < CONVERSION_TOLERANCE) and np.all(p.conversion_agreement == 1.0))
    claim.details = {
        f"relative bias per layer ({EXPECTATION_SAMPLES} masks), mean over seeds": [
            round(float(b), 6) for b in p.expectation_bias.mean(axis=0)
        ],
        "sampling standard error per layer, mean over seeds": [
            round(float(b), 6) for b in p.expectation_noise.mean(axis=0)
        ],
        "conversion: max |logit difference| / max |logit| per seed": per_seed(p.conversion_max_error),
        "conversion: identical predictions per seed": per_seed(p.conversion_agreement),
    }
    claim.figures["C8_expectation_bias"] = figures.expectation_bias(
        p.expectation_bias, p.expectation_noise, EXPECTATION_MARGIN
    )
    assert exact, f"The two conventions do not compute the same function: {claim.details}"
    claim.assert_supported()
