"""Generator and critic pairs, chosen with ``--arch``, for images of C x S x S pixels.

- ``gp``: the WGAN-GP authors' MNIST model (Gulrajani et al., gan_mnist.py): transposed
  convolutions up from 4x4, a crop from 8x8 to 7x7, sigmoid output in [0, 1]; critic of
  three 5x5 stride-2 convolutions with LeakyReLU(0.2) and a linear score; initialised as
  the authors' code does (``authors_init``). Sizes 28 (the authors') and 32 (no crop).
- ``dcgan``: the DCGAN-style pair of the Keras WGAN tutorial: Dense -> (S/4)x(S/4)x(2*dim),
  two 4x4 stride-2 transposed convolutions with batch norm and LeakyReLU, a 7x7 convolution
  with tanh; critic of two 4x4 stride-2 convolutions with batch norm and LeakyReLU, then
  Dense. Any size that is a multiple of 4 (28, 32, 64, ...).
- ``upsample``: the Keras WGAN-GP example: nearest upsampling + 3x3 convolution blocks to
  32x32 (cropped to 28 for 28), tanh; critic (zero-padding 28 to 32) of four 5x5 stride-2
  convolutions with LeakyReLU and dropout. Sizes 28 and 32.
- ``dcgan64``: the DCGAN pair for 64x64 images (Radford et al. 2016, which the WGAN
  authors' code uses too): z -> 4x4x(8*dim), four 4x4 stride-2 transposed
  convolutions (to 4, 2, 1 times dim, then the channels) with batch norm and ReLU, tanh;
  critic the mirror, four 4x4 stride-2 convolutions with LeakyReLU(0.2) (normalised after
  all but the first), a linear score; weights drawn as DCGAN does (``dcgan_init``). Size 64.
- ``mlp``: fully connected networks, as in the papers' architecture-robustness experiments.
  Any size.

Every pair takes the channels (1 grey, 3 RGB) and ``bias``: False removes the bias of every
linear and convolution layer (as DCGAN code does, the WGAN authors' among it; the
normalisation layers keep their learned shift); a layer right before a batch norm never has
one, since the norm cancels it (``biases_before_batch_norm``). Every critic takes ``norm``:
"none", "layer" (the WGAN-GP paper's substitute for batch norm) or "batch". A gradient-penalty
critic must not use batch norm: the penalty is a per-sample quantity, and batch norm makes each
sample's score depend on the rest of the batch.
"""
import math

import minigrad.nn as nn

from . import modes

ARCHITECTURES = ("gp", "dcgan", "upsample", "dcgan64", "mlp")
CRITIC_NORMS = ("none", "layer", "batch")
GENERATOR_NORMS = ("none", "batch")
GENERATOR_NORM = {"gp": "none", "dcgan": "batch", "upsample": "batch", "dcgan64": "batch",
                  "mlp": "none"}  # each pair's own
CRITIC_NORM = {"gp": "none", "dcgan": "batch", "upsample": "none", "dcgan64": "batch",
               "mlp": "none"}  # each pair's own (batch becomes layer with the penalty)
IMAGE_SHAPE = (1, 28, 28)  # the shape a pair draws unless told otherwise (dcgan64: 1 x 64 x 64)
CHANNELS = (1, 3)

# The sizes (height = width) each pair can draw, and why: (test, what it allows, the reason).
SIZES = {
    "gp": (lambda s: s in (28, 32), "28 or 32", "its generator doubles 4x4 three times "
           "(cropping 8x8 to 7x7 for 28) and its critic halves three times down to 4x4"),
    "dcgan": (lambda s: s >= 4 and s % 4 == 0, "a multiple of 4 (28, 32, 64, ...)",
              "it starts from S/4 x S/4 and has two stride-2 layers each way"),
    "upsample": (lambda s: s in (28, 32), "28 or 32", "its generator doubles 4x4 three "
                 "times to 32 (cropped to 28) and its critic halves 32 four times"),
    "dcgan64": (lambda s: s == 64, "64", "four stride-2 layers each way between 4x4 and "
                "64x64"),
    "mlp": (lambda s: s >= 1, "any size", "it is fully connected"),
}


