"""The elementwise math of test_ops_math.py against PyTorch (skipped where it is not
installed): forward values, first- and second-order gradients in float64
(``compare_with_torch``), values in float32, PyTorch's values at the edges of domains and at
kinks, and the dtypes of integer and boolean inputs.
"""
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

from test_vs_torch import compare_with_torch

pytestmark = pytest.mark.cpu_only("compares with PyTorch on the CPU")
torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture
def rng():
    """Each test's own generator, seeded alike: its inputs do not depend on the tests before it."""
    return np.random.default_rng(2613)

# name: (ours, PyTorch's, sampling interval)
UNARY = {
    "sin": (mg.sin, torch.sin, (-4, 4)),
    "cos": (mg.cos, torch.cos, (-4, 4)),
    "tan": (mg.tan, torch.tan, (-1.4, 1.4)),
    "asin": (mg.asin, torch.asin, (-0.95, 0.95)),
    "acos": (mg.acos, torch.acos, (-0.95, 0.95)),
    "atan": (mg.atan, torch.atan, (-5, 5)),
    "sinh": (mg.sinh, torch.sinh, (-3, 3)),
    "cosh": (mg.cosh, torch.cosh, (-3, 3)),
    "asinh": (mg.asinh, torch.asinh, (-5, 5)),
    "acosh": (mg.acosh, torch.acosh, (1.05, 5)),
    "atanh": (mg.atanh, torch.atanh, (-0.95, 0.95)),
    "exp2": (mg.exp2, torch.exp2, (-3, 3)),
    "expm1": (mg.expm1, torch.expm1, (-3, 3)),
    "log2": (mg.log2, torch.log2, (0.1, 5)),
    "log10": (mg.log10, torch.log10, (0.1, 5)),
    "log1p": (mg.log1p, torch.log1p, (-0.9, 5)),
    "rsqrt": (mg.rsqrt, torch.rsqrt, (0.1, 5)),
    "square": (mg.square, torch.square, (-3, 3)),
    "reciprocal": (mg.reciprocal, torch.reciprocal, (0.2, 3)),
    "frac": (mg.frac, torch.frac, (-3, 3)),
    "nan_to_num": (mg.nan_to_num, torch.nan_to_num, (-3, 3)),
    "celu": (F.celu, TF.celu, (-3, 3)),
    # an alpha whose inverse is exact in float32: PyTorch's gradient uses 1 / alpha rounded to
    # float32 (3e-7 off for alpha 0.3, also in float64); minigrad's is exact
    "celu alpha 0.25": (lambda x: F.celu(x, 0.25), lambda x: TF.celu(x, 0.25), (-3, 3)),
    "selu": (F.selu, TF.selu, (-3, 3)),
    "mish": (F.mish, TF.mish, (-25, 25)),
    "hardswish": (F.hardswish, TF.hardswish, (-5, 5)),
    # PyTorch's hardsigmoid gradient is 1/6 rounded to float32, also in float64; relu6's
    # composition has the same kinks and the exact slope (TF.hardsigmoid: see the kink test)
    "hardsigmoid": (F.hardsigmoid, lambda x: TF.relu6(x + 3) / 6, (-5, 5)),
    "softsign": (F.softsign, TF.softsign, (-5, 5)),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, (-40, 40)),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0),
                  (-3, 3)),
    "softmin": (lambda x: F.softmin(x, dim=1), lambda x: TF.softmin(x, dim=1), (-3, 3)),
}


# rounding: piecewise constant, gradients zero (PyTorch's have no second order to compare)
ROUNDING = {
    "floor": (mg.floor, torch.floor, (-3, 3)),
    "ceil": (mg.ceil, torch.ceil, (-3, 3)),
    "trunc": (mg.trunc, torch.trunc, (-3, 3)),
    "round": (mg.round, torch.round, (-3, 3)),
    "round decimals 2": (lambda x: mg.round(x, decimals=2), lambda x: torch.round(x, decimals=2),
                         (-3, 3)),
    "round decimals -1": (lambda x: mg.round(x, decimals=-1),
                          lambda x: torch.round(x, decimals=-1), (-300, 300)),
    "sign": (mg.sign, torch.sign, (-3, 3)),
    "sgn": (mg.sgn, torch.sgn, (-3, 3)),
}


