"""Neural-network building blocks: Module and Parameter, layers, initialisation, utilities.

The functional ops are in ``minigrad.nn.functional`` (``import minigrad.nn.functional as F``).
"""
from . import functional, init, utils
from .layers import (ELU, GELU, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d,
                     Crop2d, Dropout, Flatten, GroupNorm, Hardtanh, InstanceNorm2d, LayerNorm,
                     LeakyReLU, Linear, MaxPool2d, ReLU, Reshape, Sigmoid, SiLU, Softplus, Tanh,
                     Unflatten, Upsample, ZeroPad2d)
from .module import Module, Parameter, Sequential
from .layers import (CELU, SELU, Hardsigmoid, Hardswish, LogSigmoid, Mish, PReLU, Softmin,
                     Softsign, Threshold)
from .layers import (AdaptiveAvgPool2d, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Embedding,
                     HuberLoss, Identity, KLDivLoss, L1Loss, LogSoftmax, ModuleDict, ModuleList,
                     MSELoss, NLLLoss, ParameterList, ReLU6, SmoothL1Loss, Softmax)

_MISSING = {name: None for name in (
    "ConvTranspose3d", "MaxPool1d", "MaxPool3d",
    "AvgPool1d", "AvgPool3d", "AdaptiveMaxPool2d", "AdaptiveAvgPool1d", "BatchNorm3d",
    "InstanceNorm1d", "LocalResponseNorm", "RNN", "LSTM", "GRU", "Transformer",
    "TransformerEncoder", "TransformerEncoderLayer", "MultiheadAttention", "Bilinear",
    "GLU", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "PixelShuffle",
    "EmbeddingBag", "ParameterDict", "CosineSimilarity", "MarginRankingLoss",
    "TripletMarginLoss", "CosineEmbeddingLoss", "PoissonNLLLoss", "GaussianNLLLoss", "CTCLoss")}
_MISSING.update(
    DataParallel="minigrad trains one process per device: see minigrad.distributed",
    parallel="minigrad trains one process per device: see minigrad.distributed",
    SyncBatchNorm="see minigrad.distributed.sync_batch_norm",
    ReflectionPad2d="use F.pad(x, (left, right, top, bottom), mode='reflect')",
    ReplicationPad2d="use F.pad(x, (left, right, top, bottom), mode='replicate')",
    ConstantPad2d="use F.pad(x, (left, right, top, bottom), value=v), or nn.ZeroPad2d",
    UpsamplingNearest2d="use nn.Upsample(scale_factor=s, mode='nearest')",
    UpsamplingBilinear2d="use nn.Upsample(scale_factor=s, mode='bilinear', align_corners=True)",
    Unfold="see minigrad.ops.unfold (im2col)", Fold="see minigrad.ops.fold (col2im)")


def __getattr__(name):
    from ..compat import missing
    raise missing(__name__, name, _MISSING)
from .layers import Conv1d, Conv3d, ConvTranspose1d
