"""Gradient checks of matrix products: matmul (2-D, batched with broadcast batch axes, 1-D
operands) and F.linear, to first and second order in float64, plus non-contiguous operands.
Forward values and result shapes are compared with NumPy's ``@``.
"""
import re

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

from minigrad.errors import ShapeError

from devices import array_on_device, leaf, tensor, zeros


def check(fn, *inputs):
    """First- and second-order finite-difference checks of ``fn`` at ``inputs``."""
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


MATMUL_SHAPES = [
    ((3, 4), (4, 5)),            # plain 2-D, odd sizes
    ((1, 3), (3, 1)),            # batch 1 / a single column
    ((2, 3, 4), (2, 4, 5)),      # batched
    ((2, 3, 4), (4, 5)),         # batch axes on the left only
    ((3, 4), (2, 4, 5)),         # batch axes on the right only
    ((2, 1, 3, 4), (3, 4, 2)),   # batch axes broadcast against each other
    ((4,), (4, 5)),              # 1-D on the left: a row vector
    ((3, 4), (4,)),              # 1-D on the right: a column vector
    ((4,), (2, 4, 3)),           # 1-D against a batch
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    """a @ b: forward and shape as NumPy; gradients summed over broadcast batch axes."""
    rng = np.random.default_rng(0)
    a, b = leaf(rng.standard_normal(shapes[0])), leaf(rng.standard_normal(shapes[1]))
    out = a @ b
    expected = a.numpy() @ b.numpy()
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    check(lambda a, b: a @ b, a, b)
    check(mg.matmul, a, b)


def test_matmul_of_two_vectors_is_a_scalar():
    """1-D @ 1-D is the inner product, of shape () as in NumPy, and checks to second order."""
    rng = np.random.default_rng(1)
    a, b = leaf(rng.standard_normal(4)), leaf(rng.standard_normal(4))
    out = a @ b
    assert out.shape == (a.numpy() @ b.numpy()).shape == ()
    np.testing.assert_allclose(out.item(), a.numpy() @ b.numpy(), rtol=1e-12)
    check(lambda a, b: a @ b, a, b)


def test_matmul_with_numpy_array_on_either_side():
    """A constant NumPy matrix on the left (via __rmatmul__) or right."""
    rng = np.random.default_rng(2)
    m = rng.standard_normal((3, 4))
    x = leaf(rng.standard_normal((4, 3)))
    check(lambda x: m @ x, x)
    check(lambda x: x @ m, x)


def test_non_contiguous_matmul():
    """Transposed (non-contiguous) operands give the contiguous result and correct gradients."""
    rng = np.random.default_rng(3)
    a_data, b_data = rng.standard_normal((4, 3)).T, rng.standard_normal((2, 5, 4)).transpose(0, 2, 1)
    a = mg.Tensor._wrap(array_on_device(a_data.T).T, requires_grad=True)  # the same views, on the device
    b = mg.Tensor._wrap(array_on_device(b_data.transpose(0, 2, 1)).transpose(0, 2, 1), requires_grad=True)
    assert not a.array.flags.c_contiguous and not b.array.flags.c_contiguous
    np.testing.assert_allclose((a @ b).numpy(), np.ascontiguousarray(a_data) @ b_data, rtol=1e-12)
    check(lambda a, b: a @ b, a, b)
    # and a view made inside the graph: the transpose op's own output is non-contiguous
    c = leaf(rng.standard_normal((5, 4)))
    check(lambda a, c: a @ c.T, a, c)


@pytest.mark.parametrize("x_shape, bias", [((3, 4), True), ((1, 4), False), ((2, 3, 4), True)],
                         ids=str)
def test_linear(x_shape, bias):
    """F.linear(x, w, b) = x w^T + b with w of shape (out, in), including a batch of 1."""
    rng = np.random.default_rng(4)
    x, w = leaf(rng.standard_normal(x_shape)), leaf(rng.standard_normal((5, 4)))
    inputs = [x, w] + ([leaf(rng.standard_normal(5))] if bias else [])
    expected = x.numpy() @ w.numpy().T + (inputs[2].numpy() if bias else 0)
    np.testing.assert_allclose(F.linear(*inputs).numpy(), expected, rtol=1e-12)
    check(F.linear, *inputs)


# ---- bad inputs: clear errors naming what was wrong ----


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")) as e:
        zeros(2, 3) @ zeros(4, 5)
    assert "(4, 5)" in str(e.value)

def test_matmul_batch_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match="batch") as e:
        zeros(2, 3, 4) @ zeros(3, 4, 5)
    assert "(2, 3, 4)" in str(e.value) and "(3, 4, 5)" in str(e.value)

def test_matmul_of_a_scalar_is_refused():
    with pytest.raises(ValueError, match=re.escape("()")):
        mg.matmul(zeros(), zeros(3))

def test_linear_weight_mismatch_names_shapes():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")) as e:
        F.linear(zeros(2, 3), zeros(5, 4))
    assert "(5, 4)" in str(e.value)

def test_matmul_shape_errors_are_shape_errors():
    """Caught by a PyTorch user's ``except RuntimeError`` as well as ``except ValueError``."""
    for bad in (lambda: zeros(2, 3) @ zeros(4, 5), lambda: zeros(2, 3, 4) @ zeros(3, 4, 5),
                lambda: mg.matmul(zeros(), zeros(3))):
        with pytest.raises(ShapeError):
            bad()
        with pytest.raises(RuntimeError):
            bad()


def test_matmul_of_mixed_dtypes_is_refused():
    """PyTorch's matmul does not promote: int64 @ float32 and float32 @ float64 are errors
    naming both dtypes (NumPy would give float64)."""
    with pytest.raises(RuntimeError, match="int64.*float32"):
        tensor([[1, 2]]) @ tensor([[0.5], [0.25]])
    with pytest.raises(RuntimeError, match="float32.*float64"):
        tensor([0.5, 1.0]) @ tensor(np.array([0.5, 1.0]))
    out = tensor([[1, 2]]) @ tensor([[3], [4]])
    assert out.dtype == np.int64 and out.item() == 11
