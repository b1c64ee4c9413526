"""Harness for checking the claims of "How and Why Does Dropout Work?".

The flow, one module per step:

    data.py             CIFAR-10 on disk -> verified uint8 arrays (all the file I/O)
    config.py           protocols, tiers and the multiverse's conditions as plain data
    settings.py         a run's settings, resolved from options and the environment (the pytest plugin
                        fixtures/options.py and the command-line tools share it)
    input_pipeline.py   the tier's subset of the arrays, normalised, on device (pure transforms)
    models.py           the writeup's baseline and dropout MLPs; the arms (keep probabilities) a configuration trains
    run_set.py          the types training takes and gives: data, state, run layout, run set
    train.py            one jitted program: every seed x variant (summaries.py: what each run reports)
    cache.py, runs.py   runs on disk keyed by everything that decides them; the one way to them, for a tier
                        or the multiverse's conditions: cached, else trained (checkpoints, resume, Ctrl-C)
    probes.py           measurements on the trained networks (claims C7-C10)
    evidence.py         everything a tier's claims are decided from (gather.py gathers it)
    stats.py            paired tests, equivalence, trends, Holm, verdicts
                        (size_grid.py: each rule's size over data shapes; redecide.py: the references
                        decided again under the current rules)
    sequential.py       seeds until decided: e-processes, confidence sequences, decisions that stand
                        (sequential_cost.py: their error rates and expected seeds, simulated)
    stability.py        how stable a smoke verdict is across seed sets (the pinned expectations)
    drift.py            whether a smoke run's numbers moved beyond the calibration's seed sets (the drift test)
    claim_check.py      one claim's verdicts, report content and the tier's assertion (what claims/ fill)
    writeup.py          the writeup's quotes and numbers; prediction intervals for them
    figures.py          matplotlib figures from the summaries
    evidence_report.py  what goes into the report (provenance.py: where it came from); report.py renders it;
                        browser.py checks it
    compare.py          what changed between two evidence files (and since reports/reference/)
    multiverse.py       every claim under many conditions: trained as one program, gathered per condition
                        (distributed.py: the runs shared out over several processes or hosts);
                        multiverse_decide.py decides each condition and lays them out as one matrix;
                        multiverse_report.py writes it

writeup_loop.py transcribes the writeup's own training loop: the oracle the
trainer is tested against and the baseline it is benchmarked against.
atomic.py holds the one atomic file writer; compile_cache.py keeps compiled programs on disk
(jax's persistent compilation cache); tfds_source.py reads a
tensorflow-datasets copy of CIFAR-10 into the same arrays as data.py.

Imports, from the leaves (level 0) to the report (level 5): a module imports
only from lower levels. tests/test_imports.py recomputes this drawing from the
source and fails when it is stale or deeper than 5.

    0  atomic  browser  compile_cache  config  stats  summaries
    1  data  figures  redecide  report  run_set  sequential  size_grid  stability  writeup
    2  compare  distributed  drift  input_pipeline  models  multiverse_decide  sequential_cost  settings  tfds_source  writeup_loop
    3  cache  evidence  multiverse_report  train
    4  claim_check  probes  provenance  runs
    5  evidence_report  gather  multiverse  until_decided
"""

from pathlib import Path

HARNESS_VERSION = "1"
# The repository's root: reports/, fixtures/ and the git checkout are found from here.
REPOSITORY = Path(__file__).resolve().parent.parent
