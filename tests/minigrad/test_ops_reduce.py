"""Gradient checks of the reductions (sum, mean, var, max, min) over single and multiple
axes with keepdims True and False, and of log_softmax / cross_entropy, to first and second
order in float64. Forward values are compared with NumPy and SciPy.
"""
import numpy as np
import pytest
import scipy.special

import minigrad as mg
import minigrad.nn.functional as F

from devices import leaf, tensor, zeros


def check(fn, *inputs):
    """First- and second-order finite-difference checks of ``fn`` at ``inputs``."""
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def distinct(rng, shape):
    """Values at least 0.15 apart from each other: no ties for max/min, so they are differentiable."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) + rng.uniform(0, 0.5, n)) * 0.3 - 0.15 * n).reshape(shape)


AXES = [None, 0, 1, -1, (0, 2), (1, 2), (2, 0, 1)]
REDUCTIONS = {
    "sum": (lambda x, axis, keepdims: x.sum(axis, keepdims), np.sum),
    "mean": (lambda x, axis, keepdims: x.mean(axis, keepdims), np.mean),
    "var": (lambda x, axis, keepdims: x.var(axis, keepdims), np.var),
    "max": (lambda x, axis, keepdims: x.max(axis, keepdims), np.max),
    "min": (lambda x, axis, keepdims: x.min(axis, keepdims), np.min),
}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction(name, axis, keepdims):
    """Reduction over the given axes on a (3, 4, 5) tensor: shape and values as NumPy, gradients
    broadcast back over exactly the reduced axes (catches wrong axes and keepdims handling)."""
    op, reference = REDUCTIONS[name]
    x = leaf(distinct(np.random.default_rng(0), (3, 4, 5)))
    out = op(x, axis, keepdims)
    expected = reference(x.numpy(), axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    check(lambda x: op(x, axis, keepdims), x)


@pytest.mark.parametrize("ddof", [0, 1])
def test_var_ddof(ddof):
    """var divides by (count - ddof), as NumPy."""
    x = leaf(np.random.default_rng(1).standard_normal((3, 5)))
    np.testing.assert_allclose(x.var(axis=1, ddof=ddof).numpy(), np.var(x.numpy(), axis=1, ddof=ddof),
                               rtol=1e-12)
    check(lambda x: x.var(axis=1, ddof=ddof), x)


def test_reductions_of_a_batch_of_one():
    """Reducing a length-1 axis (batch 1) keeps the values and passes the gradient through."""
    x = leaf(distinct(np.random.default_rng(2), (1, 5)))
    check(lambda x: x.sum(0) * x.mean(0) + x.max(0) - x.min(axis=0, keepdims=True), x)


def test_max_ties_share_the_gradient():
    """The documented tie rule: tied maxima split the gradient equally (the total is kept)."""
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    (g,) = mg.grad(x.max(axis=1).sum(), x)
    np.testing.assert_allclose(g.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)
    (g,) = mg.grad(x.min(axis=1).sum(), x)
    np.testing.assert_allclose(g.numpy(), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)


@pytest.mark.parametrize("shape, axis", [((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1), ((1, 7), 1)],
                         ids=str)
def test_log_softmax(shape, axis):
    """log_softmax against scipy.special.log_softmax, first and second order."""
    x = leaf(3 * np.random.default_rng(3).standard_normal(shape))
    np.testing.assert_allclose(F.log_softmax(x, axis=axis).numpy(),
                               scipy.special.log_softmax(x.numpy(), axis=axis), rtol=1e-12, atol=1e-14)
    check(lambda x: F.log_softmax(x, axis=axis), x)


def test_log_softmax_of_large_logits_is_finite():
    """Logits of 1000 do not overflow (the shift by the maximum works) and match SciPy
    (to rounding at the scale of the logits: x - logsumexp(x) cancels digits of 1000)."""
    x = leaf([[1000.0, 0.0, -1000.0], [5.0, 1005.0, 1000.0]])
    out = F.log_softmax(x, axis=1)
    np.testing.assert_allclose(out.numpy(), scipy.special.log_softmax(x.numpy(), axis=1),
                               rtol=1e-12, atol=1e-12 * 1005)
    (g,) = mg.grad(out[:, 0].sum(), x)
    assert np.all(np.isfinite(g.numpy()))


def test_softmax():
    """softmax = exp(log_softmax): values as SciPy, first and second order."""
    x = leaf(np.random.default_rng(4).standard_normal((3, 4)))
    np.testing.assert_allclose(F.softmax(x, axis=1).numpy(), scipy.special.softmax(x.numpy(), axis=1),
                               rtol=1e-12)
    check(lambda x: F.softmax(x, axis=1), x)


@pytest.mark.parametrize("batch", [1, 4])
def test_cross_entropy(batch):
    """cross_entropy = mean of -log softmax at the target class; checked against SciPy."""
    rng = np.random.default_rng(5)
    logits = leaf(2 * rng.standard_normal((batch, 5)))
    targets = rng.integers(0, 5, batch)
    expected = -scipy.special.log_softmax(logits.numpy(), axis=1)[np.arange(batch), targets].mean()
    np.testing.assert_allclose(F.cross_entropy(logits, targets).item(), expected, rtol=1e-12)
    check(lambda z: F.cross_entropy(z, targets), logits)
    check(lambda z: F.cross_entropy(z, tensor(targets)), logits)


# ---- bad inputs: clear errors naming what was wrong ----


def test_reduction_axis_out_of_range():
    with pytest.raises(ValueError, match="axis 3"):
        zeros(2, 3).sum(axis=3)

def test_cross_entropy_targets_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.cross_entropy(zeros(2, 3), np.array([0, 3]))
