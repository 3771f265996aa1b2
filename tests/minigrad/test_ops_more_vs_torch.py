"""The scans, sorting, scatter, diagonal, einsum and attention ops against PyTorch in float64:
forward values, first-order gradients and second-order gradients (compare_with_torch), and
the integer results (indices, positions, booleans) entry for entry. Inputs hold what breaks
such ops: zeros for products, ties for sorting and running extremes, repeated scatter
positions, negative dims, size-1 axes.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import ops

from test_vs_torch import compare_with_torch

pytestmark = pytest.mark.cpu_only("compares with PyTorch on the CPU")
torch = pytest.importorskip("torch")
TF = torch.nn.functional


def data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


WITH_ZEROS = np.array([[1.5, 0.0, -2.0, 0.0, 0.7],     # two zeros
                       [0.0, 0.0, 0.0, 1.3, -0.4],     # three zeros, from the start
                       [0.9, -1.1, 2.0, 0.5, 1.2]])    # none
TIES = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, -1.0],
                 [0.5, 0.5, -2.0, 0.5, 4.0, 4.0]])

# name: (minigrad function, PyTorch function, input arrays)
DIFFERENTIABLE = {
    "cumsum dim 1": (lambda x: ops.cumsum(x, 1), lambda x: torch.cumsum(x, 1), [data(3, 5)]),
    "cumsum dim -3": (lambda x: ops.cumsum(x, -3), lambda x: torch.cumsum(x, -3),
                      [data(4, 1, 3)]),
    "cumsum 0-d": (lambda x: ops.cumsum(x, 0), lambda x: torch.cumsum(x, 0), [np.array(1.5)]),
    "cumprod with zeros": (lambda x: ops.cumprod(x, 1), lambda x: torch.cumprod(x, 1),
                           [WITH_ZEROS]),
    "cumprod with zeros dim 0": (lambda x: ops.cumprod(x, 0), lambda x: torch.cumprod(x, 0),
                                 [WITH_ZEROS.T.copy()]),
    "cumprod no zeros": (lambda x: ops.cumprod(x, -1), lambda x: torch.cumprod(x, -1),
                         [data(2, 3, 4)]),
    "prod all, with zeros": (lambda x: ops.prod(x), lambda x: torch.prod(x), [WITH_ZEROS]),
    "prod one zero": (lambda x: ops.prod(x), lambda x: torch.prod(x),
                      [np.array([1.5, -2.0, 0.0, 0.5])]),
    "prod dim, keepdim": (lambda x: ops.prod(x, 1, keepdim=True),
                          lambda x: torch.prod(x, 1, keepdim=True), [WITH_ZEROS]),
    "prod dim -2": (lambda x: ops.prod(x, -2), lambda x: torch.prod(x, -2), [data(3, 4)]),
    "cummax ties": (lambda x: ops.cummax(x, 1).values, lambda x: torch.cummax(x, 1).values,
                    [TIES]),
    "cummin dim 0": (lambda x: ops.cummin(x, 0).values, lambda x: torch.cummin(x, 0).values,
                     [TIES.T.copy()]),
    "logcumsumexp": (lambda x: ops.logcumsumexp(x, -1), lambda x: torch.logcumsumexp(x, -1),
                     [data(3, 6)]),
    "logcumsumexp wide range": (lambda x: ops.logcumsumexp(x, 0),
                                lambda x: torch.logcumsumexp(x, 0),
                                [np.array([-800.0, -790.0, 3.0, 700.0, -5.0])]),
    "sort": (lambda x: ops.sort(x, 1).values, lambda x: torch.sort(x, 1).values, [TIES]),
    "sort descending dim 0": (lambda x: ops.sort(x, 0, descending=True).values,
                              lambda x: torch.sort(x, 0, descending=True).values,
                              [TIES.T.copy()]),
    "topk": (lambda x: ops.topk(x, 3).values, lambda x: torch.topk(x, 3).values,
             [data(4, 7)]),
    "topk smallest dim 0": (lambda x: ops.topk(x, 2, dim=0, largest=False).values,
                            lambda x: torch.topk(x, 2, dim=0, largest=False).values,
                            [data(5, 3)]),
    "kthvalue": (lambda x: ops.kthvalue(x, 2, 0).values,
                 lambda x: torch.kthvalue(x, 2, 0).values, [data(5, 3)]),
    "median dim": (lambda x: ops.median(x, -1, keepdim=True).values,
                   lambda x: torch.median(x, -1, keepdim=True).values, [data(3, 6)]),
    "median all": (lambda x: ops.median(x), lambda x: torch.median(x), [data(3, 5)]),
    "masked_select": (lambda x: ops.masked_select(x, mg.tensor(TIES[:, :5] > 0.7)),
                      lambda x: torch.masked_select(x, torch.tensor(TIES[:, :5] > 0.7)),
                      [data(2, 5)]),
    "masked_select broadcast": (lambda x: ops.masked_select(x, mg.tensor([True, False, True])),
                                lambda x: torch.masked_select(x, torch.tensor([True, False,
                                                                              True])),
                                [data(2, 3)]),
    "tril": (lambda x: ops.tril(x), lambda x: torch.tril(x), [data(4, 5)]),
    "tril diagonal -1, batch": (lambda x: ops.tril(x, -1), lambda x: torch.tril(x, -1),
                                [data(2, 3, 4)]),
    "triu diagonal 2": (lambda x: ops.triu(x, 2), lambda x: torch.triu(x, 2), [data(5, 4)]),
    "diag of a vector": (lambda x: ops.diag(x, 1), lambda x: torch.diag(x, 1), [data(3)]),
    "diag of a matrix": (lambda x: ops.diag(x, -1), lambda x: torch.diag(x, -1), [data(4, 3)]),
    "diagonal dims 2, 0": (lambda x: ops.diagonal(x, 1, 2, 0),
                           lambda x: torch.diagonal(x, 1, 2, 0), [data(3, 2, 4)]),
    "diag_embed": (lambda x: ops.diag_embed(x), lambda x: torch.diag_embed(x), [data(2, 3)]),
    "diag_embed offset, dims": (lambda x: ops.diag_embed(x, -1, 0, 2),
                                lambda x: torch.diag_embed(x, -1, 0, 2), [data(2, 3)]),
    "trace": (lambda x: ops.trace(x), lambda x: torch.trace(x), [data(3, 4)]),
    "outer": (ops.outer, torch.outer, [data(3), data(4)]),
    "mm": (ops.mm, torch.mm, [data(3, 4), data(4, 2)]),
    "bmm": (ops.bmm, torch.bmm, [data(2, 3, 4), data(2, 4, 1)]),
    "take_along_dim": (lambda x: ops.take_along_dim(x, mg.tensor([[0, 2], [1, 1]]), 1),
                       lambda x: torch.take_along_dim(x, torch.tensor([[0, 2], [1, 1]]), 1),
                       [data(2, 3)]),
    "take_along_dim broadcast": (
        lambda x: ops.take_along_dim(x, mg.tensor([[[2], [0]]]), -1),
        lambda x: torch.take_along_dim(x, torch.tensor([[[2], [0]]]), -1), [data(3, 2, 4)]),
    "take_along_dim flat": (lambda x: ops.take_along_dim(x, mg.tensor([5, 0, 5])),
                            lambda x: torch.take_along_dim(x, torch.tensor([5, 0, 5])),
                            [data(2, 3)]),
}

# repeated positions in each row; src as large as the index (PyTorch's double backward of
# scatter_add fails for a larger src; test_ops_more.py checks that case on its own)
INDEX = np.array([[0, 1, 0, 2], [2, 2, 1, 0], [1, 1, 1, 1]])
UNIQUE = np.array([[2, 0, 1], [0, 1, 2]])
SCATTER = {
    "scatter src": (lambda x, s: ops.scatter(x, 1, mg.tensor(UNIQUE), s),
                    lambda x, s: torch.scatter(x, 1, torch.tensor(UNIQUE), s),
                    [data(2, 4), data(2, 3, seed=1)]),
    "scatter value": (lambda x: ops.scatter(x, 0, mg.tensor(UNIQUE[:1]), 2.5),
                      lambda x: torch.scatter(x, 0, torch.tensor(UNIQUE[:1]), 2.5),
                      [data(3, 4)]),
    "scatter_add": (lambda x, s: ops.scatter_add(x, 1, mg.tensor(INDEX), s),
                    lambda x, s: torch.scatter_add(x, 1, torch.tensor(INDEX), s),
                    [data(3, 3), data(3, 4, seed=1)]),
    "scatter_add dim -2": (lambda x, s: ops.scatter_add(x, -2, mg.tensor(INDEX.T[:3]), s),
                           lambda x, s: torch.scatter_add(x, -2, torch.tensor(INDEX.T[:3]), s),
                           [data(3, 3), data(3, 3, seed=1)]),
}
for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        SCATTER[f"scatter_reduce {_reduce} include_self={_self}"] = (
            lambda x, s, r=_reduce, i=_self: ops.scatter_reduce(x, 1, mg.tensor(INDEX), s, r,
                                                                include_self=i),
            lambda x, s, r=_reduce, i=_self: torch.scatter_reduce(x, 1, torch.tensor(INDEX), s,
                                                                  r, include_self=i),
            [data(3, 4), data(3, 4, seed=1)])
# ties between entries sent to one position, and with the input's own value; zeros for prod
# (one per position: PyTorch has no double backward for two; test_ops_more.py checks those)
TIED_SRC = np.array([[2.0, 2.0, 0.0, 1.0], [3.0, -1.0, 3.0, 0.0], [0.0, 2.0, 5.0, 5.0]])
for _reduce in ("prod", "amax", "amin"):
    SCATTER[f"scatter_reduce {_reduce} ties and zeros"] = (
        lambda x, s, r=_reduce: ops.scatter_reduce(x, 1, mg.tensor(INDEX), s, r),
        lambda x, s, r=_reduce: torch.scatter_reduce(x, 1, torch.tensor(INDEX), s, r),
        [np.array([[2.0, 0.0, 1.0], [3.0, 1.0, -1.0], [4.0, 5.0, 7.0]]), TIED_SRC])

EINSUM = ["ij,jk->ik", "bij,bjk->bik", "i,i->", "i,j->ij", "ii->i", "ii", "ij->ji", "ij->",
          "...ij,...jk->...ik", "bhqd,bhkd->bhqk", "ijk,kj->i", "i,i,i->i", "ab,bc,cd->ad",
          "b...,b...->b", "iij->j", "ij,ij->ij", "Ab,bA"]
EINSUM_SHAPES = {"ij,jk->ik": [(2, 3), (3, 4)], "bij,bjk->bik": [(2, 3, 4), (2, 4, 1)],
                 "i,i->": [(5,), (5,)], "i,j->ij": [(3,), (2,)], "ii->i": [(3, 3)],
                 "ii": [(4, 4)], "ij->ji": [(2, 3)], "ij->": [(2, 3)],
                 "...ij,...jk->...ik": [(2, 1, 2, 3), (3, 3, 2)],
                 "bhqd,bhkd->bhqk": [(2, 3, 4, 5), (2, 3, 2, 5)], "ijk,kj->i": [(2, 3, 4), (4, 3)],
                 "i,i,i->i": [(3,), (3,), (1,)], "ab,bc,cd->ad": [(2, 3), (3, 4), (4, 2)],
                 "b...,b...->b": [(2, 3, 4), (2, 3, 4)], "iij->j": [(3, 3, 2)],
                 "ij,ij->ij": [(2, 3), (2, 3)], "Ab,bA": [(2, 3), (3, 2)]}


@pytest.mark.parametrize("name", list(DIFFERENTIABLE) + list(SCATTER))
def test_values_and_gradients_vs_torch(name):
    mg_fn, torch_fn, arrays = {**DIFFERENTIABLE, **SCATTER}[name]
    compare_with_torch(mg_fn, torch_fn, arrays)


@pytest.mark.parametrize("equation", EINSUM)
def test_einsum_vs_torch(equation):
    arrays = [data(*shape, seed=i) for i, shape in enumerate(EINSUM_SHAPES[equation])]
    compare_with_torch(lambda *xs: ops.einsum(equation, *xs),
                       lambda *ts: torch.einsum(equation, *ts), arrays)


def test_einsum_takes_a_list_as_pytorch_does():
    a, b = data(2, 3), data(3, 2)
    np.testing.assert_allclose(ops.einsum("ij,jk", [mg.tensor(a), mg.tensor(b)]).numpy(),
                               torch.einsum("ij,jk", [torch.tensor(a), torch.tensor(b)]).numpy())


@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort_indices_are_pytorchs_stable_order(descending):
    x = np.concatenate([TIES, [[np.nan, 1.0, np.nan, -np.inf, np.inf, 1.0]]])
    for dim in (0, 1, -1):
        mine = ops.sort(mg.tensor(x), dim, descending=descending)
        theirs = torch.sort(torch.tensor(x), dim=dim, descending=descending, stable=True)
        np.testing.assert_array_equal(mine.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(mine.indices.numpy(), theirs.indices.numpy())
        np.testing.assert_array_equal(
            ops.argsort(mg.tensor(x), dim, descending=descending).numpy(),
            torch.argsort(torch.tensor(x), dim=dim, descending=descending, stable=True).numpy())


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_cummin_indices_match_pytorch_at_ties(op):
    for dim in (0, 1):
        mine, theirs = getattr(ops, op)(mg.tensor(TIES), dim), getattr(torch, op)(
            torch.tensor(TIES), dim)
        np.testing.assert_array_equal(mine.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(mine.indices.numpy(), theirs.indices.numpy())


def test_nan_in_median_cummax_cummin_matches_pytorch():
    x = np.array([[1.0, np.nan, 2.0, np.nan, 0.5], [3.0, 1.0, np.nan, 2.0, 5.0],
                  [0.0, 4.0, -1.0, 2.0, 3.0]])
    for dim in (0, 1, -1):
        for op in ("median", "cummax", "cummin"):
            mine, theirs = getattr(ops, op)(mg.tensor(x), dim), getattr(torch, op)(
                torch.tensor(x), dim)
            np.testing.assert_array_equal(mine.values.numpy(), theirs.values.numpy())
            np.testing.assert_array_equal(mine.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(ops.median(mg.tensor(x)).numpy(), torch.median(torch.tensor(x)))


def test_topk_kthvalue_median_indices_point_at_their_values():
    """Without ties the positions are PyTorch's; with ties (which PyTorch leaves open) they
    point at an entry holding the value."""
    x = data(4, 7)
    for mine, theirs in ((ops.topk(mg.tensor(x), 3, 1), torch.topk(torch.tensor(x), 3, 1)),
                         (ops.kthvalue(mg.tensor(x), 3, 0), torch.kthvalue(torch.tensor(x), 3, 0)),
                         (ops.median(mg.tensor(x), 1), torch.median(torch.tensor(x), 1))):
        np.testing.assert_array_equal(mine.indices.numpy(), theirs.indices.numpy())
    tied = ops.kthvalue(mg.tensor(TIES), 4, 1)
    np.testing.assert_array_equal(TIES[np.arange(2), tied.indices.numpy()], tied.values.numpy())
    np.testing.assert_array_equal(tied.values.numpy(), torch.kthvalue(torch.tensor(TIES), 4, 1)
                                  .values.numpy())


def test_integer_and_boolean_results_match_pytorch():
    x = np.array([[0, 2, 0], [1, 0, 3]])
    t = torch.tensor(x)
    for dim in (None, 0, 1):
        args = () if dim is None else (dim,)
        for op in ("any", "all"):
            np.testing.assert_array_equal(getattr(ops, op)(mg.tensor(x), *args).numpy(),
                                          getattr(torch, op)(t, *args).numpy())
    np.testing.assert_array_equal(ops.nonzero(mg.tensor(x)).numpy(), torch.nonzero(t).numpy())
    for mine, theirs in zip(ops.nonzero(mg.tensor(x), as_tuple=True),
                            torch.nonzero(t, as_tuple=True)):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert ops.nonzero(mg.tensor(3.0)).shape == tuple(torch.nonzero(torch.tensor(3.0)).shape)
    for op in ("cumsum", "cumprod"):
        mine, theirs = getattr(ops, op)(mg.tensor(x), 1), getattr(torch, op)(t, 1)
        assert mine.dtype == np.int64 and theirs.dtype == torch.int64
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert ops.prod(mg.tensor(x)).item() == torch.prod(t).item()
    src = torch.tensor([[3, 4, 5, 7]])
    for include_self in (True, False):
        np.testing.assert_array_equal(
            ops.scatter_reduce(mg.tensor([[1, 1, 1]]), 1, mg.tensor([[0, 0, 1, 0]]),
                               mg.tensor(src.numpy()), "mean", include_self).numpy(),
            torch.scatter_reduce(torch.tensor([[1, 1, 1]]), 1, torch.tensor([[0, 0, 1, 0]]), src,
                                 "mean", include_self=include_self).numpy())
