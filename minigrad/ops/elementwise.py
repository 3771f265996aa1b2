"""Elementwise operations and activations.

Binary operations broadcast as NumPy does; each input's gradient is summed back to its own
shape by ``unbroadcast``. A rule that needs the op's output (exp, tanh, sigmoid, sqrt) takes
it as ``out``, so that differentiating the rule again goes through ``out``'s own graph.
Masks (relu, abs, clip, maximum) are constants: their derivative is zero almost everywhere.

Dtypes follow PyTorch: an integer tensor with a float (tensor or Python number) is promoted
to the float's dtype (``promoted_operands``), true division and float functions (exp, log,
sqrt, tanh, sigmoid) of integer or boolean tensors give the default float, float32
(``as_float``).
"""
import math
import numbers

import numpy as np

from .. import backend
from ..autograd import OUTPUT, apply
from ..errors import ShapeError
from ..tensor import Tensor, as_float, constant, full, promoted_operands, zeros_like
from .shape import unbroadcast


def _check_broadcast(op, *tensors):
    try:
        np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        shapes = " and ".join(str(t.shape) for t in tensors)
        raise ShapeError(f"{op}: shapes {shapes} do not broadcast "
                         "(trailing axes must match or be 1)") from None


def _binary(op, a, b, forward, vjp_a, vjp_b, *, saved):
    """A broadcasting op of two tensors of one dtype (``promoted_operands``): ``forward`` of
    their arrays, recorded with the rules ``vjp_a(g, out)`` and ``vjp_b(g, out)``, whose
    results are summed back to each input's shape (``unbroadcast``)."""
    _check_broadcast(op, a, b)
    return apply(forward(a.array, b.array), (a, b),
                 (lambda g, out: unbroadcast(vjp_a(g, out), a.shape),
                  lambda g, out: unbroadcast(vjp_b(g, out), b.shape)), op, saved=saved)


def add(a, b):
    a, b = promoted_operands(a, b)
    return _binary("add", a, b, lambda x, y: x + y,
                   lambda g, out: g, lambda g, out: g, saved=())


def sub(a, b):
    a, b = promoted_operands(a, b)
    return _binary("sub", a, b, lambda x, y: x - y,
                   lambda g, out: g, lambda g, out: -g, saved=())


def mul(a, b):
    a, b = promoted_operands(a, b)
    return _binary("mul", a, b, lambda x, y: x * y,
                   lambda g, out: g * b, lambda g, out: g * a, saved=(a, b))


def div(a, b):
    """True division; of two integer tensors, a float32 result (as PyTorch)."""
    a, b = (as_float(t) for t in promoted_operands(a, b))
    return _binary("div", a, b, lambda x, y: x / y,
                   lambda g, out: g / b, lambda g, out: -g * out / b, saved=(b, OUTPUT))


def pow(a, b):
    """a ** b; d/da = b a^(b-1), d/db = a^b log a, with PyTorch's values where these are 0 * inf:
    d/da is 0 where a = b = 0 (so x ** 0 has gradient 0 everywhere), d/db is 0 where a = 0 and
    b >= 0. The exponent (and the log's argument) are replaced there by values that give
    those zeros, never by a mask applied to an inf, so that every order stays finite. A Python
    number as exponent (x ** 2) or base (2 ** x) needs no mask: it is known on the host."""
    if isinstance(b, numbers.Integral) and b < 0 and a.dtype.kind in "biu":
        raise RuntimeError(f"pow: integers to negative integer powers are not allowed (a "
                           f"{a.dtype} tensor ** {b}), as in PyTorch; make one a float")
    known_exponent, known_base = isinstance(b, numbers.Number), isinstance(a, numbers.Number)
    if known_exponent:  # one exponent: a ** (b - 1) keeps NumPy's fast paths
        exponent = b - 1 if b != 0 else 0
    nonzero_base = known_base and a != 0
    a, b = promoted_operands(a, b)

    def vjp_a(g, out):
        if known_exponent:
            return g * b * a ** exponent
        zero_zero = constant((a.array == 0) & (b.array == 0))
        return g * b * a ** where(zero_zero, 0, b - 1)

    def vjp_b(g, out):
        if nonzero_base:
            return g * out * log(a)
        zero_base = constant((a.array == 0) & (b.array >= 0))
        return g * out * log(where(zero_base, 1, a))

    return _binary("pow", a, b, lambda x, y: x ** y, vjp_a, vjp_b, saved=(a, b, OUTPUT))


