"""Adadelta, Adagrad, AdamW and the step / exponential / cosine schedules: trajectories against
the published update rules written out in float64 (every run), and against torch.optim where
PyTorch is installed."""
import inspect
import math

import numpy as np
import pytest

from minigrad import optim
from minigrad.optim import lr_scheduler

import devices
from test_optim import (STEPS, adam_reference, assert_state_on_the_parameters_device, case_id,
                        gradient, start_values)


def adadelta_reference(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    def step(p, g, state, t):
        g = (-g if maximize else g) + weight_decay * p
        state["v"] = rho * state.get("v", 0) + (1 - rho) * g ** 2
        delta = np.sqrt(state.get("u", 0) + eps) / np.sqrt(state["v"] + eps) * g
        state["u"] = rho * state.get("u", 0) + (1 - rho) * delta ** 2
        return p - lr * delta
    return step


def adagrad_reference(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                      eps=1e-10, maximize=False):
    def step(p, g, state, t):
        g = (-g if maximize else g) + weight_decay * p
        state["s"] = state.get("s", initial_accumulator_value) + g ** 2
        return p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(state["s"]) + eps)
    return step


def adamw_reference(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                    maximize=False):
    adam = adam_reference(lr, betas, eps, 0, amsgrad, maximize)

    def step(p, g, state, t):
        return adam(p * (1 - lr * weight_decay), g, state, t)
    return step


REFERENCES = {optim.Adadelta: adadelta_reference, optim.Adagrad: adagrad_reference,
              optim.AdamW: adamw_reference}

CASES = [
    (optim.Adadelta, dict()),
    (optim.Adadelta, dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    (optim.Adadelta, dict(lr=0.5, maximize=True)),
    (optim.Adagrad, dict()),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1,
                         initial_accumulator_value=0.5, eps=1e-6)),
    (optim.Adagrad, dict(lr=0.1, maximize=True)),
    (optim.AdamW, dict()),
    (optim.AdamW, dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)),
    (optim.AdamW, dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.05)),
]


def run(kind, kwargs, steps=STEPS):
    params = [devices.tensor(v, requires_grad=True) for v in start_values()]
    optimizer = kind(params, **kwargs)
    trajectory = []
    for _ in range(steps):
        for p in params:
            p.grad = devices.tensor(gradient(p.numpy()))
        optimizer.step()
        trajectory.append([p.numpy() for p in params])
    return params, optimizer, trajectory


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_the_published_formulas(case):
    kind, kwargs = case
    params, optimizer, trajectory = run(kind, kwargs)
    reference = REFERENCES[kind](**kwargs)
    expected, states = start_values(), [{}, {}]
    for t, values in enumerate(trajectory, start=1):
        expected = [reference(e, gradient(e), s, t) for e, s in zip(expected, states)]
        for value, e in zip(values, expected):
            np.testing.assert_allclose(value, e, rtol=1e-10, atol=1e-12)
    assert not np.allclose(expected[0], start_values()[0])
    assert_state_on_the_parameters_device(optimizer)


def test_fixed_values_of_one_step():
    """Hand-computed first steps, from p = 1 and g = 2."""
    def first_step(kind, **kwargs):
        p = devices.tensor(np.ones(1), requires_grad=True)
        p.grad = devices.tensor(np.full(1, 2.0))
        kind([p], **kwargs).step()
        return p.item()

    # Adadelta: v = 0.1 * 4, delta = sqrt(1e-6) / sqrt(0.4 + 1e-6) * 2
    assert math.isclose(first_step(optim.Adadelta), 1 - 2e-3 / math.sqrt(0.400001), rel_tol=1e-12)
    # Adagrad: s = 4, p = 1 - 0.01 * 2 / 2
    assert math.isclose(first_step(optim.Adagrad), 0.99, rel_tol=1e-12)
    # AdamW: p = 1 * (1 - 1e-3 * 1e-2), then Adam's first step of size lr (m_hat / sqrt(v_hat) = 1)
    assert math.isclose(first_step(optim.AdamW), 1 - 1e-5 - 1e-3 * 2 / (2 + 1e-8),
                        rel_tol=1e-12)
    # Adam with decoupled_weight_decay is AdamW
    assert first_step(optim.Adam, weight_decay=1e-2, decoupled_weight_decay=True) == \
        first_step(optim.AdamW)


@pytest.mark.parametrize("kind", [optim.Adadelta, optim.Adagrad, optim.AdamW])
def test_defaults_are_pytorchs(kind):
    defaults = {name: p.default for name, p in inspect.signature(kind).parameters.items()
                if p.default is not inspect.Parameter.empty}
    expected = {
        optim.Adadelta: dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False),
        optim.Adagrad: dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                            eps=1e-10, maximize=False),
        optim.AdamW: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                          amsgrad=False, maximize=False),
    }[kind]
    assert defaults == expected


