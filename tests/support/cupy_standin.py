"""A CuPy stand-in for the tests: the part of CuPy's API that minigrad uses, on top of NumPy.

Installed with ``minigrad.backend.set_cupy_module(cupy_standin)`` (the test suite does that
for ``--device cuda``), it lets every "cuda" code path run on a machine without a GPU. It is
test-only and never shipped in the package.

What it keeps as CuPy does:

- ``ndarray`` is its own type wrapping a NumPy array, and refuses implicit conversion to
  NumPy: ``numpy.asarray(x)`` raises TypeError with CuPy's message; ``x.get()`` is the way home.
- Reductions over all axes and integer indexing give 0-d arrays, never NumPy scalars.
- ``asarray`` / ``array`` of host data copies it: device memory never aliases host memory.
- Python numbers and NumPy scalars combine with device arrays (NumPy 2's promotion rules).
- ``float(x)``, ``int(x)``, ``bool(x)``, ``x.item()``, ``x.tolist()`` copy to the host.

Where it is stricter than CuPy, because that guards minigrad's backend rule:

- NumPy functions refuse device arrays: ``__array_ufunc__ = None`` and an
  ``__array_function__`` that raises, so ``np.exp(x)`` or ``np.sum(x)`` fails here instead of
  dispatching to CuPy as real CuPy arrays allow (NumPy's binary operators with a NumPy scalar on
  the left still defer to ours, as they do with CuPy).
- A ``numpy.ndarray`` mixed into an operation, a function or an index assignment raises
  TypeError: host data must be moved with ``asarray`` first.
- ``empty`` / ``empty_like`` are filled with NaN (or the largest integer): on a GPU they hold
  whatever the memory pool last held, and code must not read them.
- dtypes CuPy has no kernels for (object, strings, datetimes, long double) are refused.
- ``random`` is there but refuses every use: minigrad draws random numbers on the host
  (``minigrad.backend.rng()``) by design. ``ufunc.at`` is refused: scatter-add belongs in
  ``minigrad.backend``, which calls ``ndarray.scatter_add`` (CuPy's kernel, offered here). Names in ``NOT_IN_CUPY`` are absent.

``transfers`` counts host-to-device and device-to-host copies, so tests can check that
transfers happen only where they must (data in, numbers for logs out), never per op.

Module functions (``zeros``, ``maximum``, ``concatenate``, ``where``, ``pad``, ...) are
NumPy's, wrapped by the module's ``__getattr__``: arguments are checked and unwrapped, results
wrapped. ``ndarray`` methods are wrapped the same way (``_METHODS``). What needs more than
that (creation from host data, ``empty``, transfers, operators) is written out below.
"""
import builtins as _builtins
import contextlib
import functools
import numbers
import types

import numpy as _np

__version__ = "0.0.0+standin"

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. "
             "Please use `.get()` to construct a NumPy array explicitly.")

# What NumPy has and CuPy has not (or minigrad must not use on the device): absent here.
NOT_IN_CUPY = {
    "load": "file I/O is host-side: load with NumPy, then move the array with asarray",
    "save": "file I/O is host-side: .get() the array, then save it with NumPy",
    "savez": "file I/O is host-side", "savez_compressed": "file I/O is host-side",
    "loadtxt": "file I/O is host-side", "savetxt": "file I/O is host-side",
    "genfromtxt": "file I/O is host-side", "fromfile": "file I/O is host-side",
    "frombuffer": "host buffers: build a NumPy array, then asarray",
    "fromiter": "host iterators: build a NumPy array, then asarray",
    "fromstring": "host strings", "frompyfunc": "Python functions do not run on a GPU",
    "vectorize": "Python functions do not run on a GPU (CuPy's vectorize compiles a kernel)",
    "nditer": "no iterator protocol on device arrays", "errstate": "NumPy error state",
    "seterr": "NumPy error state", "geterr": "NumPy error state",
    "set_printoptions": "NumPy print options", "printoptions": "NumPy print options",
    "ma": "no masked arrays", "rec": "no record arrays", "char": "no string arrays",
    "busday_count": "no datetimes", "busday_offset": "no datetimes", "is_busday": "no datetimes",
    "datetime_as_string": "no datetimes", "longdouble": "no long double on a GPU",
    "clongdouble": "no long double on a GPU", "float128": "no long double on a GPU",
}
_SUBMODULES = {"linalg": _np.linalg, "lib": _np.lib}
_DTYPE_KINDS_REFUSED = "OUSVMm"


