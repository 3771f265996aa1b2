"""PyTorch's dtype names, bound to the NumPy dtypes minigrad computes with: ``x.dtype ==
mg.float32`` and ``mg.zeros(3, dtype=mg.long)`` read as in PyTorch. (NumPy has no bfloat16.)"""
import numpy as np

from .tensor import DEFAULT_FLOAT

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
complex64 = cfloat = np.dtype(np.complex64)
complex128 = cdouble = np.dtype(np.complex128)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)

__all__ = ["float16", "half", "float32", "float", "float64", "double", "complex64", "cfloat",
           "complex128", "cdouble", "uint8", "int8", "int16", "short", "int32", "int", "int64",
           "long", "bool", "get_default_dtype"]


def get_default_dtype():
    """The dtype Python floats become: float32, as in PyTorch (minigrad's is fixed)."""
    return DEFAULT_FLOAT
