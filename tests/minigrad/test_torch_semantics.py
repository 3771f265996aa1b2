"""PyTorch's meanings where NumPy's differ, and the Tensor methods PyTorch programs use.

Each behaviour is checked against fixed values (on the suite's device) and, where PyTorch is
installed, against PyTorch in float64: values and, for differentiable ops, first and second
derivatives.
"""
import numpy as np
import pytest

import minigrad as mg
from devices import DEVICE, leaf, tensor

try:
    import torch
except ImportError:  # the fixed-value tests still run
    torch = None



def vs_torch(test):
    """Mark a test that compares with PyTorch: CPU only, skipped without PyTorch."""
    test = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")(test)
    return pytest.mark.cpu_only("compares with PyTorch on the CPU")(test)


def compare_with_torch(mg_fn, torch_fn, *arrays, seed=0):
    """mg_fn and torch_fn at the same float64 arrays: values, first derivatives (with a random
    output weighting u) and second derivatives (of <first derivatives, v>, with respect to the
    inputs and u). Outputs may be tensors or tuples of tensors (the first one is compared)."""
    rng = np.random.default_rng(seed)
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = mg_fn(*xs), torch_fn(*ts)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    u = rng.standard_normal(y.shape)
    mu, tu = mg.tensor(u, requires_grad=True), torch.tensor(u, requires_grad=True)
    grads = mg.grad(y, xs, mu, create_graph=True)
    tgrads = torch.autograd.grad(ty, ts, tu, create_graph=True)
    for g, tg in zip(grads, tgrads):
        np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-12)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    s = sum((g * mg.tensor(v)).sum() for g, v in zip(grads, vs))
    ts_ = sum((tg * torch.tensor(v)).sum() for tg, v in zip(tgrads, vs))
    seconds = mg.grad(s, xs + [mu], allow_unused=True)
    tseconds = torch.autograd.grad(ts_, ts + [tu], allow_unused=True)
    for g, tg in zip(seconds, tseconds):
        g = np.zeros(tg.shape if tg is not None else ()) if g is None else g.numpy()
        tg = np.zeros(g.shape) if tg is None else tg.detach().numpy(force=True)  # ZeroTensors
        np.testing.assert_allclose(g, tg, rtol=1e-10, atol=1e-12)


# ---- mg.Tensor: PyTorch's legacy constructor; Tensor._wrap is the engine's ----

def test_the_legacy_constructor_makes_float32_copies_and_shapes():
    data = np.array([[1.5, 2.0]])
    x = mg.Tensor(data)
    assert x.dtype == np.float32 and x.shape == (1, 2) and not x.requires_grad
    data[0, 0] = 9.0
    assert x.numpy()[0, 0] == 1.5  # a copy
    assert mg.Tensor([1, 2]).dtype == np.float32
    assert mg.Tensor((2, 3)).numpy().tolist() == [2.0, 3.0]  # a tuple is data, as in PyTorch
    assert mg.Tensor(2, 3).shape == (2, 3) and mg.Tensor(2, 3).dtype == np.float32
    assert mg.Tensor(3).shape == (3,) and mg.Tensor().shape == (0,)
    assert mg.Tensor(2, 3, device=DEVICE).device == DEVICE


def test_the_legacy_constructor_of_a_tensor_shares_it():
    y = tensor(np.arange(3.0), dtype=np.float64)
    x = mg.Tensor(y)
    assert x.dtype == np.float64 and x.array is y.array
    x.zero_()
    assert y._version == 1  # one memory, one version


@pytest.mark.parametrize("args, kwargs, message", [
    (([1.0],), {"requires_grad": True}, "requires_grad.*mg.tensor"),
    ((2.5,), {}, "shape.*list, tuple or array"),
    ((np.zeros(2), True), {}, "shape.*list, tuple or array"),
])
def test_the_legacy_constructor_refuses_what_pytorch_refuses(args, kwargs, message):
    with pytest.raises(TypeError, match=message):
        mg.Tensor(*args, **kwargs)


def test_the_engine_constructor_holds_the_array_itself():
    array = np.zeros(3)
    x = mg.Tensor._wrap(array, requires_grad=True)
    assert x.array is array and x.dtype == np.float64 and x.requires_grad and x.is_leaf
    with pytest.raises(TypeError, match="int64"):
        mg.Tensor._wrap(np.zeros(2, np.int64), requires_grad=True)


