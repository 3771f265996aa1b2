"""The exercise solutions in notebooks/solutions/ give the right answers: each is checked
against finite differences, mg.gradcheck / mg.gradgradcheck, or the engine's own result."""
import math

import numpy as np
import pytest

import minigrad as mg
from conftest import load_solution, notebook_code

pytestmark = pytest.mark.cpu_only("the notebooks and their exercises run on the CPU")


# ---- 01: a scalar engine ----

@pytest.fixture(scope="module")
def Value():
    """The notebook's own Value class, from its cell."""
    namespace = {}
    exec(notebook_code("01_scalar_engine.ipynb", "class Value"), namespace)
    return namespace["Value"]


def _derivative(Value, fn, x):
    v = Value(x)
    out = fn(v)
    out.backward()
    return out.data, v.grad


@pytest.mark.parametrize("name, reference", [("tanh", math.tanh), ("exp", math.exp)])
def test_01_tanh_exp_match_finite_differences(Value, name, reference):
    fn = getattr(load_solution("01_scalar_engine"), name)
    for x in (-1.3, 0.0, 0.4, 2.1):
        # used twice and combined with the notebook's ops, so accumulation is exercised too
        value, grad = _derivative(Value, lambda v: fn(v) * v + fn(v), x)
        f = lambda t: reference(t) * t + reference(t)  # noqa: E731
        h = 1e-6
        assert value == pytest.approx(f(x), rel=1e-12)
        assert grad == pytest.approx((f(x + h) - f(x - h)) / (2 * h), rel=1e-6, abs=1e-9)


def test_01_zero_grad_makes_a_second_backward_repeat_the_first(Value):
    zero_grad = load_solution("01_scalar_engine").zero_grad
    a, b = Value(2.0), Value(-3.0)
    f = a * b + b ** 2
    f.backward()
    first = (a.grad, b.grad)
    zero_grad(f)
    f.backward()
    assert (a.grad, b.grad) == first == (-3.0, -4.0)


def test_01_fit_line_is_least_squares(Value):
    xs, ys = [0.0, 1.0, 2.0, 3.0], [1.0, 3.1, 4.9, 7.2]
    w, c = load_solution("01_scalar_engine").fit_line(Value, xs, ys)
    np.testing.assert_allclose([w, c], np.polyfit(xs, ys, 1), atol=1e-6)


# ---- 02: backward and the graph ----

def _graph_with_reuse():
    mg.manual_seed(0)
    w = mg.randn(3, 2, dtype=mg.float64, requires_grad=True)
    x = mg.randn(4, 3, dtype=mg.float64)
    h = (x @ w).tanh()
    return w, h, (h * h).sum() + h.mean()


def test_02_accumulated_nodes_finds_the_reused_tensor():
    solution = load_solution("02_backward_and_the_graph")
    w, h, loss = _graph_with_reuse()
    assert [id(t) for t in solution.accumulated_nodes(loss)] == [id(h)]
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = a.exp()
    y = (b * a).sum() + b.sum()  # a used twice (mul, exp), b twice (mul, sum)
    assert {id(t) for t in solution.accumulated_nodes(y)} == {id(a), id(b)}
    assert solution.accumulated_nodes((a * 2).sum()) == []


def test_02_gradient_by_hand_equals_the_engine():
    w, h, loss = _graph_with_reuse()
    by_hand = load_solution("02_backward_and_the_graph").gradient_by_hand(loss, w)
    (engine,) = mg.grad(loss, w)
    np.testing.assert_allclose(by_hand.numpy(), engine.numpy(), rtol=1e-12)


def test_02_jacobian_matches_finite_differences():
    jacobian = load_solution("02_backward_and_the_graph").jacobian
    a = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 2.0]])

    def f(x):
        return (mg.tensor(a) @ x).tanh() * x[:2]

    x0 = np.array([0.2, -0.7, 1.1])
    h = 1e-6
    numeric = np.stack([(f(mg.tensor(x0 + h * e)).numpy() - f(mg.tensor(x0 - h * e)).numpy())
                        / (2 * h) for e in np.eye(3)], axis=1)
    result = jacobian(f, mg.tensor(x0))
    assert result.shape == (2, 3)
    np.testing.assert_allclose(result, numeric, rtol=1e-6, atol=1e-9)


# ---- 03: double backprop and the penalty ----

