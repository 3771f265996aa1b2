"""Cumulative operations along an axis: cumsum, cumprod, cummax, cummin, logcumsumexp, and
prod (the last entry of cumprod).

- cumsum: y_j = sum_{k<=j} x_k. Its adjoint sums the other way: dx_k = sum_{j>=k} g_j, a
  cumsum of the reversed gradient, reversed back.
- cumprod: y_j = prod_{k<=j} x_k, so dx_k = sum_{j>=k} g_j prod_{i<=j, i!=k} x_k. Where
  x_k != 0 that is sum_{j>=k} g_j y_j / x_k; at a zero it is sum_{j>=k} g_j c_j with c the
  cumprod of x with x_k replaced by 1. The rule takes the first form wherever x is nonzero and
  the second at the first two zeros (after two zeros every such product holds a zero factor
  besides x_k, so it and its first derivatives are 0). Every form is the derivative itself,
  not only its value, so the rule is exact with zeros to second order (third-order terms at
  three or more zeros are not kept), as PyTorch's cumprod_backward.
- cummax / cummin: the running extreme's position is found on the array module; the values
  are ``gather(x, dim, positions)``, so the gradient goes to the entry each value came from.
- logcumsumexp: log(sum_{k<=j} exp(x_k)) = m_j + log(sum_{k<=j} exp(x_k - m_j)), with m_j the
  running maximum (a constant), so no exp overflows and no early entry underflows against a
  later large one. Each output j sums over its own (j + 1) entries: an (n, n) triangle per row,
  O(n^2) memory in the axis' length n, made of differentiable ops (no rule of its own).
"""
from .. import backend
from ..autograd import OUTPUT, apply
from ..tensor import as_float, constant
from .elementwise import where
from .index import gather
from .reduce import ValuesIndices, accumulator_dtype, sum
from .shape import check_axis


def _reverse_cumsum(g, dim):
    """sum_{j>=k} g_j along ``dim``: cumsum's adjoint."""
    return cumsum(g.flip(dim), dim).flip(dim)


def cumsum(x, dim):
    """Running sums along ``dim``; integer and boolean tensors sum in int64, as PyTorch."""
    dim = check_axis("cumsum", dim, x.shape)
    if x.ndim == 0:
        return cumsum(x.reshape(1), 0).reshape(())
    return apply(x.array.cumsum(axis=dim, dtype=accumulator_dtype(x)), (x,),
                 (lambda g, out: _reverse_cumsum(g, dim),), "cumsum", saved=())


def cumprod(x, dim):
    """Running products along ``dim`` (of integers and booleans in int64, as PyTorch); the
    gradient is exact where x has zeros (see above)."""
    dim = check_axis("cumprod", dim, x.shape)
    if x.ndim == 0:
        return cumprod(x.reshape(1), 0).reshape(())

    def vjp(g, out):
        nonzero = constant(x.array != 0)
        grad = where(nonzero, _reverse_cumsum(g * out, dim) / where(nonzero, x, 1), 0)
        zeros_so_far = (x.array == 0).cumsum(axis=dim)
        for m in range(1, min(int(zeros_so_far.max()), 2) + 1):  # one number from a device
            zero_m = constant((zeros_so_far == m) & (x.array == 0))
            from_zero_m = constant(zeros_so_far >= m)
            ones_there = cumprod(where(zero_m, 1, x), dim)
            at_zero = sum(where(from_zero_m, g * ones_there, 0), dim, keepdims=True)
            grad = grad + where(zero_m, at_zero, 0)
        return grad

    return apply(x.array.cumprod(axis=dim, dtype=accumulator_dtype(x)), (x,), (vjp,), "cumprod",
                 saved=(x, OUTPUT))


def prod(x, dim=None, keepdim=False):
    """The product of the entries along ``dim`` (of all entries for None): the last entry of
    cumprod, so its gradient is exact where x has zeros, to every order."""
    if dim is None:
        total = prod(x.reshape(-1), 0)
        return total.reshape((1,) * x.ndim) if keepdim else total
    dim = check_axis("prod", dim, x.shape)
    n = x.shape[dim] if x.ndim else 1
    if n == 0:  # the empty product: ones, in the dtype NumPy and PyTorch give
        return constant(x.array.prod(axis=dim, keepdims=keepdim, dtype=accumulator_dtype(x)))
    last = slice(n - 1, n) if keepdim else n - 1
    return cumprod(x, dim)[(slice(None),) * dim + (last,)] if x.ndim else x * 1


def _running(combine, array, axis):
    """The running ``combine`` (an associative ufunc such as maximum) of ``array`` along
    ``axis``, by doubling: after the step of width w each entry combines the 2w entries ending
    at it, so log2(n) whole-array steps do it (no loop over entries)."""
    out, n, width = array.copy(), array.shape[axis], 1
    while width < n:
        later = (slice(None),) * axis + (slice(width, None),)
        earlier = (slice(None),) * axis + (slice(None, n - width),)
        out[later] = combine(out[later], out[earlier])
        width *= 2
    return out


def _cumulative_extreme(op, x, dim, combine):
    """(values, indices) of the running maximum or minimum; of equal extremes the latest
    position, as PyTorch. A NaN is the extreme from where it stands on (maximum and minimum
    propagate it), at the latest NaN's position."""
    dim = check_axis(op, dim, x.shape)
    if x.ndim == 0:
        values, indices = _cumulative_extreme(op, x.reshape(1), 0, combine)
        return ValuesIndices[op](values.reshape(()), indices.reshape(()))
    xp = backend.xp_of(x.array)
    running = _running(getattr(xp, combine), x.array, dim)
    steps = xp.arange(x.shape[dim]).reshape((-1,) + (1,) * (x.ndim - dim - 1))
    is_extreme = (x.array == running) | (x.array != x.array)  # equals the extreme so far, or NaN
    reached = xp.where(is_extreme, steps, 0)
    indices = _running(xp.maximum, reached, dim)       # the latest of those positions
    return ValuesIndices[op](gather(x, dim, indices), constant(indices))


def cummax(x, dim):
    """(values, indices): the largest entry so far along ``dim`` and its position."""
    return _cumulative_extreme("cummax", x, dim, "maximum")


def cummin(x, dim):
    """(values, indices): the smallest entry so far along ``dim`` and its position."""
    return _cumulative_extreme("cummin", x, dim, "minimum")


def logcumsumexp(x, dim):
    """log(cumsum(exp(x))) along ``dim``, computed stably (see above); integer tensors give
    float32."""
    dim = check_axis("logcumsumexp", dim, as_float(x).shape)
    x = as_float(x)
    if x.ndim == 0:
        return logcumsumexp(x.reshape(1), 0).reshape(())
    xp, n, trailing = backend.xp_of(x.array), x.shape[dim], (1,) * (x.ndim - dim - 1)
    running_max = _running(xp.maximum, x.array, dim)
    shift = constant(xp.where(xp.isfinite(running_max), running_max, 0))  # m_j (0 if -inf)
    # axes (dim, dim + 1) are (j, k): entry k takes part in output j if k <= j
    taken = constant(xp.tri(n, dtype=bool).reshape((n, n) + trailing))
    centred = where(taken, x.unsqueeze(dim) - shift.unsqueeze(dim + 1), 0)
    return sum(where(taken, centred.exp(), 0), dim + 1).log() + shift
