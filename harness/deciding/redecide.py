"""Decide the committed full-tier references again under the statistics of the current harness/deciding/stats.py.

    python -m harness.deciding.redecide [--out DIR]

For each reports/reference/evidence-<protocol>.json it writes DIR/evidence-<protocol>.json (default
reports/reference/redecided/): the same report with every hypothesis decided by the test its statistic's
declared kind now takes, Holm-corrected again over each family, and each claim's verdict recomputed
(intersection-union over its primary hypotheses, an exact check that fails refutes). Then
`python -m harness.reporting.compare reports/reference/evidence-<protocol>.json DIR/evidence-<protocol>.json`
lists the verdict changes.

What can be recomputed from a report: the hypotheses whose test is unchanged keep their recorded p-values
(a continuous statistic decided by the t-test, `CONTINUOUS_TESTS`); a statistic now declared
discrete is recomputed from the per-seed values its claim records in `details` (`DISCRETE_FROM_DETAILS`).
Any other hypothesis stops the script: its per-seed values are not in the report, so it needs a rerun.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from harness import REPOSITORY
from harness.atomic import write_atomically
from harness.deciding import stats

REFERENCE = REPOSITORY / "reports" / "reference"
PROTOCOLS = ("writeup", "corrected")
# How a report names the tests of the continuous kind: the t-test, and the TOST of two t-tests.
CONTINUOUS_TESTS = ("t-test", "TOST equivalence (paired t)")
# Hypotheses declared discrete (claims/: `discrete=True`), with the claim details holding their per-seed values
# (a, b of the paired test) -- C3's integer epochs.
DISCRETE_FROM_DETAILS = {
    "C3": ("dropout epochs to converge", "baseline epochs to converge"),
}
RESULT_FIELDS = {f.name for f in dataclasses.fields(stats.Result)}


def _recorded(row: dict) -> stats.Result:
    """A hypothesis as the report recorded it, when its test is the one the current rules give it."""
    if row["discrete"] or not any(name in row["test"] for name in CONTINUOUS_TESTS):
        raise SystemExit(f"{row['hypothesis']}: decided by {row['test']!r}; its per-seed values are not in the "
                         "report, so deciding it again needs a rerun of the tier")
    return stats.Result(**{k: v for k, v in row.items() if k in RESULT_FIELDS})


def _from_details(row: dict, details: dict) -> stats.Result:
    """A discrete statistic's hypothesis recomputed from its per-seed values, as its claim module builds it."""
    first, second = DISCRETE_FROM_DETAILS[row["hypothesis"]]
    a, b = np.asarray(details[first], float), np.asarray(details[second], float)
    return stats.paired_t(a, b, hypothesis=row["hypothesis"], statement=row["statement"], discrete=True,
                          alternative=row["alternative"], min_effect=row["min_effect"], unit=row["unit"],
                          between_variants=row["between_variants"])


def redecide(report: dict) -> dict:
    """The report with its hypotheses decided again and each family Holm-corrected again."""
    out = json.loads(json.dumps(report))
    # The report records an exact check (C0, C8) as words; a claim REFUTED with no refuted primary failed it.
    exact_failed = {claim["id"] for claim in out["claims"] if claim.get("exact") and claim["verdict"] == stats.REFUTED
                    and all(r["verdict"] != stats.REFUTED for r in claim["hypotheses"] if r["family"] == "primary")}
    rows = [(claim, row) for claim in out["claims"] for row in claim["hypotheses"]]
    results = {row["hypothesis"]: (_from_details(row, claim["details"]) if row["hypothesis"] in DISCRETE_FROM_DETAILS
                                   else _recorded(row)) for claim, row in rows}
    for family in ("primary", "secondary"):
        ids = [row["hypothesis"] for _, row in rows if row["family"] == family]
        for verdict in stats.holm([results[i] for i in ids]):
            row = next(r for _, r in rows if r["hypothesis"] == verdict.result.hypothesis)
            row.update({k: v for k, v in verdict.as_dict().items() if k in row})
    for claim in out["claims"]:
        primary = [r["verdict"] for r in claim["hypotheses"] if r["family"] == "primary"]
        if claim["id"] in exact_failed:
            claim["verdict"] = stats.REFUTED
        elif primary:
            claim["verdict"] = (stats.SUPPORTED if all(v == stats.SUPPORTED for v in primary)
                                else stats.REFUTED if stats.REFUTED in primary else stats.INCONCLUSIVE)
    out["redecided"] = "python -m harness.deciding.redecide: every hypothesis decided again by the current harness/deciding/stats.py"
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REFERENCE / "redecided")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} is a file; it names the folder the redecided reports go to")
    args.out.mkdir(parents=True, exist_ok=True)
    for protocol in PROTOCOLS:
        name = f"evidence-{protocol}.json"
        report = json.loads((REFERENCE / name).read_text())
        text = json.dumps(redecide(report), indent=1) + "\n"
        write_atomically(args.out / name, lambda f, text=text: f.write(text.encode()))
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
