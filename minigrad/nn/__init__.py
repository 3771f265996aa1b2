"""Neural-network building blocks: Module and Parameter, layers, initialisation, utilities.

The functional ops are in ``minigrad.nn.functional`` (``import minigrad.nn.functional as F``).
"""
from . import functional, init, utils
from .layers import (ELU, GELU, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d,
                     Crop2d, Dropout, Flatten, GroupNorm, Hardtanh, InstanceNorm2d, LayerNorm,
                     LeakyReLU, Linear, MaxPool2d, ReLU, Reshape, Sigmoid, SiLU, Softplus, Tanh,
                     Unflatten, Upsample, ZeroPad2d)
from .module import Module, Parameter, Sequential