def _elementwise_extreme(op, a, b, a_wins):
    """maximum / minimum: the gradient goes to the winner, and half to each where a == b (as
    PyTorch: the mask of a's share, 1, 0.5 or 0, is a constant)."""
    a, b = promoted_operands(a, b)
    _check_broadcast(op, a, b)
    share = a_wins(a.array, b.array).astype(a.dtype) + (a.array == b.array).astype(a.dtype) * 0.5
    a_share = constant(share)
    return _binary(op, a, b, getattr(backend.xp_of(a.array), op),
                   lambda g, out: g * a_share, lambda g, out: g * (1 - a_share), saved=())


def maximum(a, b):
    """Elementwise max; ties split the gradient 0.5 / 0.5."""
    return _elementwise_extreme("maximum", a, b, lambda x, y: x > y)


def minimum(a, b):
    """Elementwise min; ties split the gradient 0.5 / 0.5."""
    return _elementwise_extreme("minimum", a, b, lambda x, y: x < y)


def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b`` (the condition is a constant). Two Python
    numbers give a tensor of PyTorch's dtype for them (int64 for ints, float32 with a float)
    on the condition's device."""
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        a = full((), a, device=condition.device if isinstance(condition, Tensor) else "cpu")
    a, b = promoted_operands(a, b)
    cond = (condition.array if isinstance(condition, Tensor)
            else backend.to_device(condition, a.device))
    _check_broadcast("where", cond, a, b)
    xp = backend.xp_of(a.array)
    mask = constant(cond.astype(bool))
    zero = constant(xp.zeros((), dtype=a.dtype))
    return apply(xp.where(cond, a.array, b.array), (a, b),
                 (lambda g, out: unbroadcast(where(mask, g, zero), a.shape),
                  lambda g, out: unbroadcast(where(mask, zero, g), b.shape)), "where", saved=())


def compare(name, a, b):
    """A boolean tensor from a NumPy comparison ufunc; never differentiable."""
    a, b = promoted_operands(a, b)
    _check_broadcast(name, a, b)
    return Tensor._wrap(getattr(backend.xp_of(a.array), name)(a.array, b.array))


def _unary(op, x, forward, vjp, *, saved):
    """An op of one tensor: ``forward`` of its array, recorded with the rule ``vjp(g, out)``."""
    return apply(forward(x.array), (x,), (vjp,), op, saved=saved)


def _xp(x):
    return backend.xp_of(x.array)


def neg(x):
    return _unary("neg", x, lambda d: -d, lambda g, out: -g, saved=())


def exp(x):
    x = as_float(x)
    return _unary("exp", x, _xp(x).exp, lambda g, out: g * out, saved=(OUTPUT,))


def log(x):
    x = as_float(x)
    return _unary("log", x, _xp(x).log, lambda g, out: g / x, saved=(x,))


def sqrt(x):
    x = as_float(x)
    return _unary("sqrt", x, _xp(x).sqrt, lambda g, out: g / (2 * out), saved=(OUTPUT,))


def abs(x):
    sign = constant(_xp(x).sign(x.array))
    return _unary("abs", x, _xp(x).abs, lambda g, out: g * sign, saved=())


