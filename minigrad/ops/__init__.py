"""The operations, one file per family. Each forward computes arrays; each backward rule
is made of these same operations, so gradients can be differentiated again.

Every op is written one way (docs/anatomy-of-an-op.md walks through mul and exp):

- the forward computes the result's array with the array module of its input,
  ``xp = backend.xp_of(x.array)`` (NumPy or CuPy), never with ``np.`` directly;
- it is recorded by ``autograd.apply(array, parents, vjps, op, saved=...)``, or by the
  shorthands ``_unary`` / ``_binary`` in elementwise.py, which call it;
- every rule has the one signature ``vjp(g, out)``: ``g`` the gradient arriving at the
  result, ``out`` the result itself; the inputs it needs it takes from the enclosing function
  (a closure), and it returns the gradient for its parent, made of Tensor ops;
- ``saved=`` lists the tensors the rules read, as a tuple: inputs by name, ``OUTPUT`` for the
  result (``saved=(b, OUTPUT)``), ``()`` where the rules read only shapes or constants (masks).
  Backward refuses to run a rule whose saved tensors were changed in place since.
"""
from .conv import conv2d, conv_transpose2d, fold, unfold
from .loss import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, nll_loss
from .pool import avg_pool2d, max_pool2d
from .resample import interpolate, upsample_nearest
from .elementwise import (abs, add, astype, clip, compare, div, dropout, exp, leaky_relu, log,
                          maximum, minimum, mul, neg, pow, relu, sigmoid, softplus, sqrt, sub,
                          tanh, where)
from .linalg import matmul
from .norm import batch_norm, group_norm, instance_norm, layer_norm
from .reduce import (log_softmax, logsumexp, max, mean, min, softmax, sum, var)
from .shape import (broadcast_to, concat, flatten, pad, permute, place, reshape, stack,
                    transpose)
from .index import gather, getitem, index_select, masked_fill, one_hot, scatter_add_flat, take
from .reduce import amax, amin, aminmax, argmax, argmin, norm, std
from .shape import chunk, expand, flip, repeat, split, squeeze, unsqueeze
from .elementwise import elu, erf, gelu, hardtanh, silu
from .reduce import all, any
from .scan import cummax, cummin, cumprod, cumsum, logcumsumexp, prod
from .sort import argsort, kthvalue, median, sort, topk
from .elementwise import (acos, acosh, allclose, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,
                          arctanh, asin, asinh, atan, atan2, atanh, bitwise_and,
                          bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift,
                          bitwise_xor, ceil, celu, clamp, cos, cosh, exp2, expm1, floor,
                          floor_divide, fmod, frac, hardsigmoid, hardswish, isclose, isfinite,
                          isinf, isnan, isneginf, isposinf, log10, log1p, log2, logical_and,
                          logical_not, logical_or, logical_xor, logsigmoid, mish, nan_to_num,
                          prelu, reciprocal, remainder, round, rsqrt, selu, sgn, sign, sin, sinh,
                          softsign, square, tan, threshold, trunc)
from .einsum import diag, diag_embed, diagonal, einsum, trace
from .index import masked_select, nonzero, take_along_dim, tril, triu
from .linalg import bmm, mm, outer
from .scatter import scatter, scatter_add, scatter_reduce
from .conv import conv1d, conv3d, conv_transpose1d
from .roll_cross import cross, roll
