"""The functional interface (``import minigrad.nn.functional as F``), with PyTorch's names."""
import numbers
import warnings

import numpy as np

from .. import autograd, ops
from ..ops import (avg_pool2d, batch_norm, binary_cross_entropy,
                   binary_cross_entropy_with_logits, conv2d, conv_transpose2d, cross_entropy,
                   gelu, group_norm, instance_norm, interpolate, layer_norm, max_pool2d,
                   nll_loss, sigmoid, softplus, tanh, upsample_nearest)
from ..ops import one_hot
from ..ops.linalg import check_same_dtype
from ..ops import logsigmoid, prelu, softsign
from ..ops.loss import _check_reduction, _reduce
from ..tensor import promoted_operands, tensor
from ..ops import conv1d, conv3d, conv_transpose1d
from ..tensor import ones


def linear(x, w, b=None):
    """x @ w^T + b, with ``w`` of shape (out_features, in_features)."""
    if w.ndim != 2 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit weight of shape "
                         f"{w.shape} (expected the input's last axis to be {w.shape[-1]})")
    check_same_dtype("linear", input=x, weight=w, bias=b)
    y = x @ w.T
    return y if b is None else y + b


def pad(input, pad, mode="constant", value=None):
    """PyTorch's F.pad: ``pad`` is a flat tuple of ints, (left, right) for the last axis, then
    (top, bottom) for the one before, and so on; negative widths crop (constant mode only).
    Modes "constant" (fill ``value``, default 0), "reflect", "replicate", "circular".
    NumPy-style (before, after) pairs for every axis go to ``mg.pad``."""
    if not isinstance(pad, (tuple, list)) or any(
            isinstance(p, bool) or not isinstance(p, numbers.Integral) for p in pad):
        raise TypeError(f"F.pad takes a flat tuple of ints (left, right, top, bottom, ...), got "
                        f"{pad!r}; for (before, after) pairs per axis use mg.pad")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"F.pad: {len(pad)} widths given for a tensor of shape {input.shape}: "
                         f"need two per padded axis, at most {2 * input.ndim}")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"F.pad: mode {mode!r} takes no fill value, got value={value!r}")
    padded = len(pad) // 2
    pairs = ((0, 0),) * (input.ndim - padded) + tuple(
        (pad[2 * i], pad[2 * i + 1]) for i in reversed(range(padded)))
    return ops.pad(input, pairs, mode, 0 if value is None else value)


# ---- activations with PyTorch's ``inplace=`` ----
# minigrad computes them out of place, always: the result is the same tensor of values, so a
# program that uses the returned tensor (``x = F.relu(x, inplace=True)``, as PyTorch programs
# do) gives the same results; the input itself is left unchanged. Where PyTorch refuses the
# in-place form, on a leaf that requires grad while operations are recorded, this refuses too,
# so that a program runs on both or on neither.

def _out_of_place(op, x, inplace):
    if inplace and x.requires_grad and x.is_leaf and autograd.is_grad_enabled():
        raise RuntimeError(f"{op}(inplace=True): a leaf tensor that requires grad is being used "
                           "in an in-place operation (PyTorch refuses this too); pass "
                           "inplace=False")
    return x


def relu(input, inplace=False):
    """max(x, 0); ``inplace`` as described above."""
    return ops.relu(_out_of_place("relu", input, inplace))


