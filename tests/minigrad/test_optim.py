"""Optimizers: trajectories against float64 references written out from the published update
rules, in-place updates, parameter groups, exact resumption from a saved state_dict, and a
small network that learns with each optimizer."""
import importlib.util
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import backend, nn, optim

import devices
from devices import to_device

STEPS = 8


# ---- references: one update of a float64 array, from the formulas in the PyTorch docs ----

def sgd_reference(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                  maximize=False):
    def step(p, g, state, t):
        g = (-g if maximize else g) + weight_decay * p
        if momentum:
            b = g if t == 1 else momentum * state["b"] + (1 - dampening) * g
            state["b"] = b
            g = g + momentum * b if nesterov else b
        return p - lr * g
    return step


def rmsprop_reference(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                      centered=False, maximize=False):
    def step(p, g, state, t):
        g = (-g if maximize else g) + weight_decay * p
        state["v"] = alpha * state.get("v", 0) + (1 - alpha) * g ** 2
        v_tilde = state["v"]
        if centered:
            state["g_ave"] = alpha * state.get("g_ave", 0) + (1 - alpha) * g
            v_tilde = v_tilde - state["g_ave"] ** 2
        if momentum > 0:
            state["b"] = momentum * state.get("b", 0) + g / (np.sqrt(v_tilde) + eps)
            return p - lr * state["b"]
        return p - lr * g / (np.sqrt(v_tilde) + eps)
    return step


def adam_reference(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                   maximize=False):
    beta1, beta2 = betas

    def step(p, g, state, t):
        g = (-g if maximize else g) + weight_decay * p
        state["m"] = beta1 * state.get("m", 0) + (1 - beta1) * g
        state["v"] = beta2 * state.get("v", 0) + (1 - beta2) * g ** 2
        m_hat = state["m"] / (1 - beta1 ** t)
        if amsgrad:
            state["v_max"] = np.maximum(state.get("v_max", 0), state["v"])
            v_hat = state["v_max"] / (1 - beta2 ** t)
        else:
            v_hat = state["v"] / (1 - beta2 ** t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return step


REFERENCES = {optim.SGD: sgd_reference, optim.RMSprop: rmsprop_reference,
              optim.Adam: adam_reference}

CASES = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.05)),
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.05, maximize=True)),
    (optim.RMSprop, dict()),
    (optim.RMSprop, dict(lr=0.01, alpha=0.9, weight_decay=0.1)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.9)),
    (optim.RMSprop, dict(lr=0.01, centered=True)),
    (optim.RMSprop, dict(lr=0.005, alpha=0.95, eps=1e-3, momentum=0.5, centered=True,
                         weight_decay=0.01)),
    (optim.Adam, dict()),
    (optim.Adam, dict(lr=0.01, betas=(0.5, 0.9))),
    (optim.Adam, dict(lr=0.01, weight_decay=0.1, eps=1e-4)),
    (optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.Adam, dict(lr=0.01, betas=(0.5, 0.9), amsgrad=True, weight_decay=0.01,
                      maximize=True)),
]


def case_id(case):
    kind, kwargs = case
    return kind.__name__ + "".join(f"-{k}={v}" for k, v in kwargs.items())


def gradient(p):
    """A gradient field that changes with the parameters and can shrink, so amsgrad's maximum
    and centred RMSprop's mean matter: that of sum(sin(3p) + p^2 / 2)."""
    return 3 * np.cos(3 * p) + p


