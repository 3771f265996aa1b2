"""Indexing: advanced ``x[index]`` (integer arrays, lists, Tensors, boolean masks, mixed with
slices), gather, index_select, masked_fill, one_hot, and the take / scatter-add pair behind
their gradients. Forward values are compared with NumPy's indexing; gradients are checked to
first and second order in float64, on indices that repeat a position (whose gradients must
add up) and on awkward shapes. The PyTorch comparison is in test_vs_torch.py.
"""
import re

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import backend, ops
from minigrad.errors import AxisError, ShapeError

from devices import array_on_device, leaf, tensor, zeros


def check(fn, *inputs):
    """First- and second-order finite-difference checks of ``fn`` at ``inputs``."""
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# Each index is given to minigrad as written and to NumPy as a NumPy index; a Tensor index is
# made on the test's device. Several repeat a position, so their gradients must add up.
ADVANCED = {
    "list": lambda t: [3, 0, 3, 1],
    "negative list": lambda t: [-1, -5, 2],
    "int array 2-D": lambda t: np.array([[0, 4], [4, 4]]),
    "tensor": lambda t: t(np.array([1, 1, 2])),
    "empty list": lambda t: [],
    "rows and columns": lambda t: ([0, 2, 4], [1, 1, 6]),
    "broadcast arrays": lambda t: (np.array([[0], [3]]), np.array([2, 5, 5])),
    "slice then array": lambda t: (slice(1, 4), [6, 0, 6]),
    "array then stride": lambda t: ([4, 0], slice(None, None, 2)),
    "int and array": lambda t: (2, [1, 3, 1]),
    "None and array": lambda t: (None, [0, 0], slice(2, 5)),
    "ellipsis and array": lambda t: (Ellipsis, [6, 5]),
    "boolean mask": lambda t: t(np.arange(35).reshape(5, 7) % 3 == 0),
    "boolean rows": lambda t: np.array([True, False, True, True, False]),
    "boolean rows, slice": lambda t: (np.array([False, True, False, True, True]), slice(1, 6, 2)),
    "comparison mask": None,  # x > 0.5, made from the tensor itself
}


def numpy_index(index):
    def one(item):
        return item.numpy() if isinstance(item, mg.Tensor) else item
    return tuple(one(i) for i in index) if isinstance(index, tuple) else one(index)


@pytest.mark.parametrize("name", list(ADVANCED))
def test_advanced_indexing(name):
    """x[index] as NumPy's advanced indexing; the gradient is scatter-added (repeated positions
    add up), to first and second order."""
    x = leaf(data((5, 7)))
    index = (x > 0.5) if ADVANCED[name] is None else ADVANCED[name](tensor)
    np.testing.assert_array_equal(x[index].numpy(), x.numpy()[numpy_index(index)])
    check(lambda x: x[index] * x[index].exp(), x)


def test_repeated_positions_add_up():
    """x[[1, 1, 1, 0]]: the gradient at position 1 is the sum of three output gradients."""
    x = leaf([10.0, 20.0, 30.0])
    (g,) = mg.grad(x[[1, 1, 1, 0]], x, tensor(np.array([1.0, 2.0, 4.0, 8.0])))
    np.testing.assert_array_equal(g.numpy(), [8.0, 7.0, 0.0])


def test_advanced_indexing_of_a_3d_tensor_batch_of_one():
    """A batch of one, an odd size, and an index array between two slices."""
    x = leaf(data((1, 5, 3)))
    index = (slice(None), [4, 0, 4, 2], slice(1, None))
    np.testing.assert_array_equal(x[index].numpy(), x.numpy()[index])
    check(lambda x: x[index] ** 2, x)


