"""The benchmarks time compilation, so jax's persistent compilation cache, which fixtures/options.py turns on
for every session (harness/training/compile_cache.py), is off for them: a second benchmark run would otherwise load
every program from disk and time nothing. (test_compile_cache.py gives its subprocesses caches of their own.)"""

import jax

jax.config.update("jax_enable_compilation_cache", False)
