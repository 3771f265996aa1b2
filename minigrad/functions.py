"""PyTorch's function forms of tensor methods and the tensor factories PyTorch programs call
that minigrad's core names differently.

``mg.mean(x, 1)`` is ``x.mean(1)``: each function form calls the method, so the two take the
same arguments and give the same results. The factories draw from minigrad's generator
(``mg.manual_seed``) or from a ``mg.Generator`` passed as ``generator=``.
"""
import math

import numpy as np

from . import backend, ops
from .tensor import Tensor, randn, tensor, zeros, zeros_like


def _method_form(name):
    def function(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"mg.{name}() takes a Tensor as its first argument, got "
                            f"{type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``mg.{name}(x, ...)`` is ``x.{name}(...)``."
    return function


(mean, sum, var, std, max, min, argmax, argmin, flatten, reshape, squeeze, unsqueeze, transpose,
 permute, norm) = map(_method_form, ("mean", "sum", "var", "std", "max", "min", "argmax",
                                     "argmin", "flatten", "reshape", "squeeze", "unsqueeze",
                                     "transpose", "permute", "norm"))
# (x.max(other) is already PyTorch's elementwise maximum: so is mg.max(x, other))


def cat(tensors, dim=0):
    """Join tensors along an existing axis (``mg.concat``)."""
    return ops.concat(tensors, dim)


def clamp(input, min=None, max=None):
    """``input`` limited to [min, max] (either may be None); ``mg.clip`` is its alias."""
    return ops.clamp(input, min, max)


def t(input):
    """The transpose of a matrix; a tensor of fewer than 2 axes as it is."""
    if input.ndim > 2:
        raise RuntimeError(f"mg.t() takes a tensor of at most 2 axes, got shape {input.shape}; "
                           "use x.transpose(dim0, dim1)")
    return ops.transpose(input, 0, 1) if input.ndim == 2 else input


def numel(input):
    """The number of elements."""
    return math.prod(input.shape)


def is_tensor(obj):
    return isinstance(obj, Tensor)


# ---- making tensors ----

def from_numpy(array):
    """A tensor that shares ``array``'s memory, with its dtype (as PyTorch's: changing one
    changes the other)."""
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biufc":
        raise TypeError(f"mg.from_numpy() takes a NumPy array of numbers, got "
                        f"{type(array).__name__} {getattr(array, 'dtype', '')}".rstrip())
    return Tensor._wrap(array)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, without a copy where it already is one (or a NumPy array on the
    CPU) of that dtype and device; a copy otherwise, as ``mg.tensor`` makes."""
    dtype = None if dtype is None else np.dtype(dtype)
    if isinstance(data, Tensor):
        data = data if dtype is None else data.astype(dtype)
        return data if device is None else data.to(device)
    if (isinstance(data, np.ndarray) and dtype in (None, data.dtype)
            and backend.check_device(device or "cpu") == "cpu"):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device or "cpu")


def empty(*size, dtype=np.float32, device="cpu", requires_grad=False):
    """Zeros: minigrad never hands out uninitialised memory."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input, dtype=None, requires_grad=False, device=None):
    """Zeros shaped like ``input``: minigrad never hands out uninitialised memory."""
    return zeros_like(input, dtype, requires_grad, device)


# ---- random numbers ----

class Generator:
    """A generator of its own, as PyTorch's ``torch.Generator``, for the draws that take
    ``generator=`` (randint, randperm, DataLoader's shuffling, random_split):
    ``mg.Generator().manual_seed(0)``. Without one they draw from minigrad's generator."""

    def __init__(self, device="cpu"):
        self.device = backend.check_device(device)
        self.manual_seed(int(np.random.SeedSequence().entropy % 2**63))

    def manual_seed(self, seed):
        self.rng, self._seed = np.random.default_rng(seed), seed
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self.rng.bit_generator.state

    def set_state(self, state):
        self.rng.bit_generator.state = state
        return self


def rng_of(generator):
    """The NumPy generator behind a draw: ``generator``'s, or minigrad's."""
    return backend.rng() if generator is None else generator.rng


def randint(*args, size=None, generator=None, dtype=np.int64, device="cpu",
            requires_grad=False):
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``, as PyTorch's (size is a tuple)."""
    if size is not None:
        args += (size,)
    if len(args) not in (2, 3):
        raise TypeError("mg.randint takes (high, size) or (low, high, size), size a tuple")
    low, high, size = (0,) + args if len(args) == 2 else args
    values = rng_of(generator).integers(low, high, tuple(size))
    return tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)


def randperm(n, generator=None, dtype=np.int64, device="cpu", requires_grad=False):
    """The numbers 0 .. n-1 in a random order."""
    return tensor(rng_of(generator).permutation(n), dtype=dtype, device=device,
                  requires_grad=requires_grad)


def normal(mean, std, size=None, *, dtype=None, device=None):
    """Samples of N(mean, std^2): ``mean`` and ``std`` numbers (then ``size`` is needed) or
    tensors (the result has their broadcast shape, dtype and device). Not differentiable:
    a constant, as PyTorch's."""
    like = next((v for v in (mean, std) if isinstance(v, Tensor)), None)
    if like is None:
        if size is None:
            raise TypeError("mg.normal(mean, std) of two numbers needs size=")
        return mean + std * randn(size, dtype=dtype or np.float32, device=device or "cpu")
    shape = np.broadcast_shapes(*(v.shape for v in (mean, std) if isinstance(v, Tensor)))
    noise = randn(shape, dtype=dtype or like.dtype, device=device or like.device)
    return (mean + std * noise).detach()
