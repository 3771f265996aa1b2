"""Elementwise math: trigonometric and hyperbolic functions, exponentials and logarithms,
rounding, division with rounding, predicates and bitwise operations, clamp with tensor
bounds, nan_to_num, and the activations celu, selu, mish, hardswish, hardsigmoid, softsign,
logsigmoid, threshold, prelu and softmin.

Values against NumPy / math formulas in float64, gradients to first and second order on odd
shapes and under broadcasting, PyTorch's values at the edges of domains and at kinks (fixed
numbers here; tests/minigrad/test_ops_math_vs_torch.py compares with PyTorch itself), dtypes
of integer and boolean inputs, the modules, and clear errors.
"""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, ops

from devices import leaf, tensor, to_device

RNG = np.random.default_rng(26)


def check(fn, *inputs):
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def sample(shape, low, high, avoid=(), margin=0.02):
    """Uniform values in [low, high], moved away from the points in ``avoid`` (kinks, jumps)."""
    values = RNG.uniform(low, high, shape)
    for point in avoid:
        near = np.abs(values - point) < margin
        values[near] = point + np.where(values[near] >= point, 2, -2) * margin
    return values


SHAPES = [(3, 5), (1,), (2, 1, 3), ()]
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805  # Klambauer et al. 2017

# name: (function, NumPy reference, sampling interval)
UNARY = {
    "sin": (mg.sin, np.sin, (-4, 4)),
    "cos": (mg.cos, np.cos, (-4, 4)),
    "tan": (mg.tan, np.tan, (-1.4, 1.4)),
    "asin": (mg.asin, np.arcsin, (-0.95, 0.95)),
    "acos": (mg.acos, np.arccos, (-0.95, 0.95)),
    "atan": (mg.atan, np.arctan, (-5, 5)),
    "sinh": (mg.sinh, np.sinh, (-3, 3)),
    "cosh": (mg.cosh, np.cosh, (-3, 3)),
    "asinh": (mg.asinh, np.arcsinh, (-5, 5)),
    "acosh": (mg.acosh, np.arccosh, (1.05, 5)),
    "atanh": (mg.atanh, np.arctanh, (-0.95, 0.95)),
    "exp2": (mg.exp2, np.exp2, (-3, 3)),
    "expm1": (mg.expm1, np.expm1, (-3, 3)),
    "log2": (mg.log2, np.log2, (0.1, 5)),
    "log10": (mg.log10, np.log10, (0.1, 5)),
    "log1p": (mg.log1p, np.log1p, (-0.9, 5)),
    "rsqrt": (mg.rsqrt, lambda x: 1 / np.sqrt(x), (0.1, 5)),
    "square": (mg.square, np.square, (-3, 3)),
    "reciprocal": (mg.reciprocal, lambda x: 1 / x, (0.2, 3)),
    "frac": (mg.frac, lambda x: x - np.trunc(x), (-3, 3)),
    "nan_to_num": (mg.nan_to_num, lambda x: x, (-3, 3)),
    "celu": (F.celu, lambda x: np.where(x > 0, x, np.expm1(x)), (-3, 3)),
    "celu alpha 0.5": (lambda x: F.celu(x, 0.5),
                       lambda x: np.where(x > 0, x, 0.5 * np.expm1(2 * x)), (-3, 3)),
    "selu": (F.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)), (-3, 3)),
    "mish": (F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), (-5, 5)),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, (-5, 5)),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6, (-5, 5)),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), (-5, 5)),
    "logsigmoid": (F.logsigmoid, lambda x: -np.logaddexp(0, -x), (-30, 30)),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0), lambda x: np.where(x > 0.5, x, -2.0),
                  (-3, 3)),
}
KINKS = {"frac": (-2, -1, 0, 1, 2), "celu": (0,), "celu alpha 0.5": (0,), "selu": (0,),
         "hardswish": (-3, 3), "hardsigmoid": (-3, 3), "softsign": (0,), "threshold": (0.5,)}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_values_and_gradients(name, shape):
    fn, reference, (low, high) = UNARY[name]
    x = leaf(sample(shape, low, high, KINKS.get(name, ())))
    y = fn(x)
    assert y.shape == shape and y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), reference(x.numpy()), rtol=1e-13, atol=1e-15)
    check(fn, x)


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round", "sign", "sgn"])
def test_rounding_values_and_zero_gradients(name):
    """Piecewise constant: the gradient is zero (also at the jumps, as PyTorch), to every
    order; round halves to even."""
    fn = getattr(mg, name)
    reference = getattr(np, {"sgn": "sign", "round": "rint"}.get(name, name))
    x = leaf(sample((3, 5), -4, 4, avoid=np.arange(-4, 5) / 2))
    np.testing.assert_array_equal(fn(x).numpy(), reference(x.numpy()))
    check(fn, x)
    at_jumps = leaf([-1.0, 0.0, 0.5, 1.5, 2.5, -0.5])
    (g,) = mg.grad(fn(at_jumps).sum(), at_jumps)
    np.testing.assert_array_equal(g.numpy(), np.zeros(6))
    assert mg.round(at_jumps).numpy().tolist() == [-1.0, 0.0, 0.0, 2.0, 2.0, -0.0]


