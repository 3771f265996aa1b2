"""Gradient checks of the operations that move values around: reshape, transpose, flatten,
basic slicing, pad, concat, stack and nearest upsampling, to first and second order in
float64. Forward values are compared with the NumPy operation each one mirrors.
"""
import re

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

from devices import leaf, zeros


def check(fn, *inputs):
    """First- and second-order finite-difference checks of ``fn`` at ``inputs``."""
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# Each op is multiplied by a second use of the input somewhere so that the second-order check
# sees a non-zero second derivative: a purely linear op's gradient would not depend on x.

@pytest.mark.parametrize("shape, new_shape", [((3, 4), (12,)), ((3, 4), (2, 6)), ((2, 3, 5), (5, -1)),
                                              ((3, 5), (1, 3, 1, 5)), ((7,), (7, 1))], ids=str)
def test_reshape(shape, new_shape):
    """reshape, with -1 and unit axes; the gradient is reshaped back."""
    x = leaf(data(shape))
    np.testing.assert_array_equal(x.reshape(new_shape).numpy(), x.numpy().reshape(new_shape))
    np.testing.assert_array_equal(x.reshape(*new_shape).numpy(), x.numpy().reshape(new_shape))
    check(lambda x: x.reshape(new_shape) * x.reshape(new_shape), x)


@pytest.mark.parametrize("axes", [(), (1, 0, 2), (2, 0, 1), (0, 2, 1), (-1, 0, 1)], ids=str)
def test_transpose(axes):
    """transpose by a permutation (reversed when none is given); backward uses the inverse
    permutation (a 3-cycle catches using the permutation itself)."""
    x = leaf(data((2, 3, 5)))
    np.testing.assert_array_equal(x.transpose(*axes).numpy(), x.numpy().transpose(*axes))
    check(lambda x: x.transpose(*axes) * x.transpose(*axes).exp(), x)


def test_matrix_T():
    """.T of a 2-D tensor."""
    x = leaf(data((3, 5)))
    np.testing.assert_array_equal(x.T.numpy(), x.numpy().T)
    check(lambda x: x.T @ x, x)


@pytest.mark.parametrize("start, end, expected", [(0, -1, (30,)), (1, -1, (2, 15)), (1, 2, (2, 15)),
                                                  (0, 1, (6, 5)), (2, 2, (2, 3, 5))], ids=str)
def test_flatten(start, end, expected):
    """flatten merges axes start..end inclusive."""
    x = leaf(data((2, 3, 5)))
    out = x.flatten(start, end)
    assert out.shape == expected
    np.testing.assert_array_equal(out.numpy(), x.numpy().reshape(expected))
    check(lambda x: x.flatten(start, end) ** 2, x)


SLICES = {
    "crop": np.s_[1:4, 2:5],
    "steps": np.s_[::2, 1::3],
    "negative steps": np.s_[::-1, ::-2],
    "negative step with bounds": np.s_[4:0:-2, -2:-6:-1],
    "int": np.s_[2],
    "negative int": np.s_[-1, 1:],
    "ints": np.s_[1, 3],
    "None": np.s_[None, 1:3, None],
    "ellipsis": np.s_[..., 2],
    "mixed": np.s_[1:-1, None, ::-3],
    "empty": np.s_[3:3],
}


@pytest.mark.parametrize("name", list(SLICES))
def test_basic_slicing(name):
    """x[index] for basic indices: the gradient lands at the selected places, zeros elsewhere."""
    index = SLICES[name]
    x = leaf(data((5, 7)))
    np.testing.assert_array_equal(x[index].numpy(), x.numpy()[index])
    check(lambda x: x[index] * x[index] + x.sum(), x)


def test_slices_that_overlap_add_up():
    """Two overlapping slices of one tensor each contribute their part of the gradient."""
    x = leaf(data((6, 3)))
    check(lambda x: x[1:5] * x[:4] + x[::-1][2:], x)


