"""batch_norm (training and evaluation) and layer_norm: gradient checks to first and second
order in float64, forward values against NumPy formulas, and batch norm's running statistics
(momentum update, unbiased variance, as PyTorch).
"""
import re

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

from devices import leaf, tensor, zeros


def check(fn, *inputs):
    """First- and second-order finite-difference checks of ``fn`` at ``inputs``."""
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def reference_norm(x, axes, eps, weight=None, bias=None, shape=None):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


BATCH_NORM_SHAPES = [(4, 3), (3, 2, 3, 3), (1, 2, 3, 3), (5, 2, 3)]


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", BATCH_NORM_SHAPES, ids=str)
def test_batch_norm_training(shape, affine):
    """Training mode normalises with the batch statistics over every axis but 1; the gradient
    flows through the mean and variance too (catches treating them as constants)."""
    rng = np.random.default_rng(0)
    c = shape[1]
    x = leaf(2 * rng.standard_normal(shape) + 1)
    params = [leaf(rng.uniform(0.5, 1.5, c)), leaf(rng.standard_normal(c))] if affine else []
    running = [tensor(np.zeros(c)), tensor(np.ones(c))]
    axes = (0,) + tuple(range(2, len(shape)))
    bshape = (1, c) + (1,) * (len(shape) - 2)

    def fn(x, *wb):
        return F.batch_norm(x, *running, *wb, training=True)

    expected = reference_norm(x.numpy(), axes, 1e-5, *[p.numpy() for p in params], shape=bshape)
    np.testing.assert_allclose(fn(x, *params).numpy(), expected, rtol=1e-10, atol=1e-12)
    check(fn, x, *params)


@pytest.mark.parametrize("shape", [(4, 3), (1, 2, 3, 3)], ids=str)
def test_batch_norm_training_without_running_stats(shape):
    """running_mean / running_var may be None in training."""
    x = leaf(np.random.default_rng(1).standard_normal(shape))
    check(lambda x: F.batch_norm(x, None, None, training=True), x)


@pytest.mark.parametrize("shape", [(4, 3), (1, 3, 3, 3)], ids=str)
def test_batch_norm_eval(shape):
    """Evaluation mode uses the running statistics: an affine map of x, checked to second order."""
    rng = np.random.default_rng(2)
    c = shape[1]
    x = leaf(rng.standard_normal(shape))
    weight, bias = leaf(rng.uniform(0.5, 1.5, c)), leaf(rng.standard_normal(c))
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    running = [tensor(rm), tensor(rv)]
    bshape = (1, c) + (1,) * (len(shape) - 2)
    out = F.batch_norm(x, *running, weight, bias, training=False)
    expected = (x.numpy() - rm.reshape(bshape)) / np.sqrt(rv.reshape(bshape) + 1e-5) \
        * weight.numpy().reshape(bshape) + bias.numpy().reshape(bshape)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    np.testing.assert_array_equal(running[0].numpy(), rm)  # evaluation leaves them alone
    np.testing.assert_array_equal(running[1].numpy(), rv)
    check(lambda x, w, b: F.batch_norm(x, *running, w, b, training=False) * x, x, weight, bias)


def test_batch_norm_running_statistics():
    """running = (1 - momentum) * running + momentum * batch statistic, the variance unbiased
    (n - 1), over three steps with different batches."""
    rng = np.random.default_rng(3)
    c, momentum = 3, 0.3
    rm, rv = tensor(np.zeros(c)), tensor(np.ones(c))
    expected_m, expected_v = np.zeros(c), np.ones(c)
    for step in range(3):
        x = rng.standard_normal((4, c, 2, 3)) * (step + 1) + step
        F.batch_norm(tensor(x), rm, rv, training=True, momentum=momentum)
        expected_m = (1 - momentum) * expected_m + momentum * x.mean(axis=(0, 2, 3))
        expected_v = (1 - momentum) * expected_v + momentum * x.var(axis=(0, 2, 3), ddof=1)
        np.testing.assert_allclose(rm.numpy(), expected_m, rtol=1e-12)
        np.testing.assert_allclose(rv.numpy(), expected_v, rtol=1e-12)


def test_batch_norm_running_statistics_are_not_in_the_graph():
    """Updating the running statistics records nothing and leaves them non-differentiable."""
    rm, rv = tensor(np.zeros(2)), tensor(np.ones(2))
    x = leaf(np.random.default_rng(4).standard_normal((3, 2)))
    F.batch_norm(x, rm, rv, training=True).sum().backward()
    assert not rm.requires_grad and not rv.requires_grad and rm.grad is None and rv.grad is None


@pytest.mark.parametrize("shape, normalized_shape", [((3, 5), 5), ((2, 3, 4), (3, 4)), ((1, 2, 3, 3), (2, 3, 3)),
                                                     ((2, 3, 5), (5,))], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(shape, normalized_shape, affine):
    """layer_norm over the trailing axes, per sample; with and without elementwise affine."""
    rng = np.random.default_rng(5)
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x = leaf(2 * rng.standard_normal(shape) - 1)
    params = [leaf(rng.uniform(0.5, 1.5, ns)), leaf(rng.standard_normal(ns))] if affine else []
    axes = tuple(range(len(shape) - len(ns), len(shape)))
    expected = reference_norm(x.numpy(), axes, 1e-5, *[p.numpy() for p in params], shape=ns)
    np.testing.assert_allclose(F.layer_norm(x, normalized_shape, *params).numpy(), expected,
                               rtol=1e-10, atol=1e-12)
    check(lambda x, *wb: F.layer_norm(x, normalized_shape, *wb), x, *params)


def test_layer_norm_eps():
    """eps is added to the variance: a constant row normalises to 0, not NaN, and has finite gradients."""
    x = leaf(np.full((2, 4), 3.0))
    out = F.layer_norm(x, 4, eps=1e-5)
    np.testing.assert_array_equal(out.numpy(), np.zeros((2, 4)))
    (g,) = mg.grad((out * out).sum() + out.sum(), x)
    assert np.all(np.isfinite(g.numpy()))


# ---- bad inputs: clear errors naming what was wrong ----


def test_batch_norm_running_stat_of_the_wrong_size():
    with pytest.raises(ValueError, match="running_mean"):
        F.batch_norm(zeros(4, 3), zeros(2), zeros(3), training=True)

def test_batch_norm_training_needs_two_values_per_channel():
    with pytest.raises(ValueError, match=re.escape("(1, 3)")):
        F.batch_norm(zeros(1, 3), None, None, training=True)

def test_layer_norm_shape_mismatch():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        F.layer_norm(zeros(4, 3), (2, 3))
