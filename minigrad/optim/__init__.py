"""Optimizers with PyTorch's constructor arguments, defaults and update formulas."""
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
from . import lr_scheduler, swa_utils

_MISSING = {name: None for name in ("Adamax", "ASGD", "LBFGS", "NAdam", "RAdam", "Rprop",
                                     "SparseAdam")}


def __getattr__(name):
    from ..compat import missing
    raise missing(__name__, name, _MISSING)