def relu6(input, inplace=False):
    """min(max(x, 0), 6)."""
    return ops.hardtanh(_out_of_place("relu6", input, inplace), 0.0, 6.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, negative_slope * x elsewhere."""
    return ops.leaky_relu(_out_of_place("leaky_relu", input, inplace), negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, alpha (e^x - 1) elsewhere."""
    return ops.elu(_out_of_place("elu", input, inplace), alpha)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x limited to [min_val, max_val] (gradient 0 at the limits)."""
    return ops.hardtanh(_out_of_place("hardtanh", input, inplace), min_val, max_val)


def silu(input, inplace=False):
    """x * sigmoid(x)."""
    return ops.silu(_out_of_place("silu", input, inplace))


def dropout(input, p=0.5, training=True, inplace=False):
    """In training, zero each element with probability p and scale the rest by 1 / (1 - p)."""
    return ops.dropout(_out_of_place("dropout", input, inplace), p, training)


def _softmax_axis(op, x, dim, axis):
    """The axis of a softmax: ``dim`` (or NumPy's ``axis``); without either, PyTorch's old
    implicit choice (0 for 0-, 1- and 3-D inputs, else 1), with its warning."""
    if dim is not None and axis is not None:
        raise TypeError(f"{op}: give dim or axis, not both")
    if dim is None and axis is None:
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the "
                      "call to include dim=X as an argument.", UserWarning, stacklevel=3)
        return 0 if x.ndim in (0, 1, 3) else 1
    return axis if dim is None else dim


def softmax(input, dim=None, *, axis=None):
    """exp(x) / sum(exp(x)) along ``dim``."""
    return ops.softmax(input, _softmax_axis("softmax", input, dim, axis))


def log_softmax(input, dim=None, *, axis=None):
    """x - logsumexp(x) along ``dim``."""
    return ops.log_softmax(input, _softmax_axis("log_softmax", input, dim, axis))


# ---- losses made of other ops (reduction: "mean", "sum" or "none") ----

def _difference(op, input, target, reduction):
    """input - target; a target of another shape broadcasts, with PyTorch's warning."""
    _check_reduction(op, reduction)
    x, t = promoted_operands(input, target)
    if x.shape != t.shape:
        warnings.warn(f"{op}: using a target size ({t.shape}) that is different to the input "
                      f"size ({x.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=3)
    return x - t


def mse_loss(input, target, reduction="mean"):
    """(x - t)^2."""
    d = _difference("mse_loss", input, target, reduction)
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction="mean"):
    """|x - t|."""
    return _reduce(ops.abs(_difference("l1_loss", input, target, reduction)), reduction)


def _huber(d, delta):
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere."""
    size = ops.abs(d)
    return ops.where(size < delta, 0.5 * d * d, delta * (size - 0.5 * delta))


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 (x - t)^2 / beta where |x - t| < beta, |x - t| - 0.5 beta elsewhere (= huber_loss
    / beta; beta = 0 gives l1_loss)."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    d = _difference("smooth_l1_loss", input, target, reduction)
    return _reduce(ops.abs(d) if beta == 0 else _huber(d, beta) / beta, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 (x - t)^2 where |x - t| < delta, delta (|x - t| - 0.5 delta) elsewhere."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    return _reduce(_huber(_difference("huber_loss", input, target, reduction), delta), reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise, with ``input`` log-probabilities: t (log t - x),
    0 where t = 0; with ``log_target``, exp(t) (t - x). reduction "batchmean" divides the sum
    by the batch size (the KL divergence per sample); "mean" divides by the number of
    elements, as PyTorch does."""
    reduction_ = "sum" if reduction == "batchmean" else reduction
    _check_reduction("kl_div", reduction_)
    x, t = promoted_operands(input, target)
    if log_target:
        loss = ops.exp(t) * (t - x)
    else:
        positive = t > 0
        loss = ops.where(positive, t * ops.log(ops.where(positive, t, 1)), 0) - t * x
    loss = _reduce(loss, reduction_)
    return loss / x.shape[0] if reduction == "batchmean" and x.ndim else loss


# ---- layers' functional forms ----

def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, dim) picked by the integer tensor ``input``: shape
    input.shape + (dim,). Rows picked at ``padding_idx`` get no gradient."""
    rows = ops.index_select(weight, 0, input.reshape(-1))
    if padding_idx is not None:
        padding_idx %= weight.shape[0]
        kept = (input.reshape(-1) != padding_idx).reshape(-1, 1)
        rows = ops.where(kept, rows, rows.detach())
    return rows.reshape(tuple(input.shape) + (weight.shape[1],))


def adaptive_avg_pool2d(input, output_size):
    """The mean over windows that tile the last two axes into ``output_size`` (an int, a pair;
    None keeps that size): window i of n spans [floor(i H / n), ceil((i + 1) H / n)), as
    PyTorch's. Computed as A x B^T with constant averaging matrices A and B."""
    sizes = (output_size,) * 2 if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)
    (h, w), dtype = input.shape[-2:], input.dtype
    out_h, out_w = (size if n is None else n for size, n in zip((h, w), sizes))
    if out_h == out_w == 1:
        return input.mean(axis=(-2, -1), keepdims=True)
    a = _averaging_matrix(out_h, h, dtype, input.device)
    b = _averaging_matrix(out_w, w, dtype, input.device)
    return a @ input @ ops.transpose(b, 0, 1)


