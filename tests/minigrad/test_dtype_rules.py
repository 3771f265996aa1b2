"""Dtype rules as PyTorch's: promotion of tensors, 0-d tensors and Python numbers
(torch.result_type), the ops that refuse mixed dtypes instead (matmul, linear, conv, norms),
pooling of integers, and the dtypes the constructors give. Fixed values run everywhere; the
grid of every dtype pair and kind is compared with PyTorch where it is installed.
"""
import itertools

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.tensor import promote_types, result_type

from devices import ones, tensor, zeros

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
KINDS = ["tensor", "0-d", "number"]
NUMBERS = {"bool": True, "int64": 3, "float32": 2.5}  # a Python number of each category


def make(dtype, kind, library):
    """A value of ``dtype`` and ``kind`` in minigrad or torch (a number only for the dtypes a
    Python number counts as)."""
    if kind == "number":
        return NUMBERS.get(dtype)
    shape = (3,) if kind == "tensor" else ()
    if library is mg:
        return ones(*shape, dtype=dtype)
    return library.ones(shape, dtype=getattr(library, dtype))


# (a, b, the dtype of a op b): the examples of the rule, fixed
FIXED = [
    (("float32", "tensor"), ("float64", "0-d"), "float32"),
    (("int32", "tensor"), ("int64", "0-d"), "int32"),
    (("int64", "tensor"), ("float32", "number"), "float32"),
    (("float64", "0-d"), ("int32", "tensor"), "float64"),
    (("int32", "0-d"), ("float32", "number"), "float32"),
    (("float16", "tensor"), ("float32", "number"), "float16"),
    (("uint8", "tensor"), ("int8", "tensor"), "int16"),
    (("uint8", "tensor"), ("int8", "0-d"), "uint8"),
    (("bool", "tensor"), ("int64", "number"), "int64"),
    (("bool", "tensor"), ("bool", "number"), "bool"),
    (("int16", "tensor"), ("float16", "tensor"), "float16"),   # NumPy: float32
    (("int64", "tensor"), ("float32", "tensor"), "float32"),   # NumPy: float64
]


@pytest.mark.parametrize("a, b, expected", FIXED, ids=[f"{a}-{b}" for a, b, _ in FIXED])
def test_promotion_examples(a, b, expected):
    x, y = make(*a, mg), make(*b, mg)
    assert result_type(x, y) == expected
    assert (x + y).dtype == expected and (y * x).dtype == expected
    assert mg.maximum(x, y).dtype == expected or expected == "bool"
    assert (x == y).dtype == bool


def test_python_numbers_wrap_into_the_tensor_dtype():
    """As PyTorch: -1 next to a uint8 tensor is 255 (so x > -1 is False for x = 1)."""
    x = tensor(np.array([1, 200], dtype=np.uint8))
    np.testing.assert_array_equal((x - 2).numpy(), [255, 198])
    np.testing.assert_array_equal((x > -1).numpy(), [False, False])


def test_division_and_powers_of_integers():
    i = tensor(np.array([1, 2, 3], dtype=np.int32))
    assert (i / tensor(np.array(2))).dtype == np.float32
    assert (i / tensor(np.array(2.0))).dtype == np.float64       # the 0-d float decides
    assert (i ** 2).dtype == np.int32 and (i ** 0.5).dtype == np.float32
    assert (2 ** i).dtype == np.int32 and (2.5 ** i).dtype == np.float32
    with pytest.raises(RuntimeError, match="negative integer powers"):
        i ** -1


def test_where_and_extremes_promote():
    cond = tensor(np.array([True, False]))
    assert mg.where(cond, 1, 2.5).dtype == np.float32
    assert mg.where(cond, 1, 2).dtype == np.int64
    i32 = tensor(np.array([1, 2], dtype=np.int32))
    assert mg.where(cond, i32, tensor(np.array(5))).dtype == np.int32
    assert mg.maximum(i32, tensor(np.array(1.5))).dtype == np.float64


def test_a_mixed_0d_operand_gets_its_gradient_in_its_own_dtype():
    x = ones(3, requires_grad=True)
    s = tensor(np.array(2.0), requires_grad=True)          # float64, 0-d
    y = x * s
    assert y.dtype == np.float32
    y.sum().backward()
    assert s.grad.dtype == np.float64 and s.grad.item() == 3.0
    assert x.grad.dtype == np.float32


def test_promote_types_differs_from_numpy_across_categories():
    assert promote_types(np.dtype("int64"), np.dtype("float32")) == np.float32
    assert promote_types(np.dtype("uint8"), np.dtype("int8")) == np.int16
    assert promote_types(np.dtype("float32"), np.dtype("complex128")) == np.complex128


# ---- ops that refuse mixed dtypes, as PyTorch ----

