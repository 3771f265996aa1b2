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

from devices import leaf, randn, tensor, to_device, zeros


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
    return apply(x.array.copy(), (x,), (vjp,), "counting_identity")


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


# ---- in-place changes: versions, and what backward does when a saved tensor changed ----
# Every tensor has a version, bumped by each in-place change; a node remembers the versions
# of the tensors its rules read, and backward raises, naming the op, if one has changed.

IN_PLACE = {  # name: (change, what it makes of [1, -2, 3])
    "+=": (lambda x: x.__iadd__(2.0), [3.0, 0.0, 5.0]),
    "-=": (lambda x: x.__isub__(2.0), [-1.0, -4.0, 1.0]),
    "*=": (lambda x: x.__imul__(tensor([2.0, 3.0, 4.0], dtype=np.float64)), [2.0, -6.0, 12.0]),
    "/=": (lambda x: x.__itruediv__(2.0), [0.5, -1.0, 1.5]),
    "zero_": (lambda x: x.zero_(), [0.0, 0.0, 0.0]),
    "fill_": (lambda x: x.fill_(7.0), [7.0, 7.0, 7.0]),
    "copy_": (lambda x: x.copy_(tensor([4.0, 5.0, 6.0], dtype=np.float64)), [4.0, 5.0, 6.0]),
    "clamp_": (lambda x: x.clamp_(-1.0, 2.0), [1.0, -1.0, 2.0]),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_each_in_place_method_changes_the_array_itself_and_bumps_the_version(name):
    change, expected = IN_PLACE[name]
    x = tensor([1.0, -2.0, 3.0], dtype=np.float64)
    array, version = x.array, x._version
    assert change(x) is x
    assert x.array is array and x._version == version + 1
    np.testing.assert_array_equal(x.numpy(), expected)


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_on_a_tensor_that_requires_grad_is_refused_while_recording(name):
    change, expected = IN_PLACE[name]
    x = leaf([1.0, -2.0, 3.0])
    with pytest.raises(RuntimeError, match="in place while operations are recorded.*no_grad"):
        change(x)
    assert x._version == 0
    np.testing.assert_array_equal(x.numpy(), [1.0, -2.0, 3.0])
    with mg.no_grad():
        change(x)
    assert x._version == 1 and x.requires_grad and x.is_leaf
    np.testing.assert_array_equal(x.numpy(), expected)


def test_a_manual_sgd_step_under_no_grad_updates_the_parameter_in_place():
    p = leaf([1.0, 2.0])
    (p * p).sum().backward()
    array = p.array
    with mg.no_grad():
        p -= 0.1 * p.grad
    assert p.array is array and p._version == 1 and p.requires_grad and p.is_leaf
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.2, 2.0 - 0.4])


def test_in_place_results_that_cannot_be_cast_are_refused_naming_the_dtypes():
    counts = tensor(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="float.* cannot be stored in place in a tensor of "
                                        "dtype int64"):
        counts += 0.5
    with pytest.raises(TypeError, match="int64"):
        counts.copy_(tensor([0.5, 0.5, 0.5]))
    with pytest.raises(TypeError, match="int64"):
        counts /= 2  # true division gives floats
    assert counts._version == 0
    np.testing.assert_array_equal(counts.numpy(), [1, 2, 3])
    counts += 1  # int into int is fine
    np.testing.assert_array_equal(counts.numpy(), [2, 3, 4])
    x = tensor(np.zeros(2, np.float32))
    x += tensor(np.array([0.5, 1.5]))  # a float64 result into float32: same kind, cast
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(), [0.5, 1.5])


def test_in_place_results_of_another_shape_are_refused_naming_both_shapes():
    x = tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=re.escape("a result of shape (2, 3) does not fit in "
                                                   "place into a tensor of shape (3,)")):
        x += zeros(2, 3)  # the sum broadcasts, but not into x
    with pytest.raises(RuntimeError, match=re.escape("(2, 3)")):  # ShapeError is both
        x.copy_(zeros(2, 3))
    with pytest.raises(ValueError, match=re.escape("(2,)")):
        x *= zeros(2)  # does not broadcast at all: the op's own message
    assert x._version == 0
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])
    x.copy_(tensor([5.0]))  # broadcasts into x: fine
    np.testing.assert_array_equal(x.numpy(), [5.0, 5.0, 5.0])


