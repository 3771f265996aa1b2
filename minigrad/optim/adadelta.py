from .. import backend
from .optimizer import Optimizer


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler), as PyTorch computes it.

    With g the gradient (negated if maximize, plus weight_decay * p):

        v = rho * v + (1 - rho) * g^2                          (v, u start at 0)
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d^2
        p = p - lr * d
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False):
        if not 0 <= rho <= 1:
            raise ValueError(f"Adadelta's rho must be in [0, 1], got {rho}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update(self, param, grad, state, group):
        rho, eps, xp = group["rho"], group["eps"], backend.xp_of(param)
        state["step"] = state.get("step", 0) + 1
        square_avg = self._zeros(state, "square_avg", param)
        acc_delta = self._zeros(state, "acc_delta", param)
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param -= group["lr"] * delta
