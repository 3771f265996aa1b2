"""Scans (cumsum, cumprod, cummax, cummin, logcumsumexp, prod), any / all, sorting (sort,
argsort, topk, kthvalue, median), scatter / scatter_add / scatter_reduce, masked_select,
nonzero, tril / triu, diagonals, einsum, mm / bmm / outer, take_along_dim, conv1d / conv3d /
conv_transpose1d and their layers, and scaled_dot_product_attention: first- and second-order
finite-difference checks in float64 on shapes and values that catch mistakes (zeros for
products, repeated scatter positions, odd sizes, negative dims, size-1 axes), fixed values
(ties among them: at a tie these functions have no derivative for finite differences to
check, so what the gradient does there is compared with PyTorch's), and the errors. Runs on both devices; the PyTorch
comparison is test_ops_more_vs_torch.py.
"""
import re

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, ops
from minigrad.errors import AxisError, ShapeError

from devices import leaf, tensor, to_device


def data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


WITH_ZEROS = np.array([[1.5, 0.0, -2.0, 0.0, 0.7],
                       [0.0, 0.0, 0.0, 1.3, -0.4],
                       [0.9, -1.1, 2.0, 0.5, 1.2]])
TIES = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.5, 0.5, -2.0, 0.5, 4.0]])
INDEX = np.array([[0, 1, 0, 2], [2, 2, 1, 0], [1, 1, 1, 1]])  # repeated positions per row


def ix(array):
    return tensor(np.asarray(array))


# name: (function of the float64 leaves, their arrays)
CASES = {
    "cumsum": (lambda x: ops.cumsum(x, -1) ** 2, [data(3, 5)]),
    "cumsum size-1 axis": (lambda x: ops.cumsum(x, 1) ** 2, [data(2, 1, 3)]),
    "cumprod with zeros": (lambda x: ops.cumprod(x, 1), [WITH_ZEROS]),
    "cumprod with zeros, dim -2": (lambda x: ops.cumprod(x, -2), [WITH_ZEROS.T.copy()]),
    "prod with zeros": (lambda x: ops.prod(x, 1), [WITH_ZEROS]),
    "prod of all, one zero": (lambda x: ops.prod(x), [np.array([[1.5, -2.0], [0.0, 0.5]])]),
    "prod keepdim": (lambda x: ops.prod(x, 0, keepdim=True), [data(3, 2)]),
    "cummax": (lambda x: ops.cummax(x, 1).values ** 2, [data(3, 6)]),
    "cummin": (lambda x: ops.cummin(x, -2).values ** 2, [data(5, 3)]),
    "logcumsumexp": (lambda x: ops.logcumsumexp(x, 1), [data(3, 7)]),
    "logcumsumexp wide range": (lambda x: ops.logcumsumexp(x, 0),
                                [np.array([-800.0, -790.0, 3.0, 700.0, -5.0])]),
    "sort": (lambda x: ops.sort(x, 1, descending=True).values ** 2, [data(3, 5)]),
    "topk": (lambda x: ops.topk(x, 2, dim=0).values ** 2, [data(5, 3)]),
    "kthvalue": (lambda x: ops.kthvalue(x, 3, -1, keepdim=True).values ** 2, [data(2, 5)]),
    "median": (lambda x: ops.median(x, 0).values ** 2, [data(4, 3)]),
    "scatter": (lambda x, s: ops.scatter(x, 1, ix([[2, 0], [1, 2]]), s) ** 2,
                [data(2, 3), data(2, 3, seed=1)]),
    "scatter repeated positions": (lambda x, s: ops.scatter(x, 1, ix(INDEX), s) ** 2,
                                   [data(3, 3), data(3, 4, seed=1)]),
    "scatter value": (lambda x: ops.scatter(x, 0, ix([[1, 0, 1]]), -1.5) ** 2, [data(2, 3)]),
    "scatter_add src larger than index": (
        lambda x, s: ops.scatter_add(x, 1, ix(INDEX), s) ** 2, [data(3, 3), data(4, 5, seed=1)]),
}
for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        CASES[f"scatter_reduce {_reduce} include_self={_self}"] = (
            lambda x, s, r=_reduce, i=_self: ops.scatter_reduce(x, -1, ix(INDEX), s, r, i) ** 2,
            [data(3, 3), data(3, 4, seed=1)])
