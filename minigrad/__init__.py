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
from . import nn, optim
from .serialization import load, save
from . import viz
