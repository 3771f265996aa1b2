from .. import backend
from .optimizer import Optimizer


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al.), as PyTorch computes it.

    With g the gradient (negated if maximize, plus weight_decay * p) at step t = 1, 2, ...:

        s = s + g^2                             (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False):
        if initial_accumulator_value < 0:
            raise ValueError(f"invalid initial_accumulator_value {initial_accumulator_value}: "
                             "must be >= 0")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _update(self, param, grad, state, group):
        state["step"] = t = state.get("step", 0) + 1
        if "sum" not in state:
            state["sum"] = backend.xp_of(param).full_like(param,
                                                          group["initial_accumulator_value"])
        total = state["sum"]
        total += grad * grad
        rate = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        param -= rate * (grad / (backend.xp_of(param).sqrt(total) + group["eps"]))
