"""Training across several processes with JAX's own multi-controller runtime.

Every process runs the same script: `initialize()` connects it to the others
(on SLURM, Open MPI or TPU pods jax finds the coordinator and its own rank by
itself), `seed_share` picks its contiguous share of the seeds, it trains that
share with `train_runs` as a single process would, and `gather_run_set`
assembles every process's share into the full run set on every process;
`is_reporting_process()` (process 0) writes the reports.

Runs are independent, so nothing crosses processes during training: the only
cross-process communication is one all-gather of the finished results. Each
process trains a different number of runs than a single process would, so its
compiled program (and its rounding) can differ from the single-process one:
the numbers agree at float32 tolerance where rounding cannot move them
(tests/sharded_training.py says where that is), not necessarily bit for bit.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import jax
import numpy as np
from jax.experimental import multihost_utils

from harness.training.run_set import RunSet

Tree = TypeVar("Tree")


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
    """Join the processes of this job; call it first, before anything that touches a jax device.

    With every argument None, jax detects the cluster (SLURM, Open MPI, TPU)
    and its `JAX_COORDINATOR_ADDRESS`. `num_processes=1` does nothing: one
    process is what jax is without initialising, and a coordinator service for
    one would only occupy a port. Calling it again once initialised does
    nothing either (jax itself refuses a second initialisation).

    On CPU the processes exchange results through gloo collectives (TCP):
    without cross-process collectives the CPU backend cannot run the gather.
    jax 0.10 selects gloo by default but older versions selected none, so gloo
    is chosen here unless one was chosen already (e.g. "mpi" through
    JAX_CPU_COLLECTIVES_IMPLEMENTATION). The option only concerns the CPU
    client, which jax creates after this call; on GPU and TPU it changes nothing.
    """
    if num_processes == 1 or jax.distributed.is_initialized():
        return
    if jax.config.jax_cpu_collectives_implementation in (None, "none"):
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id)


def share_sizes(num_seeds: int, num_processes: int) -> tuple[int, ...]:
    """How many seeds each process trains: as even as possible, the first processes taking one more.

    Every process must train at least one seed (a training of no runs has no
    program to compile), so there may be no more processes than seeds.
    """
    if num_seeds < num_processes:
        raise ValueError(f"{num_seeds} seeds cannot be shared among {num_processes} processes: every process "
                         "trains at least one seed. Fix: use more seeds or fewer processes.")
    base, extra = divmod(num_seeds, num_processes)
    return tuple(base + (p < extra) for p in range(num_processes))


def seed_share(seeds: tuple[int, ...], *, process_index: int | None = None,
               num_processes: int | None = None) -> tuple[int, ...]:
    """This process's contiguous share of `seeds`: every seed is in exactly one share, in order.

    `process_index` / `num_processes` default to jax's (pass them to ask about
    another process without initialising jax).
    """
    index = jax.process_index() if process_index is None else process_index
    count = jax.process_count() if num_processes is None else num_processes
    sizes = share_sizes(len(seeds), count)
    start = sum(sizes[:index])
    return tuple(seeds)[start : start + sizes[index]]


def gather_seeds(tree: Tree, num_seeds: int, axis: int = 1) -> Tree:
    """Every leaf with all `num_seeds` seeds along `axis`, in seed order, on every process.

    Each leaf holds this process's share (`seed_share`) along `axis`. jax's
    all-gather wants the same shapes on every process, so shares are padded to
    the largest and trimmed after. All leaves travel as one byte buffer: one
    collective and one compiled program, whatever the tree, instead of one per
    leaf. With one process the tree is returned as it is.
    """
    count = jax.process_count()
    if count == 1:
        return tree
    sizes = share_sizes(num_seeds, count)
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    leaves = [np.asarray(leaf) for leaf in leaves]
    own = sizes[jax.process_index()]
    for leaf in leaves:
        if leaf.ndim <= axis or leaf.shape[axis] != own:
            raise ValueError(f"a leaf shaped {leaf.shape} does not hold this process's {own} seeds along axis {axis}")
    padded = [_pad(leaf, axis, max(sizes)) for leaf in leaves]
    buffer = np.concatenate([np.ascontiguousarray(p).reshape(-1).view(np.uint8) for p in padded] or
                            [np.zeros(0, np.uint8)])
    gathered = multihost_utils.process_allgather(buffer)  # (processes, bytes)
    full, offset = [], 0
    for p in padded:
        parts = [row[offset : offset + p.nbytes].view(p.dtype).reshape(p.shape) for row in gathered]
        full.append(np.concatenate([part[(slice(None),) * axis + (slice(0, n),)] for part, n in zip(parts, sizes)],
                                   axis=axis))
        offset += p.nbytes
    return jax.tree_util.tree_unflatten(treedef, full)


def _pad(leaf: np.ndarray, axis: int, size: int) -> np.ndarray:
    """`leaf` with zeros appended along `axis` up to `size`."""
    widths = [(0, 0)] * leaf.ndim
    widths[axis] = (0, size - leaf.shape[axis])
    return np.pad(leaf, widths)


def gather_run_set(run_set: RunSet, seeds: tuple[int, ...]) -> RunSet:
    """The run set of all `seeds` on every process, from each process's run set of its `seed_share`.

    Curves, final summaries and trained networks are gathered along the seed
    axis. `train_seconds` and `compile_seconds` become the maximum over the
    processes: they ran side by side, so the slowest one is how long the job
    waited. Everything else (configuration, variants, meta) is this process's.
    """
    seeds = tuple(seeds)
    if tuple(run_set.seeds) != seed_share(seeds):
        raise ValueError(f"this process trained seeds {run_set.seeds}, not its share {seed_share(seeds)} of {seeds}")
    if jax.process_count() == 1:
        return run_set
    parts: dict[str, Any] = {
        "curves": run_set.curves, "final": run_set.final,
        "params": run_set.params, "batch_stats": run_set.batch_stats,
    }
    gathered = gather_seeds(parts, len(seeds))
    seconds = multihost_utils.process_allgather(np.array([run_set.train_seconds, run_set.compile_seconds]))
    return dataclasses.replace(
        run_set, seeds=seeds, **gathered,
        train_seconds=float(seconds[:, 0].max()), compile_seconds=float(seconds[:, 1].max()),
    )


def as_reporting_process_says(flags: list[bool]) -> list[bool]:
    """Process 0's flags on every process (one process: the flags as they are), so that every process
    decides the same, e.g. which runs to train when only process 0 reads the cache."""
    if jax.process_count() == 1:
        return list(flags)
    return [bool(flag) for flag in multihost_utils.broadcast_one_to_all(np.asarray(flags))]


def is_reporting_process() -> bool:
    """Process 0 writes reports and caches: every process holds the same gathered runs, one writes them."""
    return jax.process_index() == 0
