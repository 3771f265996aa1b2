"""Writing into a tensor along an axis, in PyTorch's (input, dim, index, src) form: scatter,
scatter_add and scatter_reduce, the adjoints of gather.

For dim 1 of a 2-D input, entry (i, j) of ``index`` sends src[i, j] to out[i, index[i, j]]:
each index entry's own position with the ``dim`` coordinate replaced by its value. As a flat
position in the input that is what gather reads, so every op here is a ``scatter_add_flat`` of
(a part of) src into zeros of the input's shape, combined with the input by differentiable
ops; the gradients follow (src's is gathered from the output's gradient, the input's passes
where it was kept), to every order.

- scatter: positions written to take src's value (of several entries sent to one position,
  one is kept; PyTorch leaves which unspecified too, and the others get no gradient);
- scatter_add: src is added, repeated positions add up;
- scatter_reduce: "sum" and "mean" from scatter-adds; "prod", "amax", "amin" lay the entries
  sent to each written position out as a row of a (positions, most entries) table, padded
  with the reduction's identity, and reduce the rows with prod, amax or amin (whose gradients
  are exact with zeros, and shared evenly between tied extremes, as PyTorch's).
``include_self`` says whether the input's own value at a written position takes part.
"""
import math
import numbers

import numpy as np

from .. import backend
from ..errors import ShapeError
from ..tensor import Tensor, constant
from .elementwise import where
from .index import masked_fill, positions_along, scatter_add_flat, take
from .reduce import amax, amin
from .scan import prod
from .shape import concat

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _positions(op, x, dim, index, src):
    """The flat position in x that each entry of ``index`` writes to (``positions_along``,
    flattened), and the region of src (index's shape, from the corner) that is written.
    ``index`` may be no larger than src on any axis, as PyTorch asks."""
    if src is not None:
        if not isinstance(src, Tensor):
            raise TypeError(f"{op}: src must be a Tensor, got {type(src).__name__}")
        if src.device != x.device or src.dtype != x.dtype:
            raise TypeError(f"{op}: src ({src.dtype} on {src.device}) must have the input's "
                            f"dtype and device ({x.dtype} on {x.device})")
    positions = positions_along(op, x, dim, index)
    if src is not None and (src.ndim != positions.ndim
                            or any(i > s for i, s in zip(positions.shape, src.shape))):
        raise ShapeError(f"{op}: an index of shape {positions.shape} needs no size larger than "
                         f"src's shape {src.shape}, on the same number of axes")
    return positions.reshape(-1), tuple(slice(0, i) for i in positions.shape)


def _written(positions, x):
    """A constant boolean tensor of x's shape: True where some entry is written."""
    mask = backend.xp_of(positions).zeros(x.numel(), dtype=bool)
    mask[positions] = True
    return constant(mask.reshape(x.shape))


def scatter(x, dim, index, src=None, value=None):
    """x with the entries of ``src`` (a tensor) or ``value`` (a number; also given as src)
    written at the positions ``index`` names along ``dim`` (torch.scatter)."""
    if isinstance(src, numbers.Number) or src is None:
        if (src is None) == (value is None):
            raise TypeError("scatter: give src (a tensor) or value (a number), one of them")
        value = src if value is None else value
        positions, _ = _positions("scatter", x, dim, index, None)
        return masked_fill(x, _written(positions, x), value)
    positions, region = _positions("scatter", x, dim, index, src)
    xp, steps = backend.xp_of(positions), backend.xp_of(positions).arange(positions.size)
    writer = xp.full(x.numel(), -1)
    writer[positions] = steps
    kept = writer[positions] == steps  # one entry per written position
    values = src[region].reshape(-1)[constant(kept)]
    return where(_written(positions, x), scatter_add_flat(values, positions[kept], x.shape), x)


def scatter_add(x, dim, index, src):
    """x with each entry of ``src`` added at the position ``index`` names along ``dim``;
    entries sent to one position add up (torch.scatter_add)."""
    positions, region = _positions("scatter_add", x, dim, index, src)
    return x + scatter_add_flat(src[region].reshape(-1), positions, x.shape)


def scatter_reduce(x, dim, index, src, reduce, include_self=True):
    """x with the entries of ``src`` sent to each position (``index`` along ``dim``) reduced
    by ``reduce``, one of "sum", "prod", "mean", "amax", "amin", together with x's own value
    there if ``include_self`` (torch.scatter_reduce). Positions nothing is sent to keep x's
    value. "mean" of integers rounds down, as PyTorch."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"scatter_reduce: reduce must be one of {REDUCTIONS}, got {reduce!r}")
    positions, region = _positions("scatter_reduce", x, dim, index, src)
    values, written = src[region].reshape(-1), _written(positions, x)
    if reduce in ("sum", "mean"):
        base = x if include_self else masked_fill(x, written, 0)
        total = base + scatter_add_flat(values, positions, x.shape)
        if reduce == "sum":
            return total
        xp = backend.xp_of(positions)
        count = backend.scatter_add(xp.ones(positions.size, x.dtype), positions, x.numel())
        count = xp.maximum(count.reshape(x.shape) + include_self, 1)
        mean = (total / constant(count) if x.dtype.kind in "fc"
                else constant(total.array // count))
        return where(written, mean, x)
    if positions.size == 0:
        return x + 0
    targets, slots, width = _groups(positions)
    table = scatter_add_flat(values, slots, (targets.size, width)) + constant(
        _padding(slots, (targets.size, width), reduce, x.dtype))
    if include_self:
        table = concat([take(x, targets).reshape(-1, 1), table], axis=1)
    reduced = {"prod": prod, "amax": amax, "amin": amin}[reduce](table, 1)
    return where(written, scatter_add_flat(reduced, targets, x.shape), x)


def _groups(positions):
    """The distinct values of the 1-D array ``positions`` (sorted), and for each entry its slot
    in a (distinct values, width) table: its value's row, and its rank among the entries of
    that value as the column; width is the largest number of entries of one value."""
    xp = backend.xp_of(positions)
    order = xp.argsort(positions, kind="stable")
    ordered = positions[order]
    starts = xp.ones(ordered.size, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    row = xp.cumsum(starts) - 1
    rank = xp.arange(ordered.size) - xp.nonzero(starts)[0][row]
    width = int(rank.max()) + 1  # one number crosses from a device
    slots = xp.empty_like(positions)
    slots[order] = row * width + rank
    return ordered[starts], slots, width


def _padding(slots, shape, reduce, dtype):
    """The reduction's identity where the table has no entry, 0 where it has one."""
    if reduce == "prod":
        identity = 1
    else:
        low, high = ((-np.inf, np.inf) if dtype.kind == "f"
                     else (np.iinfo(dtype).min, np.iinfo(dtype).max))
        identity = low if reduce == "amax" else high
    padding = backend.xp_of(slots).full(math.prod(shape), identity, dtype=dtype)
    padding[slots] = 0
    return padding.reshape(shape)
