"""What jax's persistent compilation cache saves (harness/training/compile_cache.py): the claims' programs in a fresh
process against an empty compile cache (cold: everything compiles), then in another fresh process against
the cache the first one filled (warm: everything is loaded).

    pytest benchmarks/test_compile_cache.py -s

Each side is a fresh interpreter (`python benchmarks/test_compile_cache.py CACHE_DIR`) that does what a claims
session does with the device: it trains every seed x variant with `train_runs` (initialisation, the epoch
chunk, the evaluation and final-summary programs) and measures the probes on the result (`probes.measure`),
on synthetic CIFAR-shaped data: the full tier's shapes on a GPU (2 epochs), small ones on a CPU. Its wall
time, interpreter start and imports included, is what the cache changes, and its CPU time (user + system, all
threads), which the other processes of a shared machine do not inflate; the process also reports the seconds
JAX spent tracing, lowering and building programs (`compile_clock.CompileClock`; a warm process still traces
and lowers, to compute the cache keys), its XLA programs and the cache's hits (programs loaded) and misses
(programs compiled). pytest-benchmark times the warm process; `benchmark.extra_info` holds both sides and the
ratios cold / warm. The only assertions are sanity checks (the cold side compiled, into its own empty
cache), never timing thresholds.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from harness import REPOSITORY
from harness.config import WRITEUP, RunConfig, Tier
from harness.training import compile_cache, compiler
from harness.training.run_set import Dataset

BACKEND = jax.default_backend()
NUM_TRAIN, NUM_TEST, NUM_SEEDS = (50_000, 10_000, 8) if BACKEND == "gpu" else (2048, 1000, 2)
CONFIG = RunConfig(protocol=WRITEUP, tier=Tier("benchmark", epochs=2, num_seeds=NUM_SEEDS))
CACHE_EVENTS = ("/jax/compilation_cache/cache_hits", "/jax/compilation_cache/cache_misses")
# The compiler options a fresh process compiles with, by name: (CPU_OPTIONS, CPU_RUN_ONCE_OPTIONS) of
# harness/training/compiler.py; None keeps the harness's own.
OPTION_SIDES: dict[str, tuple[dict, dict] | None] = {
    "harness": None,
    "xla-defaults": ({}, {}),
    "fusion-emitters-everywhere": (compiler.CPU_OPTIONS, {}),
    "fusion-emitters-nowhere": (compiler.CPU_OPTIONS | compiler.CPU_RUN_ONCE_OPTIONS, compiler.CPU_RUN_ONCE_OPTIONS),
}
OPTION_ROUNDS = 3  # cold processes per side: one is one draw of a shared machine's load


def claims_programs(cache_dir: Path, options: str = "harness") -> dict:
    """Train and probe once with the compile cache in `cache_dir`, compiling with the options `OPTION_SIDES[options]`;
    what it cost (the fresh process's side)."""
    # Beside this file (on sys.path when it runs as a script); the harness's modules, once the cache is named.
    from compile_clock import CompileClock

    from harness.evidence import probes
    from harness.training import compiler
    from harness.training.train import train_runs

    if OPTION_SIDES[options] is not None:
        compiler.CPU_OPTIONS, compiler.CPU_RUN_ONCE_OPTIONS = OPTION_SIDES[options]
    compile_cache.enable(cache_dir)
    events: Counter[str] = Counter()
    jax.monitoring.register_event_listener(lambda event, **_: events.update([event]))
    rng = np.random.default_rng(0)
    data = Dataset(
        train_x=jnp.asarray(rng.standard_normal((NUM_TRAIN, 3072), dtype=np.float32)),
        train_y=jnp.asarray(rng.integers(0, 10, NUM_TRAIN), jnp.int32),
        test_x=jnp.asarray(rng.standard_normal((NUM_TEST, 3072), dtype=np.float32)),
        test_y=jnp.asarray(rng.integers(0, 10, NUM_TEST), jnp.int32),
    )
    events.clear()  # what making the data compiled is not the claims' programs
    with CompileClock() as clock:
        start = time.time()
        runs = train_runs(CONFIG, data, CONFIG.tier.seeds())
        measured = probes.measure(runs, data)
        end = time.time()
    assert np.all(measured.conversion_max_error < 1e-4)  # real numbers: a NaN network fails the scaling identity
    probe_start = time.perf_counter()
    probes.measure(runs, data)  # compiled above: running alone
    return {"compile_seconds": clock.within(start, end), "xla_programs": clock.programs(start, end),
            "train_seconds": runs.train_seconds, "probe_seconds": time.perf_counter() - probe_start,
            "cache_hits": events[CACHE_EVENTS[0]], "cache_misses": events[CACHE_EVENTS[1]]}


def fresh_process(cache_dir: Path, options: str = "harness") -> dict:
    """`claims_programs` in a fresh interpreter (this file as a script), with its wall and CPU time from start to
    exit."""
    env = {name: value for name, value in os.environ.items()
           if name not in (compile_cache.ENV_VAR, "JAX_ENABLE_COMPILATION_CACHE")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPOSITORY), env.get("PYTHONPATH")) if p)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, str(cache_dir), options], cwd=REPOSITORY, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stderr[-3000:]
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"process_seconds": seconds, "process_cpu_seconds": cpu}