@pytest.mark.parametrize("pad_width", [((1, 2), (0, 1)), ((0, 0), (2, 2)), ((3, 0), (0, 0))], ids=str)
def test_pad(pad_width):
    """Zero padding as numpy.pad; the gradient is the inner slice."""
    x = leaf(data((3, 4)))
    np.testing.assert_array_equal(mg.pad(x, pad_width).numpy(), np.pad(x.numpy(), pad_width))
    check(lambda x: mg.pad(x, pad_width) * mg.pad(x, pad_width).sum(), x)


def test_pad_functional_nchw():
    """F.pad is the same op, used on an NCHW image."""
    x = leaf(data((1, 2, 3, 3)))
    width = ((0, 0), (0, 0), (1, 1), (2, 0))
    check(lambda x: F.pad(x, width) ** 2, x)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis):
    """concat of tensors with different sizes along the axis: each gets its own slice back."""
    rng = np.random.default_rng(1)
    shapes = {0: [(1, 4), (3, 4), (2, 4)], 1: [(3, 2), (3, 1), (3, 3)], -1: [(3, 2), (3, 1), (3, 3)]}
    xs = [leaf(rng.standard_normal(s)) for s in shapes[axis]]
    np.testing.assert_array_equal(mg.concat(xs, axis).numpy(), np.concatenate([x.numpy() for x in xs], axis))
    check(lambda a, b, c: mg.concat([a, b, c * a.sum()], axis) ** 2, *xs)


def test_concat_same_tensor_twice():
    """A tensor concatenated with itself gets both slices of the gradient."""
    x = leaf(data((2, 3)))
    check(lambda x: mg.concat([x, x * x], 1), x)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis):
    """stack along a new axis, as numpy.stack."""
    rng = np.random.default_rng(2)
    xs = [leaf(rng.standard_normal((3, 2))) for _ in range(3)]
    np.testing.assert_array_equal(mg.stack(xs, axis).numpy(), np.stack([x.numpy() for x in xs], axis))
    check(lambda a, b, c: mg.stack([a, b * c, c], axis) ** 2, *xs)


@pytest.mark.parametrize("shape, scale", [((1, 2, 3, 3), 2), ((2, 1, 3, 2), 3), ((1, 1, 1, 1), 2)],
                         ids=str)
def test_upsample_nearest(shape, scale):
    """Nearest upsampling: each pixel repeated scale x scale times; the gradient sums each block."""
    x = leaf(data(shape))
    expected = x.numpy().repeat(scale, axis=2).repeat(scale, axis=3)
    np.testing.assert_array_equal(F.upsample_nearest(x, scale).numpy(), expected)
    check(lambda x: F.upsample_nearest(x, scale) ** 2, x)


# ---- bad inputs: clear errors naming what was wrong ----


def test_reshape_to_a_wrong_size_names_both_shapes():
    with pytest.raises(ValueError, match=re.escape("(3, 4)")) as e:
        zeros(3, 4).reshape(5, 2)
    assert "(5, 2)" in str(e.value) and "12" in str(e.value)

def test_concat_mismatch_names_shapes():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")) as e:
        mg.concat([zeros(2, 3), zeros(2, 4)], axis=0)
    assert "(2, 4)" in str(e.value)

def test_stack_mismatch_names_shapes():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        mg.stack([zeros(2, 3), zeros(3, 2)])

def test_transpose_with_a_bad_permutation():
    with pytest.raises(ValueError, match="permutation"):
        zeros(2, 3, 4).transpose(0, 0, 1)

def test_pad_width_of_the_wrong_length():
    with pytest.raises(ValueError, match="pad_width"):
        mg.pad(zeros(2, 3), ((1, 1),))

def test_advanced_indexing_is_refused():
    """Integer arrays, lists, boolean masks and tensors as indices are refused by name."""
    x = leaf(np.arange(6.0).reshape(2, 3))
    for index in ([0, 1], np.array([0, 1]), np.array([True, False]), (slice(None), [0, 2]), x > 2):
        with pytest.raises(TypeError, match="basic indexing"):
            x[index]

def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=re.escape("(2, 3)")):
        zeros(2, 3)[5]