def clamp(x, min=None, max=None):
    """Values limited to [min, max] (either may be None); the gradient passes only where x is
    inside. Number bounds promote with x by PyTorch's rule (an integer tensor with a float
    bound gives float32); tensor bounds broadcast (``_clamp_to_tensors``)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given, not None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_to_tensors(x, min, max)
    x = promoted_operands(x, *(bound for bound in (min, max) if bound is not None))[0]
    xp = _xp(x)
    inside = xp.ones(x.shape, dtype=bool)
    if min is not None:
        inside &= x.array >= min
    if max is not None:
        inside &= x.array <= max
    mask = constant(inside.astype(x.dtype))
    return _unary("clamp", x, lambda d: xp.clip(d, min, max).astype(x.dtype, copy=False),
                  lambda g, out: g * mask, saved=())


clip = clamp  # PyTorch's alias


def astype(x, dtype):
    """A cast; the gradient is cast back."""
    source = x.dtype
    return _unary("astype", x, lambda d: d.astype(dtype), lambda g, out: g.astype(source), saved=())


def tanh(x):
    """tanh; its rule is g * (1 - out^2), as PyTorch's (in the far tails, |x| > 9 in float32
    and 19 in float64, 1 - out^2 rounds to 0 where the true slope is tiny but not 0)."""
    x = as_float(x)
    return _unary("tanh", x, _xp(x).tanh, lambda g, out: g * (1 - out * out), saved=(OUTPUT,))


def _exp_limit(dtype):
    """log(largest float of ``dtype``) rounded down: 88 in float32, 709 in float64; e^y of
    |y| up to it neither overflows nor reaches 0."""
    return math.floor(math.log(float(np.finfo(dtype).max)))


def sigmoid(x):
    """1 / (1 + e^-x), to a few units in the last place in both tails (``_sigmoid_pair``).

    The derivative is sigmoid(x) sigmoid(-x) = out (1 - out), but 1 - out rounds to 0 for
    large x: the rule multiplies by the complement sigmoid(-x) from the forward pass instead,
    a node of x of its own (``_complement``), so that every order keeps the accuracy."""
    x = as_float(x)
    s, c = _sigmoid_pair(x.array)
    return apply(s, (x,), (lambda g, out: g * out * _complement(x, out, c),), "sigmoid",
                 saved=(OUTPUT,))


def _sigmoid_pair(d):
    """(sigmoid(d), sigmoid(-d)) of an array, each within a few rounding errors of the truth
    relative to itself, down to the smallest subnormal number: with r = e^(d/2) they are
    r / (r + 1/r) and (1/r) / (r + 1/r), where nothing cancels (as 1 + tanh(d/2) and
    1 - sigmoid(d) do in the tails). d/2 is clipped to +-log(largest float), so neither r
    nor 1/r overflows (``_exp_limit``); beyond, the results are 0 and 1 in the dtype."""
    xp = backend.xp_of(d)
    limit = _exp_limit(d.dtype)
    r = xp.exp(xp.clip(0.5 * d, -limit, limit))
    inverse = 1 / r
    total = r + inverse
    return r / total, inverse / total


def _complement(x, s, c):
    """sigmoid(-x) as a node of x holding its value ``c``, already computed; its derivative
    is -sigmoid(x) sigmoid(-x) (``s`` is the node sigmoid(x))."""
    return apply(c, (x,), (lambda g, out: -g * s * out,), "sigmoid_complement",
                 saved=(s, OUTPUT))


def softplus(x, beta=1, threshold=20):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (as PyTorch); the
    derivative is sigmoid(beta x) (1 where linear)."""
    if beta == 0:
        raise ValueError("softplus: beta must not be 0")
    if x.dtype.kind not in "fc":
        raise NotImplementedError(f"softplus is not implemented for {x.dtype} tensors (as in "
                                  "PyTorch): cast to a float dtype first")
    xp = _xp(x)
    linear = x.array * beta > threshold
    return _unary("softplus", x,
                  lambda d: xp.where(linear, d, xp.logaddexp(d.dtype.type(0), d * beta) / beta),
                  lambda g, out: where(constant(linear), g, g * sigmoid(x * beta)),
                  saved=(x,))


