"""Reductions over axes, and the log-softmax family built on them.

sum's backward broadcasts the gradient back over the reduced axes; mean and var are sums
divided by a count. max sends the gradient to the maxima (split evenly between ties).
"""
from .. import backend
from ..autograd import apply
from ..tensor import Tensor, constant
from .shape import broadcast_to


def _axes(axis, ndim):
    """The reduced axes as a sorted tuple of non-negative numbers (all of them for None)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} axes")
    return tuple(sorted(a % ndim for a in axes))


def _kept_shape(shape, axes):
    """The shape of a reduction with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def sum(x, axis=None, keepdims=False):
    axes = _axes(axis, x.ndim)
    kept = _kept_shape(x.shape, axes)
    return apply(x.data.sum(axis=axes, keepdims=keepdims), (x,),
                 (lambda g, out: broadcast_to(g.reshape(kept), x.shape),), "sum", saved=())


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def mean(x, axis=None, keepdims=False):
    return sum(x, axis, keepdims) / _count(x.shape, _axes(axis, x.ndim))


def var(x, axis=None, keepdims=False, ddof=0):
    """Mean squared deviation, divided by (count - ddof)."""
    axes = _axes(axis, x.ndim)
    centred = x - mean(x, axes, keepdims=True)
    return sum(centred * centred, axes, keepdims) / (_count(x.shape, axes) - ddof)


def max(x, axis=None, keepdims=False):
    """The largest value along the axes; ties share the gradient equally."""
    axes = _axes(axis, x.ndim)
    kept = _kept_shape(x.shape, axes)
    top = x.data.max(axis=axes, keepdims=True)
    is_top = x.data == top
    share = constant((is_top / is_top.sum(axis=axes, keepdims=True)).astype(x.dtype))
    data = top if keepdims else top.reshape([n for i, n in enumerate(x.shape) if i not in axes])
    return apply(data, (x,), (lambda g, out: broadcast_to(g.reshape(kept), x.shape) * share,),
                 "max", saved=())


def min(x, axis=None, keepdims=False):
    return -max(-x, axis, keepdims)


def logsumexp(x, axis=-1, keepdims=False):
    """log(sum(exp(x))) along ``axis``, shifted by the (constant) maximum so nothing overflows."""
    shift = constant(x.data.max(axis=axis, keepdims=True))
    total = sum((x - shift).exp(), axis, keepdims=True).log() + shift
    return total if keepdims else total.reshape([n for i, n in enumerate(total.shape)
                                                 if i != axis % x.ndim])


def log_softmax(x, axis=-1):
    return x - logsumexp(x, axis, keepdims=True)


def softmax(x, axis=-1):
    return log_softmax(x, axis).exp()


def cross_entropy(logits, targets):
    """Mean over the batch of -log softmax(logits)[target]; ``targets`` are class indices
    (a Tensor, or an array or list on either device)."""
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy needs logits of shape (batch, classes), got {logits.shape}")
    xp = backend.xp_of(logits.data)
    labels = targets.data if isinstance(targets, Tensor) else targets
    if not backend.is_device_array(labels):
        labels = backend.to_host(labels)  # host labels are checked on the host, then moved
    if labels.dtype.kind not in "iu" or labels.shape != logits.shape[:1]:
        raise ValueError(f"cross_entropy needs integer targets of shape {logits.shape[:1]}, "
                         f"got {labels.dtype} of shape {labels.shape}")
    classes = logits.shape[1]
    # one boolean crosses back for device labels; the range is fetched only for the message
    if labels.size and bool(((labels < 0) | (labels >= classes)).any()):
        raise ValueError(f"cross_entropy targets must be in [0, {classes}), "
                         f"got values from {int(labels.min())} to {int(labels.max())}")
    labels = backend.to_device(labels, logits.device)
    one_hot = constant((labels[:, None] == xp.arange(classes)).astype(logits.dtype))
    return -(one_hot * log_softmax(logits, axis=1)).sum(axis=1).mean()