def test_take_and_scatter_add_are_each_others_adjoint():
    """<take(x, p), v> == <x, scatter_add_flat(v, p)> for repeated positions, and the
    scatter-add differentiates to first and second order itself (its backward is take)."""
    rng = np.random.default_rng(1)
    positions = array_on_device(np.array([[5, 0, 5], [2, 5, 11]]))
    x, v = leaf(rng.standard_normal((3, 4))), leaf(rng.standard_normal((2, 3)))
    left = (ops.take(x, positions) * v).sum().item()
    right = (x * ops.scatter_add_flat(v, positions, (3, 4))).sum().item()
    np.testing.assert_allclose(left, right, rtol=1e-12)
    check(lambda v: ops.scatter_add_flat(v, positions, (3, 4)) ** 2, v)
    check(lambda x: ops.take(x, positions) ** 3, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backend_scatter_add(dtype):
    """backend.scatter_add equals numpy.add.at into zeros, keeps the dtype, and stays on the
    device of its values."""
    rng = np.random.default_rng(2)
    positions = rng.integers(0, 6, 40)
    values = rng.standard_normal(40).astype(dtype)
    expected = np.zeros(6, dtype)
    np.add.at(expected, positions, values)
    out = backend.scatter_add(array_on_device(values), array_on_device(positions), 6)
    assert out.dtype == dtype and backend.device_of(out) == backend.device_of(array_on_device(values))
    np.testing.assert_allclose(backend.to_host(out), expected, rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_third_order_through_indexing():
    """d^3/dx^3 of sum(x[idx]^4) with repeated idx: 24 x times the number of repeats."""
    x = leaf([0.5, -1.5, 2.0])
    index = [2, 0, 2, 2]
    (g1,) = mg.grad((x[index] ** 4).sum(), x, create_graph=True)
    (g2,) = mg.grad(g1.sum(), x, create_graph=True)
    (g3,) = mg.grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), 24 * x.numpy() * np.array([1, 0, 3]), rtol=1e-12)


GATHER = [  # (x shape, dim, index shape)
    ((3, 4), 0, (2, 4)),
    ((3, 4), 1, (3, 6)),
    ((3, 4), -1, (2, 3)),      # smaller than x off the gathered axis, as torch allows
    ((2, 3, 5), 1, (2, 4, 5)),
    ((2, 3, 5), 2, (1, 3, 7)),
    ((1, 5), 1, (1, 1)),        # batch 1
    ((5,), 0, (8,)),
]


@pytest.mark.parametrize("x_shape, dim, index_shape", GATHER, ids=str)
def test_gather(x_shape, dim, index_shape):
    """gather as torch.gather (checked against an explicit loop), repeated positions included;
    first and second order."""
    rng = np.random.default_rng(3)
    x = leaf(rng.standard_normal(x_shape))
    index = rng.integers(0, x_shape[dim], index_shape)
    expected = np.empty(index_shape)
    for position in np.ndindex(*index_shape):
        source = list(position)
        source[dim] = index[position]
        expected[position] = x.numpy()[tuple(source)]
    for idx in (index, tensor(index)):
        np.testing.assert_array_equal(mg.gather(x, dim, idx).numpy(), expected)
        np.testing.assert_array_equal(x.gather(dim, idx).numpy(), expected)
    check(lambda x: mg.gather(x, dim, index) * mg.gather(x, dim, index).exp(), x)


@pytest.mark.parametrize("shape, dim, index", [((4, 3), 0, [3, 0, 3]), ((4, 3), 1, [2]),
                                              ((2, 5, 3), -2, [4, 4, 0, 1, 2, 3]),
                                              ((5,), 0, [])], ids=str)
def test_index_select(shape, dim, index):
    """index_select as numpy.take along the axis; first and second order."""
    x = leaf(data(shape))
    expected = np.take(x.numpy(), np.array(index, dtype=np.int64), axis=dim)
    np.testing.assert_array_equal(mg.index_select(x, dim, tensor(np.array(index, dtype=np.int64))).numpy(),
                                  expected)
    np.testing.assert_array_equal(x.index_select(dim, index).numpy(), expected)
    check(lambda x: mg.index_select(x, dim, index) ** 2, x)


@pytest.mark.parametrize("mask_shape", [(3, 4), (4,), (3, 1), ()], ids=str)
def test_masked_fill(mask_shape):
    """masked_fill with a mask broadcast to x's shape: value where the mask holds, x elsewhere;
    x's gradient is 0 under the mask, a 0-d tensor value gets the sum there."""
    rng = np.random.default_rng(4)
    x = leaf(rng.standard_normal((3, 4)))
    mask = rng.random(mask_shape) < 0.5
    expected = np.where(mask, -2.5, x.numpy())
    np.testing.assert_array_equal(mg.masked_fill(x, tensor(mask), -2.5).numpy(), expected)
    np.testing.assert_array_equal(x.masked_fill(mask, -2.5).numpy(), expected)
    value = leaf(np.array(0.7))
    check(lambda x, v: x.masked_fill(mask, v) * x, x, value)


def test_masked_fill_keeps_the_dtype():
    """A float32 tensor stays float32 with a Python float, an int tensor stays int."""
    assert mg.masked_fill(zeros(3), tensor(np.array([True, False, True])), 1.5).dtype == np.float32
    filled = mg.masked_fill(tensor(np.array([1, 2, 3])), np.array([False, True, False]), 7)
    assert filled.dtype == np.int64 and filled.numpy().tolist() == [1, 7, 3]


