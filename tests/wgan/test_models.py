"""Tests of wgan.models: shapes, pixel ranges, the batch-norm rule, the WGAN-GP authors' model."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from wgan import models

DIM, Z_DIM, B = 4, 16, 3


def noise(n=B, z_dim=Z_DIM, seed=0):
    return mg.tensor(np.random.default_rng(seed).standard_normal((n, z_dim)).astype(np.float32))


def count(module):
    return sum(int(np.prod(p.shape)) for p in module.parameters())


def has_batch_norm(module):
    return any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in module.modules())


@pytest.mark.parametrize("arch", models.ARCHITECTURES)
@pytest.mark.parametrize("gradient_penalty", [False, True])
def test_every_architecture_maps_noise_to_images_in_range_and_images_to_scores(
        arch, gradient_penalty):
    mg.manual_seed(0)
    generator, critic = models.build(arch, dim=DIM, z_dim=Z_DIM,
                                     gradient_penalty=gradient_penalty)
    low, high = models.pixel_range(arch)
    assert (low, high) in ((0.0, 1.0), (-1.0, 1.0))
    # large noise drives the output layer towards saturation: it must still stay in range
    for scale in (1.0, 30.0):
        images = generator(noise() * scale)
        assert images.shape == (B, *models.native_shape(arch))
        x = images.numpy()
        assert np.isfinite(x).all()
        assert x.min() >= low and x.max() <= high, (arch, x.min(), x.max())
    assert x.std() > 0  # not a constant picture
    scores = critic(images)
    assert scores.shape == (B, 1)
    assert np.isfinite(scores.numpy()).all()
    # and on real-looking data in the pixel range
    real = np.random.default_rng(1).uniform(low, high, (B, *models.native_shape(arch)))
    real = real.astype(np.float32)
    assert critic(mg.tensor(real)).shape == (B, 1)
    if gradient_penalty:
        assert not has_batch_norm(critic), f"{arch} critic uses batch norm with the penalty"


@pytest.mark.parametrize("arch", models.ARCHITECTURES)
def test_eval_mode_generator_works_on_one_sample(arch):
    mg.manual_seed(0)
    generator, critic = models.build(arch, dim=DIM, z_dim=Z_DIM)
    generator.eval()
    critic.eval()
    with mg.no_grad():
        image = generator(noise(1))
        assert image.shape == (1, *models.native_shape(arch))
        assert critic(image).shape == (1, 1)


@pytest.mark.parametrize("arch", models.ARCHITECTURES)
def test_gradient_penalty_critic_with_batch_norm_is_refused_with_the_reason(arch):
    with pytest.raises(ValueError) as info:
        models.build(arch, dim=DIM, z_dim=Z_DIM, critic_norm="batch", gradient_penalty=True)
    message = str(info.value)
    assert "batch norm" in message
    assert "per sample" in message  # the reason
    assert "layer" in message  # and the alternative


@pytest.mark.parametrize("arch", models.ARCHITECTURES)
@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
def test_critic_norm_choice_is_honoured(arch, norm):
    _, critic = models.build(arch, dim=DIM, z_dim=Z_DIM, critic_norm=norm)
    assert has_batch_norm(critic) == (norm == "batch")
    has_layer_norm = any(isinstance(m, nn.LayerNorm) for m in critic.modules())
    assert has_layer_norm == (norm == "layer")
    zeros = np.zeros((2, *models.native_shape(arch)), np.float32)
    assert critic(mg.tensor(zeros)).shape == (2, 1)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="--arch 'resnet' is unknown"):
        models.build("resnet")
    with pytest.raises(ValueError, match="--critic-norm 'instance' is unknown"):
        models.build("gp", critic_norm="instance")


def test_gp_pair_follows_the_authors_layer_shapes():
    """Linear -> (4*DIM, 4, 4) -> 8x8 -> crop 7x7 -> 14x14 -> 28x28; critic 14, 7, 4, score."""
    dim = DIM
    generator, critic = models.build("gp", dim=dim, z_dim=Z_DIM)
    x = noise(2)
    shapes = []
    for layer in generator:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    for expected in [(4 * dim, 4, 4), (2 * dim, 8, 8), (2 * dim, 7, 7), (dim, 14, 14),
                     (1, 28, 28)]:
        assert expected in shapes, (expected, shapes)
    assert shapes.index((2 * dim, 8, 8)) < shapes.index((2 * dim, 7, 7)) < \
        shapes.index((dim, 14, 14))
    assert isinstance(list(generator)[-1], nn.Sigmoid)
    x = mg.tensor(np.zeros((2, 1, 28, 28), np.float32))
    shapes = []
    for layer in critic:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    for expected in [(dim, 14, 14), (2 * dim, 7, 7), (4 * dim, 4, 4), (1,)]:
        assert expected in shapes, (expected, shapes)
    leaky = [m for m in critic.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(leaky) == 3


def test_gp_pair_parameter_counts_at_dim_64():
    dim, z = 64, 128

    def linear(n_in, n_out):
        return n_in * n_out + n_out

    def conv(c_in, c_out, k=5):  # the same count for a transposed convolution
        return c_in * c_out * k * k + c_out

    expected_generator = (linear(z, 4 * 4 * 4 * dim) + conv(4 * dim, 2 * dim) + conv(2 * dim, dim)
                          + conv(dim, 1))
    expected_critic = (conv(1, dim) + conv(dim, 2 * dim) + conv(2 * dim, 4 * dim)
                       + linear(4 * 4 * 4 * dim, 1))
    generator, critic = models.build("gp", dim=dim, z_dim=z, gradient_penalty=True)
    assert count(generator) == expected_generator
    assert count(critic) == expected_critic
    # weight layouts follow PyTorch: Linear (out, in), Conv2d (out, in, kh, kw),
    # ConvTranspose2d (in, out, kh, kw)
    g_shapes = sorted(tuple(p.shape) for p in generator.parameters() if len(p.shape) > 1)
    assert g_shapes == sorted([(4 * 4 * 4 * dim, z), (4 * dim, 2 * dim, 5, 5),
                               (2 * dim, dim, 5, 5), (dim, 1, 5, 5)])
    c_shapes = sorted(tuple(p.shape) for p in critic.parameters() if len(p.shape) > 1)
    assert c_shapes == sorted([(dim, 1, 5, 5), (2 * dim, dim, 5, 5), (4 * dim, 2 * dim, 5, 5),
                               (1, 4 * 4 * 4 * dim)])


def test_dcgan_pair_follows_the_keras_tutorial():
    """Dense -> 7x7x(2*dim), two stride-2 4x4 transposed convs with batch norm, 7x7 conv + tanh."""
    dim = DIM
    generator, critic = models.build("dcgan", dim=dim, z_dim=Z_DIM)
    x, shapes = noise(2), []
    for layer in generator:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    assert (2 * dim, 7, 7) in shapes and (2 * dim, 14, 14) in shapes and (dim, 28, 28) in shapes
    assert isinstance(list(generator)[-1], nn.Tanh)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in generator.modules()) == 2
    kernels = sorted(tuple(p.shape[2:]) for p in generator.parameters() if len(p.shape) == 4)
    assert kernels == [(4, 4), (4, 4), (7, 7)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in critic.modules()) == 2  # its default


def test_generator_dim_widens_the_generator_alone():
    """--generator-dim: the generator's widths follow it, the critic keeps --dim and, built
    first, the very weights it has without the setting."""
    mg.manual_seed(0)
    _, critic = models.build("gp", dim=DIM, z_dim=Z_DIM)
    mg.manual_seed(0)
    generator, wide_critic = models.build("gp", dim=DIM, z_dim=Z_DIM, generator_dim=DIM + 2)
    widths = [layer.out_channels for layer in generator if isinstance(layer, nn.ConvTranspose2d)]
    assert widths == [2 * (DIM + 2), DIM + 2, 1]
    assert generator(noise()).shape == (B, 1, 28, 28)
    for (name, p), (_, q) in zip(critic.named_parameters(), wide_critic.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)