class _Transfers:
    """Counts of copies between host and device since the last ``reset()``; inside
    ``with transfers.record() as log:`` each copy is also logged as (direction, shape)."""

    def __init__(self):
        self.reset()
        self._log = None

    def reset(self):
        self.to_device = 0
        self.to_host = 0

    def _count(self, direction, shape):
        setattr(self, direction, getattr(self, direction) + 1)
        if self._log is not None:
            self._log.append((direction, tuple(shape)))

    @contextlib.contextmanager
    def record(self):
        previous, self._log = self._log, []
        try:
            yield self._log
        finally:
            self._log = previous

    def __repr__(self):
        return f"transfers(to_device={self.to_device}, to_host={self.to_host})"


transfers = _Transfers()


def _host_array_error(where):
    return TypeError(
        f"{where}: got a numpy.ndarray (host memory) where a device array is expected; move it "
        "to the device first (cupy.asarray; in minigrad, backend.to_device)")


def _check_dtype(dtype):
    dtype = _np.dtype(dtype)
    if dtype.kind in _DTYPE_KINDS_REFUSED or (dtype.kind in "fc" and dtype.itemsize > 8 * (
            2 if dtype.kind == "c" else 1)):
        raise TypeError(f"CuPy does not support dtype {dtype}")
    return dtype


def _unwrap(value, where):
    """NumPy's view of an argument: device arrays unwrapped (also inside lists and tuples);
    host arrays refused; everything else (numbers, NumPy scalars, slices, dtypes) as is."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, _np.ndarray):
        raise _host_array_error(where)
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(_unwrap(v, where) for v in value)
    return value


def _wrappers_in(args, kwargs):
    found = []
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, ndarray):
            found.append(value)
        elif type(value) in (list, tuple):
            found.extend(_wrappers_in(value, {}))
    return found


def _wrap(result, owner=None, known=()):
    """Device arrays from NumPy's results: arrays wrapped, scalars as 0-d arrays (as CuPy
    returns them), an array that is an argument's own (``out=``) as that argument."""
    if isinstance(result, _np.ndarray):
        for w in known:
            if w._a is result:
                return w
        return ndarray._from_numpy(result, owner)
    if isinstance(result, _np.generic):
        return ndarray._from_numpy(_np.asarray(result))
    if type(result) in (tuple, list):
        return type(result)(_wrap(r, owner, known) for r in result)
    return result


def _call(fn, args, kwargs, where, owner=None):
    known = _wrappers_in(args, kwargs)
    if owner is None and known:
        owner = known[0]
    result = fn(*_unwrap(args, where), **{k: _unwrap(v, where) for k, v in kwargs.items()})
    return _wrap(result, owner, known)


class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, flags):
        self.c_contiguous = flags.c_contiguous
        self.f_contiguous = flags.f_contiguous
        self.owndata = flags.owndata

    def __getitem__(self, name):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "OWNDATA": "owndata"}[name])

    def __repr__(self):
        return (f"  C_CONTIGUOUS : {self.c_contiguous}\n  F_CONTIGUOUS : {self.f_contiguous}\n"
                f"  OWNDATA : {self.owndata}")