@vs_torch
def test_legacy_constructor_matches_pytorch():
    for args in [(np.array([1.0, 2.0]),), ([1, 2],), ((2, 3),), (2, 3), (3,), ()]:
        mine, theirs = mg.Tensor(*args), torch.Tensor(*args)
        assert mine.shape == tuple(theirs.shape) and str(theirs.dtype) == "torch.float32"
        assert mine.dtype == np.float32
        if args and not isinstance(args[0], int):
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


# ---- transpose / permute ----

def test_transpose_swaps_two_axes_and_permute_orders_them():
    x = tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.transpose(0, 2).shape == (4, 3, 2) and mg.transpose(x, -1, 1).shape == (2, 4, 3)
    assert x.permute(2, 0, 1).shape == (4, 2, 3) and x.permute((2, 0, 1)).shape == (4, 2, 3)
    assert mg.permute(x, (1, 0, 2)).shape == (3, 2, 4)
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)
    m = tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(m.t().numpy(), m.numpy().T)
    assert tensor(np.arange(3.0)).t().shape == (3,)
    with pytest.raises(TypeError, match="permute"):
        x.transpose(2, 0, 1)
    with pytest.raises(TypeError, match="permute"):
        x.transpose()
    with pytest.raises(RuntimeError, match="at most 2"):
        x.t()


@vs_torch
def test_transpose_permute_mT_vs_torch():
    a = np.random.default_rng(0).standard_normal((2, 3, 5))
    compare_with_torch(lambda x: x.transpose(0, 2).exp() * x.transpose(2, 0),
                       lambda x: x.transpose(0, 2).exp() * x.transpose(2, 0), a)
    compare_with_torch(lambda x: x.permute(1, 2, 0) ** 2, lambda x: x.permute(1, 2, 0) ** 2, a)
    compare_with_torch(lambda x: x.mT @ x, lambda x: x.mT @ x, a)


# ---- max / min / amax / amin / aminmax ----

def test_max_and_min_along_a_dim_give_values_and_indices():
    x = tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]]))
    result = x.max(1)
    np.testing.assert_array_equal(result.values.numpy(), [3.0, 2.0])
    np.testing.assert_array_equal(result.indices.numpy(), [1, 0])
    np.testing.assert_array_equal(x.max(1)[1].numpy(), [1, 0])  # indexable, as a tuple
    values, indices = x.min(dim=0, keepdim=True)
    assert values.shape == (1, 3) and indices.dtype == np.int64
    np.testing.assert_array_equal(indices.numpy(), [[0, 1, 1]])
    assert x.max(axis=1, keepdims=True).values.shape == (2, 1)
    assert x.max().shape == () and x.max().item() == 3.0 and x.min().item() == 0.0
    np.testing.assert_array_equal(x.max(tensor(np.full(3, 2.5))).numpy(),
                                  [[2.5, 3.0, 3.0], [2.5, 2.5, 2.5]])  # maximum
    np.testing.assert_array_equal(mg.min(x, tensor(np.full(3, 2.5))).numpy(),
                                  [[1.0, 2.5, 2.5], [2.0, 0.0, 2.0]])
    assert x.amax((0, 1)).item() == 3.0 and x.amin(-1, keepdim=True).shape == (2, 1)
    low, high = x.aminmax(dim=1)
    np.testing.assert_array_equal(low.numpy(), [1.0, 0.0])
    np.testing.assert_array_equal(x.aminmax().max.numpy(), 3.0)
    with pytest.raises(TypeError, match="amax"):
        x.max((0, 1))
    with pytest.raises(TypeError, match="both dim= and axis="):
        x.max(dim=0, axis=0)


def test_amax_and_amin_gradients_to_second_order():
    rng = np.random.default_rng(3)
    x = leaf(rng.permutation(35).reshape(5, 7) * 0.25)
    assert mg.gradcheck(lambda x: x.amax((0, -1)) * x.amin(1, keepdim=True), [x])
    assert mg.gradgradcheck(lambda x: x.amax(-1) * x.amin(0).sum(), [x])
    assert mg.gradgradcheck(lambda x: x.max(1).values ** 2 + x.min(-1)[0], [x])
    one = leaf(rng.standard_normal((1, 4)))  # batch of one
    assert mg.gradgradcheck(lambda x: x.amax(0) * x.max(0).values, [one])


