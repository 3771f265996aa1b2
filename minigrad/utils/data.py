"""Datasets and batches, as ``torch.utils.data``: a Dataset answers ``len(dataset)`` and
``dataset[i]``; a DataLoader draws its indices in order or shuffled, and collates each batch
of samples into tensors. Everything runs in the calling process (``num_workers`` is accepted
and ignored).

Shuffling draws one permutation per pass over the data, from ``generator`` (a
``mg.Generator``) or else from minigrad's generator: after the same ``mg.manual_seed`` the
same orders come back, and each pass has a new one.
"""
import collections.abc
import math
import numbers

import numpy as np

from ..functions import randperm
from ..ops import stack
from ..tensor import Tensor, tensor


class Dataset:
    """Subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")


class TensorDataset(Dataset):
    """Sample i is ``tuple(t[i] for t in tensors)``; the tensors share their first size."""

    def __init__(self, *tensors):
        sizes = [len(t) for t in tensors]
        if not tensors or len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset needs one or more tensors with one first size, got "
                             f"first sizes {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Subsets of a random permutation of ``dataset``: ``lengths`` are sizes adding up to
    ``len(dataset)``, or fractions adding up to 1 (the remainder of rounding down goes one
    by one to the first subsets, as PyTorch does)."""
    n = len(dataset)
    if lengths and all(0 <= f <= 1 for f in lengths) and math.isclose(sum(lengths), 1):
        sizes = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {list(lengths)} add up to {sum(lengths)}, "
                         f"not to the dataset's {n} samples (or to 1 as fractions)")
    order = randperm(n, generator=generator).numpy().tolist()
    starts = np.cumsum([0] + list(lengths))
    return [Subset(dataset, order[a:b]) for a, b in zip(starts[:-1], starts[1:])]


def default_collate(batch):
    """A list of samples as one batch, with PyTorch's rules: tensors are stacked; NumPy arrays
    and numbers become tensors and are stacked (Python ints int64, floats float64, as
    PyTorch's); dicts, tuples and lists are collated entry by entry (tuples come back as
    lists); anything else (strings) is returned as the list it is."""
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch)
    if isinstance(first, (np.ndarray, np.generic)):
        return tensor(np.stack(batch))
    if isinstance(first, bool):
        return tensor(batch)
    if isinstance(first, numbers.Integral):
        return tensor(batch, dtype=np.int64)
    if isinstance(first, numbers.Real):
        return tensor(batch, dtype=np.float64)
    if isinstance(first, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
        return type(first)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(first, (tuple, list)):
        if len({len(sample) for sample in batch}) != 1:
            raise RuntimeError("default_collate: the samples of a batch are sequences of "
                               f"different lengths {sorted({len(s) for s in batch})}")
        return [default_collate(list(field)) for field in zip(*batch)]
    return batch


class DataLoader:
    """Batches of ``batch_size`` samples of ``dataset``, collated by ``collate_fn`` (default:
    ``default_collate``); ``shuffle`` draws a new order each pass (see the module's text),
    ``drop_last`` leaves out a last batch that is not full. ``len(loader)`` is the number of
    batches. With ``batch_size=None`` the samples come one by one, uncollated."""

    def __init__(self, dataset, batch_size=1, shuffle=False, num_workers=0, collate_fn=None,
                 pin_memory=False, drop_last=False, generator=None):
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
                batch_size, numbers.Integral) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int or None, got "
                             f"{batch_size!r}")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, bool(shuffle)
        self.num_workers, self.pin_memory, self.drop_last = num_workers, pin_memory, drop_last
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.generator = generator

    def _order(self):
        n = len(self.dataset)
        if self.shuffle:
            return randperm(n, generator=self.generator).numpy().tolist()
        return range(n)

    def __iter__(self):
        order = self._order()
        if self.batch_size is None:
            yield from (self.dataset[i] for i in order)
            return
        for start in range(0, len(order), self.batch_size):
            indices = order[start:start + self.batch_size]
            if len(indices) < self.batch_size and self.drop_last:
                return
            yield self.collate_fn([self.dataset[i] for i in indices])

    def __len__(self):
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
