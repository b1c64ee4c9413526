"""Calibrate the smoke tier: which hypotheses take the same verdict on any machine, measured.

    python -m claims.calibrate_smoke --cifar10 PATH [--sets 8] [--other-isa-sets 8] [--cache-dir DIR]

Training here is chaotic (Adam turns rounding noise in the pre-BatchNorm biases
into full-size steps), so a smoke run on another CPU, XLA build or jax version
is a fresh random draw of the same configuration. This command draws it many
times: it trains the smoke configuration over K disjoint seed sets of the
tier's size (set k starts at seed 42 + k * S), the last `--other-isa-sets` of
them under another XLA numeric path (XLA_FLAGS=--xla_cpu_max_isa=SSE4_2),
decides the tier's whole family of hypotheses on each set exactly as the smoke
tests do, and writes fixtures/smoke_expectations.json: per hypothesis its
verdict frequencies, every set's raw p and q, the range of its effect, its modelled flip
probability (harness/deciding/stability.py) and the verdict pinned, if any. The smoke
tests assert exactly the pinned verdicts.

Each seed set runs in its own process, because XLA reads its flags once per
process, with a run cache and a compilation cache per numeric path, so a rerun
reuses every set already trained (the run cache's key names the path too). Rerun it whenever a claim's
hypotheses, the smoke configuration or the harness version change: the smoke
tests refuse a stale file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from harness import HARNESS_VERSION, REPOSITORY
from harness.atomic import write_atomically
from harness.config import SMOKE, WRITEUP, RunConfig
from harness.data.cifar10 import Cifar10, DatasetError, load_cifar10, resolve_source
from harness.deciding import drift, stability
from harness.settings import cache_dir_of, configured_cifar10
from harness.training.compiler import cpu_model, vector_instructions

OTHER_ISA_FLAG = "--xla_cpu_max_isa=SSE4_2"


SMOKE_CONFIG = RunConfig(protocol=WRITEUP, tier=SMOKE)


def smoke_config(set_index: int = 0, config: RunConfig = SMOKE_CONFIG) -> RunConfig:
    """The smoke tier's configuration (or another `config`: claims/smoke_grid.py's candidate tiers,
    tests/test_mutants.py's tiny networks), with the seeds of calibration set `set_index` (set 0: its own)."""
    first = config.tier.first_seed + set_index * config.tier.num_seeds
    return replace(config, tier=replace(config.tier, first_seed=first))


def worker_command(set_index: int, cache_dir: Path, result: Path, cifar10: str | None,
                   config: RunConfig = SMOKE_CONFIG, flags: tuple[str, ...] = ()) -> list[str]:
    """The command that trains (or loads) seed set `set_index` of `config` in a process of its own and writes
    its result to `result` (`flags`: --train-only or --levels-only)."""
    command = [sys.executable, "-m", "claims.calibrate_smoke", "--worker", "--set-index", str(set_index),
               "--cache-dir", str(cache_dir), "--result", str(result), *flags]
    command += ["--cifar10", cifar10] if cifar10 else []
    command += ["--config", json.dumps(config.as_dict())] if config != SMOKE_CONFIG else []
    return command


