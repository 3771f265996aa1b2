"""Losses nll_loss, cross_entropy (class indices with weight / ignore_index / label_smoothing,
and class probabilities), binary_cross_entropy and binary_cross_entropy_with_logits (weight,
pos_weight): values against NumPy formulas written from PyTorch's definitions, every
reduction, gradients to first and second order in float64, stability at +-1000, clear errors.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.errors import ShapeError

from devices import leaf, tensor, zeros


def check(fn, *inputs):
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def reduce(loss, reduction, denominator=None):
    if reduction == "none":
        return loss
    return loss.sum() / (denominator if reduction == "mean" else 1)


def nll_reference(lp, t, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    """PyTorch's definition with the class axis 1: -w[t] lp[t] per element (0 where ignored);
    "mean" divides by the sum of w[t] over the elements not ignored; label smoothing mixes in
    eps / C * -sum_c w[c] lp[c] with the same denominator."""
    c = lp.shape[1]
    w = np.ones(c) if weight is None else weight
    lp = np.moveaxis(lp, 1, -1)
    kept = t != ignore_index
    safe = np.where(kept, t, 0)
    picked = np.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
    wt = np.where(kept, w[safe], 0.0)
    loss = -wt * picked
    if smoothing:
        loss = (1 - smoothing) * loss + smoothing / c * np.where(kept, -(lp * w).sum(-1), 0.0)
    return reduce(loss, reduction, wt.sum())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(reduction, weighted):
    rng = np.random.default_rng(0)
    lp = leaf(log_softmax(rng.standard_normal((5, 4)), 1))
    t = np.array([0, 3, 1, 1, 2])
    weight = rng.uniform(0.5, 2, 4) if weighted else None
    kwargs = dict(weight=None if weight is None else tensor(weight), reduction=reduction)
    expected = nll_reference(lp.numpy(), t, weight, reduction=reduction)
    np.testing.assert_allclose(F.nll_loss(lp, t, **kwargs).numpy(), expected, rtol=1e-13)
    check(lambda lp: F.nll_loss(lp, t, **kwargs), lp)


def test_nll_loss_gradient_is_minus_the_weight_at_the_target():
    lp = leaf(np.zeros((3, 4)))
    w = np.array([1.0, 2.0, 3.0, 4.0])
    (g,) = mg.grad(F.nll_loss(lp, [3, 0, 3], weight=tensor(w)), lp)
    expected = np.zeros((3, 4))
    expected[[0, 1, 2], [3, 0, 3]] = -w[[3, 0, 3]] / 9
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted, ignore_index, smoothing", [
    (False, -100, 0.0), (True, -100, 0.0), (False, 2, 0.0), (True, 1, 0.0),
    (False, -100, 0.2), (True, 0, 0.1)], ids=str)
def test_cross_entropy_with_class_indices(reduction, weighted, ignore_index, smoothing):
    """PyTorch's weighted mean with ignore_index, label smoothing included."""
    rng = np.random.default_rng(1)
    logits = leaf(2 * rng.standard_normal((6, 3)))
    t = np.array([0, 2, 1, 2, 0, 1])
    weight = rng.uniform(0.5, 2, 3) if weighted else None
    kwargs = dict(weight=None if weight is None else tensor(weight), ignore_index=ignore_index,
                  reduction=reduction, label_smoothing=smoothing)
    expected = nll_reference(log_softmax(logits.numpy(), 1), t, weight, ignore_index, reduction,
                             smoothing)
    np.testing.assert_allclose(F.cross_entropy(logits, t, **kwargs).numpy(), expected,
                               rtol=1e-13, atol=1e-15)
    check(lambda z: F.cross_entropy(z, t, **kwargs), logits)


