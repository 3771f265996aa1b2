"""Sorting and selection: sort, argsort, topk, kthvalue, median.

Each finds integer positions along an axis on the array module (never differentiable), and
the values are ``gather(x, dim, positions)``: the gradient of a selected value goes back to
the entry it came from (a scatter-add), so every order of differentiation comes from gather.

Sorting is stable (equal entries keep their order), ascending or descending; NaN counts as the
largest value, as in PyTorch. Which of several equal entries topk, kthvalue and median pick
is not specified by PyTorch and may differ from its choice; the values are the same.
"""
import numbers

from .. import backend
from ..errors import ShapeError
from ..tensor import constant
from .index import gather
from .reduce import ValuesIndices
from .shape import check_axis



def sorted_positions(x, dim, descending=False):
    """The int64 positions that sort ``x`` along ``dim`` (an axis number), stably. Descending
    order sorts the reversed axis ascending and reverses the result back, so equal entries
    keep their order in both directions (negating would wrap unsigned and boolean values)."""
    xp, a = backend.xp_of(x.array), x.array.reshape(x.shape or (1,))
    if not descending:
        return xp.argsort(a, axis=dim, kind="stable").reshape(x.shape)
    order = xp.flip(xp.argsort(xp.flip(a, axis=dim), axis=dim, kind="stable"), axis=dim)
    return (a.shape[dim] - 1 - order).reshape(x.shape)


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) of ``x`` sorted along ``dim``; always stable (``stable`` is accepted
    for PyTorch's signature)."""
    dim = check_axis("sort", dim, x.shape)
    indices = sorted_positions(x, dim, descending)
    return ValuesIndices["sort"](gather(x, dim, indices), constant(indices))


def argsort(x, dim=-1, descending=False, stable=False):
    """The int64 positions that sort ``x`` along ``dim`` (stable)."""
    return constant(sorted_positions(x, check_axis("argsort", dim, x.shape), descending))


def _check_k(op, k, x, dim, low):
    n = x.shape[dim] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not low <= k <= n:
        raise IndexError(f"{op}: k={k!r} is out of range for axis {dim} of a tensor of shape "
                         f"{x.shape}: expected an int in [{low}, {n}]")
    return int(k)


def _pick(op, x, dim, positions, keepdim):
    """``op``'s (values, indices): gather along ``dim`` at ``positions`` (size 1 there), that
    axis dropped unless kept."""
    values, indices = gather(x, dim, positions), constant(positions)
    if keepdim or x.ndim == 0:
        return ValuesIndices[op](values, indices)
    return ValuesIndices[op](values.squeeze(dim), indices.squeeze(dim))


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) entries along ``dim`` and their positions, largest
    first (smallest first for ``largest=False``); ``sorted=False`` gives the same order."""
    dim = check_axis("topk", dim, x.shape)
    k = _check_k("topk", k, x, dim, 0)
    positions = sorted_positions(x, dim, descending=largest)
    return _pick("topk", x, dim, positions[_along(x, dim, slice(0, k))], keepdim=True)


def _along(x, dim, index):
    """An index tuple that applies ``index`` on axis ``dim`` and keeps the others whole."""
    return (slice(None),) * dim + (index,) if x.ndim else ()


def kthvalue(x, k, dim=-1, keepdim=False):
    """The k-th smallest entry along ``dim`` (k counts from 1) and its position."""
    dim = check_axis("kthvalue", dim, x.shape)
    k = _check_k("kthvalue", k, x, dim, 1)
    positions = sorted_positions(x, dim)
    return _pick("kthvalue", x, dim, positions[_along(x, dim, slice(k - 1, k))], keepdim)


def median(x, dim=None, keepdim=False):
    """The lower median, the ((n + 1) // 2)-th smallest of n entries (PyTorch's, not the mean of
    the middle two): of all entries for ``dim=None`` (the value only), else (values, indices)
    along ``dim``. A slice holding NaN has median NaN, at its first NaN (as PyTorch): NaN sorts
    last and the sort is stable, so that is the entry just after the slice's numbers."""
    if dim is None:
        if x.numel() == 0:
            raise ShapeError("median() of an empty tensor: there is no entry to take")
        return median(x.reshape(-1), 0).values
    dim = check_axis("median", dim, x.shape)
    n = x.shape[dim] if x.ndim else 1
    if n == 0:
        raise ShapeError(f"median() along axis {dim} of shape {x.shape}: the axis is empty")
    xp, a = backend.xp_of(x.array), x.array.reshape(x.shape or (1,))
    nans = (a != a).sum(axis=dim, keepdims=True)
    rank = xp.where(nans > 0, n - nans, (n - 1) // 2)  # counted from 0 in the sorted slice
    positions = xp.take_along_axis(sorted_positions(x, dim).reshape(a.shape), rank, axis=dim)
    return _pick("median", x, dim, positions if x.ndim else positions.reshape(()), keepdim)
