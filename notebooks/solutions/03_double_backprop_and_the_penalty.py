"""Solutions to the exercises of notebook 03 (double backprop and the gradient penalty)."""
import numpy as np

import minigrad as mg


def linear_critic_penalty_grad(v, eps=1e-12):
    """Exercise 1: d GP / d v for the critic <v, x> + c: 2 (n - 1) v / n, n = sqrt(|v|^2 + eps)."""
    v = np.asarray(v, dtype=np.float64)
    n = np.sqrt((v * v).sum() + eps)
    return 2 * (n - 1) * v / n


def hessian(f, x):
    """Exercise 2: the matrix d^2 f / dx_i dx_j of a scalar function of a vector."""
    x = x.detach().requires_grad_()
    (g,) = mg.grad(f(x), x, create_graph=True)
    return np.stack([mg.grad(g[i], x, retain_graph=True)[0].numpy()
                     for i in range(x.shape[0])])


def tanh_third_derivative(x):
    """Exercise 3: d^3 tanh / dx^3 at the entries of ``x``, by three nested grads."""
    x = x.detach().requires_grad_()
    (d1,) = mg.grad(x.tanh().sum(), x, create_graph=True)
    (d2,) = mg.grad(d1.sum(), x, create_graph=True)
    (d3,) = mg.grad(d2.sum(), x)
    return d3
