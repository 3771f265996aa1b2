"""The model pairs beyond 1 x 28 x 28: every pair at the sizes it supports, in grey and RGB,
the sizes it refuses and why, the dcgan64 pair layer by layer, and --no-bias."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from wgan import models

pytestmark = pytest.mark.cpu_only("builds the models on the host; the device run trains "
                                  "with device='cuda' in test_device_training.py")

DIM, Z_DIM, B = 2, 8, 3

SUPPORTED = [("gp", 28), ("gp", 32), ("dcgan", 28), ("dcgan", 32), ("dcgan", 64),
             ("dcgan", 12), ("upsample", 28), ("upsample", 32), ("dcgan64", 64), ("mlp", 28),
             ("mlp", 32), ("mlp", 64), ("mlp", 5)]


def noise(n=B):
    return mg.tensor(np.random.default_rng(0).standard_normal((n, Z_DIM)).astype(np.float32))


def outputs(net, x):
    """The shape (without the batch) after each layer of a Sequential."""
    shapes = []
    for layer in net:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    return shapes


def count(module):
    return sum(int(np.prod(p.shape)) for p in module.parameters())


@pytest.mark.parametrize("arch,size", SUPPORTED)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("gradient_penalty", [False, True])
def test_every_pair_draws_and_scores_its_sizes_in_grey_and_rgb(arch, size, channels,
                                                               gradient_penalty):
    mg.manual_seed(0)
    generator, critic = models.build(arch, DIM, Z_DIM, gradient_penalty=gradient_penalty,
                                     image_shape=(channels, size, size))
    low, high = models.pixel_range(arch)
    images = generator(noise())
    assert images.shape == (B, channels, size, size)
    x = images.numpy()
    assert np.isfinite(x).all() and low <= x.min() and x.max() <= high and x.std() > 0
    assert critic(images).shape == (B, 1)
    if gradient_penalty:
        assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))
                       for m in critic.modules())
    generator.eval()
    critic.eval()
    with mg.no_grad():  # batch 1 in eval mode
        assert critic(generator(noise(1))).shape == (1, 1)


@pytest.mark.parametrize("arch,size", [("gp", 64), ("gp", 31), ("upsample", 64),
                                       ("upsample", 16), ("dcgan", 30), ("dcgan64", 32),
                                       ("dcgan64", 28), ("mlp", 0)])
def test_sizes_a_pair_cannot_draw_are_refused_with_the_reason(arch, size):
    with pytest.raises(ValueError) as info:
        models.build(arch, DIM, Z_DIM, image_shape=(3, size, size))
    message = str(info.value)
    assert f"--arch {arch} draws square images of {models.SIZES[arch][1]} pixels" in message
    assert models.SIZES[arch][2] in message  # the reason


def test_other_shapes_are_refused():
    with pytest.raises(ValueError, match="--channels must be 1 .* or 3"):
        models.build("mlp", DIM, Z_DIM, image_shape=(2, 28, 28))
    with pytest.raises(ValueError, match="square images"):
        models.build("mlp", DIM, Z_DIM, image_shape=(1, 28, 32))


def test_the_default_shape_is_the_pairs_own():
    for arch in models.ARCHITECTURES:
        generator, _ = models.build(arch, DIM, Z_DIM)
        assert tuple(generator(noise()).shape[1:]) == models.native_shape(arch)
    assert models.native_shape("dcgan64") == (1, 64, 64)


def test_dcgan64_generator_layer_by_layer():
    """z -> 4x4x(8 dim) -> 8x8x(4 dim) -> 16x16x(2 dim) -> 32x32x dim -> 64x64xC, tanh; four
    4x4 stride-2 transposed convolutions, batch norm and ReLU after all but the last."""
    dim = 3
    generator, _ = models.build("dcgan64", dim, Z_DIM, image_shape=(3, 64, 64))
    shapes = outputs(generator, noise(2))
    for expected in [(8 * dim, 4, 4), (4 * dim, 8, 8), (2 * dim, 16, 16), (dim, 32, 32),
                     (3, 64, 64)]:
        assert expected in shapes, (expected, shapes)
    layers = list(generator)
    assert isinstance(layers[-1], nn.Tanh) and isinstance(layers[0], nn.Linear)
    deconvs = [m for m in layers if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in deconvs] == \
        [(8 * dim, 4 * dim), (4 * dim, 2 * dim), (2 * dim, dim), (dim, 3)]
    assert all(m.kernel_size == (4, 4) and m.stride == (2, 2) for m in deconvs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in layers) == 4  # after the projection too
    assert sum(isinstance(m, nn.ReLU) for m in layers) == 4
    # each batch norm and ReLU follows the projection or a transposed convolution, not the last
    for k, layer in enumerate(layers):
        if isinstance(layer, nn.BatchNorm2d):
            assert isinstance(layers[k - 1], (nn.ConvTranspose2d, nn.Unflatten))
            assert isinstance(layers[k + 1], nn.ReLU)


@pytest.mark.parametrize("gradient_penalty,norm", [(False, nn.BatchNorm2d),
                                                   (True, nn.LayerNorm)])
def test_dcgan64_critic_mirrors_it(gradient_penalty, norm):
    dim = 3
    _, critic = models.build("dcgan64", dim, Z_DIM, gradient_penalty=gradient_penalty,
                             image_shape=(3, 64, 64))
    shapes = outputs(critic, mg.tensor(np.zeros((2, 3, 64, 64), np.float32)))
    for expected in [(dim, 32, 32), (2 * dim, 16, 16), (4 * dim, 8, 8), (8 * dim, 4, 4), (1,)]:
        assert expected in shapes, (expected, shapes)
    layers = list(critic)
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == \
        [(3, dim), (dim, 2 * dim), (2 * dim, 4 * dim), (4 * dim, 8 * dim)]
    assert all(m.kernel_size == (4, 4) and m.stride == (2, 2) for m in convs)
    leaky = [m for m in layers if isinstance(m, nn.LeakyReLU)]
    assert len(leaky) == 4 and all(m.negative_slope == 0.2 for m in leaky)
    norms = [m for m in layers if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm))]
    assert len(norms) == 3 and all(isinstance(m, norm) for m in norms)  # none after the first
    assert isinstance(layers[1], nn.LeakyReLU)
    assert isinstance(layers[-1], nn.Linear) and layers[-1].in_features == 4 * 4 * 8 * dim


def test_dcgan64_starts_from_dcgans_initialisation():
    mg.manual_seed(0)
    generator, critic = models.build("dcgan64", 16, 128, image_shape=(3, 64, 64))
    for net in (generator, critic):
        for name, p in net.named_parameters():
            value = p.numpy()
            if name.endswith("bias"):
                assert (value == 0).all(), name
            elif value.ndim == 1:  # a batch norm's scale
                assert abs(value.mean() - 1) < 0.01 and 0.01 < value.std() < 0.03, name
            else:
                assert abs(value.mean()) < 0.003 and abs(value.std() - 0.02) < 0.002, name


def test_dcgan64_parameter_count_at_dim_64():
    dim, z = 64, 128

    def conv(c_in, c_out, bias=True):
        return c_in * c_out * 16 + (c_out if bias else 0)

    def batch_norm(c):
        return 2 * c

    # the layers right before a batch norm have no bias (the norm cancels it); the linear
    # projection keeps its own: it is reshaped first, and its bias varies within a channel
    generator, critic = models.build("dcgan64", dim, z, image_shape=(3, 64, 64))
    assert count(generator) == (z * 4 * 4 * 8 * dim + 4 * 4 * 8 * dim + batch_norm(8 * dim)
                                + conv(8 * dim, 4 * dim, False) + batch_norm(4 * dim)
                                + conv(4 * dim, 2 * dim, False) + batch_norm(2 * dim)
                                + conv(2 * dim, dim, False) + batch_norm(dim) + conv(dim, 3))
    assert count(critic) == (conv(3, dim) + conv(dim, 2 * dim, False) + batch_norm(2 * dim)
                             + conv(2 * dim, 4 * dim, False) + batch_norm(4 * dim)
                             + conv(4 * dim, 8 * dim, False) + batch_norm(8 * dim)
                             + 4 * 4 * 8 * dim + 1)


@pytest.mark.parametrize("arch,size", [(a, models.native_shape(a)[1])
                                       for a in models.ARCHITECTURES])
@pytest.mark.parametrize("gradient_penalty", [False, True])
def test_no_bias_removes_every_linear_and_convolution_bias(arch, size, gradient_penalty):
    shape = (3, size, size)
    with_bias = models.build(arch, DIM, Z_DIM, gradient_penalty=gradient_penalty,
                             image_shape=shape)
    without = models.build(arch, DIM, Z_DIM, gradient_penalty=gradient_penalty,
                           image_shape=shape, bias=False)
    for net, full in zip(without, with_bias):
        weighted = [m for m in net.modules()
                    if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
        assert weighted and all(m.bias is None for m in weighted)
        biases = sum(int(np.prod(m.bias.shape)) for m in full.modules()
                     if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))
                     and m.bias is not None)
        assert biases > 0 and count(net) == count(full) - biases  # the norms keep theirs
    generator, critic = without
    assert critic(generator(noise())).shape == (B, 1)


def test_the_32_pixel_gp_pair_has_no_crop():
    dim = 2
    generator, critic = models.build("gp", dim, Z_DIM, image_shape=(3, 32, 32))
    assert not any(isinstance(m, nn.Crop2d) for m in generator.modules())
    shapes = outputs(generator, noise(2))
    for expected in [(4 * dim, 4, 4), (2 * dim, 8, 8), (dim, 16, 16), (3, 32, 32)]:
        assert expected in shapes
    shapes = outputs(critic, mg.tensor(np.zeros((2, 3, 32, 32), np.float32)))
    for expected in [(dim, 16, 16), (2 * dim, 8, 8), (4 * dim, 4, 4), (1,)]:
        assert expected in shapes
