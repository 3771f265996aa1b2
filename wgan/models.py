"""Generator and critic pairs for 28x28 digits, chosen with ``--arch``.

- ``gp``: the WGAN-GP authors' MNIST model (Gulrajani et al., gan_mnist.py): transposed
  convolutions up from 4x4, a crop from 8x8 to 7x7, sigmoid output in [0, 1]; critic of
  three 5x5 stride-2 convolutions with LeakyReLU(0.2) and a linear score; initialised as
  the authors' code does (``authors_init``).
- ``dcgan``: the DCGAN-style pair of the Keras WGAN tutorial: Dense -> 7x7x(2*dim), two 4x4
  stride-2 transposed convolutions with batch norm and LeakyReLU, a 7x7 convolution with tanh;
  critic of two 4x4 stride-2 convolutions with batch norm and LeakyReLU, then Dense.
- ``upsample``: the Keras WGAN-GP example: nearest upsampling + 3x3 convolution blocks to
  32x32, cropped to 28, tanh; critic zero-pads to 32 and applies four 5x5 stride-2
  convolutions with LeakyReLU and dropout.
- ``mlp``: fully connected networks, as in the papers' architecture-robustness experiments.

Every critic takes ``norm``: "none", "layer" (the WGAN-GP paper's substitute for batch norm)
or "batch". A gradient-penalty critic must not use batch norm: the penalty is a per-sample
quantity, and batch norm makes each sample's score depend on the rest of the batch.
"""
import math

import minigrad.nn as nn

ARCHITECTURES = ("gp", "dcgan", "upsample", "mlp")
CRITIC_NORMS = ("none", "layer", "batch")
GENERATOR_NORMS = ("none", "batch")
GENERATOR_NORM = {"gp": "none", "dcgan": "batch", "upsample": "batch", "mlp": "none"}  # own
IMAGE_SHAPE = (1, 28, 28)


def _norm(kind, channels, spatial):
    """The normalisation layer of a critic block, or None."""
    if kind == "layer":
        return nn.LayerNorm([channels, spatial, spatial])
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return None


def _layers(*layers):
    return nn.Sequential(*[layer for layer in layers if layer is not None])


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


def _generator_norm(kind, features, spatial=None):
    """The batch norm of a generator block (``kind`` "batch"), or None (``kind`` "none")."""
    if kind != "batch":
        return None
    return nn.BatchNorm1d(features) if spatial is None else nn.BatchNorm2d(features)


def gp_generator(dim=64, z_dim=128, norm="none"):
    """The authors' generator; ``norm`` "batch" adds batch norm before each ReLU (allowed with
    the penalty: only the critic must score each sample on its own)."""
    return authors_init(_layers(
        nn.Linear(z_dim, 4 * 4 * 4 * dim), _generator_norm(norm, 4 * 4 * 4 * dim), nn.ReLU(),
        nn.Unflatten(1, (4 * dim, 4, 4)),
        nn.ConvTranspose2d(4 * dim, 2 * dim, 5, stride=2, padding=2, output_padding=1),  # 8x8
        _generator_norm(norm, 2 * dim, 8), nn.ReLU(), nn.Crop2d(0, 1, 0, 1),              # 7x7
        nn.ConvTranspose2d(2 * dim, dim, 5, stride=2, padding=2, output_padding=1),      # 14x14
        _generator_norm(norm, dim, 14), nn.ReLU(),
        nn.ConvTranspose2d(dim, 1, 5, stride=2, padding=2, output_padding=1),            # 28x28
        nn.Sigmoid()))


def gp_critic(dim=64, norm="none"):
    return authors_init(_layers(
        nn.Conv2d(1, dim, 5, stride=2, padding=2), nn.LeakyReLU(0.2),                    # 14x14
        nn.Conv2d(dim, 2 * dim, 5, stride=2, padding=2), _norm(norm, 2 * dim, 7),
        nn.LeakyReLU(0.2),                                                                 # 7x7
        nn.Conv2d(2 * dim, 4 * dim, 5, stride=2, padding=2), _norm(norm, 4 * dim, 4),
        nn.LeakyReLU(0.2),                                                                 # 4x4
        nn.Flatten(), nn.Linear(4 * 4 * 4 * dim, 1)))


def dcgan_generator(dim=64, z_dim=128):
    return _layers(
        nn.Linear(z_dim, 7 * 7 * 2 * dim), nn.Unflatten(1, (2 * dim, 7, 7)),
        nn.ConvTranspose2d(2 * dim, 2 * dim, 4, stride=2, padding=1),                    # 14x14
        nn.BatchNorm2d(2 * dim), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(2 * dim, dim, 4, stride=2, padding=1),                        # 28x28
        nn.BatchNorm2d(dim), nn.LeakyReLU(0.2),
        nn.Conv2d(dim, 1, 7, padding=3), nn.Tanh())


