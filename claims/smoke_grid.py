"""Choose the smoke tier: a few candidate (training images per class, epochs) at about the same CPU cost, scored.

    python -m claims.smoke_grid --cifar10 PATH [--points 250x12,100x24,50x36] [--sets 2] [--other-isa-sets 1]

The smoke tier should be a faithful miniature of the full tier: the same claims
decided the same way, stably across machines. Each candidate tier is trained
over a short calibration (`--sets` seed sets on this machine's numeric path and
`--other-isa-sets` under SSE4.2, as claims/calibrate_smoke.py trains them, each
in a process of its own) and decided exactly as the smoke tests decide, then
scored against the committed full-tier reference (reports/reference/
evidence-writeup.json) by two numbers, fixed here before any candidate ran:

* agreement: the share of primary hypotheses whose verdict equals the
  reference's, averaged over the seed sets;
* stability: the share of all hypotheses that every seed set decided alike.

A candidate's score is their sum; fixtures/smoke_grid.json keeps every set's
verdicts and costs, and the table is printed. The chosen point becomes `SMOKE`
in harness/config.py; then `python -m claims.calibrate_smoke` calibrates it.
Candidates' runs are cached like the calibration's, so a rerun trains nothing new.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from claims.calibrate_smoke import (
    SMOKE_CONFIG,
    data_arguments,
    run_set,
    settle_worker_paths,
    smoke_config,
    without_data_path,
)
from harness import HARNESS_VERSION, REPOSITORY
from harness.atomic import write_atomically
from harness.config import MIN_EPOCHS, SMOKE, Tier
from harness.deciding import stats
from harness.training.compiler import cpu_model, vector_instructions
from harness.training.runs import build_identity, code_digest

REFERENCE = "reports/reference/evidence-writeup.json"
# The folders whose code turns a set's runs into its decisions (a kept result is named by their digest).
DECIDING_CODE = ("claims", "harness/evidence", "harness/deciding")
GRID_FILE = "fixtures/smoke_grid.json"


def parse_point(text: str) -> Tier:
    """'100x24' -> the smoke tier with 100 training images per class and 24 epochs."""
    try:
        per_class, epochs = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a grid point is TRAIN_PER_CLASSxEPOCHS, e.g. 100x24; got {text!r}") from None
    if per_class < 1 or epochs < MIN_EPOCHS:
        raise argparse.ArgumentTypeError(
            f"grid point {text!r}: it needs at least 1 training image per class and {MIN_EPOCHS} epochs")
    return replace(SMOKE, train_per_class=per_class, epochs=epochs)


def reference_verdicts(path: Path) -> dict[str, str]:
    """Primary hypothesis id -> its verdict in the committed full-tier reference."""
    content = json.loads(path.read_text())
    return {h["hypothesis"]: h["verdict"] for c in content["claims"] for h in c["hypotheses"]
            if h["family"] == "primary"}


def claim_verdicts(verdicts: dict[str, str], claims: dict[str, str]) -> dict[str, str]:
    """Each claim's verdict from its primary hypotheses' verdicts (stats.overall's rule)."""
    by_claim: dict[str, list[str]] = {}
    for hid, verdict in verdicts.items():
        by_claim.setdefault(claims[hid], []).append(verdict)
    return {claim: (stats.SUPPORTED if all(v == stats.SUPPORTED for v in vs)
                    else stats.REFUTED if stats.REFUTED in vs else stats.INCONCLUSIVE)
            for claim, vs in by_claim.items()}


def score(sets: list[dict], reference: dict[str, str]) -> dict:
    """The two scores of one candidate (see the module docstring), with what they are made of."""
    hypotheses = sets[0]["hypotheses"]
    primary = [hid for hid, h in hypotheses.items() if h["family"] == "primary"]
    claims = {hid: h["claim"] for hid, h in hypotheses.items()}
    agreeing = [sum(s["hypotheses"][hid]["verdict"] == reference[hid] for hid in primary) for s in sets]
    reference_claims = claim_verdicts({hid: reference[hid] for hid in primary}, claims)
    claims_agreeing = []
    for s in sets:
        measured = claim_verdicts({hid: s["hypotheses"][hid]["verdict"] for hid in primary}, claims)
        claims_agreeing.append(sum(measured[c] == reference_claims[c] for c in reference_claims))
    unanimous = [hid for hid in hypotheses if len({s["hypotheses"][hid]["verdict"] for s in sets}) == 1]
    agreement = statistics.mean(agreeing) / len(primary)
    stability = len(unanimous) / len(hypotheses)
    return {
        "primary_agreeing": agreeing, "primary": len(primary),
        "claims_agreeing": claims_agreeing, "claims": len(reference_claims),
        "unanimous": len(unanimous), "hypotheses": len(hypotheses),
        "agreement": agreement, "stability": stability, "score": agreement + stability,
        "train_seconds": [s["train_seconds"] for s in sets], "wall_seconds": [s["wall_seconds"] for s in sets],
        "verdicts": {hid: [s["hypotheses"][hid]["verdict"] for s in sets] for hid in hypotheses},
    }


def decided_set(index: int, other_isa: bool, args: argparse.Namespace, tmp: Path, tier: Tier, name: str) -> dict:
    """Seed set `index` of a candidate, decided; kept in <cache>/grid-results under a name that digests what
    decides it (the set's configuration, the code that probes and decides, the run identity less the devices
    (`runs.build_identity`: the training code, libraries, settings and options), the CPU and $XLA_FLAGS),
    so that a rerun decides only what is new and never reuses a stale result. (This process leaves jax alone:
    the sets train in workers.)"""
    config = replace(SMOKE_CONFIG, tier=tier)
    deciding = sorted(path for folder in DECIDING_CODE for path in (REPOSITORY / folder).glob("*.py"))
    decided_by = json.dumps([smoke_config(index, config).key("", HARNESS_VERSION), code_digest(deciding),
                             build_identity(), cpu_model(), vector_instructions(), os.environ.get("XLA_FLAGS", "")],
                            sort_keys=True)
    tag = hashlib.sha256(decided_by.encode()).hexdigest()[:16]
    kept = Path(args.cache_dir) / "grid-results" / f"{name}-set{index}{'-sse4_2' if other_isa else ''}-{tag}.json"
    try:
        return json.loads(kept.read_text())
    except FileNotFoundError:
        pass
    except (OSError, json.JSONDecodeError) as error:
        print(f"{kept} is damaged ({error!r}): deciding the set again", file=sys.stderr)
    result = run_set(index, other_isa, args, tmp, False, config=config)
    kept.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(kept, lambda f: f.write(json.dumps(result).encode()))
    return result


def table(points: dict[str, dict]) -> str:
    header = ("| train/class × epochs | primary agreeing (of n) | claims agreeing | unanimous (of n) | score "
              "| train s (median) |")
    lines = [header, "|---|---|---|---|---|---|"]
    for name, p in sorted(points.items(), key=lambda item: -item[1]["score"]):
        lines.append(
            f"| {name} | {statistics.mean(p['primary_agreeing']):.1f} of {p['primary']} | "
            f"{statistics.mean(p['claims_agreeing']):.1f} of {p['claims']} | {p['unanimous']} of {p['hypotheses']} | "
            f"{p['score']:.3f} | {statistics.median(p['train_seconds']):.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_arguments(parser, "run cache; each numeric path gets its own sub-folder")
    parser.add_argument("--points", type=lambda text: [parse_point(p) for p in text.split(",")],
                        default=[parse_point(p) for p in ("250x12", "100x24", "50x36")],
                        help="candidate tiers, TRAIN_PER_CLASSxEPOCHS, comma-separated")
    parser.add_argument("--sets", type=int, default=2, help="seed sets per candidate on the default numeric path")
    parser.add_argument("--other-isa-sets", type=int, default=1, help="further seed sets under SSE4.2")
    parser.add_argument("--out", default=str(REPOSITORY / GRID_FILE))
    args = parser.parse_args(argv)
    if args.sets < 0 or args.other_isa_sets < 0 or args.sets + args.other_isa_sets < 2:
        parser.error("--sets and --other-isa-sets count seed sets: neither negative, at least 2 in all (a point's "
                     "stability needs sets to compare)")
    settle_worker_paths(parser, args)
    args.train_only = False
    reference = reference_verdicts(REPOSITORY / REFERENCE)
    plan = [(k, False) for k in range(args.sets)] + [(args.sets + k, True) for k in range(args.other_isa_sets)]
    points = {}
    with tempfile.TemporaryDirectory() as tmp:
        for tier in args.points:
            name = f"{tier.train_per_class}x{tier.epochs}"
            sets = [decided_set(k, isa, args, Path(tmp), tier, name) for k, isa in plan]
            points[name] = {"tier": {"train_per_class": tier.train_per_class, "epochs": tier.epochs,
                                     "num_seeds": tier.num_seeds, "test_per_class": tier.test_per_class},
                            **score(sets, reference)}
            print(table(points), flush=True)
    content = {"reference": REFERENCE, "sets": len(plan), "points": points,
               "command": "python -m claims.smoke_grid " + " ".join(
                   without_data_path(argv if argv is not None else sys.argv[1:]))}
    write_atomically(Path(args.out), lambda f: f.write((json.dumps(content, indent=1) + "\n").encode()))


if __name__ == "__main__":
    main()
