"""Indexing: ``x[index]`` with basic and advanced indices, gather, index_select, masked_fill
and one_hot.

Basic indices (integers, slices, None, ...) give a view, whose adjoint writes the gradient
into zeros at the same place (``place``). Advanced indices (integer arrays, lists, Tensors,
boolean masks, mixed with the others as in NumPy and PyTorch) read scattered positions,
possibly the same one twice, so their adjoint adds each gradient entry into its position: a
scatter-add. Both directions are recorded ops on flat (row-major) positions, each the other's
backward rule, so indexing differentiates to any order:

    take(x, p)                    = x.reshape(-1)[p]                   (adjoint: scatter_add_flat)
    scatter_add_flat(v, p, shape) = zeros(shape), v[k] added at p[k]   (adjoint: take)

The scatter-add kernel is the backend's (NumPy's bincount, CuPy's scatter_add).
"""
import math
import numbers
import warnings

import numpy as np

from .. import backend
from ..autograd import apply
from ..errors import ShapeError
from ..tensor import Tensor, broadcasts_to, to_operand
from .elementwise import where
from .shape import check_axis, place


def take(x, positions):
    """The values of ``x`` at flat ``positions`` (an integer array on x's device, entries in
    [0, x.numel())), in the shape of ``positions``, as torch.take."""
    return apply(x.array.reshape(-1)[positions], (x,),
                 (lambda g, out: scatter_add_flat(g, positions, x.shape),), "take", saved=())


def scatter_add_flat(values, positions, shape):
    """Zeros of ``shape`` with each entry of ``values`` added at its flat position in
    ``positions`` (an integer array of values' shape); repeated positions add up."""
    data = backend.scatter_add(values.array, positions, math.prod(shape)).reshape(shape)
    return apply(data, (values,), (lambda g, out: take(g, positions),), "scatter_add_flat",
                 saved=())


def getitem(x, index):
    """``x[index]`` as PyTorch reads it (``torch_index``): the basic part is a view, whose
    adjoint writes the gradient into zeros (``place``); advanced indices then read positions
    that may repeat, so their adjoint is a scatter-add of the gradient."""
    basic, advanced = torch_index(x, index)
    view = x.array[basic]
    if not advanced:
        return apply(view, (x,), (lambda g, out: place(g, x.shape, basic),), "getitem",
                     saved=())

    def vjp(g, out):
        positions = backend.xp_of(x.array).arange(x.numel()).reshape(x.shape)[basic][advanced]
        return scatter_add_flat(g, positions, x.shape)

    return apply(view[advanced], (x,), (vjp,), "getitem", saved=())


def torch_index(x, index):
    """PyTorch's reading of ``x[index]`` as two NumPy indices: ``x.array[basic][advanced]`` is
    PyTorch's ``x[index]``, and ``x.array[basic][advanced] = value`` its assignment (the first
    is a view). ``advanced`` is ``()`` when the index has no arrays, lists or masks.

    PyTorch first applies integers, slices, None and Ellipsis as a view (an integer removes
    its axis), then the advanced indices (integer arrays or lists, boolean masks) together,
    by NumPy's rule: their result axes stand where they were if they are next to each other,
    first otherwise. NumPy counts an integer among the advanced indices when there are any,
    so for x of shape (3, 4, 5), x[0, :, [0, 1]] is (4, 2) in PyTorch and (2, 4) in NumPy.
    Also PyTorch's: a 0-d integer tensor is an integer; True / False (or a 0-d boolean
    tensor) add an axis of 1 / 0 entries; a uint8 tensor is a boolean mask; a list holding a
    list, a tensor, a slice, None or Ellipsis is read as a tuple (x[[[0, 1], [1, 2]]] is
    x[[0, 1], [1, 2]]). Every item is checked, so a bad index gets a message naming it and
    the shape (CuPy does not check).
    """
    items = [_index_item(item, x) for item in _index_items(index)]
    taken = sum(item.ndim if getattr(item, "dtype", None) == bool else 1 for item in items
                if not (item is None or item is Ellipsis or isinstance(item, bool)))
    if taken > x.ndim or sum(item is Ellipsis for item in items) > 1:
        raise IndexError(f"too many indices ({index!r}) for a tensor of shape {x.shape}")
    basic, advanced, axis = [], [], 0  # axis: the axis of x the next item indexes
    for item in items:
        what = f"axis {axis} of a tensor of shape {x.shape}"
        if item is Ellipsis:
            n = x.ndim - taken
            basic, advanced, axis = basic + [slice(None)] * n, advanced + [slice(None)] * n, axis + n
        elif item is None or isinstance(item, bool):  # a new axis, for a bool indexed by [0] / []
            basic.append(None)
            advanced.append(backend.xp_of(x.array).arange(int(item)) if item is not None
                            else slice(None))
        elif isinstance(item, int):
            if not -x.shape[axis] <= item < x.shape[axis]:
                raise IndexError(f"index {item} is out of range for {what}")
            basic.append(item)
            axis += 1
        elif isinstance(item, slice):
            basic.append(item)
            advanced.append(slice(None))
            axis += 1
        elif item.dtype == bool:
            if item.shape != x.shape[axis:axis + item.ndim]:
                raise IndexError(f"a boolean mask of shape {item.shape} does not fit axes "
                                 f"{axis}..{axis + item.ndim - 1} of a tensor of shape {x.shape}")
            basic += [slice(None)] * item.ndim
            advanced.append(item)
            axis += item.ndim
        else:
            _check_range("index", item, x.shape[axis], what, negative=True)
            basic.append(slice(None))
            advanced.append(item)
            axis += 1
    arrays = any(hasattr(item, "dtype") for item in advanced)
    return tuple(basic) + (Ellipsis,), tuple(advanced) if arrays else ()  # ...: a 0-d view


