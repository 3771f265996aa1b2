"""The CuPy stand-in itself (tests/support/cupy_standin.py): it must behave as CuPy where minigrad
relies on it, and refuse what would break on a GPU, or a green device suite means nothing.
Also the backend functions that dispatch to it."""
import copy

import numpy as np
import pytest

import cupy_standin as cp
from minigrad import backend


@pytest.fixture
def a():
    return cp.asarray(np.arange(6.0).reshape(2, 3))


# ---- as CuPy ----

def test_implicit_conversion_to_numpy_is_refused_with_cupys_message(a):
    for convert in (np.asarray, np.array, lambda x: np.float64(1.0) + np.asarray(x)):
        with pytest.raises(TypeError, match=r"Implicit conversion to a NumPy array is not "
                                            r"allowed\. Please use `\.get\(\)`"):
            convert(a)


def test_get_returns_a_numpy_copy(a):
    host = a.get()
    assert type(host) is np.ndarray and np.array_equal(host, np.arange(6.0).reshape(2, 3))
    host[0, 0] = 99
    assert a[0, 0].item() == 0.0
    assert cp.asnumpy(a).tolist() == a.tolist()


def test_reductions_and_integer_indexing_give_0d_device_arrays(a):
    for value in (a.sum(), a.max(), a.mean(), a.min(axis=None), a[1, 2], cp.sum(a),
                  a.sum(axis=(0, 1)), cp.linalg.norm(a)):
        assert isinstance(value, cp.ndarray) and value.shape == ()
    assert float(a.sum()) == 15.0 and int(a[1, 2]) == 5 and bool(a.max() > 4)
    assert a.sum(axis=1, keepdims=True).shape == (2, 1)


def test_asarray_of_host_data_copies_and_of_device_data_does_not(a):
    host = np.ones(3)
    device = cp.asarray(host)
    host[0] = 5
    assert device.tolist() == [1.0, 1.0, 1.0]
    assert cp.asarray(a) is a
    assert cp.asarray(a, dtype=np.float32).dtype == np.float32 and a.dtype == np.float64
    assert cp.asarray([1, 2]).dtype == np.int64 and cp.asarray(2.5).shape == ()


def test_numbers_and_numpy_scalars_combine_with_numpy_2s_promotion():
    x = cp.asarray(np.ones(3, np.float32))
    for y in (x * 2.0, 2.0 * x, x + 1, 1 - x, x / np.float32(2), np.float32(2) * x, x ** 2,
              -x, abs(x), x > 0.5):
        assert isinstance(y, cp.ndarray)
    assert (x * 0.5).dtype == np.float32 and (np.float32(2) * x).dtype == np.float32
    assert (x * np.float64(2)).dtype == np.float64  # a NumPy scalar is a typed value (NEP 50)
    assert (cp.asarray(np.arange(3)) * 0.5).dtype == np.float64


def test_in_place_operators_and_out_keep_identity(a):
    b = a.copy()
    same = b
    b += 1
    b *= 2
    b[0] = 0.0
    b[1, 1:] = a[1, 1:]
    assert b is same and b.tolist() == [[0.0, 0.0, 0.0], [8.0, 4.0, 5.0]]
    assert cp.maximum(a, 2.0, out=b) is b and b.tolist() == [[2, 2, 2], [3, 4, 5]]
    assert a.clip(1, 4, out=b) is b and cp.clip(a, None, 1.0).tolist() == [[0, 1, 1], [1, 1, 1]]


def test_views_know_their_base_and_layout(a):
    assert a.base is None and a.flags.owndata and a.flags.c_contiguous
    t = a.T
    assert t.base is a and not t.flags.c_contiguous and not t.flags.owndata
    assert a[1:].base is a and a[1:][:, ::2].base is a and a.reshape(3, 2).base is a
    assert a.copy().base is None and a.astype(np.float32).base is None
    assert cp.broadcast_to(a[:1], (4, 3)).shape == (4, 3)


def test_methods_functions_and_creation(a):
    assert cp.zeros((2, 2), np.float32).dtype == np.float32 and cp.ones(3).sum().item() == 3
    assert cp.full((2,), 7, np.int64).tolist() == [7, 7] and cp.arange(4).shape == (4,)
    assert cp.zeros_like(a).shape == a.shape and cp.ones_like(a).dtype == a.dtype
    assert cp.concatenate([a, a], axis=1).shape == (2, 6) and cp.stack([a, a]).shape == (2, 2, 3)
    assert cp.pad(a, ((1, 0), (0, 2))).shape == (3, 5)
    assert cp.where(a > 2, a, 0.0).tolist() == [[0, 0, 0], [3, 4, 5]]
    assert cp.logaddexp(np.float64(0), a).shape == (2, 3) and cp.tanh(a).dtype == np.float64
    assert a.transpose(1, 0).shape == (3, 2) and a.reshape(-1).shape == (6,)
    assert len(a) == 2 and [row.shape for row in a] == [(3,), (3,)]
    assert copy.deepcopy(a).tolist() == a.tolist() and copy.deepcopy(a) is not a
    assert cp.float32 is np.float32 and cp.result_type(np.float32, 1.0) == np.float32
    assert cp.get_array_module(a) is cp and cp.get_array_module(np.ones(1)) is np
    assert f"{a.sum():.1f}" == "15.0"
    cp.cuda.Device(0).synchronize()


