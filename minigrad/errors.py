"""minigrad's own exception classes, made to be caught by the ``except`` a PyTorch user writes.

PyTorch raises RuntimeError for shapes that do not fit and IndexError for an axis out of
range; NumPy (and minigrad before these classes) ValueError for both. Each class here is both,
so either ``except`` catches it; the message says what was wrong.
"""


class ShapeError(RuntimeError, ValueError):
    """Shapes that do not fit together: operands that do not broadcast, a matmul or conv whose
    sizes disagree, a reshape to another number of elements."""


class AxisError(IndexError, ValueError):
    """An axis (dim) outside the range of a tensor's axes."""
