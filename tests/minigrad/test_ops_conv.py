"""conv2d and conv_transpose2d: gradient checks to first and second order in float64 over
odd spatial sizes, stride 1 and 2, padding 0..2, kernels 1..5, output_padding 0/1, batch 1,
with and without bias, dilation, groups (depthwise included) and padding "same" / "valid";
forward values against naive loop implementations written here; the adjoint identity
<conv2d(x, w), y> == <x, conv_transpose2d(y, w)>; non-contiguous inputs; clear errors.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import backend, ops
from minigrad.errors import ShapeError

from devices import array_on_device, leaf, tensor, zeros


def check(fn, *inputs):
    """First- and second-order finite-difference checks of ``fn`` at ``inputs``."""
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# ---- independent references: one multiply-add per (output pixel, kernel tap) ----

def naive_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation, PyTorch's conv2d, as explicit loops over every output pixel; each
    group of C / groups input channels feeds its O / groups output channels only."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    og = o // groups
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for g in range(groups):
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * cg:(g + 1) * cg, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                           j * sw:j * sw + dw * (kw - 1) + 1:dw]                  # (n, cg, kh, kw)
                y[:, g * og:(g + 1) * og, i, j] = np.einsum("nckl,ockl->no", patch,
                                                            w[g * og:(g + 1) * og])
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def naive_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                           dilation=1):
    """PyTorch's conv_transpose2d: every input pixel scatters w-weighted copies into the output
    (kernel taps ``dilation`` apart), which is then cropped by padding on each side
    (output_padding extends the bottom/right); group g's inputs reach its outputs only."""
    (sh, sw), (ph, pw), (oph, opw) = pair(stride), pair(padding), pair(output_padding)
    dh, dw = pair(dilation)
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    cg = c // groups
    full = np.zeros((n, og * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (wd - 1) * sw + dw * (kw - 1) + 1 + opw))
    for g in range(groups):
        inputs, outputs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
        for i in range(h):
            for j in range(wd):
                full[:, outputs, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                     j * sw:j * sw + dw * (kw - 1) + 1:dw] += np.einsum(
                         "nc,cokl->nokl", x[:, inputs, i, j], w[inputs])
    out_h, out_w = full.shape[2] - 2 * ph, full.shape[3] - 2 * pw
    y = full[:, :, ph:ph + out_h, pw:pw + out_w]
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def test_naive_references_agree_with_scipy():
    """The loop reference itself is right: stride 1, no padding, one channel equals
    scipy.signal.correlate2d(mode="valid"), and full padding gives convolve2d(mode="full")."""
    scipy_signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((5, 6)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(naive_conv2d(x[None, None], w[None, None])[0, 0],
                               scipy_signal.correlate2d(x, w, mode="valid"), rtol=1e-12)
    np.testing.assert_allclose(naive_conv_transpose2d(x[None, None], w[None, None])[0, 0],
                               scipy_signal.convolve2d(x, w, mode="full"), rtol=1e-12)


# (batch, in channels, out channels, (H, W), kernel (kh, kw), stride, padding, bias)
CONV2D_CASES = [
    (2, 2, 3, (5, 5), (1, 1), 1, 0, True),      # 1x1 kernel
    (1, 2, 2, (5, 7), (3, 3), 1, 1, False),     # batch 1, 'same' padding, non-square image
    (1, 1, 2, (7, 7), (3, 3), 2, 0, True),      # stride 2, last row/column not reached
    (2, 2, 2, (7, 7), (5, 5), 2, 2, True),      # the WGAN critic's 5x5 / stride 2 / padding 2
    (1, 2, 1, (5, 5), (2, 2), 2, 1, False),     # even kernel, stride 2, padding 1
    (1, 1, 2, (3, 3), (4, 4), 1, 2, True),      # kernel larger than the image, padding makes room
    (1, 2, 2, (5, 5), (5, 5), 1, 0, False),     # 1x1 output
    (2, 1, 2, (7, 5), (3, 2), (2, 1), (1, 0), True),  # per-axis kernel, stride and padding
    (1, 3, 1, (9, 9), (5, 5), 2, 1, False),
    (1, 1, 1, (3, 3), (1, 1), 2, 2, True),      # padding larger than the kernel: a border of bias
]


def conv2d_inputs(case, rng):
    n, c, o, (h, wd), (kh, kw), stride, padding, bias = case
    x, w = leaf(rng.standard_normal((n, c, h, wd))), leaf(rng.standard_normal((o, c, kh, kw)))
    b = leaf(rng.standard_normal(o)) if bias else None
    return x, w, b, stride, padding


@pytest.mark.parametrize("case", CONV2D_CASES, ids=str)
def test_conv2d_forward_matches_naive_loops(case):
    """conv2d values equal the loop reference (catches flipped kernels, wrong strides/offsets)."""
    x, w, b, stride, padding = conv2d_inputs(case, np.random.default_rng(1))
    expected = naive_conv2d(x.numpy(), w.numpy(), None if b is None else b.numpy(), stride, padding)
    out = F.conv2d(x, w, b, stride=stride, padding=padding)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CONV2D_CASES, ids=str)
