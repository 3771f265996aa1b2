"""Solutions to the exercises of notebook 06 (a WGAN-GP on digits)."""
import minigrad as mg
from wgan.losses import interpolation_weights


def _input_gradient(critic, real, fake):
    """grad of sum D(x_hat) at x_hat = real + alpha (fake - real), recorded (create_graph)."""
    alpha = interpolation_weights(real.shape[0], real)
    x_hat = (real + alpha * (fake - real)).detach().requires_grad_()
    (grad,) = mg.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return grad


def one_sided_penalty(critic, real, fake, eps=1e-12):
    """Exercise 1: E[max(0, |grad D(x_hat)| - 1)^2], the norm per sample."""
    grad = _input_gradient(critic, real, fake)
    norms = ((grad * grad).sum(axis=tuple(range(1, grad.ndim))) + eps).sqrt()
    return ((norms - 1).relu() ** 2).mean()


def clip_weights_(critic, c=0.01):
    """Exercise 2: clip every critic parameter to [-c, c] in place (the original WGAN)."""
    with mg.no_grad():
        for p in critic.parameters():
            p.clamp_(-c, c)
    return critic


def penalty_with_batch_norm_of_gradient(critic, real, fake, eps=1e-12):
    """Exercise 3, the mistake: one norm over the whole batch's gradient, (|G| - 1)^2."""
    grad = _input_gradient(critic, real, fake)
    return (((grad * grad).sum() + eps).sqrt() - 1) ** 2
