"""Operations that move values around without changing them.

Each backward rule is the adjoint movement: reshape back, permute by the inverse
order, sum what broadcasting copied, put a slice back into zeros, slice out what
padding or concatenation added. squeeze, unsqueeze and expand are reshapes and broadcasts;
repeat is a broadcast and a reshape; split gives slices (``x[...]``, minigrad.ops.index); flip
is its own adjoint.

An axis out of range is an ``AxisError`` naming the axis and the shape; a 0-d tensor takes
axis 0 and -1, as in PyTorch.
"""
import itertools
import numbers

import numpy as np

from .. import backend
from ..autograd import apply
from ..errors import AxisError, ShapeError
from ..tensor import promoted_operands, sizes


def check_axis(op, axis, shape, new=False):
    """``axis`` as a number in [0, ndim), or in [0, ndim] for a ``new`` axis (stack,
    unsqueeze); negative axes count from the end. A 0-d tensor takes 0 and -1 (PyTorch)."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{op}: an axis must be an int, got {axis!r}")
    ndim = len(shape) + new
    size = ndim if ndim else 1
    if not -size <= axis < size:
        raise AxisError(f"{op}: axis {axis} is out of range for a tensor of shape {tuple(shape)} "
                        f"(expected an axis in [{-size}, {size - 1}])")
    return int(axis) % size if ndim else 0


def one_of(op, torch_name, torch_value, numpy_name, numpy_value):
    """The argument given under PyTorch's name (``dim``, ``keepdim``) or NumPy's (``axis``,
    ``keepdims``); None if neither. Giving both is a TypeError."""
    if numpy_value is None:
        return torch_value
    if torch_value is not None:
        raise TypeError(f"{op}: got both {torch_name}= and {numpy_name}=, which are two "
                        "spellings of one argument; pass one")
    return numpy_value


def check_axes(op, axes, shape):
    """Several axes (an int or a sequence of ints) as a sorted tuple of distinct numbers in
    [0, ndim); a 0-d tensor's axes 0 and -1 stand for no axis at all."""
    axes = (axes,) if isinstance(axes, numbers.Integral) else tuple(axes)
    checked = [check_axis(op, a, shape) for a in axes]
    if len(set(checked)) != len(checked):
        raise ShapeError(f"{op}: axes {axes} name one axis twice (tensor of shape {tuple(shape)})")
    return tuple(sorted(checked)) if len(shape) else ()


def reshape(x, *shape):
    shape = sizes(shape)
    try:
        data = x.array.reshape(shape)
    except ValueError:
        raise ShapeError(f"cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) "
                         f"into {tuple(shape)}") from None
    return apply(data, (x,), (lambda g, out: g.reshape(x.shape),), "reshape", saved=())


def flatten(x, start_dim=0, end_dim=-1):
    """Merge the axes start_dim..end_dim (inclusive) into one (a 0-d tensor becomes 1-d)."""
    start, end = check_axis("flatten", start_dim, x.shape), check_axis("flatten", end_dim, x.shape)
    if start > end:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"(tensor of shape {x.shape})")
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def permute(x, *dims):
    """Reorder the axes: axis i of the result is axis ``dims[i]`` of ``x`` (PyTorch's permute,
    NumPy's transpose with axes). Backward permutes by the inverse order."""
    dims = tuple(check_axis("permute", d, x.shape) for d in sizes(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {dims} are not an order of the {x.ndim} axes "
                         f"of a tensor of shape {x.shape}")
    inverse = tuple(sorted(range(x.ndim), key=lambda i: dims[i]))
    return apply(x.array.transpose(dims), (x,), (lambda g, out: permute(g, inverse),), "permute",
                 saved=())


def transpose(x, *dims):
    """Swap two axes, ``transpose(x, dim0, dim1)`` (PyTorch's meaning; NumPy's transpose, an
    order of all axes, is ``permute``)."""
    if len(dims) != 2:
        raise TypeError(f"transpose(dim0, dim1) swaps two axes, got {len(dims)} arguments "
                        f"{dims}; to put all axes in an order use permute(*dims)")
    a, b = (check_axis("transpose", d, x.shape) for d in dims)
    order = list(range(x.ndim))
    if a != b:  # (a 0-d tensor's dims are 0 and 0)
        order[a], order[b] = order[b], order[a]
    return permute(x, order)


def broadcast_to(x, shape):
    """A read-only view of ``x`` repeated along broadcast axes; backward sums them back."""
    shape = tuple(shape)
    try:
        fits = np.broadcast_shapes(x.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"a tensor of shape {x.shape} cannot be broadcast to shape {shape} "
                         "(each axis must match or be 1; new axes go in front)")
    data = backend.xp_of(x.array).broadcast_to(x.array, shape)
    return apply(data, (x,), (lambda g, out: unbroadcast(g, x.shape),), "broadcast_to",
                 saved=())


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)