def test_products_convolutions_and_norms_refuse_mixed_floats():
    f32, f64 = np.float32, np.float64
    cases = {
        "matmul": lambda: ones(2, 3) @ ones(3, 2, dtype=f64),
        "linear": lambda: F.linear(ones(2, 3), ones(4, 3), ones(4, dtype=f64)),
        "conv2d": lambda: F.conv2d(ones(1, 1, 3, 3), ones(1, 1, 2, 2, dtype=f64)),
        "conv_transpose2d": lambda: F.conv_transpose2d(ones(1, 1, 3, 3, dtype=f64),
                                                       ones(1, 1, 2, 2)),
        "batch_norm": lambda: F.batch_norm(ones(2, 3), zeros(3, dtype=f64), ones(3, dtype=f64)),
        "layer_norm": lambda: F.layer_norm(ones(2, 3), (3,), ones(3, dtype=f64)),
        "group_norm": lambda: F.group_norm(ones(2, 4, 3), 2, None, zeros(4, dtype=f64)),
        "instance_norm": lambda: F.instance_norm(ones(2, 4, 3, dtype=f64), weight=ones(4)),
    }
    for op, call in cases.items():
        with pytest.raises(RuntimeError, match=f"{op}.*float(32|64).*float(32|64)"):
            call()
    y = F.instance_norm(ones(2, 4, 3), zeros(4, dtype=f64), ones(4, dtype=f64),
                        use_input_stats=False)   # PyTorch takes running stats of any float
    assert y.dtype == f32


def test_norms_refuse_integers():
    with pytest.raises(NotImplementedError, match="int64"):
        F.layer_norm(tensor(np.ones((2, 3), dtype=np.int64)), (3,))


def test_bce_refuses_a_weight_that_enlarges_the_loss():
    p, t = tensor(np.full(3, 0.5)), tensor(np.ones(3))
    for loss in (F.binary_cross_entropy, F.binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match=r"\(2, 3\).*\(3,\)"):
            loss(p, t, weight=tensor(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="pos_weight"):
        F.binary_cross_entropy_with_logits(p, t, pos_weight=tensor(np.ones((2, 3))))
    assert F.binary_cross_entropy(p, t, weight=tensor(np.ones(1))).shape == ()


# ---- constructors ----

def test_constructor_dtypes():
    assert mg.full((2,), np.int32(1)).dtype == np.int64
    assert mg.full((2,), np.float64(1.5)).dtype == np.float32
    assert mg.full((2,), True).dtype == bool
    assert mg.linspace(0, 10, 4, dtype=np.int64).numpy().tolist() == [0, 3, 6, 10]
    assert mg.linspace(1j, 2, 3).dtype == np.complex64
    assert mg.arange(-2.5, 3, dtype=np.int64).numpy().tolist() == [-2, -1, 0, 1, 2]
    for make_bools in (lambda: mg.linspace(0, 1, 5, dtype=bool),
                       lambda: mg.arange(5, dtype=bool)):
        with pytest.raises(NotImplementedError, match="bool"):
            make_bools()
    with pytest.raises(ValueError, match="step 0"):
        mg.arange(0, 3, 0.7, dtype=np.int64)   # the step truncates to 0, as in PyTorch


# ---- against PyTorch ----

@pytest.mark.cpu_only("compares with PyTorch on the CPU")
def test_promotion_grid_against_pytorch():
    """Every pair of the nine dtypes, each as a tensor, a 0-d tensor or a Python number:
    result_type, and the dtype and values of + and of a comparison."""
    torch = pytest.importorskip("torch")
    checked = 0
    for (da, ka), (db, kb) in itertools.product(itertools.product(DTYPES, KINDS), repeat=2):
        ma, mb, ta, tb = make(da, ka, mg), make(db, kb, mg), make(da, ka, torch), make(db, kb, torch)
        if ma is None or mb is None or (ka == kb == "number"):
            continue
        expected = str(torch.result_type(ta, tb)).removeprefix("torch.")
        assert str(result_type(ma, mb)) == expected, (da, ka, db, kb)
        if expected != "bool":
            assert str((ma + mb).dtype) == expected, (da, ka, db, kb)
            np.testing.assert_array_equal((ma + mb).numpy(), (ta + tb).numpy())
        assert (ma < mb).dtype == bool
        checked += 1
    assert checked > 400


@pytest.mark.cpu_only("compares with PyTorch on the CPU")
def test_pooling_integers_against_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(-12, 13).reshape(1, 1, 5, 5) * 3
    for dtype in ("int32", "uint8", "int64", "float16"):
        a = np.abs(x).astype(dtype) if dtype == "uint8" else x.astype(dtype)
        y, ty = F.max_pool2d(mg.tensor(a), 3, 1, 1), torch.nn.functional.max_pool2d(
            torch.tensor(a), 3, 1, 1)
        assert str(y.dtype) == str(ty.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(y.numpy(), ty.numpy())
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                   dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
                   dict(kernel_size=2, divisor_override=3)):
        y = F.avg_pool2d(mg.tensor(x), **kwargs)
        np.testing.assert_array_equal(y.numpy(), torch.nn.functional.avg_pool2d(
            torch.tensor(x), **kwargs).numpy())