def start_values(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((3, 4)), rng.standard_normal(5)]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_the_published_formulas(case):
    kind, kwargs = case
    params = [devices.tensor(v, requires_grad=True) for v in start_values()]
    arrays = [p.array for p in params]
    optimizer = kind(params, **kwargs)
    reference = REFERENCES[kind](**kwargs)
    expected, states = start_values(), [{}, {}]
    for t in range(1, STEPS + 1):
        for p in params:
            p.grad = devices.tensor(gradient(p.numpy()))
        optimizer.step()
        expected = [reference(e, gradient(e), s, t) for e, s in zip(expected, states)]
        for p, e in zip(params, expected):
            np.testing.assert_allclose(p.numpy(), e, rtol=1e-10, atol=1e-12)
    assert all(p.array is a for p, a in zip(params, arrays))  # updated in place
    assert all(p.is_leaf and p.dtype == np.float64 for p in params)
    assert not np.allclose(expected[0], start_values()[0])  # the parameters did move
    assert_state_on_the_parameters_device(optimizer)


def assert_state_on_the_parameters_device(optimizer):
    """Every array of the optimizer's state lives where its parameter lives, with its dtype."""
    for p, state in optimizer.state.items():
        for name, value in state.items():
            if hasattr(value, "shape"):
                assert backend.device_of(value) == p.device == devices.DEVICE, name
                assert value.dtype == p.dtype and value.shape == p.shape, name


@pytest.mark.parametrize("kind", [optim.SGD, optim.RMSprop, optim.Adam])
def test_defaults_are_pytorchs(kind):
    import inspect
    defaults = {name: p.default for name, p in inspect.signature(kind).parameters.items()
                if p.default is not inspect.Parameter.empty}
    expected = {
        optim.SGD: dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False),
        optim.RMSprop: dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                            centered=False),
        optim.Adam: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False),
    }[kind]
    assert {k: defaults[k] for k in expected} == expected


@pytest.mark.parametrize("kind", [optim.SGD, optim.RMSprop, optim.Adam])
def test_float32_parameters_stay_float32_and_params_without_grad_are_skipped(kind):
    used = devices.randn(4, requires_grad=True)
    unused = devices.randn(4, requires_grad=True)
    before = unused.numpy()
    optimizer = kind([used, unused], lr=0.1, momentum=0.5) if kind is not optim.Adam \
        else kind([used, unused], lr=0.1)
    (used * used).sum().backward()
    optimizer.step()
    assert used.dtype == np.float32 and np.array_equal(unused.numpy(), before)
    assert unused not in optimizer.state and all(
        a.dtype == np.float32 for a in optimizer.state[used].values() if hasattr(a, "dtype"))
    assert used.grad is not None
    assert_state_on_the_parameters_device(optimizer)
    optimizer.zero_grad()
    assert used.grad is None


def test_parameter_groups_have_their_own_hyperparameters():
    a, b = (devices.tensor(v, requires_grad=True) for v in start_values())
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "momentum": 0.9}],
                          lr=0.1)
    assert optimizer.param_groups[0]["lr"] == 0.1 and optimizer.param_groups[0]["momentum"] == 0
    refs = [sgd_reference(lr=0.1), sgd_reference(lr=0.5, momentum=0.9)]
    expected, states = start_values(), [{}, {}]
    for t in range(1, 4):
        for p in (a, b):
            p.grad = devices.tensor(gradient(p.numpy()))
        optimizer.step()
        expected = [r(e, gradient(e), s, t) for r, e, s in zip(refs, expected, states)]
    np.testing.assert_allclose(a.numpy(), expected[0], rtol=1e-12)
    np.testing.assert_allclose(b.numpy(), expected[1], rtol=1e-12)


def test_bad_arguments_are_rejected():
    p = devices.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([p, p])
    with pytest.raises(TypeError, match="optimizes Tensors, got a ndarray"):
        optim.SGD([np.zeros(2)])
    with pytest.raises(TypeError, match="non-leaf tensor"):
        optim.SGD([p * 2])


# ---- resuming from a checkpoint ----

def tiny_model():
    return to_device(nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2)))


def train(model, optimizer, steps, data):
    x, y = data
    for _ in range(steps):
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()


