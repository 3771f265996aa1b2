"""Gradient checks of the elementwise operations and activations.

Every op is checked to first order (``mg.gradcheck``) and second order (``mg.gradgradcheck``)
against central finite differences in float64, with the default tolerances. Binary ops are
checked under NumPy broadcasting and with Python scalars on either side; inputs are kept away
from the kinks of abs / relu / clip / maximum, where finite differences mean nothing.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import backend, ops
from minigrad.errors import ShapeError

from devices import array_on_device, leaf, other_device, tensor, zeros


def check(fn, *inputs):
    """First- and second-order finite-difference checks of ``fn`` at ``inputs``."""
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def away_from(x, points, margin=0.1):
    """``x`` with every value closer than ``margin`` to a kink in ``points`` pushed past it."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < margin
        x[near] = p + np.where(x[near] >= p, margin, -margin) * 1.5
    return x


def nonzero(rng, shape, low=0.5, high=2.0):
    """Random values with |x| in [low, high]: safe divisors, away from 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


# Shape pairs on which every binary op is checked: equal, NumPy broadcasting in both
# directions, a scalar-shaped operand, and an odd-sized batch.
BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 1), (4,)),
    ((2, 1, 5), (3, 1)),
    ((5,), (2, 3, 1)),
    ((), (2, 3)),
    ((1, 3), (1, 1)),
]

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
def test_binary_op_with_broadcasting(name, shapes):
    """+ - * / : gradients summed back to each operand's own shape (catches a missed unbroadcast)."""
    rng = np.random.default_rng(0)
    a, b = leaf(nonzero(rng, shapes[0])), leaf(nonzero(rng, shapes[1]))
    out = BINARY[name](a, b)
    np.testing.assert_allclose(out.numpy(), BINARY[name](a.numpy(), b.numpy()), rtol=1e-12)
    check(BINARY[name], a, b)


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
def test_pow_tensor_exponent_with_broadcasting(shapes):
    """a ** b with both a tensor: d/da = b a^(b-1) and d/db = a^b log a, broadcast."""
    rng = np.random.default_rng(1)
    a = leaf(rng.uniform(0.5, 2.0, shapes[0]))
    b = leaf(rng.uniform(-2.0, 2.0, shapes[1]))
    np.testing.assert_allclose((a ** b).numpy(), a.numpy() ** b.numpy(), rtol=1e-12)
    check(lambda a, b: a ** b, a, b)


SCALAR_SIDES = {
    "x + 2": lambda x: x + 2,
    "2 + x": lambda x: 2 + x,
    "x - 2.5": lambda x: x - 2.5,
    "2.5 - x": lambda x: 2.5 - x,
    "x * 3": lambda x: x * 3,
    "3 * x": lambda x: 3 * x,
    "x / 3": lambda x: x / 3,
    "3 / x": lambda x: 3 / x,
    "x ** 2": lambda x: x ** 2,
    "x ** 3 (negative base)": lambda x: x ** 3,
    "x ** -1.5 (x > 0)": lambda x: x ** -1.5,
    "x ** 0.5 (x > 0)": lambda x: x ** 0.5,
    "2 ** x": lambda x: 2 ** x,
    "0.5 ** x": lambda x: 0.5 ** x,
    "np.float64(2) - x": lambda x: np.float64(2.0) - x,
    "np.float64(2) * x": lambda x: np.float64(2.0) * x,
    "np.float64(2) / x": lambda x: np.float64(2.0) / x,
}