def test_compile_cache_cold_vs_warm(benchmark, tmp_path):
    cache_dir = tmp_path / compile_cache.FOLDER
    cold = fresh_process(cache_dir)
    warm = benchmark.pedantic(fresh_process, args=(cache_dir,), rounds=1, iterations=1)
    assert cold["cache_misses"] > 0 and cold["cache_hits"] == 0, cold

    cache_bytes = sum(path.stat().st_size for path in cache_dir.glob("*-cache"))
    info = {"backend": BACKEND, "device": str(jax.devices()[0]), "num_train": NUM_TRAIN, "num_test": NUM_TEST,
            "seeds": NUM_SEEDS, "epochs": CONFIG.tier.epochs, "cache_entries": len(list(cache_dir.glob("*-cache"))),
            "cache_bytes": cache_bytes}
    for side, measured in (("cold", cold), ("warm", warm)):
        info |= {f"{side}_{name}": value for name, value in measured.items()}
    info["ratio_cold_over_warm"] = cold["process_seconds"] / warm["process_seconds"]
    info["cpu_ratio_cold_over_warm"] = cold["process_cpu_seconds"] / warm["process_cpu_seconds"]
    # The ratio compares compiling with loading only where the warm process loaded everything.
    info["warm_loaded_every_program"] = warm["cache_misses"] == 0
    benchmark.extra_info.update(info)
    print()
    print(f"[{BACKEND}] train ({2 * NUM_SEEDS} runs x {CONFIG.tier.epochs} epochs of {NUM_TRAIN}) + probes "
          f"({NUM_TEST} test images), each in a fresh process; {info['cache_entries']} programs cached, "
          f"{cache_bytes / 2**20:.1f} MiB")
    for side, measured in (("cold", cold), ("warm", warm)):
        print(f"  {side}: {measured['process_seconds']:6.2f} s ({measured['process_cpu_seconds']:.2f} s CPU), of which "
              f"{measured['compile_seconds']:.2f} s tracing, lowering and building {measured['xla_programs']} XLA "
              f"programs: {measured['cache_misses']} compiled, {measured['cache_hits']} loaded from the cache")
    print(f"  cold / warm: {info['ratio_cold_over_warm']:.2f}x wall, {info['cpu_ratio_cold_over_warm']:.2f}x CPU")
    if warm["cache_misses"]:
        print(f"  WARNING: the warm process still compiled {warm['cache_misses']} program(s) instead of loading them "
              "(on some Intel CPUs jax rejects every cached CPU executable: jax-ml/jax#38445)")


@pytest.mark.skipif(BACKEND != "cpu", reason="the harness's compiler options are the CPU's (harness/training/compiler.py)")
def test_cpu_compiler_options_vs_xla_defaults(benchmark, tmp_path):
    """All cold (each process compiles everything into an empty cache): XLA's default options; the harness's level 1
    with the fusion emitters for every program, or for none (the training chunk included); then the harness's own
    (the fusion emitters for the training chunk alone). OPTION_ROUNDS rounds, the sides interleaved within each
    (so a change of the machine's load biases none of them); each side's median over the rounds."""
    rounds: dict[str, list[dict]] = {side: [] for side in OPTION_SIDES}
    for r in range(OPTION_ROUNDS):
        for side in OPTION_SIDES:
            if side == "harness" and r == 0:  # one of the harness's processes, through pytest-benchmark
                measured = benchmark.pedantic(fresh_process, args=(tmp_path / f"{side}-{r}",), rounds=1, iterations=1)
            else:
                measured = fresh_process(tmp_path / f"{side}-{r}", side)
            assert measured["cache_hits"] == 0 < measured["cache_misses"], (side, measured)
            rounds[side].append(measured)
    median = {side: {name: float(np.median([m[name] for m in ms])) for name in ms[0]} for side, ms in rounds.items()}
    ours = median["harness"]
    others = {side: measured for side, measured in median.items() if side != "harness"}
    info = {"backend": BACKEND, "options": compiler.CPU_OPTIONS, "run_once_options": compiler.CPU_RUN_ONCE_OPTIONS,
            "num_train": NUM_TRAIN, "seeds": NUM_SEEDS, "rounds": OPTION_ROUNDS}
    for side, measured in (("harness", ours), *others.items()):
        info |= {f"{side}_{name}": value for name, value in measured.items()}
    names = ("compile_seconds", "train_seconds", "probe_seconds", "process_seconds", "process_cpu_seconds")
    for side, measured in others.items():
        info |= {f"{name}_ratio_{side}_over_harness": measured[name] / ours[name] for name in names}
    benchmark.extra_info.update(info)
    print()
    print(f"  medians over {OPTION_ROUNDS} cold processes per side:")
    harness = f"harness {compiler.CPU_OPTIONS} (+ {compiler.CPU_RUN_ONCE_OPTIONS} where a program runs once)"
    for side, measured in ((harness, ours), *others.items()):
        print(f"  {side}: {measured['process_seconds']:6.2f} s ({measured['process_cpu_seconds']:.2f} s CPU), of which "
              f"{measured['compile_seconds']:.2f} s tracing, lowering and building {measured['xla_programs']} programs; "
              f"training ran {measured['train_seconds']:.2f} s, the probes {measured['probe_seconds']:.2f} s")
    for side in others:
        ratio = {name: info[f"{name}_ratio_{side}_over_harness"] for name in names}
        print(f"  {side} / harness: {ratio['compile_seconds']:.2f}x compiling, {ratio['train_seconds']:.2f}x training, "
              f"{ratio['probe_seconds']:.2f}x probes, {ratio['process_seconds']:.2f}x wall, "
              f"{ratio['process_cpu_seconds']:.2f}x CPU")


if __name__ == "__main__":
    print(json.dumps(claims_programs(Path(sys.argv[1]), *sys.argv[2:3])))
