"""The functional interface (``import minigrad.nn.functional as F``), with PyTorch's names."""
from ..ops import (batch_norm, conv2d, conv_transpose2d, cross_entropy, dropout, layer_norm,
                   leaky_relu, log_softmax, pad, relu, sigmoid, softmax, softplus, tanh,
                   upsample_nearest)


def linear(x, w, b=None):
    """x @ w^T + b, with ``w`` of shape (out_features, in_features)."""
    if w.ndim != 2 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit weight of shape "
                         f"{w.shape} (expected the input's last axis to be {w.shape[-1]})")
    y = x @ w.T
    return y if b is None else y + b
