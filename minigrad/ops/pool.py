"""Max and average pooling of NCHW (or unbatched CHW) tensors, as PyTorch's.

Both read their windows with ``unfold``, the im2col of convolution, laid out
(C, kh, kw, Ho, Wo, N), and reduce over the two kernel axes:

- avg_pool2d: the window sums divided by each window's count (a constant), so the gradient
  is fold(g / count): unfold and its adjoint fold give every order.
- max_pool2d: where(first maximum of its window, cols, 0) summed over the window. The mask
  is a constant, so the gradient goes to one element per window, as in PyTorch: at a tie the
  first maximum in row-major order within the window (PyTorch's CPU kernel keeps the first
  value larger than all before it). Its gradient is fold(where(mask, g, 0)), again made of
  differentiable ops.

Sizes: out = floor((H + 2p - d(k - 1) - 1) / s) + 1, or with ``ceil_mode`` the ceiling, minus
one if the last window would start in the bottom/right padding (PyTorch's rule); the windows
that ceil_mode adds hang over the far edge, which is padded further (with -inf for max,
zeros that the count leaves out for avg).
"""
import numbers

import numpy as np

from .. import backend
from ..errors import ShapeError
from ..tensor import constant
from .conv import _pair, unfold
from .elementwise import where
from .shape import pad


def _batched(op, x):
    if x.ndim not in (3, 4):
        raise ShapeError(f"{op} needs an input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    return x if x.ndim == 4 else x.reshape((1,) + x.shape)


def _out_size(size, kernel, stride, padding, dilation, ceil_mode):
    span = dilation * (kernel - 1) + 1
    out = (size + 2 * padding - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    """kernel, stride, dilation, the (before, after) padding of H and W, and the output size."""
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, "stride", 1)
    padding, dilation = _pair(padding, "padding", 0), _pair(dilation, "dilation", 1)
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"{op}: padding {padding} must be at most half of the kernel "
                             f"{kernel} (dilation {dilation}), as in PyTorch")
    size = x.shape[2:]
    out = tuple(_out_size(*a, ceil_mode) for a in zip(size, kernel, stride, padding, dilation))
    if min(out) < 1:
        raise ShapeError(f"{op}: the output of an input of shape {x.shape} with kernel {kernel}, "
                         f"stride {stride}, padding {padding}, dilation {dilation} would be "
                         f"empty ({out})")
    sides = tuple((p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)) for n, k, s, p, d, o in
                  zip(size, kernel, stride, padding, dilation, out))
    return kernel, stride, dilation, sides, out


def _nchw(y, unbatched):
    """(C, Ho, Wo, N) -> NCHW, or CHW for an unbatched input."""
    y = y.permute(3, 0, 1, 2)
    return y.reshape(y.shape[1:]) if unbatched else y


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each window (stride defaults to kernel_size; padding counts as -inf).

    With ``return_indices`` also the position of each maximum, as an int64 tensor of flat
    indices into H * W (PyTorch's convention).
    """
    if x.dtype == bool:
        raise NotImplementedError("max_pool2d is not implemented for bool inputs, as in PyTorch")
    xb = _batched("max_pool2d", x)
    kernel, stride, dilation, sides, out = _geometry("max_pool2d", xb, kernel_size, stride,
                                                     padding, dilation, ceil_mode)
    low = -float("inf") if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    padded = pad(xb, ((0, 0), (0, 0)) + sides, value=low)
    cols = unfold(padded, kernel, stride, 0, dilation, out)
    c, kh, kw, oh, ow, n = cols.shape
    xp = backend.xp_of(cols.array)
    first = cols.array.reshape(c, kh * kw, oh, ow, n).argmax(axis=1)
    offsets = xp.arange(kh * kw).reshape(1, kh * kw, 1, 1, 1)
    mask = constant((offsets == first[:, None]).reshape(cols.shape))
    y = _nchw(where(mask, cols, 0).sum(axis=(1, 2)), x.ndim == 3)
    if y.dtype != x.dtype:  # an integer sum is int64: the maxima keep x's dtype, as PyTorch's
        y = y.astype(x.dtype)
    if not return_indices:
        return y
    (sh, sw), (dh, dw), ((top, _), (left, _)) = stride, dilation, sides
    rows = xp.arange(oh).reshape(1, oh, 1, 1) * sh - top + (first // kw) * dh
    columns = xp.arange(ow).reshape(1, 1, ow, 1) * sw - left + (first % kw) * dw
    return y, _nchw(constant(rows * xb.shape[3] + columns), x.ndim == 3)


def _window_counts(xp, size, kernel, stride, padding, out, count_include_pad):
    """How many entries of each window along one axis count towards its average."""
    start = xp.arange(out) * stride - padding
    end = xp.minimum(start + kernel, size + padding)
    if not count_include_pad:
        start, end = xp.maximum(start, 0), xp.minimum(end, size)
    return end - start


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """The mean of each window (stride defaults to kernel_size).

    Zero padding counts towards the mean when ``count_include_pad`` (PyTorch's default);
    the windows that ``ceil_mode`` adds count only what lies inside the padded input.
    ``divisor_override`` divides every window's sum by that number instead. Of int64 input
    (the only integers PyTorch's CPU kernel takes) the quotient is truncated towards zero.
    """
    if x.dtype.kind != "f" and x.dtype != np.int64:
        raise NotImplementedError(f"avg_pool2d is not implemented for {x.dtype} inputs, as in "
                                  "PyTorch; pass a floating-point (or int64) tensor")
    xb = _batched("avg_pool2d", x)
    kernel, stride, _, sides, out = _geometry("avg_pool2d", xb, kernel_size, stride, padding,
                                              1, ceil_mode)
    sums = unfold(xb, kernel, stride, sides, 1, out).sum(axis=(1, 2))
    if divisor_override is not None:
        divisor = divisor_override
        if isinstance(divisor, bool) or not isinstance(divisor, numbers.Integral) or divisor < 1:
            raise ValueError(f"avg_pool2d: divisor_override must be a positive int, got "
                             f"{divisor_override!r}")
        return _nchw(_divide(sums, divisor_override), x.ndim == 3)
    xp = backend.xp_of(x.array)
    count_h, count_w = (_window_counts(xp, *a, count_include_pad) for a in
                        zip(xb.shape[2:], kernel, stride, (s[0] for s in sides), out))
    counts = constant((count_h.reshape(1, -1, 1, 1) * count_w.reshape(1, 1, -1, 1))
                      .astype(x.dtype))
    return _nchw(_divide(sums, counts), x.ndim == 3)


def _divide(sums, divisor):
    """sums / divisor; of integer sums the quotient truncated towards zero (C's integer
    division, which PyTorch's kernel does), never differentiable."""
    if sums.dtype.kind == "f":
        return sums / divisor
    divisor = divisor.array if hasattr(divisor, "array") else divisor
    xp = backend.xp_of(sums.array)
    quotient = xp.abs(sums.array) // xp.abs(divisor) * (xp.sign(sums.array) * xp.sign(divisor))
    return constant(quotient.astype(sums.dtype))
