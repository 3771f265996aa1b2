"""Gradient checks of the operations that move values around: reshape, transpose, flatten,
basic slicing, pad, concat, stack, nearest upsampling, squeeze, unsqueeze, expand, repeat,
flip, split and chunk, to first and second order in float64. Forward values are compared with
the NumPy operation each one mirrors. Advanced indexing is in test_ops_index.py.
"""
import re

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.errors import AxisError, ShapeError

from devices import leaf, tensor, zeros


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


@pytest.mark.parametrize("axes", [(1, 0, 2), (2, 0, 1), (0, 2, 1), (-1, 0, 1)], ids=str)
def test_permute(axes):
    """permute by an order of the axes; backward uses the inverse order (a 3-cycle catches
    using the order itself)."""
    x = leaf(data((2, 3, 5)))
    np.testing.assert_array_equal(x.permute(*axes).numpy(), x.numpy().transpose(*axes))
    check(lambda x: x.permute(*axes) * x.permute(axes).exp(), x)


@pytest.mark.parametrize("dims", [(0, 1), (2, 0), (-1, 1), (1, 1)], ids=str)
def test_transpose_swaps_two_axes(dims):
    x = leaf(data((2, 3, 5)))
    np.testing.assert_array_equal(x.transpose(*dims).numpy(), np.swapaxes(x.numpy(), *dims))
    check(lambda x: x.transpose(*dims) * x.transpose(*dims).exp(), x)


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
    "steps with bounds": np.s_[0:4:2, -6:-2:1],
    "int": np.s_[2],
    "negative int": np.s_[-1, 1:],
    "ints": np.s_[1, 3],
    "None": np.s_[None, 1:3, None],
    "ellipsis": np.s_[..., 2],
    "mixed": np.s_[1:-1, None, ::3],
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
    check(lambda x: x[1:5] * x[:4] + x.flip(0)[2:], x)


@pytest.mark.parametrize("index", [np.s_[::-1], np.s_[1, 4:0:-2]], ids=str)
def test_negative_steps_are_refused_as_in_pytorch(index):
    """PyTorch refuses negative slice steps (NumPy reverses); flip is the way to reverse."""
    with pytest.raises(ValueError, match="step"):
        leaf(data((5, 7)))[index]


@pytest.mark.parametrize("pad_width", [((1, 2), (0, 1)), ((0, 0), (2, 2)), ((3, 0), (0, 0))], ids=str)
def test_pad(pad_width):
    """Zero padding as numpy.pad; the gradient is the inner slice."""
    x = leaf(data((3, 4)))
    np.testing.assert_array_equal(mg.pad(x, pad_width).numpy(), np.pad(x.numpy(), pad_width))
    check(lambda x: mg.pad(x, pad_width) * mg.pad(x, pad_width).sum(), x)


def test_pad_functional_nchw():
    """F.pad is the same op in PyTorch's order (a flat tuple, the last axis first), used on an
    NCHW image."""
    x = leaf(data((1, 2, 3, 3)))
    np.testing.assert_array_equal(F.pad(x, (2, 0, 1, 1)).numpy(),
                                  mg.pad(x, ((0, 0), (0, 0), (1, 1), (2, 0))).numpy())
    check(lambda x: F.pad(x, (2, 0, 1, 1)) ** 2, x)


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


@pytest.mark.parametrize("shape, axis, expected", [
    ((2, 1, 3, 1), None, (2, 3)), ((2, 1, 3, 1), 1, (2, 3, 1)), ((2, 1, 3, 1), -1, (2, 1, 3)),
    ((2, 1, 3, 1), (1, 3), (2, 3)), ((2, 1, 3, 1), 0, (2, 1, 3, 1)), ((1,), 0, ()), ((), 0, ())],
    ids=str)
def test_squeeze(shape, axis, expected):
    """squeeze drops size-1 axes (all, or the named ones); a named axis of another size stays,
    as in PyTorch."""
    x = leaf(data(shape))
    assert mg.squeeze(x, axis).shape == x.squeeze(axis).shape == expected
    np.testing.assert_array_equal(x.squeeze(axis).numpy(), x.numpy().reshape(expected))
    check(lambda x: mg.squeeze(x, axis) * x.squeeze(axis), x)


