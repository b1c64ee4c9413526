"""One test module per claim of the writeup (C0-C10); `family.py` lists them and decides them together.

Each module names its CLAIM, defines `hypotheses(evidence)` -- the
pre-registered primary statistics, fixed in code before any data is seen,
which decide the claim -- optionally `secondary(evidence)` (sub-verdicts shown
beside it), and a test whose docstring quotes the writeup and states the
operationalisation and the claim's verdict rule. The test ends with
`claim.assert_as_expected()`: the full tier asserts the writeup's claim as
stated; the smoke tier asserts the verdicts that `calibrate_smoke.py` pinned
as stable across seed sets and numeric paths (fixtures/smoke_expectations.json).

Why paired t-tests across seeds (and not Wilcoxon or a bootstrap): each
per-seed number is an average over thousands of test images or units, so it
is close to normal (central limit theorem) and the t-test is the efficient
test; a rank test gains nothing there. A bootstrap CI under-covers at the 8-10
seeds we can afford (tests/test_stats.py measures it with scipy's BCa
bootstrap), where the t interval keeps its level. Every hypothesis declares
the kind of its statistic where it is built (`discrete=`, with the reason in a
comment): continuous statistics get the t-test; statistics few-valued by
construction (integer epochs) get the exact sign-flip test, whose size holds
on values on a few levels where the t-test's does not (harness/deciding/stats.py;
reports/size-grid.md measures both). "Similar" / "approaches"
/ "agree" are paired TOST equivalence tests with the margin stated and
justified in the claim's module.
"""
