"""C6: dropout's positive activations are less spread out, sparser and smaller."""

from harness.deciding import stats

CLAIM = "C6"
READS = (
    "final/test_positive_mean",
    "final/test_positive_std",
    "final/test_positive_fraction",
    "final/test_positive_mean_pooled",
    "final/test_positive_std_pooled",
    "final/test_positive_fraction_pooled",
)

# (part, summary, the writeup's word)
PARTS = (
    ("spread", "test_positive_std", "more spread out (std of positive activations)"),
    ("sparse", "test_positive_fraction", "more often positive (fraction of positive activations)"),
    ("magnitude", "test_positive_mean", "larger in magnitude (mean of positive activations)"),
)


def hypotheses(ev) -> list[stats.Result]:
    """Primary: the four layers pooled, as the writeup's histogram pools them."""
    return [
        stats.paired_t(
            ev.runs.last(f"{summary}_pooled", "baseline"), ev.runs.last(f"{summary}_pooled", "dropout"),
            alternative="greater", hypothesis=f"C6.{part}", between_variants=True,
            discrete=False,  # std / fraction / mean over every positive ReLU output of the test split
            statement=f"all layers pooled: the baseline's activations are {words}",
        )
        for part, summary, words in PARTS
    ]


def secondary(ev) -> list[stats.Result]:
    """Per-layer sub-verdicts: where the pooled verdict holds and where a layer goes the other way."""
    return [
        stats.paired_t(
            ev.runs.last(summary, "baseline")[:, layer], ev.runs.last(summary, "dropout")[:, layer],
            alternative="greater", hypothesis=f"C6.layer{layer}.{part}", between_variants=True,
            discrete=False,  # as the pooled parts, within one layer
            statement=f"layer {layer}: the baseline's activations are {words}",
        )
        for layer in range(len(ev.config.widths))
        for part, summary, words in PARTS
    ]


def test_c6_dropout_activations_sparser_and_smaller(claim):
    """The writeup: "the baseline activations are more spread out than the candidate ones, which
    are more sparse and smaller in magnitude" (histograms of positive activations, test set,
    final epoch, all four layers pooled).

    Operationalisation, at the last epoch on the tier's test split (eval mode):
    primary (decide the claim), all hidden ReLU outputs of the four layers pooled as in
    the writeup's histogram:
      C6.spread     std of the positive outputs: baseline > dropout;
      C6.sparse     fraction of outputs that are positive: baseline > dropout;
      C6.magnitude  mean of the positive outputs: baseline > dropout;
    each a one-sided paired test across seeds.
    secondary: the same three per layer (C6.layer<l>.<part>). Pooling weights the
    layers by their widths (layer 0 holds 256 of the 480 units) and mixes their
    scales, so a layer can go against the pooled verdict: the per-layer sub-verdicts
    show where. The claim's verdict rule: C6 holds iff all three pooled parts are
    SUPPORTED, because the writeup's statement is about its pooled histogram.
    """
    ev = claim.evidence
    claim.details = {
        f"{summary} per layer (mean over seeds)": {
            variant: [round(float(x), 4) for x in ev.runs.last(summary, variant).mean(axis=0)]
            for variant in ev.runs.variants
        }
        for _, summary, _ in PARTS
    }
    claim.writeup_figures = ["positive_histograms"]
    claim.assert_as_expected()
