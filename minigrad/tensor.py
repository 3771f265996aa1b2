"""Tensor, and the functions that make tensors.

A Tensor holds one array (``.array``: NumPy on "cpu", CuPy on "cuda"), whether it requires
grad, its accumulated ``.grad``, and ``grad_fn``: the node of the recorded graph that made it
(None for a leaf). The graph and backward live in ``minigrad.autograd``; the operations in
``minigrad.ops``, which the operators and methods here call.
"""
import math
import numbers
import reprlib

import numpy as np

from . import autograd, backend
from .errors import AxisError, ShapeError

DEFAULT_FLOAT = np.dtype(np.float32)  # PyTorch's default float: what Python floats become


def _check_can_require_grad(dtype):
    if dtype.kind not in "fc":
        raise TypeError(f"only floating-point tensors can require grad, not {dtype}")


_allocate = object.__new__  # an object of a class, without running its __init__


class Tensor:
    """An array (NumPy on "cpu", CuPy on "cuda") and, if made by a recorded op, its place in the graph."""

    __slots__ = ("array", "_requires_grad", "grad", "grad_fn", "_versions")
    __array_priority__ = 1000  # NumPy scalars and arrays defer to Tensor's operators

    def __init__(self, *data, device=None, **unexpected):
        """PyTorch's legacy constructor: ``mg.Tensor(data)`` is a float32 copy of ``data`` (a
        list, a tuple, a NumPy or CuPy array); ``mg.Tensor(2, 3)`` or ``mg.Tensor(x.size())`` a
        float32 tensor of that shape (zeros, where PyTorch leaves memory uninitialised);
        ``mg.Tensor(other_tensor)`` shares ``other_tensor``'s data, cut from the graph.
        ``mg.tensor(data, dtype=, requires_grad=)`` is the constructor to use."""
        if unexpected:
            raise TypeError(f"mg.Tensor(...) is PyTorch's legacy constructor (float32 data, or "
                            f"a shape) and takes only device=, not {', '.join(unexpected)}; "
                            "use mg.tensor(data, dtype=..., requires_grad=...)")
        self._hold(_legacy_array(data, device), False)
        if len(data) == 1 and isinstance(data[0], Tensor):
            self._view_of(data[0])  # it holds other's array

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """The engine's constructor: a tensor holding ``array`` itself (no copy, no cast), as
        ops, autograd and the factories make them. Skips ``__init__`` (the legacy meaning)."""
        if requires_grad:
            _check_can_require_grad(array.dtype)
        self = _allocate(cls)  # _hold written out: the engine makes hundreds per step
        self.array = array
        self._requires_grad = requires_grad
        self.grad = None
        self.grad_fn = None
        self._versions = [0]
        return self

    def _hold(self, array, requires_grad):
        if requires_grad:
            _check_can_require_grad(array.dtype)
        self.array = array
        self._requires_grad = requires_grad
        self.grad = None
        self.grad_fn = None
        self._versions = [0]  # in-place changes so far; shared with views (see _view_of)

    # ---- what a tensor is ----
    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)
    ndim = property(lambda self: self.array.ndim)
    def size(self, dim=None):
        """The shape (a ``Size``), or the size of axis ``dim``, as PyTorch's ``size()``."""
        if dim is None:
            return Size(self.array.shape)
        if not self.ndim:
            raise AxisError(f"size({dim}): a 0-d tensor has no axes")
        return self.array.shape[ops.shape.check_axis("size", dim, self.shape)]

    def numel(self):
        """The number of elements (NumPy's ``size``)."""
        return self.array.size

    def dim(self):
        """The number of axes (``ndim``)."""
        return self.array.ndim

    nelement, ndimension = numel, dim
    device = property(lambda self: backend.device_of(self.array))
    is_leaf = property(lambda self: self.grad_fn is None)

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value:
            _check_can_require_grad(self.dtype)
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    def __len__(self):
        return len(self.array)

    def __bool__(self):
        if self.numel() != 1:
            raise ShapeError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use .any() or .all()")
        return bool(self.item())

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self.grad_fn.op}" if self.grad_fn is not None else ""
        device = ', device="cuda"' if self.device == "cuda" else ""
        return f"tensor({self.numpy()!r}{device}{grad}{op})"

    def numpy(self):
        """A NumPy copy on the host, whatever the device."""
        return backend.host_copy(self.array)

    def item(self):
        if self.numel() != 1:
            raise ShapeError(f"item() needs a tensor with one element, not shape {self.shape}")
        return backend.scalar(self.array)

    @property
    def data(self):
        """PyTorch's ``.data``: a tensor sharing this one's array, cut from the graph, whose
        in-place changes (``p.data.clamp_(-c, c)``) are not seen by the version check that
        guards backward (as in PyTorch). ``.array`` is the array itself; ``.detach()`` is the
        checked way."""
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor) or value.shape != self.shape or value.dtype != self.dtype:
            raise TypeError(f".data = needs a tensor of shape {self.shape} and dtype {self.dtype}, "
                            f"got {value!r:.80}")
        self.array = value.array

    def detach(self):
        """The same data, cut from the graph (an in-place change of either changes both)."""
        return Tensor._wrap(self.array)._view_of(self)

    def backward(self, grad=None, create_graph=False, retain_graph=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        autograd.backward(self, grad, create_graph, retain_graph)

    # ---- in-place changes: each bumps the version that autograd checks ----
    # Tensors whose arrays share memory (a reshape, a slice, a transpose, detach) share one
    # version counter, so a change through any of them is seen wherever another was saved.
    _version = property(lambda self: self._versions[0])

    def _view_of(self, base):
        """Share ``base``'s version counter: this tensor's array is a view of base's."""
        self._versions = base._versions
        return self

    def _changed_in_place(self):
        self._versions[0] += 1

    def _assign(self, value, op, where=((Ellipsis,), ())):
        """Write ``value`` (an array broadcastable to the target's shape) into this tensor's
        array, or into ``array[basic][advanced]`` for ``where = (basic, advanced)``."""
        if autograd.is_grad_enabled() and self.requires_grad:
            raise RuntimeError(
                f"{op} changes a tensor that requires grad in place while operations are "
                "recorded; do it inside mg.no_grad() (an update of weights), or write "
                "x = x + y instead (a new tensor in the graph)")
        if any(stride == 0 and n > 1 for stride, n in zip(self.array.strides, self.shape)):
            raise RuntimeError(f"{op}: this tensor of shape {self.shape} is an expanded view "
                               "(several of its elements are one memory location), so it "
                               "cannot be changed in place; change a copy (x = x * 1)")
        if not np.can_cast(value.dtype, self.dtype, "same_kind"):
            raise TypeError(f"{op}: the result has dtype {value.dtype}, which cannot be stored "
                            f"in place in a tensor of dtype {self.dtype}")
        basic, advanced = where
        target = self.array[basic]
        shape = target[advanced].shape if advanced else target.shape
        if not broadcasts_to(value.shape, shape):
            raise ShapeError(f"{op}: a result of shape {value.shape} does not fit in place "
                             f"into {'a part' if shape != self.shape else 'a tensor'} of shape "
                             f"{shape}")
        if advanced:
            target[advanced] = value
        else:
            target[...] = value
        self._changed_in_place()
        return self

    def _in_place(self, op, other, symbol):
        with autograd.no_grad():
            result = op(self, other).array
        return self._assign(result, f"x {symbol} y")

    def __iadd__(self, other): return self._in_place(ops.add, other, "+=")
    def __isub__(self, other): return self._in_place(ops.sub, other, "-=")
    def __imul__(self, other): return self._in_place(ops.mul, other, "*=")
    def __itruediv__(self, other): return self._in_place(ops.div, other, "/=")

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return self._assign(backend.xp_of(self.array).full((), value, self.dtype), "fill_")

    def copy_(self, source):
        """Copy ``source`` (a Tensor or array, broadcastable to this shape) into this tensor."""
        return self._assign(to_operand(source, self).array, "copy_")

    def clamp_(self, min=None, max=None):
        with autograd.no_grad():
            result = ops.clip(self, min, max).array
        return self._assign(result, "clamp_")

    def add_(self, other, alpha=1): return self._in_place(ops.add, _scaled(other, alpha), "+=")
    def sub_(self, other, alpha=1): return self._in_place(ops.sub, _scaled(other, alpha), "-=")
    def mul_(self, other): return self._in_place(ops.mul, other, "*=")
    def div_(self, other): return self._in_place(ops.div, other, "/=")
    clip_ = clamp_

    def normal_(self, mean=0.0, std=1.0):
        """Fill with samples of N(mean, std^2) from the generator seeded by ``manual_seed``."""
        return self.copy_(randn(self.shape, dtype=self.dtype, device=self.device) * std + mean)

    def uniform_(self, a=0.0, b=1.0):
        """Fill with samples of U[a, b) from the generator seeded by ``manual_seed``."""
        return self.copy_(rand(self.shape, dtype=self.dtype, device=self.device) * (b - a) + a)

    def __setitem__(self, index, value):
        """``x[index] = value``: an in-place write, checked and versioned as every in-place
        op. Not recorded: a ``value`` that requires grad is refused while recording."""
        if autograd.is_grad_enabled() and isinstance(value, Tensor) and value.requires_grad:
            raise RuntimeError("x[index] = value with a value that requires grad is not "
                               "recorded in minigrad; build the result out of place (mg.where, "
                               "mg.cat, index_put via masked_fill), or write it under no_grad")
        where = ops.index.torch_index(self, index)
        self._assign(to_operand(value, self).array, "x[index] = value", where)

    # ---- operators (defined in minigrad.ops) ----
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __abs__(self): return ops.abs(self)
    def __getitem__(self, index): return ops.getitem(self, index)

    # comparisons give constant boolean tensors
    def __lt__(self, other): return ops.compare("less", self, other)
    def __le__(self, other): return ops.compare("less_equal", self, other)
    def __gt__(self, other): return ops.compare("greater", self, other)
    def __ge__(self, other): return ops.compare("greater_equal", self, other)
    def __eq__(self, other): return ops.compare("equal", self, other)
    def __ne__(self, other): return ops.compare("not_equal", self, other)
    __hash__ = object.__hash__

    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def abs(self): return ops.abs(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)
    def clip(self, min=None, max=None): return ops.clamp(self, min, max)
    def astype(self, dtype): return ops.astype(self, dtype)

    # reductions take dim= / keepdim= or axis= / keepdims= (see minigrad.ops.reduce)
    def sum(self, *args, **kwargs): return ops.sum(self, *args, **kwargs)
    def mean(self, *args, **kwargs): return ops.mean(self, *args, **kwargs)
    def var(self, *args, **kwargs): return ops.var(self, *args, **kwargs)
    def std(self, *args, **kwargs): return ops.std(self, *args, **kwargs)
    def max(self, *args, **kwargs): return ops.max(self, *args, **kwargs)
    def min(self, *args, **kwargs): return ops.min(self, *args, **kwargs)
    def amax(self, *args, **kwargs): return ops.amax(self, *args, **kwargs)
    def amin(self, *args, **kwargs): return ops.amin(self, *args, **kwargs)
    def aminmax(self, **kwargs): return ops.aminmax(self, **kwargs)
    def argmax(self, *args, **kwargs): return ops.argmax(self, *args, **kwargs)
    def argmin(self, *args, **kwargs): return ops.argmin(self, *args, **kwargs)
    def logsumexp(self, *args, **kwargs): return ops.logsumexp(self, *args, **kwargs)
    def log_softmax(self, *args, **kwargs): return ops.log_softmax(self, *args, **kwargs)
    def softmax(self, *args, **kwargs): return ops.softmax(self, *args, **kwargs)

    def reshape(self, *shape): return ops.reshape(self, *shape)
    def permute(self, *dims): return ops.permute(self, *dims)
    def transpose(self, *dims): return ops.transpose(self, *dims)
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    T = property(lambda self: ops.permute(self, tuple(reversed(range(self.ndim)))))
    mT = property(lambda self: ops.transpose(self, -2, -1))

    def t(self):
        """The transpose of a matrix; a 0-d or 1-d tensor as it is (PyTorch's ``t``)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with at most 2 axes, got shape "
                               f"{self.shape}; use transpose(dim0, dim1) or permute(*dims)")
        return ops.permute(self, tuple(reversed(range(self.ndim))))

    def squeeze(self, *args, **kwargs): return ops.squeeze(self, *args, **kwargs)
    def unsqueeze(self, *args, **kwargs): return ops.unsqueeze(self, *args, **kwargs)
    def expand(self, *sizes): return ops.expand(self, *sizes)
    def repeat(self, *repeats): return ops.repeat(self, *repeats)
    def flip(self, *args, dims=None):
        """``x.flip(0, 1)``, ``x.flip((0, 1))`` or ``x.flip(dims=(0, 1))``, as PyTorch's."""
        return ops.flip(self, sizes(args) if dims is None else dims)

    def split(self, split_size_or_sections, dim=0): return ops.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0): return ops.chunk(self, chunks, dim)

    def gather(self, dim, index): return ops.gather(self, dim, index)
    def index_select(self, dim, index): return ops.index_select(self, dim, index)
    def masked_fill(self, mask, value): return ops.masked_fill(self, mask, value)

    # ---- PyTorch's spellings of the methods above ----
    def view(self, *shape):
        """``reshape``: PyTorch's view needs a layout the shape fits; here any tensor works
        (a copy where NumPy cannot make a view)."""
        return ops.reshape(self, *shape)

    def view_as(self, other): return ops.reshape(self, other.shape)
    reshape_as = view_as
    def expand_as(self, other): return ops.expand(self, other.shape)
    def norm(self, p="fro", dim=None, keepdim=False): return ops.norm(self, p, dim, keepdim)
    def pow(self, exponent): return ops.pow(self, exponent)
    def add(self, other, alpha=1): return ops.add(self, _scaled(other, alpha))
    def sub(self, other, alpha=1): return ops.sub(self, _scaled(other, alpha))
    def mul(self, other): return ops.mul(self, other)
    def div(self, other): return ops.div(self, other)
    def neg(self): return ops.neg(self)
    multiply, divide, subtract, negative = mul, div, sub, neg
    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def equal(self, other):
        """True if ``other`` has this shape and these values (a Python bool)."""
        return self.shape == other.shape and bool((self.array == other.array).all())

    def float(self): return ops.astype(self, np.float32)
    def double(self): return ops.astype(self, np.float64)
    def half(self): return ops.astype(self, np.float16)
    def long(self): return ops.astype(self, np.int64)
    def int(self): return ops.astype(self, np.int32)
    def short(self): return ops.astype(self, np.int16)
    def byte(self): return ops.astype(self, np.uint8)
    def char(self): return ops.astype(self, np.int8)
    def bool(self): return ops.astype(self, np.bool_)

    def type(self, dtype=None):
        """Without an argument, PyTorch's name of this tensor's type ("torch.FloatTensor",
        "torch.cuda.LongTensor"); with a dtype or such a name, this tensor cast to it."""
        if dtype is None:
            cuda = "cuda." if self.device == "cuda" else ""
            return f"torch.{cuda}{LEGACY_TYPE_NAMES[self.dtype]}"
        if isinstance(dtype, str) and dtype.startswith("torch."):
            name = dtype.rsplit(".", 1)[-1]
            types = {n: d for d, n in LEGACY_TYPE_NAMES.items()}
            if name not in types:
                raise TypeError(f"type({dtype!r}): not a tensor type; expected one of "
                                f"{sorted(types)}")
            cast = ops.astype(self, types[name])
            return cast.to("cuda" if ".cuda." in dtype else cast.device)
        return ops.astype(self, dtype)

    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        """This tensor on a device and / or with a dtype: ``to("cuda")``, ``to(mg.float64)``,
        ``to(other)`` (other's device and dtype), ``to(device, dtype)``, or by keyword.
        Differentiable, so gradients flow back across devices and casts."""
        device, dtype = device_and_dtype(args, device, dtype)
        moved = self if device is None else self._to_device(backend.check_device(device))
        cast = moved if dtype is None else ops.astype(moved, dtype)
        return cast.clone() if copy and cast is self else cast

    def _to_device(self, device):
        if device == self.device:
            return self
        source = self.device
        return autograd.apply(backend.to_device(self.array, device), (self,),
                              (lambda g, out: g.to(source),), "to", saved=())

    def cpu(self): return self.to("cpu")
    def cuda(self, device=None): return self.to("cuda")
    is_cuda = property(lambda self: self.device == "cuda")

    def clone(self):
        """A copy of the values that stays in the graph (its gradient flows back)."""
        return autograd.apply(self.array.copy(), (self,), (lambda g, out: g,), "clone", saved=())

    def contiguous(self):
        """The same tensor: minigrad's ops take any layout (NumPy's strides)."""
        return self

    def tolist(self):
        """The values as (nested) Python lists of numbers."""
        return self.numpy().tolist()

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __float__(self): return float(self.item())
    def __int__(self): return int(self.item())
    def __index__(self):
        if self.dtype.kind not in "iu" or self.numel() != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index, not {self.dtype} of shape {self.shape}")
        return int(self.item())

    def retain_grad(self):
        """Not supported: minigrad keeps ``.grad`` of leaves only."""
        raise RuntimeError("retain_grad() is not supported in minigrad: only leaves get .grad; "
                           "use mg.grad(loss, [this_tensor]) to get the gradient of a non-leaf")

    def __getattr__(self, name):
        """Only reached for names a Tensor does not have: say what PyTorch has instead."""
        raise missing_attribute(name)

    # ---- elementwise math (trigonometric, rounding, predicates) ----
    def __floordiv__(self, other): return ops.floor_divide(self, other)
    def __rfloordiv__(self, other): return ops.floor_divide(other, self)
    def __mod__(self, other): return ops.remainder(self, other)
    def __rmod__(self, other): return ops.remainder(other, self)
    def __and__(self, other): return ops.bitwise_and(self, other)
    def __rand__(self, other): return ops.bitwise_and(other, self)
    def __or__(self, other): return ops.bitwise_or(self, other)
    def __ror__(self, other): return ops.bitwise_or(other, self)
    def __xor__(self, other): return ops.bitwise_xor(self, other)
    def __rxor__(self, other): return ops.bitwise_xor(other, self)
    def __lshift__(self, other): return ops.bitwise_left_shift(self, other)
    def __rlshift__(self, other): return ops.bitwise_left_shift(other, self)
    def __rshift__(self, other): return ops.bitwise_right_shift(self, other)
    def __rrshift__(self, other): return ops.bitwise_right_shift(other, self)
    def __invert__(self): return ops.bitwise_not(self)
    def __ifloordiv__(self, other): return self._in_place(ops.floor_divide, other, "//=")
    def __imod__(self, other): return self._in_place(ops.remainder, other, "%=")
    def __iand__(self, other): return self._in_place(ops.bitwise_and, other, "&=")
    def __ior__(self, other): return self._in_place(ops.bitwise_or, other, "|=")
    def __ixor__(self, other): return self._in_place(ops.bitwise_xor, other, "^=")
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def tan(self): return ops.tan(self)
    def asin(self): return ops.asin(self)
    def acos(self): return ops.acos(self)
    def atan(self): return ops.atan(self)
    def atan2(self, other): return ops.atan2(self, other)
    def sinh(self): return ops.sinh(self)
    def cosh(self): return ops.cosh(self)
    def asinh(self): return ops.asinh(self)
    def acosh(self): return ops.acosh(self)
    def atanh(self): return ops.atanh(self)
    arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
    arcsinh, arccosh, arctanh = asinh, acosh, atanh
    def exp2(self): return ops.exp2(self)
    def expm1(self): return ops.expm1(self)
    def log2(self): return ops.log2(self)
    def log10(self): return ops.log10(self)
    def log1p(self): return ops.log1p(self)
    def rsqrt(self): return ops.rsqrt(self)
    def square(self): return ops.square(self)
    def reciprocal(self): return ops.reciprocal(self)
    def floor(self): return ops.floor(self)
    def ceil(self): return ops.ceil(self)
    def trunc(self): return ops.trunc(self)
    def round(self, decimals=0): return ops.round(self, decimals)
    def frac(self): return ops.frac(self)
    def sign(self): return ops.sign(self)
    def sgn(self): return ops.sgn(self)
    def floor_divide(self, other): return ops.floor_divide(self, other)
    def remainder(self, other): return ops.remainder(self, other)
    def fmod(self, other): return ops.fmod(self, other)
    def clamp(self, min=None, max=None): return ops.clamp(self, min, max)
    def nan_to_num(self, *args, **kwargs): return ops.nan_to_num(self, *args, **kwargs)
    def isnan(self): return ops.isnan(self)
    def isinf(self): return ops.isinf(self)
    def isfinite(self): return ops.isfinite(self)
    def isposinf(self): return ops.isposinf(self)
    def isneginf(self): return ops.isneginf(self)
    def isclose(self, other, *args, **kwargs): return ops.isclose(self, other, *args, **kwargs)
    def allclose(self, other, *args, **kwargs): return ops.allclose(self, other, *args, **kwargs)
    def logical_and(self, other): return ops.logical_and(self, other)
    def logical_or(self, other): return ops.logical_or(self, other)
    def logical_xor(self, other): return ops.logical_xor(self, other)
    def logical_not(self): return ops.logical_not(self)
    def bitwise_and(self, other): return ops.bitwise_and(self, other)
    def bitwise_or(self, other): return ops.bitwise_or(self, other)
    def bitwise_xor(self, other): return ops.bitwise_xor(self, other)
    def bitwise_not(self): return ops.bitwise_not(self)

    # ---- scans, sorting, scatter and other non-elementwise ops ----
    def cumsum(self, dim): return ops.cumsum(self, dim)
    def cumprod(self, dim): return ops.cumprod(self, dim)
    def cummax(self, dim): return ops.cummax(self, dim)
    def cummin(self, dim): return ops.cummin(self, dim)
    def logcumsumexp(self, dim): return ops.logcumsumexp(self, dim)
    def prod(self, dim=None, keepdim=False): return ops.prod(self, dim, keepdim)
    def any(self, *args, **kwargs): return ops.any(self, *args, **kwargs)
    def all(self, *args, **kwargs): return ops.all(self, *args, **kwargs)
    def sort(self, dim=-1, descending=False, stable=False): return ops.sort(self, dim, descending)
    def argsort(self, dim=-1, descending=False, stable=False):
        return ops.argsort(self, dim, descending)
    def topk(self, k, dim=-1, largest=True, sorted=True): return ops.topk(self, k, dim, largest)
    def kthvalue(self, k, dim=-1, keepdim=False): return ops.kthvalue(self, k, dim, keepdim)
    def median(self, dim=None, keepdim=False): return ops.median(self, dim, keepdim)
    def scatter(self, dim, index, src=None, value=None):
        return ops.scatter(self, dim, index, src, value)
    def scatter_add(self, dim, index, src): return ops.scatter_add(self, dim, index, src)
    def scatter_reduce(self, dim, index, src, reduce, include_self=True):
        return ops.scatter_reduce(self, dim, index, src, reduce, include_self)
    def masked_select(self, mask): return ops.masked_select(self, mask)
    def nonzero(self, as_tuple=False): return ops.nonzero(self, as_tuple)
    def tril(self, diagonal=0): return ops.tril(self, diagonal)
    def triu(self, diagonal=0): return ops.triu(self, diagonal)
    def diag(self, diagonal=0): return ops.diag(self, diagonal)
    def diagonal(self, offset=0, dim1=0, dim2=1): return ops.diagonal(self, offset, dim1, dim2)
    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        return ops.diag_embed(self, offset, dim1, dim2)
    def trace(self): return ops.trace(self)
    def take_along_dim(self, indices, dim=None): return ops.take_along_dim(self, indices, dim)
    def mm(self, other): return ops.mm(self, other)
    def bmm(self, other): return ops.bmm(self, other)
    def outer(self, other): return ops.outer(self, other)
    def roll(self, shifts, dims=None): return ops.roll(self, shifts, dims)
    def cross(self, other, dim=None): return ops.cross(self, other, dim)