def native_shape(arch):
    """The image shape a pair draws when ``build`` is not told one."""
    return (1, 64, 64) if arch == "dcgan64" else IMAGE_SHAPE


def check_image_shape(arch, image_shape):
    """Raise ValueError, with the reason, if ``arch`` cannot draw C x S x S images."""
    _check_arch(arch)
    channels, height, width = image_shape
    if channels not in CHANNELS:
        raise ValueError(f"--channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    fits, allowed, reason = SIZES[arch]
    if height != width or not fits(height):
        raise ValueError(f"--arch {arch} draws square images of {allowed} pixels, not "
                         f"{height}x{width} (--image-size): {reason}. "
                         + _architectures_for(height))
    return tuple(image_shape)


def _architectures_for(size):
    fitting = [a for a in ARCHITECTURES if SIZES[a][0](size)]
    return f"For {size} pixels choose --arch {' or '.join(fitting)}."


def _norm(kind, channels, spatial):
    """The normalisation layer of a critic block, or None."""
    if kind == "layer":
        return nn.LayerNorm([channels, spatial, spatial])
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return None


def _layers(*layers):
    return nn.Sequential(*[layer for layer in layers if layer is not None])


def _halved(size, times):
    """The side of a map after ``times`` stride-2 'same' convolutions: 28 -> 14, 7, 4."""
    for _ in range(times):
        size = (size + 1) // 2
    return size


def authors_init(model):
    """The initialisation of the WGAN-GP authors' code (tflib), which PyTorch's defaults
    do not match: weights uniform with standard deviation sqrt(4 / (fan_in + fan_out)) for
    convolutions (the stride divides the fan on the downsampled side: fan_out for a
    convolution, fan_in for a transposed one) and sqrt(1 / fan_in) for linear layers;
    biases zero. Its larger weights let the generator leave its flat start sooner."""
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            taps = layer.kernel_size[0] * layer.kernel_size[1]
            fan_in, fan_out = layer.in_channels * taps, layer.out_channels * taps
            stride = layer.stride[0] * layer.stride[1]
            if isinstance(layer, nn.Conv2d):
                fan_out /= stride
            else:
                fan_in /= stride
            std = math.sqrt(4 / (fan_in + fan_out))
        elif isinstance(layer, nn.Linear):
            std = math.sqrt(1 / layer.in_features)
        else:
            continue
        nn.init.uniform_(layer.weight, -std * math.sqrt(3), std * math.sqrt(3))
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return model


def dcgan_init(model):
    """The initialisation of DCGAN (Radford et al. 2016) and of the WGAN authors' code:
    linear and convolution weights normal with standard deviation 0.02, batch-norm scales
    normal around 1 with 0.02; biases and shifts zero."""
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(layer.weight, 1.0, 0.02)
        else:
            continue
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return model


def _generator_norm(kind, features, spatial=None):
    """The batch norm of a generator block (``kind`` "batch"), or None (``kind`` "none")."""
    if kind != "batch":
        return None
    return nn.BatchNorm1d(features) if spatial is None else nn.BatchNorm2d(features)


# Every generator is made by make(dim, z_dim, image_shape, bias, norm) and every critic by
# make(dim, image_shape, bias, norm), with the shape checked (check_image_shape) and the
# norms resolved (norms_for) by ``build``.


def gp_generator(dim, z_dim, image_shape, bias, norm):
    """The authors' generator; ``norm`` "batch" adds batch norm before each ReLU (allowed with
    the penalty: only the critic must score each sample on its own)."""
    channels, size, _ = image_shape
    crop = nn.Crop2d(0, 1, 0, 1) if size == 28 else None                              # 7x7
    half = 7 if size == 28 else 8
    return authors_init(_layers(
        nn.Linear(z_dim, 4 * 4 * 4 * dim, bias=bias), _generator_norm(norm, 4 * 4 * 4 * dim),
        nn.ReLU(), nn.Unflatten(1, (4 * dim, 4, 4)),
        nn.ConvTranspose2d(4 * dim, 2 * dim, 5, stride=2, padding=2, output_padding=1,
                           bias=bias),                                                   # 8x8
        _generator_norm(norm, 2 * dim, 8), nn.ReLU(), crop,
        nn.ConvTranspose2d(2 * dim, dim, 5, stride=2, padding=2, output_padding=1,
                           bias=bias),                                                 # 14, 16
        _generator_norm(norm, dim, 2 * half), nn.ReLU(),
        nn.ConvTranspose2d(dim, channels, 5, stride=2, padding=2, output_padding=1,
                           bias=bias),                                                 # 28, 32
        nn.Sigmoid()))


def gp_critic(dim, image_shape, bias, norm):
    channels, size, _ = image_shape
    return authors_init(_layers(
        nn.Conv2d(channels, dim, 5, stride=2, padding=2, bias=bias), nn.LeakyReLU(0.2),  # 14
        nn.Conv2d(dim, 2 * dim, 5, stride=2, padding=2, bias=bias),
        _norm(norm, 2 * dim, _halved(size, 2)), nn.LeakyReLU(0.2),                         # 7
        nn.Conv2d(2 * dim, 4 * dim, 5, stride=2, padding=2, bias=bias),
        _norm(norm, 4 * dim, 4), nn.LeakyReLU(0.2),                                        # 4
        nn.Flatten(), nn.Linear(4 * 4 * 4 * dim, 1, bias=bias)))


def dcgan_generator(dim, z_dim, image_shape, bias, norm):
    channels, size, _ = image_shape
    start = size // 4
    return _layers(
        nn.Linear(z_dim, start * start * 2 * dim, bias=bias),
        nn.Unflatten(1, (2 * dim, start, start)),                                          # 7
        nn.ConvTranspose2d(2 * dim, 2 * dim, 4, stride=2, padding=1, bias=bias),         # 14
        _generator_norm(norm, 2 * dim, 2 * start), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(2 * dim, dim, 4, stride=2, padding=1, bias=bias),             # 28
        _generator_norm(norm, dim, size), nn.LeakyReLU(0.2),
        nn.Conv2d(dim, channels, 7, padding=3, bias=bias), nn.Tanh())


def dcgan_critic(dim, image_shape, bias, norm):
    channels, size, _ = image_shape
    return _layers(
        nn.Conv2d(channels, dim, 4, stride=2, padding=1, bias=bias), _norm(norm, dim, size // 2),
        nn.LeakyReLU(0.2),
        nn.Conv2d(dim, 2 * dim, 4, stride=2, padding=1, bias=bias),
        _norm(norm, 2 * dim, size // 4), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear((size // 4) ** 2 * 2 * dim, 1, bias=bias))


def upsample_generator(dim, z_dim, image_shape, bias, norm):
    channels, size, _ = image_shape

    def block(cin, cout, spatial, last=False):
        return [nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, padding=1,
                                                       bias=last and bias),
                None if last else _generator_norm(norm, cout, spatial),
                nn.Tanh() if last else nn.LeakyReLU(0.2)]
    return _layers(
        nn.Linear(z_dim, 4 * 4 * 4 * dim, bias=False), _generator_norm(norm, 4 * 4 * 4 * dim),
        nn.LeakyReLU(0.2), nn.Unflatten(1, (4 * dim, 4, 4)),
        *block(4 * dim, 2 * dim, 8), *block(2 * dim, dim, 16),                          # 8, 16
        *block(dim, channels, 32, last=True),                                              # 32
        nn.Crop2d(2, 2, 2, 2) if size == 28 else None)                                     # 28


def upsample_critic(dim, image_shape, bias, norm):
    channels, size, _ = image_shape

    def block(cin, cout, spatial, dropout):
        return [nn.Conv2d(cin, cout, 5, stride=2, padding=2, bias=bias),
                _norm(norm, cout, spatial), nn.LeakyReLU(0.2),
                nn.Dropout(0.3) if dropout else None]
    return _layers(
        nn.ZeroPad2d(2) if size == 28 else None,                                          # 32
        *block(channels, dim, 16, False), *block(dim, 2 * dim, 8, True),
        *block(2 * dim, 4 * dim, 4, True), *block(4 * dim, 8 * dim, 2, False),
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * 2 * 8 * dim, 1, bias=bias))


def dcgan64_generator(dim, z_dim, image_shape, bias, norm):
    """z -> 4x4x(8*dim) (a linear projection, batch norm, ReLU), then 4x4 stride-2 transposed
    convolutions to 8x8x(4*dim), 16x16x(2*dim), 32x32xdim (each with batch norm and ReLU)
    and 64x64xC, tanh."""
    channels = image_shape[0]
    widths = [8 * dim, 4 * dim, 2 * dim, dim]
    layers = [nn.Linear(z_dim, 4 * 4 * 8 * dim, bias=bias), nn.Unflatten(1, (8 * dim, 4, 4)),
              _generator_norm(norm, 8 * dim, 4), nn.ReLU()]
    for k, (cin, cout) in enumerate(zip(widths, widths[1:])):
        layers += [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=bias),
                   _generator_norm(norm, cout, 8 << k), nn.ReLU()]
    layers += [nn.ConvTranspose2d(dim, channels, 4, stride=2, padding=1, bias=bias), nn.Tanh()]
    return dcgan_init(_layers(*layers))


def dcgan64_critic(dim, image_shape, bias, norm):
    """The generator's mirror: 4x4 stride-2 convolutions to 32x32xdim, 16x16x(2*dim),
    8x8x(4*dim) and 4x4x(8*dim), each with LeakyReLU(0.2) and all but the first normalised,
    then a linear score."""
    channels = image_shape[0]
    widths = [dim, 2 * dim, 4 * dim, 8 * dim]
    layers = [nn.Conv2d(channels, dim, 4, stride=2, padding=1, bias=bias), nn.LeakyReLU(0.2)]
    for k, (cin, cout) in enumerate(zip(widths, widths[1:])):
        layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=bias),
                   _norm(norm, cout, 16 >> k), nn.LeakyReLU(0.2)]
    layers += [nn.Flatten(), nn.Linear(4 * 4 * 8 * dim, 1, bias=bias)]
    return dcgan_init(_layers(*layers))


