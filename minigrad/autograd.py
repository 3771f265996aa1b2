"""The recorded graph and reverse-mode differentiation.

A tensor made by a recorded operation carries a ``Node`` as its ``grad_fn``: the op's name,
its parents, and one vector-Jacobian product per parent, ``vjp(g, out)``, which maps the
gradient ``g`` of a scalar with respect to ``out`` to the gradient with respect to that
parent. A tensor has one of three states:

- leaf: ``grad_fn is None`` (made by the user, or by an op that recorded nothing);
- recorded: ``grad_fn`` is a live Node, ready for backward;
- freed: backward ran through its node without ``retain_graph``; the node keeps only its
  op's name, so that a second backward can say what was freed.

``backward()`` and ``grad()`` visit the graph in reverse topological order, so each node's
rules run once, after all its consumers have added their contributions to its gradient.
Every vjp is written with Tensor operations: with ``create_graph=False`` they run with
recording off; with ``create_graph=True`` the backward pass records a graph of its own,
which can be differentiated again, to any order.

In-place changes are caught as in PyTorch: every tensor has a version, bumped by each
in-place operation, and a node remembers the versions of the tensors its vjps read. If one
of them has changed by the time backward reaches the node, the gradient would be computed
from the wrong values, so backward raises instead, naming the op. An op's result that is a
view of an input's memory (reshape, slices, transpose) shares that input's version counter,
so a change through either is a change of both.
"""
import contextlib

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


class Node:
    """How a recorded tensor was made: ``op``, ``parents``, one vjp per parent, and the
    (tensor, version) pairs of the tensors the vjps read (``saved_versions``; ``apply``'s
    ``saved`` lists those tensors)."""

    __slots__ = ("op", "parents", "vjps", "saved_versions")

    def __init__(self, op, parents, vjps, saved):
        self.op, self.parents, self.vjps = op, parents, vjps
        self.saved_versions = tuple((t, t._version) for t in saved)

    @property
    def freed(self):
        return self.vjps is None

    def free(self):
        """Drop the parents and rules (and with them every array they hold)."""
        self.parents, self.vjps, self.saved_versions = (), None, ()

    def check_saved_versions(self, out):
        """Raise if a tensor this node's rules read was changed in place since the forward."""
        for t, version in self.saved_versions:
            if t._version != version:
                which = "its output" if t is out else f"an input of shape {t.shape}"
                raise RuntimeError(
                    f"one of the tensors needed to compute the gradient of {self.op!r} "
                    f"({which}) was changed by an in-place operation after {self.op!r} used it "
                    f"(version {version}, now {t._version}); compute the loss again after the "
                    "change, or change a copy")


def apply(data, parents, vjps, op, saved=None):
    """The result of an operation: recorded in the graph if any parent requires grad.

    ``vjps`` holds one function per parent, ``vjp(g, out) -> gradient for that parent``,
    written with Tensor ops (so that it can be recorded, for ``create_graph=True``).
    ``saved`` lists the tensors whose values the vjps read (default: the parents); the
    output itself is named ``OUTPUT`` there, since it does not exist yet. An op whose rules
    need only shapes or constants passes ``()``. Their versions are kept in the node
    (``Node.saved_versions``), so that backward can refuse a rule whose inputs were changed in
    place since.
    """
    requires_grad = (_GradMode.enabled and data.dtype.kind in "fc"
                     and any(p.requires_grad for p in parents))
    from_plain_gradient = (_GradMode.enabled and not requires_grad
                           and any(type(p) is _PlainGradient for p in parents))
    out = (_PlainGradient if from_plain_gradient else _tensor.Tensor)._wrap(data, requires_grad)
    viewed = next((p for p in parents if _is_view(data, p.array)), None)
    if viewed is not None:  # a view shares the version of what it views
        out._view_of(viewed)
    if requires_grad:
        saved = parents if saved is None else tuple(out if t is OUTPUT else t for t in saved)
        out.grad_fn = Node(op, parents, vjps, saved)
    return out


OUTPUT = object()  # in ``saved``: the op's own result (for rules written in terms of ``out``)


def _is_view(data, array):
    """Whether ``data`` is ``array`` or may be a view of its memory (compared by bounds)."""
    return data is array or (data.base is not None
                             and backend.xp_of(data).may_share_memory(data, array))


# ---- differentiation ----

