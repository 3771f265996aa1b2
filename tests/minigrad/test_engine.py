"""The graph machinery of minigrad.tensor: how backward() and grad() accumulate, visit and free
the graph, higher-order derivatives through create_graph, no_grad, deep graphs, and memory
under many gradient-penalty style passes.
"""
import gc
import os
import sys

import re
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.autograd import apply

from devices import leaf, tensor, zeros


# ---- accumulation ----

def test_backward_accumulates_into_grad_across_calls():
    """Two backward() calls add up in .grad (as PyTorch); it is not overwritten."""
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0, 9.0])


def test_tensor_used_twice_gets_both_contributions():
    """x used by two consumers: the gradients of both paths are summed."""
    x = leaf([1.5, -2.0])
    (x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    x.grad = None
    y = x.exp()
    (y * x + y).sum().backward()  # d/dx (x e^x + e^x) = (x + 2) e^x
    np.testing.assert_allclose(x.grad.numpy(), (x.numpy() + 2) * np.exp(x.numpy()), rtol=1e-14)


def test_backward_with_explicit_gradient():
    """backward(grad) on a non-scalar computes the vector-Jacobian product with that grad."""
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(tensor(np.array([1.0, 0.5, -1.0])))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, -6.0])


def test_grad_leaves_dot_grad_alone():
    """mg.grad returns gradients without touching .grad, whether it was None or set."""
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y.grad = tensor(np.array([10.0, 10.0]))
    (gx, gy) = mg.grad((x * y).sum(), [x, y])
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gy.numpy(), [1.0, 2.0])
    assert x.grad is None
    np.testing.assert_array_equal(y.grad.numpy(), [10.0, 10.0])


def test_grad_of_several_outputs_with_grad_outputs():
    """grad(outputs, inputs, grad_outputs) is the gradient of sum_i <outputs_i, grad_outputs_i>."""
    x = leaf([1.0, 2.0])
    u, v = tensor(np.array([1.0, -1.0])), tensor(np.array([2.0, 0.5]))
    (g,) = mg.grad([x * x, x.exp()], x, [u, v])
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy() * u.numpy() + np.exp(x.numpy()) * v.numpy())


def test_grad_with_respect_to_an_intermediate_tensor():
    """An input may be a non-leaf: d(y^2)/dy where y = 3x."""
    x = leaf([1.0, 2.0])
    y = 3 * x
    (g,) = mg.grad((y * y).sum(), y)
    np.testing.assert_allclose(g.numpy(), 2 * y.numpy())


# ---- higher order ----

def test_create_graph_gives_a_differentiable_gradient():
    """backward(create_graph=True) leaves a .grad that is itself in a graph."""
    x = leaf([0.5, -1.0])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = mg.grad(x.grad.sum(), x)
    np.testing.assert_allclose(g2.numpy(), 6 * x.numpy())


def test_without_create_graph_the_gradient_is_constant():
    """Without create_graph the result records nothing."""
    x = leaf([0.5, -1.0])
    (g,) = mg.grad((x ** 3).sum(), x)
    assert not g.requires_grad


THIRD_DERIVATIVES = {
    # f, closed-form f''' ; inputs in (0.3, 2) so that log and powers are defined
    "x**4": (lambda x: x ** 4, lambda x: 24 * x),
    "exp(2x)": (lambda x: (2 * x).exp(), lambda x: 8 * np.exp(2 * x)),
    "log x": (lambda x: x.log(), lambda x: 2 / x ** 3),
    "tanh": (lambda x: x.tanh(), lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2)),
    "1/x": (lambda x: 1 / x, lambda x: -6 / x ** 4),
    "sqrt": (lambda x: x.sqrt(), lambda x: 3 / 8 * x ** -2.5),
    "sigmoid": (lambda x: x.sigmoid(),
                lambda x: (lambda s: s * (1 - s) * (1 - 6 * s + 6 * s ** 2))(1 / (1 + np.exp(-x)))),
    "x**2.5": (lambda x: x ** 2.5, lambda x: 2.5 * 1.5 * 0.5 * x ** -0.5),
}