def test_one_hot():
    """F.one_hot: int64, labels.shape + (classes,), classes inferred as max + 1 by default."""
    labels = tensor(np.array([[0, 3], [2, 2]]))
    out = F.one_hot(labels)
    assert out.dtype == np.int64 and out.shape == (2, 2, 4) and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np.eye(4, dtype=np.int64)[labels.numpy()])
    np.testing.assert_array_equal(F.one_hot(tensor(np.array([1])), num_classes=3).numpy(), [[0, 1, 0]])
    assert F.one_hot(tensor(np.zeros(0, dtype=np.int64)), 5).shape == (0, 5)


# ---- bad inputs: clear errors naming what was wrong ----


def test_integer_index_out_of_range_names_axis_and_shape():
    with pytest.raises(IndexError, match=re.escape("axis 1 of a tensor of shape (2, 3)")):
        zeros(2, 3)[0, 3]
    with pytest.raises(IndexError, match=re.escape("(2, 3)")):
        zeros(2, 3)[5]

def test_index_array_out_of_range_names_the_values_and_shape():
    """An out-of-range array entry is an IndexError on every device (CuPy itself wraps it)."""
    with pytest.raises(IndexError, match=re.escape("from -4 to 1")) as e:
        zeros(2, 3)[[1, -4]]
    assert "(2, 3)" in str(e.value) and "[-2, 2)" in str(e.value)
    with pytest.raises(IndexError, match="axis 1"):
        zeros(2, 3)[:, tensor(np.array([0, 3]))]

def test_a_zero_slice_step_is_refused():
    with pytest.raises(ValueError, match="step must not be zero") as e:
        zeros(4)[::0]
    assert "(4,)" in str(e.value)

def test_a_float_index_is_refused():
    for index in (np.array([0.0, 1.0]), 1.5, (slice(0, 1.5),), tensor(np.array([1.0]))):
        with pytest.raises(TypeError):
            zeros(2, 3)[index]

def test_a_mask_of_the_wrong_shape():
    with pytest.raises(IndexError, match=re.escape("mask of shape (3,)")) as e:
        zeros(2, 3)[np.array([True, False, True])]
    assert "(2, 3)" in str(e.value)

def test_too_many_indices():
    with pytest.raises(IndexError, match="too many indices"):
        zeros(2, 3)[0, 1, 0]
    with pytest.raises(IndexError, match="too many indices"):
        zeros(2, 3)[..., 0, ...]

def test_gather_with_a_misshaped_index():
    with pytest.raises(ShapeError, match=re.escape("(2,)")) as e:
        mg.gather(zeros(2, 3), 1, np.array([0, 1]))
    assert "(2, 3)" in str(e.value)
    with pytest.raises(ShapeError):
        mg.gather(zeros(2, 3), 1, np.zeros((3, 3), dtype=np.int64))  # larger off the axis

def test_gather_index_out_of_range():
    """gather takes indices in [0, size), as torch.gather (no negative ones)."""
    with pytest.raises(IndexError, match=re.escape("[0, 3)")):
        mg.gather(zeros(2, 3), 1, np.array([[0], [-1]]))
    with pytest.raises(AxisError, match="axis 2"):
        mg.gather(zeros(2, 3), 2, np.zeros((2, 3), dtype=np.int64))

def test_index_select_needs_a_1d_integer_index():
    with pytest.raises(ShapeError, match="1-D"):
        mg.index_select(zeros(2, 3), 0, np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="float64"):
        mg.index_select(zeros(2, 3), 0, np.array([0.0]))
    with pytest.raises(IndexError, match=re.escape("[0, 2)")):
        mg.index_select(zeros(2, 3), 0, [2])

def test_masked_fill_needs_a_boolean_mask_that_broadcasts():
    with pytest.raises(TypeError, match="boolean"):
        mg.masked_fill(zeros(2, 3), np.ones((2, 3), dtype=np.int64), 0.0)
    with pytest.raises(ShapeError, match=re.escape("(2, 1, 3)")):
        mg.masked_fill(zeros(2, 3), np.ones((2, 1, 3), dtype=bool), 0.0)
    with pytest.raises(ShapeError, match="0-d"):
        mg.masked_fill(zeros(2, 3), np.ones((2, 3), dtype=bool), zeros(3))

def test_one_hot_errors():
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(tensor(np.array([0.0, 1.0])))
    with pytest.raises(IndexError, match=re.escape("[0, 3)")):
        F.one_hot(tensor(np.array([0, 3])), num_classes=3)
    with pytest.raises(ValueError, match="num_classes"):
        F.one_hot(tensor(np.zeros(0, dtype=np.int64)))