def test_cross_entropy_over_spatial_axes_and_unbatched():
    """(N, C, d1, d2) logits with (N, d1, d2) targets (per-pixel classes), and a single (C,)
    sample with a 0-d target."""
    rng = np.random.default_rng(2)
    logits = leaf(rng.standard_normal((2, 3, 2, 3)))
    t = rng.integers(0, 3, (2, 2, 3))
    t[0, 1, 2] = -100
    expected = nll_reference(log_softmax(logits.numpy(), 1), t, smoothing=0.1)
    np.testing.assert_allclose(F.cross_entropy(logits, tensor(t), label_smoothing=0.1).item(),
                               expected, rtol=1e-13)
    none = F.cross_entropy(logits, tensor(t), reduction="none")
    assert none.shape == (2, 2, 3) and none.numpy()[0, 1, 2] == 0
    check(lambda z: F.cross_entropy(z, tensor(t), label_smoothing=0.1), logits)
    single = leaf(rng.standard_normal(4))
    loss = F.cross_entropy(single, tensor(np.array(2)), reduction="none")
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), -log_softmax(single.numpy(), 0)[2], rtol=1e-14)
    check(lambda z: F.cross_entropy(z, 2), single)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_class_probabilities(reduction):
    """Float targets shaped like the logits: -sum_c w[c] q[c] log_softmax[c] per sample, with
    label smoothing q (1 - e) + e / C; "mean" divides by the number of samples. The gradient
    reaches the targets too."""
    rng = np.random.default_rng(3)
    logits, q = leaf(rng.standard_normal((4, 3))), leaf(rng.dirichlet(np.ones(3), 4))
    w = rng.uniform(0.5, 2, 3)
    lp = log_softmax(logits.numpy(), 1)
    smoothed = q.numpy() * 0.8 + 0.2 / 3
    expected = reduce(-(lp * smoothed * w).sum(1), reduction, 4)
    kwargs = dict(weight=tensor(w), reduction=reduction, label_smoothing=0.2)
    np.testing.assert_allclose(F.cross_entropy(logits, q, **kwargs).numpy(), expected, rtol=1e-13)
    check(lambda z, q: F.cross_entropy(z, q, **kwargs), logits, q)


def test_cross_entropy_tolerates_minus_infinity_logits():
    """A masked class (logit -inf) that is not the target leaves a finite loss and gradient
    (a one-hot product would give 0 * -inf = NaN)."""
    logits = leaf([[0.0, -np.inf, 1.0], [2.0, 0.5, -np.inf]])
    loss = F.cross_entropy(logits, [2, 0])
    expected = nll_reference(log_softmax(np.array([[0.0, -1e300, 1.0], [2.0, 0.5, -1e300]]), 1),
                             np.array([2, 0]))
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-14)
    (g,) = mg.grad(loss, logits)
    assert np.all(np.isfinite(g.numpy()))


def test_cross_entropy_with_every_target_ignored_is_nan():
    """PyTorch's weighted mean over nothing is 0 / 0 (NumPy also warns, hence the errstate)."""
    with np.errstate(invalid="ignore"):
        loss = F.cross_entropy(tensor(np.zeros((2, 3))), [-100, -100])
    assert np.isnan(loss.item())


def bce_reference(p, t, w=1.0):
    return -w * (t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(reduction):
    rng = np.random.default_rng(4)
    p, t = leaf(rng.uniform(0.05, 0.95, (3, 4))), leaf(rng.uniform(0, 1, (3, 4)))
    w = rng.uniform(0.5, 2, (1, 4))
    expected = reduce(bce_reference(p.numpy(), t.numpy(), w), reduction, 12)
    kwargs = dict(weight=tensor(w), reduction=reduction)
    np.testing.assert_allclose(F.binary_cross_entropy(p, t, **kwargs).numpy(), expected, rtol=1e-13)
    check(lambda p, t: F.binary_cross_entropy(p, t, **kwargs), p, t)
    (gp,) = mg.grad(F.binary_cross_entropy(p, t, reduction="sum"), p)
    np.testing.assert_allclose(gp.numpy(), (p.numpy() - t.numpy()) / (p.numpy() * (1 - p.numpy())),
                               rtol=1e-13)


def test_binary_cross_entropy_at_zero_and_one():
    """The logs are clamped at -100, so p = 0 or 1 gives a finite loss (100 for the wrong
    target), and the gradient (p - t) / max(p (1 - p), 1e-12) is finite too."""
    p = leaf([0.0, 1.0, 0.0, 1.0])
    t = tensor([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy(p, t, reduction="none")
    np.testing.assert_array_equal(loss.numpy(), [0.0, 0.0, 100.0, 100.0])
    (g,) = mg.grad(loss.sum(), p)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, -1e12, 1e12])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits(reduction):
    """Equal to binary_cross_entropy(sigmoid(x)) where that is accurate; pos_weight scales the
    positive term per class; the gradient reaches logits and targets."""
    rng = np.random.default_rng(5)
    x, t = leaf(2 * rng.standard_normal((3, 4))), leaf(rng.uniform(0, 1, (3, 4)))
    w, pw = rng.uniform(0.5, 2, 4), rng.uniform(0.5, 3, 4)
    xn, tn = x.numpy(), t.numpy()
    per = -w * (pw * tn * -np.logaddexp(0, -xn) + (1 - tn) * -np.logaddexp(0, xn))
    kwargs = dict(weight=tensor(w), pos_weight=tensor(pw), reduction=reduction)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, t, **kwargs).numpy(),
                               reduce(per, reduction, 12), rtol=1e-13)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, t).numpy(),
                               F.binary_cross_entropy(x.sigmoid(), t).numpy(), rtol=1e-12)
    check(lambda x, t: F.binary_cross_entropy_with_logits(x, t, **kwargs), x, t)


