"""C10: with dropout, units co-adapt less."""

from harness import figures, stats

CLAIM = "C10"
SMOKE_XFAIL = (
    "smoke: dropout's units are MORE correlated than the baseline's (mean |correlation| +0.077 [+0.072, +0.081]): REFUTED, as redundancy under dropout would predict"
)


def hypotheses(ev) -> list[stats.Result]:
    co = ev.probes.coadaptation.mean(axis=-1)  # (variants, seeds): mean over layers
    v = ev.runs.variants
    return [
        stats.paired_t(
            co[v.index("dropout")], co[v.index("baseline")], alternative="less", hypothesis="C10",
            unit="mean |correlation|",
            statement="dropout's hidden units are less correlated with each other than the baseline's",
        )
    ]


def test_c10_less_coadaptation(claim):
    """The writeup: "In the baseline model, a neuron tends to co-adapt to other specific neurons,
    which leads to overfitting. By using dropout, a neuron cannot necessarily depend on other units
    and has to individually learn a more robust function."

    Proxy: co-adapted units fire together, so co-adaptation is measured as the mean
    absolute Pearson correlation between the ReLU outputs of every pair of units in
    a hidden layer, over the tier's test split at the last epoch (eval mode); units
    that never fire are excluded and counted. This is the cross-covariance that
    Cogswell et al. (2016, "Reducing overfitting in deep networks by decorrelating
    representations") use as the signature of co-adapted, redundant units, the
    phenomenon Srivastava et al. (2014, sec. 7) say dropout breaks up.
    H1: dropout's value, averaged over the four layers, is lower than the
    baseline's; one-sided paired t-test across seeds. Per-layer values are shown.
    """
    ev = claim.evidence
    p = ev.probes
    claim.details = {
        "mean |correlation| per layer (mean over seeds)": {
            variant: [round(float(x), 4) for x in p.coadaptation[i].mean(axis=0)]
            for i, variant in enumerate(ev.runs.variants)
        },
        "units that never fire per layer (mean over seeds)": {
            variant: [round(float(x), 2) for x in p.dead_units[i].mean(axis=0)]
            for i, variant in enumerate(ev.runs.variants)
        },
    }
    claim.figures["C10_coadaptation"] = figures.per_layer_paired(
        p.coadaptation, ylabel="mean |correlation| between units", title="Co-adaptation proxy per layer"
    )
    claim.assert_supported()