@pytest.mark.parametrize("scale", [0.3, 2.5])  # |grad| below and above 1: both signs of n - 1
def test_03_linear_critic_penalty_grad_matches_the_engine(scale):
    from wgan.losses import gradient_penalty
    mg.manual_seed(0)
    critic = mg.nn.Linear(5, 1).double()
    with mg.no_grad():
        critic.weight.mul_(scale / critic.weight.norm().item())
    real, fake = mg.randn(7, 5, dtype=mg.float64), mg.randn(7, 5, dtype=mg.float64)
    gradient_penalty(critic, real, fake, eps=1e-12).backward()
    expected = load_solution("03_double_backprop_and_the_penalty").linear_critic_penalty_grad(
        critic.weight.numpy()[0], eps=1e-12)
    np.testing.assert_allclose(critic.weight.grad.numpy()[0], expected, rtol=1e-10)
    assert critic.bias.grad is None or np.all(critic.bias.grad.numpy() == 0)


def test_03_hessian_of_a_quadratic_form_and_of_a_cubic():
    hessian = load_solution("03_double_backprop_and_the_penalty").hessian
    a = np.array([[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0], [0.0, 4.0, -2.0]])
    x = mg.tensor([0.3, -1.2, 0.7], dtype=mg.float64)
    np.testing.assert_allclose(hessian(lambda z: z @ (mg.tensor(a) @ z), x), a + a.T,
                               rtol=1e-12)
    # sum(z^3): diag(6 z), which depends on x (a constant Hessian would not catch a wrong x)
    np.testing.assert_allclose(hessian(lambda z: (z ** 3).sum(), x), np.diag(6 * x.numpy()),
                               rtol=1e-12)


def test_03_tanh_third_derivative_matches_the_closed_form():
    x = np.array([-2.0, -0.3, 0.0, 0.8, 1.7])
    t = np.tanh(x)
    d3 = load_solution("03_double_backprop_and_the_penalty").tanh_third_derivative(
        mg.tensor(x))
    np.testing.assert_allclose(d3.numpy(), -2 * (1 - t ** 2) * (1 - 3 * t ** 2),
                               rtol=1e-10, atol=1e-14)


# ---- 04: convolution as unfold, matmul, fold ----

