"""The settings of a claims run as plain data, and the rules that resolve them from the environment.

What the pytest plugin (fixtures/options.py) and the command-line tools (claims/calibrate_smoke.py,
claims/null_draws.py, benchmarks/test_checkpoint_cost.py) share, without pytest: where the data and the cache are, whether downloads are
allowed, and the resolved `Settings` (--seeds auto's batch and cap are resolved by deciding/until_decided.py's
`resolve_auto`). A setting that is wrong
raises ValueError naming the fix; the plugin turns that into pytest's usage error. Each variable named here is
read only through these functions, and only by their callers' start-up.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.config import PROTOCOLS, TIERS, RunConfig
from harness.data.cifar10 import CACHE_ENV_VAR, ENV_VAR
from harness.training import compile_cache

OFFLINE_ENV_VAR = "DROPOUT_CLAIMS_OFFLINE"
OFFLINE_ON, OFFLINE_OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
# The folders of the cache that training writes into (see harness/training/cache.py, harness/atomic.py), and where
# compiled programs are kept (harness/training/compile_cache.py).
CACHE_FOLDERS = ("", "tmp", "runs", "checkpoints", "locks", compile_cache.FOLDER)


@dataclass(frozen=True)
class Settings:
    cifar10: Path | None  # None: the archive in the cache folder
    cifar10_origin: str  # what gave `cifar10` ("--cifar10" or the variable), for error messages
    cache_dir: Path
    allow_download: bool
    retrain: bool
    seeds: int | None
    epochs: int | None
    protocol: str
    report: Path
    source: str = "official"  # or "tfds": harness/data/tfds_source.py
    tfds_data_dir: Path | None = None  # None: TFDS's default folder
    commit: str | None = None  # the commit a copied tree names (provenance.COMMIT_ENV_VAR); None: ask git
    # --seeds auto: (--seed-batch, --max-seeds) as given (None: the tier's default, AUTO_SEEDS); None: fixed seeds
    auto: tuple[int | None, int | None] | None = None

    def run_config(self, tier_name: str) -> RunConfig:
        """The tier's defaults, with --seeds / --epochs applied (they change the cache key)."""
        tier = TIERS[tier_name]
        if self.seeds is not None:
            tier = dataclasses.replace(tier, num_seeds=self.seeds)
        if self.epochs is not None:
            tier = dataclasses.replace(tier, epochs=self.epochs)
        return RunConfig(protocol=PROTOCOLS[self.protocol], tier=tier)


def configured_cifar10(option: str | None, environ: Mapping[str, str] = os.environ) -> tuple[Path | None, str]:
    """(path, what gave it): --cifar10 beats ${ENV_VAR}, so one run can override the environment.
    (None, "") when neither is set: the archive in the cache folder is used (harness/data/cifar10.py)."""
    if option is not None:
        return Path(option).expanduser(), "--cifar10"
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR]).expanduser(), f"${ENV_VAR}"
    return None, ""


def cache_dir_of(option: str | None, environ: Mapping[str, str] = os.environ) -> Path:
    """--cache-dir, else ${CACHE_ENV_VAR}, else $XDG_CACHE_HOME/dropout-claims, else ~/.cache/dropout-claims."""
    if option:
        return Path(option).expanduser()
    if environ.get(CACHE_ENV_VAR):
        return Path(environ[CACHE_ENV_VAR]).expanduser()
    xdg_cache = environ.get("XDG_CACHE_HOME")
    return (Path(xdg_cache).expanduser() if xdg_cache else Path.home() / ".cache") / "dropout-claims"


def offline_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """${OFFLINE_ENV_VAR}, read as the usual words for on and off; anything else is a ValueError, not a guess."""
    raw = environ.get(OFFLINE_ENV_VAR, "")
    value = raw.strip().lower()
    if value not in OFFLINE_ON + OFFLINE_OFF:
        raise ValueError(
            f"{OFFLINE_ENV_VAR}={raw!r} is neither on ({', '.join(OFFLINE_ON)}) nor off "
            f"({', '.join(OFFLINE_OFF[:-1])}). Fix: set it to one of those, or unset it."
        )
    return value in OFFLINE_ON


def unwritable(settings: Settings) -> str:
    """Why the cache or the report could not be written after training (the problem and its fix), or ''."""
    for sub in CACHE_FOLDERS:
        problem = _cannot_write_in(settings.cache_dir / sub)
        if problem:
            return (f"The cache folder {settings.cache_dir / sub} cannot be written ({problem}): trained runs could "
                    f"not be kept. Fix: pass --cache-dir DIR or set {CACHE_ENV_VAR} to a writable folder.")
    report = settings.report
    for path in (report, report.with_suffix(".json")):
        if path.is_dir():
            return (f"could not write the evidence report to {report}: {path} is a folder. "
                    "Fix: pass --report PATH with the path of an HTML file in a writable location.")
    problem = _cannot_write_in(report.parent)
    if problem:
        return (f"could not write the evidence report to {report} ({problem}). "
                "Fix: pass --report PATH with a writable location.")
    return ""


def _cannot_write_in(folder: Path) -> str:
    """Why a file cannot be created in `folder` (made if missing), or ''."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    return ""
