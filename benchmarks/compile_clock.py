"""Seconds that JAX spends compiling inside a timed span (its monitoring events), for the benchmarks."""

from __future__ import annotations

import math

import jax

# What JAX reports as compilation (tracing, lowering to MLIR, XLA compile); nested
# spans (a jit traced inside another) overlap and are merged, not double counted.
# One per XLA program built: compiled, or loaded from jax's persistent compilation cache.
BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"
COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    BACKEND_COMPILE,
)


class CompileClock:
    """Records JAX's compilation time spans (wall clock, `time.time()`) while active."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self.backend_compiles: list[tuple[float, float]] = []

    def _listener(self, event: str, start: float, end: float, **_: object) -> None:
        if event in COMPILE_EVENTS:
            self.spans.append((start, end))
        if event == BACKEND_COMPILE:
            self.backend_compiles.append((start, end))

    def __enter__(self) -> CompileClock:  # noqa: PYI034 (typing.Self needs Python 3.11; we support 3.10)
        jax.monitoring.register_event_time_span_listener(self._listener)
        return self

    def __exit__(self, *exc: object) -> None:
        jax.monitoring.unregister_event_time_span_listener(self._listener)

    def programs(self, start: float, end: float) -> int:
        """XLA programs built (compiled, or loaded from jax's persistent compilation cache) within [start, end]."""
        return sum(start <= e <= end for _, e in self.backend_compiles)

    def within(self, start: float, end: float) -> float:
        """Seconds of [start, end] spent compiling (union of the recorded spans)."""
        clipped = sorted((max(s, start), min(e, end)) for s, e in self.spans if e > start and s < end)
        total, cursor = 0.0, -math.inf
        for s, e in clipped:
            s = max(s, cursor)
            if e > s:
                total += e - s
                cursor = e
        return total
