"""Tests of wgan.losses against hand computations.

The gradient penalty is checked on critics whose input gradient is known in closed form:
a linear critic D(x) = <w, x> + b has input gradient w for every sample, so the penalty is
(||w|| - 1)^2 exactly and its gradient with respect to w is 2 (||w|| - 1) w / ||w||.
"""
import numpy as np
import pytest

import minigrad as mg
from wgan import losses


def t(values, requires_grad=False):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def softplus64(x):
    """log(1 + e^x) in float64, stable for large |x|: -log sigmoid(-x)."""
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# critic and generator losses


def test_critic_loss_is_mean_fake_minus_mean_real():
    d_real = [[3.0], [1.0], [2.0], [6.0]]  # mean 3
    d_fake = [[-1.0], [0.5], [-2.5], [1.0]]  # mean -0.5
    loss = losses.critic_loss(t(d_real), t(d_fake))
    assert loss.shape == ()
    assert loss.item() == pytest.approx(-0.5 - 3.0, abs=1e-12)
    # the Wasserstein estimate is its negative: positive when the critic scores real higher
    assert -loss.item() > 0


def test_critic_loss_gradient_signs():
    """Minimising the critic loss must push D(real) up and D(fake) down."""
    d_real, d_fake = t([[1.0], [2.0]], True), t([[0.0], [4.0], [1.0]], True)
    losses.critic_loss(d_real, d_fake).backward()
    np.testing.assert_allclose(d_real.grad.numpy(), np.full((2, 1), -1 / 2), atol=1e-15)
    np.testing.assert_allclose(d_fake.grad.numpy(), np.full((3, 1), 1 / 3), atol=1e-15)


def test_generator_loss_is_minus_mean_fake():
    d_fake = t([[1.5], [-0.5], [2.0]], True)
    loss = losses.generator_loss(d_fake)
    assert loss.item() == pytest.approx(-1.0, abs=1e-12)
    loss.backward()
    # the generator wants its samples scored higher: the gradient on D(fake) is negative
    np.testing.assert_allclose(d_fake.grad.numpy(), np.full((3, 1), -1 / 3), atol=1e-15)


# ---------------------------------------------------------------------------------------------
# the standard GAN's cross-entropy losses


