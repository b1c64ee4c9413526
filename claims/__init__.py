"""One test module per claim of the writeup (C0-C10); `family.py` lists them and decides them together.

Each module names its CLAIM, defines `hypotheses(evidence)` -- the
pre-registered primary statistics, fixed in code before any data is seen,
which decide the claim -- optionally `secondary(evidence)` (sub-verdicts shown
beside it), and a test whose docstring quotes the writeup and states the
operationalisation and the claim's verdict rule. The test ends with
`claim.assert_as_expected()`: the full tier asserts the writeup's claim as
stated; the smoke tier asserts the verdicts that `calibrate_smoke.py` pinned
as stable across seed sets and numeric paths (fixtures/smoke_expectations.json).

Why exact sign flips across seeds (and not the t-test, Wilcoxon or a bootstrap
CI): the seed is the unit, and with 5-16 seeds no distributional assumption can
be checked. Against "no difference" the exact sign-flip test of the per-seed
values assumes only what the null itself implies -- two variants that share a
seed are exchangeable when neither is better, so their difference is symmetric
-- and keeps its size on every shape, spread or tied (integer epochs, accuracies
on a finite test set); the t-test does not on tied values, and choosing between
the two by the data made the size depend on that choice. Its price is p >= 2^-n.
Against a boundary other than 0 (a smallest effect of interest, an equivalence
margin, a named value) nothing makes the values symmetric, and the boundary test
adds a bootstrap-t to the sign flips (harness/stats.py). A bootstrap CI
under-covers at the 8-10 seeds we can afford (tests/test_stats.py measures it
with scipy's BCa bootstrap), so the reported interval is the t interval.
reports/size-grid.md gives the size of every rule over data shapes.
"Similar" / "approaches" / "agree" are paired TOST equivalence tests with the
margin stated and justified in the claim's module.
"""
