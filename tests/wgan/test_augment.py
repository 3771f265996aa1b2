"""Tests of wgan.augment (DiffAugment's translation and cutout) against NumPy references built
with np.roll and slicing, and to second order with gradcheck / gradgradcheck."""
import numpy as np
import pytest

import devices
import minigrad as mg
from wgan import augment


def images(n, c, size, seed=0, dtype=np.float64):
    """Random images in (1, 2): no pixel equals a fill value by chance."""
    return 1.0 + np.random.default_rng(seed).random((n, c, size, size)).astype(dtype)


def rolled(image, dy, dx, fill):
    """image (C x H x W) moved dy rows down and dx columns right, ``fill`` where it moved out."""
    out = np.roll(image, (dy, dx), axis=(-2, -1))
    rows, columns = np.arange(image.shape[-2]), np.arange(image.shape[-1])
    out[:, (rows - dy < 0) | (rows - dy >= len(rows)), :] = fill
    out[:, :, (columns - dx < 0) | (columns - dx >= len(columns))] = fill
    return out


def cut(image, top, left, side, fill):
    out = image.copy()
    out[:, max(top, 0):max(top + side, 0), max(left, 0):max(left + side, 0)] = fill
    return out


def augmented(x, d, fill=0.0):
    return augment.apply(devices.tensor(x), d, fill).numpy()


# ---------------------------------------------------------------------------------------------
# policies


def test_parse_policy():
    assert augment.parse_policy("translation,cutout") == ("translation", "cutout")
    assert augment.parse_policy(" cutout , translation") == ("translation", "cutout")
    assert augment.parse_policy("cutout") == ("cutout",)
    assert augment.parse_policy("") == augment.parse_policy("none") == ()


def test_parse_policy_names_the_unknown_name_and_the_choices():
    with pytest.raises(ValueError, match=r"'color'.*translation, cutout"):
        augment.parse_policy("translation,color")


# ---------------------------------------------------------------------------------------------
# what apply does


@pytest.mark.parametrize("fill", [0.0, -1.0])
def test_translation_is_a_roll_with_fill(fill):
    x = images(6, 2, 16)
    shifts = np.array([[0, 0], [2, -2], [-2, 1], [1, 0], [0, -1], [5, -7]])  # r = 2 at size 16
    y = augmented(x, augment.Draw(shifts=shifts), fill)
    for image, out, (dy, dx) in zip(x, y, shifts):
        np.testing.assert_allclose(out, rolled(image, dy, dx, fill), rtol=0, atol=1e-12,
                                   err_msg=f"shift {(dy, dx)}")


@pytest.mark.parametrize("fill", [0.0, -1.0])
def test_cutout_sets_exactly_the_square_clipped_at_the_edge(fill):
    x = images(5, 3, 7)
    side = augment.cutout_side(7)
    assert side == 4
    boxes = np.array([[0, 0], [-2, -2], [5, 3], [3, 6], [-2, 5]])
    y = augmented(x, augment.Draw(boxes=boxes), fill)
    for image, out, (top, left) in zip(x, y, boxes):
        np.testing.assert_allclose(out, cut(image, top, left, side, fill), rtol=0, atol=1e-12,
                                   err_msg=f"box at {(top, left)}")
        assert np.count_nonzero(out == fill) == image.shape[0] * (
            (min(top + side, 7) - max(top, 0)) * (min(left + side, 7) - max(left, 0)))


def test_translation_then_cutout():
    x = images(2, 1, 8)
    d = augment.Draw(shifts=np.array([[1, -2], [-1, 0]]), boxes=np.array([[4, -1], [0, 2]]))
    y = augmented(x, d, -1.0)
    for image, out, (dy, dx), (top, left) in zip(x, y, d.shifts, d.boxes):
        expected = cut(rolled(image, dy, dx, -1.0), top, left, 4, -1.0)
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


def test_float32_stays_float32_on_the_device():
    x = devices.tensor(images(2, 3, 8, dtype=np.float32))
    y = augment.apply(x, augment.draw(augment.POLICIES, 2, 8, np.random.default_rng(0)))
    assert y.dtype == np.float32 and devices.on_device(y)


def test_empty_policy_returns_x_unchanged():
    x = devices.tensor(images(2, 3, 8))
    d = augment.draw(augment.parse_policy("none"), 2, 8, np.random.default_rng(0))
    assert d.shifts is None and d.boxes is None
    np.testing.assert_array_equal(augment.apply(x, d, -1.0).numpy(), x.numpy())


# ---------------------------------------------------------------------------------------------
# draw