def run_worker(args: argparse.Namespace) -> None:
    """One seed set in this process: train (or load), decide the family, write the verdicts as JSON."""
    import jax

    from claims import (
        family,  # the claims are only needed by the worker that decides them
    )
    from harness.evidence.gather import gather
    from harness.training.input_pipeline import prepare
    from harness.training.runs import get_runs

    config = smoke_config(args.set_index, RunConfig.from_dict(json.loads(args.config)) if args.config else SMOKE_CONFIG)
    cache_dir = Path(args.cache_dir)
    cifar = local_cifar10(args.cifar10, cache_dir)
    start = time.perf_counter()
    if args.levels_only:  # no probes, no decisions: the levels alone (tests/test_mutants.py)
        run_set, _ = get_runs(config, prepare(cifar, config), cache_dir=cache_dir)
        write_atomically(Path(args.result), lambda f: f.write(json.dumps({"values": drift.record(run_set, [])}).encode()))
        return
    if args.train_only:
        run_set, _ = get_runs(config, prepare(cifar, config), cache_dir=cache_dir)
        print(f"set {args.set_index}: seeds {run_set.seeds[0]}-{run_set.seeds[-1]} trained/loaded "
              f"({run_set.meta.get('cache', '')}, training {run_set.train_seconds:.0f} s)")
        return
    evidence = gather(config, cifar, cache_dir=cache_dir)
    decided = family.decide(evidence)
    verdicts = {
        v.result.hypothesis: {
            "claim": claim_id, "family": family_name,
            "verdict": v.verdict, "effect": v.result.effect,
            "p_value": v.result.p_value, "p_opposite": v.result.p_opposite,
            "p_adjusted": v.p_adjusted, "p_opposite_adjusted": v.p_opposite_adjusted,
        }
        for claim_id, d in decided.items()
        for family_name, group in (("primary", d.primary), ("secondary", d.secondary))
        for v in group
    }
    everything = [v for d in decided.values() for v in d.all()]
    result = {
        "set": args.set_index,
        "seeds": list(evidence.runs.seeds),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "devices": [str(d) for d in jax.devices()],
        "train_seconds": round(evidence.runs.train_seconds, 1),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "hypotheses": verdicts,
        "values": drift.record(evidence.runs, everything),
    }
    write_atomically(Path(args.result), lambda f: f.write(json.dumps(result).encode()))


def run_set(index: int, other_isa: bool, args: argparse.Namespace, out: Path, train_only: bool,
            config: RunConfig = SMOKE_CONFIG) -> dict | None:
    """Seed set `index` of `config` in a process of its own (on the other numeric path if `other_isa`): its
    decisions and values, or None with `train_only`."""
    env = dict(os.environ)
    flags = env.get("XLA_FLAGS", "").replace(OTHER_ISA_FLAG, "").strip()
    env["XLA_FLAGS"] = f"{flags} {OTHER_ISA_FLAG}".strip() if other_isa else flags
    cache_dir = Path(args.cache_dir) / ("calibration-sse4_2" if other_isa else "calibration-native")
    # Every set of a numeric path compiles the same programs: jax's persistent compilation cache, one per path
    # (inside its run cache), compiles them once.
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(cache_dir / "xla"))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    result = out / f"set{index}.json"
    command = worker_command(index, cache_dir, result, args.cifar10, config, ("--train-only",) if train_only else ())
    if subprocess.run(command, cwd=REPOSITORY, env=env, check=False).returncode != 0:
        raise SystemExit(
            f"calibrate_smoke: seed set {index} ({'SSE4.2' if other_isa else 'default'} numeric path) failed; its "
            "error is printed above. Fix it and rerun: every set already trained is reused from the cache."
        )
    return None if train_only else json.loads(result.read_text())


