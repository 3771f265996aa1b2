"""Utilities that act on a model's parameters and modes."""
import contextlib

from .. import backend
from ..tensor import Tensor
from .module import Module


def clip_parameters_(parameters, clip_value):
    """Clamp every parameter to [-clip_value, clip_value] in place.

    This is the weight clipping of the original WGAN (Arjovsky et al. 2017), applied to the
    critic after each of its steps: ``clip_parameters_(critic, 0.01)``. ``parameters`` is a
    Module, one Tensor, or an iterable of Tensors.
    """
    if isinstance(parameters, Module):
        parameters = parameters.parameters()
    elif isinstance(parameters, Tensor):
        parameters = [parameters]
    for p in parameters:
        backend.xp_of(p.array).clip(p.array, -clip_value, clip_value, out=p.array)
        p._changed_in_place()


@contextlib.contextmanager
def frozen(*modules):
    """Inside, the modules' parameters do not require grad; afterwards each parameter gets
    back the flag it had before.

    A GAN's generator step backpropagates through the critic without updating it: freezing
    the critic spares the work of its weight gradients.
    """
    parameters = [p for m in modules for p in m.parameters()]
    before = [p.requires_grad for p in parameters]
    for p in parameters:
        p.requires_grad = False
    try:
        yield
    finally:
        for p, flag in zip(parameters, before):
            p.requires_grad = flag


@contextlib.contextmanager
def eval_mode(*modules):
    """Inside, the modules are in evaluation mode (dropout off, batch norm on its running
    statistics); afterwards every submodule gets back the mode it had before."""
    submodules = [s for m in modules for s in m.modules()]
    before = [s.training for s in submodules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for s, mode in zip(submodules, before):
            s.training = mode
