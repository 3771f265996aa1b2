"""Reductions over axes, and the log-softmax family built on them.

Each reduction takes the axes as PyTorch's ``dim`` / ``keepdim`` or NumPy's ``axis`` /
``keepdims`` (one spelling per call). sum's backward broadcasts the gradient back over the
reduced axes; mean and var are sums divided by a count, std the square root of var. amax and
amin send the gradient to the extremes, split evenly between ties; ``max(dim)`` / ``min(dim)``
give (values, indices), the gradient going to the index only, as PyTorch's; argmax and argmin
give integer positions, never differentiable. Axes are checked as everywhere (``AxisError``
naming the axis and the shape); a 0-d tensor takes axis 0 and -1 and reduces nothing, as in
PyTorch.
"""
import collections
import math
import numbers

import numpy as np

from .. import backend
from ..autograd import OUTPUT, apply
from ..errors import ShapeError
from ..tensor import Tensor, as_float, constant
from .elementwise import maximum, minimum, where
from .shape import broadcast_to, check_axes, check_axis, one_of


def _axes(op, axis, shape):
    """The reduced axes as a sorted tuple of non-negative numbers: all of them for None or for
    no axes (PyTorch's ``sum(dim=())`` reduces every axis, unlike NumPy's)."""
    axes = () if axis is None else check_axes(op, axis, shape)
    return axes or tuple(range(len(shape)))


def accumulator_dtype(x):
    """The dtype sums and products of ``x`` are computed in: int64 for integers and booleans
    (PyTorch's), x's own dtype otherwise."""
    return np.dtype(np.int64) if x.dtype.kind in "bui" else x.dtype


def _kept_shape(shape, axes):
    """The shape of a reduction with keepdim=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape, axes):
    return math.prod(shape[a] for a in axes)


def _spread(g, x, axes, weights):
    """The gradient of a reduction over ``axes`` that picks entries of ``x``: ``g`` broadcast
    back to x's shape, times the constant ``weights`` (an array)."""
    return broadcast_to(g.reshape(_kept_shape(x.shape, axes)), x.shape) * constant(weights)


def sum(x, dim=None, keepdim=None, *, axis=None, keepdims=None, dtype=None):
    """The sum over ``dim`` (all axes for None); ``dtype`` casts x first (PyTorch's). Integer
    and boolean tensors add up in int64, as PyTorch's (NumPy gives uint64 for unsigned)."""
    axes = _axes("sum", one_of("sum", "dim", dim, "axis", axis), x.shape)
    keepdim = one_of("sum", "keepdim", keepdim, "keepdims", keepdims)
    dtype = accumulator_dtype(x) if dtype is None else dtype
    x = x if x.dtype == dtype else x.astype(dtype)
    kept = _kept_shape(x.shape, axes)
    return apply(x.array.sum(axis=axes, keepdims=bool(keepdim)), (x,),
                 (lambda g, out: broadcast_to(g.reshape(kept), x.shape),), "sum", saved=())


def mean(x, dim=None, keepdim=None, *, axis=None, keepdims=None, dtype=None):
    axes = _axes("mean", one_of("mean", "dim", dim, "axis", axis), x.shape)
    keepdim = one_of("mean", "keepdim", keepdim, "keepdims", keepdims)
    return sum(x, axes, keepdim, dtype=dtype) / _count(x.shape, axes)


def _correction(op, dim, unbiased, correction, ddof):
    """var / std's divisor offset: ``correction`` (PyTorch), ``unbiased`` (PyTorch's older
    bool, also the first positional argument: ``x.var(False)``) or ``ddof`` (NumPy); 1 by
    default, the unbiased estimate, as PyTorch. Returns (dim, correction)."""
    if isinstance(dim, bool):
        dim, unbiased = None, one_of(op, "unbiased", unbiased, "the first argument", dim)
    given = {k: v for k, v in (("unbiased", unbiased), ("correction", correction),
                               ("ddof", ddof)) if v is not None}
    if len(given) > 1:
        raise TypeError(f"{op}: got {' and '.join(f'{k}=' for k in given)}: pass one of them")
    if unbiased is not None:
        return dim, int(bool(unbiased))
    return dim, next(iter(given.values()), 1)


