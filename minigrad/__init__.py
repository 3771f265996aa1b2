"""minigrad: a small reverse-mode automatic differentiation engine on NumPy and CuPy."""
from .autograd import enable_grad, grad, is_grad_enabled, no_grad
from .backend import get_rng_state, manual_seed, set_rng_state
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import (abs, clip, concat, exp, log, matmul, maximum, minimum, pad, sigmoid, sqrt,
                  stack, tanh, where)
from .tensor import (Tensor, full, full_like, ones, ones_like, rand, randn, tensor, zeros,
                     zeros_like)
from .ops import (argmax, argmin, chunk, flip, gather, index_select, masked_fill, split, squeeze,
                  std, unsqueeze)
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
