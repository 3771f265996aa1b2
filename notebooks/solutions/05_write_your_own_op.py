"""Solutions to the exercises of notebook 05 (writing your own op)."""
import numpy as np

import minigrad as mg
from minigrad import backend
from minigrad.autograd import apply


def sin(x):
    """Exercise 1: d sin = cos, written with the cos op below, so every order exists."""
    xp = backend.xp_of(x.array)
    return apply(xp.sin(x.array), (x,), (lambda g, out: g * cos(x),), "sin", saved=(x,))


def cos(x):
    """Exercise 1: d cos = -sin."""
    xp = backend.xp_of(x.array)
    return apply(xp.cos(x.array), (x,), (lambda g, out: -g * sin(x),), "cos", saved=(x,))


def softsign(x):
    """Exercise 2: x / (1 + |x|), with derivative 1 / (1 + |x|)^2."""
    xp = backend.xp_of(x.array)
    return apply(x.array / (1 + xp.abs(x.array)), (x,),
                 (lambda g, out: g / (1 + x.abs()) ** 2,), "softsign", saved=(x,))


def sin_with_numpy_rule(x):
    """Exercise 3, broken on purpose: the rule's cos is a NumPy array made into a constant, so
    the rule is right as a number (gradcheck passes) but cut from x's graph (gradgradcheck
    fails: the second derivative it gives is 0 instead of -sin). On a GPU, np.cos of a CuPy
    array would fail outright."""
    rule = lambda g, out: g * mg.tensor(np.cos(x.array))  # noqa: E731
    return apply(np.sin(x.array), (x,), (rule,), "sin", saved=(x,))