def _scaled(other, alpha):
    """``alpha * other`` for add / sub's ``alpha=`` (other itself for alpha 1)."""
    return other if alpha == 1 else other * alpha


# PyTorch's names of the tensor types (x.type(), 'torch.FloatTensor', mg.FloatTensor)
LEGACY_TYPE_NAMES = {np.dtype(d): name for d, name in [
    (np.float32, "FloatTensor"), (np.float64, "DoubleTensor"), (np.float16, "HalfTensor"),
    (np.uint8, "ByteTensor"), (np.int8, "CharTensor"), (np.int16, "ShortTensor"),
    (np.int32, "IntTensor"), (np.int64, "LongTensor"), (np.bool_, "BoolTensor"),
    (np.complex64, "ComplexFloatTensor"), (np.complex128, "ComplexDoubleTensor")]}

# Attributes of PyTorch's Tensor that minigrad's lacks: what to write instead (None: nothing)
MISSING_ATTRIBUTES = {
    "storage": None, "untyped_storage": None, "data_ptr": None, "pin_memory": None,
    "is_pinned": None, "share_memory_": None, "is_shared": None, "record_stream": None,
    "is_sparse": None, "to_sparse": None, "is_quantized": None,
    "as_strided": None, "stride": "x.array.strides (in bytes)",
    "is_contiguous": "nothing: every layout works (contiguous() returns x)",
    "register_hook": "mg.grad(loss, [x]) for the gradient of a non-leaf",
    "new_tensor": "mg.tensor(data, dtype=x.dtype, device=x.device)",
    "new_zeros": "mg.zeros(shape, dtype=x.dtype, device=x.device)",
    "new_ones": "mg.ones(shape, dtype=x.dtype, device=x.device)",
    "new_empty": "mg.zeros(shape, dtype=x.dtype, device=x.device)",
    "new_full": "mg.full(shape, value, dtype=x.dtype, device=x.device)",
    "bfloat16": "x.half() or x.float() (NumPy has no bfloat16)", "get_device": "x.device",
    "element_size": "x.dtype.itemsize", "itemsize": "x.dtype.itemsize",
    "nbytes": "x.array.nbytes", "index_put_": "x[index] = value",
    "masked_fill_": "x = x.masked_fill(mask, value)", "random_": "mg.randint",
    "bernoulli_": "(mg.rand(x.shape) < p)", "exponential_": None, "geometric_": None,
    "cauchy_": None, "log_normal_": None, "apply_": None, "map_": None, "unfold": None,
}


