"""CIFAR-10 on disk -> verified uint8 arrays: the official archive (cifar10.py) or a tensorflow-datasets copy
(tfds_source.py), checked against the same content digests."""