def test_binary_cross_entropy_with_logits_is_stable():
    """Logits of +-1000 give exact losses (0 or 1000) and gradients (0 or +-1), no overflow."""
    x = leaf([1000.0, -1000.0, 1000.0, -1000.0])
    t = tensor([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_array_equal(loss.numpy(), [0.0, 0.0, 1000.0, 1000.0])
    (g,) = mg.grad(loss.sum(), x)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, 1.0, -1.0])


def test_losses_keep_float32():
    rng = np.random.default_rng(6)
    z = tensor(rng.standard_normal((3, 4)), dtype=np.float32, requires_grad=True)
    t = tensor(rng.uniform(0, 1, (3, 4)), dtype=np.float32)
    for loss in (F.cross_entropy(z, [1, 0, 3], label_smoothing=0.1), F.nll_loss(z, [1, 0, 3]),
                 F.binary_cross_entropy(z.sigmoid(), t), F.binary_cross_entropy_with_logits(z, t)):
        (g,) = mg.grad(loss, z)
        assert loss.dtype == g.dtype == np.float32


# ---- bad inputs: clear errors naming what was wrong ----

def test_loss_reduction_must_be_known():
    for fn, args in ((F.cross_entropy, (zeros(2, 3), [0, 1])), (F.nll_loss, (zeros(2, 3), [0, 1])),
                     (F.binary_cross_entropy, (zeros(2), zeros(2))),
                     (F.binary_cross_entropy_with_logits, (zeros(2), zeros(2)))):
        with pytest.raises(ValueError, match="'average'"):
            fn(*args, reduction="average")

def test_class_index_targets_checked():
    with pytest.raises(ShapeError, match=r"shape \(2,\)"):
        F.cross_entropy(zeros(2, 3), [0, 1, 2])
    with pytest.raises(ShapeError, match="integer"):
        F.nll_loss(zeros(2, 3), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 3\), got values from -1 to 1"):
        F.cross_entropy(zeros(2, 3), [-1, 1])
    with pytest.raises(ShapeError, match="one entry per class"):
        F.cross_entropy(zeros(2, 3), [0, 1], weight=tensor([1.0, 2.0]))
    with pytest.raises(ShapeError, match="class axis"):
        F.nll_loss(tensor(0.0), 0)

def test_probability_targets_checked():
    with pytest.raises(ShapeError, match="input's shape"):
        F.cross_entropy(zeros(2, 3), zeros(2, 2))
    with pytest.raises(ValueError, match="ignore_index"):
        F.cross_entropy(zeros(2, 3), zeros(2, 3), ignore_index=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(zeros(2, 3), [0, 1], label_smoothing=1.5)

def test_binary_losses_checked():
    with pytest.raises(ShapeError, match=r"\(2, 1\)"):
        F.binary_cross_entropy(zeros(2), zeros(2, 1))
    with pytest.raises(ValueError, match="probability in \\[0, 1\\], got values from -0.5 to 2"):
        F.binary_cross_entropy(tensor([-0.5, 2.0]), zeros(2))
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        F.binary_cross_entropy_with_logits(zeros(2), zeros(3))
