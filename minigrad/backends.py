"""``torch.backends``: the switches PyTorch programs set for cuDNN, and the question whether
Apple's MPS exists. minigrad has neither cuDNN nor MPS: the switches are kept (so that
setting them works) and change nothing; MPS is never available."""


class cudnn:
    """``torch.backends.cudnn``: its settings are accepted and have no effect."""
    enabled = True
    benchmark = False
    deterministic = False

    @staticmethod
    def is_available():
        return False


class mps:
    """``torch.backends.mps``: not available (minigrad computes with NumPy or CuPy)."""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def is_built():
        return False
