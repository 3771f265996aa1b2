"""mg.save / mg.load: exact round trips, atomic writes, and errors that say what is wrong."""
import json
import math
import os
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend, nn, serialization
from minigrad.serialization import CheckpointError

import devices
from devices import to_device


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
        assert backend.device_of(a.data) == backend.device_of(b.data) == a.device
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
        assert backend.device_of(on_device[name].data) == "cuda"
        assert np.array_equal(on_host[name].numpy(), value)
        assert np.array_equal(on_device[name].numpy(), value)
    for state in (on_host, on_device):
        other = nn.Linear(3, 2).to("cuda")
        arrays = [p.data for p in other.parameters()]
        other.load_state_dict(state)  # values are copied into the device arrays
        assert all(p.data is a and p.device == "cuda" for p, a in zip(other.parameters(), arrays))
        other.to("cpu")
        assert all(isinstance(p.data, np.ndarray) for p in other.parameters())
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
    with pytest.raises(CheckpointError, match="'a0' .* missing from the archive"):
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
    with pytest.raises(CheckpointError, match="allow_pickle=False"):
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
