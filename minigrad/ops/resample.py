"""Resizing (N, C, L), (N, C, H, W) and (N, C, D, H, W) tensors: ``interpolate`` (nearest,
and linear / bilinear / trilinear by the number of spatial axes) and ``upsample_nearest``.

Every mode is a linear map applied to each spatial axis separately (y = A_h @ x @ A_w^T for
an image), where each row of the axis' (out, in) matrix A holds the weights of the input
pixels an output pixel reads:

- nearest: one 1 at src = min(floor(dst * scale), in - 1), computed in float32 as PyTorch
  does, with scale = 1 / scale_factor when a scale factor is given, else in / out (and
  src = dst when out == in, dst // 2 when out == 2 in);
- linear (bilinear, trilinear): 1 - l at i and l at i + 1 (or both at the last pixel),
  where src is dst * (in - 1) / (out - 1) with ``align_corners``, else (dst + 0.5) * scale
  - 0.5 clamped at 0 (PyTorch's area_pixel_compute_source_index), in the image's dtype
  (float32 for float16), i = floor(src) (rounded to float32 first, as PyTorch's floorf does) and
  l = src - i within [0, 1]; an axis whose size stays is copied, whatever the scale factor
  (PyTorch's compute_source_index_and_lambda).

The matrices are built on the host from the sizes (O(out * in) numbers) and moved to the
device; matmul gives the gradient (A^T g) and every higher order. When nearest resizing only
repeats each pixel a whole number of times, ``upsample_nearest`` does it without a product.
"""
import math
import numbers

import numpy as np

from .. import backend
from ..errors import ShapeError
from ..tensor import constant
from .shape import broadcast_to

LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}  # the linear mode of each input ndim
MODES = ("nearest", "linear", "bilinear", "trilinear")
AXES = {3: "length", 4: "height, width", 5: "depth, height, width"}


def _spatial(op, x):
    """The spatial sizes of an (N, C, *spatial) input with 1, 2 or 3 spatial axes."""
    if x.ndim not in LINEAR:
        raise ShapeError(f"{op} needs an (N, C, L), (N, C, H, W) or (N, C, D, H, W) tensor "
                         f"(3-D to 5-D), got shape {x.shape}")
    return x.shape[2:]


def upsample_nearest(x, scale_factor=2):
    """Repeat each pixel of an (N, C, *spatial) tensor ``scale_factor`` times along each
    spatial axis (a whole number, or one per spatial axis)."""
    spatial = _spatial("upsample_nearest", x)
    repeats = (tuple(scale_factor) if isinstance(scale_factor, (tuple, list))
               else (scale_factor,) * len(spatial))
    if len(repeats) != len(spatial) or any(isinstance(s, bool) or not isinstance(s, numbers.Real)
                                           or s != int(s) or s < 1 for s in repeats):
        raise ValueError(f"upsample_nearest needs a positive whole scale factor (or one per "
                         f"spatial axis: {AXES[x.ndim]}), got {scale_factor!r}")
    spread = x.reshape(*x.shape[:2], *(s for n in spatial for s in (n, 1)))
    grid = broadcast_to(spread, (*x.shape[:2], *(s for n, r in zip(spatial, repeats)
                                                 for s in (n, int(r)))))
    return grid.reshape(*x.shape[:2], *(n * int(r) for n, r in zip(spatial, repeats)))


def _nearest_source(size, out, scale_factor):
    """PyTorch's nearest_idx for each output index (host)."""
    if out == size:
        return np.arange(out)  # host: indices from sizes
    if out == 2 * size:
        return np.arange(out) // 2  # host: indices from sizes
    scale = (np.float32(1.0 / scale_factor) if scale_factor else
             np.float32(size) / np.float32(out))
    source = np.floor(np.arange(out, dtype=np.float32) * scale)  # host: indices from sizes
    return np.minimum(source.astype(np.int64), size - 1)  # host: indices from sizes


def _linear_weights(size, out, scale_factor, align_corners, dtype):
    """(i0, i1, l0, l1) for each output index: y = l0 * x[i0] + l1 * x[i1] (host)."""
    real = np.promote_types(dtype, np.float32).type  # PyTorch's opmath type
    if out == size:
        copy = np.arange(out)  # host: indices from sizes
        return copy, copy, np.ones(out, real), np.zeros(out, real)  # host: sizes
    dst = np.arange(out).astype(real)  # host: indices from sizes
    if align_corners:
        scale = real(size - 1) / real(out - 1) if out > 1 else real(0)
        source = dst * scale
    else:
        scale = real(1.0 / scale_factor) if scale_factor else real(size) / real(out)
        source = np.maximum(scale * (dst + real(0.5)) - real(0.5), real(0))  # host: sizes
    whole = np.floor(source.astype(np.float32))  # host: PyTorch's floorf
    i0 = np.minimum(whole.astype(np.int64), size - 1)  # host: indices from sizes
    l1 = np.clip(source - i0.astype(real), 0, 1)  # host: weights from sizes
    i1 = np.minimum(i0 + 1, size - 1)  # host: indices from sizes
    return i0, i1, real(1) - l1, l1