def _averaging_matrix(n, size, dtype, device):
    """(n, size): row i averages entries floor(i size / n) .. ceil((i + 1) size / n) - 1."""
    matrix = np.zeros((n, size))  # host: a small constant, built here and moved once
    for i in range(n):
        start, end = (i * size) // n, -(-(i + 1) * size // n)
        matrix[i, start:end] = 1 / (end - start)
    return tensor(matrix, dtype=dtype, device=device)


# ---- more activations (minigrad.ops.elementwise), ``inplace`` as for relu above ----

def celu(input, alpha=1.0, inplace=False):
    """x where x > 0, alpha (e^(x / alpha) - 1) elsewhere."""
    return ops.celu(_out_of_place("celu", input, inplace), alpha)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalizing constants."""
    return ops.selu(_out_of_place("selu", input, inplace))


def mish(input, inplace=False):
    """x tanh(softplus(x))."""
    return ops.mish(_out_of_place("mish", input, inplace))


def hardswish(input, inplace=False):
    """x relu6(x + 3) / 6."""
    return ops.hardswish(_out_of_place("hardswish", input, inplace))


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    return ops.hardsigmoid(_out_of_place("hardsigmoid", input, inplace))


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, value elsewhere."""
    return ops.threshold(_out_of_place("threshold", input, inplace), threshold, value)


def softmin(input, dim=None, *, axis=None):
    """softmax(-x) along ``dim``."""
    return ops.softmax(-input, _softmax_axis("softmin", input, dim, axis))


_MISSING = {name: None for name in (
    "max_pool1d", "avg_pool1d", "adaptive_max_pool2d", "adaptive_avg_pool1d", "grid_sample",
    "affine_grid", "pixel_shuffle", "cosine_similarity", "normalize", "gumbel_softmax", "glu",
    "dropout2d", "alpha_dropout", "margin_ranking_loss", "triplet_margin_loss",
    "cosine_embedding_loss", "poisson_nll_loss", "gaussian_nll_loss", "ctc_loss",
    "multi_margin_loss", "soft_margin_loss", "multilabel_soft_margin_loss", "embedding_bag",
    "local_response_norm")}
_MISSING.update(
    upsample="use F.interpolate", upsample_bilinear="use F.interpolate(mode='bilinear')",
    unfold="see minigrad.ops.unfold (im2col)", fold="see minigrad.ops.fold (col2im)")


def __getattr__(name):
    from ..compat import missing
    raise missing(__name__, name, _MISSING)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q K^T * scale + mask) V over the last two axes, PyTorch's math form: query
    (..., L, E), key (..., S, E), value (..., S, Ev) give (..., L, Ev). ``scale`` defaults to
    1 / sqrt(E). A boolean ``attn_mask`` says which keys each query attends to (True: it
    does), a float one is added to the scores; ``is_causal`` lets query i attend to keys
    0..i (the lower triangle from the top-left, as PyTorch). ``dropout_p`` drops attention
    weights whenever it is given, as PyTorch's function does (pass 0.0 when evaluating).
    Made of differentiable ops, so it differentiates to any order."""
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both "
                         "(as PyTorch)")
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa (grouped-query "
                                  "attention) is not supported; repeat key and value's heads")
    length, keys = query.shape[-2], key.shape[-2]
    scale = query.shape[-1] ** -0.5 if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        attn_mask = ops.tril(ones(length, keys, dtype=bool, device=query.device))
    if attn_mask is not None:
        scores = (ops.masked_fill(scores, ops.logical_not(attn_mask), -float("inf"))
                  if attn_mask.dtype == bool else scores + attn_mask)
    weights = ops.softmax(scores, -1)
    if dropout_p > 0:
        weights = ops.dropout(weights, dropout_p, training=True)
    return weights @ value