def test_round_with_decimals():
    x = tensor(np.array([1.25, 1.35, -2.675, 1234.5678, 0.5]))
    np.testing.assert_allclose(mg.round(x, decimals=1).numpy(), [1.2, 1.4, -2.7, 1234.6, 0.5])
    np.testing.assert_allclose(x.round(decimals=-2).numpy(), [0.0, 0.0, -0.0, 1200.0, 0.0])
    with pytest.raises(TypeError, match="floating-point"):
        mg.round(tensor([1, 2]), decimals=1)


# ---- binary ops: atan2, remainder, fmod, floor_divide, clamp with tensor bounds ----

BROADCASTS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((5,), ())]


@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
@pytest.mark.parametrize("name", ["atan2", "remainder", "fmod", "floor_divide"])
def test_binary_values_and_gradients(name, shapes):
    reference = {"atan2": np.arctan2, "remainder": np.remainder, "fmod": np.fmod,
                 "floor_divide": np.floor_divide}[name]
    a = sample(shapes[0], -5, 5)
    b = sample(shapes[1], 0.5, 2) * RNG.choice([-1, 1], shapes[1])
    # away from the jumps of the rounded quotient (a / b a whole number)
    q = a / b
    a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.2 * np.abs(b), a)
    a, b = leaf(a), leaf(b)
    fn = getattr(mg, name)
    np.testing.assert_array_equal(fn(a, b).numpy(), reference(a.numpy(), b.numpy()))
    check(fn, a, b)