def backward(root, grad=None, create_graph=False, retain_graph=None):
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    if not root.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require grad: "
                           + _why_no_grad(root))
    grads = _backpropagate([root], [_seed(root, grad, "backward()", "grad")], None,
                           create_graph, retain_graph)
    for leaf, g in grads.items():
        if leaf.grad is not None:
            leaf.grad = _accumulate(leaf.grad, g, create_graph)
        else:  # a gradient may be a view shared with other tensors: give the leaf its own
            leaf.grad = g if create_graph else _tensor.Tensor._wrap(g.array.copy())


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=False):
    """The gradients of ``sum(outputs * grad_outputs)`` with respect to each input, as a tuple.

    ``.grad`` attributes are left alone. With ``create_graph=True`` the result is itself
    recorded and can be differentiated again; without it the result is a constant, and
    differentiating something computed from it raises an error that says so. A gradient that
    is constant in the inputs (through piecewise-linear ops only: ``relu(x).sum()``,
    ``leaky_relu``, ``abs``, ``x * 2``) does not require grad even with ``create_graph=True``,
    since those rules multiply ``g`` by a recorded constant (a mask, a slope); PyTorch records
    a node there anyway and its second derivative is zeros. The arguments are PyTorch's, in
    its order; ``only_inputs`` is accepted and ignored, as PyTorch deprecates it (only the
    inputs' are computed either way).
    """
    outputs = [outputs] if isinstance(outputs, _tensor.Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, _tensor.Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, _tensor.Tensor):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) does not require grad; "
                               "create it with requires_grad=True")
    for i, y in enumerate(outputs):
        if not y.requires_grad:
            raise RuntimeError(f"grad(): output {i} (shape {y.shape}) does not require grad: "
                               + _why_no_grad(y))
    seeds = [_seed(y, g, f"grad(): output {i}", f"grad_outputs[{i}]")
             for i, (y, g) in enumerate(zip(outputs, grad_outputs))]
    found = _backpropagate(outputs, seeds, inputs, create_graph, retain_graph)
    result = []
    for i, x in enumerate(inputs):
        if x not in found and not allow_unused:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) was not used to compute "
                               "the outputs; pass allow_unused=True to get None for it")
        g = found.get(x)
        result.append(g if create_graph or g is None else _PlainGradient._wrap(g.array))
    return tuple(result)


def _why_no_grad(y):
    """The end of the message for differentiating ``y``, which does not require grad."""
    if type(y) is _PlainGradient:
        return ("it was computed from a gradient that grad() returned without "
                "create_graph=True, which records nothing: a constant. To differentiate a "
                "gradient (a gradient penalty), pass create_graph=True to that grad() call")
    return "no input of the computation has requires_grad=True"


def Variable(data, requires_grad=False):
    """PyTorch's old ``Variable(tensor)``: a tensor sharing ``data``'s array, cut from the graph,
    that requires grad if asked (every tensor is a Variable now)."""
    if not isinstance(data, _tensor.Tensor):
        raise TypeError(f"Variable() takes a Tensor, got {type(data).__name__}; make one with "
                        "mg.tensor(data)")
    return data.detach().requires_grad_(requires_grad)


def _seed(y, g, what, name):
    """The gradient backpropagation starts from at ``y``: ``g``, or 1 for a one-element y."""
    if g is None:
        if y.numel() != 1:
            raise RuntimeError(f"{what} has shape {y.shape}: pass {name}= (a tensor of that "
                               "shape); only a one-element tensor has an implicit gradient of 1")
        return _tensor.ones_like(y)
    g = _tensor.to_operand(g, y)
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
        for tensor in reversed(order):
            g = grads.pop(tensor, None)
            if g is None:
                continue
            node = tensor.grad_fn
            if (tensor in wanted) if wanted is not None else node is None:
                found[tensor] = g if create_graph else g.detach()
            if node is None:
                continue
            if node.freed:
                raise RuntimeError(f"backward through the graph of {node.op!r} a second time: "
                                   "its buffers were freed; pass retain_graph=True the first time")
            node.check_saved_versions(tensor)
            for parent, vjp in zip(node.parents, node.vjps):
                if parent in needed:
                    pg = _cast_to_parent(vjp(g, tensor), parent, node)
                    grads[parent] = grads[parent] + pg if parent in grads else pg
            if not retain_graph:
                node.free()
    return found


def _cast_to_parent(g, parent, node):
    """A vjp's result cast to the parent's dtype, after asserting it has the parent's shape (a
    wrong shape is a bug in that rule, not the user's)."""
    if g.shape != parent.shape:
        raise AssertionError(f"vjp of {node.op!r} returned shape {g.shape} for a parent of "
                             f"shape {parent.shape}")
    return g if g.dtype == parent.dtype else g.astype(parent.dtype)


def _parents(tensor):
    return () if tensor.grad_fn is None else tensor.grad_fn.parents


def _topological_order(roots):
    """Every tensor that requires grad and that the roots depend on, each after its parents.

    Iterative depth-first search, so a graph of any depth fits within Python's stack.
    """
    order, visited = [], set()
    stack = [(root, False) for root in roots]
    while stack:
        tensor, parents_done = stack.pop()
        if parents_done:
            order.append(tensor)
            continue
        if tensor in visited:
            continue
        visited.add(tensor)
        stack.append((tensor, True))
        stack.extend((p, False) for p in _parents(tensor) if p.requires_grad and p not in visited)
    return order


def _needed(order, wanted):
    """The tensors whose gradient must be computed: those on a path to a wanted tensor."""
    if wanted is None:
        return set(order)
    needed = set()
    for tensor in order:
        if tensor in wanted or any(p in needed for p in _parents(tensor)):
            needed.add(tensor)
    return needed


from . import tensor as _tensor  # noqa: E402  (tensors are made here, and Tensor calls backward)


class _PlainGradient(_tensor.Tensor):
    """A gradient that ``grad()`` returned without ``create_graph=True``, or a tensor computed
    from one while recording was on: an ordinary tensor that remembers where it came from, so
    that differentiating it can say that ``create_graph=True`` was missing (the usual mistake
    in a gradient penalty, which otherwise just stops training the critic)."""

    __slots__ = ()