def first_order_vs_torch(ours, theirs, values, rtol=1e-15):
    """Values and first derivatives at float64 ``values`` (also where PyTorch has no second
    order: rounding, kinks)."""
    x = mg.tensor(np.asarray(values, np.float64), requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "divide by zero|invalid value|overflow", RuntimeWarning)
        y = ours(x)
        (g,) = mg.grad(y.sum(), x, create_graph=True)
    ty = theirs(t)
    (tg,) = torch.autograd.grad(ty.sum(), t)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-15, atol=1e-300)
    # force: sgn's gradient is a ZeroTensor, which numpy() otherwise refuses
    np.testing.assert_allclose(g.numpy(), tg.numpy(force=True), rtol=rtol, atol=1e-300)
    return x, g


@pytest.mark.parametrize("name", list(ROUNDING))
def test_rounding_vs_torch(name, rng):
    """Values in float64 and float32 (halves to even; decimals as PyTorch computes them), zero
    gradients, and a zero second order here."""
    ours, theirs, (low, high) = ROUNDING[name]
    values = np.concatenate([rng.uniform(low, high, 20), np.arange(-6, 7) / 4 * (high / 3),
                             [np.inf, -np.inf, np.nan, -0.0]])
    x, g = first_order_vs_torch(ours, theirs, values)
    assert not g.requires_grad  # zero: a constant
    x32 = values.astype(np.float32)
    np.testing.assert_array_equal(ours(mg.tensor(x32)).numpy(), theirs(torch.tensor(x32)).numpy())


def sample(rng, shape, low, high):
    """Values in [low, high], none within 0.02 of a multiple of 1/2 (the jumps and kinks of
    the rounding functions and activations, where finite differences do not apply)."""
    values = rng.uniform(low, high, shape)
    off = np.abs(values * 2 - np.round(values * 2)) < 0.04
    return np.where(off, values + 0.1, values)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_vs_torch(name, rng):
    ours, theirs, (low, high) = UNARY[name]
    compare_with_torch(ours, theirs, [sample(rng, (3, 5), low, high)])
    x32 = sample(rng, (4, 7), low, high).astype(np.float32)
    np.testing.assert_allclose(ours(mg.tensor(x32)).numpy(), theirs(torch.tensor(x32)).numpy(),
                               rtol=2e-6, atol=1e-7)
    assert ours(mg.tensor(x32)).dtype == np.float32


BROADCASTS = [((3, 4), (3, 4)), ((2, 1, 3), (4, 1)), ((5,), ())]
BINARY = {
    "atan2": (mg.atan2, torch.atan2),
    "remainder": (mg.remainder, torch.remainder),
    "fmod": (mg.fmod, torch.fmod),
    "clamp": (lambda x, low: mg.clamp(x, low, low + 1.0),
              lambda x, low: torch.clamp(x, low, low + 1.0)),
    "clamp min": (lambda x, low: mg.clamp(x, min=low), lambda x, low: torch.clamp(x, min=low)),
    "clamp max": (lambda x, high: x.clamp(max=high), lambda x, high: torch.clamp(x, max=high)),
    "prelu": (F.prelu, TF.prelu),
}


@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_vs_torch(name, shapes, rng):
    ours, theirs = BINARY[name]
    if name == "prelu":
        shapes = {(3, 4): ((3, 4), (4,)), (2, 1, 3): ((2, 3, 4, 1), (3,))}.get(shapes[0],
                                                                             ((5,), (1,)))
    a = rng.uniform(-4, 4, shapes[0])
    b = rng.uniform(0.5, 2, shapes[1]) * rng.choice([-1, 1], shapes[1])
    if name in ("remainder", "fmod"):  # away from the jumps, where a / b is whole
        q = a / b
        a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.2 * np.abs(b), a)
    compare_with_torch(ours, theirs, [a, b])


