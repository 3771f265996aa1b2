"""Diagonals and Einstein summation: diagonal, diag_embed, diag, trace, einsum.

diagonal reads the entries (i, i + offset) of two axes with an advanced index (its gradient a
scatter-add back); diag_embed writes a last axis onto such a diagonal of zeros (a scatter-add,
whose gradient reads the diagonal back). einsum is built from ops that already differentiate
to every order, so it has no rule of its own:

1. a label repeated within one operand ("ii") takes that diagonal;
2. a label that no later operand and not the output needs is summed out at once;
3. operands are contracted left to right, each pair as one batched matmul: the labels both
   share and still need are batch axes, the ones both share and no longer need are summed
   by the product, the others are the rows and the columns;
4. the result's axes are put in the output's order.

Subscripts are letters; "..." stands for the leading axes an operand has beyond its letters
(aligned from the right and broadcast between operands, as PyTorch's). Without "->" the
output is "..." followed by the letters that appear once, in alphabetical (ASCII) order.
Sizes of 1 broadcast against any size.
"""
import math
import numbers

from .. import backend
from ..errors import ShapeError
from ..tensor import Tensor, constant, promoted_operands
from .index import scatter_add_flat
from .reduce import sum
from .shape import check_axis, permute


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The entries (i, i + offset) of axes ``dim1`` and ``dim2``, as a last axis (the other
    axes keep their order), as torch.diagonal."""
    a, b = check_axis("diagonal", dim1, x.shape), check_axis("diagonal", dim2, x.shape)
    if a == b:
        raise ValueError(f"diagonal: dim1 and dim2 name one axis ({dim1}, {dim2}) of shape "
                         f"{x.shape}")
    _check_offset("diagonal", offset)
    moved = permute(x, [d for d in range(x.ndim) if d not in (a, b)] + [a, b])
    length = max(0, min(x.shape[a] + min(offset, 0), x.shape[b] - max(offset, 0)))
    steps = backend.xp_of(x.array).arange(length)
    return moved[..., constant(steps + max(-offset, 0)), constant(steps + max(offset, 0))]


_diagonal = diagonal  # for diag, whose argument is called diagonal, as PyTorch's


def _check_offset(op, offset):
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral):
        raise TypeError(f"{op}: the diagonal's offset must be an int, got {offset!r}")


def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    """Square matrices of zeros with the last axis of ``x`` on their ``offset``-th diagonal,
    placed as axes ``dim1`` (rows) and ``dim2`` (columns) of the result (torch.diag_embed)."""
    if x.ndim == 0:
        raise ShapeError("diag_embed needs a tensor with at least one axis, got a 0-d tensor")
    _check_offset("diag_embed", offset)
    a, b = (check_axis("diag_embed", d, x.shape, new=True) for d in (dim1, dim2))
    if a == b:
        raise ValueError(f"diag_embed: dim1 and dim2 name one axis ({dim1}, {dim2}) of the "
                         f"result of shape {x.shape[:-1]} + two axes")
    xp, batch, n = backend.xp_of(x.array), x.shape[:-1], x.shape[-1]
    m = n + abs(offset)
    steps = xp.arange(n)
    cell = (steps + max(-offset, 0)) * m + steps + max(offset, 0)  # (row, column) flattened
    positions = (xp.arange(math.prod(batch))[:, None] * (m * m) + cell).reshape(x.shape)
    square = scatter_add_flat(x, positions, batch + (m, m))
    ndim, others = x.ndim + 1, iter(range(x.ndim - 1))
    return permute(square, [ndim - 2 if d == a else ndim - 1 if d == b else next(others)
                            for d in range(ndim)])


def diag(x, diagonal=0):
    """torch.diag: of a 1-D tensor, the square matrix with it on the ``diagonal``-th diagonal;
    of a matrix, that diagonal as a 1-D tensor."""
    if x.ndim == 1:
        return diag_embed(x, diagonal)
    if x.ndim == 2:
        return _diagonal(x, diagonal)
    raise ShapeError(f"diag needs a 1-D or 2-D tensor, got shape {x.shape}")


def trace(x):
    """The sum of the main diagonal of a matrix."""
    if x.ndim != 2:
        raise ShapeError(f"trace needs a matrix (2-D), got shape {x.shape}")
    return sum(diagonal(x))


ELLIPSIS_LABELS = [chr(0x100 + i) for i in range(64)]  # labels for the axes of "..."


def einsum(equation, *tensors):
    """Einstein summation, torch.einsum(equation, *tensors) (or a list of tensors)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"einsum({equation!r}) needs one or more Tensors as operands")
    tensors = promoted_operands(*tensors)
    terms, output = _parse(equation, tensors)
    pairs = [_take_diagonals(t, labels) for t, labels in zip(tensors, terms)]
    result, labels = pairs[0]
    for k, (t, t_labels) in enumerate(pairs[1:], 1):
        later = set(output).union(*(labels for _, labels in pairs[k + 1:]))
        result, labels = _sum_unneeded(result, labels, later | set(t_labels))
        t, t_labels = _sum_unneeded(t, t_labels, later | set(labels))
        result, labels = _contract(result, labels, t, t_labels, later, equation)
    result, labels = _sum_unneeded(result, labels, set(output))
    return permute(result, [labels.index(label) for label in output])