def missing_attribute(name):
    """The AttributeError for ``x.name`` that a Tensor lacks, naming minigrad's spelling."""
    message = f"'Tensor' object has no attribute {name!r}"
    if name in MISSING_ATTRIBUTES:
        message += f": PyTorch's Tensor has {name}, minigrad's does not"
        if MISSING_ATTRIBUTES[name]:
            message += f"; use {MISSING_ATTRIBUTES[name]}"
    return AttributeError(message)


# ---- making tensors ----
# Dtypes follow PyTorch: Python floats become the default float (float32), Python ints int64,
# bools bool; NumPy and CuPy arrays keep their dtype unless ``dtype`` is given.

NUMERIC_KINDS = "biufc"  # bool, signed and unsigned integers, floats, complex


def _default_dtype(array):
    """The dtype of a tensor made from Python data NumPy read as ``array``: float32 where NumPy
    chose float64 (Python floats), complex64 for complex128, NumPy's choice otherwise (int64
    for ints, bool), as PyTorch's."""
    return {np.float64: DEFAULT_FLOAT, np.complex128: np.complex64}.get(array.dtype.type,
                                                                         array.dtype)


def _host_array(data):
    """Python numbers or (nested) lists as a NumPy array of numbers, or a clear error."""
    try:
        array = np.asarray(data)  # host: Python data is built on the host, then moved
    except ValueError:  # lists of different lengths
        raise ShapeError(f"mg.tensor: the nested lists of {reprlib.repr(data)} do not have one "
                         "length per level, so they do not form an array") from None
    if array.dtype.kind not in NUMERIC_KINDS:
        tensors = isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in data)
        raise TypeError(f"mg.tensor needs numbers, booleans or (nested) lists of them, got "
                        f"{type(data).__name__} {reprlib.repr(data)} (NumPy reads it as "
                        f"dtype {array.dtype})"
                        + ("; to join tensors, use mg.stack(tensors)" if tensors else ""))
    return array


