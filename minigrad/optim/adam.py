import math

from .. import backend
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
        beta1, beta2 = group["betas"]
        state["step"] = t = state.get("step", 0) + 1
        m = self._zeros(state, "exp_avg", param)
        v = self._zeros(state, "exp_avg_sq", param)
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            v_max = self._zeros(state, "max_exp_avg_sq", param)
            backend.xp_of(param).maximum(v_max, v, out=v_max)
            v = v_max
        denom = backend.xp_of(param).sqrt(v) / math.sqrt(1 - beta2 ** t) + group["eps"]
        param -= group["lr"] / (1 - beta1 ** t) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): p = p * (1 - lr *
    weight_decay) before each Adam update, the decay left out of the gradient. PyTorch's
    default weight_decay is 1e-2."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