def test_clamp_ties_and_crossed_bounds_vs_torch():
    """The one difference: where x < low == high, PyTorch gives the gradient to neither
    bound, minigrad to low. Everything else (low > high, x on a bound) is PyTorch's."""
    x, low, high = [1.0, 2.0, 3.0, 2.0, 5.0, 1.5], [2.0] * 6, [2.5, 1.0, 4.0, 2.0, 4.0, 1.0]
    compare_with_torch(mg.clamp, torch.clamp, [np.array(v) for v in (x, low, high)])


def test_floor_divide_values_vs_torch(rng):
    a, b = rng.uniform(-9, 9, (4, 5)), rng.uniform(0.3, 3, (5,)) * rng.choice([-1, 1], 5)
    np.testing.assert_array_equal((mg.tensor(a) // mg.tensor(b)).numpy(),
                                  (torch.tensor(a) // torch.tensor(b)).numpy())
    np.testing.assert_array_equal(mg.tensor([1.0, 0.1]).__rfloordiv__(1.0).numpy(),
                                  (1.0 // torch.tensor([1.0, 0.1])).numpy())


EDGE_INPUTS = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, np.inf, -np.inf, np.nan, 1e-300, 800.0,
               -800.0, 3.0, -3.0, 6.0]
EDGE_OPS = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
            "atanh", "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "square", "reciprocal",
            "frac", "nan_to_num", "celu", "selu", "mish", "hardswish", "hardsigmoid", "softsign",
            "logsigmoid"]


@pytest.mark.parametrize("name", EDGE_OPS)
def test_values_and_gradients_at_edges_vs_torch(name):
    """At the edges of domains, infinities, NaN, zeros of both signs and kinks: PyTorch's
    values and first derivatives (NumPy's warnings there are filtered, as for log(0))."""
    ours, theirs, _ = UNARY[name]
    first_order_vs_torch(ours, theirs, EDGE_INPUTS, rtol=1e-14)


KINKS = [-3.0, 3.0, 0.0, 0.5, -0.0, -1.0]


@pytest.mark.parametrize("name", ["hardswish", "celu", "selu", "threshold", "softsign", "mish",
                                  "logsigmoid"])
def test_kink_gradients_vs_torch(name):
    """At the kinks, PyTorch's first derivatives; the second order too, except at x = 0 for
    celu and selu, whose second derivative there PyTorch takes from the right (0) and
    minigrad's elu from the left (1 / alpha), where the first derivative is taken too."""
    ours, theirs, _ = UNARY[name]
    first_order_vs_torch(ours, theirs, KINKS, rtol=1e-14)
    kinks = [k for k in KINKS if k != 0] if name in ("celu", "selu") else KINKS
    compare_with_torch(ours, theirs, [np.array(kinks)])


def test_hardsigmoid_vs_torchs_own(rng):
    """TF.hardsigmoid: the same values; its slope 1/6 is rounded to float32 (also in float64),
    so the gradients agree to float32's precision only."""
    first_order_vs_torch(F.hardsigmoid, TF.hardsigmoid, KINKS + list(rng.uniform(-5, 5, 20)),
                         rtol=1e-7)


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")
@pytest.mark.parametrize("name", ["sin", "asin", "atanh", "exp2", "expm1", "log2", "log10",
                                  "log1p", "rsqrt", "reciprocal", "square", "floor", "ceil",
                                  "trunc", "round", "sign", "sgn", "nan_to_num", "isnan", "isinf",
                                  "isfinite", "isposinf", "isneginf", "logical_not",
                                  "bitwise_not"])
@pytest.mark.parametrize("values", [[-3, 0, 2], [True, False]], ids=["int64", "bool"])
def test_integer_and_boolean_inputs_vs_torch(name, values):
    """The same dtype and values as PyTorch, or an error where PyTorch has one."""
    try:
        expected = getattr(torch, name)(torch.tensor(values))
    except (RuntimeError, TypeError):
        with pytest.raises((RuntimeError, TypeError)):
            getattr(mg, name)(mg.tensor(values))
        return
    got = getattr(mg, name)(mg.tensor(values))
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    # float32 results of two libms may differ in the last place
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=2e-7, atol=0)


OPERATORS = {
    "//": lambda a, b: a // b, "%": lambda a, b: a % b, "&": lambda a, b: a & b,
    "|": lambda a, b: a | b, "^": lambda a, b: a ^ b, "<<": lambda a, b: a << b,
    ">>": lambda a, b: a >> b,
}
OPERANDS = [([7, -7, 12], [2, 3, -5]), ([7, -7, 12], 3), (5, [2, 3, -4]),
            ([True, False, True], [True, True, False]), ([True, False], 1),
            ([7.5, -7.0], [2, 3]), ([7, -7], 2.5)]


@pytest.mark.parametrize("a, b", OPERANDS, ids=str)
@pytest.mark.parametrize("symbol", list(OPERATORS))
def test_operators_dtypes_and_values_vs_torch(symbol, a, b):
    op = OPERATORS[symbol]
    wrap = lambda v, make: make(v) if isinstance(v, list) else v  # noqa: E731
    try:
        expected = op(wrap(a, torch.tensor), wrap(b, torch.tensor))
    except (RuntimeError, TypeError):
        with pytest.raises((RuntimeError, TypeError)):
            op(wrap(a, mg.tensor), wrap(b, mg.tensor))
        return
    got = op(wrap(a, mg.tensor), wrap(b, mg.tensor))
    assert str(got.dtype) == str(expected.dtype).replace("torch.", ""), (a, b)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_predicates_vs_torch():
    a = np.array([1.0, np.inf, np.nan, 1.0, 0.0, -np.inf, 1e-9, 100.0])
    b = np.array([1.0 + 1e-6, np.inf, np.nan, 1.1, 1e-9, np.inf, 0.0, 100.001])
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 0.2}, {"rtol": 0, "atol": 0}):
        np.testing.assert_array_equal(mg.isclose(mg.tensor(a), mg.tensor(b), **kwargs).numpy(),
                                      torch.isclose(torch.tensor(a), torch.tensor(b), **kwargs))
        assert (mg.allclose(mg.tensor(a[:2]), mg.tensor(b[:2]), **kwargs)
                == torch.allclose(torch.tensor(a[:2]), torch.tensor(b[:2]), **kwargs))
    for name in ("logical_and", "logical_or", "logical_xor"):
        x, y = np.array([1.0, 0.0, 2.0, 0.0]), np.array([3, 0, 0, 1])
        np.testing.assert_array_equal(getattr(mg, name)(mg.tensor(x), mg.tensor(y)).numpy(),
                                      getattr(torch, name)(torch.tensor(x), torch.tensor(y)))
    c = np.array([np.nan, np.inf, -np.inf, 2.0], np.float32)
    for kwargs in ({}, {"nan": 1.0, "posinf": 9.0}, {"neginf": -5.0}):
        np.testing.assert_array_equal(mg.nan_to_num(mg.tensor(c), **kwargs).numpy(),
                                      torch.nan_to_num(torch.tensor(c), **kwargs))


def test_modules_vs_torch(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32) * 3
    pairs = [(mg.nn.CELU(0.7), torch.nn.CELU(0.7)), (mg.nn.SELU(), torch.nn.SELU()),
             (mg.nn.Mish(), torch.nn.Mish()), (mg.nn.Hardswish(), torch.nn.Hardswish()),
             (mg.nn.Hardsigmoid(), torch.nn.Hardsigmoid()),
             (mg.nn.Softsign(), torch.nn.Softsign()),
             (mg.nn.LogSigmoid(), torch.nn.LogSigmoid()),
             (mg.nn.Threshold(0.1, 20.0), torch.nn.Threshold(0.1, 20.0)),
             (mg.nn.Softmin(dim=1), torch.nn.Softmin(dim=1)), (mg.nn.PReLU(3), torch.nn.PReLU(3))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(mg.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=2e-6, atol=1e-7,
                                   err_msg=repr(ours))
        assert repr(ours).split("  #")[0] == repr(theirs), repr(ours)
