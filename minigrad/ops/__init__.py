"""The operations, one file per family. Each forward computes arrays; each backward rule
is made of these same operations, so gradients can be differentiated again."""
from .conv import conv2d, conv_transpose2d, fold, unfold
from .elementwise import (abs, add, astype, clip, compare, div, dropout, exp, leaky_relu, log,
                          maximum, minimum, mul, neg, pow, relu, sigmoid, softplus, sqrt, sub,
                          tanh, where)
from .linalg import matmul
from .norm import batch_norm, layer_norm
from .reduce import (cross_entropy, log_softmax, logsumexp, max, mean, min, softmax, sum, var)
from .shape import (broadcast_to, concat, flatten, getitem, pad, place, reshape, stack,
                    transpose, upsample_nearest)