def tensor(data, dtype=None, requires_grad=False, device="cpu"):
    """A new leaf tensor holding a copy of ``data`` (numbers, nested lists, a NumPy or CuPy
    array, a Tensor). Python floats become float32; arrays keep their dtype unless ``dtype``
    is given. Anything that is not numbers is refused here, naming what it is."""
    source = data.array if isinstance(data, Tensor) else data
    if not hasattr(source, "dtype"):  # Python numbers and lists
        source = _host_array(source)
        dtype = _default_dtype(source) if dtype is None else dtype
    elif source.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"mg.tensor needs numbers or booleans, got an array of dtype {source.dtype}")
    if dtype is not None and source.dtype != dtype and not backend.is_device_array(source):
        source = source.astype(dtype)  # cast on the host: fewer bytes cross to the device
    array = backend.to_device(source, device)
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    elif array is data or array is getattr(data, "array", None):
        array = array.copy()
    return Tensor._wrap(array, requires_grad)


def _legacy_array(args, device):
    """The array ``mg.Tensor(*args, device=device)`` holds (see ``Tensor.__init__``)."""
    data = args[0] if len(args) == 1 else None
    if isinstance(data, Tensor):
        if device is not None and backend.check_device(device) != data.device:
            raise RuntimeError(f"mg.Tensor(other): other is on {data.device}, not {device}; "
                               "use other.to(device)")
        return data.array
    if isinstance(data, Size) or all(isinstance(n, numbers.Integral) and not isinstance(n, bool)
                                     for n in args):
        shape = tuple(data) if isinstance(data, Size) else args or (0,)  # Tensor() is empty
        return zeros(shape, device=device or "cpu").array
    if isinstance(data, (list, tuple, np.ndarray)) or backend.is_device_array(data):
        if device is None:
            device = backend.device_of(data) if backend.is_device_array(data) else "cpu"
        return tensor(data, DEFAULT_FLOAT, device=device).array
    raise TypeError(f"mg.Tensor(*args) takes a shape (ints) or one list, tuple or array of "
                    f"data, got {reprlib.repr(args)}; use mg.tensor(data, dtype=..., "
                    "requires_grad=...) for anything else")


