"""Harness for checking the claims of "How and Why Does Dropout Work?".

The flow, one module per step:

    data.py        CIFAR-10 on disk -> verified uint8 arrays (+ subsets, normalisation)
    config.py      protocols and tiers as plain data
    models.py      the writeup's baseline and dropout MLPs
    train.py       one jitted program: every seed x variant, on-device summaries
    cache.py       runs on disk, keyed by everything that decides them
    runs.py        "give me the runs for this tier": cache hit or train
    probes.py      post-training measurements on the final networks (C7-C10)
    stats.py       paired tests, equivalence, Holm, verdicts
    reference.py   the writeup's reported numbers and prediction intervals
    figures.py     matplotlib figures from the summaries
    report.py      evidence.json + one self-contained evidence.html
"""

HARNESS_VERSION = "1"
