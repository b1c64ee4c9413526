"""Harness for checking the claims of "How and Why Does Dropout Work?".

The flow, one folder per step (a folder imports only from the folders above it and the top-level modules;
tests/test_imports.py checks it):

    config.py    protocols, tiers and the multiverse's conditions as plain data: all that decides the numbers
    settings.py  where the data and cache are and how much to run, resolved from options and the environment
                 (the pytest plugin fixtures/options.py and the command-line tools share it)
    atomic.py    the one atomic file writer

    data/        CIFAR-10 on disk -> verified uint8 arrays
                 cifar10.py (the official archive, all the file I/O), tfds_source.py (a tensorflow-datasets copy)
    training/    the arrays -> trained runs
                 input_pipeline.py (the tier's subset, normalised, on device), models.py (the MLPs; the arms a
                 configuration trains), run_set.py (the types training takes and gives), summaries.py (what each
                 run reports), train.py (one jitted program: every seed x arm), cache.py + runs.py (runs on disk
                 keyed by all that decides them: the one way to runs, cached, else trained with checkpoints),
                 distributed.py (runs shared out over processes), compiler.py (how programs are compiled),
                 compile_cache.py (compiled programs on disk)
    evidence/    runs -> everything a tier's claims are decided from
                 probes.py (measurements on the trained networks), evidence.py (the Evidence type),
                 gather.py (the driver of a tier's flow: data, runs, probes)
    deciding/    evidence -> verdicts
                 stats.py (paired tests, equivalence, Holm; size_grid.py: each rule's size; redecide.py: the
                 references decided again), sequential.py + until_decided.py (--seeds auto: e-processes, batches
                 until decided; sequential_cost.py: their cost), writeup.py (the writeup's quotes and numbers),
                 claim_check.py (one claim's verdicts and the tier's assertion: what claims/ fill),
                 stability.py + drift.py (the smoke tier's pinned verdicts and its drift test)
    reporting/   verdicts -> reports/evidence.html and .json
                 figures.py, evidence_report.py (what goes in; provenance.py: where it came from), report.py
                 (renders templates/), compare.py (what changed since reports/reference/), browser.py (checks it)
    multiverse/  every claim under many conditions
                 gather.py (the driver: every condition trained as one program, cached, probed, decided),
                 decide.py (Holm within each condition, one matrix), report.py (writes it)

tests/writeup_loop.py transcribes the writeup's own training loop: the oracle the trainer is tested against
and the baseline it is benchmarked against.

Imports, from the leaves (level 0) to the report (level 5): a module imports
only from lower levels. tests/test_imports.py recomputes this drawing from the
source and fails when it is stale or deeper than 5.

    0  atomic  config  deciding.stats  training.compile_cache  training.compiler  training.summaries
    1  data.cifar10  deciding.redecide  deciding.sequential  deciding.size_grid  deciding.stability  deciding.writeup  reporting.browser  reporting.figures  reporting.report  training.run_set
    2  data.tfds_source  deciding.drift  deciding.sequential_cost  multiverse.decide  reporting.compare  settings  training.distributed  training.input_pipeline  training.models
    3  evidence.evidence  multiverse.report  training.cache  training.train
    4  deciding.claim_check  evidence.probes  reporting.provenance  training.runs
    5  deciding.until_decided  evidence.gather  multiverse.gather  reporting.evidence_report
"""

from pathlib import Path

HARNESS_VERSION = "1"
# The repository's root: reports/, fixtures/ and the git checkout are found from here.
REPOSITORY = Path(__file__).resolve().parent.parent