class ndarray:
    """A device array: a NumPy array that only this module's functions and the array's own
    methods and operators may touch."""

    __slots__ = ("_a", "_base", "__weakref__")
    __array_priority__ = 100   # as cupy.ndarray: minigrad's Tensor (1000) wins over it
    __array_ufunc__ = None     # NumPy ufuncs refuse it; NumPy's operators defer to ours
    __hash__ = None

    def __new__(cls, shape, dtype=float):
        """``cupy.ndarray(shape, dtype)``: uninitialised memory, as ``empty``."""
        return empty(shape, dtype)

    @classmethod
    def _from_numpy(cls, array, owner=None):
        dtype = array.dtype
        if dtype.kind not in "biuf" or dtype.itemsize > 8:
            _check_dtype(dtype)
        self = object.__new__(cls)
        self._a = array
        self._base = None
        if owner is not None and array.base is not None:
            root = owner._base if owner._base is not None else owner
            if _np.may_share_memory(array, root._a):
                self._base = root
        return self

    # ---- refusing NumPy ----
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(
            f"numpy.{func.__name__}() was called on a device array: NumPy functions run on the "
            f"host. Use the array module of the data (minigrad.backend.xp_of(array)."
            f"{func.__name__}), or copy it to the host first with .get()")

    # ---- what it is ----
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a.flags))
    base = property(lambda self: self._base)
    T = property(lambda self: _wrap(self._a.T, self))
    device = property(lambda self: cuda.Device(0))

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        transfers._count("to_host", ())
        return format(self._a.item() if self.ndim == 0 else self._a, spec)

    # ---- to the host ----
    def get(self, stream=None, order="C", out=None):
        """A NumPy copy of the data, on the host."""
        transfers._count("to_host", self.shape)
        return _np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        """Copy a NumPy array of the same shape and dtype into this array."""
        if not isinstance(arr, _np.ndarray):
            raise TypeError(f"set() takes a numpy.ndarray, got {type(arr).__name__}")
        if arr.shape != self.shape or arr.dtype != self.dtype:
            raise ValueError(f"set(): shape/dtype mismatch {arr.shape} {arr.dtype} for "
                             f"{self.shape} {self.dtype}")
        transfers._count("to_device", arr.shape)
        self._a[...] = arr

    def item(self, *args):
        transfers._count("to_host", ())
        return self._a.item(*args)

    def tolist(self):
        transfers._count("to_host", self.shape)
        return self._a.tolist()

    def _scalar(self, convert):
        transfers._count("to_host", ())
        return convert(self._a)

    __float__ = lambda self: self._scalar(float)          # noqa: E731
    __int__ = lambda self: self._scalar(int)              # noqa: E731
    __complex__ = lambda self: self._scalar(complex)      # noqa: E731
    __bool__ = lambda self: self._scalar(bool)            # noqa: E731

    # ---- copies and casts ----
    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        _check_dtype(dtype)
        result = self._a.astype(dtype, order=order, copy=copy)
        return self if result is self._a else ndarray._from_numpy(result)

    def copy(self, order="C"):
        return ndarray._from_numpy(self._a.copy(order=order))

    __copy__ = copy

    def __deepcopy__(self, memo):
        return self.copy()

    def fill(self, value):
        self._a.fill(_unwrap(value, "ndarray.fill()"))

    # ---- indexing ----
    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index, "ndarray.__getitem__")], self)

    def __setitem__(self, index, value):
        self._a[_unwrap(index, "ndarray.__setitem__")] = _unwrap(
            value, "ndarray.__setitem__ (a host array written into device memory)")

    def scatter_add(self, slices, value):
        """CuPy's ``ndarray.scatter_add`` (what ``cupyx.scatter_add(a, slices, value)`` calls):
        ``value`` added at ``slices``, repeated indices adding up, as ``numpy.add.at``."""
        _np.add.at(self._a, _unwrap(slices, "ndarray.scatter_add"),
                   _unwrap(value, "ndarray.scatter_add (host values added into device memory)"))

    # ---- operators ----
    def __neg__(self):
        return _wrap(-self._a)

    def __pos__(self):
        return _wrap(+self._a)

    def __abs__(self):
        return _wrap(_builtins.abs(self._a))

    def __invert__(self):
        return _wrap(~self._a)


def _operand(other, symbol):
    """The NumPy view of an operator's other operand, or None if ours should not handle it."""
    if isinstance(other, ndarray):
        return other._a
    if isinstance(other, _np.ndarray):
        raise _host_array_error(f"device array {symbol} numpy.ndarray")
    if isinstance(other, (numbers.Number, _np.generic)):
        return other
    return None


