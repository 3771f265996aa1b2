"""Loops compiled for the CPU with Numba: the memory-bound passes NumPy takes several for.

What they compute, in plain NumPy (docs/anatomy-of-an-op.md has these as functions, checked
equal to the kernels), with y = p * sh + i * dh - top and x = q * sw + j * dw - left:

    im2col       cols[:, i, j, p, q] = image[:, y, x]       (0 where (y, x) is outside)
    col2im       image[:, y, x] += cols[:, i, j, p, q]      (for every tap i, j and p, q)
    sign_scale   np.where(signs > 0, values, values * slope)

im2col and col2im, behind convolution. In NumPy, im2col is a zero-padded copy of the image
and then a strided view of it copied whole; col2im is kh x kw in-place additions of whole
slabs, each a pass over the image in memory. As plain loops each is one pass, and each
channel's image (a few hundred KiB at most here) stays in the cache while all of its windows
are read or added. The arithmetic is the same additions in the same order as
minigrad.backend's array-module path (the CuPy one), so the results are equal bit for bit.
Compiled once per dtype on first use and cached on disk (``cache=True``).

``sign_scale``, the leaky ReLU's forward and backward, is one pass where NumPy's ``where``
and product take three (and a stored slope array).

``adam_update``, Adam's step (minigrad.optim.adam), is one pass over the parameter, its
gradient and the two moments where NumPy takes 13. It does NumPy's float operations in
NumPy's order and precision: each product, quotient, sum and square root rounded to the
arrays' dtype, the scalars rounded to it first as NumPy rounds a Python float it combines
with an array (NEP 50), and no fused multiply-add (that needs fastmath, not used here): equal
bit for bit.
"""
import numba
import numpy as np


@numba.njit(cache=True)
def im2col(image, kernel, out_hw, stride, dilation, start):
    c, h, w, n = image.shape
    (kh, kw), (oh, ow), (sh, sw), (dh, dw), (top, left) = kernel, out_hw, stride, dilation, start
    cols = np.empty((c, kh, kw, oh, ow, n), image.dtype)
    for ch in range(c):
        for i in range(kh):
            for j in range(kw):
                for p in range(oh):
                    y = p * sh + i * dh - top
                    for q in range(ow):
                        x = q * sw + j * dw - left
                        if 0 <= y < h and 0 <= x < w:  # loops, not slices: 3x faster
                            for k in range(n):
                                cols[ch, i, j, p, q, k] = image[ch, y, x, k]
                        else:
                            for k in range(n):
                                cols[ch, i, j, p, q, k] = 0
    return cols


@numba.njit(cache=True)
def col2im(cols, image_hw, stride, dilation, start):
    c, kh, kw, oh, ow, n = cols.shape
    (h, w), (sh, sw), (dh, dw), (top, left) = image_hw, stride, dilation, start
    image = np.zeros((c, h, w, n), cols.dtype)
    for ch in range(c):
        for i in range(kh):
            for p in range(oh):
                y = p * sh + i * dh - top
                if 0 <= y < h:
                    for j in range(kw):
                        for q in range(ow):
                            x = q * sw + j * dw - left
                            if 0 <= x < w:
                                for k in range(n):
                                    image[ch, y, x, k] += cols[ch, i, j, p, q, k]
    return image


@numba.njit(cache=True)
def sign_scale(values, signs, slope):
    """values where signs > 0, values * slope elsewhere; 1-D arrays of one length."""
    out = np.empty_like(values)
    one = values.dtype.type(1)
    for k in range(values.size):
        out[k] = values[k] * (one if signs[k] > 0 else slope)
    return out


@numba.njit(cache=True, error_model="numpy")  # numpy: x / 0 gives inf or nan, as in NumPy
def adam_update(param, grad, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size,
                bias2_sqrt, eps):
    """Adam's step, in place on 1-D arrays of one dtype, the scalars of that dtype too:

        m *= beta1
        m += one_minus_beta1 * grad
        v *= beta2
        v += one_minus_beta2 * grad * grad
        param -= step_size * (m / (np.sqrt(v) / bias2_sqrt + eps))
    """
    for k in range(param.size):
        g = grad[k]
        m[k] = m[k] * beta1 + one_minus_beta1 * g
        v[k] = v[k] * beta2 + one_minus_beta2 * g * g
        param[k] -= step_size * (m[k] / (np.sqrt(v[k]) / bias2_sqrt + eps))
