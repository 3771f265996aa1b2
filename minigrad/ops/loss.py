"""Loss functions with PyTorch's names, arguments and reductions.

Each returns the per-element losses reduced by ``reduction``: "mean" (the default), "sum" or
"none". Class-index losses pick the target's entry with a constant one-hot mask along the
class axis (``where(one_hot, log_probs, 0)`` summed over classes), so the gradient goes to
that entry alone and a -inf log-probability elsewhere does no harm. With class weights w and
ignore_index, "mean" is PyTorch's weighted mean: sum_i w[t_i] loss_i / sum_i w[t_i] over the
targets that are not ignored.

- nll_loss(log_probs, target): -w[t] log_probs[t];
- cross_entropy(logits, target): nll_loss of log_softmax(logits); with label_smoothing e the
  target distribution is (1 - e) one_hot + e / C; targets may also be class probabilities
  (a float tensor shaped like the logits), and then "mean" divides by the number of samples;
- binary_cross_entropy(p, t): -(t log p + (1 - t) log(1 - p)), each log clamped at -100, and
  the gradient (p - t) / max(p (1 - p), 1e-12), as PyTorch's;
- binary_cross_entropy_with_logits(x, t): (1 - t) softplus(x) + pos_weight t softplus(-x),
  as -log(1 - sigmoid(x)) = softplus(x) and -log(sigmoid(x)) = softplus(-x): nothing
  overflows or cancels (x + softplus(-x) would round to 0 for t = 0, x = -100, and so would
  its derivative 1 - sigmoid(-x)).
"""
import math

import numpy as np

from .. import backend
from ..autograd import apply
from ..errors import ShapeError
from ..tensor import Tensor, broadcasts_to, constant, promoted_operands, to_operand
from .elementwise import clip, log, softplus, where
from .reduce import log_softmax

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _labels(op, target, like, shape, classes, ignore_index):
    """Class-index targets as an integer array on ``like``'s device, checked against
    ``shape`` and the range [0, classes) (ignore_index aside)."""
    labels = target.array if isinstance(target, Tensor) else target
    if not backend.is_device_array(labels):
        labels = backend.to_host(labels)  # host labels are checked on the host, then moved
    if labels.dtype.kind not in "iu" or labels.shape != shape:
        raise ShapeError(f"{op} needs integer class-index targets of shape {shape} for an input "
                         f"of shape {like.shape}, got {labels.dtype} of shape {labels.shape}")
    counted = labels != ignore_index
    # one boolean crosses back for device labels; the range is fetched only for the message
    if labels.size and bool((counted & ((labels < 0) | (labels >= classes))).any()):
        kept = labels[counted]
        raise ValueError(f"{op} targets must be in [0, {classes}), got values from "
                         f"{int(kept.min())} to {int(kept.max())} (targets equal to "
                         f"ignore_index={ignore_index} are skipped)")
    return backend.to_device(labels, like.device)


def _class_weight(op, weight, like, classes):
    """The class weights as an array on ``like``'s device (ones when not given)."""
    if weight is None:
        return backend.xp_of(like.array).ones(classes, dtype=like.dtype)
    weight = to_operand(weight, like)
    if weight.shape != (classes,):
        raise ShapeError(f"{op}: weight must have one entry per class, shape ({classes},), got "
                         f"{weight.shape}")
    return weight.array.astype(like.dtype)


def _class_axis_last(x):
    """(N, C, d1, ...) -> (N, d1, ..., C): the class axis last, so it broadcasts with labels."""
    return x.permute((0,) + tuple(range(2, x.ndim)) + (1,)) if x.ndim > 2 else x


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """The negative log-likelihood of class-index targets, from log-probabilities of shape
    (C,), (N, C) or (N, C, d1, ...) and targets of shape (), (N,) or (N, d1, ...)."""
    return _class_index_loss("nll_loss", input, target, weight, ignore_index, reduction, 0.0)