def test_an_expanded_view_cannot_be_changed_in_place():
    """Several of its elements are one memory location (NumPy's message was "assignment
    destination is read-only"; on a GPU the write would silently race)."""
    x = tensor([[1.0, 2.0, 3.0]])
    expanded = x.expand(2, 3)
    with pytest.raises(RuntimeError, match=re.escape("x += y: this tensor of shape (2, 3) is an "
                                                     "expanded view")):
        expanded += 1.0
    with pytest.raises(RuntimeError, match="fill_: .* expanded view"):
        expanded.fill_(0.0)
    np.testing.assert_array_equal(x.numpy(), [[1.0, 2.0, 3.0]])
    assert x._version == 0 and expanded._version == 0


def test_requires_grad_on_an_integer_tensor_is_refused_however_it_is_set():
    counts = tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match="int64"):
        counts.requires_grad = True
    with pytest.raises(TypeError, match="int64"):
        mg.Tensor._wrap(counts.array, requires_grad=True)
    assert not counts.requires_grad
    counts.requires_grad = False  # saying no is always fine
    x = tensor([1.0])
    x.requires_grad = True
    assert x.requires_grad


def changed_before_backward(make_loss, change):
    """Build the loss, change something in place, and return the error backward raises."""
    loss = make_loss()
    with mg.no_grad():
        change()
    with pytest.raises(RuntimeError, match="changed by an in-place operation") as info:
        loss.backward()
    return str(info.value)


def test_changing_a_saved_input_before_backward_raises_naming_the_op():
    x, c = leaf([1.0, 2.0]), tensor([3.0, 4.0], dtype=np.float64)
    message = changed_before_backward(lambda: (x * c).sum(), lambda: c.__iadd__(1.0))
    assert "'mul'" in message and "an input of shape (2,)" in message
    assert "version 0, now 1" in message
    assert x.grad is None


def test_x_squared_saves_x():
    x = leaf([1.0, 2.0])
    message = changed_before_backward(lambda: (x ** 2).sum(), lambda: x.__imul__(3.0))
    assert "'pow'" in message


def test_exp_saves_its_output_not_its_input():
    x = leaf([0.0, 1.0])
    y = x.exp()
    loss = y.sum()
    with mg.no_grad():
        y *= 2.0
    with pytest.raises(RuntimeError, match="'exp' \\(its output\\)"):
        loss.backward()
    loss = x.exp().sum()
    with mg.no_grad():
        x += 1.0  # exp's rule reads only its output: nothing to detect
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.0, 1.0]))


def test_log_saves_its_input():
    x = leaf([1.0, 2.0])
    assert "'log'" in changed_before_backward(lambda: x.log().sum(), lambda: x.fill_(3.0))


@pytest.mark.parametrize("op", ["add", "reshape", "sum", "getitem"])
def test_ops_whose_rules_need_only_shapes_ignore_in_place_changes(op):
    """Their gradients do not depend on the values, so changing an input is harmless."""
    x = leaf(np.arange(6.0).reshape(2, 3))
    c = tensor(np.ones((2, 3)))
    make = {"add": lambda: x + c, "reshape": lambda: x.reshape(3, 2),
            "sum": lambda: x.sum(axis=0), "getitem": lambda: x[:, ::2]}[op]
    y = make()
    assert y.grad_fn.op == op
    with mg.no_grad():
        x += 1.0
        c += 1.0
    y.backward(mg.ones_like(y))
    expected = np.zeros((2, 3))
    expected[:, ::2] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected if op == "getitem" else 1.0)