class Size(tuple):
    """A shape as ``x.size()`` gives it: a tuple, as PyTorch's ``torch.Size`` (``x.shape`` is
    a plain tuple here, so ``mg.Tensor(x.shape)`` reads it as data: write ``x.size()``)."""

    __slots__ = ()

    def numel(self):
        return math.prod(self)

    def __repr__(self):
        return f"mg.Size({list(self)})"


def device_and_dtype(args, device=None, dtype=None):
    """(device, dtype) from the arguments of PyTorch's ``.to(...)``: a device name, a dtype, a
    tensor (its device and dtype), in any order, on top of the keywords' values."""
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, str) and arg.split(":")[0] in backend.DEVICES:
            device = arg
        else:
            dtype = arg
    return device, dtype


def sizes(args):
    """The sizes a function was given either as ``f(2, 3)`` or as ``f((2, 3))``."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _filled(fill, shape, dtype, device, requires_grad):
    shape = sizes(shape)
    array = fill(backend.xp_of_device(device), shape, np.dtype(dtype))
    return Tensor._wrap(array, requires_grad)


def zeros(*shape, dtype=np.float32, device="cpu", requires_grad=False):
    return _filled(lambda xp, s, d: xp.zeros(s, d), shape, dtype, device, requires_grad)


def ones(*shape, dtype=np.float32, device="cpu", requires_grad=False):
    return _filled(lambda xp, s, d: xp.ones(s, d), shape, dtype, device, requires_grad)


def full(shape, value, dtype=None, device="cpu", requires_grad=False):
    """``value`` (a number, or a 0-d tensor's) everywhere; without ``dtype``, PyTorch's for
    the number: bool, int64 for any int, float32 for any float (NumPy's too), complex64."""
    value = value.item() if isinstance(value, Tensor) else value
    dtype = _number_dtype(value) if dtype is None else dtype
    return _filled(lambda xp, s, d: xp.full(s, value, d), (shape,), dtype, device, requires_grad)


def eye(n, m=None, dtype=np.float32, device="cpu", requires_grad=False):
    """The n x m (n x n) matrix with ones on the diagonal."""
    return _filled(lambda xp, s, d: xp.eye(n, m, dtype=d), (), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device="cpu", requires_grad=False):
    """start, start + step, ... up to (not including) end; ``arange(n)`` is 0 .. n-1. Without
    ``dtype``: int64 if start, end and step are all ints, else float32 (PyTorch's rule); the
    values are computed in float64 and then cast, as PyTorch does. For an integer ``dtype``,
    start, end and step are truncated to ints first (PyTorch's kernel: arange(-2.5, 3,
    dtype=int64) is -2 .. 2); bool is refused, as in PyTorch."""
    start, end = (0, start) if end is None else (start, end)
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"arange: {name} must be a number, got {value!r}")
    ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dtype = np.dtype(np.int64 if ints else DEFAULT_FLOAT) if dtype is None else np.dtype(dtype)
    if dtype == bool:
        raise NotImplementedError("arange is not implemented for bool, as in PyTorch")
    if dtype.kind in "iu":
        start, end, step = int(start), int(end), int(step)
    if step == 0 or (end - start) * step < 0:
        raise ValueError(f"arange: step {step} is zero or points away from end {end} "
                         f"(start {start})")
    return _filled(lambda xp, s, d: xp.arange(start, end, step).astype(d, copy=False), (),
                   dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device="cpu", requires_grad=False):
    """``steps`` evenly spaced values from start to end, both included (computed in float64,
    then cast: an integer dtype truncates towards zero, as PyTorch). Without ``dtype``,
    float32, or complex64 for a complex start or end; bool is refused, as in PyTorch."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"linspace: steps must be an int, got {steps!r}")
    if steps < 0:
        raise RuntimeError(f"linspace: the number of steps must be non-negative, got {steps}")
    if dtype is None:
        complex_ends = any(_number_dtype(v).kind == "c" for v in (start, end))
        dtype = np.complex64 if complex_ends else DEFAULT_FLOAT
    if np.dtype(dtype) == bool:
        raise NotImplementedError("linspace is not implemented for bool, as in PyTorch")
    return _filled(lambda xp, s, d: xp.linspace(start, end, steps).astype(d, copy=False), (),
                   dtype, device, requires_grad)


def _random(draw, name, shape, dtype, device, requires_grad):
    """Samples from the host generator seeded by ``manual_seed``, moved to ``device``."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} draws float32 or float64 samples, not {dtype}")
    return _filled(lambda xp, s, d: backend.to_device(draw(backend.rng(), s, d), device),
                   shape, dtype, device, requires_grad)


