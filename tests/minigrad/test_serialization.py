"""mg.save / mg.load: exact round trips, atomic writes, and errors that say what is wrong."""
import io
import json
import math
import os
import pathlib
import re
import struct
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend, nn, serialization
from minigrad.serialization import CheckpointError

import devices
from devices import to_device

FIXTURES = pathlib.Path(__file__).parents[1] / "wgan" / "fixtures"


def same(a, b):
    """Structural equality that also compares types, array dtypes and NaNs."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, mg.Tensor):
        assert a.requires_grad == b.requires_grad and a.device == b.device
        assert backend.device_of(a.array) == backend.device_of(b.array) == a.device
        same(a.numpy(), b.numpy())
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b and repr(a) == repr(b)


def test_nested_values_round_trip_exactly(tmp_path):
    obj = {
        "iteration": 1234,
        "huge": 2 ** 130 + 7,
        "floats": [0.1, -0.0, float("inf"), float("nan"), 1e-320],
        "flags": (True, False, None),
        "name": "wgan-gp ∇",
        3: {"int keys": 1},
        (1, "a"): "tuple key",
        "arrays": [np.arange(6, dtype=np.int64).reshape(2, 3), np.array(2.5),
                   np.array([True, False]), np.zeros((0, 4), np.float32),
                   np.array([1, 2], dtype=np.uint8), np.float32(1.5), np.int64(-3)],
        "tensors": [devices.randn(3, 2), devices.randn(2, requires_grad=True),
                    devices.tensor([1, 2, 3]), devices.zeros(4, dtype=np.float64),
                    devices.tensor(np.float32(2.5))],
        "empty": {"list": [], "dict": {}, "tuple": ()},
    }
    mg.save(obj, tmp_path / "all.npz")
    same(obj, mg.load(tmp_path / "all.npz", device=devices.DEVICE))


def test_the_rng_state_round_trips_and_the_stream_continues(tmp_path):
    mg.manual_seed(7)
    devices.randn(5)
    saved_state = mg.get_rng_state()
    mg.save({"rng": saved_state}, tmp_path / "rng.npz")
    expected = devices.randn(10).numpy()
    mg.manual_seed(0)
    state = mg.load(tmp_path / "rng.npz")["rng"]
    same(state, saved_state)
    assert state["state"]["state"] > 2 ** 64  # a 128-bit integer survived
    mg.set_rng_state(state)
    assert np.array_equal(devices.randn(10).numpy(), expected)


def test_a_model_state_dict_round_trips_through_a_file(tmp_path):
    model = to_device(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(),
                                    nn.Linear(8, 1)))
    model(devices.randn(4, 1, 4, 4))
    mg.save(model.state_dict(), tmp_path / "model.ckpt")  # the path is used as given
    assert os.listdir(tmp_path) == ["model.ckpt"]
    loaded = mg.load(tmp_path / "model.ckpt")
    assert all(isinstance(v, mg.Tensor) and v.device == "cpu" for v in loaded.values())
    copy = to_device(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(),
                                   nn.Linear(8, 1)))
    copy.load_state_dict(loaded)  # host tensors copied into the module's arrays, on its device
    assert devices.on_device(*copy.parameters(), *copy.buffers())
    model.eval(), copy.eval()
    x = devices.randn(2, 1, 4, 4)
    assert np.array_equal(model(x).numpy(), copy(x).numpy())
    assert copy[1].num_batches_tracked.item() == 1


def test_unsupported_objects_are_named(tmp_path):
    with pytest.raises(CheckpointError, match=r"obj\['model'\]\['f'\]: cannot save an object of "
                                              r"type function"):
        mg.save({"model": {"f": lambda: 0}}, tmp_path / "bad.npz")
    with pytest.raises(CheckpointError, match=r"obj\[0\]: cannot save a dict key of type Tensor"):
        mg.save([{mg.ones(1): 1}], tmp_path / "bad.npz")
    with pytest.raises(CheckpointError, match="Python objects"):
        mg.save([np.array([{}], dtype=object)], tmp_path / "bad.npz")
    assert os.listdir(tmp_path) == []


def test_loading_devices(tmp_path, monkeypatch):
    mg.save({"w": mg.ones(2)}, tmp_path / "w.npz")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        mg.load(tmp_path / "w.npz", device="gpu")
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    with pytest.raises(RuntimeError, match="CuPy"):
        mg.load(tmp_path / "w.npz", device="cuda")


def test_device_tensors_are_saved_from_the_host_and_loaded_onto_the_modules_device(
        tmp_path, cuda):
    model = nn.Linear(3, 2)
    weight = model.weight
    expected = {k: v.numpy() for k, v in model.state_dict().items()}
    assert model.to("cuda") is model and model.weight is weight and weight.device == "cuda"
    mg.save(model.state_dict(), tmp_path / "model.npz")
    on_host = mg.load(tmp_path / "model.npz")
    on_device = mg.load(tmp_path / "model.npz", device="cuda")
    for name, value in expected.items():
        assert on_host[name].device == "cpu" and on_device[name].device == "cuda"
        assert backend.device_of(on_device[name].array) == "cuda"
        assert np.array_equal(on_host[name].numpy(), value)
        assert np.array_equal(on_device[name].numpy(), value)
    for state in (on_host, on_device):
        other = nn.Linear(3, 2).to("cuda")
        arrays = [p.array for p in other.parameters()]
        other.load_state_dict(state)  # values are copied into the device arrays
        assert all(p.array is a and p.device == "cuda" for p, a in zip(other.parameters(), arrays))
        other.to("cpu")
        assert all(isinstance(p.array, np.ndarray) for p in other.parameters())
        for name, value in other.state_dict().items():
            assert np.array_equal(value.numpy(), expected[name])


# ---- atomic writes ----

def test_a_save_interrupted_half_way_leaves_the_old_file_loadable(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.npz"
    mg.save({"step": 1, "w": devices.ones(1000)}, path)
    real_savez = np.savez

    def crash_half_way(file, **arrays):
        real_savez(file, **arrays)
        file.truncate(file.tell() // 2)  # half an archive is on disk ...
        raise OSError("No space left on device")  # ... when the write fails

    monkeypatch.setattr(np, "savez", crash_half_way)
    with pytest.raises(OSError, match="No space left"):
        mg.save({"step": 2, "w": devices.zeros(1000)}, path)
    monkeypatch.undo()
    old = mg.load(path)
    assert old["step"] == 1 and np.all(old["w"].numpy() == 1)
    assert os.listdir(tmp_path) == ["checkpoint.npz"]  # the partial temporary file is gone


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.npz"
    mg.save({"step": 1}, path)

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mg.save({"step": 2}, path)
    monkeypatch.undo()
    assert mg.load(path)["step"] == 1 and os.listdir(tmp_path) == ["checkpoint.npz"]
    mg.save({"step": 3}, path)
    assert mg.load(path)["step"] == 3


# ---- errors that say what is wrong ----

def saved(tmp_path):
    path = tmp_path / "model.npz"
    mg.save(nn.Linear(100, 100).state_dict(), path)
    return path, path.read_bytes()


def test_a_truncated_archive_is_named(tmp_path):
    path, data = saved(tmp_path)
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match=f"{path}.*not a zip .*truncated"):
        mg.load(path)
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="truncated"):
        mg.load(path)


def test_a_corrupted_archive_is_named(tmp_path):
    path, data = saved(tmp_path)
    middle = len(data) // 2  # inside the 100x100 weight
    path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    with pytest.raises(CheckpointError, match=f"{path}.*corrupt.*CRC"):
        mg.load(path)


def test_an_archive_not_written_by_save_is_named(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, weight=np.zeros(3))
    with pytest.raises(CheckpointError, match=f"{path}.*not written by minigrad.save"):
        mg.load(path)
    structure = {"format": serialization.FORMAT, "version": serialization.VERSION,
                 "root": {"dict": [["w", {"tensor": "a0", "requires_grad": False}]]}}
    np.savez(path, __structure__=np.array(json.dumps(structure)))
    with pytest.raises(CheckpointError, match=f"{path}, member '__structure__.npy': the array 'a0' "
                                              ".* missing from the archive .*'a0.npy'"):
        mg.load(path)
    structure["version"] = 99
    np.savez(path, __structure__=np.array(json.dumps(structure)))
    with pytest.raises(CheckpointError, match="version 99"):
        mg.load(path)


def test_pickled_objects_are_never_loaded(tmp_path):
    path = tmp_path / "pickle.npz"
    structure = {"format": serialization.FORMAT, "version": serialization.VERSION,
                 "root": {"array": "a0", "scalar": False}}
    np.savez(path, __structure__=np.array(json.dumps(structure)), a0=np.array([{}], dtype=object))
    with pytest.raises(CheckpointError, match=f"{path}, member 'a0.npy': .*Python objects.*"
                                              "allow_pickle=False"):
        mg.load(path)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "nothing.npz")


def test_loading_a_file_with_a_missing_key_or_a_wrong_shape_says_which(tmp_path):
    state = nn.Linear(3, 4).state_dict()
    del state["bias"]
    mg.save(state, tmp_path / "no_bias.npz")
    with pytest.raises(RuntimeError, match="missing key\\(s\\): bias"):
        nn.Linear(3, 4).load_state_dict(mg.load(tmp_path / "no_bias.npz"))
    mg.save(nn.Linear(3, 5).state_dict(), tmp_path / "wide.npz")
    with pytest.raises(RuntimeError) as info:
        nn.Linear(3, 4).load_state_dict(mg.load(tmp_path / "wide.npz"))
    assert "shape mismatch for weight: the state has (5, 3), the module (4, 3)" in str(info.value)
    assert "shape mismatch for bias: the state has (5,), the module (4,)" in str(info.value)


# ---- hostile files: built here, byte by byte ----

def npy(shape, descr="<f8", data=b""):
    """A .npy file whose header declares ``shape`` of ``descr``, followed by ``data``."""
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False,
                                             "shape": shape})
    return f.getvalue() + data


def npy_of(array):
    f = io.BytesIO()
    np.save(f, array, allow_pickle=False)
    return f.getvalue()


def structure(root):
    """The "__structure__.npy" member of a checkpoint whose root is ``root`` (JSON text)."""
    text = f'{{"format": "{serialization.FORMAT}", "version": {serialization.VERSION}, ' \
           f'"root": {root}}}'
    return npy_of(np.array(text))


def archive(path, members, method=zipfile.ZIP_STORED):
    """Write a zip of ``members`` ({name: bytes}) at ``path``."""
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


ONE_ARRAY = '{"array": "a0", "scalar": false}'


def loading_allocates(path):
    """Load ``path``, expecting a CheckpointError; return it and the peak bytes allocated."""
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as info:
            mg.load(path)
        return info.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_deeply_nested_structure_is_refused_naming_the_limit(tmp_path):
    path = archive(tmp_path / "deep.npz", {
        "__structure__.npy": structure("[" * 100_000 + "]" * 100_000)})
    with pytest.raises(CheckpointError, match=f"{path}, member '__structure__.npy': the structure "
                                              f"nests 100001 levels deep, more than the limit of "
                                              f"{serialization.MAX_DEPTH}"):
        mg.load(path)
    # brackets inside strings (escaped quotes and backslashes too) are not nesting
    brackets_in_strings = structure('["' + "[{" * 100_000 + '", "\\\\", "\\"[", '
                                    '{"tuple": ["]]"]}]')
    path = archive(tmp_path / "shallow.npz", {"__structure__.npy": brackets_in_strings})
    assert mg.load(path) == ["[{" * 100_000, "\\", '"[', ("]]",)]


def test_the_depth_limit_is_the_same_for_save_and_load(tmp_path):
    """A list nested MAX_DEPTH - 1 deep (MAX_DEPTH with the header's dict) round-trips; one
    level more is refused by save, before anything is written."""
    deepest = []
    for _ in range(serialization.MAX_DEPTH - 2):
        deepest = [deepest]
    mg.save(deepest, tmp_path / "deepest.npz")
    assert mg.load(tmp_path / "deepest.npz") == deepest
    with pytest.raises(CheckpointError, match=f"more than {serialization.MAX_DEPTH} levels"):
        mg.save([deepest], tmp_path / "deeper.npz")
    assert os.listdir(tmp_path) == ["deepest.npz"]


def test_a_member_whose_header_claims_8_tib_is_refused_before_allocating(tmp_path):
    path = archive(tmp_path / "huge.npz", {"__structure__.npy": structure(ONE_ARRAY),
                                           "a0.npy": npy((2 ** 20, 2 ** 20), data=bytes(64))})
    start = time.perf_counter()
    error, peak = loading_allocates(path)
    assert time.perf_counter() - start < 1
    assert re.search(f"{path}, member 'a0.npy': its .npy header declares shape "
                     r"\(1048576, 1048576\) of float64 \(8796093022208 bytes\), but the member "
                     "holds 64 bytes", str(error)), error
    assert peak < 1e6


def test_a_member_that_claims_more_than_it_holds_allocates_nothing_large(tmp_path):
    """1 GiB declared, 64 bytes held: refused before the 1 GiB array is made."""
    path = archive(tmp_path / "gib.npz", {"__structure__.npy": structure(ONE_ARRAY),
                                          "a0.npy": npy((2 ** 27,), data=bytes(64))})
    error, peak = loading_allocates(path)
    assert "member 'a0.npy'" in str(error) and "1073741824 bytes" in str(error)
    assert peak < 1e6


def test_a_member_that_holds_more_than_its_header_claims_is_refused(tmp_path):
    path = archive(tmp_path / "long.npz", {"__structure__.npy": structure(ONE_ARRAY),
                                           "a0.npy": npy((2,), data=bytes(24))})
    with pytest.raises(CheckpointError, match=r"member 'a0.npy': .* \(16 bytes\), but the member "
                                              "holds 24 bytes"):
        mg.load(path)


@pytest.mark.parametrize("name", ["a0", "notes.txt"])
def test_a_member_that_is_not_npy_is_refused(tmp_path, name):
    """Before, a member "a0" without the suffix loaded as an array of its raw bytes."""
    path = archive(tmp_path / "foreign.npz", {"__structure__.npy": structure(ONE_ARRAY),
                                              name: npy_of(np.zeros(3))})
    with pytest.raises(CheckpointError, match=f"{path}: member '{name}' is not a .npy file"):
        mg.load(path)


def test_a_compressed_member_is_refused_before_it_is_inflated(tmp_path):
    """A zip bomb in small: 32 MiB of zeros deflate to 32 KiB."""
    path = archive(tmp_path / "bomb.npz", {"a0.npy": npy_of(np.zeros(2 ** 22)),
                                           "__structure__.npy": structure(ONE_ARRAY)},
                   zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2 ** 20
    error, peak = loading_allocates(path)
    assert re.search(f"{path}: member 'a0.npy' is compressed .*method 8", str(error)), error
    assert peak < 1e6


def patch_central_directory(data, name, **sizes):
    """``data`` (a zip) with the sizes its central directory records for member ``name``
    replaced: ``compressed=`` and / or ``uncompressed=`` (bytes)."""
    data = bytearray(data)
    at = data.index(b"PK\x01\x02")  # a central directory record: its name is at 46, its length at 28
    while data[at + 46:at + 46 + struct.unpack_from("<H", data, at + 28)[0]] != name.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    for field, offset in (("compressed", 20), ("uncompressed", 24)):
        if field in sizes:
            struct.pack_into("<I", data, at + offset, sizes[field])
    return bytes(data)


@pytest.mark.parametrize("sizes, message", [
    ({"uncompressed": 2 ** 32 - 2}, "member 'a0.npy' is stored uncompressed but its zip entry "
                                    "claims 4294967294 bytes uncompressed and 144 stored"),
    ({"uncompressed": 2 ** 32 - 2, "compressed": 2 ** 32 - 2},
     "member 'a0.npy': its zip entry places 4294967294 bytes at offset .*, outside the file's"),
])
def test_a_zip_entry_that_claims_a_huge_size_is_refused(tmp_path, sizes, message):
    path = archive(tmp_path / "claims.npz", {"__structure__.npy": structure(ONE_ARRAY),
                                             "a0.npy": npy_of(np.zeros(2))})
    path.write_bytes(patch_central_directory(path.read_bytes(), "a0.npy", **sizes))
    error, peak = loading_allocates(path)
    assert re.search(f"{path}: {message}", str(error)), error
    assert peak < 1e6


def test_members_that_overlap_cannot_claim_more_than_the_file(tmp_path):
    """Many zip entries pointing at the same bytes (an overlapping zip bomb) each fit in the
    file but together claim more than it holds."""
    path = archive(tmp_path / "overlap.npz", {"__structure__.npy": structure(ONE_ARRAY),
                                              "a0.npy": npy_of(np.zeros(1000))})
    data = path.read_bytes()
    directory = data.index(b"PK\x01\x02")
    end = data.index(b"PK\x05\x06")
    entries = data[directory:end]
    copies = 5  # the end record counts the entries (at 8 and 10) and the directory's bytes (12)
    records = struct.unpack_from("<HH", data, end + 8)
    ending = bytearray(data[end:])
    struct.pack_into("<HHI", ending, 8, records[0] * copies, records[1] * copies,
                     len(entries) * copies)
    path.write_bytes(data[:directory] + entries * copies + bytes(ending))
    with pytest.raises(CheckpointError, match=f"{path}: member .* with the members before it is "
                                              "more than the file's"):
        mg.load(path)


def test_every_single_byte_damage_and_every_truncation_is_caught_or_harmless(tmp_path):
    """Each byte of a small checkpoint flipped in turn (lowest bit, then all bits), and the
    file cut at every length: load returns exactly what was saved (the byte was one zip does
    not check, such as a timestamp) or raises CheckpointError, never anything else."""
    path = tmp_path / "small.npz"
    obj = {"w": devices.randn(2, 3, requires_grad=True), "steps": (1, [2.5, None]),
           "counts": np.arange(3), 7: {"s": np.float32(2)}}
    mg.save(obj, path)
    data = path.read_bytes()
    outcomes = []

    def load_as_it_is_now():
        try:
            same(mg.load(path, device=devices.DEVICE), obj)
            outcomes.append("same")
        except CheckpointError:
            outcomes.append("caught")

    with open(path, "r+b") as f:  # changed in place: rewriting 3,000 files is slow on a busy disk
        for i in range(len(data)):
            for flip in (0x01, 0xFF):
                f.seek(i)
                f.write(bytes([data[i] ^ flip]))
                f.flush()
                load_as_it_is_now()
            f.seek(i)
            f.write(data[i:i + 1])
    for length in reversed(range(len(data))):
        os.truncate(path, length)
        load_as_it_is_now()
    assert len(outcomes) == 3 * len(data)
    assert outcomes.count("caught") > 2 * len(data)  # most bytes matter


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("**/checkpoint.npz")),
                         ids=lambda path: str(path.relative_to(FIXTURES)))
def test_checkpoints_written_by_the_previous_version_load_and_save_back_identically(
        tmp_path, path):
    """The committed run folders under tests/wgan/fixtures were written before load checked
    its input. Each loads, and saving what was loaded writes the same members: the same
    structure text and the same arrays, compared through NumPy's own reader."""
    resaved = tmp_path / "resaved.npz"
    mg.save(mg.load(path, device=devices.DEVICE), resaved)
    with np.load(path, allow_pickle=False) as old, np.load(resaved, allow_pickle=False) as new:
        assert old.files == new.files and len(old.files) > 10
        for name in old.files:
            same(old[name], new[name])


def test_there_are_committed_checkpoints_to_check():
    assert list(FIXTURES.glob("**/checkpoint.npz")), f"no checkpoint.npz under {FIXTURES}"