def test_conv2d_gradients(case):
    """conv2d gradients with respect to input, weight and bias, first and second order."""
    x, w, b, stride, padding = conv2d_inputs(case, np.random.default_rng(2))
    if b is None:
        check(lambda x, w: F.conv2d(x, w, stride=stride, padding=padding), x, w)
    else:
        check(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding), x, w, b)


# (batch, in channels, out channels, (H, W), kernel, stride, padding, output_padding, bias)
CONV_T_CASES = [
    (2, 2, 3, (3, 3), (1, 1), 1, 0, 0, True),    # 1x1 kernel
    (1, 2, 2, (3, 5), (3, 3), 1, 1, 0, False),   # batch 1, non-square
    (1, 2, 1, (3, 3), (3, 3), 2, 1, 1, True),    # stride 2 with output_padding 1
    (2, 2, 1, (3, 3), (5, 5), 2, 2, 1, True),    # the WGAN generator's 5x5 / 2 / 2 / 1
    (1, 1, 2, (3, 3), (4, 4), 2, 0, 0, False),   # even kernel
    (1, 2, 2, (3, 3), (3, 3), 2, 2, 0, True),    # padding 2
    (1, 1, 1, (3, 3), (5, 5), 1, 2, 0, False),   # padding 2, stride 1
    (1, 2, 2, (2, 3), (2, 3), 3, 0, 2, True),    # stride 3, output_padding 2
    (2, 1, 2, (3, 2), (3, 2), (2, 1), (1, 0), (1, 0), False),  # per-axis everything
    (1, 1, 1, (1, 1), (5, 5), 1, 2, 0, True),    # a single input pixel
    (1, 2, 1, (3, 3), (1, 1), 2, 1, 1, False),   # padding as large as the kernel
]


def conv_t_inputs(case, rng):
    n, c, o, (h, wd), (kh, kw), stride, padding, output_padding, bias = case
    x, w = leaf(rng.standard_normal((n, c, h, wd))), leaf(rng.standard_normal((c, o, kh, kw)))
    b = leaf(rng.standard_normal(o)) if bias else None
    return x, w, b, stride, padding, output_padding


@pytest.mark.parametrize("case", CONV_T_CASES, ids=str)
def test_conv_transpose2d_forward_matches_naive_loops(case):
    """conv_transpose2d values and output size equal the scatter reference, output_padding included."""
    x, w, b, stride, padding, output_padding = conv_t_inputs(case, np.random.default_rng(3))
    expected = naive_conv_transpose2d(x.numpy(), w.numpy(), None if b is None else b.numpy(),
                                      stride, padding, output_padding)
    out = F.conv_transpose2d(x, w, b, stride=stride, padding=padding, output_padding=output_padding)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CONV_T_CASES, ids=str)
def test_conv_transpose2d_gradients(case):
    """conv_transpose2d gradients with respect to input, weight and bias, first and second order."""
    x, w, b, stride, padding, output_padding = conv_t_inputs(case, np.random.default_rng(4))
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding)
    if b is None:
        check(lambda x, w: F.conv_transpose2d(x, w, **kwargs), x, w)
    else:
        check(lambda x, w, b: F.conv_transpose2d(x, w, b, **kwargs), x, w, b)


