"""NumPy / CuPy dispatch: the only module that knows CuPy exists.

A Tensor holds one array: a ``numpy.ndarray`` on "cpu", a ``cupy.ndarray`` on "cuda".
Everything that differs between the two libraries lives here: which module to use for a
device, moving arrays between host and device, random number generators, and turning a
0-d result into a Python number.

CuPy is imported lazily, the first time "cuda" is asked for. Tests install a stand-in
module with ``set_cupy_module`` so that the device code paths run without a GPU.
"""
import numpy as np

DEVICES = ("cpu", "cuda")

_cupy = None


def set_cupy_module(module):
    """Use ``module`` as CuPy (tests pass a NumPy-backed stand-in). ``None`` resets it."""
    global _cupy
    _cupy = module


def cupy():
    """The CuPy module, imported on first use, with an error that says how to get it."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp
        except ImportError as e:
            raise RuntimeError(
                'device "cuda" needs CuPy, which is not installed. Install the GPU extra: '
                'pip install "minigrad-wgan[gpu]" (CUDA 12), or the cupy wheel for your '
                "CUDA version, e.g. pip install cupy-cuda11x") from e
        _cupy = cp
    return _cupy


def check_device(device):
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}: expected one of {DEVICES}")
    return device


def xp_of_device(device):
    """The array module (numpy or cupy) for a device name."""
    return np if check_device(device) == "cpu" else cupy()


def device_of(array):
    return "cpu" if isinstance(array, (np.ndarray, np.generic)) else "cuda"


def xp_of(array):
    """The array module an array belongs to."""
    return np if device_of(array) == "cpu" else cupy()


def to_device(array, device):
    """``array`` (NumPy, CuPy or a Python value) on ``device``; no copy if already there."""
    if check_device(device) == "cpu":
        return to_host(array)
    if isinstance(array, (np.ndarray, np.generic)) or not hasattr(array, "__array_priority__"):
        return cupy().asarray(array)
    return array


def to_host(array):
    """A NumPy array with the contents of ``array``, wherever it lives."""
    if isinstance(array, (np.ndarray, np.generic)):
        return np.asarray(array)
    if hasattr(array, "get"):
        return array.get()
    return np.asarray(array)


def scalar(array):
    """The Python number held by a one-element array."""
    return to_host(array).item()


# ---- random numbers ----
# One NumPy generator serves every device: samples are drawn on the host and moved to the
# device. CuPy's generator states cannot be saved, and a run must resume exactly from a
# checkpoint; drawing on the host also gives the same numbers on CPU and GPU for one seed.
# What is drawn per step (noise, penalty weights, dropout masks) is small next to the work.

_rng = np.random.default_rng()


def rng():
    """The generator behind every random tensor."""
    return _rng


def manual_seed(seed):
    """Seed the generator, so that runs are reproducible."""
    global _rng
    _rng = np.random.default_rng(seed)


def get_rng_state():
    """The generator's state: a dict of plain numbers that can be saved and restored."""
    return _rng.bit_generator.state


def set_rng_state(state):
    _rng.bit_generator.state = state