@pytest.mark.parametrize("name", list(THIRD_DERIVATIVES))
def test_third_derivative_closed_form(name):
    """d^3 f / dx^3 by three nested grad(create_graph=True) calls equals the closed form."""
    f, third = THIRD_DERIVATIVES[name]
    x = leaf(np.array([0.3, 0.7, 1.1, 2.0]))
    (g1,) = mg.grad(f(x).sum(), x, create_graph=True)
    (g2,) = mg.grad(g1.sum(), x, create_graph=True)
    (g3,) = mg.grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), third(x.numpy()), rtol=1e-10)


def test_mixed_second_derivative():
    """d^2/dx dy of x^2 y^3 = 6 x y^2, through grad of a grad with respect to another input."""
    x, y = leaf([1.5]), leaf([-0.5])
    (gx,) = mg.grad((x * x * y ** 3).sum(), x, create_graph=True)
    (gxy,) = mg.grad(gx.sum(), y)
    np.testing.assert_allclose(gxy.numpy(), 6 * x.numpy() * y.numpy() ** 2)


# ---- graph traversal ----

def counting_identity(x, calls):
    """An identity op whose vjp counts how many times it runs."""
    def vjp(g, out):
        calls.append(1)
        return g
    return apply(x.data.copy(), (x,), (vjp,), "counting_identity")


def test_each_node_backward_runs_once_in_a_diamond():
    """a feeds b and c, which both feed d: a's rule runs once, after both contributions arrived."""
    calls = []
    x = leaf([1.0, 2.0])
    a = counting_identity(x, calls)
    d = a * 2 + a.exp()
    d.sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(x.grad.numpy(), 2 + np.exp(x.numpy()))


def test_stacked_diamonds_do_not_blow_up():
    """30 diamonds in a row: each node visited once (a naive recursion would run 2^30 rules)."""
    calls = []
    x = leaf([0.1])
    y = x
    for _ in range(30):
        y = counting_identity(y, calls)
        y = (y + y) * 0.5
    (g,) = mg.grad(y.sum(), x)
    assert len(calls) == 30
    np.testing.assert_allclose(g.numpy(), [1.0])


def test_deep_graph_has_no_recursion_error():
    """A chain 10,000 ops deep backpropagates (first and second order) within Python's stack."""
    depth = 10_000
    assert depth > sys.getrecursionlimit()
    x = leaf([1.0])
    y = x
    for _ in range(depth):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** depth], rtol=1e-10)
    # second order: z <- z + 1e-4 z^2, with dz/dx and d2z/dx2 carried along by hand
    x = leaf([0.5])
    z, (v, d1, d2) = x, (0.5, 1.0, 0.0)
    for _ in range(depth):
        z = z + 1e-4 * z * z
        v, d1, d2 = v + 1e-4 * v * v, d1 * (1 + 2e-4 * v), d2 * (1 + 2e-4 * v) + 2e-4 * d1 * d1
    (g,) = mg.grad(z.sum(), x, create_graph=True)
    (g2,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(z.numpy(), [v], rtol=1e-10)
    np.testing.assert_allclose(g.numpy(), [d1], rtol=1e-10)
    np.testing.assert_allclose(g2.numpy(), [d2], rtol=1e-10)
    # a retained graph that is dropped without any backward is freed without recursion either
    y = x
    for _ in range(depth):
        y = y.exp().log()
    del y, z, g, g2
    gc.collect()


def test_no_grad_records_nothing():
    """Inside no_grad results do not require grad and hold no parents; enable_grad overrides it."""
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = (x * x).exp()
        with mg.enable_grad():
            z = x * 3
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y.grad_fn is None
    assert z.requires_grad
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_detach_cuts_the_graph():
    """detach() shares the values and stops gradients."""
    x = leaf([2.0])
    (g,) = mg.grad((x * x.detach()).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0])


def test_backward_twice_through_a_freed_graph_raises():
    """The second backward through the same graph names the problem and the fix (retain_graph)."""
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    """retain_graph=True keeps the graph: a second backward works and accumulates."""
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())