def test_transfers_are_counted(a):
    cp.transfers.reset()
    with cp.transfers.record() as log:
        d = cp.asarray(np.zeros((4, 5)))
        d.get(), d.sum().item(), float(d.max())
        d2 = d * 2 + 1  # no transfer: the scalars travel as kernel arguments
        d2.set(np.ones((4, 5)))
    assert (cp.transfers.to_device, cp.transfers.to_host) == (2, 3)
    assert log == [("to_device", (4, 5)), ("to_host", (4, 5)), ("to_host", ()), ("to_host", ()),
                   ("to_device", (4, 5))]


# ---- stricter than CuPy, to guard the backend rule ----

@pytest.mark.parametrize("call", [np.exp, np.sum, np.tanh, lambda x: np.maximum(x, 0),
                                  lambda x: np.concatenate([x, x]), lambda x: np.where(x > 0, x, 0),
                                  lambda x: np.clip(x, 0, 1), lambda x: np.result_type(x),
                                  lambda x: np.broadcast_to(x, (2, 2, 3))],
                         ids=["exp", "sum", "tanh", "maximum", "concatenate", "where", "clip",
                              "result_type", "broadcast_to"])
def test_numpy_functions_refuse_device_arrays(a, call):
    with pytest.raises(TypeError):
        call(a)


@pytest.mark.parametrize("mix", [lambda a, h: a + h, lambda a, h: h * a, lambda a, h: a @ h.T,
                                 lambda a, h: a > h, lambda a, h: cp.maximum(a, h),
                                 lambda a, h: cp.concatenate([a, h]), lambda a, h: a.__iadd__(h),
                                 lambda a, h: a.__setitem__(slice(None), h),
                                 lambda a, h: cp.where(h > 0, a, a)],
                         ids=["+", "reflected *", "@", ">", "maximum", "concatenate", "+=",
                              "setitem", "where"])
def test_mixing_a_numpy_array_into_device_operations_is_refused(a, mix):
    with pytest.raises(TypeError, match="numpy.ndarray \\(host memory\\)"):
        mix(a, np.ones((2, 3)))


def test_empty_holds_garbage():
    assert np.isnan(cp.empty((2, 2)).get()).all()
    assert (cp.empty(3, np.int32).get() == np.iinfo(np.int32).max).all()
    assert np.isnan(cp.empty_like(cp.zeros(2)).get()).all()


def test_dtypes_without_gpu_kernels_are_refused(a):
    for dtype in (object, np.longdouble, "U3", "datetime64[s]"):
        with pytest.raises(TypeError, match="CuPy does not support dtype"):
            cp.asarray(np.zeros(2, dtype=dtype))
    with pytest.raises(TypeError, match="CuPy does not support dtype"):
        a.astype(np.longdouble)


def test_random_scatter_add_and_host_functions_are_absent(a):
    with pytest.raises(AttributeError, match="host"):
        cp.random.default_rng(0)
    with pytest.raises(AttributeError, match="host"):
        cp.random.standard_normal((2, 2))
    with pytest.raises(AttributeError, match="scatter-add belongs in minigrad.backend"):
        cp.add.at(a, [0], 1.0)
    for name in ("load", "savez", "errstate", "vectorize", "ma", "longdouble"):
        assert not hasattr(cp, name), name
    assert not hasattr(cp, "matrix") and not hasattr(cp, "testing")


# ---- the backend's dispatch, with the stand-in installed ----

def test_set_cupy_module_returns_the_previous_module():
    previous = backend.set_cupy_module(cp)
    try:
        assert backend.set_cupy_module(cp) is cp and backend.cupy() is cp
    finally:
        backend.set_cupy_module(previous)


def test_backend_functions(cuda):
    host = np.arange(4.0)
    device = backend.to_device(host, "cuda")
    assert isinstance(device, cp.ndarray) and backend.is_device_array(device)
    assert backend.device_of(device) == "cuda" and backend.device_of(host) == "cpu"
    assert backend.device_of(np.float32(1)) == "cpu"
    assert backend.xp_of(device) is cp and backend.xp_of(host) is np
    assert backend.xp_of_device("cuda") is cp and backend.xp_of_device("cpu") is np
    assert backend.to_device(device, "cuda") is device and backend.to_device(host, "cpu") is host
    assert type(backend.to_host(device)) is np.ndarray and backend.to_host(host) is host
    copied = backend.host_copy(device)
    assert type(copied) is np.ndarray and copied.tolist() == host.tolist()
    assert backend.host_copy(host) is not host
    assert backend.scalar(device.sum()) == 6.0 and backend.scalar(host.sum()) == 6.0
    assert backend.to_host([1, 2]).tolist() == [1, 2]
    backend.synchronize("cuda"), backend.synchronize("cpu")
    with pytest.raises(TypeError, match="NumPy or CuPy array"):
        backend.device_of([1.0])
