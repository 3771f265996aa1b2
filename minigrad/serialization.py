"""Checkpoints: ``save(obj, path)`` and ``load(path)`` for nested containers of tensors.

A checkpoint is a NumPy .npz archive (a zip of .npy files). ``obj`` may nest dicts, lists and
tuples of Tensors, arrays, numbers (Python ints of any size, floats, bools), strings and None:
model and optimizer state_dicts, an iteration count, ``mg.get_rng_state()``. The arrays are
stored as "a0", "a1", ... and the structure that holds them as JSON in the entry
"__structure__", where each array appears as {"tensor": "a0"} or {"array": "a0"}. No Python
object is pickled: loading reads each member with ``allow_pickle=False`` and the structure with
``json.loads``, so a checkpoint can never execute code.

Loading treats the file as hostile until proven otherwise, and every failure is a
CheckpointError naming the file and the member. Before anything is allocated it checks that
every member is a .npy file stored uncompressed (as ``save`` writes them), that together they
fit in the file, and that each .npy header describes exactly the bytes its member holds: no
header can make ``load`` allocate more than the file's size. The structure may nest at most
MAX_DEPTH levels (a real checkpoint has about 15), checked before it is decoded.

Saving is atomic: the archive is written to a temporary file in the destination folder,
flushed to disk, then renamed over ``path`` (``os.replace``). A crash at any moment leaves
either the old file or the new one, never a mixture.
"""
import contextlib
import itertools
import json
import math
import os
import re
import uuid
import zipfile

import numpy as np

from . import backend
from .tensor import Tensor

FORMAT = "minigrad-checkpoint"
VERSION = 1
STRUCTURE = "__structure__"
MAX_DEPTH = 200  # levels of nesting of the JSON structure: far above any real state dict


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
        arrays[name] = backend.to_host(obj.array)
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
            return Tensor._wrap(backend.to_device(array, device), node["requires_grad"])
        if "array" in node:
            array = _stored(arrays, node["array"])
            return array[()] if node["scalar"] else array
    raise ValueError(f"its structure has an unknown entry {json.dumps(node)[:80]}")


def _stored(arrays, name):
    if name not in arrays:
        raise ValueError(f"the array {name!r} that the structure refers to is missing from the "
                         f"archive (there is no member {name + '.npy'!r})")
    return arrays[name]


_STRING_OR_NOT_A_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[^\[\]{}]', re.DOTALL)


