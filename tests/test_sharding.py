"""The run axis sharded over 4 devices gives the numbers of the unsharded program.

CPU devices can only be multiplied before jax is imported
(XLA_FLAGS=--xla_force_host_platform_device_count=4), so the check runs in a
fresh interpreter.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]

SCRIPT = r"""
import jax
import jax.numpy as jnp
import numpy as np

from harness.config import VARIANTS, WRITEUP, RunConfig, Tier
from harness.runs import run_sharding
from harness.train import Dataset, init_states, train_runs

assert jax.device_count() == 4, jax.devices()

# 70 training examples: two batches of 32 and a short last batch of 6.
rng = np.random.default_rng(0)
data = Dataset(
    train_x=jnp.asarray(rng.normal(size=(70, 3072)).astype(np.float32)),
    train_y=jnp.asarray(rng.integers(0, 10, 70).astype(np.int32)),
    test_x=jnp.asarray(rng.normal(size=(20, 3072)).astype(np.float32)),
    test_y=jnp.asarray(rng.integers(0, 10, 20).astype(np.int32)),
)
config = RunConfig(protocol=WRITEUP, tier=Tier("tiny", epochs=2, num_seeds=2), widths=(16, 8, 8, 8))
seeds = config.tier.seeds()
num_runs = len(seeds) * len(VARIANTS)

sharding = run_sharding(num_runs)
assert sharding is not None and len(sharding.device_set) == 4, sharding
# What train_runs does with it: every leaf of the state split over the 4 devices, one run each.
state = jax.device_put(init_states(config, seeds, 70), sharding)
for leaf in jax.tree_util.tree_leaves(state):
    assert {s.device for s in leaf.addressable_shards} == sharding.device_set, leaf.sharding
    assert all(s.data.shape[0] == 1 for s in leaf.addressable_shards), leaf.sharding

sharded = train_runs(config, data, seeds, sharding=sharding)
single = train_runs(config, data, seeds, sharding=None)

exact, close = [], []
def compare(name, a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (name, a.shape, b.shape)
    if np.array_equal(a, b):
        exact.append(name)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
        close.append(name)

assert set(sharded.curves) == set(single.curves) and set(sharded.final) == set(single.final)
for name in single.curves:
    compare("curves/" + name, sharded.curves[name], single.curves[name])
for name in single.final:
    compare("final/" + name, sharded.final[name], single.final[name])
for kind in ("params", "batch_stats"):
    paths_a = jax.tree_util.tree_leaves_with_path(getattr(sharded, kind))
    paths_b = jax.tree_util.tree_leaves_with_path(getattr(single, kind))
    assert [p for p, _ in paths_a] == [p for p, _ in paths_b]
    for (path, a), (_, b) in zip(paths_a, paths_b):
        compare(kind + jax.tree_util.keystr(path), a, b)
# The runs differ from one another (the comparison is not between constants).
assert not np.array_equal(single.curves["train_loss"][0, 0], single.curves["train_loss"][1, 0])
print(f"exact {len(exact)}, within rtol 1e-5 {len(close)}: {close}")
"""


def test_sharded_runs_equal_unsharded():
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr[-5000:]}"
    print(result.stdout)
