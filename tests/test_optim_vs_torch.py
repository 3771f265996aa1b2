"""Optimizer trajectories against torch.optim, when PyTorch is installed."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import optim

from test_optim import CASES, STEPS, case_id, gradient, start_values

pytestmark = pytest.mark.cpu_only("compares with PyTorch's CPU optimizers")
torch = pytest.importorskip("torch")


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
