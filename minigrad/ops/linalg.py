"""Matrix products.

For C = A @ B the gradients are dA = G @ B^T and dB = A^T @ G (transposing the last two
axes), summed over any batch axes that broadcasting added. A 1-D operand is treated as a
row (left) or column (right) vector and that axis is removed from the result, as in NumPy.
"""
import numpy as np

from ..autograd import apply
from ..errors import ShapeError
from ..tensor import promoted_operands
from .shape import transpose, unbroadcast


def check_same_dtype(op, **tensors):
    """RuntimeError unless the named tensors (None skipped) share one dtype: matmul, linear,
    convolution and the norms do not promote mixed operands, as in PyTorch (whose
    ``torch.mm(float32, float64)`` says "expected m1 and m2 to have the same dtype")."""
    given = {name: t for name, t in tensors.items() if t is not None}
    if len({t.dtype for t in given.values()}) > 1:
        listed = ", ".join(f"{name} {t.dtype}" for name, t in given.items())
        raise RuntimeError(f"{op}: expected tensors of one dtype, got {listed}; cast one "
                           "first (PyTorch does not promote here either)")


def matmul(a, b):
    check_same_dtype("matmul", input=a, other=b)
    a, b = promoted_operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul needs tensors with at least one axis, got shapes {a.shape} "
                         f"and {b.shape}; use * for scalars")
    if a.ndim == 1 or b.ndim == 1:
        out = matmul(a.reshape(1, -1) if a.ndim == 1 else a, b.reshape(-1, 1) if b.ndim == 1 else b)
        dropped = {out.ndim - 2} if a.ndim == 1 else set()
        dropped |= {out.ndim - 1} if b.ndim == 1 else set()
        return out.reshape([n for i, n in enumerate(out.shape) if i not in dropped])
    if a.shape[-1] != b.shape[-2]:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not fit: the last axis of "
                         f"the first ({a.shape[-1]}) must equal the second-to-last of the "
                         f"second ({b.shape[-2]})")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(f"matmul: batch axes of {a.shape} and {b.shape} do not broadcast") from None
    return apply(a.array @ b.array, (a, b),
                 (lambda g, out: unbroadcast(g @ transpose(b, -2, -1), a.shape),
                  lambda g, out: unbroadcast(transpose(a, -2, -1) @ g, b.shape)), "matmul")


def _check_ndim(op, ndim, *tensors):
    if any(t.ndim != ndim for t in tensors):
        raise ShapeError(f"{op} needs {ndim}-D tensors, got shapes "
                         f"{' and '.join(str(t.shape) for t in tensors)}")


def mm(a, b):
    """The product of two matrices (torch.mm: no broadcasting, no vectors)."""
    _check_ndim("mm", 2, a, b)
    return matmul(a, b)


def bmm(a, b):
    """Products of two batches of matrices of one batch size (torch.bmm: no broadcasting)."""
    _check_ndim("bmm", 3, a, b)
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: batch sizes differ: shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def outer(a, b):
    """The outer product of two vectors: out[i, j] = a[i] * b[j]."""
    a, b = promoted_operands(a, b)
    _check_ndim("outer", 1, a, b)
    return a.reshape(-1, 1) * b.reshape(1, -1)
