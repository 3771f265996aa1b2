"""Activations gelu (exact and tanh), silu, elu, softplus (beta, threshold), hardtanh and the
error function they need: values against NumPy / math formulas in float64, gradients to first
and second order away from the kinks, PyTorch's conventions at the kinks, the modules, and
clear errors.
"""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

from devices import leaf, tensor

erf_host = np.vectorize(math.erf, otypes=[np.float64])


def check(fn, *inputs):
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def away_from(values, kinks, margin=1e-2):
    """``values`` moved off the points where a function has a kink."""
    for k in kinks:
        near = np.abs(values - k) < margin
        values[near] = k + np.where(values[near] >= k, margin, -margin) * 2
    return values


def sample(shape=(3, 5), scale=2.0, seed=0, kinks=()):
    return away_from(scale * np.random.default_rng(seed).standard_normal(shape), kinks)


def test_erf_against_math_erf():
    """Cody's approximation, written in array operations: within a few ulps of math.erf from
    0 through the tails, odd, +-1 at the infinities, NaN kept."""
    x = np.concatenate([np.linspace(-7, 7, 2801), np.geomspace(1e-300, 6, 300),
                        [0.0, 0.46875, 4.0, 6.0, 30.0, 1e300]])
    x = np.concatenate([x, -x])
    got = mg.erf(tensor(x)).numpy()
    ref = erf_host(x)
    np.testing.assert_allclose(got, ref, rtol=2e-15, atol=1e-300)
    assert mg.erf(tensor([np.inf, -np.inf])).numpy().tolist() == [1.0, -1.0]
    assert np.isnan(mg.erf(tensor([np.nan])).numpy()[0])
    x32 = np.linspace(-5, 5, 1001).astype(np.float32)
    y32 = mg.erf(tensor(x32)).numpy()
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, erf_host(x32.astype(np.float64)), atol=3e-7)


def test_erf_gradients():
    """d erf / dx = 2 / sqrt(pi) exp(-x^2); second order through exp."""
    x = leaf(sample(scale=1.5))
    (g,) = mg.grad(mg.erf(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), 2 / np.sqrt(np.pi) * np.exp(-x.numpy() ** 2), rtol=1e-14)
    check(mg.erf, x)


ACTIVATIONS = {
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + erf_host(x / np.sqrt(2))), ()),
    "gelu tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))), ()),
    "silu": (F.silu, lambda x: x / (1 + np.exp(-x)), ()),
    "elu": (F.elu, lambda x: np.where(x > 0, x, np.expm1(x)), (0,)),
    "elu alpha 0.5": (lambda x: F.elu(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)), (0,)),
    "softplus": (F.softplus, lambda x: np.log1p(np.exp(x)), ()),
    "softplus beta 2 threshold 3": (lambda x: F.softplus(x, beta=2, threshold=3),
                                    lambda x: np.where(2 * x > 3, x, np.log1p(np.exp(2 * x)) / 2), (1.5,)),
    "softplus beta 0.5": (lambda x: F.softplus(x, beta=0.5),
                          lambda x: np.log1p(np.exp(0.5 * x)) / 0.5, ()),
    "hardtanh": (F.hardtanh, lambda x: np.clip(x, -1, 1), (-1, 1)),
    "hardtanh (-0.5, 2)": (lambda x: F.hardtanh(x, -0.5, 2.0), lambda x: np.clip(x, -0.5, 2), (-0.5, 2)),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation(name):
    fn, reference, kinks = ACTIVATIONS[name]
    x = leaf(sample(kinks=kinks))
    np.testing.assert_allclose(fn(x).numpy(), reference(x.numpy()), rtol=1e-13, atol=1e-15)
    check(fn, x)


def test_activations_in_the_tails():
    """No overflow or NaN far out: softplus is x beyond the threshold and 0 far below, gelu
    and silu go to 0 and x, elu to -alpha; gradients stay finite."""
    x = leaf([-1000.0, -40.0, 40.0, 1000.0])
    np.testing.assert_array_equal(F.softplus(x).numpy(), [0.0, np.log1p(np.exp(-40.0)), 40.0, 1000.0])
    np.testing.assert_array_equal(F.gelu(x).numpy(), [-0.0, -0.0, 40.0, 1000.0])
    np.testing.assert_array_equal(F.silu(x).numpy()[2:], [40.0, 1000.0])
    np.testing.assert_array_equal(F.elu(x, 2.0).numpy()[:2], [-2.0, -2.0])
    for fn in (F.softplus, F.gelu, F.silu, F.elu, lambda x: F.gelu(x, "tanh")):
        (g,) = mg.grad(fn(x).sum(), x)
        assert np.all(np.isfinite(g.numpy()))


def test_gradients_at_the_kinks_follow_pytorch():
    """hardtanh passes no gradient at its limits (unlike clip, which does); elu's gradient at 0
    is alpha (the negative branch, as PyTorch's x <= 0); softplus is linear (gradient 1) once
    beta x exceeds the threshold, sigmoid(beta x) at it."""
    x = leaf([-1.0, 0.0, 1.0])
    (g,) = mg.grad(F.hardtanh(x).sum(), x)
    np.testing.assert_array_equal(g.numpy(), [0, 1, 0])
    (g,) = mg.grad(x.clip(-1, 1).sum(), x)
    np.testing.assert_array_equal(g.numpy(), [1, 1, 1])
    (g,) = mg.grad(F.elu(x, 0.3).sum(), x)
    np.testing.assert_allclose(g.numpy(), [0.3 * np.exp(-1), 0.3, 1], rtol=1e-15)
    t = leaf([10.0, 10.5])
    (g,) = mg.grad(F.softplus(t, beta=2, threshold=20).sum(), t)
    np.testing.assert_allclose(g.numpy(), [1 / (1 + np.exp(-20)), 1.0], rtol=1e-15)


def test_activations_keep_float32():
    x = tensor(np.linspace(-3, 3, 7), dtype=np.float32, requires_grad=True)
    for fn, _, _ in ACTIVATIONS.values():
        y = fn(x)
        (g,) = mg.grad(y.sum(), x, create_graph=True)
        assert y.dtype == g.dtype == np.float32


@pytest.mark.parametrize("layer, fn", [
    (nn.GELU(), F.gelu), (nn.GELU("tanh"), lambda x: F.gelu(x, "tanh")), (nn.SiLU(), F.silu),
    (nn.ELU(0.7), lambda x: F.elu(x, 0.7)), (nn.Softplus(2.0, 5.0), lambda x: F.softplus(x, 2.0, 5.0)),
    (nn.Hardtanh(-2.0, 0.5), lambda x: F.hardtanh(x, -2.0, 0.5)),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "")
def test_activation_modules(layer, fn):
    x = leaf(sample(kinks=(-2.0, 0.5, 2.5, 0.0)))
    np.testing.assert_array_equal(layer(x).numpy(), fn(x).numpy())
    assert mg.gradcheck(layer, [x])


def test_activation_module_reprs():
    assert nn.GELU().extra_repr() == "approximate='none'"
    assert nn.ELU().extra_repr() == "alpha=1.0"
    assert nn.Softplus().extra_repr() == "beta=1.0, threshold=20.0"
    assert nn.Hardtanh().extra_repr() == "min_val=-1.0, max_val=1.0"


# ---- bad inputs: clear errors naming what was wrong ----

def test_activation_argument_errors():
    x = tensor([0.0])
    with pytest.raises(ValueError, match="'erf'"):
        F.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="max_val 0 is smaller than min_val 1"):
        F.hardtanh(x, 1, 0)
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="beta"):
        F.softplus(x, beta=0)