@pytest.mark.parametrize("name", list(SCALAR_SIDES))
def test_python_scalar_on_either_side(name):
    """Reflected operators and scalar exponents: a scalar operand is a constant of the tensor's dtype."""
    rng = np.random.default_rng(2)
    x = leaf(rng.uniform(0.5, 2.0, (3, 5)) if "x > 0" in name else nonzero(rng, (3, 5)))
    fn = SCALAR_SIDES[name]
    out = fn(x)
    assert out.dtype == np.float64 and out.shape == (3, 5)
    np.testing.assert_allclose(out.numpy(), fn(x.numpy()), rtol=1e-12)
    check(fn, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
def test_python_scalar_follows_pytorch_promotion(dtype):
    """A Python scalar never widens a float tensor (NumPy 2's rule and PyTorch's) and is never
    truncated to an integer dtype, so int_tensor * 0.5 is not 0 and uint8_images * (1 / 255)
    is not all zeros; a float with an integer tensor gives float32, PyTorch's default float
    (NumPy would give float64). Values are NumPy's."""
    array = np.array([0, 1, 2, 3, 255], dtype=dtype)
    x = tensor(array)
    float_result = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float32)
    cases = {
        "x * 0.5": lambda x: x * 0.5, "0.5 * x": lambda x: 0.5 * x, "x * (1 / 255)": lambda x: x * (1 / 255),
        "x + 0.25": lambda x: x + 0.25, "x - 0.5": lambda x: x - 0.5, "x / 2": lambda x: x / 2,
        "x >= 1.5": lambda x: x >= 1.5, "x == 2.5": lambda x: x == 2.5, "x < 0.5": lambda x: x < 0.5,
        "maximum(x, 1.5)": lambda x: mg.maximum(x, 1.5) if isinstance(x, mg.Tensor) else np.maximum(x, 1.5),
    }
    for name, fn in cases.items():
        expected, out = fn(array), fn(x)
        wanted = bool if expected.dtype == bool else float_result
        assert out.dtype == wanted, f"{name}: dtype {out.dtype}, PyTorch gives {wanted}"
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, err_msg=name)


def test_numpy_array_on_the_left():
    """ndarray (op) Tensor defers to the Tensor's reflected operators and stays in the graph."""
    rng = np.random.default_rng(19)
    m, x = rng.uniform(0.5, 2.0, (2, 3)), leaf(rng.uniform(0.5, 2.0, (2, 3)))
    for fn in (lambda x: m + x, lambda x: m - x, lambda x: m * x, lambda x: m / x, lambda x: m ** x):
        out = fn(x)
        assert isinstance(out, mg.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.numpy(), fn(x.numpy()), rtol=1e-12)
        check(fn, x)


def test_neg():
    """Unary minus."""
    check(lambda x: -x, leaf(np.random.default_rng(3).standard_normal((3, 5))))


UNARY = {
    # name: (function, numpy reference, input maker)
    "exp": (mg.exp, np.exp, lambda r: r.standard_normal((3, 5))),
    "log": (mg.log, np.log, lambda r: r.uniform(0.3, 3.0, (3, 5))),
    "sqrt": (mg.sqrt, np.sqrt, lambda r: r.uniform(0.3, 3.0, (3, 5))),
    "abs": (mg.abs, np.abs, lambda r: nonzero(r, (3, 5), 0.1, 2.0)),
    "tanh": (mg.tanh, np.tanh, lambda r: 2 * r.standard_normal((3, 5))),
    "sigmoid": (mg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), lambda r: 3 * r.standard_normal((3, 5))),
    "softplus": (F.softplus, lambda x: np.log1p(np.exp(x)), lambda r: 3 * r.standard_normal((3, 5))),
    "relu": (F.relu, lambda x: np.maximum(x, 0), lambda r: nonzero(r, (3, 5), 0.1, 2.0)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
                   lambda r: nonzero(r, (3, 5), 0.1, 2.0)),
    "leaky_relu default slope": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x),
                                 lambda r: nonzero(r, (3, 5), 0.1, 2.0)),
    "F.tanh": (F.tanh, np.tanh, lambda r: r.standard_normal((3, 5))),
    "F.sigmoid": (F.sigmoid, lambda x: 1 / (1 + np.exp(-x)), lambda r: r.standard_normal((3, 5))),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary(name):
    """exp, log, sqrt, abs and the activations: forward against NumPy, first and second order."""
    fn, reference, make = UNARY[name]
    x = leaf(make(np.random.default_rng(4)))
    np.testing.assert_allclose(fn(x).numpy(), reference(x.numpy()), rtol=1e-12, atol=1e-15)
    check(fn, x)