def _index_items(index):
    """The items of an index: a tuple's, a list's that PyTorch reads as a tuple (one of
    fewer than 32 items holding a sequence, a tensor, a slice, None or Ellipsis, as NumPy
    once did; PyTorch warns that this will change), else the index itself."""
    if isinstance(index, tuple):
        return index
    if isinstance(index, list) and len(index) < 32 and any(
            isinstance(item, (list, tuple, Tensor, slice)) or hasattr(item, "__len__")
            or item is None or item is Ellipsis for item in index):
        warnings.warn("a list index holding sequences, tensors, slices, None or Ellipsis is "
                      "read as a tuple, as PyTorch still does (and warns that it will stop); "
                      "write x[tuple(seq)] or x[tensor(seq)]", FutureWarning, stacklevel=5)
        return tuple(index)
    return (index,)


def _index_item(item, x):
    """One index item of ``x`` as an int, a slice, None, Ellipsis, a bool (a 0-d boolean
    index) or an int64 / boolean array on x's device."""
    if isinstance(item, (bool, np.bool_)):
        return bool(item)
    if isinstance(item, numbers.Integral):
        return int(item)
    if isinstance(item, slice):
        _check_slice(item, x.shape)
        return item
    if item is None or item is Ellipsis:
        return item
    if getattr(item, "dtype", None) == np.uint8:
        warnings.warn("indexing with a uint8 tensor reads it as a boolean mask, as PyTorch "
                      "(which has deprecated it); use a bool tensor", UserWarning, stacklevel=6)
        item = item != 0
    array = _index_array("index", item, x.device, masks=True)
    if array.ndim == 0:  # a 0-d integer tensor is an integer; a 0-d mask a bool (PyTorch)
        return bool(array) if array.dtype == bool else int(array)
    return array


def _check_slice(item, shape):
    what = f"slice {item} of a tensor of shape {shape}"
    for part in (item.start, item.stop, item.step):
        if not (part is None or isinstance(part, numbers.Integral)):
            raise TypeError(f"{what}: start, stop and step must be ints or None, got "
                            f"{type(part).__name__}")
    if item.step == 0:
        raise ValueError(f"{what}: the step must not be zero")
    if item.step is not None and item.step < 0:
        raise ValueError(f"{what}: the step must be positive, as in PyTorch (use flip)")


def _index_array(op, index, device, masks=False):
    """An index (a Tensor, an array, a list) as an int64 (or, if ``masks``, boolean) array on
    ``device``."""
    if isinstance(index, Tensor):
        if index.device != device:
            raise RuntimeError(f"{op}: the index is on {index.device} but the tensor on {device}; "
                               "move one with .to(device)")
        array = index.array
    else:
        array = backend.to_device(index, device)
    if array.dtype.kind == "f" and array.size == 0:  # [] reads as float64
        array = array.astype(np.int64)
    if array.dtype.kind not in ("biu" if masks else "iu"):
        raise TypeError(f"{op}: an index must hold integers{' or booleans' if masks else ''}, "
                        f"got dtype {array.dtype}")
    return array if array.dtype == bool else array.astype(np.int64, copy=False)


