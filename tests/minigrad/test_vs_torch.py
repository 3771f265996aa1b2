"""minigrad against PyTorch in float64, where PyTorch is installed (skipped otherwise).

- ops: conv2d, conv_transpose2d, batch_norm and layer_norm: forward values, first-order
  gradients (vector-Jacobian products with a random output weighting u) and second-order
  gradients (the gradient of <first-order gradients, v> with respect to the inputs and u),
  which is what the WGAN-GP penalty differentiates;
- layers and initialisation: the same weights give the same outputs, gradients and running
  statistics, and PyTorch's own default weights fall inside the bounds our init computes;
- convolution options (dilation, groups, padding "same"), pooling, interpolate, pad modes,
  group / instance norm, activations and losses, to second order, and their layers;
- optimizers: the same trajectories as torch.optim;
- indexing and shape ops (advanced indexing, gather, index_select, masked_fill, squeeze ...
  chunk, std / var with ddof, ties of maximum / minimum / max / min, pow at 0), to second
  order; argmax, one_hot, the constructors and dtype promotion by value and dtype.
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


# ---- convolution options, pooling, resampling, padding, norms, activations, losses ----
# (forward, first and second order in float64 with compare_with_torch; layers with compare)

# (x shape, weight shape, bias, keyword arguments)
CONV2D_OPTIONS = [
    ((2, 4, 7, 6), (6, 2, 3, 3), True, dict(padding=2, dilation=2, groups=2)),
    ((1, 3, 6, 5), (3, 1, 3, 3), False, dict(stride=2, padding=1, groups=3)),      # depthwise
    ((1, 2, 6, 7), (3, 2, 4, 3), True, dict(padding="same", dilation=(1, 2))),     # odd total
    ((2, 2, 5, 5), (2, 2, 3, 3), False, dict(padding="valid")),
    ((1, 4, 5, 5), (4, 2, 1, 1), True, dict(groups=2)),                            # grouped 1x1
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on its own copy
@pytest.mark.parametrize("x_shape, w_shape, bias, kwargs", CONV2D_OPTIONS, ids=str)
def test_conv2d_options_vs_torch(x_shape, w_shape, bias, kwargs):
    rng = np.random.default_rng(10)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0]))
    compare_with_torch(lambda *a: F.conv2d(*a, **kwargs), lambda *a: TF.conv2d(*a, **kwargs), arrays)


CONV_T_OPTIONS = [
    ((1, 4, 3, 4), (4, 3, 3, 3), True, dict(stride=2, padding=1, output_padding=1, groups=2,
                                            dilation=2)),
    ((2, 3, 3, 3), (3, 1, 3, 3), False, dict(stride=2, padding=1, groups=3)),      # depthwise
    ((1, 2, 3, 4), (2, 1, 2, 2), True, dict(padding=1, output_padding=(2, 1), dilation=3)),
]


@pytest.mark.parametrize("x_shape, w_shape, bias, kwargs", CONV_T_OPTIONS, ids=str)
def test_conv_transpose2d_options_vs_torch(x_shape, w_shape, bias, kwargs):
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[1] * kwargs.get("groups", 1)))
    compare_with_torch(lambda *a: F.conv_transpose2d(*a, **kwargs),
                       lambda *a: TF.conv_transpose2d(*a, **kwargs), arrays)


@pytest.mark.parametrize("shape, args, kwargs", [
    ((2, 3, 7, 6), (3, 2, 1), dict(ceil_mode=True)),
    ((1, 2, 9, 8), ((2, 3), (1, 2), (1, 0)), dict(dilation=2)),
    ((2, 2, 6, 6), (2,), {}),
    ((2, 5, 4), (3, 1, 1), {}),                                                   # unbatched
], ids=str)
def test_max_pool2d_vs_torch(shape, args, kwargs):
    x = np.random.default_rng(12).standard_normal(shape)
    compare_with_torch(lambda x: F.max_pool2d(x, *args, **kwargs),
                       lambda x: TF.max_pool2d(x, *args, **kwargs), [x])
    _, ours = F.max_pool2d(mg.tensor(x), *args, **kwargs, return_indices=True)
    _, theirs = TF.max_pool2d(torch.tensor(x), *args, **kwargs, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_max_pool2d_ties_match_torch():
    """The gradient at ties goes where PyTorch sends it."""
    x = np.array([[[[1.0, 3.0, 3.0], [3.0, 2.0, 0.0], [3.0, 3.0, 1.0]]]])
    compare_with_torch(lambda x: F.max_pool2d(x, 2, 1), lambda x: TF.max_pool2d(x, 2, 1), [x])


@pytest.mark.parametrize("shape, args, kwargs", [
    ((2, 3, 7, 6), (3, 2, 1), dict(ceil_mode=True)),
    ((2, 3, 7, 6), (3, 2, 1), dict(ceil_mode=True, count_include_pad=False)),
    ((1, 2, 6, 7), ((2, 3), (1, 2), (1, 1)), dict(count_include_pad=False)),
    ((1, 2, 5, 5), (3, 2, 1), dict(divisor_override=4)),
], ids=str)
def test_avg_pool2d_vs_torch(shape, args, kwargs):
    x = np.random.default_rng(13).standard_normal(shape)
    compare_with_torch(lambda x: F.avg_pool2d(x, *args, **kwargs),
                       lambda x: TF.avg_pool2d(x, *args, **kwargs), [x])


@pytest.mark.parametrize("kwargs", [
    dict(size=(9, 4)), dict(size=3), dict(scale_factor=2), dict(scale_factor=1.7),
    dict(scale_factor=(0.5, 3)), dict(size=(15, 21)), dict(scale_factor=2.5, recompute_scale_factor=True),
    dict(size=(9, 4), mode="bilinear"), dict(size=(9, 4), mode="bilinear", align_corners=True),
    dict(scale_factor=1.7, mode="bilinear"), dict(size=(1, 1), mode="bilinear", align_corners=True),
    dict(size=(3, 2), mode="bilinear"),
], ids=str)
def test_interpolate_vs_torch(kwargs):
    x = np.random.default_rng(14).standard_normal((2, 2, 5, 7))
    compare_with_torch(lambda x: F.interpolate(x, **kwargs), lambda x: TF.interpolate(x, **kwargs), [x])


@pytest.mark.parametrize("pad, mode, value", [
    ((1, 2, 2, 0), "constant", 1.5), ((2, 1, 1, 3), "reflect", None), ((3, 0, 1, 2), "replicate", None),
    ((2, 3, 1, 0), "circular", None), ((-1, 2, 0, -2), "constant", None),
    ((1, 1, 2, 2, 1, 1), "reflect", None),
], ids=str)
def test_pad_vs_torch(pad, mode, value):
    x = np.random.default_rng(15).standard_normal((2, 3, 4, 5))
    compare_with_torch(lambda x: F.pad(x, pad, mode, value), lambda x: TF.pad(x, pad, mode, value), [x])


@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 3), 3), ((1, 4, 5), 2), ((2, 3, 2, 2), 1)], ids=str)
def test_group_norm_vs_torch(shape, groups):
    rng = np.random.default_rng(16)
    c = shape[1]
    arrays = [2 * rng.standard_normal(shape) + 1, rng.uniform(0.5, 1.5, c), rng.standard_normal(c)]
    compare_with_torch(lambda x, w, b: F.group_norm(x, groups, w, b),
                       lambda x, w, b: TF.group_norm(x, groups, w, b), arrays)


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_vs_torch(use_input_stats):
    rng = np.random.default_rng(17)
    arrays = [rng.standard_normal((3, 2, 3, 4)) * 2, rng.uniform(0.5, 1.5, 2), rng.standard_normal(2)]
    rm, rv = rng.standard_normal(2), rng.uniform(0.5, 2, 2)
    mine, theirs = [mg.tensor(rm.copy()), mg.tensor(rv.copy())], [torch.tensor(rm.copy()), torch.tensor(rv.copy())]
    kwargs = dict(use_input_stats=use_input_stats, momentum=0.3)
    compare_with_torch(lambda x, w, b: F.instance_norm(x, *mine, w, b, **kwargs),
                       lambda x, w, b: TF.instance_norm(x, *theirs, w, b, **kwargs), arrays)
    assert_same(mine[0], theirs[0], "running_mean")
    assert_same(mine[1], theirs[1], "running_var")


@pytest.mark.parametrize("name, ours, theirs", [
    ("gelu", F.gelu, TF.gelu),
    ("gelu tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("silu", F.silu, TF.silu),
    ("elu", lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7)),
    ("softplus", F.softplus, TF.softplus),
    ("softplus beta threshold", lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0)),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 1.5), lambda x: TF.hardtanh(x, -0.5, 1.5)),
    ("erf", mg.erf, torch.erf),
], ids=lambda v: v if isinstance(v, str) else "")
def test_activations_vs_torch(name, ours, theirs):
    x = 2.5 * np.random.default_rng(18).standard_normal((4, 6))
    x[np.abs(x) < 1e-3] = 0.5  # away from elu's kink
    compare_with_torch(ours, theirs, [np.concatenate([x, [[-1000, -30, -5, 5, 30, 1000]]])])


def test_gelu_and_erf_far_out_vs_torch():
    x = np.concatenate([np.linspace(-9, 9, 721), [-40.0, 40.0]])
    np.testing.assert_allclose(mg.erf(mg.tensor(x)).numpy(), torch.erf(torch.tensor(x)).numpy(),
                               rtol=2e-15, atol=1e-300)
    np.testing.assert_allclose(F.gelu(mg.tensor(x)).numpy(), TF.gelu(torch.tensor(x)).numpy(),
                               rtol=1e-14, atol=1e-15)


TARGETS = np.array([0, 2, 1, 2, 0, 1])


@pytest.mark.parametrize("kwargs", [
    {}, dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=2), dict(label_smoothing=0.2),
    dict(weight=[0.5, 2.0, 1.5]), dict(weight=[0.5, 2.0, 1.5], ignore_index=1, label_smoothing=0.1),
    dict(weight=[0.5, 2.0, 1.5], ignore_index=0, reduction="none", label_smoothing=0.3),
], ids=str)
def test_cross_entropy_and_nll_loss_vs_torch(kwargs):
    logits = 2 * np.random.default_rng(19).standard_normal((6, 3))
    ours_kw, theirs_kw = dict(kwargs), dict(kwargs)
    if "weight" in kwargs:
        weight = np.array(kwargs["weight"])
        ours_kw["weight"], theirs_kw["weight"] = mg.tensor(weight), torch.tensor(weight)
    compare_with_torch(lambda z: F.cross_entropy(z, TARGETS, **ours_kw),
                       lambda z: TF.cross_entropy(z, torch.tensor(TARGETS), **theirs_kw), [logits])
    smoothing = ours_kw.pop("label_smoothing", 0.0), theirs_kw.pop("label_smoothing", 0.0)
    if not smoothing[0]:
        compare_with_torch(lambda z: F.nll_loss(F.log_softmax(z, 1), TARGETS, **ours_kw),
                           lambda z: TF.nll_loss(TF.log_softmax(z, 1), torch.tensor(TARGETS), **theirs_kw),
                           [logits])


def test_cross_entropy_spatial_and_probabilities_vs_torch():
    rng = np.random.default_rng(20)
    logits, targets = rng.standard_normal((2, 3, 2, 3)), rng.integers(0, 3, (2, 2, 3))
    compare_with_torch(lambda z: F.cross_entropy(z, targets, label_smoothing=0.1),
                       lambda z: TF.cross_entropy(z, torch.tensor(targets), label_smoothing=0.1), [logits])
    probs = rng.dirichlet(np.ones(3), 4)
    weight = rng.uniform(0.5, 2, 3)
    compare_with_torch(lambda z, q: F.cross_entropy(z, q, weight=mg.tensor(weight), label_smoothing=0.2),
                       lambda z, q: TF.cross_entropy(z, q, weight=torch.tensor(weight), label_smoothing=0.2),
                       [rng.standard_normal((4, 3)), probs])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_vs_torch(reduction):
    """Forward and derivatives in p to second order; the target's gradient to first order. (In
    its second derivatives PyTorch adds 1e-12 to p and 1 - p in denominators, which moves the
    mixed p-target terms by about 1e-12 relative: beyond 1e-10 where they nearly cancel.)"""
    rng = np.random.default_rng(21)
    p, t, w = rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4)), rng.uniform(0.5, 2, 4)
    compare_with_torch(lambda p: F.binary_cross_entropy(p, mg.tensor(t), mg.tensor(w), reduction=reduction),
                       lambda p: TF.binary_cross_entropy(p, torch.tensor(t), torch.tensor(w),
                                                         reduction=reduction), [p])
    ours_t, theirs_t = mg.tensor(t, requires_grad=True), torch.tensor(t, requires_grad=True)
    (ours,) = mg.grad(F.binary_cross_entropy(mg.tensor(p), ours_t, reduction="sum"), ours_t)
    (theirs,) = torch.autograd.grad(TF.binary_cross_entropy(torch.tensor(p), theirs_t, reduction="sum"),
                                    theirs_t)
    assert_same(ours, theirs, "gradient of the target")
    edges = np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(
        F.binary_cross_entropy(mg.tensor(edges[0]), mg.tensor(edges[1]), reduction="none").numpy(),
        TF.binary_cross_entropy(torch.tensor(edges[0]), torch.tensor(edges[1]), reduction="none").numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits_vs_torch(reduction):
    rng = np.random.default_rng(22)
    x, t = 3 * rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 4))
    x[0] = [1000, -1000, 40, -40]
    w, pw = rng.uniform(0.5, 2, 4), rng.uniform(0.5, 3, 4)
    compare_with_torch(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, mg.tensor(w), pos_weight=mg.tensor(pw),
                                                        reduction=reduction),
        lambda x, t: TF.binary_cross_entropy_with_logits(x, t, torch.tensor(w), pos_weight=torch.tensor(pw),
                                                         reduction=reduction), [x, t])


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("make, shape", [
    (lambda m: m.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), (2, 4, 7, 6)),
    (lambda m: m.Conv2d(3, 6, 3, stride=2, padding=1, groups=3, bias=False), (1, 3, 7, 7)),
    (lambda m: m.Conv2d(2, 3, (4, 3), padding="same"), (1, 2, 5, 7)),
    (lambda m: m.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="reflect"), (2, 2, 5, 6)),
    (lambda m: m.Conv2d(2, 3, 4, padding="same", padding_mode="replicate"), (1, 2, 6, 5)),
    (lambda m: m.Conv2d(2, 2, 3, padding=1, padding_mode="circular"), (1, 2, 4, 4)),
    (lambda m: m.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2),
     (1, 4, 3, 4)),
    (lambda m: m.Sequential(m.Conv2d(2, 4, 3, padding=1), m.GroupNorm(2, 4), m.GELU(),
                            m.MaxPool2d(2, ceil_mode=True), m.Upsample(scale_factor=1.5, mode="bilinear"),
                            m.InstanceNorm2d(4, affine=True), m.SiLU(), m.AvgPool2d(3, 2, 1),
                            m.ELU(0.5), m.Softplus(2.0), m.Hardtanh(-0.5, 0.5)), (2, 2, 5, 7)),
])
def test_new_layers_match_torch(make, shape):
    compare(make(nn), make(torch.nn), shape)


def test_instance_norm_layer_statistics_match_torch():
    ours, theirs = nn.InstanceNorm2d(3, momentum=0.2, track_running_stats=True), \
        torch.nn.InstanceNorm2d(3, momentum=0.2, track_running_stats=True)
    compare(ours, theirs, (2, 3, 3, 4), steps=3)
    ours.eval(), theirs.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 3, 4))
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10)


@pytest.mark.parametrize("make", [
    lambda m: m.Conv2d(8, 40, 5, groups=4),
    lambda m: m.ConvTranspose2d(40, 64, 4, groups=8),
    lambda m: m.Conv2d(64, 64, 3, groups=64),
])
def test_torchs_default_weights_with_groups_fill_the_bounds_our_init_uses(make):
    test_torchs_default_weights_fill_the_bounds_our_init_uses(make)

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


# ---- indexing and shape ops ----
# Each case: (minigrad function, torch function, input shapes). The same float64 inputs go to
# both; forward values, first-order and second-order gradients must agree (compare_with_torch).

IDX = np.array([[3, 0, 3], [1, 1, 2]])
MASK = np.array([[True, False, True, True, False], [False, False, True, False, True],
                 [True, True, False, False, False], [False, True, False, True, True]])
GATHER_INDEX = np.array([[0, 3, 3, 1, 0], [2, 2, 0, 1, 3], [1, 0, 0, 0, 2]])

SHAPE_AND_INDEX_OPS = {
    "list index, repeated": (lambda x: x[[3, 0, 3]] ** 2, lambda x: x[[3, 0, 3]] ** 2, [(4, 5)]),
    "2-D index array": (lambda x: x[IDX].exp(), lambda x: x[torch.tensor(IDX)].exp(), [(4, 5)]),
    "rows and columns": (lambda x: x[[0, 2, 2], [4, 1, 4]] * x[0, :3],
                         lambda x: x[[0, 2, 2], [4, 1, 4]] * x[0, :3], [(4, 5)]),
    "slice and array": (lambda x: x[1:, [2, 0, 2]] ** 3, lambda x: x[1:, [2, 0, 2]] ** 3, [(4, 5)]),
    "separated arrays": (lambda x: x[[1, 0], :, [2, 2]] ** 2, lambda x: x[[1, 0], :, [2, 2]] ** 2,
                         [(2, 3, 4)]),
    "boolean mask": (lambda x: x[MASK] ** 2, lambda x: x[torch.tensor(MASK)] ** 2, [(4, 5)]),
    "gather dim 0": (lambda x: mg.gather(x, 0, GATHER_INDEX) ** 2,
                     lambda x: torch.gather(x, 0, torch.tensor(GATHER_INDEX)) ** 2, [(4, 5)]),
    "gather dim 1, smaller": (lambda x: x.gather(1, GATHER_INDEX[:2, :3] + 1).exp(),
                              lambda x: x.gather(1, torch.tensor(GATHER_INDEX[:2, :3] + 1)).exp(),
                              [(4, 5)]),
    "index_select": (lambda x: mg.index_select(x, 1, [4, 0, 4]) ** 2,
                     lambda x: torch.index_select(x, 1, torch.tensor([4, 0, 4])) ** 2, [(4, 5)]),
    "masked_fill, tensor value": (lambda x, v: x.masked_fill(MASK, v) * x,
                                  lambda x, v: x.masked_fill(torch.tensor(MASK), v) * x,
                                  [(4, 5), ()]),
    "squeeze": (lambda x: x.squeeze() ** 2, lambda x: x.squeeze() ** 2, [(3, 1, 4, 1)]),
    "squeeze axis": (lambda x: mg.squeeze(x, 1) ** 2, lambda x: torch.squeeze(x, 1) ** 2, [(3, 1, 4)]),
    "unsqueeze": (lambda x: x.unsqueeze(-2) * x, lambda x: x.unsqueeze(-2) * x, [(3, 4)]),
    "expand": (lambda x: x.expand(2, -1, 4) ** 2, lambda x: x.expand(2, -1, 4) ** 2, [(3, 1)]),
    "repeat": (lambda x: x.repeat(2, 1, 3) ** 2, lambda x: x.repeat(2, 1, 3) ** 2, [(3, 2)]),
    "flip": (lambda x: mg.flip(x, (0, 2)) * x, lambda x: torch.flip(x, (0, 2)) * x, [(2, 3, 4)]),
    "split": (lambda x: mg.concat([p ** (i + 2) for i, p in enumerate(mg.split(x, 2, 1))], 1),
              lambda x: torch.cat([p ** (i + 2) for i, p in enumerate(torch.split(x, 2, 1))], 1),
              [(3, 5)]),
    "split sections": (lambda x: mg.concat([p.exp() * i for i, p in enumerate(x.split([1, 3, 1]))]),
                       lambda x: torch.cat([p.exp() * i for i, p in enumerate(x.split([1, 3, 1]))]),
                       [(5, 2)]),
    "chunk": (lambda x: mg.concat([p ** (i + 2) for i, p in enumerate(mg.chunk(x, 3, -1))], -1),
              lambda x: torch.cat([p ** (i + 2) for i, p in enumerate(torch.chunk(x, 3, -1))], -1),
              [(2, 7)]),
    "std ddof 1": (lambda x: x.std(axis=1, ddof=1), lambda x: x.std(dim=1, correction=1), [(3, 5)]),
    "std all": (lambda x: mg.std(x), lambda x: torch.std(x), [(3, 5)]),
    "var ddof 2": (lambda x: x.var(axis=0, ddof=2), lambda x: x.var(dim=0, correction=2), [(4, 3)]),
    "stack axis -1": (lambda a, b: mg.stack([a, b * a], axis=-1),
                      lambda a, b: torch.stack([a, b * a], dim=-1), [(2, 3), (2, 3)]),
}


@pytest.mark.parametrize("name", list(SHAPE_AND_INDEX_OPS))
def test_indexing_and_shape_ops_vs_torch(name):
    mine, theirs, shapes = SHAPE_AND_INDEX_OPS[name]
    rng = np.random.default_rng(5)
    compare_with_torch(mine, theirs, [rng.standard_normal(s) for s in shapes])


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_ties_vs_torch(op):
    """Tied operands split the gradient as PyTorch's (also to second order)."""
    a = np.array([[1.0, 2.0, -1.0], [0.0, 3.0, 3.0]])
    b = np.array([[1.0, -2.0, -1.0], [0.0, 4.0, 3.0]])
    compare_with_torch(lambda a, b: getattr(mg, op)(a, b) * a, lambda a, b: getattr(torch, op)(a, b) * a,
                       [a, b])


