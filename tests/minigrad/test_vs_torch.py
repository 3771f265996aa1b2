"""minigrad against PyTorch in float64, where PyTorch is installed (skipped otherwise).

- ops: conv2d, conv_transpose2d, batch_norm and layer_norm: forward values, first-order
  gradients (vector-Jacobian products with a random output weighting u) and second-order
  gradients (the gradient of <first-order gradients, v> with respect to the inputs and u),
  which is what the WGAN-GP penalty differentiates;
- layers and initialisation: the same weights give the same outputs, gradients and running
  statistics, and PyTorch's own default weights fall inside the bounds our init computes;
- optimizers: the same trajectories as torch.optim.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim

from test_optim import CASES, STEPS, case_id, gradient, start_values

pytestmark = pytest.mark.cpu_only("compares with PyTorch on the CPU")
torch = pytest.importorskip("torch")
TF = torch.nn.functional

# ---- ops ----

RTOL, ATOL = 1e-10, 1e-12  # two float64 implementations of the same sums


def assert_same(mine, theirs, what):
    """Equal arrays; a gradient that one library reports as unused (None) must be zero in the other."""
    if mine is None and theirs is None:
        return
    theirs = np.zeros(mine.shape) if theirs is None else theirs.detach().numpy()
    mine = np.zeros(theirs.shape) if mine is None else mine.numpy()
    np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def compare_with_torch(mg_fn, torch_fn, arrays, seed=0):
    """Forward, first and second derivatives of mg_fn and torch_fn at the same float64 arrays."""
    rng = np.random.default_rng(seed)
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = mg_fn(*xs), torch_fn(*ts)
    assert y.shape == tuple(ty.shape)
    assert_same(y, ty, "forward")

    u = rng.standard_normal(y.shape)
    mu, tu = mg.tensor(u, requires_grad=True), torch.tensor(u, requires_grad=True)
    grads = mg.grad(y, xs, mu, create_graph=True)
    tgrads = torch.autograd.grad(ty, ts, tu, create_graph=True)
    for i, (g, tg) in enumerate(zip(grads, tgrads)):
        assert_same(g, tg, f"first-order gradient of input {i}")

    vs = [rng.standard_normal(a.shape) for a in arrays]
    s = sum(((g * v).sum() for g, v in zip(grads, vs)), mg.tensor(np.zeros(())))
    ts_ = sum((tg * torch.tensor(v)).sum() for tg, v in zip(tgrads, vs))
    second = mg.grad(s, xs + [mu], allow_unused=True) if s.requires_grad else [None] * (len(xs) + 1)
    tsecond = torch.autograd.grad(ts_, ts + [tu], allow_unused=True)
    for i, (h, th) in enumerate(zip(second, tsecond)):
        assert_same(h, th, f"second-order gradient of {'u' if i == len(xs) else f'input {i}'}")


# (x shape, weight shape, bias, stride, padding)
CONV2D = [
    ((2, 3, 7, 7), (4, 3, 5, 5), True, 2, 2),
    ((1, 2, 6, 5), (3, 2, 3, 3), False, 1, 1),
    ((1, 1, 9, 9), (2, 1, 4, 4), True, 3, 0),
    ((2, 2, 5, 7), (2, 2, 3, 2), True, (2, 1), (0, 1)),
]


@pytest.mark.parametrize("x_shape, w_shape, bias, stride, padding", CONV2D, ids=str)
def test_conv2d_vs_torch(x_shape, w_shape, bias, stride, padding):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0]))
    compare_with_torch(lambda *a: F.conv2d(*a, stride=stride, padding=padding),
                       lambda *a: TF.conv2d(*a, stride=stride, padding=padding), arrays)


# (x shape, weight shape (in, out, kh, kw), bias, stride, padding, output_padding)
CONV_T = [
    ((2, 3, 4, 4), (3, 2, 5, 5), True, 2, 2, 1),
    ((1, 2, 3, 5), (2, 3, 3, 3), False, 1, 1, 0),
    ((1, 1, 3, 3), (1, 2, 4, 4), True, 2, 1, 0),
    ((2, 2, 3, 2), (2, 1, 3, 2), True, (3, 2), (1, 0), (2, 1)),
]


@pytest.mark.parametrize("x_shape, w_shape, bias, stride, padding, output_padding", CONV_T, ids=str)
def test_conv_transpose2d_vs_torch(x_shape, w_shape, bias, stride, padding, output_padding):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[1]))
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding)
    compare_with_torch(lambda *a: F.conv_transpose2d(*a, **kwargs),
                       lambda *a: TF.conv_transpose2d(*a, **kwargs), arrays)


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 4, 3), (1, 2, 3, 3)], ids=str)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_vs_torch(shape, training):
    """Outputs, derivatives and the updated running statistics, in training and evaluation."""
    rng = np.random.default_rng(3)
    c = shape[1]
    arrays = [2 * rng.standard_normal(shape) + 0.5, rng.uniform(0.5, 1.5, c), rng.standard_normal(c)]
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    mine = [mg.tensor(rm.copy()), mg.tensor(rv.copy())]
    theirs = [torch.tensor(rm.copy()), torch.tensor(rv.copy())]
    compare_with_torch(lambda x, w, b: F.batch_norm(x, *mine, w, b, training=training, momentum=0.2),
                       lambda x, w, b: TF.batch_norm(x, *theirs, w, b, training=training, momentum=0.2),
                       arrays)
    # the forward ran once in each library: running statistics updated alike (or left alone)
    assert_same(mine[0], theirs[0], "running_mean")
    assert_same(mine[1], theirs[1], "running_var")


@pytest.mark.parametrize("shape, normalized_shape", [((3, 5), (5,)), ((2, 3, 4), (3, 4)),
                                                     ((1, 2, 3, 3), (2, 3, 3))], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_vs_torch(shape, normalized_shape, affine):
    rng = np.random.default_rng(4)
    arrays = [2 * rng.standard_normal(shape) - 1]
    if affine:
        arrays += [rng.uniform(0.5, 1.5, normalized_shape), rng.standard_normal(normalized_shape)]
    compare_with_torch(lambda x, *wb: F.layer_norm(x, normalized_shape, *wb),
                       lambda x, *wb: TF.layer_norm(x, normalized_shape, *wb), arrays)


# ---- layers and initialisation ----

def copy_weights(ours, theirs):
    """Load torch's weights and buffers into our layer (same names, same layouts)."""
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})


