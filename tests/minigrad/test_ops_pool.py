"""max_pool2d and avg_pool2d: values against loop references written from PyTorch's
definitions (padding, stride, dilation, ceil_mode, count_include_pad, divisor_override),
gradients to first and second order in float64, the gradient at ties (one element: the
first maximum of its window in row-major order), indices, and clear errors.
"""
import math

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


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def out_size(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


def naive_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, kind="max",
               count_include_pad=True, divisor_override=None):
    """One window at a time. max: the largest entry inside the image (padding never wins),
    and the flat index of its first occurrence; avg: the sum of the entries inside the image
    over the window's entries within the padded image (count_include_pad) or the image."""
    (kh, kw) = pair(kernel)
    (sh, sw) = pair(kernel if stride is None else stride)
    (ph, pw), (dh, dw) = pair(padding), pair(dilation)
    n, c, h, w = x.shape
    oh, ow = out_size(h, kh, sh, ph, dh, ceil_mode), out_size(w, kw, sw, pw, dw, ceil_mode)
    y, index = np.zeros((n, c, oh, ow)), np.zeros((n, c, oh, ow), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            rows = [i * sh - ph + a * dh for a in range(kh)]
            cols = [j * sw - pw + b * dw for b in range(kw)]
            inside = [(r, q) for r in rows for q in cols if 0 <= r < h and 0 <= q < w]
            values = np.stack([x[:, :, r, q] for r, q in inside], axis=-1)
            if kind == "max":
                first = values.argmax(axis=-1)
                y[:, :, i, j] = values.max(axis=-1)
                flat = np.array([r * w + q for r, q in inside])
                index[:, :, i, j] = flat[first]
            else:
                limit_h, limit_w = (h + ph, w + pw) if count_include_pad else (h, w)
                low_h, low_w = (-ph, -pw) if count_include_pad else (0, 0)
                count = sum(low_h <= r < limit_h and low_w <= q < limit_w for r in rows for q in cols)
                y[:, :, i, j] = values.sum(axis=-1) / (divisor_override or count)
    return y, index


def test_output_sizes_by_hand():
    """The size rule on cases worked out by hand: 5 / 2 floors to 2 and ceils to 3; with
    padding 1 a ceil window that would start in the padding is dropped (5, k2 s2 p1: 3)."""
    assert F.max_pool2d(zeros(1, 1, 5, 5), 2).shape == (1, 1, 2, 2)
    assert F.max_pool2d(zeros(1, 1, 5, 5), 2, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.max_pool2d(zeros(1, 1, 7, 7), 3, 2, 1, ceil_mode=True).shape == (1, 1, 4, 4)
    assert F.max_pool2d(zeros(1, 1, 5, 5), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.avg_pool2d(zeros(1, 1, 7, 5), (3, 2), (2, 1)).shape == (1, 1, 3, 4)


# (input shape, kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((2, 3, 6, 6), 2, None, 0, 1, False),       # the usual 2x2 / 2
    ((1, 2, 7, 5), 3, 2, 1, 1, False),          # odd sizes, padding 1, batch 1
    ((1, 2, 7, 6), 3, 2, 1, 1, True),           # ceil_mode adds a window hanging over the edge
    ((2, 1, 5, 7), (2, 3), (1, 2), (1, 0), 1, True),  # per-axis everything, overlapping windows
    ((1, 2, 9, 8), 3, 2, 1, 2, False),          # dilation 2
    ((1, 1, 4, 4), 3, 1, 1, 1, False),          # stride 1: most entries in several windows
    ((3, 2, 5, 5), 5, None, 0, 1, False),       # one window covering the image
]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode", MAX_CASES, ids=str)
def test_max_pool2d(shape, kernel, stride, padding, dilation, ceil_mode):
    x = leaf(np.random.default_rng(0).standard_normal(shape))
    args = (kernel, stride, padding, dilation, ceil_mode)
    expected, index = naive_pool(x.numpy(), *args)
    y, indices = F.max_pool2d(x, *args, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), expected)
    np.testing.assert_array_equal(indices.numpy(), index)
    assert indices.dtype == np.int64 and not indices.requires_grad
    check(lambda x: F.max_pool2d(x, *args), x)


def test_max_pool2d_gradient_goes_to_the_first_maximum_at_ties():
    """PyTorch's rule: one element per window gets the gradient, the first maximum in
    row-major order within the window; overlapping windows add up."""
    x = leaf([[[[1.0, 3.0, 3.0],
                [3.0, 2.0, 0.0],
                [3.0, 3.0, 1.0]]]])
    (g,) = mg.grad(F.max_pool2d(x, 2, stride=1).sum(), x)
    # windows: top-left -> (0, 1); top-right -> (0, 1); bottom-left -> (1, 0); bottom-right -> (2, 1)
    np.testing.assert_array_equal(g.numpy()[0, 0], [[0, 2, 0], [1, 0, 0], [0, 1, 0]])
    flat = leaf(np.ones((1, 1, 2, 2)))
    (g,) = mg.grad(F.max_pool2d(flat, 2).sum(), flat)
    np.testing.assert_array_equal(g.numpy()[0, 0], [[1, 0], [0, 0]])


def test_max_pool2d_with_infinities():
    """-inf entries and padding never give NaN; an inf maximum takes the whole gradient."""
    x = leaf([[[[-np.inf, -np.inf, 1.0], [np.inf, 0.0, 2.0]]]])
    y = F.max_pool2d(x, 2, stride=1, padding=1)
    expected, _ = naive_pool(x.numpy(), 2, 1, 1)
    np.testing.assert_array_equal(y.numpy(), expected)
    (g,) = mg.grad(y, x, tensor(np.ones(y.shape)))  # (y.sum() would be inf - inf)
    assert np.all(np.isfinite(g.numpy()))
    assert g.numpy()[0, 0, 1, 0] == 4  # the inf is the maximum of four windows


def test_max_pool2d_unbatched():
    x = leaf(np.random.default_rng(1).standard_normal((2, 5, 4)))
    y = F.max_pool2d(x, 2, ceil_mode=True)
    np.testing.assert_array_equal(y.numpy(), naive_pool(x.numpy()[None], 2, ceil_mode=True)[0][0])
    check(lambda x: F.max_pool2d(x, 2, ceil_mode=True), x)


# (input shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [
    ((2, 3, 6, 6), 2, None, 0, False, True, None),
    ((1, 2, 7, 5), 3, 2, 1, False, True, None),     # padding counts towards the mean
    ((1, 2, 7, 5), 3, 2, 1, False, False, None),    # ... or not
    ((1, 2, 7, 6), 3, 2, 1, True, True, None),      # ceil windows count only the padded input
    ((2, 1, 6, 7), (2, 3), (1, 2), (1, 1), True, False, None),
    ((1, 2, 5, 5), 3, 2, 1, False, True, 4),        # divisor_override
]


