"""The run axis sharded over 4 devices gives the numbers of the unsharded program.

CPU devices can only be multiplied before jax is imported
(XLA_FLAGS=--xla_force_host_platform_device_count=4), so the check runs in a
fresh interpreter.

The two programs are compiled differently (one run per device against four runs
side by side), so they round differently, and in this model rounding does not stay
small everywhere: the bias of each Dense layer that feeds a BatchNorm has zero
gradient in exact arithmetic (BatchNorm subtracts the batch mean), and Adam
normalises the ~1e-9 rounding noise of that gradient into steps of up to the
learning rate. Those biases are noise (as large as the differences between runs,
in both programs), and through BatchNorm's running means they move the eval-mode
summaries by 1e-4 to 1e-2 and flip the odd example or activation. So:

- tight (rtol 1e-5, atol 1e-6; measured: about 1e-7 or exact, against ~5e-3
  between runs): every weight that has a gradient (Dense kernels, the output
  bias, BatchNorm scales and biases), the running variances, and every summary
  at epoch 0 (before any step);
- loose, with the reason above (bounds about 3x what was measured, 12 epochs):
  the pre-BatchNorm biases only stay within Adam's reach (|b| <= learning rate x
  steps), running means within 1e-2 (measured 3e-3), trained summaries within 10%
  + 0.02 (measured up to 3.5%) or 3 examples / 10 histogram counts (measured 1 / 3).
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
from harness.train import Dataset, chunk_length, init_states, train_runs

assert jax.device_count() == 4, jax.devices()

# 70 training examples: two batches of 32 and a short last batch of 6.
NUM_TRAIN, NUM_TEST = 70, 20
rng = np.random.default_rng(0)
data = Dataset(
    train_x=jnp.asarray(rng.normal(size=(NUM_TRAIN, 3072)).astype(np.float32)),
    train_y=jnp.asarray(rng.integers(0, 10, NUM_TRAIN).astype(np.int32)),
    test_x=jnp.asarray(rng.normal(size=(NUM_TEST, 3072)).astype(np.float32)),
    test_y=jnp.asarray(rng.integers(0, 10, NUM_TEST).astype(np.int32)),
)
# 12 epochs: two calls of the 6-epoch chunk, so the compiled program is fed its own sharded output.
config = RunConfig(protocol=WRITEUP, tier=Tier("tiny", epochs=12, num_seeds=2), widths=(16, 8, 8, 8))
assert chunk_length(config.tier.epochs) == 6
seeds = config.tier.seeds()
num_runs = len(seeds) * len(VARIANTS)
num_layers = len(config.widths)

sharding = run_sharding(num_runs)
assert sharding is not None and len(sharding.device_set) == 4, sharding
# What train_runs does with it: every leaf of the state split over the 4 devices, one run each.
state = jax.device_put(init_states(config, seeds, NUM_TRAIN), sharding)
for leaf in jax.tree_util.tree_leaves(state):
    assert {s.device for s in leaf.addressable_shards} == sharding.device_set, leaf.sharding
    assert all(s.data.shape[0] == 1 for s in leaf.addressable_shards), leaf.sharding

sharded = train_runs(config, data, seeds, sharding=sharding)
single = train_runs(config, data, seeds, sharding=None)

def leaves(tree):
    return {jax.tree_util.keystr(p): np.asarray(v) for p, v in jax.tree_util.tree_leaves_with_path(tree)}

exact, tight, loose = [], [], []

def compare(name, a, b, group, **tol):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (name, a.shape, b.shape)
    assert np.isfinite(a).all() and np.isfinite(b).all(), name
    if np.array_equal(a, b):
        exact.append(name)
        return
    np.testing.assert_allclose(a, b, err_msg=name, **tol)
    group.append(f"{name} ({np.abs(a.astype(float) - b.astype(float)).max():.1e})")

TIGHT = dict(rtol=1e-5, atol=1e-6)
assert set(sharded.curves) == set(single.curves) and set(sharded.final) == set(single.final)
assert leaves(sharded.params).keys() == leaves(single.params).keys()

# Tight: epoch 0, the weights that have a gradient, the running variances.
for name in single.curves:
    compare(f"curves/{name}[epoch 0]", sharded.curves[name][:, :, 0], single.curves[name][:, :, 0], tight, **TIGHT)
pre_bn_biases = {f"['Dense_{i}']['bias']" for i in range(num_layers)}
for kind in ("params", "batch_stats"):
    ours, theirs = leaves(getattr(sharded, kind)), leaves(getattr(single, kind))
    for name in ours:
        if kind == "params" and name in pre_bn_biases:
            reach = config.protocol.learning_rate * config.tier.epochs * -(-NUM_TRAIN // 32)
            assert np.abs(ours[name]).max() <= reach and np.abs(theirs[name]).max() <= reach, name
            loose.append(f"params{name} (noise: |b| <= {reach:g})")
        elif name.endswith("['mean']"):
            compare(kind + name, ours[name], theirs[name], loose, rtol=0, atol=1e-2)
        else:
            compare(kind + name, ours[name], theirs[name], tight, **TIGHT)
    # The tight comparison tells runs apart: runs differ from one another far beyond it.
    for name, value in theirs.items():
        if name not in pre_bn_biases and value.std() > 0:
            runs = value.reshape(num_runs, -1)
            assert min(np.abs(runs[i] - runs[j]).max() for i in range(num_runs) for j in range(i)) > 1e-4, name

# Loose: what eval mode computes after training (moved by the pre-BatchNorm bias noise).
counts = {"test_positive_hist": 10, "train_accuracy": 3 / NUM_TRAIN, "test_accuracy": 3 / NUM_TEST,
          "test_correct": 3 / NUM_TEST}
for where, ours, theirs in (("curves", sharded.curves, single.curves), ("final", sharded.final, single.final)):
    for name in theirs:
        a, b = (ours[name][:, :, 1:], theirs[name][:, :, 1:]) if where == "curves" else (ours[name], theirs[name])
        if name == "test_correct":  # per example: compare the share of examples, a flip or two allowed
            a, b = np.mean(a, axis=-1), np.mean(b, axis=-1)
        tol = dict(rtol=0, atol=counts[name]) if name in counts else dict(rtol=0.1, atol=0.02)
        compare(f"{where}/{name}", a, b, loose, **tol)

print(f"exact: {len(exact)}")
print(f"tight (rtol 1e-5, atol 1e-6), not exact: {len(tight)}: {tight}")
print(f"loose: {len(loose)}: {loose}")
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
