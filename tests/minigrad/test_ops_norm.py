"""batch_norm (training and evaluation), layer_norm, group_norm and instance_norm: gradient
checks to first and second order in float64, forward values against NumPy formulas, and the
running statistics of batch and instance norm (momentum update, unbiased variance, as PyTorch).
"""
import re

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.errors import ShapeError

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


@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 3), 3), ((1, 4, 5), 2), ((3, 4, 2, 3), 1),
                                           ((2, 3, 2, 2), 3), ((2, 6), 2)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm(shape, groups, affine):
    """Each sample's groups of C / G consecutive channels normalised over those channels and all
    spatial axes (G = 1: over everything but the batch; G = C: instance norm); per-channel affine."""
    rng = np.random.default_rng(6)
    n, c = shape[:2]
    x = leaf(2 * rng.standard_normal(shape) + 1)
    params = [leaf(rng.uniform(0.5, 1.5, c)), leaf(rng.standard_normal(c))] if affine else []
    grouped = x.numpy().reshape(n, groups, -1)
    expected = reference_norm(grouped, (2,), 1e-5).reshape(shape)
    if affine:
        view = (1, c) + (1,) * (len(shape) - 2)
        expected = expected * params[0].numpy().reshape(view) + params[1].numpy().reshape(view)
    np.testing.assert_allclose(F.group_norm(x, groups, *params).numpy(), expected, rtol=1e-10,
                               atol=1e-12)
    check(lambda x, *wb: F.group_norm(x, groups, *wb), x, *params)


@pytest.mark.parametrize("shape", [(2, 3, 3, 4), (1, 2, 5), (3, 1, 2, 2)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm(shape, affine):
    """Each (sample, channel) normalised over its spatial axes."""
    rng = np.random.default_rng(7)
    c = shape[1]
    x = leaf(rng.standard_normal(shape) * 3 - 1)
    params = [leaf(rng.uniform(0.5, 1.5, c)), leaf(rng.standard_normal(c))] if affine else []
    view = (1, c) + (1,) * (len(shape) - 2)
    expected = reference_norm(x.numpy(), tuple(range(2, len(shape))), 1e-5,
                              *[p.numpy() for p in params], shape=view)
    np.testing.assert_allclose(F.instance_norm(x, weight=params[0] if affine else None,
                                               bias=params[1] if affine else None).numpy(),
                               expected, rtol=1e-10, atol=1e-12)
    check(lambda x, *wb: F.instance_norm(x, None, None, *wb), x, *params)


def test_instance_norm_running_statistics():
    """With running statistics, training updates them with the batch mean of the per-instance
    mean and unbiased variance; use_input_stats=False normalises with them instead."""
    rng = np.random.default_rng(8)
    rm, rv = tensor(np.zeros(2)), tensor(np.ones(2))
    expected_m, expected_v = np.zeros(2), np.ones(2)
    for step in range(2):
        x = rng.standard_normal((3, 2, 2, 3)) * (step + 1)
        F.instance_norm(tensor(x), rm, rv, momentum=0.3)
        expected_m = 0.7 * expected_m + 0.3 * x.mean(axis=(2, 3)).mean(axis=0)
        expected_v = 0.7 * expected_v + 0.3 * x.var(axis=(2, 3), ddof=1).mean(axis=0)
        np.testing.assert_allclose(rm.numpy(), expected_m, rtol=1e-12)
        np.testing.assert_allclose(rv.numpy(), expected_v, rtol=1e-12)
    x = leaf(rng.standard_normal((2, 2, 3, 3)))
    out = F.instance_norm(x, rm, rv, use_input_stats=False)
    view = (1, 2, 1, 1)
    np.testing.assert_allclose(out.numpy(), (x.numpy() - expected_m.reshape(view))
                               / np.sqrt(expected_v.reshape(view) + 1e-5), rtol=1e-12)
    check(lambda x: F.instance_norm(x, rm, rv, use_input_stats=False) * x, x)


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

def test_group_norm_groups_must_divide_the_channels():
    with pytest.raises(ShapeError, match="dividing the 6 channels"):
        F.group_norm(zeros(2, 6, 3), 4)
    with pytest.raises(ShapeError, match="weight"):
        F.group_norm(zeros(2, 6, 3), 3, zeros(3))

def test_instance_norm_shape_checks():
    with pytest.raises(ShapeError, match=r"\(4, 3\)"):
        F.instance_norm(zeros(4, 3))
    with pytest.raises(ShapeError, match="more than one spatial value"):
        F.instance_norm(zeros(2, 3, 1, 1))
    with pytest.raises(ShapeError, match="running_mean"):
        F.instance_norm(zeros(2, 3, 4), zeros(2), zeros(3))
    with pytest.raises(ValueError, match="needs running_mean and running_var"):
        F.instance_norm(zeros(2, 3, 4), use_input_stats=False)
