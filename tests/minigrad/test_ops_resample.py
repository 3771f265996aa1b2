"""F.interpolate (nearest to any size, bilinear with and without align_corners), upsample_nearest
and nn.Upsample: values against per-pixel references written from PyTorch's index rules,
gradients to first and second order in float64, and clear errors.
"""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.errors import ShapeError

from devices import leaf, tensor, zeros


def check(fn, *inputs):
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def nearest_reference(x, out_hw):
    """y[..., i, j] = x[..., floor(i * H / Ho), floor(j * W / Wo)], in exact integer arithmetic."""
    h, w = x.shape[2:]
    (oh, ow) = out_hw
    rows = [i * h // oh for i in range(oh)]
    cols = [j * w // ow for j in range(ow)]
    return x[:, :, rows][:, :, :, cols]


def bilinear_reference(x, out_hw, align_corners, factors=(None, None)):
    """One output pixel at a time: its source point (PyTorch's area_pixel_compute_source_index)
    and the four surrounding pixels' weights."""
    n, c, h, w = x.shape
    oh, ow = out_hw

    def source(dst, size, out, factor):
        if align_corners:
            return dst * (size - 1) / (out - 1) if out > 1 else 0.0
        scale = 1 / factor if factor else size / out
        return max((dst + 0.5) * scale - 0.5, 0.0)

    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        sy = source(i, h, oh, factors[0])
        y0 = int(math.floor(sy))
        y1, ly = min(y0 + 1, h - 1), sy - y0
        for j in range(ow):
            sx = source(j, w, ow, factors[1])
            x0 = int(math.floor(sx))
            x1, lx = min(x0 + 1, w - 1), sx - x0
            y[:, :, i, j] = ((1 - ly) * ((1 - lx) * x[:, :, y0, x0] + lx * x[:, :, y0, x1])
                             + ly * ((1 - lx) * x[:, :, y1, x0] + lx * x[:, :, y1, x1]))
    return y


@pytest.mark.parametrize("size", [(9, 4), (3, 3), (10, 14), (15, 21), (1, 1), (5, 7), (2, 11)],
                         ids=str)
def test_nearest_to_any_size(size):
    """Up, down, mixed, identity, to 1x1: PyTorch's index floor(out_index * in / out)."""
    x = leaf(np.random.default_rng(0).standard_normal((2, 3, 5, 7)))
    y = F.interpolate(x, size=size)
    np.testing.assert_array_equal(y.numpy(), nearest_reference(x.numpy(), size))
    check(lambda x: F.interpolate(x, size=size), x)


def test_nearest_by_a_scale_factor():
    """The output size is floor(in * factor); the source index uses 1 / factor."""
    x = leaf(np.random.default_rng(1).standard_normal((1, 2, 4, 6)))
    y = F.interpolate(x, scale_factor=(1.5, 0.5))
    assert y.shape == (1, 2, 6, 3)
    rows, cols = [math.floor(i / 1.5) for i in range(6)], [math.floor(j / 0.5) for j in range(3)]
    np.testing.assert_array_equal(y.numpy(), x.numpy()[:, :, rows][:, :, :, cols])
    check(lambda x: F.interpolate(x, scale_factor=(1.5, 0.5)), x)


@pytest.mark.parametrize("factor", [2, 3, (2, 1)], ids=str)
def test_nearest_by_whole_factors_repeats_pixels(factor):
    """Whole factors repeat each pixel: the same values as numpy.repeat, computed by
    broadcasting (no matrix product in the graph)."""
    x = leaf(np.random.default_rng(2).standard_normal((2, 1, 3, 4)))
    fh, fw = (factor, factor) if isinstance(factor, int) else factor
    y = F.interpolate(x, scale_factor=factor)
    np.testing.assert_array_equal(y.numpy(), x.numpy().repeat(fh, axis=2).repeat(fw, axis=3))
    assert y.grad_fn.op != "matmul"
    (g,) = mg.grad(y.sum(), x)
    np.testing.assert_array_equal(g.numpy(), np.full(x.shape, fh * fw))


@pytest.mark.parametrize("size", [(9, 4), (3, 3), (10, 14), (1, 1), (2, 11)], ids=str)
@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear(size, align_corners):
    x = leaf(np.random.default_rng(3).standard_normal((2, 2, 5, 7)))
    y = F.interpolate(x, size=size, mode="bilinear", align_corners=align_corners)
    np.testing.assert_allclose(y.numpy(), bilinear_reference(x.numpy(), size, align_corners),
                               rtol=1e-12, atol=1e-14)
    check(lambda x: F.interpolate(x, size=size, mode="bilinear", align_corners=align_corners), x)


def test_bilinear_by_a_scale_factor():
    """With a scale factor (and recompute_scale_factor left off), the source point uses
    1 / factor, which differs from in / out when in * factor is not whole."""
    x = leaf(np.random.default_rng(4).standard_normal((1, 1, 5, 4)))
    y = F.interpolate(x, scale_factor=1.7, mode="bilinear")
    assert y.shape == (1, 1, 8, 6)
    np.testing.assert_allclose(y.numpy(), bilinear_reference(x.numpy(), (8, 6), False, (1.7, 1.7)),
                               rtol=1e-12, atol=1e-14)
    recomputed = F.interpolate(x, scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)
    np.testing.assert_allclose(recomputed.numpy(), bilinear_reference(x.numpy(), (8, 6), False),
                               rtol=1e-12, atol=1e-14)
    assert not np.allclose(recomputed.numpy(), y.numpy())
    check(lambda x: F.interpolate(x, scale_factor=1.7, mode="bilinear"), x)


def test_bilinear_keeps_constants_and_corners():
    x = tensor(np.random.default_rng(5).standard_normal((1, 1, 4, 5)))
    y = F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True).numpy()
    np.testing.assert_allclose(y[0, 0, [0, 0, -1, -1], [0, -1, 0, -1]],
                               x.numpy()[0, 0, [0, 0, -1, -1], [0, -1, 0, -1]], rtol=1e-14)
    flat = F.interpolate(tensor(np.full((1, 2, 3, 3), 1.5)), size=(5, 8), mode="bilinear")
    np.testing.assert_allclose(flat.numpy(), 1.5, rtol=1e-15)


def test_interpolate_stays_float32():
    x = tensor(np.random.default_rng(6).standard_normal((1, 2, 3, 3)), dtype=np.float32,
               requires_grad=True)
    for mode in ("nearest", "bilinear"):
        y = F.interpolate(x, size=(5, 4), mode=mode)
        (g,) = mg.grad(y.sum(), x)
        assert y.dtype == g.dtype == np.float32


def test_upsample_module():
    x = leaf(np.random.default_rng(7).standard_normal((1, 2, 3, 4)))
    np.testing.assert_array_equal(nn.Upsample(scale_factor=2)(x).numpy(),
                                  x.numpy().repeat(2, axis=2).repeat(2, axis=3))
    np.testing.assert_array_equal(nn.Upsample(size=(5, 5))(x).numpy(),
                                  nearest_reference(x.numpy(), (5, 5)))
    up = nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True)
    np.testing.assert_allclose(up(x).numpy(), bilinear_reference(x.numpy(), (4, 6), True),
                               rtol=1e-12, atol=1e-14)
    assert up.extra_repr() == "scale_factor=1.5, mode='bilinear'"


