"""Provenance of a report: the commit, the libraries, the devices, the data and the wall times of its run.

The only part of the report that asks the outside world (git, installed
package metadata, jax's devices); evidence_report.py assembles the rest from
the evidence alone.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from typing import Any

import jax

from harness import HARNESS_VERSION, REPOSITORY
from harness.evidence.evidence import Evidence
from harness.training.compiler import cpu_model, numeric_path

# Names the commit of a tree copied to another machine (scripts/gpu_full_tier.sh documents it).
COMMIT_ENV_VAR = "DROPOUT_CLAIMS_COMMIT"
LIBRARIES = ("jax", "jaxlib", "flax", "optax", "numpy", "scipy", "matplotlib", "jinja2", "pytest")


def of(ev: Evidence | None, session_seconds: float, *, told_commit: str | None = None) -> dict[str, Any]:
    """Where a report's numbers came from: code, libraries, devices, data, cache keys and wall times.

    `told_commit` names the commit of a tree copied to another machine (its .git may be absent or stale:
    the GPU machine's was); it wins over asking git. The settings read it from ${COMMIT_ENV_VAR}.
    """
    commit, dirty = git_state(told_commit)
    facts: dict[str, Any] = {
        "commit": commit,
        "dirty": dirty,
        "harness_version": HARNESS_VERSION,
        "command": " ".join(sys.argv),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in LIBRARIES},
        "devices": [str(d) for d in jax.devices()],
        # What the device and the host are, as they report it (a GPU's model; the CPU's), and the numeric path
        # the runs of this process train on (the run cache keys by it).
        "device_kinds": sorted({d.device_kind for d in jax.devices()}),
        "cpu": cpu_model(),
        "numeric_path": numeric_path(),
        "wall_seconds": {"session": round(session_seconds, 1)},
        # Filled in below when the tier's evidence was gathered (absent: the data or training failed).
        "dataset_digest": None,
        "cache_keys": {},
    }
    if ev is not None:
        facts |= {
            "dataset_digest": ev.data.source_digest,
            "dataset_read_from": ev.data.read_from,
            "train_examples": len(ev.data.train_indices),
            "test_examples": len(ev.data.test_indices),
            "cache_keys": {"runs": ev.cache_key},
            "cache": ev.runs.meta.get("cache", ""),
            "trained_on": ev.runs.meta.get("devices", []),
            "peak_device_memory_bytes": ev.runs.meta.get("peak_device_memory_bytes"),
        }
        facts["wall_seconds"] |= {
            "compile (when trained)": round(ev.runs.compile_seconds, 1),
            "training (when trained)": round(ev.runs.train_seconds, 1),
            "probes": round(ev.probe_seconds, 1),
        }
    return facts


def git_state(told_commit: str | None = None) -> tuple[str, bool]:
    """(commit, dirty): the commit the caller was told, else git's."""
    if told_commit:
        return f"{told_commit} (from ${COMMIT_ENV_VAR})", False

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True, check=True).stdout.strip()

    try:
        return git("rev-parse", "HEAD"), bool(git("status", "--porcelain"))
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)", False


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