def test_remainder_and_fmod_gradients_and_signs():
    """remainder takes the divisor's sign, fmod the dividend's; d/db is -floor(a / b) and
    -trunc(a / b); floor_divide's gradient is 0."""
    a, b = leaf([7.0, -7.0, 7.0, -7.0]), leaf([2.0, 2.0, -2.0, -2.0])
    assert (a % b).numpy().tolist() == [1.0, 1.0, -1.0, -1.0]
    assert mg.fmod(a, b).numpy().tolist() == [1.0, -1.0, 1.0, -1.0]
    assert (a // b).numpy().tolist() == [3.0, -4.0, -4.0, 3.0]
    ga, gb = mg.grad((a % b).sum(), [a, b])
    assert ga.numpy().tolist() == [1.0] * 4 and gb.numpy().tolist() == [-3.0, 4.0, 4.0, -3.0]
    ga, gb = mg.grad(mg.fmod(a, b).sum(), [a, b])
    assert ga.numpy().tolist() == [1.0] * 4 and gb.numpy().tolist() == [-3.0, 3.0, 3.0, -3.0]
    ga, gb = mg.grad((a // b).sum(), [a, b])
    assert ga.numpy().tolist() == [0.0] * 4 and gb.numpy().tolist() == [0.0] * 4
    assert (5 // tensor([2])).numpy().tolist() == [2]
    assert (5.5 % tensor([2])).numpy().tolist() == [1.5]


def test_integer_division_dtypes_and_division_by_zero():
    i = tensor([7, -7])
    assert (i // 2).dtype == np.int64 and (i // 2).numpy().tolist() == [3, -4]
    assert (i % -3).numpy().tolist() == [-2, -1] and mg.fmod(i, 3).numpy().tolist() == [1, -1]
    assert (i // 2.5).dtype == np.float32 and (i % 2.5).dtype == np.float32
    assert (tensor(np.array([5], np.uint8)) // tensor(np.array([2], np.int8))).dtype == np.int16
    for op in (lambda: i // 0, lambda: i % tensor([1, 0]), lambda: mg.fmod(i, 0)):
        with pytest.raises(RuntimeError, match="integer division by zero"):
            op()


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")
def test_float_division_by_zero_gives_pytorchs_values():
    x = tensor([1.0, -1.0])
    assert (x // 0).numpy().tolist() == [np.inf, -np.inf]
    assert np.isnan((x % 0).numpy()).all() and np.isnan(mg.fmod(x, 0).numpy()).all()


def test_atan2_at_the_origin_has_zero_gradient():
    a, b = leaf([0.0, 1.0, 0.0]), leaf([0.0, 0.0, -2.0])
    np.testing.assert_allclose(mg.atan2(a, b).numpy(), [0.0, np.pi / 2, np.pi])
    ga, gb = mg.grad(mg.atan2(a, b).sum(), [a, b])
    np.testing.assert_allclose(ga.numpy(), [0.0, 0.0, -0.5])
    np.testing.assert_allclose(gb.numpy(), [0.0, -1.0, 0.0])


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((2, 3, 4), (4,), (3, 1)),
                                    ((5,), (), None), ((5,), None, ())], ids=str)
def test_clamp_with_tensor_bounds(shapes):
    """min(max(x, low), high) with broadcast bounds; gradients to first and second order go
    to x where it is inside, else to the bound that gave the value."""
    x_shape, low_shape, high_shape = shapes
    x = leaf(sample(x_shape, -3, 3))
    low = None if low_shape is None else leaf(sample(low_shape, -2, 0))
    high = None if high_shape is None else leaf(sample(high_shape, 0.2, 2))
    expected = x.numpy()
    if low is not None:
        expected = np.maximum(expected, low.numpy())
    if high is not None:
        expected = np.minimum(expected, high.numpy())
    np.testing.assert_array_equal(mg.clamp(x, low, high).numpy(), expected)
    np.testing.assert_array_equal(x.clamp(low, high).numpy(), expected)
    inputs = [t for t in (x, low, high) if t is not None]
    check(lambda *ts: mg.clamp(ts[0], *(ts[1:] if low is not None and high is not None else
                                       (ts[1], None) if low is not None else (None, ts[1]))),
          *inputs)


def test_clamp_gradients_at_ties_and_crossed_bounds():
    """PyTorch's: x's gradient where low <= x <= high (ties included); where low > high the
    value and the gradient are high's."""
    x = leaf([1.0, 2.0, 3.0, 2.0, 5.0, 1.5])
    low, high = leaf([2.0, 2.0, 2.0, 2.0, 2.0, 2.0]), leaf([2.5, 1.0, 4.0, 2.0, 4.0, 1.0])
    y = mg.clamp(x, low, high)
    assert y.numpy().tolist() == [2.0, 1.0, 3.0, 2.0, 4.0, 1.0]
    gx, gl, gh = mg.grad(y.sum(), [x, low, high])
    assert gx.numpy().tolist() == [0, 0, 1, 1, 0, 0]
    assert gl.numpy().tolist() == [1, 0, 0, 0, 0, 0]
    assert gh.numpy().tolist() == [0, 1, 0, 0, 1, 1]
    i = tensor([1, 5])
    assert mg.clamp(i, min=tensor([2.0])).dtype == np.float32


def test_nan_to_num():
    x = leaf([np.nan, np.inf, -np.inf, 1.5])
    y = mg.nan_to_num(x)
    big = np.finfo(np.float64).max
    assert y.numpy().tolist() == [0.0, big, -big, 1.5]
    assert x.nan_to_num(nan=2.0, posinf=3.0, neginf=-3.0).numpy().tolist() == [2.0, 3.0, -3.0, 1.5]
    (g,) = mg.grad(y.sum(), x)
    assert g.numpy().tolist() == [0.0, 0.0, 0.0, 1.0]
    assert mg.nan_to_num(tensor([1, 2])).dtype == np.int64
    big32 = mg.nan_to_num(tensor(np.array([np.inf], np.float32))).numpy()[0]
    assert big32 == np.finfo(np.float32).max


# ---- domain edges: PyTorch's values, fixed numbers ----

# name: (inputs, values, gradients), as PyTorch 2.13 gives them
EDGES = {
    "asin": ([1.0, -1.0, 2.0], [np.pi / 2, -np.pi / 2, np.nan], [np.inf, np.inf, np.nan]),
    "acos": ([1.0, 2.0], [0.0, np.nan], [-np.inf, np.nan]),
    "atanh": ([1.0, -1.0, 2.0], [np.inf, -np.inf, np.nan], [np.inf, np.inf, -1 / 3]),
    "acosh": ([1.0, 0.5], [0.0, np.nan], [np.inf, np.nan]),
    "log2": ([0.0, -1.0], [-np.inf, np.nan], [np.inf, -1 / math.log(2)]),
    "log10": ([0.0], [-np.inf], [np.inf]),
    "log1p": ([-1.0, -2.0], [-np.inf, np.nan], [np.inf, -1.0]),
    "rsqrt": ([0.0, -1.0], [np.inf, np.nan], [-np.inf, np.nan]),
    "reciprocal": ([0.0], [np.inf], [-np.inf]),
    "exp2": ([-1100.0, 1100.0], [0.0, np.inf], [0.0, np.inf]),
    "expm1": ([-800.0, 1e-20], [-1.0, 1e-20], [0.0, 1.0]),
}


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value", "ignore:overflow")
@pytest.mark.parametrize("name", list(EDGES))
def test_values_and_gradients_at_domain_edges(name):
    inputs, values, gradients = EDGES[name]
    x = leaf(inputs)
    y = getattr(mg, name)(x)
    np.testing.assert_allclose(y.numpy(), values, rtol=1e-15)
    (g,) = mg.grad(y.sum(), x)
    np.testing.assert_allclose(g.numpy(), gradients, rtol=1e-15)


def test_accurate_near_zero_and_in_the_tails():
    tiny = tensor(np.array([1e-10, -1e-12]))
    np.testing.assert_allclose(mg.log1p(tiny).numpy(), [1e-10 - 5e-21, -1e-12 - 5e-25],
                               rtol=1e-15)
    np.testing.assert_allclose(mg.expm1(tiny).numpy(), [1e-10 + 5e-21, -1e-12 + 5e-25],
                               rtol=1e-15)
    x = leaf([-800.0, -30.0, 0.0, 30.0, 800.0])
    y = F.logsigmoid(x)
    tail = math.log1p(math.exp(-30))  # 9.4e-14: log(1 + e^30) - 30, and log(1 + e^-30)
    expected = [-800.0, -30.0 - tail, -math.log(2), -tail, 0.0]
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-15, atol=0)
    (g,) = mg.grad(y.sum(), x)
    small = 1 / (1 + math.exp(30))
    np.testing.assert_allclose(g.numpy(), [1.0, 1 - small, 0.5, small, 0.0], rtol=1e-15, atol=0)
    m = F.mish(leaf([-800.0, 800.0]))
    assert m.numpy().tolist() == [0.0, 800.0]


# ---- activations: kinks, prelu, modules ----

# name: (function, inputs at the kinks, PyTorch's gradients there)
KINK_GRADIENTS = {
    "hardswish": (F.hardswish, [-3.0, 3.0, 0.0, -4.0, 4.0], [0.0, 1.0, 0.5, 0.0, 1.0]),
    "hardsigmoid": (F.hardsigmoid, [-3.0, 3.0, 0.0], [0.0, 0.0, 1 / 6]),
    "celu": (F.celu, [0.0, -1.0], [1.0, math.exp(-1)]),
    "selu": (F.selu, [0.0], [SELU_SCALE * SELU_ALPHA]),
    "threshold": (lambda x: F.threshold(x, 1.0, 5.0), [1.0, 2.0, 0.0], [0.0, 1.0, 0.0]),
    "softsign": (F.softsign, [0.0], [1.0]),
}


@pytest.mark.parametrize("name", list(KINK_GRADIENTS))
def test_gradients_at_kinks_are_pytorchs(name):
    fn, inputs, gradients = KINK_GRADIENTS[name]
    x = leaf(inputs)
    (g,) = mg.grad(fn(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), gradients, rtol=1e-15)


@pytest.mark.parametrize("x_shape, w_size", [((2, 3, 4), 3), ((2, 3, 4), 1), ((4, 5), 5),
                                             ((1, 2, 3, 3), 2), ((5,), 1), ((), 1)], ids=str)
def test_prelu(x_shape, w_size):
    x = leaf(sample(x_shape, -3, 3, avoid=(0,)))
    w = leaf(RNG.uniform(-0.5, 0.5, w_size))
    shape = (-1,) + (1,) * (len(x_shape) - 2) if w_size > 1 else ()
    expected = np.where(x.numpy() > 0, x.numpy(), w.numpy().reshape(shape) * x.numpy())
    np.testing.assert_allclose(F.prelu(x, w).numpy(), expected, rtol=1e-15)
    check(F.prelu, x, w)


def test_prelu_gradient_at_zero_and_bad_weights():
    x, w = leaf([0.0, -1.0, 2.0]), leaf([0.25])
    gx, gw = mg.grad(F.prelu(x, w).sum(), [x, w])
    assert gx.numpy().tolist() == [0.25, 0.25, 1.0] and gw.numpy().tolist() == [-1.0]
    with pytest.raises(mg.errors.ShapeError, match="per channel"):
        F.prelu(tensor(np.ones((2, 4))), tensor([0.1, 0.2]))
    with pytest.raises(RuntimeError, match="no channel axis"):
        F.prelu(tensor([1.0, -2.0]), tensor([0.1, 0.2]))


def test_softmin():
    x = leaf(sample((3, 4), -2, 2))
    e = np.exp(-x.numpy())
    np.testing.assert_allclose(F.softmin(x, dim=1).numpy(), e / e.sum(1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(F.softmin(x, 0).numpy(), e / e.sum(0, keepdims=True), rtol=1e-14)
    check(lambda x: F.softmin(x, dim=-1), x)


def test_celu_refuses_alpha_zero():
    with pytest.raises(ValueError, match="alpha"):
        F.celu(tensor([1.0]), alpha=0.0)


MODULES = [
    (lambda: nn.CELU(0.5), lambda x: F.celu(x, 0.5), "CELU(alpha=0.5)"),
    (nn.SELU, F.selu, "SELU()"),
    (nn.Mish, F.mish, "Mish()"),
    (nn.Hardswish, F.hardswish, "Hardswish()"),
    (lambda: nn.Hardsigmoid(inplace=True), F.hardsigmoid, "Hardsigmoid(inplace=True)"),
    (nn.Softsign, F.softsign, "Softsign()"),
    (nn.LogSigmoid, F.logsigmoid, "LogSigmoid()"),
    (lambda: nn.Threshold(0.1, 20.0), lambda x: F.threshold(x, 0.1, 20.0),
     "Threshold(threshold=0.1, value=20.0)"),
    (lambda: nn.Softmin(dim=1), lambda x: F.softmin(x, dim=1), "Softmin(dim=1)"),
]


@pytest.mark.parametrize("make, function, text", MODULES, ids=[m[2] for m in MODULES])
def test_activation_modules(make, function, text):
    module = make()
    assert repr(module) == text
    x = tensor(sample((2, 3, 4), -4, 4).astype(np.float32))
    y = module(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), function(x).numpy())


def test_prelu_module_learns_one_weight_per_channel():
    module = to_device(nn.PReLU(3, init=0.1))
    assert repr(module).startswith("PReLU(num_parameters=3)")
    assert module.weight.numpy().tolist() == pytest.approx([0.1] * 3)
    assert module.weight.dtype == np.float32 and [p for p in module.parameters()] == [module.weight]
    x = tensor(-np.ones((2, 3, 2), np.float32))
    module(x).sum().backward()
    np.testing.assert_array_equal(module.weight.grad.numpy(), [-4.0, -4.0, -4.0])


def test_inplace_activations_compute_out_of_place():
    """As for F.relu: the returned tensor holds the result, the input is left unchanged."""
    x = tensor(np.array([-1.0, 2.0, 4.0]))
    y = F.hardsigmoid(x, inplace=True)
    np.testing.assert_allclose(y.numpy(), [1 / 3, 5 / 6, 1.0])
    assert x.numpy().tolist() == [-1.0, 2.0, 4.0]
    with pytest.raises(RuntimeError, match="in-place"):
        F.celu(leaf([1.0]), inplace=True)


# ---- dtypes of integer and boolean inputs ----

FLOAT_FUNCTIONS = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
                   "atanh", "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "reciprocal"]


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")
@pytest.mark.parametrize("name", FLOAT_FUNCTIONS)
def test_float_functions_of_integers_give_float32(name):
    fn = getattr(mg, name)
    for values in ([0, 1, 2], [True, False]):
        y = fn(tensor(values))
        assert y.dtype == np.float32, (name, values)
        np.testing.assert_allclose(y.numpy(), fn(tensor(np.array(values, np.float32))).numpy())


def test_integer_and_boolean_dtypes_of_the_other_ops():
    i, b = tensor([-3, 0, 2]), tensor([True, False, True])
    for name in ("floor", "ceil", "trunc", "round"):
        y = getattr(mg, name)(i)
        assert y.dtype == np.int64 and y.numpy().tolist() == [-3, 0, 2]
        with pytest.raises(TypeError, match="boolean"):
            getattr(mg, name)(b)
    assert mg.sign(i).numpy().tolist() == [-1, 0, 1] and mg.sign(i).dtype == np.int64
    assert mg.sign(b).dtype == np.bool_ and mg.sign(b).numpy().tolist() == [True, False, True]
    assert mg.square(i).dtype == np.int64 and mg.square(b).dtype == np.int64
    assert mg.square(b).numpy().tolist() == [1, 0, 1]
    assert F.softsign(i).dtype == np.float32 and F.mish(i).dtype == np.float32
    assert F.threshold(i, 1, 0.5).dtype == np.int64
    with pytest.raises(TypeError, match="floating-point"):
        mg.frac(i)
    f32 = tensor(np.array([0.5, -0.25], np.float32))
    for name in FLOAT_FUNCTIONS[:6] + ["floor", "round", "sign", "frac", "square"]:
        assert getattr(mg, name)(f32).dtype == np.float32, name


# ---- predicates, logical and bitwise operations ----

def test_predicates():
    x = tensor([np.nan, np.inf, -np.inf, 0.0, -1.5])
    assert mg.isnan(x).numpy().tolist() == [True, False, False, False, False]
    assert mg.isinf(x).numpy().tolist() == [False, True, True, False, False]
    assert mg.isfinite(x).numpy().tolist() == [False, False, False, True, True]
    assert x.isposinf().numpy().tolist() == [False, True, False, False, False]
    assert x.isneginf().numpy().tolist() == [False, False, True, False, False]
    for name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf"):
        y = getattr(mg, name)(leaf([1.0, 2.0]))
        assert y.dtype == np.bool_ and not y.requires_grad
        assert getattr(mg, name)(tensor([1, 2])).dtype == np.bool_


def test_isclose_and_allclose():
    a = tensor([1.0, np.inf, np.nan, 1.0, 0.0])
    b = tensor([1.0 + 1e-6, np.inf, np.nan, 1.1, 1e-9])
    assert mg.isclose(a, b).numpy().tolist() == [True, True, False, False, True]
    assert a.isclose(b, equal_nan=True).numpy().tolist() == [True, True, True, False, True]
    assert mg.isclose(a, b, rtol=0.2).numpy().tolist() == [True, True, False, True, True]
    assert mg.isclose(a, b, 0, 0).numpy().tolist() == [False, True, False, False, False]
    assert mg.allclose(tensor([1.0, 2.0]), tensor([1.0, 2.0 + 1e-6])) is True
    assert tensor([1.0]).allclose(tensor([1.1])) is False
    assert mg.isclose(tensor(np.ones((2, 1))), tensor([1.0, 2.0])).shape == (2, 2)


def test_logical_operations():
    a, b = tensor([1.0, 0.0, 2.0, 0.0]), tensor([3, 0, 0, 1])
    assert mg.logical_and(a, b).numpy().tolist() == [True, False, False, False]
    assert mg.logical_or(a, b).numpy().tolist() == [True, False, True, True]
    assert a.logical_xor(b).numpy().tolist() == [False, False, True, True]
    assert mg.logical_not(a).numpy().tolist() == [False, True, False, True]
    assert mg.logical_and(a, b).dtype == np.bool_


def test_bitwise_operators_on_booleans_and_integers():
    i, j = tensor([5, -6, 12]), tensor([3, 3, 10])
    assert (i & j).numpy().tolist() == [1, 2, 8]
    assert (i | j).numpy().tolist() == [7, -5, 14]
    assert (i ^ j).numpy().tolist() == [6, -7, 6]
    assert (~i).numpy().tolist() == [-6, 5, -13]
    assert (i << 2).numpy().tolist() == [20, -24, 48] and (i >> 1).numpy().tolist() == [2, -3, 6]
    assert (1 << tensor([0, 3])).numpy().tolist() == [1, 8]
    assert (6 & i).numpy().tolist() == [4, 2, 4]
    p, q = tensor([True, True, False]), tensor([True, False, False])
    assert (p & q).numpy().tolist() == [True, False, False] and (p & q).dtype == np.bool_
    assert (p | q).numpy().tolist() == [True, True, False]
    assert (p ^ q).numpy().tolist() == [False, True, False]
    assert (~p).numpy().tolist() == [False, False, True]
    assert (p & True).dtype == np.bool_ and (p & 1).dtype == np.int64
    x = tensor([1.0, 2.0])
    mask = (x > 1) & (x < 3) | ~(x > 0)
    assert mask.numpy().tolist() == [False, True]
    for op in (lambda: x & 1, lambda: i | x, lambda: ~x, lambda: x << 1, lambda: i ^ 1.5):
        with pytest.raises(TypeError, match="boolean or integer"):
            op()


def test_in_place_operators():
    i = tensor([7, -7, 5])
    before = i
    i //= 2
    i %= 3
    i &= tensor([1, 1, 0])
    i |= 4
    i ^= 1
    assert i is before and i.numpy().tolist() == [5, 5, 5]  # [3 -4 2] [0 2 2] [0 0 0] [4 4 4]


def test_methods_and_aliases():
    x = leaf(sample((2, 3), -0.9, 0.9))
    for name in ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "atanh",
                 "exp2", "expm1", "log1p", "square", "floor", "ceil", "trunc", "round", "frac",
                 "sign", "sgn"):
        np.testing.assert_array_equal(getattr(x, name)().numpy(), getattr(mg, name)(x).numpy())
    for alias, name in (("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"),
                        ("arcsinh", "asinh"), ("arctanh", "atanh")):
        np.testing.assert_array_equal(getattr(x, alias)().numpy(), getattr(mg, name)(x).numpy())
        assert getattr(mg, alias) is getattr(mg, name)
    y = leaf(sample((2, 3), 1.5, 3))
    for name in ("acosh", "log2", "log10", "rsqrt", "reciprocal"):
        np.testing.assert_array_equal(getattr(y, name)().numpy(), getattr(mg, name)(y).numpy())
    for name in ("atan2", "arctan2", "remainder", "fmod", "floor_divide"):
        np.testing.assert_array_equal(getattr(x, name)(y).numpy(),
                                      getattr(mg, name)(x, y).numpy())
    assert ops.clamp is ops.clip