@vs_torch
def test_max_min_amax_amin_vs_torch_with_ties():
    x = np.array([[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 2.0, 2.0], [0.5, -1.0, 4.0, 4.0]])
    compare_with_torch(lambda x: x.amax(1) * x.amin(0).sum(), lambda x: x.amax(1) * x.amin(0).sum(),
                       x)
    compare_with_torch(lambda x: x.max(1).values ** 2 + x.min(0, keepdim=True)[0].sum(),
                       lambda x: x.max(1).values ** 2 + x.min(0, keepdim=True)[0].sum(), x)
    compare_with_torch(lambda x: x.max() * x.min(), lambda x: x.max() * x.min(), x)
    compare_with_torch(lambda x: x.amax((0, 1), keepdim=True) * x,
                       lambda x: x.amax((0, 1), keepdim=True) * x, x)
    tx = torch.tensor(x)
    np.testing.assert_array_equal(mg.tensor(x).max(1).indices.numpy(), tx.max(1).indices.numpy())
    np.testing.assert_array_equal(mg.tensor(x).min(0).indices.numpy(), tx.min(0).indices.numpy())
    assert type(mg.tensor(x).max(1)).__name__ == type(tx.max(1)).__name__ == "max"


# ---- var / std ----

def test_var_and_std_are_unbiased_by_default():
    a = np.array([[1.0, 2.0, 4.0], [0.0, 3.0, 3.0]])
    x = tensor(a)
    np.testing.assert_allclose(x.var().item(), np.var(a, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(x.std(1).numpy(), np.std(a, axis=1, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(x.var(1, unbiased=False).numpy(), np.var(a, axis=1), rtol=1e-6)
    np.testing.assert_allclose(x.var(False).item(), np.var(a), rtol=1e-6)  # var(unbiased)
    np.testing.assert_allclose(x.var(1, True, True).numpy(), np.var(a, 1, ddof=1, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_allclose(x.std(dim=0, correction=0).numpy(), np.std(a, axis=0), rtol=1e-6)
    np.testing.assert_allclose(x.var(axis=0, ddof=2).numpy(), np.var(a, axis=0, ddof=2),
                               rtol=1e-6)
    with pytest.raises(TypeError, match="unbiased=.*correction="):
        x.var(unbiased=True, correction=1)


def test_norms_keep_the_population_variance():
    """batch / layer / group / instance norm normalise by the population variance (as
    PyTorch's), whatever var's default."""
    a = np.random.default_rng(4).standard_normal((4, 3, 2, 2))
    x = tensor(a)
    y = mg.nn.functional.layer_norm(x, (3, 2, 2)).numpy()
    mean, var = a.mean(axis=(1, 2, 3), keepdims=True), a.var(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(y, (a - mean) / np.sqrt(var + 1e-5), rtol=1e-5, atol=1e-6)
    y = mg.nn.functional.batch_norm(x, None, None, training=True).numpy()
    mean, var = a.mean(axis=(0, 2, 3), keepdims=True), a.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(y, (a - mean) / np.sqrt(var + 1e-5), rtol=1e-5, atol=1e-6)


@vs_torch
def test_var_std_vs_torch():
    a = np.random.default_rng(5).standard_normal((3, 5))
    for mine, theirs in [
        (lambda x: x.var(), lambda x: x.var()),
        (lambda x: x.std(1), lambda x: x.std(1)),
        (lambda x: x.var(0, keepdim=True), lambda x: x.var(0, keepdim=True)),
        (lambda x: x.std(1, unbiased=False), lambda x: x.std(1, unbiased=False)),
        (lambda x: x.var(dim=(0, 1), correction=2), lambda x: x.var(dim=(0, 1), correction=2)),
    ]:
        compare_with_torch(mine, theirs, a)


# ---- dim= / keepdim= beside axis= / keepdims= ----

@pytest.mark.parametrize("call", [
    lambda x: x.sum(dim=1, keepdim=True), lambda x: x.mean(dim=(0, 1)),
    lambda x: x.var(dim=0), lambda x: x.std(dim=1, keepdim=True),
    lambda x: x.amax(dim=1), lambda x: x.argmax(dim=1, keepdim=True),
    lambda x: x.argmin(dim=0),
], ids=["sum", "mean", "var", "std", "amax", "argmax", "argmin"])
def test_dim_and_axis_are_one_argument(call):
    a = np.random.default_rng(6).standard_normal((3, 4))
    x = tensor(a)
    numpy_spelling = call(_AxisSpelling(x)).numpy()
    np.testing.assert_array_equal(call(x).numpy(), numpy_spelling)


class _AxisSpelling:
    """A tensor whose methods are called with dim= / keepdim= renamed to axis= / keepdims=."""

    def __init__(self, x):
        self.x = x

    def __getattr__(self, name):
        def method(*args, dim=None, keepdim=None, **kwargs):
            return getattr(self.x, name)(*args, axis=dim, keepdims=keepdim, **kwargs)
        return method


def test_both_spellings_are_a_type_error():
    x = tensor(np.ones((2, 3)))
    for call in (lambda: x.sum(dim=0, axis=0), lambda: x.mean(0, keepdim=True, keepdims=True),
                 lambda: x.var(dim=1, axis=1), lambda: x.argmax(1, axis=1)):
        with pytest.raises(TypeError, match="both"):
            call()


def test_sum_and_mean_with_dtype():
    x = tensor(np.array([1, 2, 4]))
    assert x.sum(dtype=np.float64).dtype == np.float64 and x.sum(dtype=np.float64).item() == 7.0
    assert x.mean(dtype=np.float32).item() == pytest.approx(7 / 3)


# ---- size() is the shape; numel() the number of elements ----

def test_size_is_the_shape():
    x = tensor(np.zeros((2, 3, 4)))
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tuple) and isinstance(x.size(), mg.Size)
    assert x.size(1) == 3 and x.size(-1) == 4 and x.size(dim=0) == 2
    assert x.numel() == x.nelement() == 24 and x.dim() == x.ndimension() == 3
    assert x.size().numel() == 24 and repr(x.size()) == "mg.Size([2, 3, 4])"
    assert mg.Tensor(x.size()).shape == (2, 3, 4)  # a Size is a shape to the legacy constructor
    with pytest.raises(IndexError, match="axis 3"):
        x.size(3)
    with pytest.raises(IndexError, match="0-d"):
        tensor(1.0).size(0)
    assert tensor(1.0).size() == () and tensor(1.0).numel() == 1


@vs_torch
def test_size_numel_dim_vs_torch():
    a = np.zeros((2, 3, 4))
    x, t = mg.tensor(a), torch.tensor(a)
    assert x.size() == t.size() and x.size(-2) == t.size(-2)
    assert (x.numel(), x.nelement(), x.dim(), x.ndimension()) == (t.numel(), t.nelement(),
                                                                t.dim(), t.ndimension())


# ---- the Tensor methods PyTorch programs use ----

def test_views_casts_and_conversions():
    x = tensor(np.arange(6.0).reshape(2, 3), dtype=np.float32)
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.view_as(tensor(np.zeros((6, 1)))).shape == (6, 1)
    assert x.reshape_as(tensor(np.zeros(6))).shape == (6,)
    assert x.float().dtype == np.float32 and x.double().dtype == np.float64
    assert x.long().dtype == np.int64 and x.int().dtype == np.int32 and x.half().dtype == np.float16
    assert x.bool().dtype == np.bool_
    assert x.type() == ("torch.cuda.FloatTensor" if DEVICE == "cuda" else "torch.FloatTensor")
    assert x.type("torch.DoubleTensor").dtype == np.float64 and x.type(np.int64).dtype == np.int64
    assert x.to(np.float64).dtype == np.float64 and x.to(DEVICE) is x
    assert x.to(tensor(np.zeros(1), dtype=np.float64)).dtype == np.float64
    assert x.cpu().device == "cpu" and x.is_cuda == (DEVICE == "cuda")
    assert x.contiguous() is x and x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert [row.tolist() for row in x] == x.tolist() and len(x) == 2
    assert float(x[1, 2]) == 5.0 and int(x[1, 1]) == 4
    with pytest.raises(TypeError, match="FloatTensor"):
        x.type("torch.NoSuchTensor")


def test_arithmetic_and_comparison_methods():
    a, b = tensor(np.array([1.0, 2.0, 3.0])), tensor(np.array([3.0, 2.0, 1.0]))
    assert a.add(b, alpha=2).tolist() == [7.0, 6.0, 5.0] and a.sub(b, alpha=0.5).tolist() == \
        [-0.5, 1.0, 2.5]
    assert a.mul(b).tolist() == [3.0, 4.0, 3.0] and a.div(2).tolist() == [0.5, 1.0, 1.5]
    assert a.pow(2).tolist() == [1.0, 4.0, 9.0]
    assert a.eq(b).tolist() == [False, True, False] and a.ne(b).tolist() == [True, False, True]
    assert a.lt(b).tolist() == [True, False, False] and a.le(b).tolist() == [True, True, False]
    assert a.gt(b).tolist() == [False, False, True] and a.ge(b).tolist() == [False, True, True]
    assert (a == b).dtype == np.bool_ and a.equal(a.clone()) and not a.equal(b)


def test_in_place_methods_are_checked_and_versioned():
    x = tensor(np.zeros(3))
    x.add_(tensor(np.ones(3)), alpha=3).sub_(1).mul_(2).div_(4)
    assert x.tolist() == [1.0, 1.0, 1.0] and x._version == 4
    x.clamp_(max=0.5)
    assert x.tolist() == [0.5, 0.5, 0.5]
    x.fill_(2).zero_()
    assert x.tolist() == [0.0, 0.0, 0.0]
    mg.manual_seed(0)
    x.normal_(5.0, 0.1)
    assert np.all(np.abs(x.numpy() - 5.0) < 1.0)
    x.uniform_(-1.0, -0.5)
    assert np.all((x.numpy() >= -1.0) & (x.numpy() < -0.5))
    w = leaf(np.ones(2))
    with pytest.raises(RuntimeError, match="requires grad"):
        w.add_(1)
    with mg.no_grad():
        w.add_(1)
    assert w.tolist() == [2.0, 2.0]


def test_setitem_writes_in_place_with_the_checks():
    x = tensor(np.zeros((3, 4)))
    x[0] = 1.0
    x[1, 1:3] = tensor(np.array([2.0, 3.0]))
    x[[2, 2], [0, 3]] = 7.0
    x[x > 2.5] = 9.0
    np.testing.assert_array_equal(x.numpy(), [[1, 1, 1, 1], [0, 2, 9, 0], [9, 0, 0, 9]])
    assert x._version == 4
    with pytest.raises(RuntimeError, match="does not fit"):
        x[0] = tensor(np.zeros(3))
    w = leaf(np.zeros(2))
    with pytest.raises(RuntimeError, match="requires grad"):
        w[0] = 1.0
    y = tensor(np.zeros(2))
    with pytest.raises(RuntimeError, match="not recorded"):
        y[0] = leaf(np.array(1.0))
    # a tensor saved for backward and then changed through setitem is caught at backward
    z = leaf(np.array([1.0, 2.0]))
    u = z * 1
    out = (u * u).sum()
    with mg.no_grad():
        u[0] = 5.0
    with pytest.raises(RuntimeError, match="in-place"):
        out.backward()


def test_clone_stays_in_the_graph_and_copies():
    x = leaf(np.array([1.0, 2.0]))
    y = x.clone()
    assert y.array is not x.array and y.requires_grad
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_norm_values_and_gradient_at_zero():
    a = np.array([[3.0, -4.0, 0.0], [1.0, 2.0, -2.0]])
    x = leaf(a)
    assert x.norm().item() == pytest.approx(np.sqrt(34.0))
    np.testing.assert_allclose(x.norm(dim=1).numpy(), [5.0, 3.0])
    np.testing.assert_allclose(x.norm(1, dim=1, keepdim=True).numpy(), [[7.0], [5.0]])
    np.testing.assert_allclose(x.norm(float("inf"), dim=0).numpy(), [3.0, 4.0, 2.0])
    np.testing.assert_allclose(x.norm(0).item(), 5.0)
    np.testing.assert_allclose(mg.norm(x, 3).item(), np.sum(np.abs(a) ** 3) ** (1 / 3))
    zero = leaf(np.zeros(3))
    (g,) = mg.grad(zero.norm(), zero)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, 0.0])  # PyTorch's subgradient, no NaN
    (g,) = mg.grad(zero.norm(3), zero)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="p must be"):
        x.norm("nuc")


@pytest.mark.parametrize("p", ["fro", 2, 1, 3, 1.5, float("inf"), -float("inf")])
def test_norm_gradients_to_second_order(p):
    rng = np.random.default_rng(7)
    x = leaf(rng.permutation(15).reshape(3, 5) * 0.3 + 0.1)  # no ties, no zeros
    assert mg.gradcheck(lambda x: x.norm(p, dim=1) * x.norm(p), [x])
    assert mg.gradgradcheck(lambda x: x.norm(p, dim=(0, 1), keepdim=True) * x, [x])
    one = leaf(rng.standard_normal((1, 4)) + 3.0)  # batch of one
    assert mg.gradgradcheck(lambda x: x.norm(p, dim=-1), [one])


@vs_torch
@pytest.mark.parametrize("p", ["fro", 2, 1, 3, 1.5, float("inf"), -float("inf")])
def test_norm_vs_torch(p):
    a = np.random.default_rng(8).standard_normal((3, 4))
    compare_with_torch(lambda x: x.norm(p, dim=1), lambda x: x.norm(p, dim=1), a)
    compare_with_torch(lambda x: x.norm(p), lambda x: x.norm(p), a)


@vs_torch
def test_norm_at_zero_vs_torch():
    mine, theirs = leaf(np.zeros(3)), torch.zeros(3, dtype=torch.float64, requires_grad=True)
    (g,) = mg.grad(mine.norm(), mine)
    (tg,) = torch.autograd.grad(theirs.norm(), theirs)
    np.testing.assert_array_equal(g.numpy(), tg.numpy())


@vs_torch
def test_method_results_vs_torch():
    a = np.arange(6.0).reshape(2, 3)
    x, t = mg.tensor(a), torch.tensor(a)
    for name in ("float", "double", "long", "int", "half", "bool"):
        assert getattr(x, name)().type() == getattr(t, name)().type()
    assert x.type() == t.type() and x.tolist() == t.tolist()
    assert x.type("torch.IntTensor").type() == t.type("torch.IntTensor").type()
    assert x.add(x, alpha=3).tolist() == t.add(t, alpha=3).tolist()
    assert [r.tolist() for r in x] == [r.tolist() for r in t]


def test_missing_attributes_name_what_to_write():
    x = tensor(np.zeros(2))
    with pytest.raises(AttributeError, match="PyTorch's Tensor has new_zeros.*mg.zeros"):
        x.new_zeros
    with pytest.raises(AttributeError, match="PyTorch's Tensor has storage"):
        x.storage()
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'$"):
        x.not_a_name
    with pytest.raises(RuntimeError, match="mg.grad"):
        (x * 1).retain_grad()


@vs_torch
def test_missing_attributes_exist_in_pytorch():
    """Every name in the table is one PyTorch's Tensor has (and minigrad's lacks)."""
    from minigrad.tensor import MISSING_ATTRIBUTES
    t = torch.zeros(2)
    assert [n for n in MISSING_ATTRIBUTES if not hasattr(t, n)] == []
    assert [n for n in MISSING_ATTRIBUTES if n in dir(mg.Tensor)] == []


def test_dim_and_axis_in_shape_ops():
    a, b = tensor(np.zeros((2, 3))), tensor(np.ones((2, 3)))
    assert mg.concat([a, b], dim=1).shape == (2, 6) and mg.concat([a, b], axis=1).shape == (2, 6)
    assert mg.cat([a, b], 1).shape == (2, 6) and mg.concat([a, b]).shape == (4, 3)
    assert mg.stack([a, b], dim=2).shape == (2, 3, 2) and mg.stack([a, b], axis=-1).shape == \
        (2, 3, 2)
    x = tensor(np.zeros((2, 1, 3, 1)))
    assert x.squeeze(dim=1).shape == (2, 3, 1) and x.squeeze(axis=(1, 3)).shape == (2, 3)
    assert x.unsqueeze(dim=0).shape == (1, 2, 1, 3, 1) and x.unsqueeze(axis=-1).shape == \
        (2, 1, 3, 1, 1)
    for call in (lambda: mg.concat([a, b], dim=0, axis=0), lambda: mg.stack([a], 0, axis=0),
                 lambda: x.squeeze(1, axis=1), lambda: x.unsqueeze(dim=0, axis=0)):
        with pytest.raises(TypeError, match="both"):
            call()