def test_relu_of_infinities():
    """relu(-inf) is 0 and relu(inf) is inf, as np.maximum(x, 0) (not NaN from -inf * 0)."""
    x = tensor(np.array([-np.inf, -1.0, 2.0, np.inf]))
    np.testing.assert_array_equal(F.relu(x).numpy(), [0.0, 0.0, 2.0, np.inf])


@pytest.mark.cpu_only("compares the CPU's compiled sign_scale with NumPy's where")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_sign_scale_equals_where_in_every_layout(dtype):
    """backend.sign_scale (the leaky ReLU's one pass) gives where(x > 0, v, v * a) bit for bit
    whatever the layouts: NCHW views of (C, H, W, N) memory as the convolutions hand out,
    values laid out unlike the signs, broadcast, sliced and reversed arrays, and 0-d; and the
    result is laid out as NumPy's values * slope, so that the sums downstream add in the same
    order as they did before the compiled path (tests/wgan/test_compat.py)."""
    rng = np.random.default_rng(6)
    slope = dtype(0.2)
    chwn = rng.standard_normal((3, 4, 5, 2)).astype(dtype)
    nchw = chwn.transpose(3, 0, 1, 2)
    other = rng.standard_normal((2, 3, 4, 5)).astype(dtype)
    cases = [(nchw, nchw), (other, nchw), (nchw, other),
             (other[:, :, ::2, ::-1], other[:, :, 1::2]),
             (np.broadcast_to(dtype(1.5), (2, 3, 4, 5)), nchw),
             (nchw, np.broadcast_to(other[:1], (2, 3, 4, 5))),
             (np.array(-2.0, dtype), np.array(-1.0, dtype)),
             (np.array([1.0, 2.0, -0.0, 3.0, np.nan], dtype),
              np.array([0.0, -0.0, -1.0, np.nan, 1.0], dtype))]
    for values, signs in cases:
        expected = np.where(signs > 0, values, values * slope)
        got = backend.sign_scale(values, signs, slope)
        assert got.dtype == dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
        assert np.array_equal(np.signbit(got), np.signbit(expected))
        assert got.strides == (values * slope).strides  # laid out as NumPy lays out v * s


def test_leaky_relu_of_other_dtypes_and_0d():
    """float16 and integer tensors, and 0-d ones, take the array-module path: the same values
    as where(x > 0, x, a * x)."""
    for x in (np.array(-2.0, np.float16), np.array([-3.0, 0.0, 2.5], np.float16),
              np.array(-1.0), np.array([-4, 0, 3])):
        np.testing.assert_array_equal(F.leaky_relu(tensor(x), 0.25).numpy(),
                                      np.where(x > 0, x, x.dtype.type(0.25) * x))
    x = leaf(np.array(-2.0))
    (g,) = mg.grad(F.leaky_relu(x, 0.25), x)
    assert g.item() == 0.25


def test_leaky_relu_refuses_its_input_changed_in_place_before_backward():
    """The rule reads the input's signs, so changing the input in place first is refused (as
    for every op whose rule reads its input; PyTorch refuses it too)."""
    x = leaf(np.array([-1.0, 2.0]))
    h = x * 1.0
    y = F.leaky_relu(h, 0.2)
    with mg.no_grad():
        h *= -1.0
    with pytest.raises(RuntimeError, match="changed by an in-place operation after .leaky_relu."):
        y.sum().backward()


def test_tensor_methods_match_functions():
    """x.exp() etc. are the same ops as mg.exp(x) (the methods are part of the public API)."""
    rng = np.random.default_rng(5)
    x = leaf(rng.uniform(0.5, 2.0, (2, 3)))
    check(lambda x: x.exp() * x.log() + x.sqrt() * x.tanh() - x.sigmoid() + x.abs() * x.relu(), x)


def test_sigmoid_and_softplus_do_not_overflow():
    """Large |x| gives finite values and gradients (no exp overflow in the forward or backward)."""
    x = leaf([-800.0, -40.0, 0.5, 40.0, 800.0])
    for fn in (mg.sigmoid, F.softplus):
        y = fn(x)
        (g,) = mg.grad(y.sum(), x)
        assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(g.numpy()))
    np.testing.assert_allclose(F.softplus(x).numpy()[[0, 4]], [0.0, 800.0], atol=1e-300)


