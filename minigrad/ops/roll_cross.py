"""Two ops made of slices and arithmetic, with no backward rule of their own:

- ``roll(x, shifts, dims)``: x shifted cyclically, y[(i + s) mod n] = x[i] along each dim, as
  two slices joined end to start (so the gradient is the roll by -s);
- ``cross(a, b, dim)``: the cross product of the 3-vectors along ``dim``,
  (a1 b2 - a2 b1, a2 b0 - a0 b2, a0 b1 - a1 b0), made of slices, mul, sub and concat.
"""
import numbers

import numpy as np

from ..errors import ShapeError
from .linalg import check_same_dtype
from .shape import broadcast_to, check_axis, concat


def roll(x, shifts, dims=None):
    """``x`` rolled by ``shifts`` along ``dims`` (ints, or tuples of one length: each shift
    along its dim, in turn); with ``dims=None``, x is flattened, rolled by one shift and
    reshaped back (torch.roll)."""
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else dims if dims is None else (dims,)
    if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) for s in shifts):
        raise TypeError(f"roll: shifts must be an int or a tuple of ints, got {shifts!r}")
    if not shifts or len(shifts) != (1 if dims is None else len(dims)):
        raise ValueError(f"roll: shifts {shifts!r} and dims {dims!r} must align (one shift per "
                         "dim, or one shift with dims=None)")
    if dims is None:
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape) if x.ndim else x.reshape(())
    for shift, dim in zip(shifts, dims):
        axis = check_axis("roll", dim, x.shape)
        size = x.shape[axis]
        if size == 0:
            continue
        cut = size - int(shift) % size
        before = (slice(None),) * axis
        x = concat([piece for piece in (x[before + (slice(cut, None),)],
                                        x[before + (slice(None, cut),)]) if piece.shape[axis]],
                   axis)
    return x


def cross(a, b, dim=None):
    """The cross product of ``a`` and ``b`` along ``dim``, an axis of size 3 in both; the
    other axes broadcast (both need the same number of axes, as torch.cross). ``dim`` is
    required: PyTorch's default (the first axis of size 3) is deprecated."""
    if dim is None:
        raise TypeError("cross: pass dim= (torch.cross without dim, which picks the first axis "
                        "of size 3, is deprecated; torch.linalg.cross uses dim=-1)")
    if a.ndim != b.ndim:
        raise ShapeError(f"cross: inputs must have the same number of dimensions, got shapes "
                         f"{a.shape} and {b.shape}")
    check_same_dtype("cross", input=a, other=b)
    axis = check_axis("cross", dim, a.shape)
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ShapeError(f"cross: dim {dim} must have size 3 in both inputs, got shapes "
                         f"{a.shape} and {b.shape}")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)  # host: shapes
    except ValueError:
        raise ShapeError(f"cross: shapes {a.shape} and {b.shape} do not broadcast") from None
    a, b = broadcast_to(a, shape), broadcast_to(b, shape)
    before = (slice(None),) * axis

    def part(t, i):
        return t[before + (slice(i, i + 1),)]

    return concat([part(a, (i + 1) % 3) * part(b, (i + 2) % 3)
                   - part(a, (i + 2) % 3) * part(b, (i + 1) % 3) for i in range(3)], axis)