def place(x, shape, index):
    """Zeros of ``shape`` with ``x`` written at ``index``: the adjoint of basic indexing."""
    xp = backend.xp_of(x.array)
    data = xp.zeros(shape, dtype=x.dtype)
    data[index] = x.array
    return apply(data, (x,), (lambda g, out: g[index],), "place", saved=())


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(x, pad_width, mode="constant", value=0):
    """Pad ``x`` by ``pad_width``, one (before, after) pair per axis, as ``numpy.pad``.

    Modes, as PyTorch's ``F.pad`` (which ``nn.functional.pad`` translates to these pairs):
    "constant" fills with ``value`` (negative widths crop); "reflect" mirrors without
    repeating the edge (width < size); "replicate" repeats the edge; "circular" wraps around
    (width <= size). Constant padding is one copy whose backward is the inner slice; the other
    modes concatenate slices of ``x``, so every gradient comes from getitem and concat.
    """
    pairs = _pad_pairs(x, pad_width)
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    if mode == "constant":
        return _pad_constant(x, pairs, value)
    for axis, (before, after) in enumerate(pairs):
        if before < 0 or after < 0:
            raise ValueError(f"pad: negative padding {pairs[axis]} on axis {axis} works only in "
                             f"mode 'constant', not {mode!r}")
        if before or after:
            x = _pad_axis(x, axis, before, after, mode)
    return x


def _pad_pairs(x, pad_width):
    try:
        pairs = tuple((int(b), int(a)) for b, a in pad_width)
    except (TypeError, ValueError):
        pairs = None
    if pairs is None or len(pairs) != x.ndim:
        raise ValueError(f"pad_width {pad_width!r} needs one (before, after) pair of ints for "
                         f"each of the {x.ndim} axes of a tensor of shape {x.shape}")
    return pairs


def _pad_constant(x, pairs, value):
    if any(b < 0 or a < 0 for b, a in pairs):  # negative widths crop first
        x = x[tuple(slice(-min(b, 0), n + min(a, 0)) for (b, a), n in zip(pairs, x.shape))]
        pairs = tuple((max(b, 0), max(a, 0)) for b, a in pairs)
    inside = tuple(slice(b, b + n) for (b, _), n in zip(pairs, x.shape))
    data = backend.xp_of(x.array).full(tuple(n + b + a for (b, a), n in zip(pairs, x.shape)),
                                      value, dtype=x.dtype)
    data[inside] = x.array
    return apply(data, (x,), (lambda g, out: g[inside],), "pad", saved=())


def _pad_axis(x, axis, before, after, mode):
    """x with ``before`` / ``after`` entries added on one axis by reflect, replicate or circular."""
    n = x.shape[axis]
    limit = {"reflect": n - 1, "replicate": None, "circular": n}[mode]
    if n == 0 or (limit is not None and max(before, after) > limit):
        bound = f"at most {limit}" if limit is not None else "any width"
        raise ValueError(f"pad: mode {mode!r} on axis {axis} of size {n} (shape {x.shape}) "
                         f"allows {bound} on each side, got ({before}, {after})")

    def part(index):
        return x[(slice(None),) * axis + (index,)]

    def edge(index, width):
        shape = x.shape[:axis] + (width,) + x.shape[axis + 1:]
        return broadcast_to(part(index), shape)

    if mode == "reflect":  # x[before], ..., x[1] | x | x[n-2], ..., x[n-1-after]
        pieces = [flip(part(slice(1, before + 1)), axis), x,
                  flip(part(slice(n - 1 - after, n - 1)), axis)]
    elif mode == "replicate":
        pieces = [edge(slice(0, 1), before), x, edge(slice(n - 1, n), after)]
    else:  # circular
        pieces = [part(slice(n - before, n)), x, part(slice(0, after))]
    return concat([p for p in pieces if p.shape[axis]], axis)


def concat(tensors, dim=None, *, axis=None):
    """Join tensors along an existing axis (``dim`` or ``axis``, 0 by default); each gets
    back its own slice of the gradient."""
    axis = one_of("concat", "dim", dim, "axis", axis) or 0
    tensors = list(tensors)
    tensors = promoted_operands(*tensors) if tensors else ()
    if not tensors or tensors[0].ndim == 0:
        raise ShapeError("concat needs one or more tensors with at least one axis, got "
                         f"shapes {[tuple(t.shape) for t in tensors]} (use stack for 0-d tensors)")
    first = tensors[0]
    axis = check_axis("concat", axis, first.shape)
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape))
                                       if i != axis):
            raise ShapeError(f"concat along axis {axis}: shapes "
                             f"{[tuple(t.shape) for t in tensors]} differ off that axis")
    data = backend.xp_of(first.array).concatenate([t.array for t in tensors], axis=axis)
    vjps, start = [], 0
    for t in tensors:
        index = (slice(None),) * axis + (slice(start, start + t.shape[axis]),)
        vjps.append(_slice_of_gradient(index))
        start += t.shape[axis]
    return apply(data, tensors, tuple(vjps), "concat", saved=())


def _slice_of_gradient(index):
    """The vjp of an input that became ``out[index]``: its slice of the gradient."""
    return lambda g, out: g[index]


