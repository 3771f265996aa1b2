"""The device the test suite runs on, and helpers that make tensors and modules there.

``conftest.py`` sets ``DEVICE`` from pytest's ``--device`` option (default "cpu") before any
test module is imported. Tests make their inputs with these helpers instead of calling
``mg.tensor`` / ``mg.randn`` directly, so that one test body checks both devices:

    python -m pytest -q                               # DEVICE = "cpu", NumPy
    python -m pytest -q --device cuda                 # DEVICE = "cuda", tests/support/cupy_standin.py
    python -m pytest -q --device cuda --real-cupy     # DEVICE = "cuda", the installed CuPy

Results come back to the host with ``.numpy()`` (and ``.item()``), which works on both, so the
NumPy references the tests compare against stay as they are.
"""
import numpy as np

import minigrad as mg
from minigrad import backend

DEVICE = "cpu"          # "cpu" or "cuda": the device the suite's tensors live on
BACKEND = "numpy"       # "numpy", "stand-in" (tests/support/cupy_standin.py) or "cupy" (real CuPy)


def other_device():
    """The device that is not DEVICE (for tests of moves and of mixing devices)."""
    return "cpu" if DEVICE == "cuda" else "cuda"


def tensor(data, dtype=None, requires_grad=False):
    """``mg.tensor`` on DEVICE."""
    return mg.tensor(data, dtype=dtype, requires_grad=requires_grad, device=DEVICE)


def leaf(array, dtype=np.float64):
    """A float64 leaf tensor on DEVICE that requires grad."""
    return mg.tensor(np.asarray(array, dtype=dtype), requires_grad=True, device=DEVICE)


def constant(array):
    """A constant tensor on DEVICE holding a copy of ``array`` (NumPy data or a number)."""
    return mg.Tensor._wrap(array_on_device(np.asarray(array)))


def array_on_device(array):
    """A NumPy array's contents as an array of DEVICE (a copy on "cuda", itself on "cpu")."""
    return backend.to_device(array, DEVICE)


def _made(factory):
    def make(*shape, **kwargs):
        return factory(*shape, device=DEVICE, **kwargs)
    make.__name__ = factory.__name__
    make.__doc__ = f"mg.{factory.__name__} on DEVICE."
    return make


zeros, ones, randn, rand = _made(mg.zeros), _made(mg.ones), _made(mg.randn), _made(mg.rand)


def full(shape, value, **kwargs):
    return mg.full(shape, value, device=DEVICE, **kwargs)


def to_device(module, dtype=None):
    """A module (or a Tensor) moved to DEVICE, and cast to ``dtype`` if given; a module is
    moved in place and returned."""
    if isinstance(module, mg.Tensor):
        moved = module.to(DEVICE)
        return moved if dtype is None else moved.astype(dtype)
    return module.to(DEVICE, dtype=dtype)


def on_device(*tensors):
    """True if every tensor (and its array) lives on DEVICE."""
    return all(t.device == DEVICE and backend.device_of(t.array) == DEVICE for t in tensors)


def assert_close(a, b, what="", rtol=1e-5, atol=1e-6):
    """Equal on NumPy and on the stand-in (NumPy underneath); equal to rounding on a GPU."""
    if BACKEND == "cupy":
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


def flatten_state(state, prefix=""):
    """{path: host value} of a nested checkpoint or state dict ("/generator/0.weight": array)."""
    if isinstance(state, dict):
        return {k: v for key, value in state.items()
                for k, v in flatten_state(value, f"{prefix}/{key}").items()}
    if isinstance(state, (list, tuple)):
        return {k: v for i, value in enumerate(state)
                for k, v in flatten_state(value, f"{prefix}/{i}").items()}
    if isinstance(state, mg.Tensor):
        return {prefix: state.numpy()}
    return {prefix: backend.to_host(state) if hasattr(state, "shape") else state}


def assert_same_state(a, b, skip=("/elapsed",), **tolerance):
    """Two checkpoints hold the same keys and values (arrays compared with assert_close);
    wall-clock entries in ``skip`` are left out."""
    fa, fb = flatten_state(a), flatten_state(b)
    assert fa.keys() == fb.keys()
    for key in fa.keys() - set(skip):
        va, vb = fa[key], fb[key]
        if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
            assert_close(np.asarray(va), np.asarray(vb), key, **tolerance)
        else:
            assert va == vb, key
