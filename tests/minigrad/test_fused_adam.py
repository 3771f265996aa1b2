"""Adam's fused CPU step (minigrad.optim.adam.fused_update, a loop in minigrad.cpu_kernels)
against its NumPy path (array_update): equal bit for bit, and taken only where it applies."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import backend, cpu_kernels, optim
from minigrad.optim import adam

import devices

STEPS = 20
SHAPES = [(), (7,), (3, 5, 2), (33, 65)]
BETAS = [(0, 0.9), (0.5, 0.999), (0.9, 0.999)]
DTYPES = [np.float32, np.float64]


def gradients(shape, dtype, seed=0):
    """STEPS random gradients of scales from 1e-6 to 1e3, some entries 0."""
    rng = np.random.default_rng(seed)
    for _ in range(STEPS):
        g = rng.standard_normal(shape) * 10.0 ** rng.integers(-6, 4, shape)
        yield np.where(rng.random(shape) < 0.1, 0, g).astype(dtype)


def start(shape, dtype):
    """A parameter and its two moments, zero as Adam starts them."""
    param = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    return [param, np.zeros_like(param), np.zeros_like(param)]


@pytest.mark.cpu_only("the fused step is for NumPy arrays")
@pytest.mark.parametrize("betas", BETAS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_update_equals_the_numpy_path_bit_for_bit(dtype, shape, betas):
    fused, reference = start(shape, dtype), start(shape, dtype)
    hyper = dict(lr=3e-3, betas=betas, eps=1e-8)
    for t, grad in enumerate(gradients(shape, dtype), 1):
        for update, (param, m, v) in ((adam.fused_update, fused), (adam.array_update, reference)):
            update(param, grad, m, v, t=t, **hyper)
        for name, a, b in zip(("param", "m", "v"), fused, reference):
            assert a.dtype == dtype, name
            np.testing.assert_array_equal(a, b, err_msg=f"{name} at step {t}")
    assert not np.array_equal(fused[0], start(shape, dtype)[0])  # it did move


@pytest.mark.cpu_only("the fused step is for NumPy arrays")
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_zero_eps_divides_zero_by_zero_into_nan_as_numpy_does(dtype):
    fused, reference = start((5,), dtype), start((5,), dtype)
    grad, hyper = np.array([0, 1, 0, -2, 0], dtype), dict(t=1, lr=0.1, betas=(0.9, 0.99), eps=0)
    (param, m, v), (expected, m_expected, v_expected) = fused, reference
    adam.fused_update(param, grad, m, v, **hyper)
    with np.errstate(invalid="ignore"):  # 0 / 0
        adam.array_update(expected, grad, m_expected, v_expected, **hyper)
    np.testing.assert_array_equal(param, expected)
    assert np.isnan(param[0]) and np.isfinite(param[1])


def kernel_calls(monkeypatch):
    """The list of parameter sizes the fused kernel is called with, from now on."""
    calls, kernel = [], cpu_kernels.adam_update
    monkeypatch.setattr(cpu_kernels, "adam_update",
                        lambda param, *rest: calls.append(param.size) or kernel(param, *rest))
    return calls


def run(kind, kwargs, arrays, device="cpu"):
    """The parameters (on the host) after STEPS steps of the optimizer ``kind`` from copies
    of ``arrays`` (in their memory layout) on ``device``."""
    params = [mg.Tensor._wrap(backend.to_device(a.copy(order="K"), device), requires_grad=True)
              for a in arrays]
    optimizer = kind(params, **kwargs)
    streams = [gradients(p.shape, p.dtype, seed) for seed, p in enumerate(params)]
    for grads in zip(*streams):
        for p, g in zip(params, grads):
            p.grad = mg.Tensor._wrap(backend.to_device(g, device))
        optimizer.step()
    return [p.numpy() for p in params]


OPTIONS = [
    (optim.Adam, dict(lr=0.01, weight_decay=0.1)),
    (optim.Adam, dict(lr=0.01, betas=(0, 0.9), maximize=True)),
    (optim.Adam, dict(lr=0.01, betas=(0.5, 0.999), weight_decay=0.05, maximize=True,
                      decoupled_weight_decay=True)),
    (optim.AdamW, dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)),
    (optim.Adam, dict(lr=np.float64(0.01), eps=np.float64(1e-6))),  # as a schedule may set
]


@pytest.mark.cpu_only("the fused step is for NumPy arrays")
@pytest.mark.parametrize("case", OPTIONS, ids=lambda case: "-".join(
    [case[0].__name__] + [f"{k}={v}" for k, v in case[1].items()]))
@pytest.mark.parametrize("dtype", DTYPES)
def test_the_optimizer_takes_the_fused_step_with_the_numpy_paths_numbers(dtype, case,
                                                                        monkeypatch):
    kind, kwargs = case
    arrays = [start(shape, dtype)[0] for shape in ((), (7,), (3, 5, 2))]
    with monkeypatch.context() as numpy_path:
        numpy_path.setattr(adam, "fusable", lambda *arrays: False)
        expected = run(kind, kwargs, arrays)
    calls = kernel_calls(monkeypatch)
    for got, want in zip(run(kind, kwargs, arrays), expected):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)
    assert calls == [1, 7, 30] * STEPS


def test_amsgrad_non_contiguous_half_and_device_arrays_take_the_numpy_path(cuda, monkeypatch):
    calls = kernel_calls(monkeypatch)
    cases = [("amsgrad", np.float64, lambda a: a, True, "cpu"),
             ("not contiguous", np.float32, lambda a: a.T, False, "cpu"),
             ("float16", np.float16, lambda a: a, False, "cpu"),
             ("on the device", np.float32, lambda a: a, False, cuda)]
    for what, dtype, layout, amsgrad, device in cases:
        param = layout(start((4, 6), dtype)[0])
        [got] = run(optim.Adam, dict(lr=0.01, eps=1e-3, amsgrad=amsgrad), [param], device)
        m, v = np.zeros_like(param), np.zeros_like(param)
        v_max = np.zeros_like(param) if amsgrad else None
        for t, grad in enumerate(gradients(param.shape, dtype), 1):
            adam.array_update(param, grad, m, v, t, 0.01, (0.9, 0.999), 1e-3, v_max=v_max)
        if device == cuda:
            devices.assert_close(got, param, what)  # equal but on a real GPU
        else:
            np.testing.assert_array_equal(got, param, err_msg=what)
    assert calls == []