def test_a_retained_graph_used_again_after_an_in_place_change_raises():
    x, c = leaf([1.0, 2.0]), tensor([3.0, 4.0], dtype=np.float64)
    loss = (x * c).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    c.fill_(0.0)
    with pytest.raises(RuntimeError, match="'mul'.*in-place"):
        loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])  # nothing was accumulated


def test_an_optimizer_step_between_forward_and_backward_raises_naming_the_op():
    w = leaf([1.0, 2.0])
    x = tensor([3.0, 4.0], dtype=np.float64)
    optimizer = mg.optim.SGD([w], lr=0.1)
    (w * x).sum().backward()
    loss = (w * w * x).sum()
    optimizer.step()
    with pytest.raises(RuntimeError, match="'mul'.*in-place"):
        loss.backward()


def test_an_optimizer_step_between_forward_and_backward_of_a_layer_raises():
    """The layer's rules read its weight through a view (w.T): the view shares the weight's
    version, so the step is seen there too."""
    layer = to_device(mg.nn.Linear(3, 2), dtype=np.float64)
    optimizer = mg.optim.Adam(layer.parameters())
    x = randn(4, 3, dtype=np.float64)
    layer(x).sum().backward()
    loss = (layer(x) ** 2).sum()
    optimizer.step()
    with pytest.raises(RuntimeError, match="'matmul'.*in-place"):
        loss.backward()


def test_views_share_the_version_of_the_tensor_they_view():
    """A slice, a reshape (of a reshape) or a detached copy is the same memory: changing the
    original in place changes what the view's consumer saved, and the reverse."""
    w = leaf([1.0, 2.0, 3.0, 4.0])
    x = tensor(np.arange(4.0))
    assert "'mul'" in changed_before_backward(lambda: (x[:2] * w[:2]).sum(),
                                              lambda: x.__iadd__(1.0))
    assert "'mul'" in changed_before_backward(lambda: (w.reshape(2, 2).reshape(4) * x).sum(),
                                              lambda: w.__iadd__(1.0))
    assert "'mul'" in changed_before_backward(lambda: (w * x).sum(),
                                              lambda: w.detach().__iadd__(1.0))
    view = x.T
    loss = (x * w).sum()
    view += 1.0  # a change through the view is a change of x
    with pytest.raises(RuntimeError, match="'mul'"):
        loss.backward()
    loss = (x.reshape(2, 2) * 1.0).sum() + (x * w).sum()  # a view that is not saved
    x2 = x * 1.0
    x2 += 1.0  # a new array: not a view of x
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), x.numpy())


@pytest.mark.parametrize("change", ["SGD step", "clip_parameters_", "uniform_", "normal_",
                                    "xavier_uniform_", "kaiming_normal_", "load_state_dict",
                                    "to(dtype)"])
def test_engine_changes_of_parameters_bump_the_version(change):
    layer = to_device(mg.nn.Linear(3, 2))
    w = layer.weight
    w.grad = mg.ones_like(w)
    do = {"SGD step": lambda: mg.optim.SGD([w], lr=0.1).step(),
          "clip_parameters_": lambda: mg.nn.utils.clip_parameters_(layer, 0.01),
          "uniform_": lambda: mg.nn.init.uniform_(w), "normal_": lambda: mg.nn.init.normal_(w),
          "xavier_uniform_": lambda: mg.nn.init.xavier_uniform_(w),
          "kaiming_normal_": lambda: mg.nn.init.kaiming_normal_(w),
          "load_state_dict": lambda: layer.load_state_dict(
              to_device(mg.nn.Linear(3, 2)).state_dict()),
          "to(dtype)": lambda: layer.to(dtype=np.float64)}[change]
    version = w._version
    do()
    assert w._version == version + 1


@pytest.mark.parametrize("init", ["constant_", "zeros_", "ones_"])
def test_constant_initialisers_bump_the_version(init):
    w = to_device(mg.nn.Linear(3, 2)).weight
    version = w._version
    getattr(mg.nn.init, init)(w, *((0.5,) if init == "constant_" else ()))
    assert w._version == version + 1


