"""Finite-difference checks of the analytic gradients.

gradcheck compares, for a random output weighting u, the analytic gradient of
L = sum(u * fn(inputs)) with central differences

    dL/dx_k ~ (L(x + eps e_k) - L(x - eps e_k)) / (2 eps)

entry by entry. An input with more than ``max_entries`` elements is checked along
``directions`` random unit directions v instead: (L(x + eps v) - L(x - eps v)) / (2 eps)
against <dL/dx, v>. Run it in float64: float32 differences are too noisy to trust.

gradgradcheck applies gradcheck to the function (inputs, u) -> grad(fn(inputs), inputs, u)
built with create_graph=True, which checks every second derivative that the gradient
penalty of WGAN-GP relies on.
"""
import numpy as np

from . import backend
from .autograd import grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    pass


def _outputs(fn, inputs):
    out = fn(*inputs)
    return [out] if isinstance(out, Tensor) else [o for o in out if o is not None]


def _weighted_sum(outputs, weights):
    return sum(float(np.sum(backend.to_host(o.array).astype(np.float64) * u))
               for o, u in zip(outputs, weights))


def _analytic(fn, inputs, weights):
    outputs = _outputs(fn, inputs)
    differentiable = [i for i, o in enumerate(outputs) if o.requires_grad]
    wanted = [x for x in inputs if x.requires_grad]
    if not differentiable:
        return [np.zeros(x.shape) for x in wanted]
    grads = grad([outputs[i] for i in differentiable], wanted,
                 [Tensor._wrap(backend.to_device(weights[i].astype(outputs[i].dtype),
                                                 outputs[i].device))
                  for i in differentiable], allow_unused=True)
    return [np.zeros(x.shape) if g is None else backend.to_host(g.array).astype(np.float64)
            for x, g in zip(wanted, grads)]


def _loss_at(fn, inputs, x, flat_change, weights):
    """L with ``flat_change`` added to input x (restored afterwards)."""
    original = x.array
    x.array = original + backend.to_device(flat_change.reshape(x.shape).astype(x.dtype), x.device)
    try:
        return _weighted_sum(_outputs(fn, inputs), weights)
    finally:
        x.array = original


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, max_entries=400, directions=8,
              seed=0):
    """True if fn's analytic gradients match central differences; raises otherwise.

    ``inputs`` is a sequence of Tensors; those with requires_grad are checked. The error
    names the input, the entry (or direction) and both values.
    """
    inputs = list(inputs)
    rng = np.random.default_rng(seed)
    for x in inputs:
        if x.requires_grad and x.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs, got {x.dtype} for shape {x.shape}")
    weights = [rng.standard_normal(o.shape) for o in _outputs(fn, inputs)]
    analytic = _analytic(fn, inputs, weights)
    checked = [(k, x) for k, x in enumerate(inputs) if x.requires_grad]
    for (k, x), g in zip(checked, analytic):
        if x.numel() <= max_entries:
            probes = [(f"entry {tuple(int(i) for i in np.unravel_index(e, x.shape))}",
                       np.eye(1, x.numel(), e)[0])
                      for e in range(x.numel())]
        else:
            probes = []
            for d in range(directions):
                v = rng.standard_normal(x.numel())
                probes.append((f"random direction {d}", v / np.linalg.norm(v)))
        for where, v in probes:
            numeric = (_loss_at(fn, inputs, x, eps * v, weights)
                       - _loss_at(fn, inputs, x, -eps * v, weights)) / (2 * eps)
            exact = float(g.ravel() @ v)
            if not abs(numeric - exact) <= atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"gradient mismatch for input {k} (shape {x.shape}) at {where}: "
                    f"analytic {exact:.10g}, numerical {numeric:.10g}, "
                    f"difference {abs(numeric - exact):.3g} > atol {atol} + rtol {rtol} * |numerical|")
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, **kwargs):
    """gradcheck of the gradient: checks d/d(inputs, grad_outputs) of grad(fn(inputs), inputs, grad_outputs)."""
    inputs = list(inputs)
    outputs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(kwargs.get("seed", 0) + 1)
        grad_outputs = [Tensor._wrap(backend.to_device(rng.standard_normal(o.shape), o.device),
                                     requires_grad=True) for o in outputs]
    grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    n = len(inputs)
    wanted = [i for i, x in enumerate(inputs) if x.requires_grad]

    def first_derivatives(*args):
        xs, us = args[:n], args[n:]
        pairs = [(o, u) for o, u in zip(_outputs(fn, xs), us) if o.requires_grad]
        grads = grad([o for o, _ in pairs], [xs[i] for i in wanted], [u for _, u in pairs],
                     create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps, atol, rtol, **kwargs)
