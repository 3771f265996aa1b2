"""Checkpoints: ``save(obj, path)`` and ``load(path)`` for nested containers of tensors.

A checkpoint is a NumPy .npz archive (a zip of .npy files). ``obj`` may nest dicts, lists and
tuples of Tensors, arrays, numbers (Python ints of any size, floats, bools), strings and None:
model and optimizer state_dicts, an iteration count, ``mg.get_rng_state()``. The arrays are
stored as "a0", "a1", ... and the structure that holds them as JSON in the entry
"__structure__", where each array appears as {"tensor": "a0"} or {"array": "a0"}. No Python
object is pickled: loading runs ``np.load(allow_pickle=False)`` and ``json.loads``, so a
checkpoint can never execute code.

Saving is atomic: the archive is written to a temporary file in the destination folder,
flushed to disk, then renamed over ``path`` (``os.replace``). A crash at any moment leaves
either the old file or the new one, never a mixture.
"""
import json
import os
import uuid
import zipfile

import numpy as np

from . import backend
from .tensor import Tensor

FORMAT = "minigrad-checkpoint"
VERSION = 1
STRUCTURE = "__structure__"


class CheckpointError(RuntimeError):
    """A file that cannot be read as a checkpoint, or an object that cannot be saved as one."""


# ---- the structure as JSON ----
# None, bools, ints, floats and strings are themselves; a list is a JSON list; anything else
# is a one-key JSON object: {"tuple": [...]}, {"dict": [[key, value], ...]} (keys need not be
# strings), {"tensor": name, "requires_grad": bool}, {"array": name, "scalar": bool}.

def _encode(obj, arrays, where):
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {"tuple": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, dict):
        for k in obj:
            if not (k is None or isinstance(k, (bool, int, float, str, tuple))):
                raise CheckpointError(f"{where}: cannot save a dict key of type {type(k).__name__}")
        return {"dict": [[_encode(k, arrays, f"{where} key"), _encode(v, arrays, f"{where}[{k!r}]")]
                         for k, v in obj.items()]}
    name = f"a{len(arrays)}"
    if isinstance(obj, Tensor):
        arrays[name] = backend.to_host(obj.data)
        return {"tensor": name, "requires_grad": obj.requires_grad}
    if hasattr(obj, "dtype") and hasattr(obj, "shape"):  # a NumPy or CuPy array, or a NumPy scalar
        if obj.dtype.kind == "O":
            raise CheckpointError(f"{where}: cannot save an array of Python objects")
        arrays[name] = backend.to_host(obj)
        return {"array": name, "scalar": isinstance(obj, np.generic)}
    raise CheckpointError(f"{where}: cannot save an object of type {type(obj).__name__} (a "
                          "checkpoint holds dicts, lists, tuples, tensors, arrays, numbers, "
                          "strings and None)")


def _decode(node, arrays, device):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, device) for v in node]
    if isinstance(node, dict):
        if "tuple" in node:
            return tuple(_decode(v, arrays, device) for v in node["tuple"])
        if "dict" in node:
            return {_decode(k, arrays, device): _decode(v, arrays, device) for k, v in node["dict"]}
        if "tensor" in node:
            array = _stored(arrays, node["tensor"])
            return Tensor(backend.to_device(array, device), node["requires_grad"])
        if "array" in node:
            array = _stored(arrays, node["array"])
            return array[()] if node["scalar"] else array
    raise ValueError(f"its structure has an unknown entry {json.dumps(node)[:80]}")


def _stored(arrays, name):
    if name not in arrays:
        raise ValueError(f"the array {name!r} that its structure refers to is missing from the "
                         "archive")
    return arrays[name]


# ---- files ----

def save(obj, path):
    """Write ``obj`` (nested dicts, lists and tuples of tensors, arrays, numbers, strings) to
    ``path`` atomically. Tensors and arrays are copied to the host first."""
    path = os.fspath(path)
    arrays = {}
    structure = {"format": FORMAT, "version": VERSION, "root": _encode(obj, arrays, "obj")}
    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as f:
            np.savez(f, **{STRUCTURE: np.array(json.dumps(structure))}, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX; Windows cannot open folders)."""
    if os.name == "posix":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def load(path, device="cpu"):
    """Read a checkpoint written by ``save``. Tensors are put on ``device``; arrays stay
    NumPy arrays. A truncated, corrupt or foreign file raises CheckpointError naming it."""
    path = os.fspath(path)
    backend.check_device(device)
    try:
        with open(path, "rb") as f:
            if not zipfile.is_zipfile(f):
                raise ValueError("it is not a zip (.npz) archive: the file is truncated, "
                                 "corrupt or of another kind")
            f.seek(0)
            with np.load(f, allow_pickle=False) as archive:
                structure = _header(archive)
                arrays = {name: archive[name] for name in archive.files if name != STRUCTURE}
        return _decode(structure["root"], arrays, device)
    except (zipfile.BadZipFile, EOFError) as e:
        raise CheckpointError(f"cannot read checkpoint {path}: the archive is corrupt "
                              f"({e})") from e
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from e


def _header(archive):
    """The structure stored in the archive, after checking that it is ours."""
    if STRUCTURE not in archive.files:
        raise ValueError(f'it has no "{STRUCTURE}" entry, so it was not written by minigrad.save')
    structure = json.loads(str(archive[STRUCTURE]))
    if not isinstance(structure, dict) or structure.get("format") != FORMAT:
        raise ValueError(f'its "{STRUCTURE}" entry is not a {FORMAT} header')
    if structure.get("version") != VERSION:
        raise ValueError(f"it has format version {structure.get('version')}; this minigrad "
                         f"reads version {VERSION}")
    return structure