def test_moving_a_module_to_where_it_is_changes_no_version():
    layer = to_device(mg.nn.Linear(3, 2))
    versions = [p._version for p in layer.parameters()]
    layer.to(layer.weight.device)
    assert [p._version for p in layer.parameters()] == versions


def test_batch_norm_running_statistics_bump_their_versions_in_training_only():
    norm = to_device(mg.nn.BatchNorm1d(3))
    statistics = (norm.running_mean, norm.running_var)
    versions = [t._version for t in statistics]
    x = randn(4, 3)
    norm(x)
    assert [t._version for t in statistics] == [v + 1 for v in versions]
    norm.eval()
    norm(x)
    assert [t._version for t in statistics] == [v + 1 for v in versions]


# ---- dtypes: PyTorch's promotion in a float32-default engine ----

@pytest.mark.parametrize("expression, dtype", [
    ("t([1, 2]) + 0.5", np.float32),
    ("0.5 * t(np.array([1, 2], dtype=np.uint8))", np.float32),
    ("t([True, False]) * 1.5", np.float32),
    ("t([1, 2]) / t([1, 2])", np.float32),
    ("t([1, 2]) / 2", np.float32),
    ("t([True, False]) / t([True, True])", np.float32),
    ("t([1, 2]) ** 0.5", np.float32),
    ("t([1, 2]) + t([0.5], dtype=np.float32)", np.float32),
    ("t([1, 2]).mean()", np.float32),
    ("t([0.5], dtype=np.float32) / t([2])", np.float32),
    ("mg.where(t([True]), t([1]), 2.5)", np.float32),
    # unchanged: integers stay integers, float tensors keep their dtype with Python numbers
    ("t(np.array([1, 2], dtype=np.uint8)) * t([2.0], dtype=np.float64)", np.float64),
    ("t([1, 2]) + 1", np.int64),
    ("t([True]) + 1", np.int64),
    ("t(np.array([1, 2], dtype=np.uint8)) + 1", np.uint8),
    ("t([0.5], dtype=np.float32) + 0.25", np.float32),
    ("t([0.5], dtype=np.float64) * 3", np.float64),
    # a 0-d tensor of a higher category decides; of the same category it does not
    ("t([1, 2]) * t(2.0, dtype=np.float64)", np.float64),
    ("t([0.5], dtype=np.float32) * t(2.0, dtype=np.float64)", np.float32),
])
def test_dtype_promotion_follows_pytorch(expression, dtype):
    """An integer (or boolean) tensor with a Python float or a float tensor gives that float's
    dtype (float32 for a Python float, PyTorch's default), true division of integers gives
    float32 (NumPy would give float64 in each of the first rows)."""
    assert eval(expression, {"t": tensor, "np": np, "mg": mg}).dtype == dtype


@pytest.mark.filterwarnings("ignore:divide by zero")  # log(False) is -inf
@pytest.mark.parametrize("fn", [mg.exp, mg.log, mg.sqrt, mg.tanh, mg.sigmoid,
                                lambda x: x.exp(), lambda x: F.softmax(x, axis=0)])
@pytest.mark.parametrize("values", [[1, 2, 3], [True, False, True]], ids=["int64", "bool"])
def test_float_functions_of_integer_tensors_give_float32(fn, values):
    """exp, log, sqrt, tanh, sigmoid (and what is built on them) of integer or boolean tensors
    are float32, as PyTorch, with the values of the float64 computation rounded."""
    x = tensor(values)
    out = fn(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), fn(tensor(np.array(values, dtype=np.float64))).numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("value, dtype", [(4, np.int64), (4.0, np.float32), (True, bool),
                                          (np.float64(0.5), np.float32)])
def test_full_infers_its_dtype_from_the_value(value, dtype):
    """mg.full without dtype: int64 for an int, float32 for a float, bool for a bool (PyTorch)."""
    out = mg.full((2,), value, device=tensor([0]).device)
    assert out.dtype == dtype and out.numpy().tolist() == [value] * 2
    assert mg.full((2,), 4, dtype=np.float64).dtype == np.float64
    assert mg.full_like(tensor([1.5, 2.5]), 7).dtype == np.float32