def test_04_weight_grad_equals_the_engines():
    import minigrad.nn.functional as F
    mg.manual_seed(0)
    x = mg.randn(3, 2, 6, 5, dtype=mg.float64)
    w = mg.randn(4, 2, 3, 3, dtype=mg.float64, requires_grad=True)
    g = mg.randn(3, 4, 4, 3, dtype=mg.float64)
    F.conv2d(x, w).backward(g)
    result = load_solution("04_convolution_as_unfold_matmul_fold").conv2d_weight_grad(x, g, 3)
    assert tuple(result.shape) == (4, 2, 3, 3)
    np.testing.assert_allclose(result.numpy(), w.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("stride, size", [(1, (7, 6)), (2, (7, 6)), (3, (8, 9))])
def test_04_strided_convolution_equals_f_conv2d(stride, size):
    import minigrad.nn.functional as F
    mg.manual_seed(1)
    x = mg.randn(2, 3, *size, dtype=mg.float64)
    w = mg.randn(5, 3, 3, 3, dtype=mg.float64)
    result = load_solution("04_convolution_as_unfold_matmul_fold").conv2d_strided(x, w, stride)
    np.testing.assert_allclose(result.numpy(), F.conv2d(x, w, stride=stride).numpy(),
                               rtol=1e-12)


def test_04_transposed_convolution_as_a_convolution():
    import minigrad.nn.functional as F
    mg.manual_seed(2)
    g = mg.randn(2, 4, 5, 3, dtype=mg.float64)
    w = mg.randn(4, 3, 3, 3, dtype=mg.float64)
    result = load_solution("04_convolution_as_unfold_matmul_fold").conv_transpose_as_conv(g, w)
    np.testing.assert_allclose(result.numpy(), F.conv_transpose2d(g, w).numpy(), rtol=1e-12)


# ---- 06: WGAN-GP on digits ----

def _linear_critic(gradient_norm, features=6):
    """D(x) = <v, x> + c with |v| = gradient_norm: its input gradient is v for every sample."""
    critic = mg.nn.Linear(features, 1).double()
    with mg.no_grad():
        critic.weight.mul_(gradient_norm / critic.weight.norm().item())
    return critic


@pytest.mark.parametrize("norm, expected", [(0.5, 0.0), (1.0, 0.0), (3.0, 4.0)])
def test_06_one_sided_penalty_is_zero_below_one_and_squared_excess_above(norm, expected):
    from wgan.losses import gradient_penalty
    solution = load_solution("06_wgan_on_digits")
    mg.manual_seed(0)
    critic = _linear_critic(norm)
    real, fake = mg.randn(5, 6, dtype=mg.float64), mg.randn(5, 6, dtype=mg.float64)
    one_sided = solution.one_sided_penalty(critic, real, fake)
    assert one_sided.item() == pytest.approx(expected, abs=1e-10)
    if norm > 1:  # above 1 both penalties agree, and both reach the weights (second order)
        assert one_sided.item() == pytest.approx(gradient_penalty(critic, real, fake).item())
        one_sided.backward()
        assert np.abs(critic.weight.grad.numpy()).max() > 0


def test_06_one_sided_penalty_passes_gradcheck_in_the_weights():
    solution = load_solution("06_wgan_on_digits")
    mg.manual_seed(1)
    real, fake = mg.randn(4, 3, dtype=mg.float64), mg.randn(4, 3, dtype=mg.float64) * 3
    w1 = mg.randn(5, 3, dtype=mg.float64, requires_grad=True)
    w2 = mg.randn(1, 5, dtype=mg.float64, requires_grad=True)

    def penalty(w1, w2):
        mg.manual_seed(2)  # the same alphas at every evaluation
        return solution.one_sided_penalty(lambda z: (z @ w1.t()).tanh() @ w2.t(), real, fake)

    assert penalty(w1, w2).item() > 0  # some norms above 1, so the check has something to see
    assert mg.gradcheck(penalty, [w1, w2])


def test_06_clip_weights_bounds_every_parameter():
    mg.manual_seed(0)
    critic = mg.nn.Sequential(mg.nn.Linear(4, 8), mg.nn.Linear(8, 1))
    before = [p.numpy().copy() for p in critic.parameters()]
    load_solution("06_wgan_on_digits").clip_weights_(critic, 0.01)
    for old, p in zip(before, critic.parameters()):
        np.testing.assert_array_equal(p.numpy(), np.clip(old, -0.01, 0.01))


def test_06_batch_norm_of_the_gradient_misses_a_critic_with_unit_norms():
    from wgan.losses import gradient_penalty
    solution = load_solution("06_wgan_on_digits")
    mg.manual_seed(0)
    critic = _linear_critic(1.0)
    real, fake = mg.randn(9, 6, dtype=mg.float64), mg.randn(9, 6, dtype=mg.float64)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0, abs=1e-12)
    wrong = solution.penalty_with_batch_norm_of_gradient(critic, real, fake).item()
    assert wrong == pytest.approx((np.sqrt(9) - 1) ** 2)


# ---- 05: write your own op ----

def _points(*shape, away_from_zero=False):
    mg.manual_seed(0)
    x = mg.randn(*shape, dtype=mg.float64) * 2
    if away_from_zero:
        x = x + (x.numpy() >= 0) * 0.2 - (x.numpy() < 0) * 0.2
    return x.detach().requires_grad_()


@pytest.mark.parametrize("name, reference", [("sin", np.sin), ("cos", np.cos),
                                             ("softsign", lambda a: a / (1 + np.abs(a)))])
def test_05_ops_pass_both_checks_and_compute_the_function(name, reference):
    op = getattr(load_solution("05_write_your_own_op"), name)
    x = _points(3, 4, away_from_zero=True)
    np.testing.assert_allclose(op(x).numpy(), reference(x.numpy()), rtol=1e-14)
    assert mg.gradcheck(op, [x])
    assert mg.gradgradcheck(op, [x])
    assert mg.gradgradcheck(op, [_points(1, 5, away_from_zero=True)])


def test_05_the_numpy_rule_passes_first_order_and_fails_second():
    broken = load_solution("05_write_your_own_op").sin_with_numpy_rule
    x = _points(5)
    assert mg.gradcheck(broken, [x])
    with pytest.raises(mg.GradcheckError):
        mg.gradgradcheck(broken, [x])