def _nesting_depth(text):
    """How deeply the lists and objects of a JSON text nest, counted without parsing it."""
    brackets = _STRING_OR_NOT_A_BRACKET.sub("", text)
    return max(itertools.accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


# ---- files ----

def save(obj, path):
    """Write ``obj`` (nested dicts, lists and tuples of tensors, arrays, numbers, strings) to
    ``path`` atomically. Tensors and arrays are copied to the host first."""
    path = os.fspath(path)
    arrays = {}
    structure = json.dumps({"format": FORMAT, "version": VERSION,
                            "root": _encode(obj, arrays, "obj")})
    if _nesting_depth(structure) > MAX_DEPTH:
        raise CheckpointError(f"obj nests more than {MAX_DEPTH} levels deep (counted in its JSON "
                              "structure), more than load accepts")
    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as f:
            np.savez(f, **{STRUCTURE: np.array(structure)}, **arrays)
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
    NumPy arrays. A truncated, corrupt, foreign or hostile file raises CheckpointError naming
    it and the member at fault."""
    path = os.fspath(path)
    backend.check_device(device)
    with open(path, "rb") as f, _reading(path):
        if not zipfile.is_zipfile(f):
            raise ValueError("it is not a zip (.npz) archive: the file is truncated, "
                             "corrupt or of another kind")
        with zipfile.ZipFile(f) as archive:
            members = _members(archive, os.fstat(f.fileno()).st_size)
            if STRUCTURE not in members:
                raise ValueError(f'it has no "{STRUCTURE}" entry, so it was not written by '
                                 "minigrad.save")
            with _reading(path, STRUCTURE):
                structure = _header(_read(archive, members.pop(STRUCTURE)))
            arrays = {}
            for name, info in members.items():
                with _reading(path, name):
                    arrays[name] = _read(archive, info)
    with _reading(path, STRUCTURE):
        return _decode(structure["root"], arrays, device)


@contextlib.contextmanager
def _reading(path, member=None):
    """Turn what reading checkpoint ``path`` (or one of its members) raises into a
    CheckpointError naming the file and the member."""
    where = path if member is None else f"{path}, member {member + '.npy'!r}"
    try:
        yield
    except (zipfile.BadZipFile, EOFError, NotImplementedError) as e:
        raise CheckpointError(f"cannot read checkpoint {where}: the archive is corrupt "
                              f"({type(e).__name__}: {e})") from e
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"cannot read checkpoint {where}: {e}") from e


def _members(archive, file_size):
    """{name: ZipInfo} of the archive's members (names without ".npy"), after checking that
    each is a .npy file stored uncompressed and unencrypted, as ``save`` writes them, and that
    together they fit in the file."""
    members, total = {}, 0
    for info in archive.infolist():
        member = repr(info.filename)
        if not info.filename.endswith(".npy"):
            raise ValueError(f"member {member} is not a .npy file; a checkpoint holds only .npy "
                             "members")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ValueError(f"member {member} is compressed or encrypted (zip method "
                             f"{info.compress_type}); minigrad.save stores members as they are")
        if info.file_size != info.compress_size:
            raise ValueError(f"member {member} is stored uncompressed but its zip entry claims "
                             f"{info.file_size} bytes uncompressed and {info.compress_size} stored")
        if not 0 <= info.header_offset <= file_size - info.compress_size:
            raise ValueError(f"member {member}: its zip entry places {info.compress_size} bytes "
                             f"at offset {info.header_offset}, outside the file's {file_size}")
        total += info.file_size
        if total > file_size:
            raise ValueError(f"member {member} claims {info.file_size} bytes, which with the "
                             f"members before it is more than the file's {file_size} bytes")
        members[info.filename.removesuffix(".npy")] = info
    return members


_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}


def _read(archive, info):
    """The array a member holds, after checking, before allocating it, that its .npy header
    declares exactly the bytes the member holds and no Python objects."""
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in _NPY_HEADERS:
            raise ValueError(f"its .npy format version {version[0]}.{version[1]} is not one "
                             "minigrad.save writes")
        shape, _, dtype = _NPY_HEADERS[version](member)
        held = info.file_size - member.tell()
    if dtype.hasobject:
        raise ValueError("it holds Python objects, which are never unpickled "
                         "(allow_pickle=False)")
    declared = math.prod(shape) * dtype.itemsize
    if declared != held:
        raise ValueError(f"its .npy header declares shape {shape} of {dtype} ({declared} "
                         f"bytes), but the member holds {held} bytes of data")
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _header(array):
    """The structure stored in the archive, after checking that it is ours."""
    if array.dtype.kind != "U" or array.shape != ():
        raise ValueError(f"it holds a {array.dtype} array of shape {array.shape}, not the "
                         "structure's JSON text")
    text = str(array)
    depth = _nesting_depth(text)
    if depth > MAX_DEPTH:
        raise ValueError(f"the structure nests {depth} levels deep, more than the limit of "
                         f"{MAX_DEPTH} (a real checkpoint nests about 15)")
    structure = json.loads(text)
    if not isinstance(structure, dict) or structure.get("format") != FORMAT:
        raise ValueError(f"it is not a {FORMAT} header")
    if structure.get("version") != VERSION:
        raise ValueError(f"it has format version {structure.get('version')}; this minigrad "
                         f"reads version {VERSION}")
    return structure
