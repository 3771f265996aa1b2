"""interpolate of 3-D (linear) and 5-D (trilinear) inputs, nn.Upsample on them, roll and
cross against PyTorch: forward values, first- and second-order gradients in float64
(compare_with_torch), and forward values in float32, where the index rules show (sizes that
grow, shrink and stay, by size and by factor, with every recompute_scale_factor).
"""
import itertools

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

from test_vs_torch import compare_with_torch

pytestmark = pytest.mark.cpu_only("compares with PyTorch on the CPU")
torch = pytest.importorskip("torch")
TF = torch.nn.functional


def data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# (input shape, keyword arguments of interpolate)
RESIZES = [
    ((2, 3, 5), dict(size=8, mode="linear")),
    ((2, 3, 5), dict(size=3, mode="linear", align_corners=True)),
    ((1, 2, 7), dict(size=7, mode="linear")),
    ((1, 1, 1), dict(size=4, mode="linear", align_corners=True)),
    ((2, 1, 5), dict(scale_factor=1.7, mode="linear")),
    ((2, 1, 5), dict(scale_factor=0.6, mode="linear", recompute_scale_factor=True)),
    ((2, 3, 5), dict(size=9, mode="nearest")),
    ((2, 3, 5), dict(scale_factor=2, mode="nearest")),
    ((2, 3, 7), dict(scale_factor=0.45, mode="nearest")),
    ((1, 2, 3, 4, 5), dict(size=(5, 2, 5), mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(size=(2, 7, 3), mode="trilinear", align_corners=True)),
    ((2, 1, 3, 2, 4), dict(scale_factor=(1.5, 2, 0.75), mode="trilinear")),
    ((2, 1, 3, 2, 4), dict(scale_factor=1.5, mode="trilinear", recompute_scale_factor=True)),
    ((1, 2, 3, 4, 5), dict(size=(6, 3, 5), mode="nearest")),
    ((1, 2, 3, 2, 3), dict(scale_factor=(2, 3, 1), mode="nearest")),
    ((1, 1, 4, 5, 3), dict(scale_factor=(0.6, 1.3, 2.5), mode="nearest")),
]


@pytest.mark.parametrize("shape, options", RESIZES, ids=str)
def test_interpolate_3d_and_5d_vs_torch(shape, options):
    compare_with_torch(lambda x: F.interpolate(x, **options),
                       lambda x: TF.interpolate(x, **options), [data(*shape)])


@pytest.mark.parametrize("mode, in_size, out, recompute",
                         itertools.product(["nearest", "linear"], [5, 7], [2, 5, 11, 1.3, 0.7,
                                                                           2.0], [None, True]))
def test_interpolate_1d_weights_in_float32(mode, in_size, out, recompute):
    """Each one-hot input gives the weights that input pixel has in every output pixel, with
    no sum whose order could differ: nearest's must be PyTorch's bit for bit, linear's within
    a few units in the last place (PyTorch's kernels fuse the source point's multiply-add on
    CPUs with FMA, see test_ops_resample.py); a wrong index is off by far more."""
    options = (dict(size=out) if isinstance(out, int)
               else dict(scale_factor=out, recompute_scale_factor=recompute))
    x = np.eye(in_size, dtype=np.float32)[:, None, :]
    ours = F.interpolate(mg.tensor(x), mode=mode, **options).numpy()
    theirs = TF.interpolate(torch.tensor(x), mode=mode, **options).numpy()
    atol = 0 if mode == "nearest" else 4 * np.finfo(np.float32).eps
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol)


def test_upsample_layers_vs_torch():
    for shape, options in [((2, 3, 5), dict(scale_factor=2.5, mode="linear")),
                           ((1, 2, 3, 4, 2), dict(size=(4, 4, 5), mode="trilinear",
                                                  align_corners=True)),
                           ((1, 2, 3, 4, 2), dict(scale_factor=2))]:
        compare_with_torch(nn.Upsample(**options), torch.nn.Upsample(**options), [data(*shape)])


ROLLS = [
    ((3, 4), 1, None), ((3, 4), -7, None), ((2, 3, 4), 2, -1), ((2, 3, 4), (1, -2), (0, 2)),
    ((2, 3, 4), (1, 1), (1, 1)), ((5,), 5, 0), ((1, 5), 13, 1),
]


@pytest.mark.parametrize("shape, shifts, dims", ROLLS, ids=str)
def test_roll_vs_torch(shape, shifts, dims):
    compare_with_torch(lambda x: mg.roll(x, shifts, dims), lambda x: torch.roll(x, shifts, dims),
                       [data(*shape)])


CROSSES = [((4, 3), (4, 3), -1), ((3, 5), (3, 1), 0), ((2, 3, 4), (1, 3, 1), 1),
           ((1, 2, 3), (4, 1, 3), -1), ((3,), (3,), 0)]


@pytest.mark.parametrize("a_shape, b_shape, dim", CROSSES, ids=str)
def test_cross_vs_torch(a_shape, b_shape, dim):
    compare_with_torch(lambda a, b: mg.cross(a, b, dim), lambda a, b: torch.cross(a, b, dim=dim),
                       [data(*a_shape), data(*b_shape, seed=1)])
    compare_with_torch(lambda a, b: a.cross(b, dim), lambda a, b: torch.linalg.cross(a, b, dim=dim),
                       [data(*a_shape), data(*b_shape, seed=1)])
