"""jax's persistent compilation cache: every compiled program kept on disk, so that the next process that
needs the same program (same code, shapes, versions, device and XLA flags) loads it instead of compiling.

A loaded program is the executable that was compiled, so the numbers are the same as a fresh compilation's.
jax keys each entry by the program's HLO, its input shapes, the jax and jaxlib versions, the backend and
device kind, the compile options and the XLA flags in $XLA_FLAGS (jax/_src/cache_key.py), so a process
under other flags (CI's second claims pass, `--xla_cpu_max_isa=SSE4_2`) compiles and keeps its own
executables and never loads the native ones (tests/test_compile_cache.py checks that on this jax).
"""

from __future__ import annotations

from pathlib import Path

import jax

# Where the claims keep their compiled programs, inside the run cache (fixtures/options.py), unless
# $JAX_COMPILATION_CACHE_DIR names another folder (which jax then sets up from its environment variables).
FOLDER = "xla"
ENV_VAR = "JAX_COMPILATION_CACHE_DIR"
# A bound jax keeps by evicting the least recently used entries. Setting one also makes jax lock the folder
# around every read and write, so that processes sharing it (pytest-xdist workers, two sessions on one cache)
# never read an entry another is still writing. Every process writing into the folder must then set it: jax
# evicts by access times that only bounded writers record.
MAX_BYTES = 4 * 2**30


def enable(directory: Path) -> Path:
    """Keep every program this process compiles in `directory` (made if missing) and load it from there.

    Every program is kept, however small and quickly compiled: jax's defaults keep only programs that took
    a second or more to compile, which on a CPU leaves out most of a claims run's. Call it before the first
    compilation of the process: jax opens its cache once, at the first compilation.
    """
    directory.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)  # no size floor, and no override of it
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return directory
