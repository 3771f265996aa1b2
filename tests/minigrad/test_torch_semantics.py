"""PyTorch's meanings where NumPy's differ, and the Tensor methods PyTorch programs use.

Each behaviour is checked against fixed values (on the suite's device) and, where PyTorch is
installed, against PyTorch in float64: values and, for differentiable ops, first and second
derivatives.
"""
import numpy as np
import pytest

import minigrad as mg
from devices import DEVICE, assert_close, leaf, tensor

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
        tg = np.zeros(g.shape) if tg is None else tg.detach().numpy()
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