@pytest.mark.parametrize("shape, axis", [((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1),
                                         ((2, 3), -3), ((), 0)], ids=str)
def test_unsqueeze(shape, axis):
    """unsqueeze inserts a size-1 axis anywhere in [-ndim-1, ndim], as numpy.expand_dims."""
    x = leaf(data(shape))
    np.testing.assert_array_equal(mg.unsqueeze(x, axis).numpy(), np.expand_dims(x.numpy(), axis))
    check(lambda x: x.unsqueeze(axis) ** 2, x)


@pytest.mark.parametrize("shape, sizes, expected", [
    ((3, 1), (3, 4), (3, 4)), ((3, 1), (-1, 5), (3, 5)), ((1, 3), (2, 4, -1), (2, 4, 3)),
    ((2,), (1, 2), (1, 2)), ((), (3,), (3,))], ids=str)
def test_expand(shape, sizes, expected):
    """expand broadcasts size-1 and new leading axes; -1 keeps a size; backward sums."""
    x = leaf(data(shape))
    out = x.expand(*sizes)
    assert out.shape == expected and x.expand(sizes).shape == expected
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(x.numpy(), expected))
    check(lambda x: x.expand(*sizes) * x.expand(*sizes).exp(), x)


@pytest.mark.parametrize("shape, repeats", [((2, 3), (2, 1)), ((2, 3), (1, 3)), ((2, 3), (3, 2, 2)),
                                            ((3,), (2,)), ((1, 2), (0, 2)), ((), (4,))], ids=str)
def test_repeat(shape, repeats):
    """Tensor.repeat tiles the whole tensor (numpy.tile), extra repeats add leading axes; the
    gradient sums the copies."""
    x = leaf(data(shape))
    np.testing.assert_array_equal(x.repeat(*repeats).numpy(), np.tile(x.numpy(), repeats))
    np.testing.assert_array_equal(x.repeat(repeats).numpy(), np.tile(x.numpy(), repeats))
    check(lambda x: x.repeat(*repeats) * x.repeat(*repeats), x)


@pytest.mark.parametrize("axes", [0, 1, -1, (0, 2), (2, 1, 0)], ids=str)
def test_flip(axes):
    """flip reverses the named axes, as numpy.flip."""
    x = leaf(data((2, 3, 5)))
    np.testing.assert_array_equal(mg.flip(x, axes).numpy(), np.flip(x.numpy(), axes))
    np.testing.assert_array_equal(x.flip(axes).numpy(), np.flip(x.numpy(), axes))
    check(lambda x: mg.flip(x, axes) * x, x)


@pytest.mark.parametrize("size_or_sections, dim, expected", [
    (2, 0, [2, 2, 1]), (5, 0, [5]), (7, 0, [5]), ([1, 3, 1], 0, [1, 3, 1]), ([0, 5], 0, [0, 5]),
    (2, 1, [2, 1]), (1, -1, [1, 1, 1])], ids=str)
def test_split(size_or_sections, dim, expected):
    """split into pieces of a size (the last smaller) or of listed sizes, as torch.split;
    each piece is a slice and gets its own part of the gradient."""
    x = leaf(data((5, 3)))
    pieces = mg.split(x, size_or_sections, dim)
    assert [p.shape[dim] for p in pieces] == expected
    np.testing.assert_array_equal(np.concatenate([p.numpy() for p in x.split(size_or_sections, dim)], dim),
                                  x.numpy())
    check(lambda x: mg.concat([p * (i + 1) * p for i, p in enumerate(mg.split(x, size_or_sections, dim))],
                              dim), x)


@pytest.mark.parametrize("n, chunks, expected", [(5, 3, [2, 2, 1]), (6, 4, [2, 2, 2]), (6, 3, [2, 2, 2]),
                                                 (2, 5, [1, 1]), (0, 3, [0, 0, 0])], ids=str)
def test_chunk(n, chunks, expected):
    """chunk: pieces of ceil(n / chunks), so possibly fewer pieces, as torch.chunk."""
    x = leaf(data((2, n)))
    pieces = mg.chunk(x, chunks, 1)
    assert [p.shape[1] for p in pieces] == [p.shape[1] for p in x.chunk(chunks, 1)] == expected
    if n:
        check(lambda x: mg.concat([p ** (i + 2) for i, p in enumerate(x.chunk(chunks, 1))], 1), x)


def test_zero_dimensional_tensors_take_axis_0_and_minus_1():
    """As in PyTorch, a 0-d tensor accepts axis 0 and -1 where one axis is named."""
    x = leaf(np.array(1.5))
    assert x.flatten().shape == (1,) and x.squeeze(0).shape == () and x.flip(-1).shape == ()
    assert mg.stack([x, x], axis=-1).shape == (2,) and x.unsqueeze(-1).shape == (1,)
    check(lambda x: x.flatten() * x.unsqueeze(0), x)


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

def test_permute_with_a_bad_order():
    with pytest.raises(ValueError, match="order"):
        zeros(2, 3, 4).permute(0, 0, 1)