def without_data_path(argv: list[str]) -> list[str]:
    """The command line minus --cifar10 and its value (a local path, not part of what was calibrated)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--cifar10":
            skip = True
        elif not arg.startswith("--cifar10="):
            kept.append(arg)
    return kept


def read_calibration(path: str | Path) -> dict:
    """The smoke calibration at `path` (this command's output); a ValueError naming the fix when it cannot be read
    or was made for another smoke configuration or harness version (its pins and values would not describe this
    one)."""
    try:
        expectations = json.loads(Path(path).read_text())
        made_for = expectations["provenance"]["config_key"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"cannot read the smoke calibration {path}: {error!r}. Fix: name another file, or write it "
                         "with python -m claims.calibrate_smoke") from error
    if made_for != smoke_config().key("", HARNESS_VERSION):
        raise ValueError(f"{path} was calibrated for another smoke configuration or harness version: "
                         "recalibrate first (python -m claims.calibrate_smoke)")
    return expectations


def local_cifar10(cifar10: str | None, cache_dir: Path) -> Cifar10:
    """The CIFAR-10 that `data_arguments` name, verified by digest and never downloaded (a DatasetError with the
    fix when it is missing or damaged): what every command that trains smoke seed sets reads."""
    return load_cifar10(local_source(cifar10, cache_dir), cache_dir=cache_dir)


def local_source(cifar10: str | None, cache_dir: Path) -> Path:
    """Where `local_cifar10` reads from (--cifar10, else $DROPOUT_CLAIMS_CIFAR10, else the archive in
    `cache_dir`), as an absolute path."""
    path, origin = configured_cifar10(cifar10)
    return resolve_source(path, origin=origin, cache_dir=cache_dir, allow_download=False).resolve()


def settle_worker_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """For a command whose seed sets train in worker processes: verify the data here, once, and hand the workers
    absolute paths (`args.cifar10`, `args.cache_dir`). A worker runs in another folder with a cache of its own, so
    a relative path, or an archive found only in this command's cache, would be missing there, and its crash
    would look like the run's own failure. Missing or damaged data is a usage error naming the fix."""
    args.cache_dir = str(Path(args.cache_dir).resolve())
    try:
        source = local_source(args.cifar10, Path(args.cache_dir))
        load_cifar10(source, cache_dir=Path(args.cache_dir))
    except DatasetError as error:
        parser.error(str(error))
    args.cifar10 = str(source)


def data_arguments(parser: argparse.ArgumentParser, cache_help: str) -> None:
    """--cifar10 and --cache-dir, as every command that trains smoke seed sets takes them."""
    parser.add_argument("--cifar10", default=None,
                        help="cifar-10-python.tar.gz or its cifar-10-batches-py folder (else $DROPOUT_CLAIMS_CIFAR10)")
    parser.add_argument("--cache-dir", default=str(cache_dir_of(None)), help=cache_help)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_arguments(parser, "run cache; each numeric path gets its own sub-folder")
    parser.add_argument("--sets", type=int, default=8, help="seed sets on this machine's default numeric path")
    parser.add_argument("--other-isa-sets", type=int, default=8,
                        help=f"further seed sets under XLA_FLAGS={OTHER_ISA_FLAG}")
    parser.add_argument("--train-only", action="store_true", help="only train (fill the cache); write nothing")
    parser.add_argument("--out", default=str(REPOSITORY / stability.EXPECTATIONS_FILE))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--set-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--levels-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)  # another configuration as JSON (`smoke_config`)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    if args.sets < 0 or args.other_isa_sets < 0:
        parser.error("--sets and --other-isa-sets count seed sets: neither may be negative")
    if args.sets + args.other_isa_sets < stability.MIN_SETS:
        parser.error(f"the stability model needs at least {stability.MIN_SETS} seed sets in all")
    settle_worker_paths(parser, args)
    plan = [(k, False) for k in range(args.sets)] + [(args.sets + k, True) for k in range(args.other_isa_sets)]
    with tempfile.TemporaryDirectory() as tmp:
        sets = [run_set(k, isa, args, Path(tmp), args.train_only) for k, isa in plan]
    if args.train_only:
        return
    expectations = stability.calibrate([{k: v for k, v in s.items() if k != "values"} for s in sets])
    expectations["values"] = drift.stored([s["values"] for s in sets])
    expectations["drift_leave_one_out"] = drift.false_alarms(
        drift.leave_one_out(drift.calibration_records(expectations["values"])))
    expectations["provenance"] = {
        "command": "python -m claims.calibrate_smoke " + " ".join(without_data_path(
            argv if argv is not None else sys.argv[1:])),
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "harness_version": HARNESS_VERSION,
        "config_key": smoke_config().key("", HARNESS_VERSION),
        "config": smoke_config().as_dict(),
        "machine": platform.processor() or platform.machine(),
        "cpu": cpu_model(), "vector_instructions": vector_instructions(),  # the native sets' path (compiler.py)
        "python": platform.python_version(),
    }
    text = json.dumps(expectations, indent=1, sort_keys=True) + "\n"
    write_atomically(Path(args.out), lambda f: f.write(text.encode()))
    print(stability.describe(expectations))
    print(drift.describe_false_alarms(expectations["drift_leave_one_out"]))


if __name__ == "__main__":
    main()
