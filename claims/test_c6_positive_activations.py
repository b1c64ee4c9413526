"""C6: dropout's positive activations are less spread out, sparser and smaller."""


from harness import stats

CLAIM = "C6"
SMOKE_XFAIL = None

# (hypothesis, summary, the writeup's word)
PARTS = (
    ("C6.spread", "test_positive_std", "more spread out (std of positive activations)"),
    ("C6.sparse", "test_positive_fraction", "more often positive (fraction of positive activations)"),
    ("C6.magnitude", "test_positive_mean", "larger in magnitude (mean of positive activations)"),
)


def hypotheses(ev) -> list[stats.Result]:
    return [
        stats.paired_t(
            ev.runs.last(f"{summary}_pooled", "baseline"), ev.runs.last(f"{summary}_pooled", "dropout"),
            alternative="greater", hypothesis=hypothesis, statement=f"the baseline's activations are {words}",
        )
        for hypothesis, summary, words in PARTS
    ]


def test_c6_dropout_activations_sparser_and_smaller(claim):
    """The writeup: "the baseline activations are more spread out than the candidate ones, which
    are more sparse and smaller in magnitude" (histograms of positive activations, test set,
    final epoch, all four layers pooled).

    Operationalisation, at the last epoch on the tier's test split (eval mode), all
    hidden ReLU outputs of the four layers pooled as in the writeup's histogram:
      C6.spread     std of the positive outputs: baseline > dropout;
      C6.sparse     fraction of outputs that are positive: baseline > dropout;
      C6.magnitude  mean of the positive outputs: baseline > dropout;
    each a one-sided paired t-test across seeds. Per-layer values are reported.
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
    claim.assert_supported()
