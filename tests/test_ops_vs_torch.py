"""conv2d, conv_transpose2d, batch_norm and layer_norm against PyTorch in float64: forward
values, first-order gradients (vector-Jacobian products with a random output weighting u) and
second-order gradients (the gradient of <first-order gradients, v> with respect to the inputs
and u), which is what the WGAN-GP penalty differentiates. Skipped when torch is not installed.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

pytestmark = pytest.mark.cpu_only("compares with PyTorch on the CPU")
torch = pytest.importorskip("torch")
TF = torch.nn.functional

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
