"""Padding: mg.pad (NumPy-style pairs per axis) and F.pad (PyTorch's flat tuple, last axis
first), modes constant (any fill value, negative widths crop), reflect, replicate and circular,
against numpy.pad; gradients to first and second order in float64; clear errors.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

from devices import leaf, tensor, zeros

NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def check(fn, *inputs):
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad_width", [((0, 0), (0, 0), (2, 1), (1, 3)), ((0, 0), (1, 1), (0, 0), (3, 0)),
                                       ((1, 0), (0, 0), (2, 2), (0, 0))], ids=str)
def test_pad_modes_match_numpy(mode, pad_width):
    """reflect = numpy's "reflect" (edge not repeated), replicate = "edge", circular = "wrap",
    on odd sizes, one side at a time, several axes at once."""
    x = leaf(data((2, 3, 4, 5)))
    expected = np.pad(x.numpy(), pad_width, mode=NUMPY_MODE[mode])
    np.testing.assert_array_equal(mg.pad(x, pad_width, mode).numpy(), expected)
    small = leaf(data((2, 2, 3, 4), 1))
    check(lambda x: mg.pad(x, pad_width, mode) ** 2, small)


def test_pad_widths_at_the_limits():
    """reflect up to size - 1, circular up to size, replicate any width."""
    x = leaf(data((1, 1, 3, 4)))
    for mode, width in (("reflect", (2, 3)), ("circular", (3, 4)), ("replicate", (7, 9))):
        pairs = ((0, 0), (0, 0), (width[0], width[0]), (width[1], width[1]))
        np.testing.assert_array_equal(mg.pad(x, pairs, mode).numpy(),
                                      np.pad(x.numpy(), pairs, mode=NUMPY_MODE[mode]))
    check(lambda x: mg.pad(x, ((0, 0), (0, 0), (2, 2), (3, 3)), "reflect"), x)


def test_constant_padding_with_a_fill_value():
    x = leaf(data((2, 3)))
    y = mg.pad(x, ((1, 2), (0, 1)), value=-1.5)
    np.testing.assert_array_equal(y.numpy(), np.pad(x.numpy(), ((1, 2), (0, 1)), constant_values=-1.5))
    check(lambda x: mg.pad(x, ((1, 2), (0, 1)), value=-1.5) ** 2, x)


def test_negative_widths_crop():
    x = leaf(data((3, 6)))
    y = mg.pad(x, ((-1, 2), (1, -2)))
    np.testing.assert_array_equal(y.numpy(), np.pad(x.numpy()[1:, :4], ((0, 2), (1, 0))))
    check(lambda x: mg.pad(x, ((-1, 2), (1, -2))), x)


def test_F_pad_takes_pytorchs_flat_tuple_last_axis_first():
    """F.pad(x, (left, right, top, bottom)) pads the last axis by (left, right) and the one
    before by (top, bottom): the same op as mg.pad with the pairs in axis order."""
    x = leaf(data((1, 2, 3, 4)))
    for mode in ("constant", "reflect", "replicate", "circular"):
        np.testing.assert_array_equal(
            F.pad(x, (1, 2, 2, 0), mode=mode).numpy(),
            mg.pad(x, ((0, 0), (0, 0), (2, 0), (1, 2)), mode).numpy())
    np.testing.assert_array_equal(F.pad(x, (3, 1)).numpy(),
                                  np.pad(x.numpy(), ((0, 0), (0, 0), (0, 0), (3, 1))))
    np.testing.assert_array_equal(F.pad(x, (0, 0, 0, 0, 1, 1), value=2.0).numpy(),
                                  np.pad(x.numpy(), ((0, 0), (1, 1), (0, 0), (0, 0)),
                                         constant_values=2.0))
    check(lambda x: F.pad(x, (1, 2, 2, 0), mode="reflect") ** 2, x)


def test_padding_keeps_float32():
    x = tensor(data((1, 1, 3, 3)), dtype=np.float32, requires_grad=True)
    for mode in ("constant", "reflect", "replicate", "circular"):
        y = F.pad(x, (1, 1, 2, 2), mode=mode)
        (g,) = mg.grad(y.sum(), x)
        assert y.dtype == g.dtype == np.float32


# ---- bad inputs: clear errors naming what was wrong ----

def test_pad_widths_beyond_what_the_mode_allows():
    x = zeros(1, 1, 3, 4)
    with pytest.raises(ValueError, match=r"'reflect' on axis 2 of size 3 .* at most 2"):
        mg.pad(x, ((0, 0), (0, 0), (3, 0), (0, 0)), "reflect")
    with pytest.raises(ValueError, match=r"'circular' on axis 3 of size 4 .* at most 4"):
        F.pad(x, (0, 5), mode="circular")
    with pytest.raises(ValueError, match="negative padding"):
        F.pad(x, (-1, 1), mode="replicate")

def test_F_pad_argument_checks():
    x = zeros(1, 1, 3, 4)
    with pytest.raises(TypeError, match="mg.pad"):
        F.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    with pytest.raises(ValueError, match="two per padded axis"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match="at most 8"):
        F.pad(x, (1,) * 10)
    with pytest.raises(ValueError, match="takes no fill value"):
        F.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(ValueError, match="'symmetric'"):
        F.pad(x, (1, 1), mode="symmetric")

def test_mg_pad_width_checks():
    with pytest.raises(ValueError, match="pad_width"):
        mg.pad(zeros(2, 3), ((1, 1),))
    with pytest.raises(ValueError, match="pad_width"):
        mg.pad(zeros(2, 3), (1, 1))
