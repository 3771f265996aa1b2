from .. import backend
from .optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop (Hinton), as PyTorch computes it: eps is added outside the square root.

    With g the gradient (negated if maximize, plus weight_decay * p):

        v = alpha * v + (1 - alpha) * g^2                      (v starts at 0)
        if centered:  g_avg = alpha * g_avg + (1 - alpha) * g,   v~ = v - g_avg^2
        else:         v~ = v
        if momentum:  b = momentum * b + g / (sqrt(v~) + eps),   p = p - lr * b
        else:         p = p - lr * g / (sqrt(v~) + eps)

    The original WGAN trains with RMSprop(lr=5e-5).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, param, grad, state, group):
        alpha = group["alpha"]
        square_avg = self._zeros(state, "square_avg", param)
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = self._zeros(state, "grad_avg", param)
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            variance = square_avg - grad_avg * grad_avg
        else:
            variance = square_avg
        avg = backend.xp_of(param).sqrt(variance) + group["eps"]
        if group["momentum"]:
            buf = self._zeros(state, "momentum_buffer", param)
            buf *= group["momentum"]
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (grad / avg)