def stack(tensors, dim=None, *, axis=None):
    """Join tensors of one shape along a new axis (``dim`` or ``axis``, 0 by default)."""
    axis = one_of("stack", "dim", dim, "axis", axis) or 0
    tensors = list(tensors)
    tensors = promoted_operands(*tensors) if tensors else ()
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ShapeError(f"stack needs one or more tensors of one shape, got {sorted(shapes)}")
    axis = check_axis("stack", axis, tensors[0].shape, new=True)
    return concat([unsqueeze(t, axis) for t in tensors], axis)


def squeeze(x, dim=None, *, axis=None):
    """Remove axes of size 1: all of them, or those among ``axis`` (an int or a tuple); a
    named axis whose size is not 1 is kept, as in PyTorch."""
    axis = one_of("squeeze", "dim", dim, "axis", axis)
    axes = range(x.ndim) if axis is None else check_axes("squeeze", axis, x.shape)
    drop = {a for a in axes if x.shape[a] == 1}
    return reshape(x, tuple(n for a, n in enumerate(x.shape) if a not in drop))


def unsqueeze(x, dim=None, *, axis=None):
    """A new axis of size 1 at position ``dim`` (or ``axis``; in [-ndim-1, ndim])."""
    axis = one_of("unsqueeze", "dim", dim, "axis", axis)
    if axis is None:
        raise TypeError("unsqueeze() needs the position of the new axis (dim=)")
    axis = check_axis("unsqueeze", axis, x.shape, new=True)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def expand(x, *shape):
    """``x`` broadcast to ``shape`` (PyTorch's Tensor.expand): -1 keeps an axis' size; new
    axes go in front. Backward sums over the expanded axes."""
    shape = tuple(sizes(shape))
    lead = len(shape) - x.ndim
    if lead < 0 or any(n == -1 for n in shape[:lead]):
        raise ShapeError(f"expand: shape {shape} has fewer axes than the tensor's {x.shape}, or "
                         "-1 on a new leading axis")
    return broadcast_to(x, shape[:lead] + tuple(x.shape[i] if n == -1 else n
                                                for i, n in enumerate(shape[lead:])))


def repeat(x, *repeats):
    """``x`` tiled ``repeats[i]`` times along axis i (PyTorch's Tensor.repeat, numpy.tile);
    more repeats than axes add leading axes. Each axis of size n becomes a (repeats, n) pair
    of axes, broadcast and merged; backward sums the copies."""
    repeats = tuple(sizes(repeats))
    if len(repeats) < x.ndim or any(not isinstance(r, numbers.Integral) or r < 0 for r in repeats):
        raise ShapeError(f"repeat: {repeats} must be one non-negative int per axis of the tensor's "
                         f"shape {x.shape} (or more)")
    shape = (1,) * (len(repeats) - x.ndim) + x.shape
    spread = x.reshape([s for n in shape for s in (1, n)])
    tiled = broadcast_to(spread, [s for r, n in zip(repeats, shape) for s in (r, n)])
    return tiled.reshape(tuple(r * n for r, n in zip(repeats, shape)))


def flip(x, dims):
    """``x`` reversed along each of ``dims`` (an int or a tuple); its own adjoint. (A view of
    ``x``, which ``x[::-1]`` would be in NumPy; PyTorch refuses negative steps in indexing.)"""
    axes = check_axes("flip", dims, x.shape)
    index = tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim))
    return apply(x.array[index], (x,), (lambda g, out: flip(g, axes),), "flip", saved=())


def split(x, split_size_or_sections, dim=0):
    """Pieces of ``x`` along ``dim`` (slices, so views): of ``split_size`` each (the last may be
    smaller), or of the sizes in a list, which must add up to the axis' size (torch.split)."""
    axis = _split_axis("split", x, dim)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, numbers.Integral):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n):
            raise ValueError(f"split: split_size must be positive (0 only for an empty axis), "
                             f"got {size} for axis {dim} of shape {x.shape}")
        sections = [min(size, n - start) for start in range(0, n, size)] if n else [0]
    else:
        sections = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sections) or sum(sections) != n:
            raise ValueError(f"split: sections {sections} must be non-negative and add up to "
                             f"{n}, the size of axis {dim} of shape {x.shape}")
    before = (slice(None),) * axis
    ends = list(itertools.accumulate(sections))
    return tuple(x[before + (slice(end - s, end),)] for end, s in zip(ends, sections))


def _split_axis(op, x, dim):
    if x.ndim == 0:
        raise ShapeError(f"{op} needs a tensor with at least one axis, got a 0-d tensor")
    return check_axis(op, dim, x.shape)


def chunk(x, chunks, dim=0):
    """``chunks`` pieces of ``x`` along ``dim``, each of ceil(size / chunks) entries but the
    last (there may be fewer pieces, as in torch.chunk; an empty axis gives ``chunks`` empty
    pieces)."""
    if isinstance(chunks, bool) or not isinstance(chunks, numbers.Integral) or chunks < 1:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    n = x.shape[_split_axis("chunk", x, dim)]
    return split(x, -(-n // chunks), dim) if n else split(x, [0] * chunks, dim)