def test_max_min_ties_and_zero_dimensional_reductions_vs_torch():
    """amax / amin split tied gradients evenly; a 0-d tensor reduces over axis 0 / -1."""
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    compare_with_torch(lambda x: x.amax(axis=1) * x.amin(axis=0).sum(),
                       lambda x: x.amax(dim=1) * x.amin(dim=0).sum(), [x])
    compare_with_torch(lambda x: x.sum(0) * F.softmax(x) + F.log_softmax(x * x, axis=-1),
                       lambda x: x.sum(0) * TF.softmax(x, dim=0) + TF.log_softmax(x * x, dim=-1),
                       [np.array(1.5)])


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")
def test_pow_at_zero_vs_torch():
    """x ** 0, x ** y and 0 ** y where the base is 0: the same first-order gradients as
    PyTorch (0 where PyTorch sets 0, inf where it gives inf)."""
    base = np.array([0.0, 0.0, 0.0, 0.0, 2.0])
    exponent = np.array([0.0, 1.0, 2.5, -1.0, 1.5])
    xs = [mg.tensor(a, requires_grad=True) for a in (base, exponent)]
    ts = [torch.tensor(a, requires_grad=True) for a in (base, exponent)]
    for fn, wrt in ((lambda a, b: a ** b, (0, 1)), (lambda a, b: a ** 0, (0,)),
                    (lambda a, b: a ** 0.0, (0,)), (lambda a, b: 2.0 ** b, (1,)),
                    (lambda a, b: 0.0 ** b, (1,))):
        mine = mg.grad(fn(*xs).sum(), [xs[i] for i in wrt])
        theirs = torch.autograd.grad(fn(*ts).sum(), [ts[i] for i in wrt])
        for g, tg in zip(mine, theirs):
            np.testing.assert_array_equal(g.numpy(), tg.numpy())


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value",
                            "ignore::UserWarning")  # PyTorch's on correction >= count