def var(x, dim=None, unbiased=None, keepdim=None, *, correction=None, ddof=None, axis=None,
        keepdims=None):
    """Squared deviations from the mean summed over ``dim`` and divided by max(count -
    correction, 0): unbiased (correction 1) by default, as PyTorch (NumPy's default, the
    population variance, is ``correction=0``). inf when correction >= count (NaN when the
    deviations are all 0, as over a single value or an empty axis), as PyTorch."""
    dim, correction = _correction("var", one_of("var", "dim", dim, "axis", axis), unbiased,
                                  correction, ddof)
    keepdim = one_of("var", "keepdim", keepdim, "keepdims", keepdims)
    axes = _axes("var", dim, x.shape)
    centred = x - mean(x, axes, keepdim=True)
    divisor = _count(x.shape, axes) - correction
    return sum(centred * centred, axes, keepdim) / (divisor if divisor > 0 else 0)


def std(x, dim=None, unbiased=None, keepdim=None, *, correction=None, ddof=None, axis=None,
        keepdims=None):
    """The square root of ``var`` (same arguments). Where the variance is 0 the gradient is
    0, as PyTorch's (not the NaN of 0 * inf): the square root is taken of 1 there, and its
    result replaced by 0."""
    v = var(x, dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
            keepdims=keepdims)
    return _root_or_zero(v, lambda v: v.sqrt())


def _root_or_zero(v, root):
    """``root(v)``, and 0 with gradient 0 where v is 0 (PyTorch's subgradient, not the NaN of
    0 * inf): the root is taken of 1 there, and its result replaced by 0."""
    zero = constant(v.array == 0)
    return where(zero, 0, root(where(zero, 1, v)))


def norm(x, p="fro", dim=None, keepdim=None, *, axis=None, keepdims=None):
    """The p-norm over ``dim`` (all entries for None), as ``torch.norm`` / ``Tensor.norm``:
    ``(sum |x|^p)^(1/p)``; "fro" and 2 the Euclidean norm, inf / -inf the largest / smallest
    |x|, 0 the number of nonzero entries, 1 the sum of |x|. At 0 the gradient is 0, as
    PyTorch's."""
    dim = one_of("norm", "dim", dim, "axis", axis)
    keepdim = one_of("norm", "keepdim", keepdim, "keepdims", keepdims)
    if p == "fro" or p == 2:
        return _root_or_zero(sum(x * x, dim, keepdim), lambda v: v.sqrt())
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise ValueError(f"norm: p must be a number, 'fro', inf or -inf, got {p!r}")
    if p == math.inf or p == -math.inf:
        return (amax if p > 0 else amin)(x.abs(), dim, keepdim)
    if p == 0:
        return sum((x != 0).astype(x.dtype), dim, keepdim)
    if p == 1:
        return sum(x.abs(), dim, keepdim)
    return _root_or_zero(sum(x.abs() ** p, dim, keepdim), lambda v: v ** (1 / p))


def _nonempty_axes(op, x, axis):
    """The reduced axes of amax, amin, max, min, argmax, argmin, which have no value over no
    entries."""
    axes = _axes(op, axis, x.shape)
    if _count(x.shape, axes) == 0:
        raise ShapeError(f"{op}() of a tensor of shape {x.shape} over "
                         f"{'all axes' if axis is None else f'axis {axis}'}: there are no entries "
                         "to take it of")
    return axes


