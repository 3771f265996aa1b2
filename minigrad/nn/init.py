"""Initialisation of a tensor's values in place, with PyTorch's names, defaults and formulas.

Every function writes into ``tensor.array`` (so optimizers and modules that hold the tensor see
the new values), records nothing in the graph, and returns the tensor. Random values are drawn
on the host in float32 from ``backend.rng()`` (the generator seeded by ``mg.manual_seed``) and
then moved to the tensor's device, so a seed gives the same weights on every device.

Fans of a weight of shape (d0, d1, k...): fan_in = d1 * prod(k), fan_out = d0 * prod(k).
For a Linear weight (out, in) that is fan_in = in; for a Conv2d weight (out, in, kh, kw),
fan_in = in * kh * kw; for a ConvTranspose2d weight (in, out, kh, kw) PyTorch applies the same
rule, so there fan_in = out * kh * kw.
"""
import math

import numpy as np

from .. import backend


def fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight with at least two axes, computed as PyTorch does."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 axes, got shape "
                         f"{tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' variance stable through ``nonlinearity``.

    linear, conv, sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);
    leaky_relu with slope a (default 0.01): sqrt(2 / (1 + a^2));  selu: 3/4.
    """
    if nonlinearity in ("linear", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _write(tensor, host_values):
    """Copy float32 values drawn on the host into the tensor's array, on its device."""
    tensor.array[...] = backend.to_device(host_values, tensor.device)
    tensor._changed_in_place()
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with samples from U(a, b)."""
    u = backend.rng().random(tensor.shape, dtype=np.float32)
    return _write(tensor, a + (b - a) * u)


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with samples from N(mean, std^2) (DCGAN initialises weights with N(0, 0.02^2))."""
    z = backend.rng().standard_normal(tensor.shape, dtype=np.float32)
    return _write(tensor, mean + std * z)


def constant_(tensor, val):
    """Fill with ``val``."""
    tensor.array.fill(val)
    tensor._changed_in_place()
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    """std = gain / sqrt(fan), fan = fan_in or fan_out as ``mode`` says."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: U(-b, b) with b = sqrt(3) * gain / sqrt(fan).

    With a = sqrt(5) (the default of Linear and the convolutions) the leaky-relu gain is
    sqrt(1/3), so b = 1 / sqrt(fan_in).
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: N(0, std^2) with std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))