def test_var_with_large_ddof_and_integer_extremes_vs_torch():
    x = np.array([[1.0, 2.0], [3.0, 3.0]])
    np.testing.assert_array_equal(mg.tensor(x).var(axis=1, ddof=3).numpy(),
                                  torch.tensor(x).var(dim=1, correction=3).numpy())
    np.testing.assert_array_equal(mg.tensor([4.0]).var(ddof=1).numpy(), torch.tensor([4.0]).var().numpy())
    u = np.array([0, 255, 7], dtype=np.uint8)
    assert mg.tensor(u).min().item() == torch.tensor(u).min().item() == 0
    assert mg.tensor([True, False]).min().item() == torch.tensor([True, False]).min().item()


def test_std_of_equal_values_vs_torch():
    """PyTorch gives std a zero gradient where the variance is 0; so does minigrad."""
    x = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (g,) = mg.grad(mx.std(axis=1, ddof=1).sum(), mx)
    (tg,) = torch.autograd.grad(tx.std(dim=1).sum(), tx)
    np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_argmax_argmin_and_one_hot_vs_torch(axis):
    x = np.random.default_rng(6).integers(-2, 2, (4, 5)).astype(np.float64)  # ties: first wins
    for name in ("argmax", "argmin"):
        for keepdims in (False, True):
            mine = getattr(mg, name)(mg.tensor(x), axis, keepdims)
            theirs = getattr(torch, name)(torch.tensor(x), dim=axis, keepdim=keepdims)
            assert mine.shape == tuple(theirs.shape)
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    labels = np.array([[0, 3], [2, 2]])
    for n in (-1, 6):
        np.testing.assert_array_equal(F.one_hot(mg.tensor(labels), n).numpy(),
                                      TF.one_hot(torch.tensor(labels), n).numpy())