def mlp_generator(dim, z_dim, image_shape, bias, norm, depth=3):
    hidden = 8 * dim
    layers = [nn.Linear(z_dim, hidden, bias=bias), _generator_norm(norm, hidden), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Linear(hidden, hidden, bias=bias), _generator_norm(norm, hidden),
                   nn.ReLU()]
    return _layers(*layers, nn.Linear(hidden, math.prod(image_shape), bias=bias), nn.Sigmoid(),
                   nn.Unflatten(1, tuple(image_shape)))


def mlp_critic(dim, image_shape, bias, norm, depth=3):
    hidden = 8 * dim
    layers = [nn.Flatten(), nn.Linear(math.prod(image_shape), hidden, bias=bias),
              nn.LeakyReLU(0.2)]
    for _ in range(depth - 1):
        layers += [nn.Linear(hidden, hidden, bias=bias),
                   nn.LayerNorm(hidden) if norm == "layer" else
                   nn.BatchNorm1d(hidden) if norm == "batch" else None,
                   nn.LeakyReLU(0.2)]
    return _layers(*layers, nn.Linear(hidden, 1, bias=bias))


_PAIRS = {
    "gp": (gp_generator, gp_critic, (0.0, 1.0)),
    "dcgan": (dcgan_generator, dcgan_critic, (-1.0, 1.0)),
    "upsample": (upsample_generator, upsample_critic, (-1.0, 1.0)),
    "dcgan64": (dcgan64_generator, dcgan64_critic, (-1.0, 1.0)),
    "mlp": (mlp_generator, mlp_critic, (0.0, 1.0)),
}


