"""Gradient checks of the reductions (sum, mean, var, std, max, min) over single and multiple
axes with keepdims True and False, and of log_softmax / cross_entropy, to first and second
order in float64; argmax / argmin. Forward values are compared with NumPy and SciPy.
"""
import re

import numpy as np
import pytest
import scipy.special

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import ops
from minigrad.errors import AxisError, ShapeError

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
    "var": (lambda x, axis, keepdims: x.var(axis, keepdim=keepdims),  # unbiased, as PyTorch
            lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1)),
    "std": (lambda x, axis, keepdims: x.std(axis, keepdim=keepdims),
            lambda a, axis, keepdims: np.std(a, axis=axis, keepdims=keepdims, ddof=1)),
    "amax": (lambda x, axis, keepdims: x.amax(axis, keepdims), np.max),
    "amin": (lambda x, axis, keepdims: x.amin(axis, keepdims), np.min),
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


@pytest.mark.parametrize("ddof", [0, 1, 4])
def test_var_and_std_ddof(ddof):
    """var divides by (count - ddof), as NumPy; std is its square root."""
    x = leaf(np.random.default_rng(1).standard_normal((3, 5)))
    np.testing.assert_allclose(x.var(axis=1, ddof=ddof).numpy(), np.var(x.numpy(), axis=1, ddof=ddof),
                               rtol=1e-12)
    np.testing.assert_allclose(mg.std(x, 1, ddof=ddof).numpy(), np.std(x.numpy(), axis=1, ddof=ddof),
                               rtol=1e-12)
    check(lambda x: x.var(axis=1, ddof=ddof), x)
    check(lambda x: x.std(axis=1, ddof=ddof), x)


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")
def test_var_with_ddof_at_least_the_count_is_inf_or_nan():
    """ddof >= count gives inf (NaN where every deviation is 0: one value, or an empty axis), as
    PyTorch; never a negative variance."""
    x = tensor(np.array([[1.0, 2.0], [3.0, 3.0]]))
    np.testing.assert_array_equal(x.var(axis=1, ddof=2).numpy(), [np.inf, np.nan])
    np.testing.assert_array_equal(x.var(axis=1, ddof=5).numpy(), [np.inf, np.nan])
    assert np.isnan(tensor(np.array([4.0])).var(ddof=1).item())
    assert np.isnan(zeros(3, 0).var(axis=1).numpy()).all()
    assert x.std(ddof=7).item() == np.inf


def test_std_of_equal_values_has_gradient_zero():
    """As PyTorch: the gradient of std where every deviation is 0 is 0 (not 0 * inf = NaN),
    also to second order; the rows that vary get the usual gradient."""
    x = leaf([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    (g,) = mg.grad(x.std(axis=1, correction=0).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy()[0], [0.0, 0.0, 0.0])
    deviations = x.numpy()[1] - x.numpy()[1].mean()
    np.testing.assert_allclose(g.numpy()[1], deviations / (3 * np.std(x.numpy()[1])), rtol=1e-12)
    (h,) = mg.grad((g * g).sum(), x)
    assert np.isfinite(h.numpy()).all() and (h.numpy()[0] == 0).all()


def test_reductions_of_a_zero_dimensional_tensor_take_axis_0_and_minus_1():
    """mg.tensor(2.).sum(0) etc. reduce nothing, as PyTorch; softmax of a 0-d tensor is 1."""
    x = leaf(np.array(2.5))
    for op in (lambda x, a: x.sum(a), lambda x, a: x.mean(a, keepdims=True),
               lambda x, a: x.max(a).values, lambda x, a: x.min(a)[0] + x.amax(a),
               lambda x, a: x.var(a, correction=0) + ops.logsumexp(x, a)):
        for axis in (0, -1):
            out = op(x, axis)
            assert out.shape == ()
            check(lambda x: op(x, axis) * x, x)
    assert F.softmax(x).item() == 1.0 and F.log_softmax(x, axis=0).item() == 0.0
    check(lambda x: F.softmax(x * x) * x, x)
    assert x.argmax(0).item() == 0 and x.argmin().item() == 0


@pytest.mark.parametrize("array", [np.array([0, 255, 7], dtype=np.uint8),
                                   np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max]),
                                   np.array([[True, False], [True, True]]),
                                   np.array([-0.0, 3.5, -7.25], dtype=np.float32)], ids=str)
def test_min_and_max_of_any_dtype(array):
    """min and max keep the dtype and are exact for unsigned, extreme integers and booleans
    (min is not -max(-x), which wraps around)."""
    x = tensor(array)
    for name in ("min", "max"):
        out = getattr(x, name)()
        assert out.dtype == array.dtype
        assert out.item() == getattr(array, name)()
        np.testing.assert_array_equal(getattr(x, name)(axis=-1).values.numpy(),
                                      getattr(array, name)(axis=-1))


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name, axis, keepdims):
    """Positions as numpy.argmax (the first of tied extremes), int64, never in the graph;
    axis=None counts in the flattened tensor, and keepdims keeps every axis with size 1."""
    rng = np.random.default_rng(6)
    array = rng.integers(-3, 3, (4, 5)).astype(np.float64)  # many ties
    x = leaf(array)
    out = getattr(mg, name)(x, axis, keepdims)
    expected = getattr(np, name)(array, axis=axis, keepdims=keepdims)
    assert out.dtype == np.int64 and not out.requires_grad and out.shape == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)
    np.testing.assert_array_equal(getattr(x, name)(axis, keepdims).numpy(), expected)


