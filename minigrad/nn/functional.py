"""The functional interface (``import minigrad.nn.functional as F``), with PyTorch's names."""
import numbers

from .. import ops
from ..ops import (avg_pool2d, batch_norm, binary_cross_entropy,
                   binary_cross_entropy_with_logits, conv2d, conv_transpose2d, cross_entropy,
                   dropout, elu, gelu, group_norm, hardtanh, instance_norm, interpolate,
                   layer_norm, leaky_relu, log_softmax, max_pool2d, nll_loss, relu, sigmoid,
                   silu, softmax, softplus, tanh, upsample_nearest)
from ..ops import one_hot


def linear(x, w, b=None):
    """x @ w^T + b, with ``w`` of shape (out_features, in_features)."""
    if w.ndim != 2 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit weight of shape "
                         f"{w.shape} (expected the input's last axis to be {w.shape[-1]})")
    y = x @ w.T
    return y if b is None else y + b


def pad(input, pad, mode="constant", value=None):
    """PyTorch's F.pad: ``pad`` is a flat tuple of ints, (left, right) for the last axis, then
    (top, bottom) for the one before, and so on; negative widths crop (constant mode only).
    Modes "constant" (fill ``value``, default 0), "reflect", "replicate", "circular".
    NumPy-style (before, after) pairs for every axis go to ``mg.pad``."""
    if not isinstance(pad, (tuple, list)) or any(
            isinstance(p, bool) or not isinstance(p, numbers.Integral) for p in pad):
        raise TypeError(f"F.pad takes a flat tuple of ints (left, right, top, bottom, ...), got "
                        f"{pad!r}; for (before, after) pairs per axis use mg.pad")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"F.pad: {len(pad)} widths given for a tensor of shape {input.shape}: "
                         f"need two per padded axis, at most {2 * input.ndim}")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"F.pad: mode {mode!r} takes no fill value, got value={value!r}")
    padded = len(pad) // 2
    pairs = ((0, 0),) * (input.ndim - padded) + tuple(
        (pad[2 * i], pad[2 * i + 1]) for i in reversed(range(padded)))
    return ops.pad(input, pairs, mode, 0 if value is None else value)
