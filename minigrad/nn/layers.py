"""Layers: Modules that hold parameters and call the functional ops, with PyTorch's names,
arguments, weight layouts and default initialisation."""
import math

import numpy as np

from ..tensor import ones, zeros
from . import functional as F
from . import init
from .module import Module, Parameter


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _default_init(weight, bias):
    """PyTorch's default for Linear and the convolutions: kaiming_uniform_ with a = sqrt(5),
    which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same interval."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(zeros(out_features, in_features))
        self.bias = Parameter(zeros(out_features)) if bias else None
        _default_init(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class _Conv(Module):
    """What Conv2d and ConvTranspose2d share: sizes, parameters, init and repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                 bias, weight_shape):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.output_padding = _pair(padding), _pair(output_padding)
        self.weight = Parameter(zeros(*weight_shape, *self.kernel_size))
        self.bias = Parameter(zeros(out_channels)) if bias else None
        _default_init(self.weight, self.bias)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if any(self.padding):
            s += f", padding={self.padding}"
        if any(self.output_padding):
            s += f", output_padding={self.output_padding}"
        return s + ("" if self.bias is not None else ", bias=False")


class Conv2d(_Conv):
    """2-D cross-correlation of NCHW inputs; weight (out_channels, in_channels, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, 0, bias,
                         weight_shape=(out_channels, in_channels))

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class ConvTranspose2d(_Conv):
    """The transpose (adjoint) of Conv2d; weight (in_channels, out_channels, kh, kw).

    Output size (H - 1) * stride - 2 * padding + kh + output_padding. Its default init uses
    PyTorch's fan_in of that weight layout: out_channels * kh * kw.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding,
                         bias, weight_shape=(in_channels, out_channels))

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding)


class _BatchNorm(Module):
    """Normalise each channel with batch statistics in training, running ones in evaluation.

    y = (x - mean) / sqrt(var + eps) * weight + bias. In training, with track_running_stats,
    running = (1 - momentum) * running + momentum * batch statistic (the variance unbiased);
    momentum=None makes that a plain average over all batches seen (momentum = 1 / batches).
    Without track_running_stats there are no running statistics and batch statistics are used
    in evaluation too.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features)) if affine else None
        self.bias = Parameter(zeros(num_features)) if affine else None
        tracked = track_running_stats
        self.register_buffer("running_mean", zeros(num_features) if tracked else None)
        self.register_buffer("running_var", ones(num_features) if tracked else None)
        self.register_buffer("num_batches_tracked", zeros((), dtype=np.int64) if tracked else None)

    def _check_input_dim(self, x):
        raise NotImplementedError

    def forward(self, x):
        self._check_input_dim(x)
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:
                momentum = 1.0 / self.num_batches_tracked.item()
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training or not self.track_running_stats,
                            momentum=momentum, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) or (N, C, L) inputs."""

    def _check_input_dim(self, x):
        if x.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d expects an input of shape (N, C) or (N, C, L), "
                             f"got {x.shape}")


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) inputs."""

    def _check_input_dim(self, x):
        if x.ndim != 4:
            raise ValueError(f"BatchNorm2d expects an input of shape (N, C, H, W), got {x.shape}")


class LayerNorm(Module):
    """Normalise each sample over its trailing ``normalized_shape`` axes, then scale and shift
    elementwise (weight ones, bias zeros at first)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        self.normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                                 else tuple(normalized_shape))
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(ones(self.normalized_shape)) if elementwise_affine else None
        self.bias = Parameter(zeros(self.normalized_shape)) if elementwise_affine and bias else None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1 / (1 - p)."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Flatten(Module):
    """Merge axes start_dim..end_dim (by default all but the batch axis) into one."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``: Unflatten(1, (C, H, W)) maps (N, C*H*W)
    to (N, C, H, W)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        dim = self.dim % x.ndim
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Reshape(Module):
    """Reshape each sample, keeping the batch axis: Reshape(C, H, W) maps (N, ...) to
    (N, C, H, W); -1 stands for what is left."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape((x.shape[0],) + self.shape)

    def extra_repr(self):
        return ", ".join(map(str, self.shape))


class ZeroPad2d(Module):
    """Add zeros around the last two axes: padding is an int or (left, right, top, bottom)."""

    def __init__(self, padding):
        super().__init__()
        sides = (padding,) * 4 if isinstance(padding, int) else tuple(padding)
        if len(sides) != 4 or any(not isinstance(n, int) or n < 0 for n in sides):
            raise ValueError(f"ZeroPad2d takes a non-negative int or a tuple (left, right, top, "
                             f"bottom) of them, got {padding!r}")
        self.padding = sides

    def forward(self, x):
        left, right, top, bottom = self.padding
        return F.pad(x, ((0, 0),) * (x.ndim - 2) + ((top, bottom), (left, right)))

    def extra_repr(self):
        return str(self.padding)


class Crop2d(Module):
    """Remove ``top`` and ``bottom`` rows and ``left`` and ``right`` columns at the borders of
    the last two axes. The WGAN-GP MNIST generator crops its 8x8 maps to 7x7, keeping the
    top-left corner (the authors' ``x[:, :, :7, :7]``), with Crop2d(bottom=1, right=1)."""

    def __init__(self, top=0, bottom=0, left=0, right=0):
        super().__init__()
        if any(not isinstance(n, int) or n < 0 for n in (top, bottom, left, right)):
            raise ValueError(f"Crop2d takes non-negative ints, got top={top!r}, "
                             f"bottom={bottom!r}, left={left!r}, right={right!r}")
        self.top, self.bottom, self.left, self.right = top, bottom, left, right

    def forward(self, x):
        h, w = x.shape[-2:]
        if self.top + self.bottom >= h or self.left + self.right >= w:
            raise ValueError(f"Crop2d({self.extra_repr()}) would leave nothing of an input of "
                             f"shape {x.shape}")
        return x[..., self.top:h - self.bottom, self.left:w - self.right]

    def extra_repr(self):
        return f"top={self.top}, bottom={self.bottom}, left={self.left}, right={self.right}"


class Upsample(Module):
    """Repeat each pixel of an NCHW input ``scale_factor`` (a positive integer) times along
    height and width. Only mode="nearest" is implemented."""

    def __init__(self, scale_factor, mode="nearest"):
        super().__init__()
        if mode != "nearest":
            raise NotImplementedError(f"Upsample mode {mode!r}: only 'nearest' is implemented")
        if int(scale_factor) != scale_factor or scale_factor < 1:
            raise ValueError(f"Upsample needs a positive integer scale_factor, got {scale_factor}")
        self.scale_factor, self.mode = int(scale_factor), mode

    def forward(self, x):
        return F.upsample_nearest(x, self.scale_factor)

    def extra_repr(self):
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}"