def _class_index_loss(op, log_probs, target, weight, ignore_index, reduction, smoothing):
    _check_reduction(op, reduction)
    if log_probs.ndim == 0:
        raise ShapeError(f"{op} needs an input with a class axis, got shape {log_probs.shape}")
    unbatched = log_probs.ndim == 1
    if unbatched:
        log_probs = log_probs.reshape(1, -1)
        target = target.reshape(1) if isinstance(target, Tensor) else [target]
    classes = log_probs.shape[1]
    shape = log_probs.shape[:1] + log_probs.shape[2:]
    labels = _labels(op, target, log_probs, shape, classes, ignore_index)
    xp = backend.xp_of(log_probs.array)
    counted = labels != ignore_index
    class_weight = _class_weight(op, weight, log_probs, classes)
    target_weight = xp.where(counted, class_weight[xp.where(counted, labels, 0)], 0)
    one_hot = constant(labels[..., None] == xp.arange(classes))
    per_class = _class_axis_last(log_probs)
    picked = where(one_hot, per_class, 0).sum(axis=-1)
    loss = -picked * constant(target_weight)
    if smoothing:
        spread = -(per_class * constant(class_weight)).sum(axis=-1) * constant(
            counted.astype(log_probs.dtype))
        loss = (1 - smoothing) * loss + (smoothing / classes) * spread
    if reduction == "mean":
        return loss.sum() / constant(target_weight.sum())
    loss = _reduce(loss, reduction)
    return loss.reshape(()) if unbatched and reduction == "none" else loss


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of logits of shape (C,), (N, C) or (N, C, d1, ...) (classes on axis 1)
    with class-index targets (integers of shape (), (N,) or (N, d1, ...); a Tensor, array or
    list) or class probabilities (floats shaped like the logits)."""
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing!r}")
    axis = 0 if input.ndim == 1 else 1
    log_probs = log_softmax(input, axis=axis) if input.ndim else input
    if not (isinstance(target, Tensor) and target.dtype.kind == "f"):
        return _class_index_loss("cross_entropy", log_probs, target, weight, ignore_index,
                                 reduction, label_smoothing)
    _check_reduction("cross_entropy", reduction)
    target = to_operand(target, input)
    if target.shape != input.shape:
        raise ShapeError(f"cross_entropy: class-probability targets must have the input's shape "
                         f"{input.shape}, got {target.shape}")
    if ignore_index != -100:
        raise ValueError("cross_entropy: ignore_index is not supported for class-probability "
                         "targets")
    classes = input.shape[axis]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    shape = (classes,) + (1,) * (input.ndim - 1 - axis)
    per_class = log_probs * target
    if weight is not None:
        per_class = per_class * constant(_class_weight("cross_entropy", weight, input,
                                                       classes).reshape(shape))
    loss = -per_class.sum(axis=axis)
    return _reduce(loss, reduction)


def _check_weights(op, input, **weights):
    """A weight (None skipped) must broadcast to the input's shape itself: one that would
    make the loss larger than the input is refused, as PyTorch does."""
    for name, weight in weights.items():
        shape = getattr(weight, "shape", ())
        if weight is not None and not broadcasts_to(shape, input.shape):
            raise ShapeError(f"{op}: {name} of shape {tuple(shape)} does not broadcast to the "
                             f"input's shape {input.shape} (it would make the loss larger)")


def _same_shape(op, input, target):
    if target.shape != input.shape:
        raise ShapeError(f"{op}: target of shape {target.shape} must have the input's shape "
                         f"{input.shape}")


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """-w (t log p + (1 - t) log(1 - p)) for probabilities p in [0, 1], each log clamped at
    -100 as PyTorch's (so p = 0 or 1 gives a finite loss)."""
    _check_reduction("binary_cross_entropy", reduction)
    _check_weights("binary_cross_entropy", input, weight=weight)
    p, t = promoted_operands(input, target)
    _same_shape("binary_cross_entropy", p, t)
    xp = backend.xp_of(p.array)
    if p.numel() and bool(((p.array < 0) | (p.array > 1)).any()):
        raise ValueError(f"binary_cross_entropy: every input must be a probability in [0, 1], "
                         f"got values from {p.array.min().item()} to {p.array.max().item()}")
    floor = float(np.finfo(p.dtype).smallest_subnormal)  # log(0) would warn; log(floor) < -100
    log_p = xp.maximum(xp.log(xp.maximum(p.array, floor)), -100)
    log_q = xp.maximum(xp.log(xp.maximum(1 - p.array, floor)), -100)
    loss = apply(-(t.array * log_p + (1 - t.array) * log_q), (p, t),
                 (lambda g, out: g * (p - t) / clip(p * (1 - p), 1e-12, None),
                  lambda g, out: g * (_clamped_log(1 - p, log_q) - _clamped_log(p, log_p))),
                 "binary_cross_entropy")
    if weight is not None:
        loss = loss * to_operand(weight, p)
    return _reduce(loss, reduction)


def _clamped_log(v, log_v):
    """max(log v, -100) as a differentiable op, given its value ``log_v`` (an array): where it
    is clamped, a constant -100, and the log is taken of 1 there, so that no inf (log 0, 1 / 0)
    enters the gradient of any order."""
    kept = constant(log_v > -100)
    return where(kept, log(where(kept, v, 1)), -100)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean",
                                     pos_weight=None):
    """binary_cross_entropy(sigmoid(x), t), computed stably from the logits x; ``pos_weight``
    (broadcast along the last axis, one per class) weights the positive term."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    _check_weights("binary_cross_entropy_with_logits", input, weight=weight,
                   pos_weight=pos_weight)
    x, t = promoted_operands(input, target)
    _same_shape("binary_cross_entropy_with_logits", x, t)
    positive = t if pos_weight is None else to_operand(pos_weight, x) * t
    loss = ((1 - t) * softplus(x, threshold=math.inf)
            + positive * softplus(-x, threshold=math.inf))
    if weight is not None:
        loss = loss * to_operand(weight, x)
    return _reduce(loss, reduction)