def _separated_pair(rng, shape_a, shape_b):
    """Two arrays whose broadcast differences are all at least 0.2: no ties for max/min."""
    a = 0.4 * rng.integers(-4, 5, shape_a)
    b = 0.4 * rng.integers(-4, 5, shape_b) + 0.2
    return a, b


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
def test_maximum_minimum(name, shapes):
    """Elementwise max/min route the gradient to the winner, under broadcasting."""
    rng = np.random.default_rng(6)
    a, b = _separated_pair(rng, *shapes)
    a, b = leaf(a), leaf(b)
    fn = getattr(mg, name)
    np.testing.assert_array_equal(fn(a, b).numpy(), getattr(np, name)(a.numpy(), b.numpy()))
    check(fn, a, b)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_with_scalar(name):
    """max(x, 0.3) and max(0.3, x): a Python scalar on either side."""
    x = leaf(away_from(np.random.default_rng(7).standard_normal((3, 4)), [0.3]))
    fn = getattr(mg, name)
    check(lambda x: fn(x, 0.3), x)
    check(lambda x: fn(0.3, x), x)


def test_maximum_minimum_ties_split_the_gradient():
    """As PyTorch: where a == b each operand gets half the gradient (none is lost or doubled),
    so maximum(x, 0) has gradient 0.5 at 0; second order through the tie masks is 0."""
    a, b = leaf([1.0, 2.0, 3.0, 0.0]), leaf([1.0, 5.0, -3.0, 0.0])
    ga, gb = mg.grad(mg.maximum(a, b).sum(), [a, b])
    np.testing.assert_array_equal(ga.numpy(), [0.5, 0.0, 1.0, 0.5])
    np.testing.assert_array_equal(gb.numpy(), [0.5, 1.0, 0.0, 0.5])
    ga, gb = mg.grad(mg.minimum(a, b).sum(), [a, b])
    np.testing.assert_array_equal(ga.numpy(), [0.5, 1.0, 0.0, 0.5])
    np.testing.assert_array_equal(gb.numpy(), [0.5, 0.0, 1.0, 0.5])
    x = leaf([-1.0, 0.0, 2.0])
    (g,) = mg.grad(mg.maximum(x, 0).sum(), x)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.5, 1.0])
    (g,) = mg.grad(mg.minimum(0.0, x).sum(), x)
    np.testing.assert_array_equal(g.numpy(), [1.0, 0.5, 0.0])


@pytest.mark.parametrize("exponent", [0, 0.0, 1, 2, 3])
def test_integer_powers_at_zero_are_finite_to_second_order(exponent):
    """x ** 0 has gradient 0 even at x = 0 (PyTorch), and x ** 1, x ** 2, x ** 3 have their
    exact first and second derivatives there (b a^(b-1) with 0 * 0^-1 would be NaN)."""
    x = leaf([0.0, 0.0, 1.5, -2.0])
    (g1,) = mg.grad((x ** exponent).sum(), x, create_graph=True)
    (g2,) = mg.grad(g1.sum(), x)
    b, v = exponent, x.numpy()
    np.testing.assert_allclose(g1.numpy(), b * np.where(v == 0, float(b == 1), v ** max(b - 1, 0)))
    np.testing.assert_allclose(g2.numpy(), b * (b - 1) * np.where(v == 0, float(b == 2), v ** max(b - 2, 0)))
    check(lambda x: x ** exponent, x)


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")
def test_gradient_of_a_power_of_zero_with_respect_to_the_exponent():
    """d(0 ** y)/dy is 0 for y >= 0 (PyTorch's convention), not NaN or -inf; a zero tensor
    exponent gives 0 for the base too, and the second order is finite where the first
    derivatives are (0 ** 0.5 has an infinite derivative in the base, rightly)."""
    base, y = leaf([0.0, 0.0, 0.0, 2.0]), leaf([0.0, 0.5, 2.0, 1.5])
    out = base ** y
    gb, gy = mg.grad(out.sum(), [base, y], create_graph=True)
    np.testing.assert_array_equal(gy.numpy()[:3], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(gy.numpy()[3], 2.0 ** 1.5 * np.log(2.0), rtol=1e-14)
    np.testing.assert_array_equal(gb.numpy()[:3], [0.0, np.inf, 0.0])
    smooth = [0, 2, 3]
    second = mg.grad((gy * gy)[smooth].sum() + gb[smooth].sum(), [base, y])
    for h in second:
        assert np.isfinite(h.numpy()[smooth]).all()


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((3, 4), (3, 1), (4,)),
                                    ((2, 3, 1), (1, 4), (3, 1)), ((5,), (), (5,)),
                                    ((2, 3, 4), (4,), ())], ids=str)