@pytest.mark.parametrize("make", [
    lambda m, f64: m.arange(5), lambda m, f64: m.arange(2, 11, 3), lambda m, f64: m.arange(0, 1, 0.1),
    lambda m, f64: m.arange(1.5, -2, -0.5), lambda m, f64: m.arange(3, dtype=f64),
    lambda m, f64: m.linspace(-1, 1, 9), lambda m, f64: m.linspace(0, 5, 1),
    lambda m, f64: m.eye(3), lambda m, f64: m.eye(2, 4), lambda m, f64: m.full((2,), 4),
    lambda m, f64: m.full((2,), 4.0), lambda m, f64: m.full((2,), True)])
def test_constructors_vs_torch(make):
    """Values and dtypes of arange, linspace, eye and full as PyTorch's."""
    mine, theirs = make(mg, np.float64), make(torch, torch.float64)
    assert str(mine.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-7)


@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.parametrize("expression", [
    "t([1, 2]) + 0.5", "t([1, 2]) / t([1, 2])", "t([1, 2]) / 2", "t(2).exp()", "t(2).log()",
    "t([True, False]).sqrt()", "t([True]) * 1.5", "t([1, 2]) * t([0.5], dtype=f32)",
    "t([1, 2], dtype=u8) * t([0.5], dtype=f64)", "t([1, 2]) + 1", "t([True]) + 1",
    "t([0.5], dtype=f32) * 2.0", "t([0.5], dtype=f64) + 1", "t([1, 2], dtype=u8) + 1",
    "t([1, 2]) ** 0.5", "t([1.5, 2.5])", "t([1, 2])", "t(True)",
    "t([1, 5]).clamp(0.5, 2.5)", "t([1.0, 5.0]).clamp(np.float64(0.5))", "t([1, 5]).clip(min=2)",
    "m.clip(t([1, 5]), max=np.float64(2.5))", "t([True, False]).clamp(0, 1)",
    "t([1, 5]).clamp(t(2.0, dtype=f64))", "F.hardtanh(t([-3, 1, 5]))",
    "F.hardtanh(t([-3, 1, 5]), -0.5, 2.5)", "F.relu6(t([-3, 1, 7], dtype=u8))",
    "t([200, 100], dtype=u8).sum()", "t([200, 100], dtype=u8).cumsum(0)", "t([True]).sum()",
    "t([20, 30], dtype=u8).prod()", "t([True, False]).cumprod(0)", "t(1j)", "t([1.5 + 2j])",
    "m.erf(t([1, 2]))", "t([[1, 2]], dtype=u8).sum(dim=1, keepdim=True)"])
def test_dtype_promotion_vs_torch(expression):
    """The dtype (and value) of each expression as PyTorch's, with t = mg.tensor or torch.tensor, m = mg
    or torch, F = their functional modules."""
    def run(m, F, f32, f64, u8):
        return eval(expression, {"t": m.tensor, "m": m, "F": F, "np": np, "f32": f32,
                                 "f64": f64, "u8": u8})
    mine = run(mg, F, np.float32, np.float64, np.uint8)
    theirs = run(torch, TF, torch.float32, torch.float64, torch.uint8)
    assert str(mine.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-6)
