"""Planted bugs that prove the smoke suite can fail: each a one-line change, caught (or not) two ways.

    python -m claims.mutants --cifar10 PATH [--only NAME ...] [--sweep]

Each mutant changes exactly one line of the harness, of a kind a refactor could
introduce without crashing anything. The command copies the project's source
into a temporary folder, plants the bug there, trains and decides the smoke
tier's first seed set in that copy (claims/calibrate_smoke.py's worker: the
same code path as the calibration, with a run cache of its own, which keeps
the mutants' runs out of the user's), and judges the outcome two ways:

* pins alone: does any verdict that fixtures/smoke_expectations.json pins change?
* pins plus drift: or does the drift test (harness/deciding/drift.py) find the values moved?

The unmodified copy runs first, as a control: were it flagged, this machine's
numeric path alone would move the values, and no mutant's "caught" would mean
anything here. `--sweep` also runs the graded mutants (a learning-rate factor, a dropout-rate
scale, the training masks' drop probability alone) at several sizes, to find the smallest change each way detects. The
outcome is printed as a table and written to reports/mutants.json after each mutant, replacing that mutant's row
(the rows of mutants not run this time stay, so an interrupted run loses nothing it finished); each row names
the commit, the numeric path and the time it ran. A mutant
whose original line is no longer in the source fails loudly: update it with
the code it plants a bug in.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from claims.calibrate_smoke import (
    SMOKE_CONFIG,
    data_arguments,
    read_calibration,
    settle_worker_paths,
    worker_command,
)
from harness import REPOSITORY
from harness.atomic import write_atomically
from harness.config import RunConfig
from harness.deciding import drift, stability
from harness.reporting.provenance import git_state
from harness.training.compiler import numeric_path

# What a copy needs to train and decide a seed set.
SOURCE = ("harness", "claims", "fixtures", "conftest.py", "pyproject.toml")
RESULTS_FILE = "reports/mutants.json"


@dataclass(frozen=True)
class Mutant:
    """One planted bug: in `path`, the single line containing `original` gets it replaced by `mutated`."""

    name: str
    kind: str
    path: str
    original: str
    mutated: str
    what: str

    def plant(self, root: Path) -> None:
        """Change the line in the copy under `root`; refuse if the line is not there exactly once."""
        file = root / self.path
        text = file.read_text()
        if text.count(self.original) != 1:
            raise ValueError(
                f"mutant {self.name}: {self.path} contains {self.original!r} {text.count(self.original)} times, "
                "not once; update the mutant (claims/mutants.py) to the code it plants a bug in"
            )
        file.write_text(text.replace(self.original, self.mutated))


MUTANTS: tuple[Mutant, ...] = (
    Mutant("init", "model", "harness/training/models.py",
           "x = nn.Dense(width)(x)", "x = nn.Dense(width, kernel_init=nn.initializers.he_normal())(x)",
           "hidden layers initialised with He-normal kernels instead of flax's LeCun-normal default"),
    Mutant("adam-b2", "optimiser", "harness/training/train.py",
           "return optax.adam(config.protocol.learning_rate)",
           "return optax.adam(config.protocol.learning_rate, b2=0.99)",
           "Adam's second-moment decay 0.99 instead of 0.999"),
    Mutant("no-reshuffle", "data pipeline", "harness/training/train.py",
           "order = state.order[jax.random.permutation(epoch_key, num_train)]", "order = state.order",
           "the training data is never reshuffled: every epoch sees the first epoch's order"),
    Mutant("no-max-scaling", "data pipeline", "harness/training/input_pipeline.py",
           "max32 = (np.float32(pixels.max()) - mean32) / std32", "max32 = np.float32(1.0)",
           "each split standardised but no longer divided by its own maximum"),
    Mutant("active-threshold", "evaluation", "harness/training/summaries.py",
           '"test_active_count": jnp.stack([(r > 0).sum(axis=-1).mean() for r in test.relus]),',
           '"test_active_count": jnp.stack([(r > 0.1).sum(axis=-1).mean() for r in test.relus]),',
           "a unit counts as active only above 0.1 instead of above 0"),
    Mutant("dropout-unscaled", "dropout masks", "harness/training/models.py",
           "return jax.lax.select(mask, x / keep_prob, jnp.zeros_like(x))",
           "return jax.lax.select(mask, x, jnp.zeros_like(x))",
           "kept units are not scaled by 1/q in training (neither inverted nor standard dropout)"),
    Mutant("batchnorm-momentum", "BatchNorm", "harness/training/models.py",
           "x = nn.BatchNorm(use_running_average=not train)(x)",
           "x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)",
           "BatchNorm's running averages with momentum 0.9 instead of flax's 0.99"),
)


# The same line written back unchanged: the copy, its own cache and its worker, with no bug.
CONTROL = Mutant("control", "none", "harness/training/train.py",
                 "return optax.adam(config.protocol.learning_rate)", "return optax.adam(config.protocol.learning_rate)",
                 "the unmodified source: 'caught' here would be a false alarm of this numeric path")


def graded(parameter: str, factor: float) -> Mutant:
    """A mutant of a given size: `lr` scales the learning rate; `rate` scales every dropout rate where the
    rates become keep probabilities (masks, 1/q scaling and probes alike: a consistent change of the rates);
    `mask` scales the drop probability of the training masks alone, the 1/q scaling left as it was."""
    if parameter == "lr":
        return Mutant(f"lr×{factor:g}", "optimiser (graded)", "harness/training/train.py",
                      "return optax.adam(config.protocol.learning_rate)",
                      f"return optax.adam(config.protocol.learning_rate * {factor!r})",
                      f"learning rate × {factor:g}")
    if parameter == "rate":
        return Mutant(f"rate×{factor:g}", "dropout rates (graded)", "harness/training/models.py",
                      "return jnp.asarray([1.0 - float(rate) for rate in rates], jnp.float32)",
                      f"return jnp.asarray([1.0 - float(rate) * {factor!r} for rate in rates], jnp.float32)",
                      f"every dropout rate × {factor:g}, consistently (masks, scaling and probes)")
    if parameter != "mask":
        raise ValueError(f"graded mutant {parameter!r}: choose lr, rate or mask")
    return Mutant(f"mask×{factor:g}", "dropout masks (graded)", "harness/training/models.py",
                  "mask = jax.random.bernoulli(key, p=keep_prob, shape=x.shape)",
                  f"mask = jax.random.bernoulli(key, p=1 - (1 - keep_prob) * {factor!r}, shape=x.shape)",
                  f"every training-time drop probability × {factor:g}, the 1/q scaling left as it was")


SWEEP = (tuple(graded("lr", f) for f in (1.1, 1.25, 1.5, 2.0))
         + tuple(graded("rate", f) for f in (0.9, 0.75, 0.5))
         + tuple(graded("mask", f) for f in (0.9, 0.75, 0.5)))


def copy_source(destination: Path) -> None:
    for name in SOURCE:
        source = REPOSITORY / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)


def link_decoded_data(from_cache: Path, to_cache: Path) -> None:
    """The decoded CIFAR-10 arrays (verified by digest on load) are shared; the runs are not."""
    to_cache.mkdir(parents=True, exist_ok=True)
    for decoded in from_cache.glob("cifar10-*"):
        if decoded.is_file() and not (to_cache / decoded.name).exists():
            try:
                os.link(decoded, to_cache / decoded.name)
            except OSError:  # another file system (a tmpfs /tmp): copy instead
                shutil.copy2(decoded, to_cache / decoded.name)


def run(mutant: Mutant, cifar10: str | None, data_cache: Path, work: Path, config: RunConfig = SMOKE_CONFIG,
        levels_only: bool = False) -> dict:
    """Train and decide the first seed set of `config` with `mutant` planted: the calibration worker's result
    (with `levels_only`, the trained levels alone: no probes, no decisions)."""
    root = work / mutant.name
    copy_source(root)
    mutant.plant(root)
    cache = root / "cache"
    link_decoded_data(data_cache, cache)
    result = root / "result.json"
    command = worker_command(0, cache, result, cifar10, config, ("--levels-only",) if levels_only else ())
    # The copy first on the path, so that it, not the installed project, is imported.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    # One compilation cache for every mutant: a program a bug does not touch compiles once; a changed one has
    # another key.
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(work / "xla"))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    completed = subprocess.run(command, cwd=root, env=env, check=False, capture_output=True, text=True)
    if completed.returncode != 0:
        return {"error": (completed.stderr or completed.stdout).strip().splitlines()[-1:]}
    return json.loads(result.read_text())


def judge(result: dict, expectations: dict) -> dict:
    """The two judgements of one mutant's result against the calibration."""
    if "error" in result:  # the data were verified before the mutants ran: a crash is the bug's (its message says)
        return {"crashed": result["error"], "caught": True}
    pinned = {hid: h["pinned"] for hid, h in expectations["hypotheses"].items() if h["pinned"]}
    # A pinned hypothesis the run did not decide at all counts as flipped.
    flipped = sorted(hid for hid, verdict in pinned.items()
                     if result["hypotheses"].get(hid, {}).get("verdict") != verdict)
    found = drift.check(drift.calibration_records(expectations["values"]), result["values"])
    return {"pins_flipped": flipped, "drift": found.as_dict(), "caught": bool(flipped) or found.drifted}


