"""Synthetic labelled digits for the classifier and metrics tests: tiny, separable, instant."""
import numpy as np

TINY_SETTINGS = dict(epochs=8, batch_size=32)


def bars(n_per_class=20, seed=0, classes=range(10)):
    """Synthetic digits: class c is a bright horizontal bar in rows 3 + 2c .. 4 + 2c, of random
    horizontal extent, over faint noise. Returns (N x 1 x 28 x 28 float32 in [0, 1], labels)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c in classes:
        for _ in range(n_per_class):
            x = rng.uniform(0, 0.1, (1, 28, 28)).astype(np.float32)
            left = rng.integers(2, 10)
            right = rng.integers(18, 26)
            x[0, 3 + 2 * c:5 + 2 * c, left:right] = rng.uniform(0.7, 1.0)
            images.append(x)
            labels.append(c)
    order = rng.permutation(len(labels))
    return np.stack(images)[order], np.array(labels, dtype=np.int64)[order]