def pixel_range(arch):
    """The range of the generator's output, which the data must be scaled to."""
    return _PAIRS[_check_arch(arch)][2]


def _check_arch(arch):
    if arch not in _PAIRS:
        raise ValueError(f"--arch {arch!r} is unknown: choose one of {', '.join(ARCHITECTURES)}")
    return arch


def norms_for(arch, critic_norm, generator_norm, gradient_penalty):
    """(critic norm, generator norm) of a pair: the ones asked for, or the architecture's own
    for None (layer norm for the dcgan and dcgan64 critics with the penalty). Batch norm in a
    penalty critic is refused, and so is a dcgan, upsample or dcgan64 generator without its
    batch norm."""
    _check_arch(arch)
    for flag, value, choices in (("--critic-norm", critic_norm, CRITIC_NORMS),
                                 ("--generator-norm", generator_norm, GENERATOR_NORMS)):
        if value is not None and value not in choices:
            raise ValueError(f"{flag} {value!r} is unknown: choose one of {', '.join(choices)}")
    if critic_norm is None:
        critic_norm = CRITIC_NORM[arch]
        if gradient_penalty and critic_norm == "batch":
            critic_norm = "layer"
    if gradient_penalty and critic_norm == "batch":
        raise ValueError("--critic-norm batch: a gradient-penalty critic cannot use batch "
                         "norm: the penalty is computed per sample, and batch norm makes each "
                         "sample's score depend on the others in its batch. Use --critic-norm "
                         "layer (the WGAN-GP paper's choice) or none")
    own = GENERATOR_NORM[arch]
    if generator_norm not in (None, own) and own == "batch":
        raise ValueError(f"--generator-norm {generator_norm!r}: the {arch} generator always "
                         "uses batch norm")
    return critic_norm, generator_norm or own


