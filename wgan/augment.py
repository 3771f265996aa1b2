"""Differentiable augmentation of the critic's inputs (DiffAugment: Zhao et al. 2020,
"Differentiable Augmentation for Data-Efficient GAN Training").

The same random augmentation T is applied to real and fake images before the critic, inside
the graph, so the generator learns through D(T(G(z))). Both augmentations here are linear in
the image, with the background value ``fill`` as origin:

- translation by (dy, dx): y[i, j] = x[i - dy, j - dx], and ``fill`` where that is outside.
  Picking row i - dy of x is the matrix product with S_y[i, k] = [k == i - dy], a 0/1 matrix
  (the identity moved dy places down, rows without a 1 pick nothing); columns likewise on the
  right, so y = S_y (x - fill) S_x^T + fill, one batched matmul per side.
- cutout: y = (x - fill) * M + fill with M a 0/1 mask that is 0 on the square.

S_y, S_x and M are constants, so y is an affine function of x: dy/dx is the constant linear
map itself and every higher derivative is zero, exactly, through the engine's ordinary matmul
and multiply. That is what the gradient penalty of WGAN-GP needs, since it differentiates the
critic's input gradient a second time. The translation is drawn uniform in [-r, r] (symmetric),
so moving content by +d (np.roll's sense) rather than DiffAugment's -d is the same distribution.
"""
import dataclasses

import numpy as np

import minigrad as mg
from minigrad import backend

POLICIES = ("translation", "cutout")  # in the order ``apply`` applies them
TRANSLATION_RATIO, CUTOUT_RATIO = 0.125, 0.5  # DiffAugment's: shift up to 1/8, square of 1/2


def parse_policy(text):
    """"translation,cutout" -> ("translation", "cutout"), in POLICIES' order; "" or "none" -> ()."""
    names = {name.strip() for name in text.split(",")} - {"", "none"}
    unknown = sorted(names - set(POLICIES))
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(map(repr, unknown))} in policy "
                         f"{text!r}; choose from {', '.join(POLICIES)} (comma separated) or none")
    return tuple(name for name in POLICIES if name in names)


@dataclasses.dataclass
class Draw:
    """The random parameters of one augmentation of a batch of N images."""
    shifts: np.ndarray = None  # (N, 2) int: (dy, dx) translation of each image, or None
    boxes: np.ndarray = None   # (N, 2) int: top-left (y, x) of each image's cutout square, or None

    def rows(self, index):
        """The Draw of some rows (a data-parallel rank's share of the batch)."""
        return Draw(*(None if a is None else a[index] for a in (self.shifts, self.boxes)))


def cutout_side(size):
    """The side of the cutout square in a size x size image."""
    return int(size * CUTOUT_RATIO + 0.5)


def draw(policy, n, size, rng):
    """The augmentation parameters of n images of size x size, from a numpy Generator."""
    policy = parse_policy(policy) if isinstance(policy, str) else policy
    d = Draw()
    if "translation" in policy:
        r = int(size * TRANSLATION_RATIO + 0.5)
        d.shifts = rng.integers(-r, r + 1, size=(n, 2))
    if "cutout" in policy:
        side = cutout_side(size)  # centre uniform: the square may hang over an edge
        d.boxes = rng.integers(0, size + 1 - side % 2, size=(n, 2)) - side // 2
    return d


def apply(x, d, fill=0.0):
    """x (N x C x H x W Tensor, H == W) translated then cut out as drawn in d; pixels moved in
    from outside and the square take the value ``fill``. Keeps x's dtype and device."""
    if d.shifts is None and d.boxes is None:
        return x
    xp, n, size = backend.xp_of(x.array), x.shape[0], x.shape[-1]
    grid = xp.arange(size)

    def constant(condition):  # (N, H, W) bool -> (N, 1, H, W) 0/1 Tensor of x's dtype
        return mg.Tensor._wrap(condition.astype(x.dtype).reshape(n, 1, size, size))

    y = x - fill
    if d.shifts is not None:
        dy, dx = (backend.to_device(d.shifts[:, k], x.device)[:, None, None] for k in (0, 1))
        shift_rows = constant(grid[None, None, :] == grid[None, :, None] - dy)  # S_y[i, k]
        shift_columns_t = constant(grid[None, None, :] == grid[None, :, None] + dx)  # S_x^T[k, j]
        y = shift_rows @ y @ shift_columns_t
    if d.boxes is not None:
        top, left = (backend.to_device(d.boxes[:, k], x.device)[:, None] for k in (0, 1))
        side = cutout_side(size)
        rows_in = (grid[None, :] >= top) & (grid[None, :] < top + side)  # (N, H)
        columns_in = (grid[None, :] >= left) & (grid[None, :] < left + side)  # (N, W)
        y = y * constant(~(rows_in[:, :, None] & columns_in[:, None, :]))
    return y + fill