@pytest.mark.parametrize("hw, k, stride, padding", [((7, 7), 5, 2, 2), ((5, 6), 3, 2, 1), ((6, 5), 3, 1, 0),
                                                    ((8, 8), 4, 2, 1), ((9, 7), 5, 3, 2), ((4, 4), 1, 2, 0)],
                         ids=str)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(hw, k, stride, padding):
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)>, with the output_padding that gives back
    x's size; also conv2d's input gradient is exactly conv_transpose2d of the output gradient."""
    rng = np.random.default_rng(5)
    h, wd = hw
    x = leaf(rng.standard_normal((2, 3, h, wd)))
    w = tensor(rng.standard_normal((4, 3, k, k)))
    output_padding = tuple((s + 2 * padding - k) % stride for s in hw)
    y_np = naive_conv2d(x.numpy(), w.numpy(), stride=stride, padding=padding)
    y = tensor(rng.standard_normal(y_np.shape))
    forward = np.sum(F.conv2d(x, w, stride=stride, padding=padding).numpy() * y.numpy())
    back = F.conv_transpose2d(y, w, stride=stride, padding=padding, output_padding=output_padding)
    assert back.shape == x.shape
    np.testing.assert_allclose(forward, np.sum(x.numpy() * back.numpy()), rtol=1e-10)
    (gx,) = mg.grad(F.conv2d(x, w, stride=stride, padding=padding), x, y)
    np.testing.assert_allclose(gx.numpy(), back.numpy(), rtol=1e-10, atol=1e-12)


# ---- dilation, groups, padding "same" / "valid" ----

# (batch, in channels, out channels, (H, W), kernel, stride, padding, dilation, groups, bias)
GROUPED_CASES = [
    (1, 2, 2, (7, 6), (3, 3), 1, 0, 2, 1, True),         # dilation 2
    (2, 2, 3, (9, 7), (3, 2), 2, 1, (2, 3), 1, False),   # per-axis dilation, stride 2, padding
    (1, 4, 6, (5, 5), (3, 3), 1, 1, 1, 2, True),         # 2 groups
    (2, 3, 3, (6, 5), (3, 3), 2, 1, 1, 3, False),        # depthwise (groups == in_channels)
    (1, 3, 6, (5, 6), (2, 3), 1, (1, 0), 2, 3, True),    # depthwise with a multiplier 2, dilated
    (1, 4, 2, (5, 5), (1, 1), 1, 0, 1, 2, True),         # grouped 1x1
]


def grouped_inputs(case, rng, transposed=False):
    n, c, o, (h, wd), (kh, kw), stride, padding, dilation, groups, bias = case
    x = leaf(rng.standard_normal((n, c, h, wd)))
    w = leaf(rng.standard_normal((c, o // groups, kh, kw) if transposed else (o, c // groups, kh, kw)))
    b = leaf(rng.standard_normal(o)) if bias else None
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@pytest.mark.parametrize("case", GROUPED_CASES, ids=str)
def test_conv2d_dilation_and_groups(case):
    """Forward against the loop reference, and gradients to second order."""
    x, w, b, kwargs = grouped_inputs(case, np.random.default_rng(11))
    expected = naive_conv2d(x.numpy(), w.numpy(), None if b is None else b.numpy(), **kwargs)
    out = F.conv2d(x, w, b, **kwargs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    inputs = [x, w] + ([] if b is None else [b])
    check(lambda x, w, *b: F.conv2d(x, w, *b, **kwargs), *inputs)


@pytest.mark.parametrize("case", GROUPED_CASES, ids=str)
def test_conv_transpose2d_dilation_and_groups(case):
    """conv_transpose2d with dilation and groups: forward against the scatter reference (with
    output_padding 1 where the stride allows it), gradients to second order."""
    x, w, b, kwargs = grouped_inputs(case, np.random.default_rng(12), transposed=True)
    kwargs["output_padding"] = 1 if kwargs["stride"] == 2 else 0
    expected = naive_conv_transpose2d(x.numpy(), w.numpy(), None if b is None else b.numpy(),
                                      **kwargs)
    out = F.conv_transpose2d(x, w, b, **kwargs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    inputs = [x, w] + ([] if b is None else [b])
    check(lambda x, w, *b: F.conv_transpose2d(x, w, *b, **kwargs), *inputs)


def test_conv_transpose2d_output_padding_up_to_the_dilation():
    """PyTorch allows output_padding < max(stride, dilation): with stride 1 and dilation 3 an
    output_padding of 2 adds two rows and columns that only the bias reaches."""
    rng = np.random.default_rng(13)
    x, w, b = leaf(rng.standard_normal((1, 2, 3, 4))), leaf(rng.standard_normal((2, 1, 2, 2))), \
        leaf(rng.standard_normal(1))
    kwargs = dict(stride=1, padding=1, output_padding=(2, 1), dilation=3)
    out = F.conv_transpose2d(x, w, b, **kwargs)
    expected = naive_conv_transpose2d(x.numpy(), w.numpy(), b.numpy(), **kwargs)
    assert out.shape == expected.shape == (1, 1, 6, 6)  # (H - 1) - 2 + 3 + op + 1
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    check(lambda x, w, b: F.conv_transpose2d(x, w, b, **kwargs), x, w, b)


def test_depthwise_conv_is_one_conv_per_channel():
    """groups == channels: each output channel is the convolution of its own input channel."""
    rng = np.random.default_rng(14)
    x, w = tensor(rng.standard_normal((2, 3, 6, 5))), tensor(rng.standard_normal((3, 1, 3, 3)))
    out = F.conv2d(x, w, padding=1, groups=3).numpy()
    for c in range(3):
        alone = F.conv2d(x[:, c:c + 1], w[c:c + 1], padding=1).numpy()
        np.testing.assert_allclose(out[:, c:c + 1], alone, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kernel, dilation", [((3, 3), 1), ((4, 2), 1), ((2, 3), (2, 1)), ((5, 4), 2)],
                         ids=str)
def test_conv2d_padding_same(kernel, dilation):
    """padding="same" keeps the input size; an odd total padding d * (k - 1) puts the extra
    row / column at the bottom / right, as PyTorch does (checked against explicit padding)."""
    rng = np.random.default_rng(15)
    x = leaf(rng.standard_normal((1, 2, 6, 7)))
    w = leaf(rng.standard_normal((3, 2) + kernel))
    out = F.conv2d(x, w, padding="same", dilation=dilation)
    assert out.shape == (1, 3, 6, 7)
    (dh, dw) = pair(dilation)
    total = (dh * (kernel[0] - 1), dw * (kernel[1] - 1))
    xp = np.pad(x.numpy(), ((0, 0), (0, 0), (total[0] // 2, total[0] - total[0] // 2),
                            (total[1] // 2, total[1] - total[1] // 2)))
    np.testing.assert_allclose(out.numpy(), naive_conv2d(xp, w.numpy(), dilation=dilation),
                               rtol=1e-10, atol=1e-12)
    check(lambda x, w: F.conv2d(x, w, padding="same", dilation=dilation), x, w)


def test_conv2d_padding_valid_is_no_padding():
    rng = np.random.default_rng(16)
    x, w = tensor(rng.standard_normal((1, 2, 6, 5))), tensor(rng.standard_normal((1, 2, 3, 3)))
    np.testing.assert_array_equal(F.conv2d(x, w, padding="valid").numpy(), F.conv2d(x, w).numpy())


def test_unfold_layout():
    """cols[c, i, j, oh, ow, n] = x_padded[n, c, oh * s + i * d, ow * s + j * d], asymmetric
    padding included: the layout conv2d's weight reshape relies on."""
    rng = np.random.default_rng(17)
    x = rng.standard_normal((2, 3, 6, 5))
    cols = ops.unfold(tensor(x), (2, 3), stride=(2, 1), padding=((1, 0), (0, 2)),
                      dilation=(1, 2)).numpy()
    xp = np.pad(x, ((0, 0), (0, 0), (1, 0), (0, 2)))
    assert cols.shape == (3, 2, 3, 3, 3, 2)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(
                cols[:, i, j], xp[:, :, i:i + 5:2, 2 * j:2 * j + 3].transpose(1, 2, 3, 0))


