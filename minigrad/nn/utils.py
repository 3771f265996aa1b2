"""Utilities that act on a model's parameters."""
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
        backend.xp_of(p.data).clip(p.data, -clip_value, clip_value, out=p.data)
        p._changed_in_place()