def _reduce_extreme(op, x, dim, keepdim, axis, keepdims):
    """amax or amin over the axes; tied extremes share the gradient equally (the mask of the
    extremes is a constant, found when backward runs), as PyTorch's amax / amin."""
    axes = _nonempty_axes(op, x, one_of(op, "dim", dim, "axis", axis))
    keepdim = bool(one_of(op, "keepdim", keepdim, "keepdims", keepdims))

    def vjp(g, out):
        is_extreme = (x.array == out.array.reshape(_kept_shape(x.shape, axes))).astype(x.dtype)
        return _spread(g, x, axes, is_extreme / is_extreme.sum(axis=axes, keepdims=True))

    data = getattr(x.array, op[1:])(axis=axes, keepdims=keepdim)
    return apply(data, (x,), (vjp,), op, saved=(x, OUTPUT))


def amax(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    """The largest value over the axes (several, or all for None); ties share the gradient."""
    return _reduce_extreme("amax", x, dim, keepdim, axis, keepdims)


def amin(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    """The smallest value over the axes (several, or all for None); ties share the gradient."""
    return _reduce_extreme("amin", x, dim, keepdim, axis, keepdims)


# What the ops that find entries return, as torch.return_types: (values, indices) tuples
# named by their op (max(dim), sort, topk, cummax ...), and aminmax's (min, max).
ValuesIndices = {op: collections.namedtuple(op, ("values", "indices"))
                 for op in ("max", "min", "sort", "topk", "kthvalue", "median", "cummax",
                            "cummin")}
MinMax = collections.namedtuple("aminmax", ("min", "max"))


def _max_or_min(op, x, dim, keepdim, axis, keepdims):
    """PyTorch's max / min, one function with three meanings: over every entry (a 0-d tensor,
    as amax / amin); along one ``dim``, (values, indices), the gradient going to the returned
    index only; or, given a tensor, the elementwise maximum / minimum."""
    dim = one_of(op, "dim", dim, "axis", axis)
    if isinstance(dim, Tensor):
        return (maximum if op == "max" else minimum)(x, dim)
    if dim is None:
        if keepdim is not None or keepdims is not None:
            raise TypeError(f"{op}(): keepdim= needs a dim; use a{op}(keepdim=True)")
        return _reduce_extreme("a" + op, x, None, None, None, None)
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}(dim) takes one dim (an int), got {dim!r}; over several use "
                        f"a{op}(dims)")
    keepdim = bool(one_of(op, "keepdim", keepdim, "keepdims", keepdims))
    indices = _position("arg" + op, x, dim, True)
    if x.ndim == 0:
        return ValuesIndices[op](x.reshape(()), indices)
    dim = check_axis(op, dim, x.shape)
    xp = backend.xp_of(x.array)
    kept_indices = indices.array
    values = xp.take_along_axis(x.array, kept_indices, dim)

    def vjp(g, out):
        position = xp.arange(x.shape[dim]).reshape((-1,) + (1,) * (x.ndim - dim - 1))
        return _spread(g, x, (dim,), (position == kept_indices).astype(x.dtype))

    if not keepdim:
        values, indices = values.squeeze(dim), indices.reshape(values.shape[:dim] +
                                                               values.shape[dim + 1:])
    return ValuesIndices[op](apply(values, (x,), (vjp,), op, saved=()), indices)