def _check_range(op, index, n, what, negative):
    """IndexError if an integer index array has entries outside [0, n) ([-n, n) if
    ``negative``); on a device one boolean crosses to the host."""
    low = -n if negative else 0
    if index.size and bool(((index < low) | (index >= n)).any()):
        raise IndexError(f"{op}: index values from {int(index.min())} to {int(index.max())} are "
                         f"out of range for {what}: expected values in [{low}, {n})")


def gather(x, dim, index):
    """``out[i][j][k] = x[index[i][j][k]][j][k]`` for dim 0, and likewise for the other axes
    (torch.gather): ``index`` has x's number of axes and at most x's size on each other axis.
    Each entry's flat position is its own position in x with the ``dim`` coordinate replaced,
    so this is one ``take``, and the gradient a scatter-add."""
    return take(x, positions_along("gather", x, dim, index))


def positions_along(op, x, dim, index):
    """The flat position in x that each entry of ``index`` names along ``dim``: the entry's own
    position with its ``dim`` coordinate replaced by its value (what gather reads and the
    scatters write), in index's shape. ``index`` has x's number of axes and at most x's size
    on each other axis, as PyTorch asks."""
    dim = check_axis(op, dim, x.shape)
    index = _index_array(op, index, x.device)
    if index.ndim != x.ndim or any(i > n for a, (i, n) in enumerate(zip(index.shape, x.shape))
                                   if a != dim):
        raise ShapeError(f"{op} along axis {dim}: an index of shape {index.shape} needs the "
                         f"{x.ndim} axes of the tensor's shape {x.shape} and no larger sizes "
                         "off that axis")
    _check_range(op, index, x.shape[dim] if x.ndim else 1,
                 f"axis {dim} of a tensor of shape {x.shape}", negative=False)
    corner = tuple(slice(0, 1) if a == dim else slice(0, i) for a, i in enumerate(index.shape))
    rows = backend.xp_of(x.array).arange(x.numel()).reshape(x.shape)[corner]
    return rows + index * math.prod(x.shape[dim + 1:])


def index_select(x, dim, index):
    """The entries of ``x`` at ``index`` (a 1-D integer tensor) along ``dim``, in that order
    (torch.index_select); an advanced index, so positions may repeat."""
    if x.ndim == 0:
        raise ShapeError("index_select needs a tensor with at least one axis, got a 0-d tensor")
    dim = check_axis("index_select", dim, x.shape)
    index = _index_array("index_select", index, x.device)
    if index.ndim > 1:
        raise ShapeError(f"index_select: the index must be 1-D, got shape {index.shape}")
    _check_range("index_select", index, x.shape[dim], f"axis {dim} of a tensor of shape "
                 f"{x.shape}", negative=False)
    return x[(slice(None),) * dim + (index.reshape(-1),)]


def masked_fill(x, mask, value):
    """``x`` with ``value`` (a number or a 0-d tensor) wherever the boolean ``mask``, broadcast
    to x's shape, holds (torch.masked_fill); x keeps its dtype, and its gradient is 0 there."""
    mask = mask.array if isinstance(mask, Tensor) else backend.to_device(mask, x.device)
    if mask.dtype != bool:
        raise TypeError(f"masked_fill needs a boolean mask, got dtype {mask.dtype}")
    if not broadcasts_to(mask.shape, x.shape):
        raise ShapeError(f"masked_fill: a mask of shape {mask.shape} does not broadcast to the "
                         f"tensor's shape {x.shape}")
    value = to_operand(value, x)
    if value.ndim != 0:
        raise ShapeError(f"masked_fill needs a number or a 0-d tensor as value, got shape "
                         f"{value.shape}")
    return where(mask, value if value.dtype == x.dtype else value.astype(x.dtype), x)


