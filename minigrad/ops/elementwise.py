"""Elementwise operations and activations.

Binary operations broadcast as NumPy does; each input's gradient is summed back to its own
shape by ``unbroadcast``. A rule that needs the op's output (exp, tanh, sigmoid, sqrt) takes
it as ``out``, so that differentiating the rule again goes through ``out``'s own graph.
Masks (relu, abs, clip, maximum) are constants: their derivative is zero almost everywhere.
"""
import numpy as np

from .. import backend
from ..autograd import OUTPUT, apply
from ..tensor import Tensor, constant, operands
from .shape import unbroadcast


def _check_broadcast(op, a, b):
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not broadcast "
                         "(trailing axes must match or be 1)") from None


def _binary(op, a, b, forward, vjp_a, vjp_b, saved):
    """A broadcasting binary op; ``saved`` names what its rules read: "a", "b", "out"."""
    a, b = operands(a, b)
    _check_broadcast(op, a, b)
    return apply(forward(a.data, b.data), (a, b),
                 (lambda g, out: unbroadcast(vjp_a(g, out, a, b), a.shape),
                  lambda g, out: unbroadcast(vjp_b(g, out, a, b), b.shape)), op,
                 saved=tuple({"a": a, "b": b, "out": OUTPUT}[name] for name in saved))


def add(a, b):
    return _binary("add", a, b, lambda x, y: x + y,
                   lambda g, out, a, b: g, lambda g, out, a, b: g, saved=())


def sub(a, b):
    return _binary("sub", a, b, lambda x, y: x - y,
                   lambda g, out, a, b: g, lambda g, out, a, b: -g, saved=())


def mul(a, b):
    return _binary("mul", a, b, lambda x, y: x * y,
                   lambda g, out, a, b: g * b, lambda g, out, a, b: g * a, saved="ab")


def div(a, b):
    return _binary("div", a, b, lambda x, y: x / y,
                   lambda g, out, a, b: g / b, lambda g, out, a, b: -g * out / b,
                   saved=("b", "out"))


def pow(a, b):
    """a ** b; d/da = b a^(b-1), d/db = a^b log a (only computed when b requires grad)."""
    return _binary("pow", a, b, lambda x, y: x ** y,
                   lambda g, out, a, b: g * b * a ** (b - 1),
                   lambda g, out, a, b: g * out * log(a), saved=("a", "b", "out"))


def maximum(a, b):
    """Elementwise max; where a == b the gradient goes to a."""
    a, b = operands(a, b)
    _check_broadcast("maximum", a, b)
    a_wins = constant((a.data >= b.data).astype(a.dtype))
    return _binary("maximum", a, b, backend.xp_of(a.data).maximum,
                   lambda g, out, a, b: g * a_wins, lambda g, out, a, b: g * (1 - a_wins),
                   saved=())


def minimum(a, b):
    """Elementwise min; where a == b the gradient goes to a."""
    a, b = operands(a, b)
    _check_broadcast("minimum", a, b)
    a_wins = constant((a.data <= b.data).astype(a.dtype))
    return _binary("minimum", a, b, backend.xp_of(a.data).minimum,
                   lambda g, out, a, b: g * a_wins, lambda g, out, a, b: g * (1 - a_wins),
                   saved=())


def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b`` (the condition is a constant)."""
    a, b = operands(a, b)
    _check_broadcast("where", a, b)
    cond = condition.data if isinstance(condition, Tensor) else backend.to_device(condition, a.device)
    xp = backend.xp_of(a.data)
    mask = constant(cond.astype(bool))
    zero = constant(xp.zeros((), dtype=a.dtype))
    return apply(xp.where(cond, a.data, b.data), (a, b),
                 (lambda g, out: unbroadcast(where(mask, g, zero), a.shape),
                  lambda g, out: unbroadcast(where(mask, zero, g), b.shape)), "where", saved=())


def compare(name, a, b):
    """A boolean tensor from a NumPy comparison ufunc; never differentiable."""
    a, b = operands(a, b)
    _check_broadcast(name, a, b)
    return Tensor(getattr(backend.xp_of(a.data), name)(a.data, b.data))


def _unary(op, x, forward, vjp, saved=()):
    """A unary op; ``saved`` names what its rule reads: "x", "out" (masks are constants)."""
    return apply(forward(x.data), (x,), (lambda g, out: vjp(g, out, x),), op,
                 saved=tuple({"x": x, "out": OUTPUT}[name] for name in saved))


def _xp(x):
    return backend.xp_of(x.data)


def neg(x):
    return _unary("neg", x, lambda d: -d, lambda g, out, x: -g)


def exp(x):
    return _unary("exp", x, _xp(x).exp, lambda g, out, x: g * out, saved=("out",))


def log(x):
    return _unary("log", x, _xp(x).log, lambda g, out, x: g / x, saved=("x",))


def sqrt(x):
    return _unary("sqrt", x, _xp(x).sqrt, lambda g, out, x: g / (2 * out), saved=("out",))


def abs(x):
    sign = constant(_xp(x).sign(x.data))
    return _unary("abs", x, _xp(x).abs, lambda g, out, x: g * sign)


def clip(x, low=None, high=None):
    """Values limited to [low, high]; the gradient passes only where x is inside."""
    xp = _xp(x)
    inside = xp.ones(x.shape, dtype=bool)
    if low is not None:
        inside &= x.data >= low
    if high is not None:
        inside &= x.data <= high
    mask = constant(inside.astype(x.dtype))
    return _unary("clip", x, lambda d: xp.clip(d, low, high), lambda g, out, x: g * mask)


def astype(x, dtype):
    """A cast; the gradient is cast back."""
    source = x.dtype
    return _unary("astype", x, lambda d: d.astype(dtype), lambda g, out, x: g.astype(source))


def tanh(x):
    return _unary("tanh", x, _xp(x).tanh, lambda g, out, x: g * (1 - out * out),
                  saved=("out",))


def sigmoid(x):
    """1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2, which never overflows."""
    xp = _xp(x)
    return _unary("sigmoid", x, lambda d: 0.5 * (xp.tanh(0.5 * d) + 1),
                  lambda g, out, x: g * out * (1 - out), saved=("out",))


def softplus(x):
    """log(1 + e^x), whose derivative is sigmoid(x)."""
    xp = _xp(x)
    return _unary("softplus", x, lambda d: xp.logaddexp(d.dtype.type(0), d),
                  lambda g, out, x: g * sigmoid(x), saved=("x",))


def relu(x):
    mask = constant((x.data > 0).astype(x.dtype))
    return _unary("relu", x, lambda d: _xp(x).maximum(d, 0), lambda g, out, x: g * mask)


def leaky_relu(x, negative_slope=0.01):
    one, negative = x.dtype.type(1), x.dtype.type(negative_slope)
    slope = constant(_xp(x).where(x.data > 0, one, negative))
    return _unary("leaky_relu", x, lambda d: d * slope.data, lambda g, out, x: g * slope)


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    keep = backend.rng().random(x.shape, dtype=np.float32) >= p  # drawn on the host (design)
    keep = backend.to_device(keep, x.device)  # one byte per element crosses, not a float
    scale = constant(keep.astype(x.dtype) * (1 / (1 - p) if p < 1 else 0))
    return _unary("dropout", x, lambda d: d * scale.data, lambda g, out, x: g * scale)