@pytest.mark.parametrize("shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor",
                         AVG_CASES, ids=str)
def test_avg_pool2d(shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor):
    x = leaf(np.random.default_rng(2).standard_normal(shape))
    args = (kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    expected, _ = naive_pool(x.numpy(), kernel, stride, padding, 1, ceil_mode, "avg",
                             count_include_pad, divisor)
    y = F.avg_pool2d(x, *args)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-15)
    check(lambda x: F.avg_pool2d(x, *args), x)


def test_avg_pool2d_of_a_constant_image():
    """count_include_pad=False averages a constant to itself everywhere; True lowers the
    border windows by the zeros they include."""
    x = tensor(np.full((1, 1, 4, 4), 2.0))
    np.testing.assert_allclose(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False).numpy(), 2.0)
    corners = F.avg_pool2d(x, 3, 1, 1).numpy()[0, 0]
    np.testing.assert_allclose(corners[[0, 0, 3, 3], [0, 3, 0, 3]], 2.0 * 4 / 9)
    np.testing.assert_allclose(corners[1:3, 1:3], 2.0)


def test_pools_stay_float32():
    x = tensor(np.random.default_rng(3).standard_normal((1, 2, 5, 5)), dtype=np.float32,
               requires_grad=True)
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1)):
        (g,) = mg.grad(y.sum(), x)
        assert y.dtype == g.dtype == np.float32


# ---- bad inputs: clear errors naming what was wrong ----

def test_pool_padding_larger_than_half_the_kernel():
    with pytest.raises(ValueError, match="at most half"):
        F.max_pool2d(zeros(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(ValueError, match="at most half"):
        F.avg_pool2d(zeros(1, 1, 5, 5), 3, padding=2)

def test_pool_input_of_the_wrong_rank():
    with pytest.raises(ShapeError, match=r"\(5, 5\)"):
        F.max_pool2d(zeros(5, 5), 2)
    with pytest.raises(ShapeError, match=r"\(1, 1, 1, 5, 5\)"):
        F.avg_pool2d(zeros(1, 1, 1, 5, 5), 2)

def test_pool_window_larger_than_the_input():
    with pytest.raises(ShapeError, match="empty"):
        F.max_pool2d(zeros(1, 1, 2, 2), 3)

def test_pool_arguments_of_the_wrong_type():
    with pytest.raises(TypeError, match="kernel_size"):
        F.max_pool2d(zeros(1, 1, 4, 4), 1.5)
    with pytest.raises(ValueError, match="stride must be positive"):
        F.avg_pool2d(zeros(1, 1, 4, 4), 2, stride=0)
    with pytest.raises(ValueError, match="divisor_override"):
        F.avg_pool2d(zeros(1, 1, 4, 4), 2, divisor_override=0)

def test_avg_pool2d_of_integers_as_pytorch():
    """PyTorch's CPU kernel takes int64 only (truncating each mean towards zero); others fail."""
    x = tensor(np.array([[-7, 2, 5], [3, -1, 4], [0, 9, -8]]).reshape(1, 1, 3, 3))
    y = F.avg_pool2d(x, 2, stride=1)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy().ravel(), [-0, 2, 2, 1])  # -3/4, 10/4, 12/4, 4/4
    for dtype in (np.int32, np.uint8, bool):
        with pytest.raises(NotImplementedError, match=np.dtype(dtype).name):
            F.avg_pool2d(tensor(np.zeros((1, 1, 4, 4), dtype=dtype)), 2)


def test_max_pool2d_keeps_the_integer_dtype():
    for dtype in (np.int32, np.uint8, np.int16):
        x = tensor(np.arange(16, dtype=dtype).reshape(1, 1, 4, 4))
        y = F.max_pool2d(x, 2)
        assert y.dtype == dtype
        np.testing.assert_array_equal(y.numpy().ravel(), [5, 7, 13, 15])
    with pytest.raises(NotImplementedError, match="bool"):
        F.max_pool2d(tensor(np.ones((1, 1, 4, 4), dtype=bool)), 2)

def test_max_pool2d_of_integers():
    """Integers pool too; padding is the dtype's smallest value, never chosen."""
    x = tensor(np.arange(-8, 8, dtype=np.int64).reshape(1, 1, 4, 4))
    expected, _ = naive_pool(x.numpy(), 3, 2, 1)
    np.testing.assert_array_equal(F.max_pool2d(x, 3, 2, 1).numpy(), expected)
    assert math.isclose(F.max_pool2d(x, 4).item(), 7)
