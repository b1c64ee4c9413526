"""C8: scaling by 1-p at test time (the writeup's text) vs inverted dropout (its code)."""

import numpy as np

from harness.deciding import stats
from harness.deciding.claim_check import per_seed
from harness.evidence.probes import EXPECTATION_SAMPLES
from harness.reporting import figures

CLAIM = "C8"
READS = ("probes/expectation_bias",)

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
            discrete=False,  # a relative bias summed over the test split and 64 mask draws
            statement="in every dropout layer of the trained model, the expected train-time output of the model's "
                      f"own dropout layer equals the test-time output within {EXPECTATION_MARGIN:.0%}",
        )
    ]


def test_c8_scaling_conventions_agree(claim):
    """The writeup: "During the testing phase, dropout is not applied, but instead, the outputs of
    each layer are scaled down by a factor of 1-p" -- while its code uses flax's inverted dropout,
    which scales by 1/(1-p) in training and does nothing at test time.

    Operationalisation, on each trained dropout network (tier's test split):
      exact part      (an exact check, like C0: no statistics) the writeup's convention
          applied to the trained network (next layer's weights divided by 1-p, outputs
          scaled by 1-p at test) computes the same logits as the eval-mode network:
          max |difference| / max |logit| below 1e-4 and identical predictions, for every
          seed. This is an algebraic identity, checked on the real networks with float32
          products (a GPU's default TF32 products round at 2^-11, above the tolerance).
      C8.expectation  the empirical part, on the model's OWN dropout layer (the function
          the trainer applies): per dropout layer, with the layer's eval-mode input h
          fixed, the relative bias (E_mask[dropout(h)] - h) / h summed over the test set,
          from 64 draws; the same number for the writeup's convention. Per seed the layer
          with the largest |bias| is taken; H1: it lies within +-1% (paired TOST across
          seeds). Its sampling error alone is reported beside it.
      reported, not decided: where the conventions meet practice, the next BatchNorm's
          input variance under train-time dropout divided by its test-time variance
          (the variance shift of Li et al. 2019), per layer; the same under either convention.
    The claim's verdict rule: C8 holds iff the exact part holds and C8.expectation is SUPPORTED.
    """
    p = claim.evidence.probes
    exact = bool(np.all(p.conversion_max_error < CONVERSION_TOLERANCE) and np.all(p.conversion_agreement == 1.0))
    claim.exact = (exact, (
        f"scale-at-test network vs inverted-dropout network: max |logit difference| / max |logit| "
        f"{float(np.max(p.conversion_max_error)):.2g} (tolerance {CONVERSION_TOLERANCE:g}), identical predictions "
        f"for {int(np.sum(p.conversion_agreement == 1.0))} of {len(p.conversion_agreement)} seeds"
    ))
    claim.details = {
        f"relative bias per layer ({EXPECTATION_SAMPLES} masks), mean over seeds": [
            round(float(b), 6) for b in p.expectation_bias.mean(axis=0)
        ],
        "sampling standard error per layer, mean over seeds": [
            round(float(b), 6) for b in p.expectation_noise.mean(axis=0)
        ],
        "variance shift per layer: next BatchNorm's input variance, train-time dropout / test time (mean over seeds)": [
            round(float(b), 4) for b in p.variance_shift.mean(axis=0)
        ],
        "conversion: max |logit difference| / max |logit| per seed": per_seed(p.conversion_max_error),
        "conversion: identical predictions per seed": per_seed(p.conversion_agreement),
    }
    claim.figures["C8_expectation_bias"] = figures.expectation_bias(
        p.expectation_bias, p.expectation_noise, EXPECTATION_MARGIN
    )
    claim.assert_as_expected()
