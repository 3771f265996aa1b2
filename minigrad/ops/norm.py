"""Batch normalisation and layer normalisation, composed from differentiable ops.

Both compute x_hat = (x - mean) / sqrt(var + eps) and return x_hat * weight + bias; they
differ in the axes the statistics are taken over: every axis but the channel axis (1) for
batch norm, the trailing ``normalized_shape`` axes for layer norm. Because they are built
from recorded ops, their first and second derivatives come from those ops' rules.
"""
from ..autograd import no_grad
from ..tensor import Tensor


def _normalise(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / (var + eps).sqrt(), mean, var


def _affine(x_hat, weight, bias, shape):
    if weight is not None:
        x_hat = x_hat * weight.reshape(shape)
    if bias is not None:
        x_hat = x_hat + bias.reshape(shape)
    return x_hat


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel of an (N, C) or (N, C, ...) tensor.

    Training: batch statistics, and the running averages are updated in place,
    running = (1 - momentum) * running + momentum * batch (the variance unbiased, as PyTorch).
    Evaluation: the running statistics.
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm needs an input of shape (N, C, ...), got {x.shape}")
    channels = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"batch_norm: {name} has shape {t.shape}, expected ({channels},) "
                             f"for an input of shape {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, channels) + (1,) * (x.ndim - 2)
    if training:
        count = x.size // channels
        if count < 2:
            raise ValueError(f"batch_norm in training needs more than one value per channel, "
                             f"got input shape {x.shape}")
        x_hat, mean, var = _normalise(x, axes, eps)
        with no_grad():
            for running, batch in ((running_mean, mean), (running_var, var * (count / (count - 1)))):
                if running is not None:
                    running.data *= 1 - momentum
                    running.data += momentum * batch.data.reshape(channels).astype(running.dtype)
                    running._changed_in_place()
        return _affine(x_hat, weight, bias, shape)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm in evaluation mode needs running_mean and running_var")
    mean = Tensor(running_mean.data.reshape(shape))
    std = Tensor((running_var.data.reshape(shape) + eps) ** 0.5)
    return _affine((x - mean) / std, weight, bias, shape)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing axes given by ``normalized_shape``, per sample."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    if x.shape[x.ndim - k:] != normalized_shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end in "
                         f"normalized_shape {normalized_shape}")
    x_hat, _, _ = _normalise(x, tuple(range(x.ndim - k, x.ndim)), eps)
    return _affine(x_hat, weight, bias, normalized_shape)
