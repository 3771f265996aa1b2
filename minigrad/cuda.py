"""``torch.cuda``'s questions, answered for minigrad's "cuda" device (CuPy's current GPU)."""
from . import backend
from .compat import legacy_types

globals().update(legacy_types("cuda.", "cuda"))  # mg.cuda.FloatTensor(2, 3) and its kin


def is_available():
    """True when CuPy is installed and sees a GPU."""
    return backend.gpu_count() > 0


def device_count():
    """The number of GPUs CuPy sees (0 without CuPy). minigrad computes on one of them, CuPy's
    current device: see ``minigrad.backend.select_gpu``."""
    return backend.gpu_count()


def current_device():
    return 0


def manual_seed(seed):
    """Seed the one generator behind every random tensor: minigrad draws samples for every
    device on the host (see minigrad.backend), so this is ``mg.manual_seed``."""
    backend.manual_seed(seed)


manual_seed_all = manual_seed


def synchronize(device=None):
    """Wait until the GPU has finished its queued work (for timing)."""
    backend.synchronize("cuda")
