"""``torch.accelerator`` (PyTorch 2.6 and later): the device to compute on, whatever its kind.
minigrad's one accelerator is "cuda", a GPU through CuPy."""
from . import backend
from .compat import device


def is_available():
    """True when a GPU can be used (CuPy installed, and a GPU seen)."""
    return backend.gpu_count() > 0


def current_accelerator(check_available=False):
    """``mg.device("cuda")``, or None without one. As in PyTorch, a build that knows CUDA
    answers "cuda" even without a GPU unless ``check_available``: here that build is an
    installed CuPy, so without CuPy the answer is None either way."""
    if is_available() or (not check_available and _cupy_installed()):
        return device("cuda")
    return None


def _cupy_installed():
    try:
        backend.cupy()
    except backend.DeviceUnavailable:
        return False
    return True


def device_count():
    return backend.gpu_count()


def current_device_index():
    return 0 if is_available() else -1


def synchronize(device_index=None):
    backend.synchronize("cuda")
