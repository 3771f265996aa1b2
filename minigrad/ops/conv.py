"""2-D convolution and transposed convolution, from two linear primitives and matmul.

``unfold`` (im2col) copies every kernel-sized patch of a padded image into a column:

    cols[c, i, j, oh, ow, n] = x_padded[n, c, oh * sh + i * dh, ow * sw + j * dw]

(stride s, dilation d), so that a convolution is one matrix product,
W (O, C*kh*kw) @ cols (C*kh*kw, Ho*Wo*N), with W's own memory order: no copy of the weight.
``fold`` (col2im) is its adjoint: it adds every column entry back into the pixel it was
read from. Each is therefore the other's backward rule, and both are linear, so a
convolution built from them differentiates to any order with no rule of its own:

- conv2d:            y = W @ unfold(x)
                     dx = fold(W^T @ dy),  dW = dy @ unfold(x)^T
- conv_transpose2d:  y = fold(W^T @ x)     (the adjoint of conv2d with respect to its input)
                     dx = W @ unfold(dy),  dW = x @ unfold(dy)^T

With ``groups`` = G, channels split into G blocks that never mix: the columns (channel
first) reshape for free to (G, C/G*kh*kw, L) and the weight to (G, O/G, C/G*kh*kw), and one
batched matmul does every group (G = C is a depthwise convolution).

The copies themselves are the backend's (``backend.im2col``, ``backend.col2im``): on the CPU
loops compiled with Numba, one pass each; on CuPy (and for dtypes other than float32 and
float64) a strided view of the padded image copied whole, and one in-place addition per
kernel tap. Inside, images are laid out (C, H, W, N), batch innermost:
every copy moves runs of N contiguous numbers, several times faster than runs of a few
pixels. The results are handed out as NCHW views of that memory.
"""
import numbers

from .. import backend
from ..autograd import apply
from ..errors import ShapeError
from ..tensor import promoted_operands
from .shape import pad
from .linalg import check_same_dtype