def test_reductions_of_a_batch_of_one():
    """Reducing a length-1 axis (batch 1) keeps the values and passes the gradient through."""
    x = leaf(distinct(np.random.default_rng(2), (1, 5)))
    check(lambda x: x.sum(0) * x.mean(0) + x.max(0).values - x.min(axis=0, keepdims=True)[0], x)


def test_max_ties_share_the_gradient():
    """PyTorch's tie rules: tied maxima of amax / amin (and of max() over everything) split
    the gradient equally (the total is kept); max(dim) / min(dim) send it to the returned
    index, the first of the ties."""
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    (g,) = mg.grad(x.amax(axis=1).sum(), x)
    np.testing.assert_allclose(g.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)
    (g,) = mg.grad(x.amin(axis=1).sum(), x)
    np.testing.assert_allclose(g.numpy(), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)
    (g,) = mg.grad(x.max(), x)
    np.testing.assert_allclose(g.numpy(), [[0, 0.5, 0.5], [0, 0, 0]], rtol=1e-15)
    (g,) = mg.grad(x.max(1).values.sum(), x)
    np.testing.assert_array_equal(g.numpy(), [[0, 1, 0], [1, 0, 0]])
    (g,) = mg.grad(x.min(dim=1).values.sum(), x)
    np.testing.assert_array_equal(g.numpy(), [[1, 0, 0], [1, 0, 0]])


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


def test_softmax_family_takes_dim_as_functions_and_methods():
    """mg.softmax / log_softmax / logsumexp take PyTorch's dim= / keepdim= (or axis= /
    keepdims=), are Tensor methods, and require the dim, as torch's do."""
    a = np.random.default_rng(6).standard_normal((2, 3, 5))
    x = leaf(a)
    expected = {"softmax": scipy.special.softmax(a, axis=1),
                "log_softmax": scipy.special.log_softmax(a, axis=1),
                "logsumexp": scipy.special.logsumexp(a, axis=1)}
    for name, value in expected.items():
        for out in (getattr(mg, name)(x, dim=1), getattr(mg, name)(x, axis=1),
                    getattr(x, name)(1), getattr(x, name)(dim=-2)):
            np.testing.assert_allclose(out.numpy(), value, rtol=1e-12)
        with pytest.raises(TypeError, match="dim"):
            getattr(mg, name)(x)
    kept = x.logsumexp((0, 2), keepdim=True)
    np.testing.assert_allclose(kept.numpy(), scipy.special.logsumexp(a, (0, 2), keepdims=True),
                               rtol=1e-12)
    check(lambda x: x.logsumexp(-1, keepdim=True) * x.softmax(dim=0), leaf(a[:1, :, :3]))


def test_reducing_no_axes_reduces_all_of_them_as_pytorch():
    """sum(dim=()) and the like reduce every axis (PyTorch), not none (NumPy); any / all
    over () reduce none, as PyTorch's."""
    a = np.arange(6.0).reshape(2, 3) - 2
    x = leaf(a)
    assert x.sum(dim=()).item() == a.sum() and x.mean(dim=[]).item() == a.mean()
    assert x.sum((), keepdim=True).shape == (1, 1) and x.amax(dim=()).item() == 3
    np.testing.assert_allclose(x.var(dim=()).item(), a.var(ddof=1), rtol=1e-14)
    assert tensor(a).any(dim=()).shape == (2, 3)
    check(lambda x: x.std(dim=()), x)


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


@pytest.mark.parametrize("op", [lambda x: x.sum(axis=3), lambda x: x.mean((0, -3)),
                                lambda x: x.var(axis=2), lambda x: x.std(axis=2),
                                lambda x: x.max(axis=-3), lambda x: x.min(axis=2),
                                lambda x: x.argmax(axis=2), lambda x: x.argmin(axis=-3),
                                lambda x: F.softmax(x, axis=2), lambda x: F.log_softmax(x, axis=-3),
                                lambda x: ops.logsumexp(x, 5)])
def test_reduction_axis_out_of_range(op):
    """An AxisError (IndexError as PyTorch's, ValueError as NumPy's) naming axis and shape."""
    with pytest.raises(AxisError, match=r"axis -?\d is out of range") as e:
        op(zeros(2, 3))
    assert "(2, 3)" in str(e.value)
    assert isinstance(e.value, IndexError) and isinstance(e.value, ValueError)

def test_an_axis_named_twice():
    with pytest.raises(ValueError, match="twice"):
        zeros(2, 3).sum((1, -1))

@pytest.mark.parametrize("op", [lambda x, a: x.amax(a), lambda x, a: x.amin(a),
                                lambda x, a: x.argmax(a), lambda x, a: x.argmin(a)])
def test_extremes_of_nothing(op):
    """max / min / argmax / argmin over no entries name the shape (not NumPy's "zero-size
    array to reduction operation"); over a non-empty axis of an empty tensor they are empty."""
    with pytest.raises(ShapeError, match=re.escape("(0, 3)")):
        op(zeros(0, 3), None)
    with pytest.raises(ShapeError, match="axis 0"):
        op(zeros(0, 3), 0)
    assert op(zeros(0, 3), 1).shape == (0,)

def test_cross_entropy_targets_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.cross_entropy(zeros(2, 3), np.array([0, 3]))