def max(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    """``max()``: the largest entry (0-d); ``max(dim)``: (values, indices) along dim;
    ``max(other)``: the elementwise maximum."""
    return _max_or_min("max", x, dim, keepdim, axis, keepdims)


def min(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    """``min()``: the smallest entry (0-d); ``min(dim)``: (values, indices) along dim;
    ``min(other)``: the elementwise minimum."""
    return _max_or_min("min", x, dim, keepdim, axis, keepdims)


def aminmax(x, *, dim=None, keepdim=False):
    """(min, max) over ``dim`` (one int, or all axes for None)."""
    return MinMax(amin(x, dim, keepdim), amax(x, dim, keepdim))


def _position(op, x, dim, keepdim):
    """argmax / argmin: the int64 position of the first extreme along ``dim`` (an int), or in
    the flattened tensor for None (keepdim then keeps every axis, with size 1)."""
    if dim is not None:
        dim = check_axis(op, dim, x.shape)
    _nonempty_axes(op, x, dim)
    if x.ndim == 0:
        return Tensor._wrap(backend.xp_of(x.array).zeros((), dtype="int64"))
    data = getattr(x.array, op)(axis=dim)
    if keepdim:
        data = data.reshape(_kept_shape(x.shape, range(x.ndim) if dim is None else (dim,)))
    return Tensor._wrap(data.astype("int64", copy=False))


def argmax(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    return _position("argmax", x, one_of("argmax", "dim", dim, "axis", axis),
                     one_of("argmax", "keepdim", keepdim, "keepdims", keepdims))


def argmin(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    return _position("argmin", x, one_of("argmin", "dim", dim, "axis", axis),
                     one_of("argmin", "keepdim", keepdim, "keepdims", keepdims))


def _softmax_axes(op, dim, axis):
    """The dim of logsumexp / log_softmax / softmax, which PyTorch requires (an int; or a tuple
    here), given as ``dim`` or NumPy's ``axis``."""
    dim = one_of(op, "dim", dim, "axis", axis)
    if dim is None:
        raise TypeError(f"{op}() missing the required argument dim (an int, or a tuple of "
                        "ints), as PyTorch's")
    return dim


def logsumexp(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    """log(sum(exp(x))) along ``dim`` (an int or a tuple), shifted by the (constant) maximum
    so nothing overflows (of an integer or boolean tensor, in float32). A maximum of +-inf
    is not shifted by (inf - inf is NaN): a slice of -inf sums to 0, whose log is -inf, and
    one that holds +inf gives inf, as PyTorch's."""
    x = as_float(x)
    axes = _axes("logsumexp", _softmax_axes("logsumexp", dim, axis), x.shape)
    keepdim = one_of("logsumexp", "keepdim", keepdim, "keepdims", keepdims)
    peak = x.array.max(axis=axes, keepdims=True)
    xp = backend.xp_of(peak)
    shift = constant(xp.where(xp.isinf(peak), 0, peak))
    total = sum((x - shift).exp(), axes, keepdims=True).log() + shift
    return total if keepdim else total.reshape([n for i, n in enumerate(x.shape) if i not in axes])


def log_softmax(x, dim=None, *, axis=None):
    """(x - m) - log(sum(exp(x - m))) along ``dim``, m the (constant) maximum: the difference
    of the small shifted numbers, not x - logsumexp(x), which loses the digits of m (1e-14 at
    m = 90). A slice holding an infinite maximum is NaN, as PyTorch's."""
    x = as_float(x)
    axes = _axes("log_softmax", _softmax_axes("log_softmax", dim, axis), x.shape)
    shifted = x - constant(x.array.max(axis=axes, keepdims=True))
    return shifted - sum(shifted.exp(), axes, keepdims=True).log()


def softmax(x, dim=None, *, axis=None):
    """exp(x) / sum(exp(x)) along ``dim``: exp of log_softmax."""
    return log_softmax(x, _softmax_axes("softmax", dim, axis)).exp()


def _logical(op, x, dim, keepdim, axis, keepdims):
    """any / all along the axes (all of them for None): a boolean tensor, never
    differentiable (PyTorch gives uint8 for a uint8 input; this gives bool for every dtype)."""
    dim = one_of(op, "dim", dim, "axis", axis)  # () reduces nothing here, as PyTorch's
    axes = None if dim is None else check_axes(op, dim, x.shape)
    keepdim = one_of(op, "keepdim", keepdim, "keepdims", keepdims)
    return constant(getattr(x.array, op)(axis=axes, keepdims=bool(keepdim)))


def any(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    """Whether some entry along the axes is nonzero (True)."""
    return _logical("any", x, dim, keepdim, axis, keepdims)


def all(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
    """Whether every entry along the axes is nonzero (True)."""
    return _logical("all", x, dim, keepdim, axis, keepdims)
