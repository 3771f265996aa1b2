"""x[index] reads as PyTorch reads it: integers, slices, None and Ellipsis first (a view),
then the advanced indices (integer lists / arrays / tensors, boolean masks) by NumPy's rule
on what is left. NumPy differs where an integer stands next to advanced indices that a slice
separates: for x of shape (3, 4, 5), x[0, :, [0, 1]] is (4, 2) in PyTorch, (2, 4) in NumPy.

Fixed cases run everywhere; a generated grid of index combinations is compared with PyTorch
(shapes, values, first- and second-order gradients in float64) where it is installed.
"""
import itertools
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.ops.index import torch_index

from devices import leaf, tensor, zeros

X_SHAPE = (3, 4, 5)


def values():
    return np.arange(60, dtype=np.float64).reshape(X_SHAPE)


# (index, PyTorch's result shape): the cases where NumPy's rule gives another shape or
# PyTorch reads an item in its own way
FIXED = [
    ((0, slice(None), [0, 1]), (4, 2)),              # NumPy: (2, 4)
    (([0, 1], 1, [0, 2]), (2,)),
    ((slice(1, None), [0, 1], 2), (2, 2)),
    (([0, 1], 2, slice(1, None)), (2, 4)),           # NumPy: (2, 4) too; the int is a select
    ((None, 0, [0, 1], None, slice(None)), (1, 2, 1, 5)),
    ((Ellipsis, [0, 1], 0), (3, 2)),
    (([0, 1], None, [1, 2]), (2, 1, 5)),             # None separates: advanced axes first
    ((True,), (1, 3, 4, 5)),
    ((False,), (0, 3, 4, 5)),
    ((0, True), (1, 4, 5)),
    (([0, 1], True, slice(None), [1, 2]), (2, 4)),
    ([[0, 1], [1, 2]], (2, 5)),                      # a list of lists is a tuple
    ([0, slice(None)], (4, 5)),
    (np.array([[0, 1], [1, 2]]), (2, 2, 4, 5)),      # an array is not
]


@pytest.mark.parametrize("index, shape", FIXED, ids=[repr(i) for i, _ in FIXED])
def test_pytorch_shapes(index, shape):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert zeros(*X_SHAPE)[index].shape == shape


def test_an_integer_then_a_separated_list_selects_first():
    x = tensor(values())
    np.testing.assert_array_equal(x[0, :, [0, 1]].numpy(), values()[0][:, [0, 1]])
    np.testing.assert_array_equal(x[tensor(np.array(1)), :, [4, 0]].numpy(),
                                  values()[1][:, [4, 0]])


def test_a_uint8_tensor_is_a_mask():
    with pytest.warns(UserWarning, match="uint8"):
        y = tensor(values())[tensor(np.array([1, 0, 1], dtype=np.uint8))]
    np.testing.assert_array_equal(y.numpy(), values()[[0, 2]])


def test_a_list_read_as_a_tuple_warns():
    with pytest.warns(FutureWarning, match="tuple"):
        zeros(*X_SHAPE)[[[0, 1], [1, 2]]]


def test_negative_steps_are_refused():
    with pytest.raises(ValueError, match="positive"):
        zeros(4)[::-1]


def test_gradients_through_pytorch_indices():
    """First and second order through a select followed by advanced indices that repeat."""
    x = leaf(np.random.default_rng(0).standard_normal(X_SHAPE))
    for index in [(1, slice(None), [0, 4, 0]), ([2, 2], 0, slice(1, 4)), (True, 0, [1, 1])]:
        def fn(x, index=index):
            y = x[index]
            return y * y.exp()
        assert mg.gradcheck(fn, (x,))
        assert mg.gradgradcheck(fn, (x,))


def test_torch_index_writes_through_the_basic_view():
    """The pair torch_index returns assigns in place as PyTorch's x[index] = v."""
    x = zeros(*X_SHAPE, dtype=np.float64)
    basic, advanced = torch_index(x, (0, slice(None), [0, 1]))
    x.array[basic][advanced] = 7.0
    expected = np.zeros(X_SHAPE)
    expected[0][:, [0, 1]] = 7.0
    np.testing.assert_array_equal(x.numpy(), expected)
    basic, advanced = torch_index(x, (1, 2, 3))
    assert advanced == ()
    x.array[basic][advanced] = 5.0
    assert x.numpy()[1, 2, 3] == 5.0


# ---- the grid against PyTorch ----

ITEMS = {
    "1": 1, "-1": -1, ":": slice(None), "1:": slice(1, None), "::2": slice(None, None, 2),
    "None": None, "...": Ellipsis, "[0,2,0]": [0, 2, 0], "[[0],[-1]]": [[0], [-1]],
    "tensor(2)": "0-d tensor", "mask4": [True, False, True, True], "True": True,
}


def grid():
    for n in (1, 2, 3):
        for names in itertools.product(ITEMS, repeat=n):
            if names.count("...") < 2:
                yield names


def as_index(names, tensor_of):
    def item(name):
        value = ITEMS[name]
        if value == "0-d tensor":
            return tensor_of(np.array(2))
        if name == "[[0],[-1]]":
            return tensor_of(np.array(value))
        if name == "mask4":
            return tensor_of(np.array(value))
        return value
    return tuple(item(name) for name in names)


@pytest.mark.cpu_only("compares with PyTorch on the CPU")
def test_index_grid_against_pytorch():
    """Every combination of up to three items: the same shape and values as PyTorch, or an
    error where PyTorch raises one; gradients of a weighted sum to first and second order."""
    torch = pytest.importorskip("torch")
    data, weights = values(), np.random.default_rng(1)
    mismatches, checked = [], 0
    for names in grid():
        t = torch.tensor(data, requires_grad=True)
        try:
            expected = t[as_index(names, torch.tensor)]
        except (IndexError, RuntimeError, TypeError, ValueError):
            with pytest.raises((IndexError, RuntimeError, TypeError, ValueError)):
                mg.tensor(data)[as_index(names, mg.tensor)]
            continue
        x = mg.tensor(data, requires_grad=True)
        got = x[as_index(names, mg.tensor)]
        if got.shape != tuple(expected.shape) or not np.array_equal(got.numpy(),
                                                                     expected.detach().numpy()):
            mismatches.append((names, got.shape, tuple(expected.shape)))
            continue
        w = weights.standard_normal(got.shape)
        (gx,) = mg.grad((got * got * mg.tensor(w)).sum(), [x], create_graph=True)
        (tgx,) = torch.autograd.grad((expected * expected * torch.tensor(w)).sum(), [t],
                                     create_graph=True)
        np.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), err_msg=str(names))
        (ggx,) = mg.grad((gx * gx).sum(), [x])
        (tggx,) = torch.autograd.grad((tgx * tgx).sum(), [t])
        np.testing.assert_allclose(ggx.numpy(), tggx.numpy(), err_msg=str(names))
        checked += 1
    assert not mismatches, mismatches[:10]
    assert checked > 500
