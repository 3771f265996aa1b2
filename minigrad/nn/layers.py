"""Layers: Modules that hold parameters and call the functional ops, with PyTorch's names,
arguments, weight layouts and default initialisation."""
import functools
import math

import numpy as np

from ..ops.conv import _same_padding
from ..ops.resample import MODES as RESAMPLE_MODES
from ..tensor import Tensor, ones, zeros
from . import functional as F
from . import init
from .module import Module, Parameter


def _sizes(value, n):
    """A convolution's size setting (kernel, stride, padding ...): an int for every one of the
    ``n`` spatial axes, or a sequence of them, as a tuple."""
    return (value,) * n if isinstance(value, int) else tuple(value)


_single, _pair, _triple = (functools.partial(_sizes, n=n) for n in (1, 2, 3))


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


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _Conv(Module):
    """What Conv2d and ConvTranspose2d share: sizes, parameters, init and repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, transposed, output_padding=0):
        super().__init__()
        name = type(self).__name__
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
        for what, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % groups:
                raise ValueError(f"{name}: {what} ({channels}) must be divisible by groups "
                                 f"({groups})")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.dilation, self.output_padding = _pair(dilation), _pair(output_padding)
        self.groups, self.padding_mode = groups, padding_mode
        weight_shape = ((in_channels, out_channels // groups) if transposed
                        else (out_channels, in_channels // groups))
        self.weight = Parameter(zeros(*weight_shape, *self.kernel_size))
        self.bias = Parameter(zeros(out_channels)) if bias else None
        _default_init(self.weight, self.bias)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if isinstance(self.padding, str) or any(self.padding):
            s += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
            s += f", dilation={self.dilation}"
        if any(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


class Conv2d(_Conv):
    """2-D cross-correlation of NCHW inputs; weight (out_channels, in_channels / groups, kh, kw).

    ``padding``: an int, a pair, "valid" or "same" (stride 1 only). ``padding_mode`` other
    than "zeros" pads the input with F.pad in that mode ("reflect", "replicate", "circular")
    and then convolves without padding, as PyTorch does. The default init's fan_in is
    in_channels / groups * kh * kw.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, transposed=False)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'valid' or 'same', "
                                 f"got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided "
                                 "convolutions, as in PyTorch")
            sides = (_same_padding(self.kernel_size, self.dilation) if padding == "same"
                     else ((0, 0), (0, 0)))
        else:
            sides = tuple((p, p) for p in self.padding)
        (top, bottom), (left, right) = sides
        self._pad_widths = (left, right, top, bottom)  # F.pad's order, for padding_mode

    def forward(self, x):
        if self.padding_mode == "zeros":
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                            self.groups)
        return F.conv2d(F.pad(x, self._pad_widths, mode=self.padding_mode), self.weight,
                        self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose2d(_Conv):
    """The transpose (adjoint) of Conv2d; weight (in_channels, out_channels / groups, kh, kw).

    Output size (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1.
    Its default init uses PyTorch's fan_in of that weight layout: out_channels / groups * kh
    * kw. Only padding_mode "zeros" exists, as in PyTorch.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros"):
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d supports only padding_mode 'zeros', got "
                             f"{padding_mode!r}")
        if isinstance(padding, str):
            raise TypeError(f"ConvTranspose2d: padding must be an int or a pair of ints, got "
                            f"{padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, transposed=True,
                         output_padding=output_padding)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class MaxPool2d(Module):
    """The maximum over each kernel_size window (stride defaults to kernel_size); see
    F.max_pool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean over each kernel_size window (stride defaults to kernel_size); see
    F.avg_pool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _NormBase(Module):
    """What batch and instance norm share: per-channel affine parameters (weight 1, bias 0) and
    running statistics (mean 0, variance 1, and a count of batches), each optional."""

    def __init__(self, num_features, eps, momentum, affine, track_running_stats):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features)) if affine else None
        self.bias = Parameter(zeros(num_features)) if affine else None
        tracked = track_running_stats
        self.register_buffer("running_mean", zeros(num_features) if tracked else None)
        self.register_buffer("running_var", ones(num_features) if tracked else None)
        self.register_buffer("num_batches_tracked", zeros((), dtype=np.int64) if tracked else None)