# ---- bad inputs: clear errors naming what was wrong ----

def test_interpolate_needs_exactly_one_of_size_and_scale_factor():
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(zeros(1, 1, 2, 2), size=3, scale_factor=2)
    with pytest.raises(ValueError, match="exactly one"):
        nn.Upsample()

def test_interpolate_bad_values():
    x = zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="size must be a positive int"):
        F.interpolate(x, size=(0, 2))
    with pytest.raises(ValueError, match="size must be a positive int"):
        F.interpolate(x, size=2.5)
    with pytest.raises(ValueError, match="scale_factor must be a positive number"):
        F.interpolate(x, scale_factor=-2)
    with pytest.raises(ShapeError, match="leaves no pixels"):
        F.interpolate(x, scale_factor=0.25)

def test_interpolate_modes_and_options():
    x = zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="'bicubic'"):
        F.interpolate(x, size=3, mode="bicubic")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, size=3, align_corners=True)
    with pytest.raises(ValueError, match="'area'"):
        nn.Upsample(scale_factor=2, mode="area")

def test_interpolate_input_checks():
    with pytest.raises(ShapeError, match=r"\(2, 2\)"):
        F.interpolate(zeros(2, 2), size=3)
    with pytest.raises(TypeError, match="int64"):
        F.interpolate(tensor(np.zeros((1, 1, 2, 2), dtype=np.int64)), size=3)
    with pytest.raises(ValueError, match="whole scale factor"):
        F.upsample_nearest(zeros(1, 1, 2, 2), 1.5)


