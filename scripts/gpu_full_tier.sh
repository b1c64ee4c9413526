#!/usr/bin/env bash
# The full tier on a GPU, in one command: both protocols' claims and the GPU benchmarks, every output
# under one folder (what reports/reference/ is made from).
#
#   scripts/gpu_full_tier.sh --cifar10 PATH --out DIR [--epochs N] [--seeds N] [--commit SHA]
#
# PATH is cifar-10-python.tar.gz or its cifar-10-batches-py folder. DIR receives
#   evidence-writeup.html/.json, evidence-corrected.html/.json   the full-tier reports
#   benchmark.json                                              pytest-benchmark: harness vs writeup loop and
#                                                               the memory floor, probe cost, compile cache
#   log.txt                                                     everything printed, with each step's wall time
# --epochs/--seeds reduce the tier (the reports are then labelled "reduced"); try the script that way on a
# CPU first (`--epochs 2 --seeds 3`). The run cache is $DROPOUT_CLAIMS_CACHE, else a fresh temporary
# folder, so the tier trains from nothing and its wall times include training. A claim that does not
# reproduce makes its step exit 1: that is a finding, recorded in the report, and the next step still runs.
# The script exits with the worst step's status.
#
# The reports name the commit that ran, so it must be one. In a git checkout the tree must be clean (nothing in
# `git status --porcelain`: commit or stash first) and its HEAD is passed on; anything else is refused before
# any training. A copy of the tree on another machine (whose .git may be missing or stale, as the GPU
# machine's was) is told its commit instead: --commit SHA (or DROPOUT_CLAIMS_COMMIT=SHA), the commit it is a
# clean copy of; git is then not asked.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '5p' "$0" >&2; exit 2; }
cifar10="" out="" reduce=() commit="${DROPOUT_CLAIMS_COMMIT:-}"
while (($#)); do
    case "$1" in
        --cifar10) cifar10="${2:?--cifar10 needs a path}"; shift 2 ;;
        --commit) commit="${2:?--commit needs a commit}"; shift 2 ;;
        --out) out="${2:?--out needs a folder}"; shift 2 ;;
        --epochs|--seeds) reduce+=("$1" "${2:?$1 needs a number}"); shift 2 ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[[ -n "$cifar10" && -n "$out" ]] || usage
[[ -e "$cifar10" ]] || { echo "--cifar10 $cifar10 does not exist: give cifar-10-python.tar.gz or its cifar-10-batches-py folder" >&2; exit 2; }
if [[ -z "$commit" ]]; then
    commit="$(git rev-parse --verify HEAD 2>/dev/null)" || {
        echo "not a git checkout, so no commit names what would run. Fix: pass --commit SHA, the commit this tree is a clean copy of" >&2
        exit 2
    }
    changes="$(git status --porcelain)"
    if [[ -n "$changes" ]]; then
        { echo "the tree has uncommitted changes, so commit $commit does not name what would run:"
          echo "$changes" | head -20
          echo "Fix: commit (or stash) them and run again; for a copy of a clean commit, pass --commit SHA"; } >&2
        exit 2
    fi
fi
if [[ -e "$out/log.txt" || -e "$out/benchmark.json" ]]; then
    echo "--out $out already holds a run's outputs (log.txt, benchmark.json): they would be overwritten. Fix: name an empty folder" >&2
    exit 2
fi
mkdir -p "$out" || exit 2
out="$(cd "$out" && pwd)"

export PYTHONUNBUFFERED=1 DROPOUT_CLAIMS_OFFLINE=1 DROPOUT_CLAIMS_COMMIT="$commit"
export DROPOUT_CLAIMS_CACHE="${DROPOUT_CLAIMS_CACHE:-$(mktemp -d)}"
log="$out/log.txt"
: >"$log"

worst=0
step() {  # step NAME COMMAND...: run, log, time; keep the worst exit status
    local name="$1"; shift
    echo "== $name: $*" | tee -a "$log"
    local start=$SECONDS
    "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    echo "== $name: exit $rc after $((SECONDS - start)) s" | tee -a "$log"
    ((rc > worst)) && worst=$rc
}

python3 - <<'EOF' 2>&1 | tee -a "$log"
import jax, os
print("commit", os.environ["DROPOUT_CLAIMS_COMMIT"], "jax", jax.__version__, "backend", jax.default_backend(),
      "devices", jax.devices())
EOF

for protocol in writeup corrected; do
    step "full tier, $protocol protocol" python3 -m pytest claims/ -m full -k "not browser" -p no:cacheprovider \
        --protocol "$protocol" --cifar10 "$cifar10" --report "$out/evidence-$protocol.html" "${reduce[@]}" -rA
done
step "benchmarks" python3 -m pytest benchmarks/ -s -p no:cacheprovider --benchmark-json="$out/benchmark.json"

echo "== done: worst exit status $worst; outputs in $out" | tee -a "$log"
exit "$worst"
