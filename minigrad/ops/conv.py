"""2-D convolution and transposed convolution, from two linear primitives and matmul.

``unfold`` (im2col) copies every kernel-sized patch of a padded image into a column:

    cols[i, j, c, oh, ow, n] = x_padded[n, c, oh * sh + i, ow * sw + j]

so that a convolution is one matrix product, W (O, kh*kw*C) @ cols (kh*kw*C, Ho*Wo*N).
``fold`` (col2im) is its adjoint: it adds every column entry back into the pixel it was
read from. Each is therefore the other's backward rule, and both are linear, so a
convolution built from them differentiates to any order with no rule of its own:

- conv2d:            y = W @ unfold(x)
                     dx = fold(W^T @ dy),  dW = dy @ unfold(x)^T
- conv_transpose2d:  y = fold(W^T @ x)     (the adjoint of conv2d with respect to its input)
                     dx = W @ unfold(dy),  dW = x @ unfold(dy)^T

The loops run over the kh x kw kernel offsets, each moving one strided slab of the whole
batch; never over pixels or batch items. Inside, images are laid out (C, H, W, N), batch
innermost: a slab then moves runs of N contiguous numbers, several times faster than
runs of a few pixels. The results are handed out as NCHW views of that memory.
"""
from .. import backend
from ..autograd import apply
from ..tensor import operands


def _pair(value, name):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(not isinstance(v, int) or v < 0 for v in pair):
        raise ValueError(f"{name} must be a non-negative int or a pair of them, got {value!r}")
    return pair


def _out_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def _window(i, j, out_hw, stride):
    """The strided slice of a padded (C, H, W, N) image that kernel offset (i, j) reads."""
    (oh, ow), (sh, sw) = out_hw, stride
    return (slice(None), slice(i, i + sh * (oh - 1) + 1, sh),
            slice(j, j + sw * (ow - 1) + 1, sw), slice(None))


def unfold(x, kernel_size, stride=1, padding=0):
    """im2col: (N, C, H, W) -> (kh, kw, C, Ho, Wo, N). Backward: ``fold``."""
    (kh, kw), stride, (ph, pw) = kernel_size, _pair(stride, "stride"), _pair(padding, "padding")
    n, c, h, w = x.shape
    out_hw = (_out_size(h, kh, stride[0], ph), _out_size(w, kw, stride[1], pw))
    xp = backend.xp_of(x.data)
    image = x.data.transpose(1, 2, 3, 0)
    if ph or pw:
        padded = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
        padded[:, ph:ph + h, pw:pw + w] = image
    else:
        padded = image
    cols = xp.empty((kh, kw, c) + out_hw + (n,), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[i, j] = padded[_window(i, j, out_hw, stride)]
    return apply(cols, (x,), (lambda g, out: fold(g, (h, w), stride, (ph, pw)),), "unfold",
                 saved=())


def fold(cols, image_hw, stride=1, padding=0):
    """col2im: (kh, kw, C, Ho, Wo, N) -> (N, C, H, W), summing overlaps. Backward: ``unfold``."""
    stride, (ph, pw) = _pair(stride, "stride"), _pair(padding, "padding")
    kh, kw, c, oh, ow, n = cols.shape
    h, w = image_hw
    xp = backend.xp_of(cols.data)
    padded = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[_window(i, j, (oh, ow), stride)] += cols.data[i, j]
    image = padded[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2)
    return apply(image, (cols,), (lambda g, out: unfold(g, (kh, kw), stride, (ph, pw)),),
                 "fold", saved=())


def _check(op, x, w, b, in_channels_axis):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{op} needs a 4-D input (N, C, H, W) and a 4-D weight, got shapes "
                         f"{x.shape} and {w.shape}")
    if x.shape[1] != w.shape[in_channels_axis]:
        raise ValueError(f"{op}: input has {x.shape[1]} channels (shape {x.shape}) but the weight "
                         f"of shape {w.shape} expects {w.shape[in_channels_axis]}")
    if b is not None and b.shape != (w.shape[1 - in_channels_axis],):
        raise ValueError(f"{op}: bias of shape {b.shape} does not match "
                         f"{w.shape[1 - in_channels_axis]} output channels")


def conv2d(x, w, b=None, stride=1, padding=0):
    """Cross-correlation of NCHW ``x`` with ``w`` of shape (out, in, kh, kw), as PyTorch's."""
    x, w, *rest = operands(x, w, *([] if b is None else [b]))
    b = rest[0] if rest else None
    _check("conv2d", x, w, b, in_channels_axis=1)
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    if 0 in stride:
        raise ValueError("conv2d: stride must be positive")
    o, c, kh, kw = w.shape
    h, wd = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    if h < kh or wd < kw:
        raise ValueError(f"conv2d: kernel {kh}x{kw} is larger than the padded input {h}x{wd} "
                         f"(input shape {x.shape}, padding {padding}): the output would be empty")
    cols = unfold(x, (kh, kw), stride, padding)
    oh, ow, n = cols.shape[3:]
    y = w.transpose(0, 2, 3, 1).reshape(o, kh * kw * c) @ cols.reshape(kh * kw * c, oh * ow * n)
    y = y.reshape(o, oh, ow, n).transpose(3, 0, 1, 2)
    return y if b is None else y + b.reshape(1, o, 1, 1)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0):
    """The adjoint of conv2d in its input; ``w`` is (in, out, kh, kw), as PyTorch's.

    Output size: (H - 1) * stride - 2 * padding + kh + output_padding.
    """
    x, w, *rest = operands(x, w, *([] if b is None else [b]))
    b = rest[0] if rest else None
    _check("conv_transpose2d", x, w, b, in_channels_axis=0)
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    output_padding = _pair(output_padding, "output_padding")
    if 0 in stride or any(op >= s for op, s in zip(output_padding, stride)):
        raise ValueError(f"conv_transpose2d: stride must be positive and output_padding "
                         f"{output_padding} smaller than stride {stride}")
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    out_hw = tuple((size - 1) * s - 2 * p + k + op for size, s, p, k, op in
                   zip((h, wd), stride, padding, (kh, kw), output_padding))
    if min(out_hw) <= 0:
        raise ValueError(f"conv_transpose2d: output would be empty ({out_hw}) for input shape "
                         f"{x.shape}, kernel {kh}x{kw}, stride {stride}, padding {padding}")
    w_matrix = w.transpose(2, 3, 1, 0).reshape(kh * kw * o, c)
    columns = w_matrix @ x.transpose(1, 2, 3, 0).reshape(c, h * wd * n)
    y = fold(columns.reshape(kh, kw, o, h, wd, n), out_hw, stride, padding)
    return y if b is None else y + b.reshape(1, o, 1, 1)