def test_where(shapes):
    """where(cond, a, b): a's gradient where cond holds, b's elsewhere, under broadcasting."""
    rng = np.random.default_rng(8)
    cond_shape, a_shape, b_shape = shapes
    cond = rng.random(cond_shape) < 0.5
    a, b = leaf(rng.standard_normal(a_shape)), leaf(rng.standard_normal(b_shape))
    np.testing.assert_array_equal(mg.where(cond, a, b).numpy(), np.where(cond, a.numpy(), b.numpy()))
    check(lambda a, b: mg.where(cond, a, b), a, b)


@pytest.mark.parametrize("a, b, dtype", [(1, 3, np.int64), (1.0, 3.0, np.float32), (1, 3.5, np.float32),
                                         (True, False, bool), (True, 2, np.int64)])
def test_where_with_two_python_numbers(a, b, dtype):
    """where(cond, 1, 3): PyTorch's dtype for the two numbers, on the condition's device."""
    cond = tensor(np.array([True, False, True]))
    out = mg.where(cond, a, b)
    assert out.dtype == dtype and out.device == cond.device
    np.testing.assert_array_equal(out.numpy(), np.where(cond.numpy(), a, b))
    assert mg.where(np.array([False, True]), a, b).numpy().tolist() == [b, a]


def test_where_with_tensor_condition_and_scalar():
    """A comparison tensor as the condition and a Python scalar as one branch."""
    x = leaf(away_from(np.random.default_rng(9).standard_normal((4, 3)), [0.0]))
    check(lambda x: mg.where(x > 0, x * x, 0.5), x)
    check(lambda x: mg.where(x > 0, -1.0, x.exp()), x)


@pytest.mark.parametrize("low, high", [(-0.5, 0.5), (None, 0.2), (-0.2, None)])
def test_clip(low, high):
    """clip passes the gradient only inside [low, high] (values kept off the bounds)."""
    kinks = [v for v in (low, high) if v is not None]
    x = leaf(away_from(np.random.default_rng(10).uniform(-1.5, 1.5, (4, 5)), kinks))
    np.testing.assert_array_equal(mg.clip(x, low, high).numpy(), np.clip(x.numpy(), low, high))
    check(lambda x: mg.clip(x, low, high) * x, x)


def test_clamp_promotes_number_bounds_as_pytorch_and_takes_its_keywords():
    """An integer tensor clamped to float bounds gives float32 (PyTorch's rule, not NumPy's
    float64), a NumPy float64 bound counts as a number; clip is clamp with min= / max=;
    hardtanh keeps the dtype; flip takes dims=."""
    ints = tensor(np.array([-3, 1, 5]))
    clamped = ints.clamp(0.5, 2.5)
    assert clamped.dtype == np.float32
    np.testing.assert_array_equal(clamped.numpy(), [0.5, 1.0, 2.5])
    assert tensor(np.array([1.0, 5.0], np.float32)).clamp(np.float64(0.5)).dtype == np.float32
    np.testing.assert_array_equal(ints.clip(min=1).numpy(), [1, 1, 5])
    np.testing.assert_array_equal(mg.clip(ints, max=2).numpy(), [-3, 1, 2])
    assert F.hardtanh(ints).dtype == np.int64
    np.testing.assert_array_equal(F.hardtanh(ints, -0.5, 2.5).numpy(), [0, 1, 2])
    np.testing.assert_array_equal(ints.flip(dims=(0,)).numpy(), [5, 1, -3])
    np.testing.assert_array_equal(mg.flip(ints, dims=0).numpy(), [5, 1, -3])
    x = leaf([[0.3, -2.0, 1.7], [0.9, 2.5, -0.1]])
    check(lambda x: x.clip(min=-1.0, max=1.0) * x.flip(dims=(-1,)), x)


