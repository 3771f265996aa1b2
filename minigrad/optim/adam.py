import math

import numpy as np

from .. import backend, cpu_kernels
from .optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam (Kingma and Ba), with PyTorch's placement of the bias corrections.

    With g the gradient (negated if maximize, plus weight_decay * p) at step t = 1, 2, ...:

        m = beta1 * m + (1 - beta1) * g                        (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g^2
        if amsgrad:  v_max = max(v_max, v),  and v_max replaces v below
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    which is p - lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - beta1^t) and
    v_hat = v / (1 - beta2^t): eps is added after the correction of v. WGAN-GP trains with
    Adam(lr=1e-4, betas=(0.5, 0.9)).

    With ``decoupled_weight_decay`` (AdamW) the decay is not added to g: before the update,
    p = p * (1 - lr * weight_decay).

    The step is ``array_update`` (array operations, on any device), or without amsgrad on
    the CPU ``fused_update``: the same numbers in one compiled pass.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"{type(self).__name__}'s betas must be in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, param, grad, state, group):
        if group["decoupled_weight_decay"]:
            param *= 1 - group["lr"] * group["weight_decay"]
        state["step"] = t = state.get("step", 0) + 1
        m = self._zeros(state, "exp_avg", param)
        v = self._zeros(state, "exp_avg_sq", param)
        # Python floats: a NumPy float64 (say an lr from a schedule) would make NumPy compute
        # in float64 for float32 parameters, and the two paths would differ
        hyper = dict(t=t, lr=float(group["lr"]), betas=tuple(map(float, group["betas"])),
                     eps=float(group["eps"]))
        if not group["amsgrad"] and fusable(param, grad, m, v):
            fused_update(param, grad, m, v, **hyper)
        else:
            v_max = self._zeros(state, "max_exp_avg_sq", param) if group["amsgrad"] else None
            array_update(param, grad, m, v, **hyper, v_max=v_max)


def array_update(param, grad, m, v, t, lr, betas, eps, v_max=None):
    """Adam's step t in place on ``param`` and its moments ``m``, ``v`` (and ``v_max`` for
    amsgrad), with array operations of any array module: the reference for ``fused_update``."""
    xp, (beta1, beta2) = backend.xp_of(param), betas
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    if v_max is not None:
        xp.maximum(v_max, v, out=v_max)
        v = v_max
    denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
    param -= lr / (1 - beta1 ** t) * (m / denom)


def fusable(param, grad, m, v):
    """True if ``fused_update`` takes these arrays: C-contiguous NumPy arrays of one dtype,
    float32 or float64 (``grad`` may be a NumPy scalar, what NumPy makes of 0-d arrays)."""
    return param.dtype in (np.float32, np.float64) and all(
        backend.device_of(a) == "cpu" and a.dtype == param.dtype and a.flags.c_contiguous
        for a in (param, grad, m, v))


def fused_update(param, grad, m, v, t, lr, betas, eps):
    """``array_update`` without amsgrad, in one compiled pass (minigrad.cpu_kernels): the same
    numbers bit for bit. The Python floats are rounded to the arrays' dtype here, as NumPy
    rounds them there."""
    (beta1, beta2), as_dtype = betas, param.dtype.type
    cpu_kernels.adam_update(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1),
                            as_dtype(beta1), as_dtype(1 - beta1), as_dtype(beta2),
                            as_dtype(1 - beta2), as_dtype(lr / (1 - beta1 ** t)),
                            as_dtype(math.sqrt(1 - beta2 ** t)), as_dtype(eps))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): p = p * (1 - lr *
    weight_decay) before each Adam update, the decay left out of the gradient. PyTorch's
    default weight_decay is 1e-2."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