def randn(*shape, dtype=np.float32, device="cpu", requires_grad=False):
    """Standard normal samples, drawn from the generator seeded by ``manual_seed``."""
    return _random(lambda rng, s, d: rng.standard_normal(s, dtype=d), "randn", shape, dtype,
                   device, requires_grad)


def rand(*shape, dtype=np.float32, device="cpu", requires_grad=False):
    """Uniform samples in [0, 1), drawn from the generator seeded by ``manual_seed``."""
    return _random(lambda rng, s, d: rng.random(s, dtype=d), "rand", shape, dtype, device,
                   requires_grad)


def zeros_like(x, dtype=None, requires_grad=False, device=None):
    return full_like(x, 0, dtype, requires_grad, device)


def ones_like(x, dtype=None, requires_grad=False, device=None):
    return full_like(x, 1, dtype, requires_grad, device)


def full_like(x, value, dtype=None, requires_grad=False, device=None):
    """A tensor of ``x``'s shape filled with ``value``, with ``x``'s dtype and device unless
    given."""
    return full(x.shape, value, x.dtype if dtype is None else dtype,
                x.device if device is None else device, requires_grad)


def randn_like(x, dtype=None, requires_grad=False, device=None):
    """Standard normal samples of ``x``'s shape, dtype and device (unless given)."""
    return randn(x.shape, dtype=x.dtype if dtype is None else dtype,
                 device=x.device if device is None else device, requires_grad=requires_grad)