def test_state_dict_resumes_exactly():
    for kind, kwargs in CASES:
        _, _, whole = run(kind, kwargs, steps=6)
        params, optimizer, _ = run(kind, kwargs, steps=3)
        saved = optimizer.state_dict()
        resumed = [devices.tensor(p.numpy(), requires_grad=True) for p in params]
        fresh = kind(resumed, **kwargs)
        fresh.load_state_dict(saved)
        for _ in range(3):
            for p in resumed:
                p.grad = devices.tensor(gradient(p.numpy()))
            fresh.step()
        for p, e in zip(resumed, whole[-1]):
            np.testing.assert_array_equal(p.numpy(), e)


def test_bad_arguments_are_rejected():
    p = devices.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="rho"):
        optim.Adadelta([p], rho=1.5)
    with pytest.raises(ValueError, match="lr_decay"):
        optim.Adagrad([p], lr_decay=-1)
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        optim.Adagrad([p], initial_accumulator_value=-1)
    with pytest.raises(ValueError, match="AdamW's betas"):
        optim.AdamW([p], betas=(1.0, 0.9))


# ---- schedules ----

SCHEDULES = [
    (lr_scheduler.StepLR, dict(step_size=3, gamma=0.5),
     lambda t: 0.5 ** (t // 3)),
    (lr_scheduler.MultiStepLR, dict(milestones=[5, 2, 7], gamma=0.1),
     lambda t: 0.1 ** sum(m <= t for m in (2, 5, 7))),
    (lr_scheduler.ExponentialLR, dict(gamma=0.9), lambda t: 0.9 ** t),
    (lr_scheduler.CosineAnnealingLR, dict(T_max=4, eta_min=0.01),
     lambda t: (0.01 + (0.2 - 0.01) * (1 + math.cos(math.pi * t / 4)) / 2) / 0.2),
]


def schedule_id(case):
    return case[0].__name__


@pytest.mark.parametrize("case", SCHEDULES, ids=schedule_id)
def test_schedules_give_their_closed_forms_and_resume(case):
    kind, kwargs, factor = case
    p = devices.zeros(1, requires_grad=True)
    optimizer = optim.SGD([p], lr=0.2)
    scheduler = kind(optimizer, **kwargs)
    rates = [scheduler.get_last_lr()[0]]
    for _ in range(11):
        optimizer.step()
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
    np.testing.assert_allclose(rates, [0.2 * factor(t) for t in range(12)], rtol=1e-12)
    assert len(set(rates)) > 2
    saved = scheduler.state_dict()
    other = optim.SGD([devices.zeros(1, requires_grad=True)], lr=0.2)
    restored = kind(other, **kwargs)
    restored.load_state_dict(saved)
    restored.step()
    scheduler.step()
    assert restored.get_last_lr() == scheduler.get_last_lr()


def test_cosine_annealing_fixed_values():
    p = devices.zeros(1, requires_grad=True)
    optimizer = optim.SGD([p], lr=1.0)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=2)
    rates = []
    for _ in range(5):
        rates.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    np.testing.assert_allclose(rates, [1.0, 0.5, 0.0, 0.5, 1.0], atol=1e-15)


# ---- against torch.optim (float64) ----

@pytest.mark.cpu_only("compares with PyTorch on the CPU")
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_torch(case):
    torch = pytest.importorskip("torch")
    kind, kwargs = case
    _, _, trajectory = run(kind, kwargs)
    theirs = [torch.tensor(v, requires_grad=True) for v in start_values()]
    optimizer = getattr(torch.optim, kind.__name__)(theirs, **kwargs)
    for values in trajectory:
        for p in theirs:
            p.grad = torch.tensor(gradient(p.detach().numpy()))
        optimizer.step()
        for value, p in zip(values, theirs):
            np.testing.assert_allclose(value, p.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.cpu_only("compares with PyTorch on the CPU")
@pytest.mark.parametrize("case", SCHEDULES, ids=schedule_id)
def test_schedules_match_torch(case):
    torch = pytest.importorskip("torch")
    kind, kwargs, _ = case
    mine = optim.SGD([devices.zeros(1, requires_grad=True)], lr=0.2)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
    my_schedule = kind(mine, **kwargs)
    their_schedule = getattr(torch.optim.lr_scheduler, kind.__name__)(theirs, **kwargs)
    for _ in range(20):
        np.testing.assert_allclose(my_schedule.get_last_lr(), their_schedule.get_last_lr(),
                                   rtol=1e-12, atol=1e-15)
        mine.step()
        theirs.step()
        my_schedule.step()
        their_schedule.step()