def _binary(name, symbol):
    forward, reflected, in_place = f"__{name}__", f"__r{name}__", f"__i{name}__"

    def op(self, other):
        o = _operand(other, symbol)
        return NotImplemented if o is None else _wrap(getattr(self._a, forward)(o))

    def rop(self, other):
        o = _operand(other, symbol)
        return NotImplemented if o is None else _wrap(getattr(self._a, reflected)(o))

    def iop(self, other):
        o = _operand(other, symbol + "=")
        if o is None:
            return NotImplemented
        getattr(self._a, in_place)(o)
        return self

    setattr(ndarray, forward, op)
    setattr(ndarray, reflected, rop)
    setattr(ndarray, in_place, iop)


for _name, _symbol in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"),
                       ("floordiv", "//"), ("mod", "%"), ("pow", "**"), ("matmul", "@"),
                       ("and", "&"), ("or", "|"), ("xor", "^"), ("lshift", "<<"),
                       ("rshift", ">>")):
    _binary(_name, _symbol)


def _comparison(name, symbol):
    method = f"__{name}__"

    def op(self, other):
        o = _operand(other, symbol)
        return NotImplemented if o is None else _wrap(getattr(self._a, method)(o))

    setattr(ndarray, method, op)


for _name, _symbol in (("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">="), ("eq", "=="),
                       ("ne", "!=")):
    _comparison(_name, _symbol)


# Methods that CuPy's ndarray has, NumPy's semantics: wrapped generically.
_METHODS = ("all", "any", "argmax", "argmin", "argsort", "clip", "conj", "conjugate", "cumprod",
            "cumsum", "diagonal", "dot", "flatten", "max", "mean", "min", "nonzero", "prod",
            "ravel", "repeat", "reshape", "round", "sort", "squeeze", "std", "sum", "swapaxes",
            "take", "trace", "transpose", "var", "view")


def _method(name):
    def method(self, *args, **kwargs):
        return _call(getattr(self._a, name), args, kwargs, f"ndarray.{name}()", owner=self)
    method.__name__ = name
    method.__doc__ = f"CuPy's ndarray.{name}, with NumPy's semantics."
    return method


for _name in _METHODS:
    setattr(ndarray, _name, _method(_name))


# ---- module functions ----

def asarray(a, dtype=None, order=None, *, blocking=False):
    """``a`` on the device: a device array as is (cast if ``dtype`` differs), host data copied."""
    if isinstance(a, ndarray):
        return a if dtype is None or _np.dtype(dtype) == a.dtype else a.astype(dtype)
    result = ndarray._from_numpy(_np.array(a, dtype=dtype, order=order or "K", copy=True))
    transfers._count("to_device", result.shape)
    return result


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        result = obj.astype(obj.dtype if dtype is None else dtype, copy=copy)
    else:
        result = ndarray._from_numpy(_np.array(obj, dtype=dtype, order=order, copy=True))
        transfers._count("to_device", result.shape)
    while result.ndim < ndmin:
        result = result[None]
    return result


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """A NumPy array on the host: ``a.get()`` for a device array."""
    return a.get(order=order) if isinstance(a, ndarray) else _np.asarray(a, order=order)


def get_array_module(*args):
    return _module if _builtins.any(isinstance(a, ndarray) for a in args) else _np


def _garbage(shape, dtype):
    dtype = _check_dtype(dtype)
    if dtype.kind in "fc":
        return _np.full(shape, _np.nan, dtype)
    if dtype.kind in "iu":
        return _np.full(shape, _np.iinfo(dtype).max, dtype)
    return _np.ones(shape, dtype)


def empty(shape, dtype=float, order="C"):
    """Uninitialised memory: NaN here, so that code reading it before writing fails loudly."""
    return ndarray._from_numpy(_garbage(shape, dtype))


def empty_like(prototype, dtype=None, order="K", subok=None, shape=None):
    if not isinstance(prototype, ndarray):
        raise _host_array_error("cupy.empty_like()")
    return empty(prototype.shape if shape is None else shape,
                 prototype.dtype if dtype is None else dtype)


class _Ufunc:
    """A NumPy ufunc working on device arrays; ``at`` is refused (scatter-add is
    minigrad.backend's business)."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__
        self.__doc__ = ufunc.__doc__

    def __call__(self, *args, **kwargs):
        return _call(self._ufunc, args, kwargs, f"cupy.{self.__name__}()")

    def __getattr__(self, name):
        if name == "at":
            raise AttributeError(f"cupy.{self.__name__}.at is refused by the stand-in: "
                                 "scatter-add belongs in minigrad.backend")
        attribute = getattr(self._ufunc, name)
        if name in ("reduce", "accumulate", "outer", "reduceat"):
            where = f"cupy.{self.__name__}.{name}()"
            return lambda *args, **kwargs: _call(attribute, args, kwargs, where)
        return attribute

    def __repr__(self):
        return f"<ufunc {self.__name__!r} (stand-in)>"


def _function(fn, name):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        return _call(fn, args, kwargs, f"cupy.{name}()")
    return call


class _Namespace(types.ModuleType):
    """A submodule (``cupy.linalg``, ``cupy.lib.stride_tricks``): NumPy's functions, wrapped."""

    def __init__(self, name, numpy_module):
        super().__init__(f"cupy.{name}")
        self._numpy_module = numpy_module

    def __getattr__(self, name):
        fn = getattr(self._numpy_module, name)
        if isinstance(fn, types.ModuleType):
            wrapped = _Namespace(f"{self.__name__[5:]}.{name}", fn)
            setattr(self, name, wrapped)
            return wrapped
        if not callable(fn) or isinstance(fn, type):
            return fn
        wrapped = _function(fn, f"{self.__name__[5:]}.{name}")
        setattr(self, name, wrapped)
        return wrapped


class _NoRandom(types.ModuleType):
    """``cupy.random``: present, but every use refused."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"cupy.random.{name} is refused by the stand-in: minigrad draws every random number "
            "on the host with minigrad.backend.rng() (seeded by mg.manual_seed, saved in "
            "checkpoints) and moves the samples to the device")


random = _NoRandom("cupy.random")


class _Cuda(types.ModuleType):
    """The little of ``cupy.cuda`` that scripts use: devices to synchronise, a device count."""

    class Device:
        def __init__(self, device=0):
            self.id = int(device)

        def synchronize(self):
            pass

        def use(self):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def __repr__(self):
            return f"<CUDA Device {self.id} (stand-in)>"

    class _Stream:
        def synchronize(self):
            pass

    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1)

    def get_current_stream(self):
        return self._Stream()

    def is_available(self):
        return True


cuda = _Cuda("cupy.cuda")


def __getattr__(name):
    """NumPy's name, made to work on device arrays; what CuPy lacks is absent. The value is
    cached in this module's globals, where it shadows a builtin of the same name (abs, any,
    round...): code in this module calls those through ``_builtins``."""
    if name in NOT_IN_CUPY:
        raise AttributeError(f"the CuPy stand-in has no {name!r}: {NOT_IN_CUPY[name]}")
    if name in _SUBMODULES:
        value = _Namespace(name, _SUBMODULES[name])
    else:
        try:
            obj = getattr(_np, name)
        except AttributeError:
            raise AttributeError(f"module 'cupy' (stand-in) has no attribute {name!r}") from None
        if isinstance(obj, type):
            if not (issubclass(obj, _np.generic) or obj in (_np.dtype, _np.finfo, _np.iinfo)):
                raise AttributeError(f"the CuPy stand-in has no {name!r} (a NumPy class)")
            value = obj  # scalar types and dtypes are NumPy's own, as in CuPy
        elif isinstance(obj, _np.ufunc):
            value = _Ufunc(obj)
        elif isinstance(obj, types.ModuleType):
            raise AttributeError(f"the CuPy stand-in has no submodule {name!r}")
        elif callable(obj):
            value = _function(obj, name)
        else:
            value = obj  # constants: pi, inf, nan, newaxis
    globals()[name] = value
    return value


import sys as _sys  # noqa: E402

_module = _sys.modules[__name__]