def test_unfold_and_fold_are_adjoint():
    """<unfold(x), c> == <x, fold(c)>: the two primitives conv is built from are each other's adjoints."""
    rng = np.random.default_rng(6)
    x = tensor(rng.standard_normal((2, 3, 7, 6)))
    cols = ops.unfold(x, (3, 2), stride=2, padding=1)
    c = tensor(rng.standard_normal(cols.shape))
    folded = ops.fold(c, (7, 6), stride=2, padding=1)
    assert folded.shape == x.shape
    np.testing.assert_allclose(np.sum(cols.numpy() * c.numpy()), np.sum(x.numpy() * folded.numpy()),
                               rtol=1e-12)


GEOMETRIES = [  # (C, H, W, N), kernel, out_hw, stride, dilation, start (top, left)
    ((3, 7, 6, 2), (3, 2), (4, 3), (2, 2), (1, 1), (1, 1)),   # stride 2, padding 1
    ((2, 9, 5, 1), (5, 5), (5, 3), (2, 2), (1, 1), (2, 2)),   # the models' 5x5, batch 1
    ((1, 6, 7, 3), (2, 3), (3, 3), (2, 1), (1, 2), (1, 0)),   # asymmetric, dilation 2
    ((4, 5, 5, 2), (3, 3), (2, 2), (3, 2), (2, 1), (0, 1)),   # windows short of the far edge
    ((2, 2, 3, 1), (3, 3), (4, 5), (1, 1), (1, 1), (3, 3)),   # padding wider than the image
    ((1, 4, 4, 2), (2, 2), (5, 5), (1, 1), (1, 1), (0, 0)),   # windows past the far edge
    ((2, 3, 3, 0), (2, 2), (2, 2), (1, 1), (1, 1), (0, 0)),   # an empty batch
]