class _BatchNorm(_NormBase):
    """Normalise each channel with batch statistics in training, running ones in evaluation.

    y = (x - mean) / sqrt(var + eps) * weight + bias. In training, with track_running_stats,
    running = (1 - momentum) * running + momentum * batch statistic (the variance unbiased);
    momentum=None makes that a plain average over all batches seen (momentum = 1 / batches).
    Without track_running_stats there are no running statistics and batch statistics are used
    in evaluation too.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        # set by minigrad.distributed.sync_batch_norm: in training, its batch_norm (with
        # F.batch_norm's signature) takes the statistics over every process's share of the batch
        self.process_group = None

    def _check_input_dim(self, x):
        raise NotImplementedError

    def forward(self, x):
        self._check_input_dim(x)
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if momentum is None:
                momentum = 1.0 / self.num_batches_tracked.item()
        synced = self.training and self.process_group is not None
        batch_norm = self.process_group.batch_norm if synced else F.batch_norm
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
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


class GroupNorm(Module):
    """Normalise each group of num_channels / num_groups channels of each sample over those
    channels and the spatial axes, then scale and shift per channel (ones and zeros at first)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True):
        super().__init__()
        if not isinstance(num_groups, int) or num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups!r}), a positive int")
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                      eps, affine)
        self.weight = Parameter(ones(num_channels)) if affine else None
        self.bias = Parameter(zeros(num_channels)) if affine else None

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class InstanceNorm2d(_NormBase):
    """Normalise each channel of each sample of an (N, C, H, W) or (C, H, W) input over H and W.

    As PyTorch's: no affine parameters and no running statistics by default. With
    track_running_stats, training updates running averages of the per-sample statistics
    (momentum as batch norm's; num_batches_tracked stays 0, as PyTorch leaves it) and
    evaluation uses them.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"InstanceNorm2d expects an input of shape (N, C, H, W) or "
                             f"(C, H, W), got {x.shape}")
        batched = x if x.ndim == 4 else x.reshape((1,) + x.shape)
        if self.affine and batched.shape[1] != self.num_features:
            raise ValueError(f"InstanceNorm2d({self.num_features}) got an input with "
                             f"{batched.shape[1]} channels (shape {x.shape})")
        y = F.instance_norm(batched, self.running_mean, self.running_var, self.weight,
                            self.bias, self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return y if x.ndim == 4 else y.reshape(x.shape)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1 / (1 - p).
    ``inplace`` is accepted and computed out of place (see F.relu)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}" + (", inplace=True" if self.inplace else "")


class _Activation(Module):
    """Applies the function ``F.<function>`` with the module's ``settings``: attributes named as
    PyTorch names them, passed in that order after the input. ``inplace``, where PyTorch has
    it, is accepted and computed out of place (see F.relu); the repr shows it only when set."""
    function, settings = None, ()

    def __init__(self, *values):
        super().__init__()
        for name, value in zip(self.settings, values):
            setattr(self, name, value)

    def forward(self, x):
        return getattr(F, self.function)(x, *(getattr(self, name) for name in self.settings))

    def extra_repr(self):
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self.settings
                         if name != "inplace" or self.inplace)


class ReLU(_Activation):
    function, settings = "relu", ("inplace",)

    def __init__(self, inplace=False):
        super().__init__(inplace)


class ReLU6(_Activation):
    """min(max(x, 0), 6)."""
    function, settings = "relu6", ("inplace",)

    def __init__(self, inplace=False):
        super().__init__(inplace)


class LeakyReLU(_Activation):
    """x if x > 0 else negative_slope * x."""
    function, settings = "leaky_relu", ("negative_slope", "inplace")

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(negative_slope, inplace)


class Tanh(_Activation):
    function = "tanh"


class Sigmoid(_Activation):
    function = "sigmoid"


class GELU(_Activation):
    """x * Phi(x); approximate="tanh" uses PyTorch's tanh formula."""
    function, settings = "gelu", ("approximate",)

    def __init__(self, approximate="none"):
        super().__init__(approximate)


class SiLU(_Activation):
    """x * sigmoid(x)."""
    function, settings = "silu", ("inplace",)

    def __init__(self, inplace=False):
        super().__init__(inplace)


class ELU(_Activation):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    function, settings = "elu", ("alpha", "inplace")

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(alpha, inplace)


class Softplus(_Activation):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""
    function, settings = "softplus", ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__(beta, threshold)


class Hardtanh(_Activation):
    """x limited to [min_val, max_val]."""
    function, settings = "hardtanh", ("min_val", "max_val", "inplace")

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        if max_val < min_val:
            raise ValueError(f"Hardtanh: max_val {max_val} is smaller than min_val {min_val}")
        super().__init__(min_val, max_val, inplace)


class Softmax(_Activation):
    """exp(x) / sum(exp(x)) along ``dim``."""
    function, settings = "softmax", ("dim",)

    def __init__(self, dim=None):
        super().__init__(dim)


class LogSoftmax(_Activation):
    """x - logsumexp(x) along ``dim``."""
    function, settings = "log_softmax", ("dim",)

    def __init__(self, dim=None):
        super().__init__(dim)


