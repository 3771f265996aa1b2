from .optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent, with PyTorch's momentum and Nesterov formulation.

    With g the gradient (negated if maximize, plus weight_decay * p):

        if momentum:  b = g at the first step, then b = momentum * b + (1 - dampening) * g
                      g = g + momentum * b   if nesterov, else   g = b
        p = p - lr * g
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 maximize=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _update(self, param, grad, state, group):
        momentum = group["momentum"]
        if momentum:
            if "momentum_buffer" not in state:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= group["lr"] * grad