# ---- against PyTorch: every index rule, sizes that stay, shrink and grow ----

EDGE = 2.5 / (1.5 - 1e-9)  # 3 rows -> 5: row 2 reads from 1 - 1e-9, which PyTorch rounds to 1

# (input height and width, interpolate's size / scale_factor arguments): each pair of axes
# keeps, shrinks or grows, by a factor or to a size
RESIZES = [
    ((3, 7), dict(scale_factor=(1.3, 0.6))),     # 3 -> 3 (kept though the factor is not 1), 7 -> 4
    ((3, 7), dict(scale_factor=(1.9, 1.0))),     # grows to 5, kept
    ((4, 7), dict(scale_factor=(0.9, 1.1))),     # shrinks to 3, kept by 1.1
    ((3, 4), dict(scale_factor=(2.0, 2.6))),     # doubles, grows to 10
    ((3, 2), dict(scale_factor=(EDGE, 0.5))),    # a source point just below a whole number; to 1
    ((3, 7), dict(size=(3, 7))), ((5, 4), dict(size=(2, 9))), ((2, 3), dict(size=(1, 1))),
]
OPTIONS = [dict(mode="nearest"), dict(mode="bilinear"),
           dict(mode="bilinear", align_corners=True)]


def _resize_cases():
    for hw, resize in RESIZES:
        recomputes = [None, False, True] if "scale_factor" in resize else [None]
        for options in OPTIONS:
            for recompute in recomputes:
                yield hw, dict(resize, recompute_scale_factor=recompute, **options)


@pytest.mark.cpu_only("compares with PyTorch on the CPU")
@pytest.mark.parametrize("hw, kwargs", list(_resize_cases()), ids=str)
def test_interpolate_vs_torch_to_second_order(hw, kwargs):
    """Values, first and second derivatives against PyTorch in float64 (the matrices of
    both axes at once)."""
    pytest.importorskip("torch")
    from test_vs_torch import TF, compare_with_torch
    x = np.random.default_rng(8).standard_normal((2, 3) + hw)
    compare_with_torch(lambda x: F.interpolate(x, **kwargs), lambda x: TF.interpolate(x, **kwargs),
                       [x])


@pytest.mark.cpu_only("compares with PyTorch on the CPU")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hw, kwargs", list(_resize_cases()), ids=str)
def test_interpolate_weights_are_torchs(hw, kwargs, dtype):
    """Each axis's weights, read off by resizing one-hot rows (channel c holds e_c along the
    axis, the other axis has size 1 and is kept), equal PyTorch's to a few units in the last
    place in float32 and float64: each output is a single weight times 1, so no sum's order
    enters, and a wrong index or a resampled kept axis is off by far more. (Not bit for bit:
    PyTorch's kernels for CPUs with FMA fuse the source point's multiply-add.)"""
    torch = pytest.importorskip("torch")
    for axis, size in enumerate(hw):
        one_hot = np.eye(size, dtype=dtype).reshape((1, size) + ((size, 1) if axis == 0 else
                                                                   (1, size)))
        axis_kwargs = {k: ((v[0], 1) if axis == 0 else (1, v[1]))
                       if k in ("size", "scale_factor") else v for k, v in kwargs.items()}
        mine = F.interpolate(tensor(one_hot), **axis_kwargs).numpy()
        theirs = torch.nn.functional.interpolate(torch.tensor(one_hot), **axis_kwargs).numpy()
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=4 * np.finfo(dtype).eps,
                                   err_msg=f"axis {axis}")


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_an_axis_that_keeps_its_size_is_copied(mode):
    """3 rows x 1.3 stay 3 rows: PyTorch copies them (it does not resample with 1 / 1.3,
    which would read rows 0, 0.654, 1.423); the other axis is resampled."""
    x = leaf(np.random.default_rng(9).standard_normal((1, 2, 3, 4)))
    y = F.interpolate(x, scale_factor=(1.3, 1.5), mode=mode)
    assert y.shape == (1, 2, 3, 6)
    np.testing.assert_array_equal(y.numpy(), F.interpolate(x, size=(3, 6), mode=mode).numpy())
    rows = F.interpolate(x, scale_factor=(1.3, 1.0), mode=mode)
    np.testing.assert_array_equal(rows.numpy(), x.numpy())
    check(lambda x: F.interpolate(x, scale_factor=(1.3, 1.5), mode=mode), x)