def relu(x):
    mask = constant((x.array > 0).astype(x.dtype))
    return _unary("relu", x, lambda d: _xp(x).maximum(d, 0), lambda g, out: g * mask, saved=())


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, negative_slope * x elsewhere. In plain Tensor ops, with a = negative_slope:

        out = where(x > 0, x, x * a)            vjp(g, out) = where(x > 0, g, g * a)

    (the mask x > 0 is a constant: the slope's derivative is zero almost everywhere). Both
    are one map of a tensor v, "v where x > 0, v * a elsewhere", so the rule is this op again
    (``_sign_scale``) and the gradient of every order is one pass of ``backend.sign_scale``
    (on the CPU a compiled loop, where ``where`` and the product take three passes)."""
    return _sign_scale(x, x, x.dtype.type(negative_slope))


def _sign_scale(v, x, slope):
    """v where x > 0, v * slope elsewhere; x only gives the signs."""
    return apply(backend.sign_scale(v.array, x.array, slope), (v,),
                 (lambda g, out: _sign_scale(g, x, slope),), "leaky_relu", saved=(x,))


def elu(x, alpha=1.0):
    """x for x > 0, alpha (e^x - 1) otherwise; the derivative there is alpha e^x = out + alpha."""
    xp, positive = _xp(x), x.array > 0
    return _unary("elu", x, lambda d: xp.where(positive, d, alpha * xp.expm1(xp.minimum(d, 0))),
                  lambda g, out: where(constant(positive), g, g * (out + alpha)),
                  saved=(OUTPUT,))


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """x limited to [min_val, max_val], in x's dtype (the limits of an integer tensor are
    truncated, as PyTorch's). Unlike clamp, the gradient is 0 at the limits themselves, as
    PyTorch's hardtanh."""
    if max_val < min_val:
        raise ValueError(f"hardtanh: max_val {max_val} is smaller than min_val {min_val}")
    inside = constant(((x.array > min_val) & (x.array < max_val)).astype(x.dtype))
    limited = lambda d: _xp(x).clip(d, min_val, max_val).astype(x.dtype, copy=False)  # noqa: E731
    return _unary("hardtanh", x, limited, lambda g, out: g * inside, saved=())


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return x * sigmoid(x)


_SQRT_HALF, _SQRT_2_OVER_PI = math.sqrt(0.5), math.sqrt(2 / math.pi)


def gelu(x, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF: 0.5 x (1 + erf(x / sqrt 2)); with
    approximate="tanh", 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), as PyTorch's."""
    if approximate == "none":
        return 0.5 * x * (1 + erf(x * _SQRT_HALF))
    if approximate == "tanh":
        return 0.5 * x * (1 + tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def erf(x):
    """The error function (2 / sqrt pi) int_0^x e^(-t^2) dt; derivative (2 / sqrt pi) e^(-x^2).
    Of an integer or boolean tensor, in float32."""
    x = as_float(x)
    return _unary("erf", x, _erf_array,
                  lambda g, out: g * (2 / math.sqrt(math.pi)) * exp(-(x * x)), saved=(x,))


# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23
# (1969), the coefficients of netlib's specfun CALERF (also behind SciPy's and Cephes' erf):
# erf(x) = x P1(x^2) / Q1(x^2) for |x| <= 0.46875; beyond, erfc(y) = e^(-y^2) R(y) with
# R = P2(y) / Q2(y) for y <= 4 and R = (1 / sqrt pi - z P3(z) / Q3(z)) / y, z = 1 / y^2.
# Coefficients from the highest power down; each Q is monic.
_ERF_P1 = (1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02,
           3.77485237685302021e02, 3.20937758913846947e03)
_ERF_Q1 = (1.0, 2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
           2.84423683343917062e03)
_ERF_P2 = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00,
           6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02,
           1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03)
_ERF_Q2 = (1.0, 1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
           1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
           3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P3 = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
           1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4)
_ERF_Q3 = (1.0, 2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)


def _polynomial(coefficients, t):
    result = coefficients[0] + 0 * t
    for c in coefficients[1:]:
        result = result * t + c
    return result


def _erf_array(d):
    """erf of an array by Cody's approximations, from array operations only, so that it runs
    on NumPy and CuPy alike (NumPy has no erf): about 1e-16 relative error in float64.

    Every branch is evaluated on clipped arguments (no overflow or 0/0 in the branches that
    are not taken) and the right one chosen; beyond |x| = 6, erf is +-1 in float64. As in
    CALERF, e^(-y^2) is computed as e^(-s^2) e^(-(y - s)(y + s)) with s = y rounded down to
    a multiple of 1/16, so that the rounding of y^2 does not enter.
    """
    xp = backend.xp_of(d)
    y = xp.minimum(xp.abs(d), 6.0)
    small = xp.clip(d, -0.5, 0.5)
    near = xp.clip(y, 0.46875, 4.0)
    far = xp.maximum(y, 4.0)
    z = 1 / (far * far)
    tail = (1 / math.sqrt(math.pi) - z * _polynomial(_ERF_P3, z) / _polynomial(_ERF_Q3, z)) / far
    ratio = xp.where(y <= 4.0, _polynomial(_ERF_P2, near) / _polynomial(_ERF_Q2, near), tail)
    s = xp.trunc(y * 16) / 16
    erfc = xp.exp(-s * s) * xp.exp(-(y - s) * (y + s)) * ratio
    t = small * small
    return xp.where(y <= 0.46875, small * _polynomial(_ERF_P1, t) / _polynomial(_ERF_Q1, t),
                    xp.sign(d) * (1 - erfc))


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    # drawn on the host (design); under data parallelism, this process's rows of the mask of
    # the global batch (backend.per_sample)
    keep = backend.per_sample(lambda rng, s: rng.random(s, dtype=np.float32), x.shape) >= p
    keep = backend.to_device(keep, x.device)  # one byte per element crosses, not a float
    scale = constant(keep.astype(x.dtype) * (1 / (1 - p) if p < 1 else 0))
    return _unary("dropout", x, lambda d: d * scale.array, lambda g, out: g * scale, saved=())


# ---- trigonometric and hyperbolic functions, exponentials and logarithms ----
# Float functions: integer and boolean tensors give float32, as PyTorch. Their rules are
# PyTorch's derivatives, which also give PyTorch's values at the edges of each domain
# (asin'(1) = inf, log2'(0) = inf, NaN outside); NumPy warns there, as for log(0).

def _math(op, x, function, vjp, *, saved):
    """``op`` computed by the array module's ``function`` (NumPy's name for it)."""
    x = as_float(x)
    return _unary(op, x, getattr(_xp(x), function), vjp, saved=saved)


def sin(x):
    return _math("sin", x, "sin", lambda g, out: g * cos(x), saved=(x,))


def cos(x):
    return _math("cos", x, "cos", lambda g, out: -g * sin(x), saved=(x,))


def tan(x):
    """tan' = 1 + tan^2."""
    return _math("tan", x, "tan", lambda g, out: g * (1 + out * out), saved=(OUTPUT,))


def asin(x):
    """asin' = 1 / sqrt(1 - x^2)."""
    return _math("asin", x, "arcsin", lambda g, out: g / sqrt(1 - x * x), saved=(x,))


def acos(x):
    """acos' = -1 / sqrt(1 - x^2)."""
    return _math("acos", x, "arccos", lambda g, out: -g / sqrt(1 - x * x), saved=(x,))


def atan(x):
    """atan' = 1 / (1 + x^2)."""
    return _math("atan", x, "arctan", lambda g, out: g / (1 + x * x), saved=(x,))


def atan2(a, b):
    """The angle of the point (b, a), in [-pi, pi]; d/da = b / r^2 and d/db = -a / r^2 with
    r^2 = a^2 + b^2, both 0 at the origin (as PyTorch)."""
    a, b = (as_float(t) for t in promoted_operands(a, b))
    return _binary("atan2", a, b, lambda y, x: backend.xp_of(y).arctan2(y, x),
                   lambda g, out: g * b * _inverse_square_radius(a, b),
                   lambda g, out: -g * a * _inverse_square_radius(a, b), saved=(a, b))


def _inverse_square_radius(a, b):
    """1 / (a^2 + b^2); 1 at the origin, where it multiplies a zero."""
    r2 = a * a + b * b
    return 1 / where(r2 == 0, 1, r2)


def sinh(x):
    return _math("sinh", x, "sinh", lambda g, out: g * cosh(x), saved=(x,))


def cosh(x):
    return _math("cosh", x, "cosh", lambda g, out: g * sinh(x), saved=(x,))


def asinh(x):
    """asinh' = 1 / sqrt(x^2 + 1)."""
    return _math("asinh", x, "arcsinh", lambda g, out: g / sqrt(x * x + 1), saved=(x,))


def acosh(x):
    """acosh' = 1 / sqrt(x^2 - 1)."""
    return _math("acosh", x, "arccosh", lambda g, out: g / sqrt(x * x - 1), saved=(x,))


def atanh(x):
    """atanh' = 1 / (1 - x^2)."""
    return _math("atanh", x, "arctanh", lambda g, out: g / (1 - x * x), saved=(x,))


arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2  # NumPy's names, also PyTorch's
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def exp2(x):
    """2^x; its derivative 2^x log 2 is out * log 2."""
    return _math("exp2", x, "exp2", lambda g, out: g * out * math.log(2), saved=(OUTPUT,))


def expm1(x):
    """e^x - 1, accurate where it is near 0; the derivative e^x is out + 1."""
    return _math("expm1", x, "expm1", lambda g, out: g * (out + 1), saved=(OUTPUT,))


def log2(x):
    return _math("log2", x, "log2", lambda g, out: g / (x * math.log(2)), saved=(x,))


def log10(x):
    return _math("log10", x, "log10", lambda g, out: g / (x * math.log(10)), saved=(x,))


def log1p(x):
    """log(1 + x), accurate for small x; log1p' = 1 / (1 + x)."""
    return _math("log1p", x, "log1p", lambda g, out: g / (1 + x), saved=(x,))


def rsqrt(x):
    """1 / sqrt(x); its derivative -x^(-3/2) / 2 is -out^3 / 2."""
    x = as_float(x)
    return _unary("rsqrt", x, lambda d: 1 / _xp(x).sqrt(d),
                  lambda g, out: -0.5 * g * out ** 3, saved=(OUTPUT,))


def square(x):
    """x * x; integers stay integers, booleans give int64 (as PyTorch)."""
    return pow(astype(x, np.int64) if x.dtype == bool else x, 2)


def reciprocal(x):
    """1 / x (float32 for an integer tensor, as PyTorch)."""
    return div(1, x)


# ---- rounding: piecewise constant, so the gradient is zero everywhere (PyTorch's, which
# also gives 0 at the jumps) ----

def _zero_gradient(g, out):
    return zeros_like(g)


def _rounded(op, x, forward):
    """floor, ceil, trunc, round. An integer tensor is whole already: a copy of it (as
    PyTorch); a boolean one is refused (as PyTorch)."""
    if x.dtype == bool:
        raise TypeError(f"{op} is not defined for a boolean tensor; cast it first "
                        "(x.astype(...))")
    if x.dtype.kind in "iu":
        return constant(x.array.copy())
    return _unary(op, x, forward, _zero_gradient, saved=())


def floor(x):
    return _rounded("floor", x, _xp(x).floor)


def ceil(x):
    return _rounded("ceil", x, _xp(x).ceil)


def trunc(x):
    """Rounded towards 0."""
    return _rounded("trunc", x, _xp(x).trunc)


def round(x, decimals=0):
    """To the nearest whole number, halves to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2); with
    ``decimals``, to that many decimal places (negative: to tens, hundreds, ...), computed
    as PyTorch does: rint(x * 10^decimals) / 10^decimals."""
    if decimals != 0 and x.dtype.kind != "f":
        raise TypeError(f"round with decimals={decimals} needs a floating-point tensor, got "
                        f"{x.dtype} (as PyTorch)")
    return _rounded("round", x, lambda d: _xp(x).round(d, decimals))


def frac(x):
    """The fractional part x - trunc(x), with x's sign; its gradient is 1."""
    if x.dtype.kind != "f":
        raise TypeError(f"frac needs a floating-point tensor, got {x.dtype} (as PyTorch)")
    return x - trunc(x)


def sign(x):
    """-1, 0 or 1, and 0 for NaN (PyTorch's (x > 0) - (x < 0)); a boolean tensor is its own
    sign, as PyTorch."""
    if x.dtype == bool:
        return constant(x.array.copy())
    return _unary("sign", x, lambda d: (d > 0).astype(d.dtype) - (d < 0).astype(d.dtype),
                  _zero_gradient, saved=())


sgn = sign  # PyTorch's sign extended to complex numbers; for real tensors, sign


# ---- division with rounding: floor_divide (//), remainder (%), fmod ----
# Dtypes as for the other binary ops (int // int is int; int % 2.5 is float32).

def _division_operands(op, a, b):
    """The operands of a division, with integer division by zero refused, as PyTorch does
    (NumPy would give 0). For integers this reads one boolean back from the device."""
    a, b = promoted_operands(a, b)
    if b.dtype.kind in "biu" and a.dtype.kind in "biu" and backend.scalar((b.array == 0).any()):
        raise RuntimeError(f"{op}: integer division by zero (a divisor in the tensor of shape "
                           f"{b.shape} is 0)")
    return a, b


def floor_divide(a, b):
    """a / b rounded down (towards -inf), as Python's // and PyTorch's. Its derivative is 0
    almost everywhere; PyTorch defines none, here the gradient is that 0."""
    a, b = _division_operands("floor_divide", a, b)
    return _binary("floor_divide", a, b, lambda x, y: x // y, _zero_gradient, _zero_gradient,
                   saved=())


def remainder(a, b):
    """a - b floor(a / b): the remainder with the divisor's sign (Python's %, PyTorch's
    remainder); d/da = 1, d/db = -floor(a / b)."""
    a, b = _division_operands("remainder", a, b)
    return _binary("remainder", a, b, lambda x, y: x % y, lambda g, out: g,
                   lambda g, out: -g * floor_divide(a, b), saved=(a, b))


def fmod(a, b):
    """a - b trunc(a / b): the remainder with the dividend's sign (C's fmod); d/da = 1,
    d/db = -trunc(a / b)."""
    a, b = _division_operands("fmod", a, b)
    return _binary("fmod", a, b, lambda x, y: backend.xp_of(x).fmod(x, y),
                   lambda g, out: g, lambda g, out: -g * trunc(a / b), saved=(a, b))


def _clamp_to_tensors(x, min, max):
    """clamp with bounds that are tensors (broadcast with x) or numbers, as torch.clamp: the
    result is min(max(x, min), max), so max wins where min > max, and the gradient goes to
    whichever of x, min, max the value is (x's where min <= x <= max). Where x < min == max
    PyTorch gives it to neither bound; here min gets it."""
    if min is not None:
        x = where(x < min, min, x)
    if max is not None:
        x = where(x > max, max, x)
    return x


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """x with NaN, inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0
    and the largest and smallest finite values of x's dtype); the gradient is 0 where a value
    was replaced."""
    xp = _xp(x)
    finite = constant(xp.isfinite(x.array))
    return _unary("nan_to_num", x, lambda d: xp.nan_to_num(d, nan=nan, posinf=posinf,
                                                             neginf=neginf),
                  lambda g, out: where(finite, g, 0), saved=())


# ---- activations (minigrad.nn.functional gives them PyTorch's ``inplace=``) ----

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def celu(x, alpha=1.0):
    """x for x > 0, alpha (e^(x / alpha) - 1) otherwise: alpha elu(x / alpha)."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (x is divided by it)")
    return alpha * elu(as_float(x) / alpha)


def selu(x):
    """scale elu(x, alpha), with the constants of Klambauer et al. (2017, "Self-normalizing
    neural networks") that keep activations near zero mean and unit variance."""
    return _SELU_SCALE * elu(as_float(x), _SELU_ALPHA)


def mish(x):
    """x tanh(softplus(x)) (Misra 2019)."""
    x = as_float(x)
    return x * tanh(softplus(x))


def hardswish(x):
    """x relu6(x + 3) / 6: 0 up to -3, x from 3, x (x + 3) / 6 between, where the derivative
    is x / 3 + 1/2 (at -3 and 3 PyTorch's: 0 and 1; NaN counts as inside, so that its
    gradient is NaN, as PyTorch's)."""
    x = as_float(x)
    xp, d = _xp(x), x.array
    inside, above = constant(~((d <= -3) | (d >= 3))), constant((d >= 3).astype(x.dtype))
    return _unary("hardswish", x, lambda d: d * xp.clip(d + 3, 0, 6) / 6,
                  lambda g, out: g * where(inside, x / 3 + 0.5, above), saved=(x,))


def hardsigmoid(x):
    """relu6(x + 3) / 6; the derivative is 1/6 for -3 < x < 3, else 0 (also at -3 and 3)."""
    x = as_float(x)
    d = x.array
    slope = constant(((d > -3) & (d < 3)).astype(x.dtype) / 6)
    return _unary("hardsigmoid", x, lambda d: _xp(x).clip(d + 3, 0, 6) / 6,
                  lambda g, out: g * slope, saved=())


def softsign(x):
    """x / (1 + |x|)."""
    return x / (1 + abs(x))


def logsigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), without softplus's linear cut-off at 20: for x << 0
    it is x - log(1 + e^x), and the cut-off would drop the second term (2e-9 at x = -20)."""
    return -softplus(-as_float(x), threshold=math.inf)


def threshold(x, threshold, value):
    """x where x > threshold, ``value`` elsewhere (F.threshold); x keeps its dtype, and its
    gradient is 0 where replaced."""
    return where(x > threshold, x, full((), value, dtype=x.dtype, device=x.device))


def prelu(x, weight):
    """x where x > 0, weight * x elsewhere (F.prelu): one weight for all elements, or one per
    channel (axis 1 of x)."""
    if weight.numel() != 1 and (x.ndim < 2 or weight.numel() != x.shape[1]):
        channels = f"{x.shape[1]} channels" if x.ndim >= 2 else "no channel axis"
        raise ShapeError(f"prelu: a weight of {weight.numel()} elements for an input of shape "
                         f"{x.shape} ({channels}): give 1 weight, or one per channel")
    weight = weight.reshape(-1, *(1,) * (x.ndim - 2)) if weight.numel() != 1 else weight.reshape(())
    return where(x > 0, x, weight * x)


# ---- predicates, logical and bitwise operations: constant results, never differentiable ----

def isnan(x):
    return constant(_xp(x).isnan(x.array))


def isinf(x):
    return constant(_xp(x).isinf(x.array))


def isfinite(x):
    return constant(_xp(x).isfinite(x.array))


def isposinf(x):
    return constant(_xp(x).isposinf(x.array))


def isneginf(x):
    return constant(_xp(x).isneginf(x.array))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol |b|, elementwise; equal infinities are close, NaNs only with
    ``equal_nan`` (torch.isclose)."""
    a, b = promoted_operands(a, b)
    _check_broadcast("isclose", a, b)
    return constant(_xp(a).isclose(a.array, b.array, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether isclose holds everywhere, as a Python bool."""
    return bool(backend.scalar(isclose(a, b, rtol, atol, equal_nan).array.all()))


def logical_and(a, b):
    return compare("logical_and", a, b)


def logical_or(a, b):
    return compare("logical_or", a, b)


def logical_xor(a, b):
    return compare("logical_xor", a, b)


def logical_not(x):
    return constant(_xp(x).logical_not(x.array))


def _integer_operands(op, *values):
    """Tensors for a bitwise op: booleans and integers only, as PyTorch."""
    tensors = promoted_operands(*values)
    for t in tensors:
        if t.dtype.kind not in "biu":
            raise TypeError(f"{op} needs boolean or integer tensors, got dtype {t.dtype}")
    return tensors


def _bitwise(op, function, a, b, booleans=True):
    """``booleans=False``: not both boolean (shifts need a number to shift, as PyTorch)."""
    a, b = _integer_operands(op, a, b)
    if not booleans and a.dtype == b.dtype == bool:
        raise TypeError(f"{op} needs an integer tensor, not two boolean ones")
    _check_broadcast(op, a, b)
    return constant(getattr(_xp(a), function)(a.array, b.array))


def bitwise_and(a, b):
    return _bitwise("bitwise_and (&)", "bitwise_and", a, b)


def bitwise_or(a, b):
    return _bitwise("bitwise_or (|)", "bitwise_or", a, b)


def bitwise_xor(a, b):
    return _bitwise("bitwise_xor (^)", "bitwise_xor", a, b)


def bitwise_left_shift(a, b):
    return _bitwise("bitwise_left_shift (<<)", "left_shift", a, b, booleans=False)


def bitwise_right_shift(a, b):
    return _bitwise("bitwise_right_shift (>>)", "right_shift", a, b, booleans=False)


def bitwise_not(x):
    """~x: logical not of a boolean tensor, -x - 1 of an integer one."""
    (x,) = _integer_operands("bitwise_not (~)", x)
    return constant(_xp(x).invert(x.array))
