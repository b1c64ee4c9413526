"""One test module per claim of the writeup (C0-C10).

Each module names its CLAIM, defines `hypotheses(evidence)` -- the
pre-registered statistics, fixed in code before any data is seen -- and a test
whose docstring quotes the writeup and states the operationalisation. A module
may set SMOKE_XFAIL to the measured reason why the claim does not hold at the
reduced smoke scale; its smoke test is then a strict xfail.
"""