def biases_before_batch_norm(net):
    """The names of the biases of ``net``'s layers whose output goes straight into a batch
    norm ("3.bias"). The norm subtracts each channel's mean over the batch, and with it any
    per-channel constant, so such a bias has an exact gradient of zero: what it receives is
    rounding noise (about 1e-7 of its layer's weight gradient in float32, 1e-16 in float64),
    which Adam and RMSprop, dividing by its running size, turn into steps of a whole learning
    rate, different under every BLAS."""
    layers = list(net)
    return [f"{i}.bias" for i, (layer, following) in enumerate(zip(layers, layers[1:]))
            if isinstance(following, (nn.BatchNorm1d, nn.BatchNorm2d))
            and getattr(layer, "bias", None) is not None]


def build(arch, dim=64, z_dim=128, critic_norm=None, gradient_penalty=False,
          generator_norm=None, image_shape=None, bias=True, bias_before_batch_norm=False,
          generator_dim=None):
    """(generator, critic) for ``arch`` drawing ``image_shape`` (C, S, S) images (default
    ``native_shape(arch)``), without biases if ``bias`` is False, and without the biases that
    a batch norm cancels (``biases_before_batch_norm``) unless ``bias_before_batch_norm``
    (run folders made before that setting have them); the norms as ``norms_for`` resolves
    them; the critic ``dim`` wide and the generator ``generator_dim`` (default ``dim``). The
    biases are removed after the layers are made, so the weights drawn for a seed are the
    same either way."""
    make_generator, make_critic, _ = _PAIRS[_check_arch(arch)]
    image_shape = check_image_shape(arch, image_shape or native_shape(arch))
    critic_norm, generator_norm = norms_for(arch, critic_norm, generator_norm, gradient_penalty)
    critic = make_critic(dim, image_shape, bias, critic_norm)
    generator = make_generator(generator_dim or dim, z_dim, image_shape, bias, generator_norm)
    if not bias_before_batch_norm:
        for net in (generator, critic):
            for name in biases_before_batch_norm(net):
                net[int(name.split(".")[0])].bias = None
    return generator, critic


def build_for(config):
    """The (generator, critic) of a run's (resolved) config."""
    return build(config.arch, config.dim, config.z_dim, config.critic_norm,
                 modes.MODES[config.mode].gradient_penalty, config.generator_norm,
                 (config.channels, config.image_size, config.image_size), config.bias,
                 config.bias_before_batch_norm, config.generator_dim)
