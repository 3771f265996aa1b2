"""Tensor, the recorded graph, and reverse-mode differentiation.

A Tensor made by an operation remembers its parents and one vector-Jacobian product per
parent: ``vjp(g, out)`` maps the gradient ``g`` of a scalar with respect to ``out`` to the
gradient with respect to that parent. ``backward()`` and ``grad()`` visit the graph in
reverse topological order, so each node's rules run once, after all its consumers have
added their contributions to its gradient.

Every vjp is written with Tensor operations. When ``create_graph`` is False they run with
recording off and produce plain arrays wrapped in Tensors; when it is True the backward pass
records a graph of its own, which can be differentiated again, to any order.
"""
import contextlib

import numpy as np

from . import backend


class _GradMode:
    enabled = True


@contextlib.contextmanager
def _grad_mode(enabled):
    previous, _GradMode.enabled = _GradMode.enabled, enabled
    try:
        yield
    finally:
        _GradMode.enabled = previous


def no_grad():
    """Context manager: operations inside record nothing."""
    return _grad_mode(False)


def enable_grad():
    """Context manager: record operations even inside ``no_grad``."""
    return _grad_mode(True)


def is_grad_enabled():
    return _GradMode.enabled


class Tensor:
    """An array (NumPy on "cpu", CuPy on "cuda") and, if made by a recorded op, its place in the graph."""

    __slots__ = ("data", "requires_grad", "grad", "_parents", "_vjps", "_op")
    __array_priority__ = 1000  # NumPy scalars and arrays defer to Tensor's operators

    def __init__(self, data, requires_grad=False):
        self.data = data
        self.requires_grad = requires_grad
        self.grad = None
        self._parents = ()
        self._vjps = None
        self._op = None
        if requires_grad and data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require grad, not {data.dtype}")

    # ---- what a tensor is ----
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    device = property(lambda self: backend.device_of(self.data))
    is_leaf = property(lambda self: self._vjps is None)

    def __len__(self):
        return len(self.data)

    def __bool__(self):
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use .any() or .all() on .numpy()")
        return bool(self.item())

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self._op}" if self._op else ""
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
        return apply(backend.to_device(self.data, device), (self,),
                     (lambda g, out: g.to(source),), "to")

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require grad, not {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def backward(self, grad=None, create_graph=False, retain_graph=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: "
                               "no input of the computation has requires_grad=True")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {self.shape} needs grad= (a tensor of that "
                    "shape); only a one-element tensor has an implicit gradient of 1")
            grad = Tensor(backend.xp_of(self.data).ones_like(self.data))
        grads = _backpropagate([self], [_as_gradient(grad, self, "grad")], None,
                               create_graph, retain_graph)
        for leaf, g in grads.items():
            if leaf.grad is not None:
                leaf.grad = _accumulate(leaf.grad, g, create_graph)
            else:  # a gradient may be a view shared with other tensors: give the leaf its own
                leaf.grad = g if create_graph else Tensor(g.data.copy())

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


def apply(data, parents, vjps, op):
    """The result of an operation: recorded in the graph if any parent requires grad.

    ``vjps`` holds one function per parent, ``vjp(g, out) -> gradient for that parent``.
    """
    requires_grad = (_GradMode.enabled and data.dtype.kind in "fc"
                     and any(p.requires_grad for p in parents))
    out = Tensor(data, requires_grad)
    if requires_grad:
        out._parents, out._vjps, out._op = parents, vjps, op
    return out


# ---- differentiation ----

def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None,
         allow_unused=False):
    """The gradients of ``sum(outputs * grad_outputs)`` with respect to each input, as a tuple.

    ``.grad`` attributes are left alone. With ``create_graph=True`` the result is itself
    recorded and can be differentiated again.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) does not require grad; "
                               "create it with requires_grad=True")
    for i, y in enumerate(outputs):
        if not y.requires_grad:
            raise RuntimeError(f"grad(): output {i} (shape {y.shape}) does not depend on any "
                               "tensor that requires grad")
    seeds = []
    for i, (y, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if y.size != 1:
                raise RuntimeError(f"grad(): output {i} has shape {y.shape}; pass grad_outputs "
                                   "for outputs with more than one element")
            g = Tensor(backend.xp_of(y.data).ones_like(y.data))
        seeds.append(_as_gradient(g, y, f"grad_outputs[{i}]"))
    found = _backpropagate(outputs, seeds, inputs, create_graph, retain_graph)
    result = []
    for i, x in enumerate(inputs):
        if x not in found and not allow_unused:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) was not used to compute "
                               "the outputs; pass allow_unused=True to get None for it")
        result.append(found.get(x))
    return tuple(result)


def _as_gradient(g, y, name):
    g = lift(g, y)
    if g.shape != y.shape:
        raise ValueError(f"{name} has shape {g.shape} but the tensor it is the gradient of "
                         f"has shape {y.shape}")
    return g


def _accumulate(total, g, create_graph):
    with _grad_mode(create_graph):
        return total + g


def _backpropagate(roots, seeds, inputs, create_graph, retain_graph):
    """Run every vjp between ``roots`` and the tensors asked for.

    Returns {tensor: gradient} for ``inputs``, or for every leaf that requires grad when
    ``inputs`` is None. Nodes that lead to none of them are skipped.
    """
    retain_graph = create_graph if retain_graph is None else retain_graph
    order = _topological_order(roots)
    wanted = set(inputs) if inputs is not None else None
    needed = _needed(order, wanted)
    grads = {}
    for root, seed in zip(roots, seeds):
        grads[root] = _accumulate(grads[root], seed, create_graph) if root in grads else seed
    found = {}
    with _grad_mode(create_graph):
        for node in reversed(order):
            g = grads.pop(node, None)
            if g is None:
                continue
            if (node in wanted) if wanted is not None else node.is_leaf:
                found[node] = g if create_graph else g.detach()
            if node.is_leaf:
                continue
            if node._vjps == ():
                raise RuntimeError(f"backward through the graph of {node._op!r} a second time: "
                                   "its buffers were freed; pass retain_graph=True the first time")
            for parent, vjp in zip(node._parents, node._vjps):
                if parent in needed:
                    pg = _checked(vjp(g, node), parent, node)
                    grads[parent] = grads[parent] + pg if parent in grads else pg
            if not retain_graph:
                node._parents, node._vjps = (), ()
    return found


def _checked(g, parent, node):
    """A vjp's result, cast to the parent's dtype; a wrong shape is a bug in that rule."""
    if g.shape != parent.shape:
        raise AssertionError(f"vjp of {node._op!r} returned shape {g.shape} for a parent of "
                             f"shape {parent.shape}")
    return g if g.dtype == parent.dtype else g.astype(parent.dtype)


def _topological_order(roots):
    """Every node that requires grad and that the roots depend on, each after all its parents.

    Iterative depth-first search, so a graph of any depth fits within Python's stack.
    """
    order, visited = [], set()
    stack = [(root, False) for root in roots]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        stack.extend((p, False) for p in node._parents if p.requires_grad and p not in visited)
    return order


def _needed(order, wanted):
    """The nodes whose gradient must be computed: those on a path to a wanted tensor."""
    if wanted is None:
        return set(order)
    needed = set()
    for node in order:
        if node in wanted or any(p in needed for p in node._parents):
            needed.add(node)
    return needed


from . import ops  # noqa: E402  (ops build on Tensor, and Tensor's methods call ops)