def dcgan_critic(dim=64, norm="batch"):
    return _layers(
        nn.Conv2d(1, dim, 4, stride=2, padding=1), _norm(norm, dim, 14), nn.LeakyReLU(0.2),
        nn.Conv2d(dim, 2 * dim, 4, stride=2, padding=1), _norm(norm, 2 * dim, 7),
        nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(7 * 7 * 2 * dim, 1))


def _upsample_block(cin, cout, last=False):
    return [nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, padding=1, bias=last),
            None if last else nn.BatchNorm2d(cout), nn.Tanh() if last else nn.LeakyReLU(0.2)]


def upsample_generator(dim=64, z_dim=128):
    return _layers(
        nn.Linear(z_dim, 4 * 4 * 4 * dim, bias=False), nn.BatchNorm1d(4 * 4 * 4 * dim),
        nn.LeakyReLU(0.2), nn.Unflatten(1, (4 * dim, 4, 4)),
        *_upsample_block(4 * dim, 2 * dim),                                              # 8x8
        *_upsample_block(2 * dim, dim),                                                  # 16x16
        *_upsample_block(dim, 1, last=True),                                             # 32x32
        nn.Crop2d(2, 2, 2, 2))                                                           # 28x28


def upsample_critic(dim=64, norm="none"):
    def block(cin, cout, spatial, dropout):
        return [nn.Conv2d(cin, cout, 5, stride=2, padding=2), _norm(norm, cout, spatial),
                nn.LeakyReLU(0.2), nn.Dropout(0.3) if dropout else None]
    return _layers(
        nn.ZeroPad2d(2),                                                                  # 32x32
        *block(1, dim, 16, False), *block(dim, 2 * dim, 8, True),
        *block(2 * dim, 4 * dim, 4, True), *block(4 * dim, 8 * dim, 2, False),
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * 2 * 8 * dim, 1))


def mlp_generator(dim=64, z_dim=128, depth=3, norm="none"):
    hidden = 8 * dim
    layers = [nn.Linear(z_dim, hidden), _generator_norm(norm, hidden), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Linear(hidden, hidden), _generator_norm(norm, hidden), nn.ReLU()]
    return _layers(*layers, nn.Linear(hidden, math.prod(IMAGE_SHAPE)), nn.Sigmoid(),
                   nn.Unflatten(1, IMAGE_SHAPE))


def mlp_critic(dim=64, norm="none", depth=3):
    hidden = 8 * dim
    layers = [nn.Flatten(), nn.Linear(math.prod(IMAGE_SHAPE), hidden), nn.LeakyReLU(0.2)]
    for _ in range(depth - 1):
        layers += [nn.Linear(hidden, hidden),
                   nn.LayerNorm(hidden) if norm == "layer" else
                   nn.BatchNorm1d(hidden) if norm == "batch" else None,
                   nn.LeakyReLU(0.2)]
    return _layers(*layers, nn.Linear(hidden, 1))


_PAIRS = {
    "gp": (gp_generator, gp_critic, (0.0, 1.0)),
    "dcgan": (dcgan_generator, dcgan_critic, (-1.0, 1.0)),
    "upsample": (upsample_generator, upsample_critic, (-1.0, 1.0)),
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
    for None (layer norm for the dcgan critic with the penalty). Batch norm in a penalty
    critic is refused, and so is a dcgan or upsample generator without its batch norm."""
    _check_arch(arch)
    for flag, value, choices in (("--critic-norm", critic_norm, CRITIC_NORMS),
                                 ("--generator-norm", generator_norm, GENERATOR_NORMS)):
        if value is not None and value not in choices:
            raise ValueError(f"{flag} {value!r} is unknown: choose one of {', '.join(choices)}")
    if gradient_penalty and critic_norm is None and arch == "dcgan":
        critic_norm = "layer"
    if gradient_penalty and critic_norm == "batch":
        raise ValueError("--critic-norm batch: a gradient-penalty critic cannot use batch "
                         "norm: the penalty is computed per sample, and batch norm makes each "
                         "sample's score depend on the others in its batch. Use --critic-norm "
                         "layer (the WGAN-GP paper's choice) or none")
    own = GENERATOR_NORM[arch]
    if generator_norm not in (None, own) and arch in ("dcgan", "upsample"):
        raise ValueError(f"--generator-norm {generator_norm!r}: the {arch} generator always "
                         "uses batch norm")
    return critic_norm, generator_norm or own


def build(arch, dim=64, z_dim=128, critic_norm=None, gradient_penalty=False,
          generator_norm=None):
    """(generator, critic) for ``arch``; the norms as ``norms_for`` resolves them."""
    make_generator, make_critic, _ = _PAIRS[_check_arch(arch)]
    critic_norm, generator_norm = norms_for(arch, critic_norm, generator_norm, gradient_penalty)
    critic = make_critic(dim) if critic_norm is None else make_critic(dim, norm=critic_norm)
    if arch in ("dcgan", "upsample"):
        return make_generator(dim, z_dim), critic
    return make_generator(dim, z_dim, norm=generator_norm), critic
