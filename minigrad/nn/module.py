"""Module, the base class of layers and models; Parameter; Sequential.

A Module sorts what is assigned to its attributes into three registries:

- parameters: ``Parameter`` values, the tensors an optimizer trains;
- buffers: tensors declared with ``register_buffer``, state that is saved but not trained
  (BatchNorm's running statistics);
- submodules: ``Module`` values, which makes models trees.

Everything else is an ordinary attribute. The registries give dotted names
("features.0.weight") to ``named_parameters``, ``state_dict`` and ``load_state_dict``.
"""
import reprlib
from collections import namedtuple
from collections.abc import Mapping

import numpy as np

from .. import backend
from ..compat import LegacyTensorType
from ..tensor import Tensor, device_and_dtype


class Parameter(Tensor):
    """A tensor that is a module's trainable weight: it requires grad unless told otherwise,
    and assigning it to a Module attribute registers it as a parameter."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        self._hold(data.array if isinstance(data, Tensor) else data, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class: subclasses assign parameters and submodules in ``__init__`` (after calling
    ``super().__init__()``) and compute their output in ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- registration ----
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called: "
                                 f"call super().__init__() first in {type(self).__name__}")
        if isinstance(value, Parameter):
            registry = self._parameters
        elif isinstance(value, Module):
            registry = self._modules
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter {name!r} "
                                "of a module: expected a Parameter or None")
            registry = self._parameters
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} "
                                "of a module: expected a Tensor or None")
            registry = self._buffers
        else:
            registry = None
        self._forget(name)
        if registry is None:
            object.__setattr__(self, name, value)
        else:
            registry[name] = value

    def __getattr__(self, name):
        # Only called when ordinary lookup fails: the registered names live in the registries.
        for registry in ("_parameters", "_buffers", "_modules"):
            values = self.__dict__.get(registry, {})
            if name in values:
                return values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        if not self._forget(name):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _forget(self, name):
        """Remove ``name`` from the registries and the instance; True if it was anywhere."""
        found = False
        for values in (self._parameters, self._buffers, self._modules, self.__dict__):
            if name in values:
                del values[name]
                found = True
        return found

    def register_buffer(self, name, tensor):
        """Declare ``tensor`` (a Tensor, or None for "absent") as state that is saved in
        ``state_dict`` and moved by ``to()``, but not trained."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"buffer name must be a non-empty string without dots, got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"buffer {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor

    # ---- walking the tree ----
    def named_modules(self):
        """(dotted name, module) for this module (name "") and every submodule, depth first;
        a module reachable by several paths is listed once."""
        seen = set()

        def visit(prefix, module):
            if id(module) in seen:
                return
            seen.add(id(module))
            yield prefix, module
            for name, child in module._modules.items():
                yield from visit(f"{prefix}.{name}" if prefix else name, child)

        return list(visit("", self))

    def modules(self):
        return [m for _, m in self.named_modules()]

    def named_children(self):
        return list(self._modules.items())

    def children(self):
        return list(self._modules.values())

    def _named_tensors(self, registry):
        """(dotted name, tensor) from one registry of every module; shared tensors once."""
        seen, named = set(), []
        for prefix, module in self.named_modules():
            for name, t in getattr(module, registry).items():
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    named.append((f"{prefix}.{name}" if prefix else name, t))
        return named

    def named_parameters(self):
        return self._named_tensors("_parameters")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        return self._named_tensors("_buffers")

    def buffers(self):
        return [b for _, b in self.named_buffers()]

    def apply(self, fn):
        """Call ``fn(module)`` on every module of the tree (e.g. a custom weight init)."""
        for module in self.modules():
            fn(module)
        return self

    # ---- modes, devices, gradients ----
    def train(self, mode=True):
        """Set training mode (dropout active, batch norm on batch statistics) on the whole tree."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        return self.train(False)

    def type(self, dst_type):
        """Cast the floating-point parameters and buffers to ``dst_type`` (a dtype, or a
        legacy type such as ``mg.DoubleTensor``, whose device is taken too)."""
        if isinstance(dst_type, LegacyTensorType):
            return self.to(dst_type.device, dtype=dst_type.dtype)
        return self.to(dtype=dst_type)

    def float(self): return self.to(dtype=np.float32)
    def double(self): return self.to(dtype=np.float64)
    def half(self): return self.to(dtype=np.float16)
    def cpu(self): return self.to("cpu")
    def cuda(self, device=None): return self.to("cuda")

    def to(self, *args, device=None, dtype=None):
        """Move parameters, their gradients, and buffers to ``device`` and/or cast the
        floating-point ones to ``dtype`` (given as PyTorch's ``.to`` takes them: ``to("cuda")``,
        ``to(mg.float64)``, ``to(tensor)``, keywords), in place: every tensor keeps its
        identity (optimizers hold references to them) and gets a new ``.array``. Returns the
        module."""
        device, dtype = device_and_dtype(args, device, dtype)

        def convert(array):
            if dtype is not None and array.dtype.kind == "f":
                array = array.astype(dtype)
            return array if device is None else backend.to_device(array, device)

        for t in self.parameters() + self.buffers():
            converted = convert(t.array)
            if converted is not t.array:
                t.array = converted
                t._changed_in_place()
            if t.grad is not None:
                t.grad.array = convert(t.grad.array)
        return self

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` of every parameter (False freezes the module). Returns it."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self):
        """Forget the gradients (``.grad = None``), before the next backward pass."""
        for p in self.parameters():
            p.grad = None

    # ---- state ----
    def state_dict(self):
        """{dotted name: tensor} of every parameter and buffer, each module's parameters then
        its buffers, parents before children. The tensors are detached and share memory with
        the module, as in PyTorch: save them (``mg.save``) to keep a snapshot."""
        state = {}
        for prefix, module in self.named_modules():
            for registry in (module._parameters, module._buffers):
                for name, t in registry.items():
                    if t is not None:
                        state[f"{prefix}.{name}" if prefix else name] = t.detach()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors or arrays, on any device) into this module's parameters and
        buffers, onto the device each already lives on.

        Every problem is found before anything is copied, and reported together: keys the
        module has but the state lacks (missing) and the reverse (unexpected) when ``strict``,
        and shape or dtype mismatches always. Returns (missing_keys, unexpected_keys).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict takes a dict of names to Tensors or arrays (as "
                            f"state_dict() returns), got {type(state_dict).__name__} "
                            f"{reprlib.repr(state_dict)}")
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing key(s): {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected key(s): {', '.join(unexpected)}")
        arrays = {}
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            array = value.array if isinstance(value, Tensor) else value
            if not hasattr(array, "shape") or not hasattr(array, "dtype"):
                problems.append(f"{name}: expected a Tensor or an array, got "
                                f"{type(value).__name__}")
            elif array.shape != target.shape:
                problems.append(f"shape mismatch for {name}: the state has {tuple(array.shape)}, "
                                f"the module {tuple(target.shape)}")
            elif array.dtype != target.dtype:
                problems.append(f"dtype mismatch for {name}: the state has {array.dtype}, "
                                f"the module {target.dtype}")
            else:
                arrays[name] = array
        if problems:
            raise RuntimeError(f"error(s) loading state_dict into {type(self).__name__}:\n  "
                               + "\n  ".join(problems))
        for name, array in arrays.items():
            own[name].array[...] = backend.to_device(array, own[name].device)
            own[name]._changed_in_place()
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ----
    def extra_repr(self):
        """The constructor arguments shown between the parentheses of the repr."""
        return ""

    def __repr__(self):
        """The tree of modules; every line that owns parameters ends with their count."""
        count = sum(p.numel() for p in self.parameters())
        note = f"  # {count:,} parameters" if count else ""
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return f"{head}){note}"
        lines = [head + note]
        for name, child in self._modules.items():
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines + [")"])


class Sequential(Module):
    """Modules applied one after the other; indexable (a slice gives a Sequential), iterable."""

    def __init__(self, *modules):
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules, but argument {i} is a "
                                f"{type(module).__name__}")
            setattr(self, str(i), module)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x

    def __getitem__(self, index):
        modules = list(self._modules.values())
        return Sequential(*modules[index]) if isinstance(index, slice) else modules[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