def _parse(equation, tensors):
    """Each operand's labels (a list, "..." expanded) and the output's labels."""
    inputs, arrow, output = equation.replace(" ", "").partition("->")
    terms = inputs.split(",")
    if len(terms) != len(tensors):
        raise ValueError(f"einsum: {equation!r} names {len(terms)} operands, but "
                         f"{len(tensors)} tensors were given")
    for term in terms + [output]:
        letters = term.replace("...", "")
        if term.count("...") > 1 or not all(c.isascii() and c.isalpha() for c in letters):
            raise ValueError(f"einsum: {equation!r}: subscripts are letters with at most one "
                             f"'...' per operand, got {term!r}")
    extra = []
    for term, t in zip(terms, tensors):
        letters = len(term.replace("...", ""))
        if letters > t.ndim or ("..." not in term and letters != t.ndim):
            raise ShapeError(f"einsum: subscripts {term!r} of {equation!r} do not fit an "
                             f"operand of shape {t.shape}")
        extra.append(t.ndim - letters)
    broadcast = ELLIPSIS_LABELS[:max(extra)]

    def expand(term, count):
        before, dots, after = term.partition("...")
        return list(before) + (broadcast[len(broadcast) - count:] if dots else []) + list(after)

    labels = [expand(term, n) for term, n in zip(terms, extra)]
    if arrow:
        out = expand(output, len(broadcast))
        used = {label for term in labels for label in term}
        if len(set(out)) != len(out) or not set(out) <= used:
            raise ValueError(f"einsum: the output {output!r} of {equation!r} must name "
                             "distinct labels of the operands")
    else:
        counts = [label for term in labels for label in term]
        out = broadcast + sorted(c for c in set(counts) if counts.count(c) == 1
                                 and c not in broadcast)
    return labels, out


def _take_diagonals(t, labels):
    """(t, labels) with each label that repeats within ``labels`` reduced to its diagonal."""
    labels = list(labels)
    for label in dict.fromkeys(labels):
        while labels.count(label) > 1:
            i = labels.index(label)
            j = labels.index(label, i + 1)
            if t.shape[i] != t.shape[j]:
                raise ShapeError(f"einsum: label {label!r} names axes of sizes {t.shape[i]} "
                                 f"and {t.shape[j]} in one operand of shape {t.shape}")
            t = diagonal(t, 0, i, j)
            labels = [a for k, a in enumerate(labels) if k not in (i, j)] + [label]
    return t, labels


def _sum_unneeded(t, labels, needed):
    axes = tuple(i for i, label in enumerate(labels) if label not in needed)
    if not axes:
        return t, labels
    return sum(t, axes), [label for label in labels if label in needed]


def _contract(a, a_labels, b, b_labels, keep, equation):
    """The product of two operands summed over the labels they share and ``keep`` lacks."""
    shared = [label for label in a_labels if label in b_labels]
    batch = [label for label in shared if label in keep]
    summed = [label for label in shared if label not in keep]
    left = [label for label in a_labels if label not in b_labels]
    right = [label for label in b_labels if label not in a_labels]
    size = {}
    for t, labels in ((a, a_labels), (b, b_labels)):
        for label, n in zip(labels, t.shape):
            if size.get(label, 1) not in (1, n) and n != 1:
                raise ShapeError(f"einsum: {equation!r}: label {label!r} has sizes "
                                 f"{size[label]} and {n}, which do not broadcast")
            size[label] = n if size.get(label, 1) == 1 else size[label]

    def arranged(t, labels, order):
        t = permute(t, [labels.index(label) for label in order])
        return t.expand([size[label] for label in order])

    sizes = [size[label] for label in batch]
    rows, inner, columns = ([size[label] for label in part] for part in (left, summed, right))
    a = arranged(a, a_labels, batch + left + summed).reshape(
        sizes + [math.prod(rows), math.prod(inner)])
    b = arranged(b, b_labels, batch + summed + right).reshape(
        sizes + [math.prod(inner), math.prod(columns)])
    return (a @ b).reshape(sizes + rows + columns), batch + left + right
