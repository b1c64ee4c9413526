"""Run by tests/test_sharding.py in a fresh interpreter with 4 CPU devices: sharded training equals unsharded.

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python tests/sharded_training.py

The two programs are compiled differently (one run per device against four runs
side by side), so they round differently, and in this model rounding does not
stay small everywhere: the bias of each Dense layer that feeds a BatchNorm has
zero gradient in exact arithmetic (BatchNorm subtracts the batch mean), and
Adam normalises the ~1e-9 rounding noise of that gradient into steps of up to
the learning rate. Those biases (and the running means that absorb them, and
every eval-mode number read through the running means after training) are a
random draw on every machine, so only what rounding cannot move is compared,
at float32 tolerance:

- every summary at epoch 0 (before any step): nothing has been trained yet;
- after two short epochs (6 Adam steps), every weight that has a real gradient
  (Dense kernels, the output bias, BatchNorm scales and biases) and the running
  variances: their training-mode trajectory does not see the pre-BatchNorm
  biases, and six steps are too few for rounding to grow;
- the pre-BatchNorm biases only within Adam's reach (|b| <= learning rate x steps).

The tolerance separates runs: the same weights of different runs differ far beyond it.
"""

import jax
import jax.numpy as jnp
import numpy as np

from harness.config import VARIANTS, WRITEUP, RunConfig, Tier
from harness.training.run_set import Dataset
from harness.training.runs import run_sharding
from harness.training.train import init_states, train_runs

TIGHT = {"rtol": 1e-5, "atol": 1e-6}
NUM_TRAIN, NUM_TEST = 70, 20  # two batches of 32 and a short last batch of 6


def leaves(tree) -> dict[str, np.ndarray]:
    return {jax.tree_util.keystr(p): np.asarray(v) for p, v in jax.tree_util.tree_leaves_with_path(tree)}


def main() -> None:
    assert jax.device_count() == 4, jax.devices()
    rng = np.random.default_rng(0)
    data = Dataset(
        train_x=jnp.asarray(rng.normal(size=(NUM_TRAIN, 3072)).astype(np.float32)),
        train_y=jnp.asarray(rng.integers(0, 10, NUM_TRAIN).astype(np.int32)),
        test_x=jnp.asarray(rng.normal(size=(NUM_TEST, 3072)).astype(np.float32)),
        test_y=jnp.asarray(rng.integers(0, 10, NUM_TEST).astype(np.int32)),
    )
    config = RunConfig(protocol=WRITEUP, tier=Tier("tiny", epochs=2, num_seeds=2), widths=(16, 8, 8, 8))
    seeds = config.tier.seeds()
    num_runs = len(seeds) * len(VARIANTS)

    sharding = run_sharding(num_runs)
    assert sharding is not None and len(sharding.device_set) == 4, sharding
    # What train_runs does with it: every leaf of the state split over the 4 devices, one run each.
    state = jax.device_put(init_states(config, seeds, NUM_TRAIN), sharding)
    for leaf in jax.tree_util.tree_leaves(state):
        assert {s.device for s in leaf.addressable_shards} == sharding.device_set, leaf.sharding
        assert all(s.data.shape[0] == 1 for s in leaf.addressable_shards), leaf.sharding

    sharded = train_runs(config, data, seeds, sharding=sharding)
    single = train_runs(config, data, seeds, sharding=None)
    assert set(sharded.curves) == set(single.curves)

    compared = []
    for name in single.curves:
        np.testing.assert_allclose(sharded.curves[name][:, :, 0], single.curves[name][:, :, 0], **TIGHT,
                                   err_msg=f"{name} at epoch 0")
        compared.append(f"curves/{name}[epoch 0]")
    pre_bn_biases = {f"['Dense_{i}']['bias']" for i in range(len(config.widths))}
    steps = config.tier.epochs * -(-NUM_TRAIN // config.protocol.batch_size)
    reach = config.protocol.learning_rate * steps
    for kind in ("params", "batch_stats"):
        ours, theirs = leaves(getattr(sharded, kind)), leaves(getattr(single, kind))
        assert ours.keys() == theirs.keys()
        for name in ours:
            if kind == "params" and name in pre_bn_biases:
                assert np.abs(ours[name]).max() <= reach and np.abs(theirs[name]).max() <= reach, name
            elif not name.endswith("['mean']"):
                np.testing.assert_allclose(ours[name], theirs[name], **TIGHT, err_msg=kind + name)
                runs = theirs[name].reshape(num_runs, -1)
                if runs.std() > 0:  # the tolerance tells runs apart
                    gaps = [np.abs(runs[i] - runs[j]).max() for i in range(num_runs) for j in range(i)]
                    assert min(gaps) > 1e-4, (kind + name, min(gaps))
                compared.append(kind + name)
    print(f"equal at float32 tolerance: {len(compared)} arrays; pre-BatchNorm biases within |b| <= {reach:g}")


if __name__ == "__main__":
    main()