def rand_like(x, dtype=None, requires_grad=False, device=None):
    """Uniform samples in [0, 1) of ``x``'s shape, dtype and device (unless given)."""
    return rand(x.shape, dtype=x.dtype if dtype is None else dtype,
                device=x.device if device is None else device, requires_grad=requires_grad)


def constant(array):
    """Wrap an array made by an op's own arithmetic (a mask, a count) as a Tensor."""
    return Tensor._wrap(array)


def as_float(x, dtype=DEFAULT_FLOAT):
    """``x`` if it is floating; an integer or boolean tensor's values cast to ``dtype``
    otherwise, as PyTorch promotes them. Such tensors never require grad: the cast records
    nothing."""
    return x if x.dtype.kind in "fc" else Tensor._wrap(x.array.astype(dtype))


def broadcasts_to(shape, target):
    """Whether an array of ``shape`` broadcasts to ``target`` itself (not to a larger shape)."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def to_operand(value, like, dtype=None):
    """``value`` as an operand of an op with the tensor ``like``, on ``like``'s device: a Tensor
    as it is, an array as a tensor holding it, a Python or NumPy number as a 0-d tensor of
    ``dtype`` (default: PyTorch's ``result_type(like, value)``, so a number never widens a
    tensor). An integer that does not fit the dtype wraps around, as in PyTorch: next to a
    uint8 tensor, -1 is 255."""
    if isinstance(value, Tensor):
        if value.device != like.device:
            raise RuntimeError(f"tensors on different devices: {like.device} and {value.device}; "
                               "move one with .to(device)")
        return value
    if hasattr(value, "dtype") and not isinstance(value, np.generic):  # an array
        return Tensor._wrap(backend.to_device(value, like.device))
    dtype = result_type(like, value) if dtype is None else dtype
    if dtype.kind in "iu" and not isinstance(value, (bool, np.bool_)):
        value = np.int64(value).astype(dtype)
    # full() fills on the device; asarray() would copy the number over from the host
    return Tensor._wrap(backend.xp_of(like.array).full((), value, dtype))


def promoted_operands(*values):
    """Tensors from a mix of Tensors, arrays and numbers, on the first tensor's device, all of
    ``result_type(*values)``: the dtype PyTorch computes an operation on them in. A tensor of
    another dtype is cast by a recorded op, so its gradient comes back in its own dtype."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    if like is None:
        raise TypeError("expected at least one Tensor")
    if like.dtype.kind == "f" and all(isinstance(v, (int, float)) or  # the common case,
                                      (isinstance(v, Tensor) and v.dtype == like.dtype)
                                      for v in values):  # for speed: result_type says the same
        dtype = like.dtype
    else:
        dtype = result_type(*values)
    tensors = (to_operand(v, like, dtype) for v in values)
    return tuple(t if t.dtype == dtype else ops.astype(t, dtype) for t in tensors)


