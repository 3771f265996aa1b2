"""Pixel values. Each generator draws in its own range, (0, 1) after a sigmoid or (-1, 1)
after a tanh (``models.pixel_range``); the data is scaled into that range for training, and
everything that looks at images (the classifier, sample grids, ``sample``) takes them back to
[0, 1]. These two functions are the only place either conversion is written."""
import numpy as np


def from_unit(unit, pixel_range):
    """float32 images in [0, 1] mapped linearly onto ``pixel_range`` (0 -> low, 1 -> high)."""
    low, high = pixel_range
    return np.asarray(unit, np.float32) * np.float32(high - low) + np.float32(low)


def to_unit(images, pixel_range):
    """Images in ``pixel_range`` as float32 in [0, 1] (values outside are clipped)."""
    low, high = pixel_range
    x = np.asarray(images, dtype=np.float32)
    return np.clip((x - np.float32(low)) / np.float32(high - low), 0.0, 1.0)