@pytest.mark.cpu_only("compares the CPU's compiled loops with the array-module path on NumPy")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_compiled_im2col_and_col2im_equal_the_array_module_path(geometry, dtype):
    """The CPU's compiled loops (minigrad.cpu_kernels) and the path CuPy takes give the same
    numbers bit for bit: the same copies, the same additions in the same order."""
    (c, h, w, n), kernel, out_hw, stride, dilation, start = geometry
    rng = np.random.default_rng(18)
    image = rng.standard_normal((c, h, w, n)).astype(dtype)
    assert backend._compiled(image)  # the CPU's path, not the array-module one on both sides
    nchw_view = np.ascontiguousarray(image.transpose(3, 0, 1, 2)).transpose(1, 2, 3, 0)
    for given in (image, nchw_view):  # unfold hands over (C, H, W, N) views of NCHW tensors
        cols = backend.im2col(given, kernel, out_hw, stride, dilation, start)
        assert cols.dtype == dtype and cols.shape == (c,) + kernel + out_hw + (n,)
        np.testing.assert_array_equal(
            cols, backend._im2col_strided(image, kernel, out_hw, stride, dilation, start))
    cols = rng.standard_normal(cols.shape).astype(dtype)
    folded = backend.col2im(cols, (h, w), stride, dilation, start)
    slabs = backend._col2im_slabs(cols, (h, w), stride, dilation, start)
    assert folded.dtype == dtype and folded.shape == (c, h, w, n)
    np.testing.assert_array_equal(folded, slabs)
    if folded.size:  # the same layout too, so that later sums add alike (axes of length 1
        # and empty arrays have no layout to speak of)
        assert ([st for st, k in zip(folded.strides, folded.shape) if k > 1]
                == [st for st, k in zip(slabs.strides, slabs.shape) if k > 1])