def _pair(value, name, minimum):
    """An int or a pair of ints, each at least ``minimum``, as a pair; clear errors otherwise."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in pair)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return tuple(int(v) for v in pair)


def _sides(padding):
    """Padding as ((top, bottom), (left, right)), from an int, a pair, or that form itself."""
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
            isinstance(p, (tuple, list)) for p in padding):
        return tuple(_pair(p, "padding", 0) for p in padding)
    return tuple((p, p) for p in _pair(padding, "padding", 0))


def _out_size(size, kernel, stride, sides, dilation):
    return (size + sides[0] + sides[1] - dilation * (kernel - 1) - 1) // stride + 1


def unfold(x, kernel_size, stride=1, padding=0, dilation=1, out_hw=None):
    """im2col: (N, C, H, W) -> (C, kh, kw, Ho, Wo, N). Backward: ``fold``.

    ``padding`` is an int, a pair, or ((top, bottom), (left, right)); ``out_hw`` keeps only
    the first Ho x Wo windows (fold's backward asks for the size of its columns).
    """
    (kh, kw), stride = kernel_size, _pair(stride, "stride", 1)
    dilation, sides = _pair(dilation, "dilation", 1), _sides(padding)
    h, w = x.shape[2:]
    if out_hw is None:
        out_hw = tuple(_out_size(*a) for a in zip((h, w), (kh, kw), stride, sides, dilation))
    start = (sides[0][0], sides[1][0])
    cols = backend.im2col(x.array.transpose(1, 2, 3, 0), (kh, kw), tuple(out_hw), stride,
                          dilation, start)
    return apply(cols, (x,), (lambda g, out: fold(g, (h, w), stride, sides, dilation),),
                 "unfold", saved=())


def fold(cols, image_hw, stride=1, padding=0, dilation=1):
    """col2im: (C, kh, kw, Ho, Wo, N) -> (N, C, H, W), summing overlaps. Backward: ``unfold``."""
    stride, dilation = _pair(stride, "stride", 1), _pair(dilation, "dilation", 1)
    sides = _sides(padding)
    kh, kw, oh, ow = cols.shape[1:5]
    image = backend.col2im(cols.array, tuple(image_hw), stride, dilation,
                           (sides[0][0], sides[1][0]))
    return apply(image.transpose(3, 0, 1, 2), (cols,),
                 (lambda g, out: unfold(g, (kh, kw), stride, sides, dilation, (oh, ow)),),
                 "fold", saved=())


def _check(op, x, w, b, groups, in_axis):
    """Shapes of input, weight and bias; returns the number of groups as an int."""
    if x.ndim != 4 or w.ndim != 4:
        raise ShapeError(f"{op} needs a 4-D input (N, C, H, W) and a 4-D weight, got shapes "
                         f"{x.shape} and {w.shape}")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    in_channels = w.shape[1] * groups if in_axis == 1 else w.shape[0]
    out_channels = w.shape[0] if in_axis == 1 else w.shape[1] * groups
    if x.shape[1] != in_channels:
        raise ShapeError(f"{op}: input has {x.shape[1]} channels (shape {x.shape}) but the weight "
                         f"of shape {w.shape} with groups={groups} expects {in_channels}")
    if out_channels % groups or in_channels % groups:
        raise ShapeError(f"{op}: groups={groups} must divide both the input channels "
                         f"({x.shape[1]}) and the output channels ({out_channels}); weight "
                         f"shape {w.shape}")
    if b is not None and b.shape != (out_channels,):
        raise ShapeError(f"{op}: bias of shape {b.shape} does not match {out_channels} output "
                         "channels")
    return int(groups)


def _same_padding(kernel, dilation):
    """PyTorch's padding="same" for stride 1: d*(k-1) in all, the odd one at the end."""
    return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                 for k, d in zip(kernel, dilation))


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of NCHW ``x`` with ``w`` of shape (out, in/groups, kh, kw), as
    PyTorch's; ``padding`` is an int, a pair, "valid" (none) or "same" (output size = input
    size; stride 1 only, as in PyTorch; an odd total puts the extra row/column at the end)."""
    check_same_dtype("conv2d", input=x, weight=w, bias=b)
    x, w, *rest = promoted_operands(x, w, *([] if b is None else [b]))
    b = rest[0] if rest else None
    groups = _check("conv2d", x, w, b, groups, in_axis=1)
    stride, dilation = _pair(stride, "stride", 1), _pair(dilation, "dilation", 1)
    o, cg, kh, kw = w.shape
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got "
                             f"{padding!r}")
        if padding == "same" and stride != (1, 1):
            raise ValueError(f"conv2d: padding='same' is not supported for strided "
                             f"convolutions (stride {stride}), as in PyTorch")
        sides = _same_padding((kh, kw), dilation) if padding == "same" else ((0, 0), (0, 0))
    else:
        sides = _sides(padding)
    h, wd = (x.shape[2] + sum(sides[0]), x.shape[3] + sum(sides[1]))
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if h < span[0] or wd < span[1]:
        raise ShapeError(f"conv2d: kernel {kh}x{kw} (spanning {span[0]}x{span[1]} with dilation "
                         f"{dilation}) is larger than the padded input {h}x{wd} (input shape "
                         f"{x.shape}, padding {padding}): the output would be empty")
    cols = unfold(x, (kh, kw), stride, sides, dilation)
    oh, ow, n = cols.shape[3:]
    k = cg * kh * kw
    y = w.reshape(groups, o // groups, k) @ cols.reshape(groups, k, oh * ow * n)
    y = y.reshape(o, oh, ow, n).permute(3, 0, 1, 2)
    return y if b is None else y + b.reshape(1, o, 1, 1)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv2d in its input; ``w`` is (in, out/groups, kh, kw), as PyTorch's.

    Output size: (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1.
    """
    check_same_dtype("conv_transpose2d", input=x, weight=w, bias=b)
    x, w, *rest = promoted_operands(x, w, *([] if b is None else [b]))
    b = rest[0] if rest else None
    groups = _check("conv_transpose2d", x, w, b, groups, in_axis=0)
    if isinstance(padding, str):
        raise TypeError(f"conv_transpose2d: padding must be an int or a pair of ints, got "
                        f"{padding!r} (PyTorch has no string padding here either)")
    stride, padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    dilation = _pair(dilation, "dilation", 1)
    output_padding = _pair(output_padding, "output_padding", 0)
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be smaller "
                         f"than either stride {stride} or dilation {dilation}")
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    o = og * groups
    out_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + op + 1 for size, s, p, d, k, op in
                   zip((h, wd), stride, padding, dilation, (kh, kw), output_padding))
    if min(out_hw) <= 0:
        raise ShapeError(f"conv_transpose2d: output would be empty ({out_hw}) for input shape "
                         f"{x.shape}, kernel {kh}x{kw}, stride {stride}, padding {padding}")
    cg = c // groups
    w_t = w.reshape(groups, cg, og * kh * kw).transpose(1, 2)
    columns = w_t @ x.permute(1, 2, 3, 0).reshape(groups, cg, h * wd * n)
    y = fold(columns.reshape(o, kh, kw, h, wd, n), out_hw, stride, padding, dilation)
    return y if b is None else y + b.reshape(1, o, 1, 1)


