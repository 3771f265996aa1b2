"""Operations that move values around without changing them.

Each backward rule is the adjoint movement: reshape back, transpose by the inverse
permutation, sum what broadcasting copied, put a slice back into zeros, slice out what
padding or concatenation added.
"""
import numbers

from .. import backend
from ..autograd import apply
from ..tensor import operands, sizes


def reshape(x, *shape):
    shape = sizes(shape)
    try:
        data = x.data.reshape(shape)
    except ValueError:
        raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                         f"into {tuple(shape)}") from None
    return apply(data, (x,), (lambda g, out: g.reshape(x.shape),), "reshape", saved=())


def flatten(x, start_dim=0, end_dim=-1):
    """Merge the axes start_dim..end_dim (inclusive) into one."""
    start, end = start_dim % max(x.ndim, 1), end_dim % max(x.ndim, 1)
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def transpose(x, *axes):
    """Permute the axes (reverse them if none are given), as ``numpy.transpose``."""
    axes = sizes(axes) or tuple(reversed(range(x.ndim)))
    if sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
        raise ValueError(f"transpose axes {axes} are not a permutation of the {x.ndim} axes "
                         f"of a tensor of shape {x.shape}")
    inverse = tuple(sorted(range(x.ndim), key=lambda i: axes[i] % x.ndim))
    return apply(x.data.transpose(axes), (x,), (lambda g, out: g.transpose(inverse),), "transpose",
                 saved=())


def swap_last_axes(x):
    """The matrix transpose of the last two axes."""
    axes = list(range(x.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return transpose(x, axes)


def broadcast_to(x, shape):
    """A read-only view of ``x`` repeated along broadcast axes; backward sums them back."""
    data = backend.xp_of(x.data).broadcast_to(x.data, shape)
    return apply(data, (x,), (lambda g, out: unbroadcast(g, x.shape),), "broadcast_to",
                 saved=())


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)


def _check_basic_index(index, shape):
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if not (item is None or item is Ellipsis or isinstance(item, (slice, numbers.Integral))):
            raise TypeError(f"only basic indexing (integers, slices, None, ...) is supported, "
                            f"got {type(item).__name__} in index of a tensor of shape {shape}")


def getitem(x, index):
    """Basic slicing: a view; backward writes the gradient into zeros at the same place."""
    _check_basic_index(index, x.shape)
    try:
        data = x.data[index]
    except IndexError as e:
        raise IndexError(f"index {index!r} out of range for a tensor of shape {x.shape}: {e}") from None
    return apply(data, (x,), (lambda g, out: place(g, x.shape, index),), "getitem",
                 saved=())


def place(x, shape, index):
    """Zeros of ``shape`` with ``x`` written at ``index``: the adjoint of ``getitem``."""
    xp = backend.xp_of(x.data)
    data = xp.zeros(shape, dtype=x.dtype)
    data[index] = x.data
    return apply(data, (x,), (lambda g, out: g[index],), "place", saved=())


def pad(x, pad_width):
    """Zero padding; ``pad_width`` is one (before, after) pair per axis, as ``numpy.pad``."""
    pad_width = tuple((int(b), int(a)) for b, a in pad_width)
    if len(pad_width) != x.ndim or any(b < 0 or a < 0 for b, a in pad_width):
        raise ValueError(f"pad_width {pad_width} needs one non-negative (before, after) pair "
                         f"for each of the {x.ndim} axes of a tensor of shape {x.shape}")
    inside = tuple(slice(b, b + n) for (b, _), n in zip(pad_width, x.shape))
    return place(x, tuple(n + b + a for (b, a), n in zip(pad_width, x.shape)), inside)


def concat(tensors, axis=0):
    """Join tensors along an existing axis; each gets back its own slice of the gradient."""
    tensors = operands(*tensors)
    first = tensors[0]
    axis = axis % first.ndim
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape))
                                       if i != axis):
            raise ValueError(f"concat along axis {axis}: shapes "
                             f"{[tuple(t.shape) for t in tensors]} differ off that axis")
    data = backend.xp_of(first.data).concatenate([t.data for t in tensors], axis=axis)
    vjps, start = [], 0
    for t in tensors:
        index = (slice(None),) * axis + (slice(start, start + t.shape[axis]),)
        vjps.append(lambda g, out, index=index: g[index])
        start += t.shape[axis]
    return apply(data, tensors, tuple(vjps), "concat", saved=())


def stack(tensors, axis=0):
    """Join tensors of one shape along a new axis."""
    tensors = operands(*tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack needs tensors of one shape, got {sorted(shapes)}")
    axis = axis % (tensors[0].ndim + 1)
    return concat([t.reshape(t.shape[:axis] + (1,) + t.shape[axis:]) for t in tensors], axis)


def upsample_nearest(x, scale_factor=2):
    """Repeat each pixel of an NCHW tensor ``scale_factor`` times along height and width."""
    if x.ndim != 4:
        raise ValueError(f"upsample_nearest needs an NCHW tensor, got shape {x.shape}")
    s = int(scale_factor)
    if s != scale_factor or s < 1:
        raise ValueError(f"upsample_nearest needs a positive whole scale factor, got {scale_factor}")
    n, c, h, w = x.shape
    grid = broadcast_to(x.reshape(n, c, h, 1, w, 1), (n, c, h, s, w, s))
    return grid.reshape(n, c, h * s, w * s)