CASES["scatter_reduce prod, two zeros to one position"] = (
    lambda x, s: ops.scatter_reduce(x, 1, ix(INDEX), s, "prod"),
    [np.array([[2.0, 0.5, 1.0], [3.0, 1.0, -1.0], [4.0, 1.5, 7.0]]),
     np.array([[0.0, 2.0, 0.0, 1.0], [3.0, -1.0, 3.0, 0.0], [0.0, 0.0, 5.0, 0.5]])])
CASES.update({
    "masked_select": (lambda x: ops.masked_select(x, tensor(TIES > 0.7)) ** 2, [data(2, 5)]),
    "tril": (lambda x: ops.tril(x, -1) ** 2, [data(2, 3, 4)]),
    "triu": (lambda x: ops.triu(x, 1) ** 2, [data(4, 3)]),
    "diagonal": (lambda x: ops.diagonal(x, -1, -1, 0) ** 2, [data(4, 2, 3)]),
    "diag_embed": (lambda x: ops.diag_embed(x, 1, 0, -1) ** 2, [data(2, 3)]),
    "diag": (lambda x: ops.diag(ops.diag(x, 2), 2) ** 2, [data(3)]),
    "trace": (lambda x: ops.trace(x) ** 2, [data(3, 4)]),
    "outer": (lambda a, b: ops.outer(a, b) ** 2, [data(3), data(2, seed=1)]),
    "mm": (ops.mm, [data(3, 4), data(4, 1, seed=1)]),
    "bmm": (lambda a, b: ops.bmm(a, b) ** 2, [data(2, 1, 3), data(2, 3, 2, seed=1)]),
    "take_along_dim": (lambda x: ops.take_along_dim(x, ix([[[2], [0], [2]]]), -1) ** 2,
                       [data(2, 3, 4)]),
    "einsum matmul chain": (lambda a, b, c: ops.einsum("ab,bc,cd->ad", a, b, c) ** 2,
                            [data(2, 3), data(3, 4, seed=1), data(4, 1, seed=2)]),
    "einsum ellipsis, broadcast": (lambda a, b: ops.einsum("...ij,...jk", a, b) ** 2,
                                   [data(2, 1, 2, 3), data(3, 3, 2, seed=1)]),
    "einsum diagonal and trace": (lambda a, b: ops.einsum("iij,jk->k", a, b) ** 2,
                                  [data(3, 3, 2), data(2, 2, seed=1)]),
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
               [data(2, 4, 9), data(4, 2, 3, seed=1), data(4, seed=2)]),
    "conv_transpose1d": (lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1,
                                                         output_padding=1),
                         [data(1, 3, 5), data(3, 2, 3, seed=1)]),
    "conv3d": (lambda x, w, b: F.conv3d(x, w, b, stride=(2, 1, 1), padding=(1, 0, 1),
                                         dilation=(1, 2, 1)),
               [data(2, 2, 5, 5, 3), data(3, 2, 2, 2, 2, seed=1), data(3, seed=2)]),
    "scaled_dot_product_attention": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [data(1, 2, 3, 4), data(1, 2, 3, 4, seed=1), data(1, 2, 3, 2, seed=2)]),
    "scaled_dot_product_attention, mask": (
        lambda q, k, v: F.scaled_dot_product_attention(
            q, k, v, attn_mask=tensor(np.array([[True, False, True], [False, True, True]]))),
        [data(2, 2, 4), data(2, 3, 4, seed=1), data(2, 3, 1, seed=2)]),
})


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_to_second_order(name):
    fn, arrays = CASES[name]
    inputs = [leaf(a) for a in arrays]
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def test_gradients_through_zeros_are_the_products_of_the_others():
    x = leaf([2.0, 0.0, 3.0, 0.0])
    (g,) = mg.grad(ops.prod(x), [x], create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, 0.0, 0.0])
    (h,) = mg.grad(g[1], [x])  # d/dx3 of (x0 x2 x3) = x0 x2
    np.testing.assert_array_equal(h.numpy(), [0.0, 0.0, 0.0, 6.0])
    y = leaf([2.0, 0.0, 3.0])
    (g,) = mg.grad(ops.cumprod(y, 0).sum(), [y])
    np.testing.assert_array_equal(g.numpy(), [1.0, 2.0 + 6.0, 0.0])