def test_unfold_fold_gradients():
    """unfold and fold on their own, first and second order (each is the other's backward)."""
    rng = np.random.default_rng(7)
    x = leaf(rng.standard_normal((1, 2, 5, 5)))
    check(lambda x: ops.unfold(x, (3, 3), stride=2, padding=1) ** 2, x)
    check(lambda x: ops.unfold(x, (2, 2), stride=1, padding=((0, 1), (1, 0)), dilation=2) ** 2, x)
    c = leaf(rng.standard_normal((2, 3, 3, 3, 3, 1)))  # (C, kh, kw, Ho, Wo, N)
    check(lambda c: ops.fold(c, (5, 5), stride=2, padding=1) ** 2, c)


def test_non_contiguous_conv():
    """Transposed (non-contiguous) input and weight: same output as contiguous copies, and gradients check."""
    rng = np.random.default_rng(8)
    x_data = rng.standard_normal((1, 2, 7, 5)).transpose(0, 1, 3, 2)     # (1, 2, 5, 7) view
    w_data = rng.standard_normal((3, 2, 3, 3)).transpose(0, 1, 3, 2)
    x = mg.Tensor._wrap(array_on_device(x_data.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2),
                  requires_grad=True)  # the same views, made on the device
    w = mg.Tensor._wrap(array_on_device(w_data.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2),
                  requires_grad=True)
    assert not x.array.flags.c_contiguous and not w.array.flags.c_contiguous
    expected = naive_conv2d(x_data, w_data, stride=2, padding=1)
    np.testing.assert_allclose(F.conv2d(x, w, stride=2, padding=1).numpy(), expected, rtol=1e-10, atol=1e-12)
    check(lambda x, w: F.conv2d(x, w, stride=2, padding=1), x, w)
    wt = mg.Tensor._wrap(array_on_device(rng.standard_normal((3, 2, 3, 3))).transpose(1, 0, 3, 2),
                   requires_grad=True)  # (2, 3, 3, 3)
    expected = naive_conv_transpose2d(x_data, wt.numpy(), stride=2, padding=1, output_padding=1)
    np.testing.assert_allclose(F.conv_transpose2d(x, wt, stride=2, padding=1, output_padding=1).numpy(),
                               expected, rtol=1e-10, atol=1e-12)
    check(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1), x, wt)
    # a view made inside the graph
    check(lambda x, w: F.conv2d(x.permute(0, 1, 3, 2), w, padding=1), x, w)


def test_conv_chain_second_order():
    """conv -> tanh -> conv_transpose: second derivatives that mix both ops' rules."""
    rng = np.random.default_rng(9)
    x = leaf(rng.standard_normal((1, 1, 5, 5)))
    w1, w2 = leaf(0.5 * rng.standard_normal((2, 1, 3, 3))), leaf(0.5 * rng.standard_normal((2, 1, 3, 3)))
    check(lambda x, w1, w2: F.conv_transpose2d(F.conv2d(x, w1, stride=2, padding=1).tanh(), w2,
                                               stride=2, padding=1), x, w1, w2)


# ---- bad inputs: clear errors naming what was wrong ----


def test_conv2d_channel_mismatch_names_the_channels():
    with pytest.raises(ValueError, match="3 channels") as e:
        F.conv2d(zeros(1, 3, 5, 5), zeros(4, 2, 3, 3))
    assert "(4, 2, 3, 3)" in str(e.value)

def test_conv_transpose2d_channel_mismatch_names_the_channels():
    with pytest.raises(ValueError, match="3 channels") as e:
        F.conv_transpose2d(zeros(1, 3, 5, 5), zeros(2, 4, 3, 3))
    assert "(2, 4, 3, 3)" in str(e.value)

def test_conv2d_needs_4d_tensors():
    with pytest.raises(ValueError, match="4-D") as e:
        F.conv2d(zeros(3, 5, 5), zeros(4, 3, 3, 3))
    assert "(3, 5, 5)" in str(e.value)

def test_conv2d_bias_mismatch():
    with pytest.raises(ValueError, match="bias"):
        F.conv2d(zeros(1, 2, 5, 5), zeros(4, 2, 3, 3), zeros(3))

