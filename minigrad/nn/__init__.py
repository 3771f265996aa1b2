"""Neural-network building blocks: Module and Parameter, layers, initialisation, utilities.

The functional ops are in ``minigrad.nn.functional`` (``import minigrad.nn.functional as F``).
"""
from . import functional, init, utils
from .layers import (BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Crop2d, Dropout, Flatten,
                     LayerNorm, LeakyReLU, Linear, ReLU, Reshape, Sigmoid, Tanh, Unflatten,
                     Upsample, ZeroPad2d)
from .module import Module, Parameter, Sequential
