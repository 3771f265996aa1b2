"""minigrad: a small reverse-mode automatic differentiation engine on NumPy and CuPy."""
from .autograd import grad, is_grad_enabled
from .backend import get_rng_state, manual_seed, set_rng_state
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import (abs, clip, concat, exp, log, matmul, maximum, minimum, pad, sigmoid, sqrt,
                  stack, tanh, where)
from .tensor import (Tensor, full, full_like, ones, ones_like, rand, randn, tensor, zeros,
                     zeros_like)
from .ops import chunk, flip, gather, index_select, masked_fill, split
from .tensor import arange, eye, linspace, rand_like, randn_like
from .ops import erf
from .ops import (acos, acosh, allclose, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,
                  asin, asinh, atan, atan2, atanh, bitwise_and, bitwise_left_shift, bitwise_not,
                  bitwise_or, bitwise_right_shift, bitwise_xor, ceil, cos, cosh, exp2, expm1,
                  floor, floor_divide, fmod, frac, isclose, isfinite, isinf, isnan, isneginf,
                  isposinf, log10, log1p, log2, logical_and, logical_not, logical_or, logical_xor,
                  nan_to_num, reciprocal, remainder, round, rsqrt, sgn, sign, sin, sinh, square,
                  tan, trunc)
from . import nn, optim
from .serialization import load, save
from . import viz
# PyTorch's spellings (docs/pytorch.md). The function forms call the tensor methods, so they
# take the methods' arguments: do not re-export these names from ops.
from .compat import device, enable_grad, inference_mode, no_grad, set_grad_enabled
from .compat import legacy_types as _legacy_types
from .dtypes import *  # noqa: F401,F403  (mg.float32, mg.long, ...: NumPy dtypes)
from .functions import (Generator, argmax, argmin, as_tensor, cat, clamp, empty, empty_like,
                        flatten, from_numpy, is_tensor, max, mean, min, norm, normal, numel,
                        permute, randint, randperm, reshape, squeeze, std, sum, t, transpose,
                        unsqueeze, var)
from .ops import bmm, log_softmax, logsumexp, mm, relu, softmax
from .tensor import Size
from . import accelerator, autograd, backends, cuda, utils

globals().update(_legacy_types())  # mg.FloatTensor(2, 3), mg.LongTensor([1, 2]), ...

_MISSING = {
    "set_default_dtype": "minigrad's default float is float32: pass dtype=mg.float64 to the "
                         "factories, or cast with .astype(mg.float64)",
    "compile": "there is no compiler: call the model itself",
    "jit": "there is no compiler: call the model itself",
    "amp": "no mixed precision: drop autocast and GradScaler (compute in float32)",
    "autocast": "no mixed precision: drop autocast (compute in float32)",
    "bfloat16": "NumPy has no bfloat16: use mg.float16 or mg.float32",
    "concatenate": "use mg.cat",
    "multinomial": None, "bernoulli": None, "linalg": None, "fft": None,
    "distributions": None, "cdist": None,
    "hub": "nothing is downloaded: load weights saved with mg.save",
    "distributed": "see minigrad.distributed (MPI, one process per device)",
}


def __getattr__(name):
    from .compat import missing
    raise missing(__name__, name, _MISSING)
from .ops import (all, any, argsort, cummax, cummin, cumprod, cumsum, diag, diag_embed,  # noqa: E402
                  diagonal, einsum, kthvalue, logcumsumexp, masked_select, median, nonzero,
                  outer, prod, scatter, scatter_add, scatter_reduce, sort, take_along_dim, topk,
                  trace, tril, triu)
from .ops import cross, roll  # noqa: E402
