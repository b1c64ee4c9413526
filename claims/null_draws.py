"""How often does an unchanged harness go red on a fresh machine? Many fresh smoke seed sets, counted.

    python -m claims.null_draws --cifar10 PATH [--sets 368] [--sets-per-program 30] [--first-set K] [--out FILE]

The smoke suite can go red without a bug two ways: the drift test (harness/deciding/drift.py) promises a
false-alarm rate of at most its ALPHA (1%) on a fresh machine, and the pinned verdicts (stability.py) a
red suite at most SUITE_RED_BUDGET (2%). The calibration's leave-one-out gives 16 draws, dependent (they share
calibration sets) and too few to show 1%: with no alarm in n independent draws the exact (Clopper-Pearson)
95% upper bound on the rate is 1 - 0.025^(1/n), below 1% only from n = 368. This command makes the draws. It
trains disjoint seed sets of the
smoke configuration after the calibration's (set k holds seeds 42 + k S .. 42 + k S + S - 1; `--first-set`
defaults to the first set the calibration did not use), many sets side by side in one program
(`--sets-per-program`; the default, 30 sets x 20 runs, is sized for a GPU), cuts each set out, probes and decides it
exactly as the smoke tests do, and tests it against the committed calibration
(fixtures/smoke_expectations.json): its values with `drift.check`, its verdicts against the pins.

The result, written atomically after every program so that a rerun continues where it stopped: per set the
drift statistic over its threshold, the values that moved most and the pins that changed; in all, the count
of each kind of alarm with its exact 95% bounds (`drift.alarm_rate`), and each draw's numeric path. On a path
the calibration never saw (a GPU, for a calibration drawn on CPUs; a CPU of another vector width, natively; on the
calibration's kind of CPU, XLA_FLAGS=--xla_cpu_max_isa=AVX, 256-bit vectors without fused multiply-adds, for one
calibrated natively and under SSE4.2) these are the fresh-machine draws the promises are about, and draws from
several such paths count together. The draws are
made on this machine's default backend; every set is one draw.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import filelock

from claims import family
from claims.calibrate_smoke import data_arguments, local_cifar10, read_calibration
from harness import HARNESS_VERSION, REPOSITORY
from harness.atomic import write_atomically
from harness.config import SMOKE, WRITEUP, RunConfig, Tier
from harness.deciding import drift, stability
from harness.evidence import probes
from harness.evidence.evidence import Evidence
from harness.training.compiler import numeric_path
from harness.training.input_pipeline import TierData, prepare
from harness.training.run_set import RunSet
from harness.training.train import train_runs


def batches(first_set: int, sets: int, per_program: int) -> list[range]:
    """The set indices first_set .. first_set + sets - 1, in programs of at most `per_program` sets."""
    return [range(start, min(start + per_program, first_set + sets))
            for start in range(first_set, first_set + sets, per_program)]


def program_config(sets: range, tier: Tier = SMOKE) -> RunConfig:
    """One program training the seed sets `sets` of `tier` side by side: their seeds, consecutive."""
    return RunConfig(protocol=WRITEUP, tier=replace(tier, first_seed=tier.first_seed + sets.start * tier.num_seeds,
                                                    num_seeds=tier.num_seeds * len(sets)))


def judge(run_set: RunSet, data: TierData, calibration: list[dict[str, float]], pins: dict[str, str]) -> dict:
    """One seed set probed and decided as the smoke tests do, then tested: drift against `calibration`, its
    verdicts against `pins` (hypothesis -> pinned verdict)."""
    evidence = Evidence(run_set.config, data, run_set, probes.measure(run_set, data.dataset), "", 0.0)
    everything = [v for decided in family.decide(evidence).values() for v in decided.all()]
    found = drift.check(calibration, drift.record(run_set, everything))
    changed = sorted(v.result.hypothesis for v in everything
                     if v.result.hypothesis in pins and v.verdict != pins[v.result.hypothesis])
    return {"seeds": [run_set.seeds[0], run_set.seeds[-1]], "drift": found, "pins_changed": changed}


def draw(batch: range, cifar, calibration: list[dict[str, float]], pins: dict[str, str],
         tier: Tier = SMOKE) -> list[dict]:
    """Train the sets of `batch` in one program and judge each."""
    config = program_config(batch, tier)
    data = prepare(cifar, config)
    runs = train_runs(config, data.dataset, config.tier.seeds())
    size = tier.num_seeds
    return [{"set": k, **judge(runs.of_seeds(slice(i * size, (i + 1) * size)), data, calibration, pins)}
            for i, k in enumerate(batch)]


def summary(draws: list[dict]) -> dict:
    """The counts: drift alarms, sets with a changed pin, and either; each with its exact 95% interval; and how
    many draws each numeric path made (`numeric_path`)."""
    rate = lambda alarms: drift.alarm_rate(alarms, len(draws))
    paths = sorted({d["path"] for d in draws})
    return {
        "drift": rate(sum(d["drift"]["drifted"] for d in draws)) | {"promised": drift.ALPHA},
        "pins": rate(sum(bool(d["pins_changed"]) for d in draws)) | {"promised": stability.SUITE_RED_BUDGET},
        "either": rate(sum(d["drift"]["drifted"] or bool(d["pins_changed"]) for d in draws)),
        "max_to_threshold": max(d["drift"]["max_statistic"] / d["drift"]["max_threshold"] for d in draws),
        "draws_by_path": {path: sum(d["path"] == path for d in draws) for path in paths},
    }


def describe(result: dict) -> str:
    s = result["summary"]
    line = lambda name, what: (
        f"{what}: {s[name]['alarms']} of {s[name]['draws']} fresh seed sets "
        f"(exact 95% interval {s[name]['low_95']:.1%}-{s[name]['upper_95']:.1%}"
        + (f"; promised at most {s[name]['promised']:.0%})" if "promised" in s[name] else ")"))
    return "\n".join([line("drift", "drift test red"), line("pins", "a pinned verdict changed"),
                      line("either", "smoke suite red"),
                      f"largest drift statistic / threshold: {s['max_to_threshold']:.2f}",
                      *(f"  {n} drawn on {path}" for path, n in s["draws_by_path"].items())])


def writer_lock(out: Path) -> filelock.FileLock:
    """The lock a run holds on its result file `out` from start to end: a second writer would overwrite the
    first's draws with its own. It lives in the system's temporary folder, named by `out`'s absolute path, so
    that runs with other caches see it too and the repository (where `out` usually is) gets no lock file."""
    name = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    return filelock.FileLock(Path(tempfile.gettempdir()) / f"dropout-claims-null-draws-{name}.lock")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_arguments(parser, "run cache (for the decoded CIFAR-10 arrays; the draws themselves are not cached)")
    parser.add_argument("--sets", type=int, default=drift.draws_to_show(),
                        help=f"fresh seed sets to draw (default {drift.draws_to_show()}: the fewest that can show "
                             f"{drift.ALPHA * 100:g}%%)")
    parser.add_argument("--sets-per-program", type=int, default=30, help="seed sets trained side by side")
    parser.add_argument("--first-set", type=int, default=None,
                        help="index of the first set (default: the first one the calibration did not use)")
    parser.add_argument("--expectations", default=str(REPOSITORY / stability.EXPECTATIONS_FILE))
    parser.add_argument("--out", default=str(REPOSITORY / drift.NULL_DRAWS_FILE))
    args = parser.parse_args(argv)
    if args.sets < 1 or args.sets_per_program < 1:
        parser.error("--sets and --sets-per-program must be at least 1")
    try:
        expectations = read_calibration(args.expectations)
    except ValueError as error:
        parser.error(f"{error} (--expectations)")
    calibration = drift.calibration_records(expectations["values"])
    pins = {h: e["pinned"] for h, e in expectations["hypotheses"].items() if e["pinned"]}
    first = len(calibration) if args.first_set is None else args.first_set
    if first < len(calibration):
        parser.error(f"--first-set {first} reuses seeds of the calibration's sets 0-{len(calibration) - 1}, which "
                     f"are no fresh draws against it. Fix: --first-set {len(calibration)} or higher (the default)")
    out = Path(args.out)
    lock = writer_lock(out)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        parser.error(f"another python -m claims.null_draws is drawing into {out}; its draws would be lost. Fix: let it "
                     "finish (it continues where any run stopped), or name another --out")
    try:
        done = json.loads(out.read_text()) if out.exists() else {"draws": []}
        judged_against = done["provenance"]["calibration"] if done["draws"] else None
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
        parser.error(f"cannot continue the draws in {out}: {error!r}. Fix: name another --out, or delete it to draw "
                     "afresh")
    if done["draws"] and judged_against != expectations["provenance"]:
        parser.error(f"{out} holds draws judged against another calibration than {args.expectations}; they do not "
                     "count with new ones. Fix: name another --out, or delete it to draw afresh")
    seen = {d["set"] for d in done["draws"]}
    drawn_on = numeric_path()
    cifar = local_cifar10(args.cifar10, Path(args.cache_dir))
    for batch in batches(first, args.sets, args.sets_per_program):
        if all(k in seen for k in batch):
            continue
        start = time.perf_counter()
        judged = [d | {"drift": d["drift"].as_dict(), "path": drawn_on}
                  for d in draw(batch, cifar, calibration, pins)]
        done["draws"] = sorted([d for d in done["draws"] if d["set"] not in batch] + judged, key=lambda d: d["set"])
        done["summary"] = summary(done["draws"])
        done["provenance"] = {
            "command": f"python -m claims.null_draws --sets {args.sets} --sets-per-program {args.sets_per_program}"
                       + ("" if args.first_set is None else f" --first-set {args.first_set}"),
            "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "calibration": expectations["provenance"], "harness_version": HARNESS_VERSION,
        }
        write_atomically(out, lambda f: f.write((json.dumps(done, indent=1, sort_keys=True) + "\n").encode()))
        print(f"sets {batch.start}-{batch.stop - 1}: {time.perf_counter() - start:.0f} s; "
              f"{sum(d['drift']['drifted'] for d in judged)} drift alarms, "
              f"{sum(bool(d['pins_changed']) for d in judged)} with a changed pin", flush=True)
    print(describe(done))


if __name__ == "__main__":
    main()