def test_non_contiguous_elementwise():
    """Transposed (non-contiguous) leaves: forward equals the contiguous result, gradients check."""
    rng = np.random.default_rng(11)
    a_data, b_data = rng.standard_normal((5, 3)).T, nonzero(rng, (5, 3)).T
    a = mg.Tensor._wrap(array_on_device(a_data.T).T, requires_grad=True)  # transposed on the device
    b = mg.Tensor._wrap(array_on_device(b_data.T).T, requires_grad=True)
    assert not a.array.flags.c_contiguous and not b.array.flags.c_contiguous

    def fn(a, b):
        return (a * b + a / b - b ** 2).exp() * mg.tanh(a) + mg.maximum(a, 0.05) * a.sum(axis=0)

    contiguous = fn(leaf(np.ascontiguousarray(a_data)), leaf(np.ascontiguousarray(b_data)))
    np.testing.assert_allclose(fn(a, b).numpy(), contiguous.numpy(), rtol=1e-13)
    check(fn, a, b)


@pytest.mark.cpu_only("long double is a host type: CuPy has no float128")
def test_astype_roundtrip_through_longdouble():
    """astype casts forward and casts the gradient back (checked through a wider float type)."""
    x = leaf(np.random.default_rng(12).standard_normal((3, 4)))

    def fn(x):
        wide = x.astype(np.longdouble)
        return (wide * wide.exp()).astype(np.float64)

    y = fn(x)
    assert y.dtype == np.float64
    check(fn, x)


def test_astype_to_integer_gives_a_constant():
    """Casting a tensor that requires grad to an integer dtype gives plain integer values that are
    not part of the graph (there is no integer gradient), as x.long() in PyTorch; it is no error."""
    x = leaf([1.5, -2.5, 3.0])
    i = x.astype(np.int64)
    assert i.dtype == np.int64 and not i.requires_grad
    np.testing.assert_array_equal(i.numpy(), [1, -2, 3])


def test_astype_float32_gradient_comes_back_as_float64():
    """The gradient of a float64 -> float32 cast is float64 (the leaf's dtype) with the right values."""
    x = leaf([1.0, -2.0, 3.5])
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    (g,) = mg.grad((y * y).sum(), x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy(), rtol=1e-6)


def test_to_same_device_is_differentiable():
    """x.to(its own device): the same tensor, gradients pass through unchanged."""
    x = leaf(np.random.default_rng(13).standard_normal((2, 3)))
    assert x.to(x.device) is x
    check(lambda x: x.to(x.device) * x, x)


def test_dropout_gradcheck_with_fixed_mask():
    """dropout with p=0.4: reseeding inside fn fixes the mask, so the op is a fixed linear map."""
    x = leaf(np.random.default_rng(14).standard_normal((4, 5)))

    def fn(x):
        mg.manual_seed(1234)  # the same mask on every call
        return F.dropout(x, 0.4, training=True) * x

    check(fn, x)


def test_dropout_mask_is_applied_consistently():
    """Zeros where the mask drops, x / (1 - p) elsewhere, and the gradient is that same mask."""
    p = 0.3
    x = leaf(np.random.default_rng(15).uniform(0.5, 1.5, (100, 100)))
    mg.manual_seed(7)
    y = F.dropout(x, p, training=True)
    scale = y.numpy() / x.numpy()
    kept = scale != 0
    np.testing.assert_allclose(scale[kept], 1 / (1 - p), rtol=1e-12)
    assert abs((~kept).mean() - p) < 0.03  # 10,000 draws: the std of the fraction is 0.0046
    (g,) = mg.grad(y.sum(), x)
    np.testing.assert_allclose(g.numpy(), scale, rtol=1e-12)
    mg.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, p, training=True).numpy(), y.numpy())
    mg.manual_seed(8)
    assert not np.array_equal(F.dropout(x, p, training=True).numpy() != 0, kept)


