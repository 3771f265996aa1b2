"""The composite that matters most: the WGAN-GP gradient penalty

    penalty = mean over samples of (||d sum(D(x)) / dx|| - 1)^2

differentiated with respect to every critic weight and bias, which needs the second
derivatives of every op in the critic. The inner gradient is taken with
``mg.grad(..., create_graph=True)`` inside the checked function, exactly as a training step
does, and the whole penalty is gradchecked against finite differences in float64.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

from devices import leaf, tensor

EPS = 1e-12  # inside the sqrt: the norm of a zero gradient is 1e-6, not NaN


def critic(x, w1, b1, w2, b2, w3, b3):
    """The paper's critic in miniature: conv 5x5 stride 2 padding 2 -> leaky_relu(0.2) -> conv -> flatten -> linear."""
    h = F.leaky_relu(F.conv2d(x, w1, b1, stride=2, padding=2), 0.2)
    h = F.conv2d(h, w2, b2, stride=2, padding=2)
    return F.linear(h.flatten(1), w3, b3)


def smooth_critic(x, w1, b1, w2, b2, w3, b3):
    """A variant with smooth activations after both convs, so that every bias reaches the penalty."""
    h = F.softplus(F.conv2d(x, w1, b1, stride=2, padding=2))
    h = F.conv2d(h, w2, b2, stride=2, padding=2).tanh()
    return F.linear(h.flatten(1), w3, b3)


def layer_norm_critic(x, w1, b1, w2, b2, w3, b3):
    """The paper's GP critic normalises with layer norm (never batch norm, which couples samples)."""
    h = F.conv2d(x, w1, b1, stride=2, padding=2)
    h = F.leaky_relu(F.layer_norm(h, h.shape[1:]), 0.2)
    h = F.conv2d(h, w2, b2, stride=2, padding=2)
    return F.linear(h.flatten(1), w3, b3)


def gradient_penalty(D, x_hat, params):
    """mean((||grad_x sum(D(x))|| - 1)^2), the norm over all non-batch axes, differentiable in
    params (and in x_hat when it is a tensor that requires grad)."""
    x = x_hat * 1.0 if isinstance(x_hat, mg.Tensor) else tensor(x_hat, requires_grad=True)
    (gx,) = mg.grad(D(x, *params).sum(), x, create_graph=True)
    norm = ((gx * gx).sum(axis=(1, 2, 3)) + EPS).sqrt()
    return ((norm - 1) ** 2).mean()


def critic_params(rng, channels=(1, 2, 2), image=7):
    c0, c1, c2 = channels
    h1 = (image + 4 - 5) // 2 + 1
    h2 = (h1 + 4 - 5) // 2 + 1
    return [leaf(0.4 * rng.standard_normal((c1, c0, 5, 5))), leaf(0.1 * rng.standard_normal(c1)),
            leaf(0.4 * rng.standard_normal((c2, c1, 5, 5))), leaf(0.1 * rng.standard_normal(c2)),
            leaf(0.4 * rng.standard_normal((1, c2 * h2 * h2))), leaf(0.1 * rng.standard_normal(1))]


@pytest.mark.parametrize("D", [critic, smooth_critic, layer_norm_critic], ids=lambda f: f.__name__)
def test_gradient_penalty_gradcheck(D):
    """d(penalty)/d(every weight and bias) against central differences; then also with respect to
    the interpolated images (the penalty's dependence on x through the input gradient)."""
    rng = np.random.default_rng(0)
    params = critic_params(rng)
    real, fake = rng.uniform(0, 1, (2, 1, 7, 7)), rng.uniform(0, 1, (2, 1, 7, 7))
    alpha = rng.uniform(0, 1, (2, 1, 1, 1))  # one alpha per sample
    x_hat = real + alpha * (fake - real)
    penalty = gradient_penalty(D, x_hat, params)
    assert penalty.requires_grad and np.isfinite(penalty.item())
    assert mg.gradcheck(lambda *p: gradient_penalty(D, x_hat, p), params)
    assert mg.gradcheck(lambda x, *p: gradient_penalty(D, x, p), [leaf(x_hat)] + params)


def test_gradient_penalty_matches_closed_form_for_a_linear_critic():
    """For D(x) = <v, x> + c the input gradient is v for every sample, so the penalty is
    (||v|| - 1)^2 and its gradient in v is 2 (||v|| - 1) v / ||v||, independently of x."""
    rng = np.random.default_rng(1)
    v = leaf(rng.standard_normal((1, 1 * 3 * 3)))
    c = leaf([0.5])
    x_hat = rng.uniform(0, 1, (3, 1, 3, 3))

    def D(x, v, c):
        return F.linear(x.flatten(1), v, c)

    penalty = gradient_penalty(D, x_hat, [v, c])
    norm = np.linalg.norm(v.numpy())
    np.testing.assert_allclose(penalty.item(), (np.sqrt(norm ** 2 + EPS) - 1) ** 2, rtol=1e-12)
    gv, gc = mg.grad(penalty, [v, c], allow_unused=True)
    np.testing.assert_allclose(gv.numpy(), 2 * (norm - 1) * v.numpy() / norm, rtol=1e-9)
    assert gc is None or np.all(gc.numpy() == 0)


def test_gradient_penalty_at_zero_gradient_is_finite():
    """A critic whose input gradient is exactly 0 (all-zero weights) gives penalty 1 and finite
    parameter gradients, thanks to the eps inside the sqrt."""
    rng = np.random.default_rng(2)
    params = [leaf(np.zeros(p.shape)) for p in critic_params(rng)]
    x_hat = rng.uniform(0, 1, (2, 1, 7, 7))
    penalty = gradient_penalty(critic, x_hat, params)
    np.testing.assert_allclose(penalty.item(), (np.sqrt(EPS) - 1) ** 2, rtol=1e-12)
    grads = mg.grad(penalty, params, allow_unused=True)
    assert all(g is None or np.all(np.isfinite(g.numpy())) for g in grads)
