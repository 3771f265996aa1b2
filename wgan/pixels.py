"""Pixel values. Each generator draws in its own range, (0, 1) after a sigmoid or (-1, 1)
after a tanh (``models.pixel_range``); the data is scaled into that range for training, and
everything that looks at images (the classifier, sample grids, ``sample``) takes them back to
[0, 1]. These two functions, and ``ImageBytes`` (images kept as bytes and scaled as they are
read), are the only place either conversion is written."""
import numpy as np


def from_unit(unit, pixel_range):
    """float32 images in [0, 1] mapped linearly onto ``pixel_range`` (0 -> low, 1 -> high).
    An ``ImageBytes`` gives an ``ImageBytes`` of the same bytes in the new range (no copy)."""
    low, high = pixel_range
    if isinstance(unit, ImageBytes):
        return ImageBytes(unit.bytes, from_unit(np.array(unit.pixel_range), pixel_range))
    return np.asarray(unit, np.float32) * np.float32(high - low) + np.float32(low)


def to_unit(images, pixel_range):
    """Images in ``pixel_range`` as float32 in [0, 1] (values outside are clipped)."""
    low, high = pixel_range
    x = np.asarray(images, dtype=np.float32)
    return np.clip((x - np.float32(low)) / np.float32(high - low), 0.0, 1.0)


class ImageBytes:
    """uint8 images N x H x W x C (for example the memory map of a decoded image folder) that
    index like a float32 array N x C x H x W in ``pixel_range`` (byte 0 -> low, 255 -> high):
    each indexing converts only the images it selects, so a data set four times larger than
    memory as float32 is read from disk batch by batch. ``np.asarray`` converts all of it."""

    dtype = np.dtype(np.float32)
    ndim = 4

    def __init__(self, images, pixel_range=(0.0, 1.0)):
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"ImageBytes takes uint8 images N x H x W x C, got {images.dtype} "
                             f"{images.shape}")
        self.bytes = images
        self.pixel_range = tuple(float(v) for v in pixel_range)

    def __len__(self):
        return len(self.bytes)

    @property
    def shape(self):
        n, h, w, c = self.bytes.shape
        return n, c, h, w

    def __getitem__(self, index):
        """The images ``index`` selects along the first axis (an int, a slice, an array of
        indices or a mask), as float32 C x H x W or N x C x H x W."""
        selected = np.moveaxis(self.bytes[index], -1, -3)
        unit = selected.astype(np.float32, order="C") / np.float32(255)
        return from_unit(unit, self.pixel_range)

    def __array__(self, dtype=None, copy=None):
        return self[:] if dtype is None else self[:].astype(dtype, copy=False)