@pytest.mark.parametrize("kind, kwargs", [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adam, dict(lr=0.01, betas=(0.5, 0.9), amsgrad=True)),
])
def test_a_saved_state_dict_resumes_training_bit_for_bit(kind, kwargs, tmp_path):
    mg.manual_seed(0)
    data = (devices.randn(16, 3), devices.randn(16, 2))
    initial = {k: v.numpy() for k, v in tiny_model().state_dict().items()}

    straight = tiny_model()
    straight.load_state_dict(initial)
    train(straight, kind(straight.parameters(), **kwargs), 6, data)

    first = tiny_model()
    first.load_state_dict(initial)
    optimizer = kind(first.parameters(), **kwargs)
    train(first, optimizer, 3, data)
    mg.save({"model": first.state_dict(), "optimizer": optimizer.state_dict()},
            tmp_path / "checkpoint.npz")
    del first, optimizer

    checkpoint = mg.load(tmp_path / "checkpoint.npz")  # on the host: copied onto the device below
    resumed = tiny_model()
    resumed.load_state_dict(checkpoint["model"])
    optimizer = kind(resumed.parameters(), lr=123.0)  # hyperparameters come from the checkpoint
    optimizer.load_state_dict(checkpoint["optimizer"])
    assert optimizer.param_groups[0]["lr"] == kwargs["lr"]
    assert_state_on_the_parameters_device(optimizer)
    train(resumed, optimizer, 3, data)

    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()), name


def test_loading_an_optimizer_state_into_a_different_model_is_refused():
    model = tiny_model()
    small = optim.Adam(to_device(nn.Linear(3, 8)).parameters())
    with pytest.raises(ValueError, match=r"sizes \[4\], this optimizer \[2\]"):
        small.load_state_dict(optim.Adam(model.parameters()).state_dict())
    opt = optim.Adam(model.parameters())
    model(devices.randn(2, 3)).sum().backward()
    opt.step()
    other = optim.Adam(to_device(nn.Sequential(nn.Linear(3, 9), nn.Tanh(), nn.Linear(9, 2))).parameters())
    with pytest.raises(ValueError, match=r"state 'exp_avg' of parameter 0 has shape \(8, 3\), "
                                         r"the parameter \(9, 3\)"):
        other.load_state_dict(opt.state_dict())


# ---- learning ----

def two_class_images(n, rng):
    """8x8 images of horizontal (class 0) or vertical (class 1) stripes at a random phase,
    in noise."""
    labels = rng.integers(0, 2, n)
    phase = rng.integers(0, 2, n)[:, None]
    stripes = ((np.arange(8)[None, :] + phase) % 2).astype(np.float32)  # (n, 8)
    images = np.where(labels[:, None, None] == 0, stripes[:, :, None], stripes[:, None, :])
    images = images + 0.5 * rng.standard_normal((n, 8, 8))
    return devices.tensor(images[:, None].astype(np.float32)), devices.tensor(labels)


@pytest.mark.parametrize("kind, kwargs", [
    (optim.SGD, dict(lr=0.1, momentum=0.9)),
    (optim.RMSprop, dict(lr=0.003)),
    (optim.Adam, dict(lr=0.02)),
])
def test_a_small_conv_net_learns_two_classes(kind, kwargs):
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = two_class_images(64, rng)
    model = to_device(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                                    nn.Conv2d(4, 4, 3, stride=2), nn.ReLU(), nn.Flatten(),
                                    nn.Linear(4 * 3 * 3, 2)))
    optimizer = kind(model.parameters(), **kwargs)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0], losses
    x_test, y_test = two_class_images(200, rng)
    accuracy = (model(x_test).numpy().argmax(axis=1) == y_test.numpy()).mean()
    assert accuracy > 0.9
    assert math.isfinite(losses[-1])


# ---- averaged weights (torch.optim.swa_utils) ----