def test_nan_is_the_median_and_the_running_extreme_from_where_it_stands():
    """As PyTorch: a slice holding NaN has median NaN at its first NaN; cummax / cummin are NaN
    from the first NaN on, at the latest NaN's position."""
    nan = np.nan
    x = tensor(np.array([[1.0, nan, 2.0, nan], [3.0, 1.0, 2.0, 5.0]]))
    assert np.isnan(ops.median(x).item())
    lower = ops.median(x, 1)
    np.testing.assert_array_equal(lower.values.numpy(), [nan, 2.0])
    np.testing.assert_array_equal(lower.indices.numpy(), [1, 2])
    y = tensor(np.array([1.0, nan, 0.5, nan, 3.0]))
    for op in (ops.cummax, ops.cummin):
        running = op(y, 0)
        np.testing.assert_array_equal(running.values.numpy(), [1.0, nan, nan, nan, nan])
        np.testing.assert_array_equal(running.indices.numpy(), [0, 1, 1, 3, 3])


def test_fixed_values():
    x = tensor(np.array([[1.0, 3.0, 3.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(ops.cumsum(x, 1).numpy(), [[1, 4, 7, 9, 12]])
    np.testing.assert_array_equal(ops.cumprod(x, 1).numpy(), [[1, 3, 9, 18, 54]])
    assert ops.prod(x).item() == 54
    running = ops.cummax(x, 1)
    np.testing.assert_array_equal(running.values.numpy(), [[1, 3, 3, 3, 3]])
    np.testing.assert_array_equal(running.indices.numpy(), [[0, 1, 2, 2, 4]])  # the latest tie
    np.testing.assert_array_equal(ops.cummin(x, 1).indices.numpy(), [[0, 0, 0, 0, 0]])
    np.testing.assert_allclose(ops.logcumsumexp(tensor(np.array([0.0, 0.0, np.log(2.0)])),
                                                0).numpy(), np.log([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(ops.logcumsumexp(tensor(np.array([-1000.0, -1000.0])), 0).numpy(),
                               [-1000.0, -1000.0 + np.log(2.0)])
    ordered = ops.sort(x, descending=True)
    np.testing.assert_array_equal(ordered.values.numpy(), [[3, 3, 3, 2, 1]])
    np.testing.assert_array_equal(ordered.indices.numpy(), [[1, 2, 4, 3, 0]])  # stable
    np.testing.assert_array_equal(ops.argsort(x).numpy(), [[0, 3, 1, 2, 4]])
    np.testing.assert_array_equal(ops.topk(x, 2, largest=False).values.numpy(), [[1, 2]])
    assert ops.kthvalue(x, 2).values.item() == 2 and ops.median(x).item() == 3
    np.testing.assert_array_equal(ops.any(tensor(np.array([[0, 1], [0, 0]])), 1).numpy(),
                                  [True, False])
    assert ops.all(tensor(np.array([1, 2]))).item() is True
    zeros = tensor(np.zeros((2, 3)))
    np.testing.assert_array_equal(
        ops.scatter_add(zeros, 1, ix([[0, 0, 2]]), tensor(np.array([[1.0, 2.0, 3.0]]))).numpy(),
        [[3, 0, 3], [0, 0, 0]])
    np.testing.assert_array_equal(
        ops.scatter(zeros, 0, ix([[1, 0, 1]]), tensor(np.array([[1.0, 2.0, 3.0]]))).numpy(),
        [[0, 2, 0], [1, 0, 3]])
    np.testing.assert_array_equal(
        ops.scatter_reduce(tensor(np.ones((1, 3))), 1, ix([[0, 0, 2]]),
                           tensor(np.array([[4.0, 5.0, 6.0]])), "amax", False).numpy(),
        [[5, 1, 6]])
    m = tensor(np.arange(1.0, 7.0).reshape(2, 3))
    np.testing.assert_array_equal(ops.tril(m).numpy(), [[1, 0, 0], [4, 5, 0]])
    np.testing.assert_array_equal(ops.triu(m, 1).numpy(), [[0, 2, 3], [0, 0, 6]])
    np.testing.assert_array_equal(ops.diag(m).numpy(), [1, 5])
    np.testing.assert_array_equal(ops.diag(tensor(np.array([1.0, 2.0])), -1).numpy(),
                                  [[0, 0, 0], [1, 0, 0], [0, 2, 0]])
    assert ops.trace(m).item() == 6
    np.testing.assert_array_equal(ops.masked_select(m, tensor(np.array([True, False, True])))
                                  .numpy(), [1, 3, 4, 6])
    np.testing.assert_array_equal(ops.nonzero(ops.triu(m, 1)).numpy(), [[0, 1], [0, 2], [1, 2]])
    np.testing.assert_array_equal(ops.einsum("ij->j", m).numpy(), [5, 7, 9])
    np.testing.assert_array_equal(ops.einsum("ij,ij->", m, m).numpy(), 91)


def test_tensor_methods_and_top_level_names():
    x = leaf(WITH_ZEROS)
    assert x.cumprod(1).shape == x.shape and x.prod().item() == 0
    assert x.sort(0).values.shape == x.shape and x.topk(2).indices.shape == (3, 2)
    assert x.any(dim=1, keepdim=True).shape == (3, 1) and mg.all(x > -5).item()
    assert x.tril().shape == x.shape and x.diagonal().shape == (3,)
    assert mg.einsum("ij->ji", x).shape == (5, 3)
    assert x.scatter_add(1, ix(INDEX[:, :3]), x).shape == x.shape


def test_layers_match_their_functions():
    for layer, x in ((nn.Conv1d(4, 6, 3, stride=2, padding="valid", groups=2), data(2, 4, 9)),
                     (nn.Conv1d(4, 6, 3, padding="same", padding_mode="reflect"), data(2, 4, 9)),
                     (nn.ConvTranspose1d(4, 6, 3, stride=2, output_padding=1), data(2, 4, 9)),
                     (nn.Conv3d(4, 6, (3, 2, 1), padding=1), data(1, 4, 3, 4, 5))):
        layer = to_device(layer, dtype=np.float64)
        y = layer(tensor(x))
        assert layer.weight.ndim == x.ndim
        if isinstance(layer, nn.Conv3d):
            expected = F.conv3d(tensor(x), layer.weight, layer.bias, padding=1)
        elif isinstance(layer, nn.ConvTranspose1d):
            expected = F.conv_transpose1d(tensor(x), layer.weight, layer.bias, 2, 0, 1)
        elif layer.padding_mode == "reflect":
            expected = F.conv1d(F.pad(tensor(x), (1, 1), mode="reflect"), layer.weight,
                                layer.bias)
        else:
            expected = F.conv1d(tensor(x), layer.weight, layer.bias, 2, 0, 1, 2)
        np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-12)
    assert nn.Conv1d(4, 6, 3).weight.shape == (6, 4, 3)
    assert nn.Conv3d(4, 6, 3, groups=2).weight.shape == (6, 2, 3, 3, 3)
    assert nn.ConvTranspose1d(4, 6, 3).weight.shape == (4, 6, 3)


def test_errors_name_what_was_wrong():
    x = tensor(data(2, 3))
    with pytest.raises(AxisError, match=re.escape("axis 2 is out of range for a tensor of "
                                                  "shape (2, 3)")):
        ops.cumsum(x, 2)
    with pytest.raises(IndexError, match=re.escape("index values from 0 to 3 are out of range")):
        ops.scatter_add(x, 1, ix([[0, 3]]), x)
    with pytest.raises(ShapeError, match="an index of shape"):
        ops.scatter(x, 1, ix([[0, 1, 2, 0]]), x)
    with pytest.raises(TypeError, match="dtype"):
        ops.scatter_add(x, 1, ix([[0]]), tensor(np.ones((1, 1), dtype=np.float32)))
    with pytest.raises(ValueError, match="reduce must be one of"):
        ops.scatter_reduce(x, 1, ix([[0]]), x, "max")
    with pytest.raises(IndexError, match=re.escape("k=4 is out of range for axis 1")):
        ops.topk(x, 4)
    with pytest.raises(IndexError, match=re.escape("k=0 is out of range")):
        ops.kthvalue(x, 0)
    with pytest.raises(ShapeError, match=re.escape("subscripts 'ijk' of 'ijk->i' do not fit")):
        ops.einsum("ijk->i", x)
    with pytest.raises(ShapeError, match="label 'j' has sizes 3 and 2"):
        ops.einsum("ij,jk", x, x)
    with pytest.raises(ValueError, match="names 2 operands"):
        ops.einsum("ij,jk", x)
    with pytest.raises(ShapeError, match=re.escape("mm needs 2-D tensors, got shapes (2, 3) "
                                                   "and (3,)")):
        ops.mm(x, tensor(data(3)))
    with pytest.raises(ShapeError, match="tril needs a matrix"):
        ops.tril(tensor(data(3)))
    with pytest.raises(ShapeError, match=re.escape("conv1d needs a 3-D input (N, C, L)")):
        F.conv1d(x, tensor(data(2, 2, 1)))
    with pytest.raises(ValueError, match="attn_mask or is_causal"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=x, is_causal=True)
