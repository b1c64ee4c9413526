"""How every harness program is compiled: `jit`, which is `jax.jit` with the harness's options for the backend.

On a CPU, XLA hands each program to LLVM at optimisation level 2 by default; the harness asks for level 1
(XLA's DebugOptions `xla_backend_optimization_level`):

- It compiles faster: LLVM's level-2 passes are a large part of compiling on a CPU, and compiling is a large
  share of the harness's own test suite's time.
- The programs run as fast: their time goes into the matrix products, library calls that LLVM does not
  compile. `pytest benchmarks/test_compile_cache.py -s -k options` measures both sides in fresh processes.
- It is a numeric path of its own, like another CPU or XLA build: the same runs differ from level 2's in
  the last bits, and training's chaos makes that a fresh random draw of the same configuration. The smoke
  tier's pinned verdicts and its drift test are calibrated to hold on any such path (claims/calibrate_smoke.py
  draws two), and CI runs them under these options on two instruction sets.

Only the training chunk runs for long. Every other program (initialisation, the epoch-0 and final evaluations,
the finite check, the probes) runs once or a few times per training, so compiling it costs as much as running
it or more. Those are compiled with XLA's older loop emitters as well (`xla_cpu_use_fusion_emitters` off),
which compile them faster; they run about as fast, the probes slower, by less than compiling them
saves. The chunk keeps the fusion emitters, without which it trains markedly slower.
`pytest benchmarks/test_compile_cache.py -s -k options` measures each choice against the harness's: XLA's
defaults, and the fusion emitters for every program or for none. Its measurement on a 2-core CPU, medians of three
cold processes per side, is reports/reference/benchmark-compiler-options-cpu.json (the `*_ratio_*_over_harness`
fields of its `extra_info`).

On an accelerator the options are XLA's own (None).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax


def numeric_path() -> str:
    """Where this process's numbers come from, besides the jax build and the options below: its devices, the
    processor (on a CPU: its model and the widest vector instructions XLA may use on it) and $XLA_FLAGS. Training
    is chaotic, so each path is a fresh random draw of a configuration: the run cache never reuses one path's runs
    for another (training/runs.py), and the smoke calibration's null draws name theirs (claims/null_draws.py)."""
    devices = sorted({f"{d.platform}:{d.device_kind}" for d in jax.devices()})
    processor = platform.machine()
    if any(d.platform == "cpu" for d in jax.devices()):
        processor += f" ({'; '.join(detail for detail in (cpu_model(), vector_instructions()) if detail)})"
    flags = os.environ.get("XLA_FLAGS", "").strip()
    return f"{', '.join(devices)} on {processor}" + (f" with {flags}" if flags else "")


def _cpuinfo(field: str) -> str:
    """The first `field` line of Linux's /proc/cpuinfo ("" where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":", 1)[0].strip() == field:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def cpu_model() -> str:
    """The host CPU's model name (Linux's /proc/cpuinfo; on ARM its implementer and part numbers), else what
    `platform` knows."""
    arm = " ".join(f"{field} {_cpuinfo(field)}" for field in ("CPU implementer", "CPU part") if _cpuinfo(field))
    return _cpuinfo("model name") or arm or platform.processor() or platform.machine()


# Vector instruction sets, widest first, x86's then ARM's. XLA compiles for the instructions the CPU has (unless
# --xla_cpu_max_isa caps them): other instructions (fused multiply-adds, other register widths) round and sum in
# other orders, so a CPU with other ones is another numeric path.
VECTOR_SETS = ("avx512f", "avx2", "avx", "sse4_2", "sve2", "sve", "asimd")


def vector_instructions() -> str:
    """The widest vector instruction set of the host CPU (`VECTOR_SETS`), with "+fma" where an x86 CPU fuses
    multiply-adds (which round once where a multiply and an add round twice; ARM's vector units always can);
    "" where /proc/cpuinfo names none."""
    flags = set((_cpuinfo("flags") or _cpuinfo("Features")).split())
    widest = next((name for name in VECTOR_SETS if name in flags), "")
    return widest + ("+fma" if widest and "fma" in flags else "")


# The CPU's options for the programs that run long (the training chunk); with both {}, every program compiles
# with XLA's defaults (benchmarks/test_compile_cache.py compares the two).
CPU_OPTIONS: dict[str, Any] = {"xla_backend_optimization_level": 1}
# Added for the programs that run once or a few times per training.
CPU_RUN_ONCE_OPTIONS: dict[str, Any] = {"xla_cpu_use_fusion_emitters": False}


def options(runs_long: bool = False) -> dict[str, Any] | None:
    """The compiler options for the default backend: on a CPU `CPU_OPTIONS`, with `CPU_RUN_ONCE_OPTIONS` unless
    the program `runs_long`; XLA's defaults (None) elsewhere.

    An option that $XLA_FLAGS sets is left to it: a program's own options would override the flag, and whoever
    set it meant it (tests/test_sharding.py compiles at level 0, which compiles faster still and runs slower).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    wanted = CPU_OPTIONS if runs_long else CPU_OPTIONS | CPU_RUN_ONCE_OPTIONS
    chosen = {name: value for name, value in wanted.items() if f"--{name}=" not in flags}
    return chosen if chosen and jax.default_backend() == "cpu" else None


def jit(fun: Callable, *, runs_long: bool = False, **kwargs: Any) -> Any:
    """`jax.jit(fun, **kwargs)` compiled with `options(runs_long)`; jax keys its caches (in memory and on disk)
    by them."""
    return jax.jit(fun, compiler_options=options(runs_long), **kwargs)
