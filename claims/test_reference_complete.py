"""The committed full-tier reference (reports/reference/) covers what this code decides.

Not a claim: it reads the verdicts this session decided only for their names. Every
claim and every hypothesis (primary and secondary) the current code decides must
have a verdict in each protocol's committed full-tier evidence; otherwise the
reference, and every report's "full tier reference" column, is out of date, and a
GPU run of `scripts/gpu_full_tier.sh` is due.
"""

import pytest

from harness.config import PROTOCOLS, TIERS
from harness.reporting import compare

GPU_RUN = (
    "A GPU run is due: `scripts/gpu_full_tier.sh --cifar10 PATH --out DIR` on a GPU machine, then copy "
    "DIR/evidence-<protocol>.json and .html into reports/reference/ (see reports/reference/README.md)."
)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_the_full_tier_reference_has_every_claim_and_hypothesis(protocol, decided):
    path = compare.reference_path(protocol)
    if not path.is_file():
        pytest.fail(f"no full-tier reference for the {protocol} protocol at {path}. {GPU_RUN}", pytrace=False)
    try:
        reference = compare.load_evidence(path)
    except compare.CompareError as error:
        pytest.fail(f"{error}\n{GPU_RUN}", pytrace=False)
    full = TIERS["full"]
    assert (reference["tier"], reference.get("reduced"), len(reference["seeds"])) == ("full", False, full.num_seeds), (
        f"{path} is not a full-tier run at the tier's defaults ({full.num_seeds} seeds, {full.epochs} epochs). {GPU_RUN}"
    )

    decided_now = {claim_id: [v.result.hypothesis for v in d.all()] for claim_id, d in decided.items()}
    missing = compare.missing_from(reference, decided_now)
    assert not missing, f"{path} lacks {len(missing)} of what this code decides: {', '.join(missing)}. {GPU_RUN}"
