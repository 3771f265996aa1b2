"""The losses of WGAN, WGAN-GP and the standard GAN.

The critic D of a WGAN scores samples with no sigmoid. It is trained to maximise
E[D(real)] - E[D(fake)], an estimate of the Wasserstein-1 distance when D is 1-Lipschitz,
so its loss is the negative of that estimate; the generator minimises -E[D(fake)].
As samples improve the estimate falls towards 0, so the critic loss rises towards 0.
"""
import minigrad as mg
import minigrad.nn.functional as F


def critic_loss(d_real, d_fake):
    """E[D(fake)] - E[D(real)]: the negative Wasserstein estimate."""
    return d_fake.mean() - d_real.mean()


def generator_loss(d_fake):
    """-E[D(fake)]."""
    return -d_fake.mean()


def interpolation_weights(n, like):
    """The alphas of the penalty for ``n`` samples like ``like``: one U[0, 1) per sample,
    shaped (n, 1, ..., 1) to broadcast over a sample's axes."""
    return mg.rand(n, *([1] * (like.ndim - 1)), dtype=like.dtype, device=like.device)


def gradient_penalty(critic, real, fake, eps=1e-12, alpha=None):
    """Gulrajani et al.'s penalty: E[(||grad_x D(x_hat)|| - 1)^2].

    x_hat = real + alpha (fake - real), with one alpha ~ U[0, 1) per sample (not per pixel;
    drawn here unless given, as ``interpolation_weights``). The norm is taken over all
    non-batch axes of each sample's gradient; ``eps`` inside the square root keeps its
    derivative finite where the gradient is zero. The gradient is recorded (create_graph),
    so the penalty can be differentiated with respect to the critic's weights.
    """
    if real.shape != fake.shape:
        raise ValueError(f"gradient_penalty: real {real.shape} and fake {fake.shape} differ")
    alpha = interpolation_weights(real.shape[0], real) if alpha is None else alpha
    x_hat = (real.detach() + alpha * (fake.detach() - real.detach())).detach().requires_grad_()
    (grad,) = mg.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = ((grad * grad).sum(axis=tuple(range(1, grad.ndim))) + eps).sqrt()
    return ((norms - 1) ** 2).mean()


def discriminator_loss_gan(logits_real, logits_fake):
    """The standard GAN's cross-entropy: -log sigmoid(D(real)) - log(1 - sigmoid(D(fake))).

    Written with softplus, since -log sigmoid(t) = softplus(-t) and -log(1 - sigmoid(t)) =
    softplus(t), which stays finite for large logits.
    """
    return F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean()


def generator_loss_gan(logits_fake):
    """The non-saturating generator loss of Goodfellow et al.: -log sigmoid(D(fake))."""
    return F.softplus(-logits_fake).mean()
