"""Averaged weights, as ``torch.optim.swa_utils``: ``AveragedModel`` keeps a running average
of a model's parameters (and, with ``use_buffers``, of its buffers), updated by
``update_parameters(model)``. The default average is the plain mean of every update; pass
``avg_fn=get_ema_avg_fn(decay)`` for an exponential moving average

    avg = decay * avg + (1 - decay) * current,

the averaged generator of GAN training (Karras et al. 2018; Yazici et al. 2019). The first
update copies the model.
"""
import copy

import numpy as np

from ..autograd import no_grad
from ..nn.module import Module
from ..tensor import zeros


def get_ema_avg_fn(decay=0.999):
    """avg_fn of an exponential moving average with the given decay."""
    def ema(averaged, current, num_averaged):
        return decay * averaged + (1 - decay) * current
    return ema


def _mean(averaged, current, num_averaged):
    return averaged + (current - averaged) / (num_averaged + 1)


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are the running average of ``model``'s; call it
    like the model. ``avg_fn(averaged, current, num_averaged)`` returns the new average (of
    Tensors, under no_grad). With ``use_buffers`` the floating-point buffers (batch norm's
    running statistics) are averaged too and the others copied; without, buffers keep what
    they were copied with."""

    def __init__(self, model, avg_fn=None, use_buffers=False):
        super().__init__()
        self.module = copy.deepcopy(model).requires_grad_(False)
        self.avg_fn = avg_fn or _mean
        self.use_buffers = use_buffers
        self.register_buffer("n_averaged", zeros((), dtype=np.int64))

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _averaged(self, module):
        tensors = module.parameters()
        return tensors + module.buffers() if self.use_buffers else tensors

    def update_parameters(self, model):
        n = int(self.n_averaged.item())
        with no_grad():
            for averaged, current in zip(self._averaged(self.module), self._averaged(model)):
                if n == 0 or averaged.dtype.kind != "f":
                    averaged.copy_(current.detach())
                else:
                    averaged.copy_(self.avg_fn(averaged.detach(), current.detach(), n))
            self.n_averaged += 1
