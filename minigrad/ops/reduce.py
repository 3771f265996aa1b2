"""Reductions over axes, and the log-softmax family built on them.

sum's backward broadcasts the gradient back over the reduced axes; mean and var are sums
divided by a count, std the square root of var. max and min send the gradient to the
extremes (split evenly between ties); argmax and argmin give integer positions, never
differentiable. Axes are checked as everywhere (``AxisError`` naming the axis and the
shape); a 0-d tensor takes axis 0 and -1 and reduces nothing, as in PyTorch.
"""
import math

from .. import backend
from ..autograd import OUTPUT, apply
from ..errors import ShapeError
from ..tensor import Tensor, as_float, constant
from .elementwise import where
from .shape import broadcast_to, check_axes, check_axis


def _axes(op, axis, shape):
    """The reduced axes as a sorted tuple of non-negative numbers (all of them for None)."""
    return tuple(range(len(shape))) if axis is None else check_axes(op, axis, shape)


def _kept_shape(shape, axes):
    """The shape of a reduction with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape, axes):
    return math.prod(shape[a] for a in axes)


def sum(x, axis=None, keepdims=False):
    axes = _axes("sum", axis, x.shape)
    kept = _kept_shape(x.shape, axes)
    return apply(x.array.sum(axis=axes, keepdims=keepdims), (x,),
                 (lambda g, out: broadcast_to(g.reshape(kept), x.shape),), "sum", saved=())


def mean(x, axis=None, keepdims=False):
    return sum(x, axis, keepdims) / _count(x.shape, _axes("mean", axis, x.shape))


def var(x, axis=None, keepdims=False, ddof=0):
    """Mean squared deviation, divided by max(count - ddof, 0): inf when ddof >= count (NaN
    when the deviations are all 0, as over a single value or an empty axis), as PyTorch."""
    axes = _axes("var", axis, x.shape)
    centred = x - mean(x, axes, keepdims=True)
    divisor = _count(x.shape, axes) - ddof
    return sum(centred * centred, axes, keepdims) / (divisor if divisor > 0 else 0)


def std(x, axis=None, keepdims=False, ddof=0):
    """The square root of ``var``. Where the variance is 0 the gradient is 0, as PyTorch's (not
    the NaN of 0 * inf): the square root is taken of 1 there, and its result replaced by 0."""
    v = var(x, axis, keepdims, ddof)
    zero = constant(v.array == 0)
    return where(zero, 0, where(zero, 1, v).sqrt())


def _nonempty_axes(op, x, axis):
    """The reduced axes of max, min, argmax, argmin, which have no value over no entries."""
    axes = _axes(op, axis, x.shape)
    if _count(x.shape, axes) == 0:
        raise ShapeError(f"{op}() of a tensor of shape {x.shape} over "
                         f"{'all axes' if axis is None else f'axis {axis}'}: there are no entries "
                         "to take it of")
    return axes


def _extreme(op, x, axis, keepdims):
    """max or min along the axes; tied extremes share the gradient equally (the mask of the
    extremes is a constant, found when backward runs)."""
    axes = _nonempty_axes(op, x, axis)
    kept = _kept_shape(x.shape, axes)

    def vjp(g, out):
        is_extreme = (x.array == out.array.reshape(kept)).astype(x.dtype)
        share = constant(is_extreme / is_extreme.sum(axis=axes, keepdims=True))
        return broadcast_to(g.reshape(kept), x.shape) * share

    return apply(getattr(x.array, op)(axis=axes, keepdims=keepdims), (x,), (vjp,), op,
                 saved=(x, OUTPUT))


def max(x, axis=None, keepdims=False):
    """The largest value along the axes; ties share the gradient equally."""
    return _extreme("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """The smallest value along the axes; ties share the gradient equally."""
    return _extreme("min", x, axis, keepdims)


def _position(op, x, axis, keepdims):
    """argmax / argmin: the int64 position of the first extreme along ``axis`` (an int), or in
    the flattened tensor for None (keepdims then keeps every axis, with size 1)."""
    if axis is not None:
        axis = check_axis(op, axis, x.shape)
    _nonempty_axes(op, x, axis)
    if x.ndim == 0:
        return Tensor._wrap(backend.xp_of(x.array).zeros((), dtype="int64"))
    data = getattr(x.array, op)(axis=axis)
    if keepdims:
        data = data.reshape(_kept_shape(x.shape, range(x.ndim) if axis is None else (axis,)))
    return Tensor._wrap(data.astype("int64", copy=False))


def argmax(x, axis=None, keepdims=False):
    return _position("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _position("argmin", x, axis, keepdims)


def logsumexp(x, axis=-1, keepdims=False):
    """log(sum(exp(x))) along ``axis`` (an int or a tuple), shifted by the (constant) maximum
    so nothing overflows (of an integer or boolean tensor, in float32)."""
    x = as_float(x)
    axes = _axes("logsumexp", axis, x.shape)
    shift = constant(x.array.max(axis=axes, keepdims=True))
    total = sum((x - shift).exp(), axes, keepdims=True).log() + shift
    return total if keepdims else total.reshape([n for i, n in enumerate(x.shape) if i not in axes])


def log_softmax(x, axis=-1):
    return x - logsumexp(x, axis, keepdims=True)


def softmax(x, axis=-1):
    return log_softmax(x, axis).exp()


def _logical(op, x, axis, keepdims):
    """any / all along the axes (all of them for None): a boolean tensor, never
    differentiable (PyTorch gives uint8 for a uint8 input; this gives bool for every dtype)."""
    axes = _axes(op, axis, x.shape)
    return constant(getattr(x.array, op)(axis=axes, keepdims=keepdims))


def any(x, axis=None, keepdims=False):
    """Whether some entry along the axes is nonzero (True)."""
    return _logical("any", x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    """Whether every entry along the axes is nonzero (True)."""
    return _logical("all", x, axis, keepdims)