def test_draw_ranges_hit_every_value():
    rng = np.random.default_rng(0)
    d = augment.draw(("translation", "cutout"), 4000, 32, rng)
    assert d.shifts.shape == d.boxes.shape == (4000, 2)
    for k in (0, 1):
        assert set(d.shifts[:, k].tolist()) == set(range(-4, 5))  # r = 32 / 8
        # side 16 (even): centre in [0, 32], top-left = centre - 8
        assert set(d.boxes[:, k].tolist()) == set(range(-8, 25))
    d = augment.draw(("translation", "cutout"), 2000, 7, rng)
    for k in (0, 1):
        assert set(d.shifts[:, k].tolist()) == {-1, 0, 1}  # r = int(7 / 8 + 0.5)
        # side 4 = int(3.5 + 0.5) (even): centre in [0, 7], top-left = centre - 2
        assert set(d.boxes[:, k].tolist()) == set(range(-2, 6))
    d = augment.draw(("cutout",), 2000, 9, rng)
    assert d.shifts is None
    # side 5 (odd): centre in [0, 8], top-left = centre - 2
    assert set(d.boxes.ravel().tolist()) == set(range(-2, 7))


def test_draw_is_reproducible():
    a, b, c = (augment.draw("translation,cutout", 16, 28, np.random.default_rng(seed))
               for seed in (3, 3, 4))
    np.testing.assert_array_equal(a.shifts, b.shifts)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    assert not (np.array_equal(a.shifts, c.shifts) and np.array_equal(a.boxes, c.boxes))


def test_rows_selects_those_rows():
    d = augment.draw(augment.POLICIES, 10, 16, np.random.default_rng(0))
    part = d.rows(slice(4, 7))
    np.testing.assert_array_equal(part.shifts, d.shifts[4:7])
    np.testing.assert_array_equal(part.boxes, d.boxes[4:7])
    assert augment.Draw(shifts=d.shifts).rows(slice(0, 2)).boxes is None


# ---------------------------------------------------------------------------------------------
# the same augmentation for real and fake


def test_same_draw_transforms_two_batches_the_same_way():
    """apply is affine about ``fill``: T(a) - T(b) = L(a - b) = apply(a - b, fill=0)."""
    a, b = images(4, 2, 8, seed=1), images(4, 2, 8, seed=2)
    d = augment.draw(augment.POLICIES, 4, 8, np.random.default_rng(0))
    np.testing.assert_allclose(augmented(a, d, -1.0) - augmented(b, d, -1.0),
                               augmented(a - b, d, 0.0), rtol=0, atol=1e-12)


def test_global_draw_split_by_rows_matches_the_whole_batch():
    real, fake = images(3, 2, 8, seed=1), images(3, 2, 8, seed=2)
    d = augment.draw(augment.POLICIES, 6, 8, np.random.default_rng(0))
    whole = augmented(np.concatenate([real, fake]), d, -1.0)
    np.testing.assert_array_equal(whole[:3], augmented(real, d.rows(slice(0, 3)), -1.0))
    np.testing.assert_array_equal(whole[3:], augmented(fake, d.rows(slice(3, 6)), -1.0))


# ---------------------------------------------------------------------------------------------
# derivatives


FIXED = augment.Draw(shifts=np.array([[1, -1], [0, 1], [-1, 0]]),
                     boxes=np.array([[-2, 3], [2, 2], [5, -1]]))  # N = 3, size 7, side 4


@pytest.mark.parametrize("d", [FIXED, augment.draw(augment.POLICIES, 1, 7,
                                                   np.random.default_rng(5))],
                         ids=["batch 3", "batch 1"])
def test_gradcheck_and_gradgradcheck(d):
    x = devices.leaf(np.random.default_rng(0).standard_normal((len(d.shifts), 2, 7, 7)))
    assert mg.gradcheck(lambda x: augment.apply(x, d, -1.0), [x])
    assert mg.gradgradcheck(lambda x: augment.apply(x, d, -1.0), [x])


def test_second_derivative_through_a_function_of_the_augmented_batch():
    """(T(x)^2 * w).sum() has the non-zero second derivative 2 L^T diag(w) L in x."""
    rng = np.random.default_rng(1)
    x = devices.leaf(rng.standard_normal((3, 2, 7, 7)))
    w = devices.leaf(rng.standard_normal((3, 2, 7, 7)))
    fn = lambda x, w: (augment.apply(x, FIXED, -1.0) ** 2 * w).sum()  # noqa: E731
    assert mg.gradcheck(fn, [x, w])
    assert mg.gradgradcheck(fn, [x, w])