def _matrix(x, size, out, scale_factor, mode, align_corners):
    """The (out, size) resampling matrix of one axis, on x's device."""
    columns = np.arange(size)  # host: indices from sizes
    if mode == "nearest":
        matrix = _nearest_source(size, out, scale_factor)[:, None] == columns
    else:
        i0, i1, l0, l1 = _linear_weights(size, out, scale_factor, align_corners, x.dtype)
        matrix = l0[:, None] * (i0[:, None] == columns) + l1[:, None] * (i1[:, None] == columns)
    return constant(backend.to_device(matrix.astype(x.dtype), x.device))


def _per_axis(value, name, kind, ndim):
    """``value`` (one number, or one per spatial axis) as a tuple with one per spatial axis."""
    count = ndim - 2
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
    if len(values) != count or any(isinstance(v, bool) or not isinstance(v, kind)
                                   or not v > 0 or not math.isfinite(v) for v in values):
        what = "int" if kind is numbers.Integral else "number"
        raise ValueError(f"interpolate: {name} must be a positive {what} or {count} of them "
                         f"({AXES[ndim]}), got {value!r}")
    return values


def _resample_axis(x, matrix, axis):
    """``x`` with axis ``axis`` (a spatial one) mapped by ``matrix`` (out, in): the product
    with the axis as the rows of a matrix whose columns are the axes after it."""
    if axis == x.ndim - 1:
        return x @ matrix.T
    after = x.shape[axis + 1:]
    rows = matrix @ x.reshape(*x.shape[:axis + 1], math.prod(after))
    return rows.reshape(*x.shape[:axis], matrix.shape[0], *after)


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """Resize an (N, C, L), (N, C, H, W) or (N, C, D, H, W) tensor to ``size`` (an int, or
    one per spatial axis) or by ``scale_factor`` (output floor(in * factor)), with PyTorch's
    index rules. Modes: "nearest", and "linear" / "bilinear" / "trilinear" for 3-D / 4-D /
    5-D inputs. ``align_corners`` (linear modes only; default False) maps the corner pixels'
    centres onto each other. ``recompute_scale_factor=True`` uses in / out instead of the
    given factor for the source indices."""
    spatial = _spatial("interpolate", x)
    if mode not in MODES:
        raise ValueError(f"interpolate: mode must be one of {MODES}, got {mode!r}")
    if mode != "nearest" and mode != LINEAR[x.ndim]:
        raise NotImplementedError(f"interpolate: mode {mode!r} does not take a {x.ndim}-D input "
                                  f"(shape {x.shape}); use {LINEAR[x.ndim]!r}")
    if align_corners is not None and mode == "nearest":
        raise ValueError("interpolate: align_corners can only be set with the linear modes "
                         "(linear, bilinear, trilinear)")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if x.dtype.kind != "f":
        raise TypeError(f"interpolate needs a floating-point input, got {x.dtype}")
    no_factors = (None,) * len(spatial)
    if size is not None:
        out_sizes, factors = _per_axis(size, "size", numbers.Integral, x.ndim), no_factors
    else:
        factors = _per_axis(scale_factor, "scale_factor", numbers.Real, x.ndim)
        out_sizes = tuple(math.floor(n * f) for n, f in zip(spatial, factors))
        if min(out_sizes) < 1:
            raise ShapeError(f"interpolate: scale_factor {scale_factor!r} leaves no pixels of an "
                             f"input of shape {x.shape}")
        if recompute_scale_factor:
            factors = no_factors
    if mode == "nearest":
        repeats = [o // n if o % n == 0 else 0 for n, o in zip(spatial, out_sizes)]
        if all(r and np.array_equal(_nearest_source(n, o, f), np.arange(o) // r)  # host: sizes
               for n, o, f, r in zip(spatial, out_sizes, factors, repeats)):
            return upsample_nearest(x, repeats)
    for axis, (n, o, f) in enumerate(zip(spatial, out_sizes, factors), start=2):
        x = _resample_axis(x, _matrix(x, n, o, f, mode, bool(align_corners)), axis)
    return x