def _single(value, name):
    """A 1-D convolution's size: an int or a 1-tuple, as an int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise TypeError(f"{name} of a 1-D convolution must be an int or a 1-tuple, got "
                            f"{value!r}")
        (value,) = value
    return value


def _check_ndim(op, x, w, ndim):
    if x.ndim != ndim or w.ndim != ndim:
        layout = {3: "(N, C, L)", 5: "(N, C, D, H, W)"}[ndim]
        raise ShapeError(f"{op} needs a {ndim}-D input {layout} and a {ndim}-D weight, got "
                         f"shapes {x.shape} and {w.shape}")


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of (N, C, L) ``x`` with ``w`` of shape (out, in/groups, k), as
    PyTorch's: conv2d over images of height 1. ``padding``: an int, "valid" or "same"."""
    _check_ndim("conv1d", x, w, 3)
    check_same_dtype("conv1d", input=x, weight=w, bias=b)
    padding = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    return conv2d(x.unsqueeze(2), w.unsqueeze(2), b, (1, _single(stride, "stride")), padding,
                  (1, _single(dilation, "dilation")), groups).squeeze(2)


def conv_transpose1d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv1d in its input; ``w`` is (in, out/groups, k), as PyTorch's:
    conv_transpose2d over images of height 1."""
    _check_ndim("conv_transpose1d", x, w, 3)
    check_same_dtype("conv_transpose1d", input=x, weight=w, bias=b)
    ones, pairs = (1, 1), [(0, _single(v, name)) for v, name in
                           ((padding, "padding"), (output_padding, "output_padding"))]
    stride, dilation = (_single(v, name) for v, name in ((stride, "stride"),
                                                         (dilation, "dilation")))
    return conv_transpose2d(x.unsqueeze(2), w.unsqueeze(2), b, (ones[0], stride), pairs[0],
                            pairs[1], groups, (ones[1], dilation)).squeeze(2)


def _triple(value, name, minimum):
    triple = (value,) * 3 if isinstance(value, numbers.Integral) else value
    if not isinstance(triple, (tuple, list)) or len(triple) != 3:
        raise TypeError(f"{name} must be an int or a triple of ints, got {value!r}")
    return tuple(_pair(v, name, minimum)[0] for v in triple)


def conv3d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of (N, C, D, H, W) ``x`` with ``w`` of shape (out, in/groups, kd, kh,
    kw), as PyTorch's; ``padding``: an int, a triple, "valid" or "same" (stride 1).

    For each of the kd depth offsets i, the depth slices that offset reads (a strided slice of
    the depth-padded input, depth folded into the batch) go through conv2d with the kernel's
    slice w[:, :, i]; the kd results add up: y[:, :, t] = sum_i conv2d(x[:, :, t*sd + i*dd],
    w[:, :, i]). So conv3d has no rule of its own: its gradients are conv2d's."""
    _check_ndim("conv3d", x, w, 5)
    check_same_dtype("conv3d", input=x, weight=w, bias=b)
    x, w, *rest = promoted_operands(x, w, *([] if b is None else [b]))
    kernel, (sd, *stride_hw) = w.shape[2:], _triple(stride, "stride", 1)
    (dd, *dilation_hw) = dilation = _triple(dilation, "dilation", 1)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"conv3d: padding must be an int, a triple, 'valid' or 'same', "
                             f"got {padding!r}")
        if padding == "same" and (sd, *stride_hw) != (1, 1, 1):
            raise ValueError("conv3d: padding='same' is not supported for strided "
                             "convolutions, as in PyTorch")
        sides = (_same_padding(kernel, dilation) if padding == "same"
                 else ((0, 0), (0, 0), (0, 0)))
    else:
        sides = tuple((p, p) for p in _triple(padding, "padding", 0))
    if any(sides[0]):
        x = pad(x, ((0, 0), (0, 0), sides[0], (0, 0), (0, 0)))
    n, c, depth, h, wd = x.shape
    out_depth = (depth - dd * (kernel[0] - 1) - 1) // sd + 1
    if out_depth < 1:
        raise ShapeError(f"conv3d: kernel depth {kernel[0]} (dilation {dd}) is larger than the "
                         f"padded input depth {depth} (input shape {x.shape})")
    total = 0
    for i in range(kernel[0]):
        start = i * dd
        slices = x[:, :, start:start + (out_depth - 1) * sd + 1:sd]
        images = slices.permute(0, 2, 1, 3, 4).reshape(n * out_depth, c, h, wd)
        total = total + conv2d(images, w[:, :, i], None, tuple(stride_hw), sides[1:],
                               tuple(dilation_hw), groups)
    o, (ho, wo) = w.shape[0], total.shape[2:]
    y = total.reshape(n, out_depth, o, ho, wo).permute(0, 2, 1, 3, 4)
    return y if not rest else y + rest[0].reshape(1, o, 1, 1, 1)