def test_gan_losses_match_log_sigmoid_formulas():
    logits_real = np.array([[0.3], [-1.2], [2.0], [0.0]])
    logits_fake = np.array([[-0.7], [1.5], [0.1], [-3.0]])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731 -- fine for these moderate logits
    expected_d = (-np.log(sig(logits_real))).mean() + (-np.log(1 - sig(logits_fake))).mean()
    expected_g = (-np.log(sig(logits_fake))).mean()
    assert losses.discriminator_loss_gan(t(logits_real), t(logits_fake)).item() == \
        pytest.approx(expected_d, rel=1e-12)
    assert losses.generator_loss_gan(t(logits_fake)).item() == pytest.approx(expected_g, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gan_losses_finite_for_large_logits(dtype):
    logits_real = np.array([[200.0], [-200.0], [90.0], [-1000.0]], dtype=dtype)
    logits_fake = np.array([[-300.0], [150.0], [-90.0], [1000.0]], dtype=dtype)
    lr = mg.tensor(logits_real, requires_grad=True)
    lf = mg.tensor(logits_fake, requires_grad=True)
    d = losses.discriminator_loss_gan(lr, lf)
    g = losses.generator_loss_gan(lf)
    # -log sigmoid(t) = softplus(-t), -log(1 - sigmoid(t)) = softplus(t)
    expected_d = softplus64(-logits_real).mean() + softplus64(logits_fake).mean()
    expected_g = softplus64(-logits_fake).mean()
    assert np.isfinite(d.item()) and np.isfinite(g.item())
    assert d.item() == pytest.approx(expected_d, rel=1e-6)
    assert g.item() == pytest.approx(expected_g, rel=1e-6)
    (d + g).backward()
    assert np.isfinite(lr.grad.numpy()).all() and np.isfinite(lf.grad.numpy()).all()
    # d/dt softplus(-t) = -sigmoid(-t); d/dt softplus(t) = sigmoid(t); each term is a mean
    sig = lambda z: np.exp(-np.logaddexp(0.0, -z))  # noqa: E731 -- stable sigmoid
    n = len(logits_real)
    np.testing.assert_allclose(lr.grad.numpy(), -sig(-logits_real.astype(np.float64)) / n,
                               atol=1e-7)
    np.testing.assert_allclose(
        lf.grad.numpy(),
        (sig(logits_fake.astype(np.float64)) - sig(-logits_fake.astype(np.float64))) / n,
        atol=1e-7)


# ---------------------------------------------------------------------------------------------
# the gradient penalty


class LinearCritic:
    """D(x) = <w, x> + b per sample, over all non-batch axes; records its inputs."""

    def __init__(self, w, b=0.25):
        self.w = mg.tensor(np.asarray(w, dtype=np.float64), requires_grad=True)
        self.b = mg.tensor(np.float64(b), requires_grad=True)
        self.inputs = []

    def __call__(self, x):
        self.inputs.append(x.numpy().copy())
        n = x.shape[0]
        return (x.reshape(n, -1) @ self.w.reshape(-1, 1)) + self.b


def batch(shape, seed):
    return mg.tensor(np.random.default_rng(seed).standard_normal(shape))


@pytest.mark.parametrize("scale", [0.3, 1.0, 2.5])
def test_penalty_on_linear_critic_is_exact_with_closed_form_gradient(scale):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((2, 3, 4))
    w *= scale / np.linalg.norm(w)  # ||w|| = scale
    critic = LinearCritic(w)
    mg.manual_seed(0)
    penalty = losses.gradient_penalty(critic, batch((5, 2, 3, 4), 2), batch((5, 2, 3, 4), 3))
    norm = np.sqrt((w * w).sum())  # the epsilon inside the sqrt shifts it by ~1e-12 at most
    assert penalty.item() == pytest.approx((norm - 1) ** 2, rel=1e-9, abs=1e-20)
    penalty.backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    np.testing.assert_allclose(critic.w.grad.numpy(), 2 * (norm - 1) * w / norm,
                               rtol=1e-9, atol=1e-10)
    # the bias does not move the input gradient
    assert critic.b.grad is None or np.all(critic.b.grad.numpy() == 0)


def test_penalty_does_not_backpropagate_into_real_or_fake():
    critic = LinearCritic(np.full((1, 2, 2), 0.7))
    real = mg.tensor(np.ones((3, 1, 2, 2)), requires_grad=True)
    fake = mg.tensor(np.zeros((3, 1, 2, 2)), requires_grad=True)
    losses.gradient_penalty(critic, real, fake).backward()
    for x in (real, fake):
        assert x.grad is None or np.all(x.grad.numpy() == 0)


def test_penalty_alpha_is_one_uniform_number_per_sample():
    n = 400
    shape = (n, 2, 3, 3)
    real, fake = batch(shape, 4), batch(shape, 5)
    critic = LinearCritic(np.ones(shape[1:]))
    mg.manual_seed(3)
    losses.gradient_penalty(critic, real, fake)
    assert len(critic.inputs) == 1
    x_hat = critic.inputs[0]
    r, f = real.numpy(), fake.numpy()
    ratio = (x_hat - r) / (f - r)  # alpha, wherever fake != real
    alpha = ratio.reshape(n, -1)[:, 0]
    # one factor per sample: x_hat - real is proportional to fake - real, pixel by pixel
    np.testing.assert_allclose(ratio.reshape(n, -1), np.repeat(alpha[:, None], 18, axis=1),
                               rtol=1e-9, atol=1e-9)
    # drawn from U[0, 1): never outside, and not one shared number
    assert np.all(alpha >= 0) and np.all(alpha < 1)
    assert len(np.unique(alpha)) == n
    # a uniform sample, not a normal one clipped: mean 1/2, variance 1/12, fills both halves
    assert abs(alpha.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)
    assert abs(alpha.var() - 1 / 12) < 0.02
    assert (alpha < 0.1).sum() > 10 and (alpha > 0.9).sum() > 10


def test_penalty_alpha_follows_the_seed():
    def alphas(seed):
        critic = LinearCritic(np.ones((1, 2, 2)))
        real, fake = batch((6, 1, 2, 2), 0), batch((6, 1, 2, 2), 1)
        mg.manual_seed(seed)
        losses.gradient_penalty(critic, real, fake)
        return (critic.inputs[0] - real.numpy()) / (fake.numpy() - real.numpy())
    np.testing.assert_array_equal(alphas(7), alphas(7))
    assert not np.allclose(alphas(7), alphas(8))


class SquareCritic:
    """D(x) = 0.5 * sum(x^2) per sample: the input gradient is x itself."""

    def __call__(self, x):
        return (x * x).sum(axis=tuple(range(1, x.ndim))) * 0.5


def test_penalty_norm_is_over_all_non_batch_axes():
    # real == fake, so x_hat == real whatever alpha, and grad_i = x_i
    x = np.random.default_rng(6).standard_normal((4, 3, 5, 2)) * 0.4
    penalty = losses.gradient_penalty(SquareCritic(), mg.tensor(x), mg.tensor(x.copy()))
    norms = np.sqrt((x ** 2).sum(axis=(1, 2, 3)))
    assert penalty.item() == pytest.approx(((norms - 1) ** 2).mean(), rel=1e-9)
    # the norm over one axis only, or over the whole batch, gives a different number
    wrong_axis = ((np.sqrt((x ** 2).sum(axis=1)) - 1) ** 2).mean()
    whole_batch = (np.sqrt((x ** 2).sum()) - 1) ** 2
    assert abs(penalty.item() - wrong_axis) > 1e-3 and abs(penalty.item() - whole_batch) > 1e-3


def test_penalty_on_flat_inputs():
    w = np.array([0.6, 0.0, 0.8, 0.5])  # ||w||^2 = 1.25
    critic = LinearCritic(w)
    penalty = losses.gradient_penalty(critic, batch((3, 4), 0), batch((3, 4), 1))
    assert penalty.item() == pytest.approx((np.sqrt(1.25) - 1) ** 2, rel=1e-9)


def test_penalty_finite_when_the_input_gradient_is_zero():
    critic = LinearCritic(np.zeros((1, 3, 3)))  # D(x) = b: zero input gradient
    penalty = losses.gradient_penalty(critic, batch((4, 1, 3, 3), 0), batch((4, 1, 3, 3), 1))
    # ||0|| = 0 (up to the epsilon), so the penalty is (0 - 1)^2
    assert penalty.item() == pytest.approx(1.0, abs=1e-5)
    penalty.backward()
    grad = critic.w.grad.numpy()
    assert np.isfinite(grad).all()
    # 2 (||w|| - 1) w / ||w|| is 0 at w = 0 once the epsilon keeps ||w|| > 0
    np.testing.assert_array_equal(grad, np.zeros_like(grad))


def test_penalty_rejects_mismatched_shapes():
    critic = LinearCritic(np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match="differ"):
        losses.gradient_penalty(critic, batch((3, 1, 2, 2), 0), batch((2, 1, 2, 2), 0))


def test_penalty_in_float32_on_a_real_critic_is_differentiable():
    """On a real conv critic the penalty reaches every weight of the critic."""
    from wgan import models
    mg.manual_seed(0)
    _, critic = models.build("gp", dim=2, gradient_penalty=True)
    rng = np.random.default_rng(0)
    real = mg.tensor(rng.random((3, 1, 28, 28), dtype=np.float32))
    fake = mg.tensor(rng.random((3, 1, 28, 28), dtype=np.float32))
    penalty = losses.gradient_penalty(critic, real, fake)
    assert penalty.dtype == np.float32 and np.isfinite(penalty.item())
    penalty.backward()
    for name, p in critic.named_parameters():
        if name.endswith("weight"):
            assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0, name
