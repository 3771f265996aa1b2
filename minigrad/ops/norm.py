"""Batch, layer, group and instance normalisation, composed from differentiable ops.

All compute x_hat = (x - mean) / sqrt(var + eps) and return x_hat * weight + bias; they
differ in the values the statistics are taken over:

- batch norm: each channel, over the batch and every spatial axis;
- layer norm: each sample, over the trailing ``normalized_shape`` axes;
- group norm: each sample and group of C / G consecutive channels, over those channels and
  the spatial axes;
- instance norm: each sample and channel, over the spatial axes.

Because they are built from recorded ops, their first and second derivatives come from
those ops' rules.
"""
import numbers

from ..autograd import no_grad
from ..errors import ShapeError
from ..tensor import Tensor
from .linalg import check_same_dtype


def _normalise(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, correction=0)
    return (x - mean) / (var + eps).sqrt(), mean, var


def _affine(x_hat, weight, bias, shape):
    if weight is not None:
        x_hat = x_hat * weight.reshape(shape)
    if bias is not None:
        x_hat = x_hat + bias.reshape(shape)
    return x_hat


def _check_channels(op, x, tensors):
    """Each of ``tensors`` (name -> tensor or None) must hold one value per channel."""
    if x.ndim < 2:
        raise ShapeError(f"{op} needs an input of shape (N, C, ...), got {x.shape}")
    for name, t in tensors.items():
        if t is not None and t.shape != (x.shape[1],):
            raise ShapeError(f"{op}: {name} has shape {t.shape}, expected ({x.shape[1]},) "
                             f"for an input of shape {x.shape}")


def _check_dtypes(op, x, **tensors):
    """x floating and the other tensors (None skipped) of its dtype: PyTorch neither
    promotes here nor normalises integers."""
    if x.dtype.kind != "f":
        raise NotImplementedError(f"{op} is not implemented for {x.dtype} inputs, as in "
                                  "PyTorch; pass a floating-point tensor")
    check_same_dtype(op, input=x, **tensors)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel of an (N, C) or (N, C, ...) tensor.

    Training: batch statistics, and the running averages are updated in place,
    running = (1 - momentum) * running + momentum * batch (the variance unbiased, as PyTorch).
    Evaluation: the running statistics.
    """
    _check_dtypes("batch_norm", x, running_mean=running_mean, running_var=running_var,
                  weight=weight, bias=bias)
    _check_channels("batch_norm", x, {"running_mean": running_mean, "running_var": running_var,
                                      "weight": weight, "bias": bias})
    channels = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, channels) + (1,) * (x.ndim - 2)
    if training:
        count = x.numel() // channels
        if count < 2:
            raise ValueError(f"batch_norm in training needs more than one value per channel, "
                             f"got input shape {x.shape}")
        x_hat, mean, var = _normalise(x, axes, eps)
        _update_running(running_mean, running_var, mean, var, count, momentum)
        return _affine(x_hat, weight, bias, shape)
    return _affine(_running_normalise("batch_norm", x, running_mean, running_var, shape, eps),
                   weight, bias, shape)


def _update_running(running_mean, running_var, mean, var, count, momentum):
    """running = (1 - momentum) * running + momentum * statistic, in place, recording nothing;
    the variance made unbiased (count / (count - 1)); statistics with more than one value per
    channel (instance norm's (N, C)) are averaged over the batch first."""
    with no_grad():
        for running, stat in ((running_mean, mean), (running_var, var * (count / (count - 1)))):
            if running is not None:
                per_channel = stat.array.reshape(-1, running.shape[0]).mean(axis=0)
                running.array *= 1 - momentum
                running.array += momentum * per_channel.astype(running.dtype)
                running._changed_in_place()


def _running_normalise(op, x, running_mean, running_var, shape, eps):
    """(x - running_mean) / sqrt(running_var + eps): an affine map of x (evaluation mode)."""
    if running_mean is None or running_var is None:
        raise ValueError(f"{op} in evaluation mode needs running_mean and running_var")
    mean = Tensor._wrap(running_mean.array.reshape(shape).astype(x.dtype, copy=False))
    std = Tensor._wrap((running_var.array.reshape(shape).astype(x.dtype, copy=False) + eps)
                       ** 0.5)
    return (x - mean) / std


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing axes given by ``normalized_shape``, per sample."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    _check_dtypes("layer_norm", x, weight=weight, bias=bias)
    if x.shape[x.ndim - k:] != normalized_shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end in "
                         f"normalized_shape {normalized_shape}")
    x_hat, _, _ = _normalise(x, tuple(range(x.ndim - k, x.ndim)), eps)
    return _affine(x_hat, weight, bias, normalized_shape)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of C / num_groups consecutive channels of each sample of an
    (N, C, ...) tensor over those channels and all spatial axes; weight and bias are per
    channel."""
    _check_dtypes("group_norm", x, weight=weight, bias=bias)
    _check_channels("group_norm", x, {"weight": weight, "bias": bias})
    n, c = x.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) \
            or num_groups < 1 or c % num_groups:
        raise ShapeError(f"group_norm: num_groups must be a positive int dividing the "
                         f"{c} channels of an input of shape {x.shape}, got {num_groups!r}")
    grouped, _, _ = _normalise(x.reshape(n, num_groups, -1), (2,), eps)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return _affine(grouped.reshape(x.shape), weight, bias, shape)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample of an (N, C, spatial...) tensor over its spatial
    axes, as PyTorch's.

    With ``use_input_stats`` (training, or no running statistics) the statistics are the
    sample's own, and running statistics that are given are updated with their mean over
    the batch (the variance unbiased); otherwise the running statistics are used.
    """
    _check_dtypes("instance_norm", x, weight=weight, bias=bias)  # running stats: any float
    _check_channels("instance_norm", x, {"running_mean": running_mean,
                                         "running_var": running_var, "weight": weight,
                                         "bias": bias})
    if x.ndim < 3:
        raise ShapeError(f"instance_norm needs an input of shape (N, C, spatial...), got "
                         f"{x.shape}")
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if not use_input_stats:
        return _affine(_running_normalise("instance_norm", x, running_mean, running_var, shape,
                                          eps), weight, bias, shape)
    count = x.numel() // (x.shape[0] * x.shape[1])
    if count < 2:
        raise ShapeError(f"instance_norm needs more than one spatial value per channel, got "
                         f"input shape {x.shape}")
    x_hat, mean, var = _normalise(x, tuple(range(2, x.ndim)), eps)
    _update_running(running_mean, running_var, mean, var, count, momentum)
    return _affine(x_hat, weight, bias, shape)
