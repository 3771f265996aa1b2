"""Tensor, and the functions that make tensors.

A Tensor holds one array (``.data``: NumPy on "cpu", CuPy on "cuda"), whether it requires
grad, its accumulated ``.grad``, and ``grad_fn``: the node of the recorded graph that made it
(None for a leaf). The graph and backward live in ``minigrad.autograd``; the operations in
``minigrad.ops``, which the operators and methods here call.
"""
import numpy as np

from . import autograd, backend


def _check_can_require_grad(dtype):
    if dtype.kind not in "fc":
        raise TypeError(f"only floating-point tensors can require grad, not {dtype}")


class Tensor:
    """An array (NumPy on "cpu", CuPy on "cuda") and, if made by a recorded op, its place in the graph."""

    __slots__ = ("data", "_requires_grad", "grad", "grad_fn", "_version")
    __array_priority__ = 1000  # NumPy scalars and arrays defer to Tensor's operators

    def __init__(self, data, requires_grad=False):
        if requires_grad:
            _check_can_require_grad(data.dtype)
        self.data = data
        self._requires_grad = requires_grad
        self.grad = None
        self.grad_fn = None
        self._version = 0  # bumped by every in-place change (see minigrad.autograd)

    # ---- what a tensor is ----
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    device = property(lambda self: backend.device_of(self.data))
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
        return len(self.data)

    def __bool__(self):
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                               "use .any() or .all() on .numpy()")
        return bool(self.item())

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self.grad_fn.op}" if self.grad_fn is not None else ""
        device = ', device="cuda"' if self.device == "cuda" else ""
        return f"tensor({self.numpy()!r}{device}{grad}{op})"

    def numpy(self):
        """A NumPy copy on the host, whatever the device."""
        return backend.host_copy(self.data)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, not shape {self.shape}")
        return backend.scalar(self.data)

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def to(self, device):
        """This tensor on ``device``; differentiable, so gradients flow back across devices."""
        if backend.check_device(device) == self.device:
            return self
        source = self.device
        return autograd.apply(backend.to_device(self.data, device), (self,),
                              (lambda g, out: g.to(source),), "to", saved=())

    def backward(self, grad=None, create_graph=False, retain_graph=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        autograd.backward(self, grad, create_graph, retain_graph)

    # ---- in-place changes: each bumps the version that autograd checks ----
    def _changed_in_place(self):
        self._version += 1

    def _assign(self, value, op):
        """Write ``value`` (an array broadcastable to this shape) into this tensor's array."""
        if autograd.is_grad_enabled() and self.requires_grad:
            raise RuntimeError(
                f"{op} changes a tensor that requires grad in place while operations are "
                "recorded; do it inside mg.no_grad() (an update of weights), or write "
                "x = x + y instead (a new tensor in the graph)")
        if not np.can_cast(value.dtype, self.dtype, "same_kind"):
            raise TypeError(f"{op}: the result has dtype {value.dtype}, which cannot be stored "
                            f"in place in a tensor of dtype {self.dtype}")
        try:
            fits = np.broadcast_shapes(value.shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{op}: a result of shape {value.shape} does not fit in place "
                             f"into a tensor of shape {self.shape}")
        self.data[...] = value
        self._changed_in_place()
        return self

    def _in_place(self, op, other, symbol):
        with autograd.no_grad():
            result = op(self, other).data
        return self._assign(result, f"x {symbol} y")

    def __iadd__(self, other): return self._in_place(ops.add, other, "+=")
    def __isub__(self, other): return self._in_place(ops.sub, other, "-=")
    def __imul__(self, other): return self._in_place(ops.mul, other, "*=")
    def __itruediv__(self, other): return self._in_place(ops.div, other, "/=")

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return self._assign(backend.xp_of(self.data).full((), value, self.dtype), "fill_")

    def copy_(self, source):
        """Copy ``source`` (a Tensor or array, broadcastable to this shape) into this tensor."""
        return self._assign(lift(source, self).data, "copy_")

    def clamp_(self, min=None, max=None):
        with autograd.no_grad():
            result = ops.clip(self, min, max).data
        return self._assign(result, "clamp_")

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
    def clip(self, low=None, high=None): return ops.clip(self, low, high)
    def astype(self, dtype): return ops.astype(self, dtype)

    def sum(self, axis=None, keepdims=False): return ops.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return ops.mean(self, axis, keepdims)
    def var(self, axis=None, keepdims=False, ddof=0): return ops.var(self, axis, keepdims, ddof)
    def max(self, axis=None, keepdims=False): return ops.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return ops.min(self, axis, keepdims)

    def reshape(self, *shape): return ops.reshape(self, *shape)
    def transpose(self, *axes): return ops.transpose(self, *axes)
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    T = property(lambda self: ops.transpose(self))


# ---- making tensors ----

def _default_dtype(array):
    """float32 for Python floats; everything else keeps NumPy's choice."""
    return np.float32 if array.dtype == np.float64 else array.dtype


def tensor(data, dtype=None, requires_grad=False, device="cpu"):
    """A new leaf tensor holding a copy of ``data``. Python floats become float32; NumPy and
    CuPy arrays keep their dtype unless ``dtype`` is given."""
    source = data.data if isinstance(data, Tensor) else data
    if not hasattr(source, "dtype"):  # Python numbers and lists
        source = np.asarray(source)  # host: Python data is built on the host, then moved
        dtype = _default_dtype(source) if dtype is None else dtype
    if dtype is not None and source.dtype != dtype and not backend.is_device_array(source):
        source = source.astype(dtype)  # cast on the host: fewer bytes cross to the device
    array = backend.to_device(source, device)
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    elif array is data or array is getattr(data, "data", None):
        array = array.copy()
    return Tensor(array, requires_grad)


def sizes(args):
    """The sizes a function was given either as ``f(2, 3)`` or as ``f((2, 3))``."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _filled(fill, shape, dtype, device, requires_grad):
    shape = sizes(shape)
    return Tensor(fill(backend.xp_of_device(device), shape, np.dtype(dtype)), requires_grad)


def zeros(*shape, dtype=np.float32, device="cpu", requires_grad=False):
    return _filled(lambda xp, s, d: xp.zeros(s, d), shape, dtype, device, requires_grad)


def ones(*shape, dtype=np.float32, device="cpu", requires_grad=False):
    return _filled(lambda xp, s, d: xp.ones(s, d), shape, dtype, device, requires_grad)


def full(shape, value, dtype=np.float32, device="cpu", requires_grad=False):
    return _filled(lambda xp, s, d: xp.full(s, value, d), (shape,), dtype, device, requires_grad)


def randn(*shape, dtype=np.float32, device="cpu", requires_grad=False):
    """Standard normal samples, drawn from the generator seeded by ``manual_seed``."""
    return _filled(lambda xp, s, d: backend.to_device(
        backend.rng().standard_normal(s, dtype=d), device), shape, dtype, device, requires_grad)


def rand(*shape, dtype=np.float32, device="cpu", requires_grad=False):
    """Uniform samples in [0, 1), drawn from the generator seeded by ``manual_seed``."""
    return _filled(lambda xp, s, d: backend.to_device(
        backend.rng().random(s, dtype=d), device), shape, dtype, device, requires_grad)


def zeros_like(x, dtype=None, requires_grad=False):
    return full_like(x, 0, dtype, requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    return full_like(x, 1, dtype, requires_grad)


def full_like(x, value, dtype=None, requires_grad=False):
    """A tensor of ``x``'s shape, device and (unless given) dtype, filled with ``value``."""
    dtype = x.dtype if dtype is None else np.dtype(dtype)
    return Tensor(backend.xp_of(x.data).full(x.shape, value, dtype), requires_grad)


def constant(array):
    """Wrap an array made by an op's own arithmetic (a mask, a count) as a Tensor."""
    return Tensor(array)


def lift(value, like):
    """``value`` as a Tensor on ``like``'s device.

    A Python number takes the dtype NumPy 2 would give it next to ``like`` (NEP 50): it
    never widens a float32 tensor, and a float next to an integer tensor is a float.
    """
    if isinstance(value, Tensor):
        if value.device != like.device:
            raise RuntimeError(f"tensors on different devices: {like.device} and {value.device}; "
                               "move one with .to(device)")
        return value
    if isinstance(value, (int, float, bool)):
        # full() fills on the device; asarray() would copy the number over from the host
        return Tensor(backend.xp_of(like.data).full((), value, np.result_type(like.dtype, value)))
    return Tensor(backend.to_device(value, like.device))


def operands(*values):
    """Tensors from a mix of Tensors and numbers, all on one device (the first tensor's)."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    if like is None:
        raise TypeError("expected at least one Tensor")
    return tuple(lift(v, like) for v in values)


from . import ops  # noqa: E402  (ops build on Tensor, and Tensor's methods call ops)
