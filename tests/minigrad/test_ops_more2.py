"""interpolate of (N, C, L) and (N, C, D, H, W) inputs (nearest, linear, trilinear) and
nn.Upsample on them, roll and cross: first- and second-order finite-difference checks in
float64 on odd sizes, size-1 axes, broadcasting and negative dims; fixed values; the errors;
and the "missing name" tables, which must list only names minigrad really lacks. Runs on both
devices; the PyTorch comparison is test_ops_more2_vs_torch.py.
"""
import types

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.errors import AxisError, ShapeError

from devices import leaf, tensor, to_device


def data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# name: (function of the float64 leaves, their arrays)
CASES = {
    "linear grows": (lambda x: F.interpolate(x, size=8, mode="linear"), [data(2, 3, 5)]),
    "linear shrinks, corners": (lambda x: F.interpolate(x, size=3, mode="linear",
                                                        align_corners=True), [data(1, 2, 7)]),
    "linear by factor": (lambda x: F.interpolate(x, scale_factor=1.7, mode="linear"),
                         [data(2, 1, 5)]),
    "nearest 1-d": (lambda x: F.interpolate(x, size=4), [data(1, 2, 7)]),
    "nearest 1-d doubles": (lambda x: F.interpolate(x, scale_factor=2), [data(2, 1, 3)]),
    "trilinear": (lambda x: F.interpolate(x, size=(2, 5, 3), mode="trilinear"),
                  [data(1, 2, 3, 4, 5)]),
    "trilinear corners, kept axis": (lambda x: F.interpolate(x, size=(3, 1, 4), mode="trilinear",
                                                             align_corners=True),
                                     [data(2, 1, 3, 2, 3)]),
    "nearest 3-d": (lambda x: F.interpolate(x, scale_factor=(0.6, 1.5, 2)),
                    [data(1, 2, 5, 3, 2)]),
    "upsample linear": (nn.Upsample(scale_factor=2.5, mode="linear"), [data(2, 3, 3)]),
    "roll flattened": (lambda x: mg.roll(x, -4), [data(3, 5)]),
    "roll two dims": (lambda x: x.roll((2, -1), (0, -1)), [data(3, 1, 5)]),
    "roll one dim twice": (lambda x: mg.roll(x, (1, 3), (1, 1)), [data(2, 5)]),
    "cross last dim": (lambda a, b: mg.cross(a, b, -1), [data(4, 3), data(4, 3, seed=1)]),
    "cross broadcast": (lambda a, b: a.cross(b, 1), [data(2, 3, 1), data(1, 3, 4, seed=1)]),
    "cross batch 1, dim 0": (lambda a, b: mg.cross(a, b, 0), [data(3, 1), data(3, 5, seed=1)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_to_second_order(name):
    fn, arrays = CASES[name]
    if isinstance(fn, nn.Module):
        fn = to_device(fn)
    inputs = [leaf(a) for a in arrays]
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def test_interpolate_fixed_values():
    line = tensor(np.array([[[0.0, 2.0, 4.0]]]))
    np.testing.assert_allclose(F.interpolate(line, size=5, mode="linear", align_corners=True)
                               .numpy(), [[[0, 1, 2, 3, 4]]])
    # 2 -> 4 without corners: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (the last pixel)
    np.testing.assert_allclose(F.interpolate(tensor(np.array([[[0.0, 3.0]]])), size=4,
                                             mode="linear").numpy(), [[[0, 0.75, 2.25, 3]]])
    # nearest 3 -> 5 reads floor(0.6 * i): 0, 0, 1, 1, 2
    np.testing.assert_array_equal(F.interpolate(tensor(np.array([[[1.0, 2.0, 3.0]]])), size=5)
                                  .numpy(), [[[1, 1, 2, 2, 3]]])
    # trilinear reproduces an affine function: 4d + 2h + w on a 2x2x2 grid, at half steps
    d, h, w = np.indices((2, 2, 2), dtype=np.float64)
    cube = tensor((4 * d + 2 * h + w)[None, None])
    d, h, w = np.indices((3, 3, 3)) / 2
    np.testing.assert_allclose(F.interpolate(cube, size=3, mode="trilinear", align_corners=True)
                               .numpy()[0, 0], 4 * d + 2 * h + w, atol=1e-12)
    doubled = F.interpolate(cube, scale_factor=2).numpy()[0, 0]
    assert doubled.shape == (4, 4, 4)
    np.testing.assert_array_equal(doubled, cube.numpy()[0, 0].repeat(2, 0).repeat(2, 1)
                                  .repeat(2, 2))
    np.testing.assert_array_equal(nn.Upsample(size=(2, 4, 2))(cube).numpy(), doubled[None, None,
                                                                                    ::2, :, ::2])


def test_roll_and_cross_fixed_values():
    x = tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(mg.roll(x, 1).numpy(), [[5, 0, 1], [2, 3, 4]])
    np.testing.assert_array_equal(x.roll((1, -1), (0, 1)).numpy(), [[4, 5, 3], [1, 2, 0]])
    np.testing.assert_array_equal(mg.roll(x, 3, -1).numpy(), x.numpy())
    assert mg.roll(tensor(np.zeros((0, 3))), 1, 0).shape == (0, 3)
    a = tensor(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))  # columns: e_x, e_y
    b = tensor(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))  # columns: e_y, e_z
    np.testing.assert_array_equal(mg.cross(a, b, 0).numpy(), [[0, 1], [0, 0], [1, 0]])
    np.testing.assert_array_equal(b.cross(a, dim=-2).numpy(), [[0, -1], [0, 0], [-1, 0]])


def test_errors_name_what_was_wrong():
    x = tensor(np.zeros((1, 2, 4)))
    with pytest.raises(NotImplementedError, match="'bilinear'.*3-D.*'linear'"):
        F.interpolate(x, size=3, mode="bilinear")
    with pytest.raises(NotImplementedError, match="'linear'.*5-D.*'trilinear'"):
        F.interpolate(tensor(np.zeros((1, 1, 2, 2, 2))), size=3, mode="linear")
    with pytest.raises(ValueError, match=r"size must be a positive int or 1 of them \(length\)"):
        F.interpolate(x, size=(3, 3), mode="linear")
    with pytest.raises(ValueError, match="3 of them"):
        F.interpolate(tensor(np.zeros((1, 1, 2, 2, 2))), scale_factor=(2, 2))
    with pytest.raises(ShapeError, match=r"3-D to 5-D.*\(1, 1, 1, 1, 1, 1\)"):
        F.interpolate(tensor(np.zeros((1,) * 6)), size=2)
    with pytest.raises(ValueError, match="one per spatial axis"):
        F.upsample_nearest(x, (2, 2))
    with pytest.raises(ValueError, match="'cubic'"):
        nn.Upsample(scale_factor=2, mode="cubic")
    y = tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must align"):
        mg.roll(y, (1, 2))
    with pytest.raises(ValueError, match="must align"):
        mg.roll(y, (1, 2), (0,))
    with pytest.raises(TypeError, match="shifts must be"):
        mg.roll(y, 1.5, 0)
    with pytest.raises(AxisError, match="out of range"):
        mg.roll(y, 1, 2)
    with pytest.raises(TypeError, match="pass dim="):
        mg.cross(y, y)
    with pytest.raises(ShapeError, match="size 3"):
        mg.cross(y, y, 0)
    with pytest.raises(ShapeError, match="same number of dimensions"):
        mg.cross(y, tensor(np.zeros(3)), -1)
    with pytest.raises(RuntimeError, match="one dtype.*float64.*float32"):
        mg.cross(y, tensor(np.zeros((2, 3), dtype=np.float32)), 1)
    with pytest.raises(ShapeError, match="do not broadcast"):
        mg.cross(y, tensor(np.zeros((4, 3))), 1)


@pytest.mark.parametrize("module", [mg, nn, F, optim], ids=lambda m: m.__name__)
def test_missing_name_tables_list_only_missing_names(module):
    """Each module's table of PyTorch names minigrad lacks must not name something minigrad
    has (it would hide nothing, but tell users something false in other places' docs)."""
    present = sorted(name for name in module._MISSING if name in vars(module)
                     and not isinstance(vars(module)[name], types.ModuleType))  # imported later:
    # a submodule loaded only on demand (minigrad.distributed, under mpiexec) may be named
    assert not present, f"{module.__name__}._MISSING lists names that exist: {present}"
    name = sorted(module._MISSING)[0]
    with pytest.raises(AttributeError, match="PyTorch has"):
        getattr(module, name)
