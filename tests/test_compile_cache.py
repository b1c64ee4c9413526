"""jax's persistent compilation cache as the claims use it (harness/training/compile_cache.py): every program is kept in
the folder given, a later process with the same program and XLA flags finds it under the same key, and a
process under other XLA flags (CI's second claims pass: --xla_cpu_max_isa=SSE4_2) never takes the native
executables but keeps its own.

Whether a found executable also loads is jax's business, not asserted here (jax-ml/jax#38445: on some Intel
CPUs jax 0.9-0.10 rejects every cached CPU executable and compiles again); benchmarks/test_compile_cache.py
measures what a warm cache saves.
"""

import os
import subprocess
import sys
from pathlib import Path

from harness import REPOSITORY
from harness.training import compile_cache

# A fresh process that compiles one small program (and jnp.ones's), with the cache in argv[1].
COMPILE_ONE_PROGRAM = """
import sys
from pathlib import Path
import jax, jax.numpy as jnp
from harness.training import compile_cache
compile_cache.enable(Path(sys.argv[1]))
jax.jit(lambda x: jnp.tanh(x) @ x.T)(jnp.ones((8, 8))).block_until_ready()
"""


def compile_in_a_fresh_process(folder: Path, xla_flags: str) -> set[str]:
    """The cache's entries after a fresh process compiled COMPILE_ONE_PROGRAM under `xla_flags`."""
    env = {name: value for name, value in os.environ.items() if name not in ("XLA_FLAGS", compile_cache.ENV_VAR)}
    env.update(PYTHONPATH=str(REPOSITORY), JAX_PLATFORMS="cpu", **({"XLA_FLAGS": xla_flags} if xla_flags else {}))
    subprocess.run([sys.executable, "-c", COMPILE_ONE_PROGRAM, str(folder)], cwd=REPOSITORY, env=env, check=True,
                   timeout=300)
    return {path.name for path in folder.glob("*-cache")}


def test_programs_are_kept_found_again_and_never_shared_across_xla_flags(tmp_path):
    folder = tmp_path / compile_cache.FOLDER
    native = compile_in_a_fresh_process(folder, "")
    assert native, f"nothing kept in {folder}: even a program compiled in milliseconds must be"
    assert compile_in_a_fresh_process(folder, "") == native, "the same program and flags must find the same keys"
    other_isa = compile_in_a_fresh_process(folder, "--xla_cpu_max_isa=SSE4_2")
    assert other_isa - native, (
        "a process under other XLA flags found the native executables: jax's cache key no longer includes "
        "$XLA_FLAGS, so key the cache folder by the flags (harness/training/compile_cache.py)"
    )
