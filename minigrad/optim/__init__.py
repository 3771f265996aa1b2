"""Optimizers with PyTorch's constructor arguments, defaults and update formulas."""
from .adam import Adam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
from . import lr_scheduler, swa_utils