class Identity(Module):
    """Its input, unchanged (a placeholder: any constructor arguments are ignored)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


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
        return F.pad(x, self.padding)

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
    """Resize (N, C, L), NCHW or (N, C, D, H, W) inputs to ``size`` or by ``scale_factor``
    (see F.interpolate): mode "nearest" (the default), or "linear", "bilinear" or "trilinear"
    for the input's number of spatial axes (with ``align_corners``)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        if mode not in RESAMPLE_MODES:
            raise ValueError(f"Upsample: mode must be one of {RESAMPLE_MODES}, got {mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class AdaptiveAvgPool2d(Module):
    """The mean over windows that tile H and W into ``output_size`` (see
    F.adaptive_avg_pool2d); AdaptiveAvgPool2d(1) is the global average."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Embedding(Module):
    """A lookup table: row i of ``weight`` (num_embeddings, embedding_dim), initialised from
    N(0, 1) as PyTorch's, is the vector of index i. The row at ``padding_idx`` starts at zero
    and gets no gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"Embedding: padding_idx {padding_idx} is outside "
                             f"[-{num_embeddings}, {num_embeddings})")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        self.weight = Parameter(zeros(num_embeddings, embedding_dim))
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    def forward(self, indices):
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"


# ---- containers ----

class ModuleList(Module):
    """A list of modules registered as submodules "0", "1", ... (so that their parameters are
    the container's); it has no forward of its own."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} holds Modules, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        modules = list(self._modules.values())
        return type(self)(modules[index]) if isinstance(index, slice) else modules[index]

    def __setitem__(self, index, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} holds Modules, got {type(module).__name__}")
        self._modules[str(range(len(self))[index])] = module  # in place: keeps the order

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of modules registered as submodules under their keys (strings)."""

    def __init__(self, modules=None):
        super().__init__()
        self.update(modules or {})

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module

    def __setitem__(self, key, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict holds Modules, got {type(module).__name__} for {key!r}")
        setattr(self, key, module)

    def __getitem__(self, key):
        return self._modules[key]

    def __delitem__(self, key):
        del self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


class ParameterList(Module):
    """A list of parameters registered as "0", "1", ...; a tensor that is not yet a Parameter
    is made one (sharing its array), as PyTorch does."""

    def __init__(self, values=()):
        super().__init__()
        for value in values:
            self.append(value)

    def append(self, value):
        setattr(self, str(len(self)), value if isinstance(value, Parameter) else Parameter(value))
        return self

    def __getitem__(self, index):
        return list(self._parameters.values())[index]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())


# ---- losses: modules that call the F function of the same name ----

class _Loss(Module):
    """Calls ``F.<function>(input, target, ...)`` with the module's ``settings`` as keyword
    arguments; tensors among them (class weights) are buffers, so ``.to(device)`` moves them."""
    function, settings = None, ()

    def __init__(self, **settings):
        super().__init__()
        for name, value in settings.items():
            if isinstance(value, Tensor):
                self.register_buffer(name, value)
            else:
                setattr(self, name, value)

    def forward(self, input, target):
        return getattr(F, self.function)(
            input, target, **{name: getattr(self, name) for name in self.settings})

    def extra_repr(self):
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    """(x - t)^2, reduced."""
    function, settings = "mse_loss", ("reduction",)

    def __init__(self, reduction="mean"):
        super().__init__(reduction=reduction)


class L1Loss(_Loss):
    """|x - t|, reduced."""
    function, settings = "l1_loss", ("reduction",)

    def __init__(self, reduction="mean"):
        super().__init__(reduction=reduction)


class SmoothL1Loss(_Loss):
    """Quadratic for |x - t| < beta, linear beyond (see F.smooth_l1_loss)."""
    function, settings = "smooth_l1_loss", ("reduction", "beta")

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction=reduction, beta=beta)


class HuberLoss(_Loss):
    """Quadratic for |x - t| < delta, linear beyond (see F.huber_loss)."""
    function, settings = "huber_loss", ("reduction", "delta")

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction, delta=delta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (see F.binary_cross_entropy)."""
    function, settings = "binary_cross_entropy", ("weight", "reduction")

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(weight=weight, reduction=reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits, computed stably (see
    F.binary_cross_entropy_with_logits)."""
    function, settings = "binary_cross_entropy_with_logits", ("weight", "reduction",
                                                               "pos_weight")

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(weight=weight, reduction=reduction, pos_weight=pos_weight)


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices, from log-probabilities (see F.nll_loss)."""
    function, settings = "nll_loss", ("weight", "ignore_index", "reduction")

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight=weight, ignore_index=ignore_index, reduction=reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits with class indices or probabilities (see F.cross_entropy)."""
    function, settings = "cross_entropy", ("weight", "ignore_index", "reduction",
                                           "label_smoothing")

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight=weight, ignore_index=ignore_index, reduction=reduction,
                         label_smoothing=label_smoothing)