# ---- constructors ----

@pytest.mark.parametrize("args, kwargs, expected, dtype", [
    ((5,), {}, np.arange(5), np.int64),
    ((2, 9, 3), {}, np.arange(2, 9, 3), np.int64),
    ((0, 1, 0.25), {}, np.arange(0, 1, 0.25), np.float32),
    ((0.0, 3), {}, np.arange(3.0), np.float32),
    ((5, 0, -2), {}, np.arange(5, 0, -2), np.int64),
    ((4,), {"dtype": np.float64}, np.arange(4.0), np.float64),
    ((3, 3), {}, np.arange(0), np.int64),
], ids=str)
def test_arange(args, kwargs, expected, dtype):
    """arange(end) / arange(start, end, step): int64 for ints, float32 with any float, as PyTorch."""
    out = mg.arange(*args, device=tensor([0]).device, **kwargs)
    assert out.dtype == dtype and out.device == tensor([0]).device
    np.testing.assert_array_equal(out.numpy(), expected.astype(dtype))


def test_linspace_eye_and_random_likes():
    device = tensor([0]).device
    out = mg.linspace(-1, 2, 7, device=device)
    assert out.dtype == np.float32 and out.device == device
    np.testing.assert_allclose(out.numpy(), np.linspace(-1, 2, 7), rtol=1e-7)
    assert mg.linspace(0, 1, 0).shape == (0,)
    assert mg.linspace(0, 1, 3, dtype=np.float64, requires_grad=True).requires_grad
    np.testing.assert_array_equal(mg.eye(3, device=device).numpy(), np.eye(3))
    np.testing.assert_array_equal(mg.eye(2, 4, dtype=np.int64).numpy(), np.eye(2, 4, dtype=np.int64))
    x = randn(3, 4, dtype=np.float64)
    for like in (mg.randn_like, mg.rand_like):
        y = like(x)
        assert y.shape == (3, 4) and y.dtype == np.float64 and y.device == x.device
        assert not np.array_equal(y.numpy(), like(x).numpy())  # fresh samples
        z = like(x, dtype=np.float32, requires_grad=True)
        assert z.dtype == np.float32 and z.requires_grad
    mg.manual_seed(3)
    a = mg.randn_like(x).numpy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(a, mg.randn(3, 4, dtype=np.float64, device=x.device).numpy())
    assert (mg.rand_like(x).numpy() >= 0).all() and (mg.rand_like(x).numpy() < 1).all()


def test_constructors_refuse_bad_arguments():
    with pytest.raises(ValueError, match="step"):
        mg.arange(0, 5, 0)
    with pytest.raises(ValueError, match="step"):
        mg.arange(5, 0)
    with pytest.raises(TypeError, match="must be a number"):
        mg.arange("5")
    with pytest.raises(RuntimeError, match="steps"):  # PyTorch's class
        mg.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="int64"):
        mg.randn_like(tensor([1, 2]))
    with pytest.raises(TypeError, match="floating"):
        mg.arange(3, requires_grad=True)


@pytest.mark.parametrize("junk, what", [("abc", "str 'abc'"), (None, "NoneType None"),
                                        ([1, "a"], "list"), ([1, None], "object"),
                                        ({"a": 1}, "dict"), (np.array(["x"]), "<U1")])
def test_tensor_refuses_data_that_is_not_numbers_at_once(junk, what):
    """mg.tensor names what it got when called, not NumPy later, when the tensor is used."""
    with pytest.raises(TypeError, match="numbers") as e:
        tensor(junk)
    assert what in str(e.value)

def test_tensor_of_a_list_of_tensors_says_to_stack_them():
    with pytest.raises(TypeError, match=r"mg.stack\(tensors\)"):
        mg.tensor([tensor([1.0, 2.0]), tensor([3.0, 4.0])])


def test_tensor_refuses_ragged_lists():
    with pytest.raises(ValueError, match="nested lists"):
        tensor([[1, 2], [3]])