def test_grad_of_unused_input_raises_unless_allow_unused():
    """An input the output does not depend on is an error, or None with allow_unused=True."""
    x, unused = leaf([1.0]), leaf([2.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        mg.grad(y, [x, unused], retain_graph=True)
    gx, gu = mg.grad(y, [x, unused], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), [2.0])
    assert gu is None


def test_integer_tensors_cannot_require_grad():
    """Only floating tensors join the graph; integer leaves are plain constants."""
    with pytest.raises(TypeError):
        tensor([1, 2], requires_grad=True)
    i = tensor(np.array([1, 2]))
    x = leaf([0.5, 0.5])
    (g,) = mg.grad((x * i).sum(), x)
    np.testing.assert_allclose(g.numpy(), [1.0, 2.0])


def test_gradient_dtype_matches_the_leaf():
    """A float32 leaf gets a float32 gradient even when combined with float64 constants."""
    x = tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    (g,) = mg.grad((x * np.float64(3.0)).sum(), x)
    assert g.dtype == np.float32


# ---- memory ----

def rss_bytes():
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_gradient_penalty_passes_do_not_leak():
    """2,000 create_graph backward passes of a small conv critic (the WGAN-GP training pattern:
    inner grad with create_graph, penalty, backward into the weights) do not grow the RSS by more
    than a few MB after a warm-up: nothing keeps old graphs alive."""
    rng = np.random.default_rng(0)
    w1 = tensor(0.3 * rng.standard_normal((4, 1, 3, 3)), requires_grad=True)
    w2 = tensor(0.3 * rng.standard_normal((1, 4 * 3 * 3)), requires_grad=True)
    x_hat = rng.uniform(0, 1, (2, 1, 6, 6))

    def step():
        x = tensor(x_hat, requires_grad=True)
        h = F.leaky_relu(F.conv2d(x, w1, stride=2, padding=1), 0.2)
        out = F.linear(h.flatten(1), w2).sum()
        (gx,) = mg.grad(out, x, create_graph=True)
        norm = ((gx * gx).sum(axis=(1, 2, 3)) + 1e-12).sqrt()
        penalty = ((norm - 1) ** 2).mean() + out
        penalty.backward()

    for _ in range(200):
        step()
    gc.collect()
    before = rss_bytes()
    for _ in range(2000):
        step()
    gc.collect()
    grown = rss_bytes() - before
    assert grown < 4 * 2 ** 20, f"RSS grew by {grown / 2 ** 20:.1f} MB over 2,000 passes"
    assert np.all(np.isfinite(w1.grad.numpy()))


# ---- bad inputs: clear errors naming what was wrong ----


def test_backward_on_a_non_scalar_needs_a_gradient():
    """The message gives the shape and says what to pass."""
    y = leaf(np.ones((2, 3))) * 2
    with pytest.raises(RuntimeError, match=re.escape("(2, 3)")) as e:
        y.backward()
    assert "grad" in str(e.value)

def test_backward_with_a_gradient_of_the_wrong_shape():
    y = leaf(np.ones((2, 3))) * 2
    with pytest.raises(ValueError, match=re.escape("(3, 2)")):
        y.backward(tensor(np.ones((3, 2))))

def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="requires_grad"):
        zeros(3).sum().backward()

def test_grad_of_an_input_that_does_not_require_grad():
    """The message names the input by position and shape."""
    x, c = leaf([1.0, 2.0]), zeros(4)
    with pytest.raises(RuntimeError, match="does not require grad") as e:
        mg.grad((x * 2).sum(), [x, c])
    assert "input 1" in str(e.value) and "(4,)" in str(e.value)

def test_grad_of_a_non_scalar_output_without_grad_outputs():
    with pytest.raises(RuntimeError, match="grad_outputs"):
        mg.grad(leaf([1.0, 2.0]) * 2, [])

def test_grad_outputs_of_the_wrong_shape_or_number():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(ValueError, match=re.escape("(3,)")) as e:
        mg.grad(y, x, tensor(np.ones(3)))
    assert "(2,)" in str(e.value)
    with pytest.raises(ValueError, match="2 grad_outputs"):
        mg.grad(y, x, [tensor(np.ones(2)), tensor(np.ones(2))])

def test_requires_grad_on_an_integer_tensor():
    """Only floating tensors can require grad; the message names the dtype."""
    with pytest.raises(TypeError, match="int64"):
        tensor(np.array([1, 2], dtype=np.int64), requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        tensor(np.array([1, 2], dtype=np.int32)).requires_grad_()

def test_truth_value_of_a_tensor_with_several_elements():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        bool(zeros(2, 3))