def test_conv2d_with_an_empty_output():
    """A kernel larger than the padded image would give an empty output: the message says so."""
    with pytest.raises(ValueError, match="empty") as e:
        F.conv2d(zeros(1, 1, 3, 3), zeros(1, 1, 5, 5), padding=0)
    assert "5x5" in str(e.value) and "3x3" in str(e.value)

def test_conv_transpose2d_with_an_empty_output():
    with pytest.raises(ValueError, match="empty"):
        F.conv_transpose2d(zeros(1, 1, 1, 1), zeros(1, 1, 1, 1), padding=1)

def test_conv_stride_zero_and_negative_padding():
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), stride=0)
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), padding=-1)

def test_output_padding_must_be_smaller_than_stride():
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(zeros(1, 1, 3, 3), zeros(1, 1, 3, 3), stride=2, output_padding=2)

def test_conv_arguments_of_the_wrong_type_name_the_argument():
    """stride=1.5 (issue 11), a string or a triple: a TypeError naming the argument, not NumPy's
    message."""
    x, w = zeros(1, 1, 5, 5), zeros(1, 1, 3, 3)
    for kwargs in (dict(stride=1.5), dict(stride=(1, 2, 3)), dict(padding=(1.0, 1)),
                   dict(dilation="2"), dict(stride=True)):
        name = next(iter(kwargs))
        with pytest.raises(TypeError, match=f"{name} must be an int or a pair of ints"):
            F.conv2d(x, w, **kwargs)
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        F.conv_transpose2d(x, w, stride=1.5)

def test_conv_dilation_must_be_positive():
    with pytest.raises(ValueError, match="dilation must be positive"):
        F.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), dilation=0)

def test_conv_padding_strings():
    x, w = zeros(1, 1, 5, 5), zeros(1, 1, 3, 3)
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match="'full'"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(TypeError, match="'same'"):
        F.conv_transpose2d(x, w, padding="same")

def test_conv_groups_that_do_not_fit():
    """Channels that groups does not divide, or a weight for other group sizes: ShapeError
    (a RuntimeError as in PyTorch, and a ValueError) naming the shapes."""
    with pytest.raises(ShapeError, match="groups=2 expects 4") as e:
        F.conv2d(zeros(1, 3, 5, 5), zeros(4, 2, 3, 3), groups=2)
    assert "(4, 2, 3, 3)" in str(e.value)
    with pytest.raises(ShapeError, match="must divide"):
        F.conv2d(zeros(1, 4, 5, 5), zeros(3, 2, 3, 3), groups=2)
    with pytest.raises(ShapeError, match="must divide"):
        F.conv_transpose2d(zeros(1, 3, 5, 5), zeros(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="groups must be a positive int"):
        F.conv2d(zeros(1, 4, 5, 5), zeros(4, 4, 3, 3), groups=0)

def test_conv_dilated_kernel_larger_than_the_input():
    with pytest.raises(ShapeError, match="spanning 5x5") as e:
        F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 3, 3), dilation=2)
    assert "empty" in str(e.value)

def test_conv_transpose2d_output_padding_against_stride_and_dilation():
    with pytest.raises(ValueError, match="either stride"):
        F.conv_transpose2d(zeros(1, 1, 3, 3), zeros(1, 1, 3, 3), stride=2, dilation=2,
                           output_padding=2)


@pytest.mark.parametrize("op, ndim", [(F.conv1d, 3), (F.conv_transpose1d, 3), (F.conv2d, 4),
                                      (F.conv_transpose2d, 4), (F.conv3d, 5)],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_conv_of_mixed_dtypes_names_itself_and_the_dtypes(op, ndim):
    """Every convolution refuses a float32 input with a float64 weight (PyTorch does not
    promote there), naming itself, not the conv2d it is built on."""
    x, w = zeros(*(1, 2) + (3,) * (ndim - 2)), zeros(*(2, 2) + (1,) * (ndim - 2))
    with pytest.raises(RuntimeError, match=rf"^{op.__name__}: .*float32.*float64"):
        op(x, w.astype(np.float64))
