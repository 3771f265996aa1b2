"""PyTorch's spellings of things minigrad has under other names, so that a PyTorch program
runs after changing its imports (docs/pytorch.md): ``mg.device``, the legacy typed
constructors (``mg.FloatTensor(2, 3)``), the grad-mode switches in every form PyTorch
accepts, and the error for a PyTorch name minigrad lacks.
"""
import contextlib
import numbers

import numpy as np

from . import autograd, backend
from .tensor import LEGACY_TYPE_NAMES, Size, tensor, zeros


class device(str):
    """PyTorch's ``torch.device``: ``mg.device("cuda")``, ``mg.device("cuda:0")``,
    ``mg.device("cuda", 0)``. It *is* the device's name, the str "cpu" or "cuda", so it goes
    wherever minigrad takes a device name; ``.type`` and ``.index`` are PyTorch's."""

    def __new__(cls, type, index=None):
        if isinstance(type, device) and index is None:
            return type
        spelled = type if index is None else f"{type}:{index}"
        self = super().__new__(cls, backend.check_device(spelled))
        _, colon, number = str(spelled).partition(":")
        self.index = int(number) if colon else None
        return self

    @property
    def type(self):
        return str.__str__(self)

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"


class LegacyTensorType:
    """PyTorch's legacy typed constructors, ``torch.FloatTensor`` and its kin: called with ints,
    zeros of that shape (PyTorch leaves the memory uninitialised), as with a ``Size``; called
    with data (a list, a tuple, an array, a Tensor), a copy of it with this type's dtype.
    ``.dtype`` and ``.device`` say what the type stands for."""

    def __init__(self, name, dtype, device="cpu"):
        self.__name__, self.dtype, self.device = name, np.dtype(dtype), device

    def __call__(self, *data):
        if len(data) == 1 and isinstance(data[0], Size):
            data = data[0]
        if all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in data):
            return zeros(data or (0,), dtype=self.dtype, device=self.device)
        if len(data) != 1:
            raise TypeError(f"mg.{self.__name__}() takes sizes (ints) or one list, tuple or "
                            f"array of data, got {len(data)} arguments")
        return tensor(data[0], dtype=self.dtype, device=self.device)

    def __repr__(self):
        return f"mg.{self.__name__}"


def legacy_types(prefix="", device="cpu"):
    """{name: constructor} of the legacy types of one device (PyTorch's names)."""
    return {name: LegacyTensorType(prefix + name, dtype, device)
            for dtype, name in LEGACY_TYPE_NAMES.items() if dtype.kind != "c"}


# ---- grad modes: each works as ``with mg.no_grad():``, ``@mg.no_grad()`` and ``@mg.no_grad`` ----

def no_grad(function=None):
    """Operations record nothing inside ``with mg.no_grad():`` or a function decorated with
    ``@mg.no_grad()`` or ``@mg.no_grad``."""
    return autograd.no_grad() if function is None else autograd.no_grad()(function)


def enable_grad(function=None):
    """Operations are recorded again inside ``with mg.enable_grad():`` (or a decorated
    function), even within ``no_grad``."""
    return autograd.enable_grad() if function is None else autograd.enable_grad()(function)


def inference_mode(mode=True):
    """PyTorch's faster no_grad; minigrad has no inference tensors, so it *is* ``no_grad``
    (``inference_mode(False)`` changes nothing). Also a decorator, with or without ()."""
    if callable(mode):
        return no_grad(mode)
    return autograd.no_grad() if mode else contextlib.nullcontext()


def set_grad_enabled(mode):
    """Record operations (True) or not (False) from now on; used as
    ``with mg.set_grad_enabled(mode):``, the mode before comes back after the block."""
    before = autograd.is_grad_enabled()
    autograd._GradMode.enabled = bool(mode)
    return _restored_on_exit(before)


@contextlib.contextmanager
def _restored_on_exit(mode):
    try:
        yield
    finally:
        autograd._GradMode.enabled = mode


# ---- names PyTorch has and minigrad lacks ----

def missing(module, name, hints):
    """The AttributeError for ``module.name``; ``hints`` maps the PyTorch names minigrad lacks
    to what to write instead (None where there is nothing to suggest)."""
    message = f"module {module!r} has no attribute {name!r}"
    if name in hints:
        torch_module = module.replace("minigrad", "torch", 1)
        message += f": PyTorch has {torch_module}.{name}, minigrad does not"
        if hints[name]:
            message += f"; {hints[name]}"
    return AttributeError(message)