def test_dropout_with_p_one_drops_everything():
    """p=1 zeroes the whole tensor, with zero (finite) gradients."""
    x = leaf(np.random.default_rng(20).standard_normal((3, 4)))
    y = F.dropout(x, 1.0, training=True)
    np.testing.assert_array_equal(y.numpy(), np.zeros((3, 4)))
    (g,) = mg.grad(y.sum(), x)
    np.testing.assert_array_equal(g.numpy(), np.zeros((3, 4)))


def test_dropout_off_is_identity():
    """training=False or p=0 leaves the input untouched."""
    x = leaf(np.random.default_rng(16).standard_normal((3, 3)))
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).numpy(), x.numpy())
    np.testing.assert_array_equal(F.dropout(x, 0.0, training=True).numpy(), x.numpy())
    check(lambda x: F.dropout(x, 0.5, training=False) * x, x)


def test_compare_gives_constant_boolean():
    """Comparisons return boolean tensors that are never part of the graph."""
    x = leaf([1.0, -1.0, 2.0])
    for mask in (x > 0, x >= 1, x < 0, x <= -1, x == 2, x != 2):
        assert mask.dtype == bool and not mask.requires_grad
    np.testing.assert_array_equal((x > 0).numpy(), [True, False, True])


def test_broadcast_to():
    """broadcast_to sums the gradient back over the copied axes."""
    x = leaf(np.random.default_rng(17).standard_normal((3, 1)))
    check(lambda x: ops.broadcast_to(x, (2, 3, 4)) * ops.broadcast_to(x, (2, 3, 4)), x)


def test_to_other_device_and_back(cuda):
    """x.to(other).to(x's device): the gradient is moved back across devices, to first and second
    order, and each copy holds an array of its own device."""
    x = leaf(np.random.default_rng(18).standard_normal((2, 3)))
    other = other_device()
    moved = x.to(other)
    assert moved.device == other and moved.requires_grad and not moved.is_leaf
    back = moved.to(x.device)
    assert back.device == x.device
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    check(lambda x: x.to(other).to(x.device) ** 3, x)
    check(lambda x: (x.to(other) * 2).exp().to(x.device) * x, x)


# ---- bad inputs: clear errors naming what was wrong ----


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
                                lambda a, b: a / b, lambda a, b: a ** b, mg.maximum, mg.minimum,
                                lambda a, b: mg.where(np.ones((3,), bool), a, b)])
def test_broadcast_mismatch_names_both_shapes(op):
    """Binary ops whose operands do not broadcast name both shapes, with a ShapeError (caught
    by ``except RuntimeError`` as in PyTorch, and by ``except ValueError``)."""
    with pytest.raises(ShapeError, match="broadcast") as e:
        op(zeros(3, 4), zeros(3))
    assert "(3, 4)" in str(e.value) and "(3,)" in str(e.value)
    assert isinstance(e.value, RuntimeError) and isinstance(e.value, ValueError)

def test_where_condition_that_does_not_broadcast_names_the_shapes():
    """The condition's shape is checked too, with minigrad's message (not NumPy's)."""
    with pytest.raises(ShapeError, match="where") as e:
        mg.where(np.ones((2, 5), bool), zeros(3, 1), zeros(4))
    assert "(2, 5)" in str(e.value) and "(3, 1)" in str(e.value) and "(4,)" in str(e.value)

def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="at least one"):
        mg.clip(zeros(3), None, None)
    with pytest.raises(ValueError, match="at least one"):
        zeros(3).clamp_()

def test_dropout_probability_out_of_range():
    with pytest.raises(ValueError, match="1.5"):
        F.dropout(zeros(3), 1.5)