def test_averaged_model_keeps_the_mean_of_its_updates():
    from minigrad.optim.swa_utils import AveragedModel
    model = mg.nn.Linear(3, 2)
    averaged = AveragedModel(model)
    seen = []
    for k in range(4):
        with mg.no_grad():
            model.weight.copy_(mg.full((2, 3), float(k)))
        averaged.update_parameters(model)
        seen.append(model.weight.numpy().copy())
    np.testing.assert_allclose(averaged.module.weight.numpy(), np.mean(seen, axis=0))
    assert averaged.n_averaged.item() == 4
    assert not any(p.requires_grad for p in averaged.parameters())
    x = mg.randn(5, 3)
    np.testing.assert_allclose(averaged(x).numpy(), averaged.module(x).numpy())


def test_averaged_model_with_an_ema_and_buffers():
    from minigrad.optim.swa_utils import AveragedModel, get_ema_avg_fn
    model = mg.nn.BatchNorm1d(2)
    averaged = AveragedModel(model, get_ema_avg_fn(0.75), use_buffers=True)
    averaged.update_parameters(model)                      # a copy
    model.train()(mg.tensor([[1.0, 2.0], [3.0, 6.0]]))     # running stats move
    with mg.no_grad():
        model.weight.fill_(3.0)
    averaged.update_parameters(model)
    np.testing.assert_allclose(averaged.module.weight.numpy(), 0.75 * 1 + 0.25 * 3.0)
    np.testing.assert_allclose(averaged.module.running_mean.numpy(),
                               0.25 * model.running_mean.numpy())
    assert averaged.module.num_batches_tracked.item() == 1  # integers are copied
    # the state round-trips, n_averaged included
    other = AveragedModel(mg.nn.BatchNorm1d(2), use_buffers=True)
    other.load_state_dict(averaged.state_dict())
    assert other.n_averaged.item() == 2
    np.testing.assert_array_equal(other.module.weight.numpy(), averaged.module.weight.numpy())


# ---- learning-rate schedules (torch.optim.lr_scheduler) ----

def test_linear_lr_moves_every_groups_rate_linearly_then_stays():
    from minigrad.optim.lr_scheduler import LinearLR
    a, b = mg.zeros(2, requires_grad=True), mg.zeros(3, requires_grad=True)
    opt = mg.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 1.0}])
    scheduler = LinearLR(opt, start_factor=0.5, end_factor=0.0, total_iters=4)
    seen = [scheduler.get_last_lr()]
    for _ in range(5):
        opt.step()
        scheduler.step()
        seen.append(scheduler.get_last_lr())
    factors = [0.5, 0.375, 0.25, 0.125, 0.0, 0.0]
    np.testing.assert_allclose(seen, [[0.1 * f, 1.0 * f] for f in factors], rtol=1e-15)
    with pytest.raises(ValueError, match="total_iters"):
        LinearLR(opt, total_iters=0)
    with pytest.raises(ValueError, match="start_factor"):
        LinearLR(opt, start_factor=0.0)


def test_a_restored_scheduler_sets_the_uninterrupted_rates():
    from minigrad.optim.lr_scheduler import LambdaLR
    p = mg.zeros(1, requires_grad=True)
    straight = LambdaLR(mg.optim.Adam([p], lr=0.3), lambda t: 0.9 ** t)
    for _ in range(3):
        straight.step()
    opt = mg.optim.Adam([p], lr=0.3)
    restored = LambdaLR(opt, lambda t: 0.9 ** t)
    restored.load_state_dict(straight.state_dict())
    assert restored.last_epoch == 3 and opt.param_groups[0]["lr"] == 0.3 * 0.9 ** 3
    restored.step()
    assert opt.param_groups[0]["lr"] == 0.3 * 0.9 ** 4


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
def test_linear_lr_matches_pytorchs():
    import torch
    from minigrad.optim.lr_scheduler import LinearLR
    ours = LinearLR(mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.2), 0.25, 0.9, 6)
    theirs = torch.optim.lr_scheduler.LinearLR(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2), 0.25, 0.9, 6)
    for _ in range(8):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
        ours.step()
        theirs.optimizer.step()
        theirs.step()
