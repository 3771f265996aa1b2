"""``torch.utils``: of it, minigrad has ``data`` (datasets and the DataLoader)."""
from . import data