def one_hot(labels, num_classes=-1):
    """An int64 tensor of shape labels.shape + (num_classes,): 1 at each label's class, 0
    elsewhere (F.one_hot); ``num_classes=-1`` takes the largest label + 1. Never
    differentiable."""
    if not isinstance(labels, Tensor) or labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot needs a Tensor of integer labels, got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or \
            num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be a non-negative int or -1, got "
                         f"{num_classes!r}")
    if num_classes == -1:
        if labels.numel() == 0:
            raise ValueError("one_hot: num_classes=-1 cannot be inferred from no labels; pass it")
        num_classes = int(labels.array.max()) + 1  # one number crosses from a device
    _check_range("one_hot", labels.array, num_classes, f"{num_classes} classes", negative=False)
    classes = backend.xp_of(labels.array).arange(num_classes)
    return Tensor._wrap((labels.array[..., None] == classes).astype(np.int64))


def masked_select(x, mask):
    """The entries of ``x`` where the boolean ``mask`` holds, x and mask broadcast against
    each other, as a 1-D tensor in row-major order (torch.masked_select)."""
    mask = _index_array("masked_select", mask, x.device, masks=True)
    if mask.dtype != bool:
        raise TypeError(f"masked_select needs a boolean mask, got dtype {mask.dtype}")
    try:
        shape = np.broadcast_shapes(x.shape, mask.shape)
    except ValueError:
        raise ShapeError(f"masked_select: a mask of shape {mask.shape} and a tensor of shape "
                         f"{x.shape} do not broadcast") from None
    mask = backend.xp_of(mask).broadcast_to(mask, shape)
    return x.expand(shape)[Tensor._wrap(mask)]


def nonzero(x, as_tuple=False):
    """The int64 positions of the nonzero entries of ``x`` in row-major order: an (entries,
    axes) tensor, or with ``as_tuple`` one 1-D tensor per axis (torch.nonzero)."""
    positions = backend.xp_of(x.array).nonzero(x.array.reshape(x.shape or (1,)))
    if as_tuple:
        return tuple(Tensor._wrap(p.astype(np.int64, copy=False)) for p in positions)
    stacked = backend.xp_of(x.array).stack(positions, axis=1).astype(np.int64, copy=False)
    return Tensor._wrap(stacked[:, :x.ndim])


def _triangle(op, x, diagonal, lower):
    """x with the entries above (tril) or below (triu) the ``diagonal``-th diagonal of its
    last two axes set to 0; diagonal > 0 counts diagonals above the main one."""
    if x.ndim < 2:
        raise ShapeError(f"{op} needs a matrix or a batch of them (2 or more axes), got shape "
                         f"{x.shape}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, numbers.Integral):
        raise TypeError(f"{op}: diagonal must be an int, got {diagonal!r}")
    xp, (n, m) = backend.xp_of(x.array), x.shape[-2:]
    on_or_below = xp.tri(n, m, k=diagonal, dtype=bool)       # column <= row + diagonal
    below = xp.tri(n, m, k=diagonal - 1, dtype=bool)         # column < row + diagonal
    return masked_fill(x, Tensor._wrap(~on_or_below if lower else below), 0)


def tril(x, diagonal=0):
    """The lower triangle of the last two axes, from the ``diagonal``-th diagonal down."""
    return _triangle("tril", x, diagonal, lower=True)


def triu(x, diagonal=0):
    """The upper triangle of the last two axes, from the ``diagonal``-th diagonal up."""
    return _triangle("triu", x, diagonal, lower=False)


def take_along_dim(x, indices, dim=None):
    """torch.take_along_dim: for ``dim=None`` the entries of the flattened x at the flattened
    ``indices``; else ``gather`` along ``dim`` after x and indices are broadcast against each
    other on the other axes."""
    index = _index_array("take_along_dim", indices, x.device)
    if dim is None:
        return gather(x.reshape(-1), 0, index.reshape(-1))
    dim = check_axis("take_along_dim", dim, x.shape)
    if index.ndim != x.ndim:
        raise ShapeError(f"take_along_dim: indices of shape {index.shape} need the {x.ndim} "
                         f"axes of the tensor's shape {x.shape}")
    try:
        common = list(np.broadcast_shapes(*(s[:dim] + (1,) + s[dim + 1:]
                                            for s in (x.shape, index.shape))))
    except ValueError:
        raise ShapeError(f"take_along_dim along axis {dim}: shapes {x.shape} and "
                         f"{index.shape} do not broadcast off that axis") from None
    index = backend.xp_of(index).broadcast_to(index, common[:dim] + [index.shape[dim]] +
                                              common[dim + 1:])
    return gather(x.expand(common[:dim] + [x.shape[dim]] + common[dim + 1:]), dim, index)