# ---- PyTorch's type promotion ----

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # bool < integer < floating < complex


def _number_dtype(value):
    """The dtype a Python or NumPy number counts as in promotion: bool, int64, the default
    float or complex64, whatever its size (PyTorch's "wrapped numbers")."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    for kind, dtype in ((numbers.Integral, np.int64), (numbers.Real, DEFAULT_FLOAT),
                        (numbers.Complex, np.complex64)):
        if isinstance(value, kind):
            return np.dtype(dtype)
    raise TypeError(f"expected a Tensor, an array or a number, got {type(value).__name__} "
                    f"{reprlib.repr(value)}")


def promote_types(a, b):
    """torch.promote_types: the smallest dtype holding both, except that an integer or bool
    with a float (or complex) gives that float itself (int64 with float32 is float32, NumPy
    says float64; float16 with int16 is float16)."""
    if a == b:
        return a
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb or min(ca, cb) >= 2:
        return np.promote_types(a, b)
    return a if ca > cb else b


def result_type(*values):
    """The dtype of an operation on ``values`` (Tensors, arrays, numbers): torch.result_type.

    Values rank in three tiers: tensors with axes, then 0-d tensors, then Python numbers
    (a number counts as bool, int64, float32 or complex64). Each tier's dtypes promote among
    themselves (``promote_types``). A lower tier matters only if its category (bool <
    integer < floating < complex) is higher than every tier above it; then its dtype is taken
    (a complex over a float: the complex of that float's size). So

        float32 tensor * float64 0-d tensor  -> float32     int32 tensor + int64 0-d -> int32
        int32 tensor * float64 0-d tensor    -> float64     int64 tensor * 2.5       -> float32
        uint8 tensor + int8 tensor           -> int16       bool tensor + 1          -> int64
    """
    tiers = [None, None, None]  # tensors with axes, 0-d tensors, numbers
    for value in values:
        if hasattr(value, "dtype") and not isinstance(value, np.generic):
            tier, dtype = (0 if value.ndim else 1), value.dtype
        else:
            tier, dtype = 2, _number_dtype(value)
        tiers[tier] = dtype if tiers[tier] is None else promote_types(tiers[tier], dtype)
    result = None
    for dtype in tiers:
        if result is None:
            result = dtype
        elif dtype is not None and _CATEGORY[dtype.kind] > _CATEGORY[result.kind]:
            complex_of_float = result.kind == "f" and dtype.kind == "c"
            result = np.promote_types(result, np.complex64) if complex_of_float else dtype
    return result


from . import ops  # noqa: E402  (ops build on Tensor, and Tensor's methods call ops)