def compare(ours, theirs, shape, steps=1):
    """Outputs and input/parameter gradients of both layers, in float64, over ``steps`` calls."""
    ours.to(dtype=np.float64)
    theirs.double()
    copy_weights(ours, theirs)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = rng.standard_normal(shape)
        x_ours, x_theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
        np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        g = rng.standard_normal(y_ours.shape)
        y_ours.backward(mg.tensor(g))
        y_theirs.backward(torch.tensor(g))
        np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs.get_parameter(name).grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), theirs.get_buffer(name).numpy(), rtol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.Linear(5, 3), (4, 5)),
    (lambda m: m.Conv2d(2, 3, 5, stride=2, padding=2), (2, 2, 9, 8)),
    (lambda m: m.ConvTranspose2d(3, 2, 5, stride=2, padding=2, output_padding=1), (2, 3, 4, 3)),
    (lambda m: m.LayerNorm((3, 4)), (2, 5, 3, 4)),
    (lambda m: m.Sequential(m.Conv2d(1, 2, 3), m.LeakyReLU(0.2), m.Flatten(), m.Linear(12, 1),
                            m.Sigmoid()), (3, 1, 5, 4)),
])
def test_layers_match_torch(make, shape):
    compare(make(nn), make(torch.nn), shape)


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.BatchNorm1d(3, momentum=0.2), (5, 3)),
    (lambda m: m.BatchNorm1d(3, momentum=None), (5, 3, 4)),
    (lambda m: m.BatchNorm2d(3, eps=1e-3), (4, 3, 2, 3)),
])
def test_batch_norm_statistics_and_eval_output_match_torch(make, shape):
    ours, theirs = make(nn), make(torch.nn)
    compare(ours, theirs, shape, steps=3)
    ours.eval(), theirs.eval()
    x = np.random.default_rng(1).standard_normal(shape)
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_module_state_dict_keys_match_torch():
    def net(m):
        return m.Sequential(m.Conv2d(1, 2, 3), m.BatchNorm2d(2), m.ReLU(), m.Flatten(),
                            m.Linear(8, 1))
    assert list(net(nn).state_dict()) == list(net(torch.nn).state_dict())


@pytest.mark.parametrize("make", [
    lambda m: m.Linear(300, 50),
    lambda m: m.Conv2d(8, 32, 5),
    lambda m: m.ConvTranspose2d(64, 8, 4),
    lambda m: m.ConvTranspose2d(4, 32, 5),
])
def test_torchs_default_weights_fill_the_bounds_our_init_uses(make):
    torch.manual_seed(0)
    layer = make(torch.nn)
    fan_in, fan_out = nn.init.fan_in_and_fan_out(make(nn).weight)
    assert (fan_in, fan_out) == torch.nn.init._calculate_fan_in_and_fan_out(layer.weight)
    bound = 1 / np.sqrt(fan_in)
    for values in (layer.weight.detach().numpy(), layer.bias.detach().numpy()):
        assert np.abs(values).max() <= bound
    assert np.abs(layer.weight.detach().numpy()).max() > 0.95 * bound


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", np.sqrt(5)), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert np.isclose(nn.init.calculate_gain(nonlinearity, param),
                      torch.nn.init.calculate_gain(nonlinearity, param), rtol=1e-15)


# ---- optimizers ----

def run_minigrad(kind, kwargs, dtype):
    params = [mg.tensor(v.astype(dtype), requires_grad=True) for v in start_values()]
    optimizer = kind(params, **kwargs)
    trajectory = []
    for _ in range(STEPS):
        for p in params:
            p.grad = mg.tensor(gradient(p.numpy()))
        optimizer.step()
        trajectory.append([p.numpy() for p in params])
    return trajectory


def run_torch(kind, kwargs, dtype):
    params = [torch.tensor(v.astype(dtype), requires_grad=True) for v in start_values()]
    optimizer = getattr(torch.optim, kind.__name__)(params, foreach=False, **kwargs)
    trajectory = []
    for _ in range(STEPS):
        for p in params:
            p.grad = torch.from_numpy(gradient(p.detach().numpy()))
        optimizer.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_trajectory_matches_torch(case, dtype, rtol):
    kind, kwargs = case
    ours, theirs = run_minigrad(kind, kwargs, dtype), run_torch(kind, kwargs, dtype)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol, err_msg=f"step {step}")


@pytest.mark.parametrize("kind", [optim.SGD, optim.RMSprop, optim.Adam])
def test_default_hyperparameters_match_torch(kind):
    p = mg.zeros(1, requires_grad=True)
    ours = kind([p]).defaults
    theirs = getattr(torch.optim, kind.__name__)([torch.zeros(1, requires_grad=True)]).defaults
    assert {k: ours[k] for k in ours} == {k: theirs[k] for k in ours}