def table(outcomes: dict[str, dict]) -> str:
    """The outcome per mutant: caught by the pinned verdicts alone, and by the pins plus the drift test."""
    def judged(name: str, caught: bool, detail: str = "") -> str:
        if name == CONTROL.name:  # no bug to catch: a red here is the numeric path's own
            return "false alarm" + detail if caught else "no alarm"
        return "caught" + detail if caught else "missed"

    def pins(name: str, o: dict) -> str:
        if "crashed" in o:
            return f"caught (crashed: {' '.join(o['crashed'])[:80]})"
        return judged(name, bool(o["pins_flipped"]), f" ({len(o['pins_flipped'])} pins flipped)")

    def statistics(o: dict) -> str:
        d = o.get("drift")
        return f"{d['max_statistic']:.1f} / {d['max_threshold']:.1f}" if d else "-"

    def moved(o: dict) -> str:
        return o["drift"]["moved"][0]["name"] if o.get("drift") else "-"

    lines = ["| mutant | kind | what | pins alone | pins + drift | drift score / threshold | moved most |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {o['kind']} | {o['what']} | {pins(name, o)} | {judged(name, o['caught'])} | "
              f"{statistics(o)} | {moved(o)} |" for name, o in outcomes.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_arguments(parser, "where the decoded CIFAR-10 is cached (the mutants' runs are never cached there)")
    parser.add_argument("--only", nargs="+", default=None,
                        help="run only these mutants (names as in the table); the other rows of --out stay as they were")
    parser.add_argument("--sweep", action="store_true", help="also the graded mutants (learning rate, dropout rate, the masks' drop probability alone)")
    parser.add_argument("--out", default=str(REPOSITORY / RESULTS_FILE))
    args = parser.parse_args(argv)
    try:
        expectations = read_calibration(REPOSITORY / stability.EXPECTATIONS_FILE)
    except ValueError as error:
        parser.error(str(error))
    chosen = (CONTROL,) + MUTANTS + (SWEEP if args.sweep else ())
    if args.only is not None:
        unknown = sorted(set(args.only) - {m.name for m in chosen})
        if unknown:
            parser.error(f"unknown mutant(s) {', '.join(unknown)}; choose from {', '.join(m.name for m in chosen)}")
        chosen = tuple(m for m in chosen if m.name in args.only)
    out = Path(args.out)
    try:  # each mutant's row is replaced when it has run; the rows of the others stay
        outcomes = json.loads(out.read_text()) if out.exists() else {}
    except (OSError, json.JSONDecodeError) as error:
        parser.error(f"cannot keep the other rows of {out}: {error!r}. Fix: name another --out, or delete it")
    # The data first, verified by digest, so that a worker's crash is the planted bug's, not a missing archive's.
    settle_worker_paths(parser, args)
    commit, dirty = git_state()
    ran_on = {"commit": commit + (" (dirty)" if dirty else ""), "path": numeric_path()}
    with tempfile.TemporaryDirectory(prefix="dropout-claims-mutants-") as work:
        for mutant in chosen:
            outcome = judge(run(mutant, args.cifar10, Path(args.cache_dir), Path(work)), expectations)
            outcomes[mutant.name] = {"kind": mutant.kind, "what": mutant.what, **outcome, **ran_on,
                                     "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
            print(table(outcomes), flush=True)
            if outcomes.get(CONTROL.name, {}).get("caught"):
                print(f"The unmodified source ({CONTROL.name}) is flagged on this numeric path: the mutants' "
                      "outcomes say nothing here. Fix: run them where the calibration holds, or recalibrate "
                      "(python -m claims.calibrate_smoke)", flush=True)
            # After every mutant, so that an interrupted sweep keeps the rows it finished (and the old ones of the rest).
            write_atomically(out, lambda f: f.write((json.dumps(outcomes, indent=1) + "\n").encode()))


if __name__ == "__main__":
    main()
