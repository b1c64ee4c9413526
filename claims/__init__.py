"""One test module per claim of the writeup (C0-C10).

Each module names its CLAIM, defines `hypotheses(evidence)` -- the
pre-registered statistics, fixed in code before any data is seen -- and a test
whose docstring quotes the writeup and states the operationalisation. A module
may set SMOKE_XFAIL to the measured reason why the claim does not hold at the
reduced smoke scale; its smoke test is then a strict xfail.

Why paired t-tests across seeds (and not Wilcoxon or a bootstrap): each
per-seed number is an average over thousands of test images or units, so it
is close to normal (central limit theorem) and the t-test is efficient; with
the 5-8 seeds we can afford, Wilcoxon's smallest one-sided p (1/32 at n = 5,
1/256 at n = 8) cannot survive Holm over a family of ~37 hypotheses, and the
bootstrap's CI under-covers at such n (tests/test_stats.py measures 0.89 at
n = 8). "Similar" / "approaches" / "agree" are paired TOST equivalence tests
with the margin stated and justified in the claim's module; "increases as
training progresses" is a per-seed OLS slope, tested across seeds.
"""