class KLDivLoss(_Loss):
    """KL divergence of ``target`` from log-probabilities ``input`` (see F.kl_div)."""
    function, settings = "kl_div", ("reduction", "log_target")

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction=reduction, log_target=log_target)


# ---- more activations (see minigrad.ops.elementwise) ----

class CELU(_Activation):
    """x if x > 0 else alpha * (exp(x / alpha) - 1)."""
    function, settings = "celu", ("alpha", "inplace")

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(alpha, inplace)


class SELU(_Activation):
    """scale * elu(x, alpha), with the self-normalizing constants."""
    function, settings = "selu", ("inplace",)

    def __init__(self, inplace=False):
        super().__init__(inplace)


class Mish(_Activation):
    """x * tanh(softplus(x))."""
    function, settings = "mish", ("inplace",)

    def __init__(self, inplace=False):
        super().__init__(inplace)


class Hardswish(_Activation):
    """x * relu6(x + 3) / 6."""
    function, settings = "hardswish", ("inplace",)

    def __init__(self, inplace=False):
        super().__init__(inplace)


class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6."""
    function, settings = "hardsigmoid", ("inplace",)

    def __init__(self, inplace=False):
        super().__init__(inplace)


class Softsign(_Activation):
    """x / (1 + |x|)."""
    function = "softsign"


class LogSigmoid(_Activation):
    """log(sigmoid(x))."""
    function = "logsigmoid"


class Threshold(_Activation):
    """x if x > threshold else value."""
    function, settings = "threshold", ("threshold", "value", "inplace")

    def __init__(self, threshold, value, inplace=False):
        super().__init__(threshold, value, inplace)


class Softmin(_Activation):
    """softmax(-x) along ``dim``."""
    function, settings = "softmin", ("dim",)

    def __init__(self, dim=None):
        super().__init__(dim)


class PReLU(Module):
    """x if x > 0 else weight * x, with a learned weight: one for all channels
    (num_parameters=1) or one per channel (axis 1), each starting at ``init``."""

    def __init__(self, num_parameters=1, init=0.25):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(ones(num_parameters) * init)

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class _ConvNd(_Conv):
    """Conv1d and Conv3d: sizes as 1- or 3-tuples (``as_tuple``), ``convolve`` the F function.
    A ``padding_mode`` other than "zeros" pads the input with F.pad in that mode and then
    convolves without padding, as Conv2d."""

    def __init__(self, as_tuple, in_channels, out_channels, kernel_size, stride, padding,
                 dilation, groups, bias, padding_mode):
        super().__init__(in_channels, out_channels, as_tuple(kernel_size), as_tuple(stride),
                         padding if isinstance(padding, str) else as_tuple(padding),
                         as_tuple(dilation), groups, bias, padding_mode, transposed=False)
        if padding == "same":
            sides = _same_padding(self.kernel_size, self.dilation)
        else:
            sides = [(0, 0) if padding == "valid" else (p, p) for p in as_tuple(padding)]
        self._pad_widths = tuple(w for pair in reversed(sides) for w in pair)  # F.pad's order

    def forward(self, x):
        if self.padding_mode == "zeros":
            return self.convolve(x, self.weight, self.bias, self.stride, self.padding,
                                 self.dilation, self.groups)
        return self.convolve(F.pad(x, self._pad_widths, mode=self.padding_mode), self.weight,
                             self.bias, self.stride, 0, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D cross-correlation of (N, C, L) inputs; weight (out_channels, in_channels / groups,
    k). ``padding``: an int, "valid" or "same" (stride 1 only)."""
    convolve = staticmethod(F.conv1d)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        super().__init__(_single, in_channels, out_channels, kernel_size, stride, padding,
                         dilation, groups, bias, padding_mode)


class Conv3d(_ConvNd):
    """3-D cross-correlation of (N, C, D, H, W) inputs; weight (out_channels, in_channels /
    groups, kd, kh, kw). ``padding``: an int, a triple, "valid" or "same" (stride 1 only)."""
    convolve = staticmethod(F.conv3d)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        super().__init__(_triple, in_channels, out_channels, kernel_size, stride, padding,
                         dilation, groups, bias, padding_mode)


class ConvTranspose1d(_Conv):
    """The transpose (adjoint) of Conv1d; weight (in_channels, out_channels / groups, k).
    Output length (L - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros"):
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose1d supports only padding_mode 'zeros', got "
                             f"{padding_mode!r}")
        super().__init__(in_channels, out_channels, _single(kernel_size), _single(stride),
                         _single(padding), _single(dilation), groups, bias, padding_mode,
                         transposed=True, output_padding=_single(output_padding))

    def forward(self, x):
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)