def test_pad_width_of_the_wrong_length():
    with pytest.raises(ValueError, match="pad_width"):
        mg.pad(zeros(2, 3), ((1, 1),))

def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=re.escape("(2, 3)")):
        zeros(2, 3)[5]

def test_shape_errors_are_shape_errors():
    """Shape mismatches raise ShapeError, which a PyTorch user's ``except RuntimeError`` and
    NumPy-style ``except ValueError`` both catch."""
    for bad in (lambda: zeros(3, 4).reshape(5, 2), lambda: mg.concat([zeros(2, 3), zeros(2, 4)]),
                lambda: mg.stack([zeros(2, 3), zeros(3, 2)]), lambda: zeros(2, 3).expand(4, 3),
                lambda: zeros(2, 3).permute(0, 0)):
        with pytest.raises(ShapeError):
            bad()
        with pytest.raises(RuntimeError):
            bad()


AXIS_TAKERS = {
    "stack axis 77": lambda: mg.stack([zeros(2, 3)], axis=77),
    "stack axis -4": lambda: mg.stack([zeros(2, 3)], axis=-4),
    "concat axis 5": lambda: mg.concat([zeros(2, 3), zeros(2, 3)], axis=5),
    "concat axis -3": lambda: mg.concat([zeros(2, 3), zeros(2, 3)], axis=-3),
    "flatten start 2": lambda: zeros(2, 3).flatten(2),
    "flatten end -3": lambda: zeros(2, 3).flatten(0, -3),
    "transpose": lambda: zeros(2, 3).transpose(0, 2),
    "squeeze": lambda: zeros(2, 1).squeeze(2),
    "unsqueeze": lambda: zeros(2, 3).unsqueeze(3),
    "flip": lambda: zeros(2, 3).flip(2),
    "split": lambda: zeros(2, 3).split(1, 2),
    "chunk": lambda: zeros(2, 3).chunk(2, -3),
    "0-d axis 1": lambda: zeros().flatten(1),
}


@pytest.mark.parametrize("name", list(AXIS_TAKERS))
def test_axis_out_of_range_names_axis_and_shape(name):
    """Every op that takes an axis refuses one out of range with an AxisError (an IndexError,
    as PyTorch's, and a ValueError) naming the axis and the shape; none wraps it silently."""
    with pytest.raises(AxisError, match=r"axis -?\d+ is out of range") as e:
        AXIS_TAKERS[name]()
    assert re.search(r"\(2, 3\)|\(2, 1\)|shape \(\)", str(e.value))
    assert isinstance(e.value, IndexError) and isinstance(e.value, ValueError)

def test_concat_of_zero_dimensional_tensors_is_a_clear_error():
    with pytest.raises(ShapeError, match="stack"):
        mg.concat([tensor(1.0), tensor(2.0)])
    with pytest.raises(ShapeError, match="one or more"):
        mg.concat([])

def test_flatten_start_after_end():
    with pytest.raises(ValueError, match="start_dim"):
        zeros(2, 3, 4).flatten(2, 1)

def test_bad_repeat_split_and_chunk_arguments():
    with pytest.raises(ValueError, match="repeat"):
        zeros(2, 3).repeat(2)
    with pytest.raises(ValueError, match="add up"):
        zeros(5).split([2, 2])
    with pytest.raises(ValueError, match="positive"):
        zeros(5).split(0)
    with pytest.raises(ValueError, match="chunks"):
        zeros(5).chunk(0)
    with pytest.raises(ShapeError, match="0-d"):
        mg.split(zeros(), 1)


@pytest.mark.parametrize("bad", [lambda x: x.flatten(1, 0), lambda x: x.repeat(2),
                                 lambda x: x.sum((0, 0)), lambda x: mg.t(x.unsqueeze(0)),
                                 lambda x: x.unsqueeze(0).t()])
def test_shape_misuse_raises_runtime_error_as_pytorch(bad):
    with pytest.raises(RuntimeError):
        bad(zeros(2, 3))


def test_integer_sums_accumulate_in_int64_and_erf_softplus_of_integers():
    small = tensor(np.array([200, 100], np.uint8))
    assert small.sum().item() == 300 and small.sum().dtype == np.int64
    np.testing.assert_array_equal(small.cumsum(0).numpy(), [200, 300])
    assert small.prod().item() == 20000 and small.cumsum(0).dtype == np.int64
    assert mg.erf(tensor(np.array([1, 2]))).dtype == np.float32
    with pytest.raises(NotImplementedError, match="int64"):
        F.softplus(tensor(np.array([1, 2])))
