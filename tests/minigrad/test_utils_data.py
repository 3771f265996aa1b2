"""minigrad.utils.data: datasets, collation with PyTorch's rules, and the DataLoader's batches,
lengths and seeded shuffles."""
import collections

import numpy as np
import pytest

import minigrad as mg
from minigrad.utils.data import (DataLoader, Dataset, Subset, TensorDataset, default_collate,
                                 random_split)

import devices
from devices import DEVICE, tensor


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "y": i * i, "name": f"s{i}"}


def test_tensor_dataset_gives_tuples_of_rows():
    x, y = devices.randn(5, 3), tensor([0, 1, 2, 3, 4])
    data = TensorDataset(x, y)
    assert len(data) == 5
    row, label = data[2]
    np.testing.assert_array_equal(row.numpy(), x.numpy()[2])
    assert label.item() == 2 and row.device == DEVICE
    with pytest.raises(ValueError, match="first sizes \\[5, 4\\]"):
        TensorDataset(x, y[:4])


def test_batches_in_order_with_and_without_the_last_partial_one():
    x = tensor(np.arange(10.0).reshape(10, 1))
    loader = DataLoader(TensorDataset(x, tensor(np.arange(10))), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [b[0].shape for b in batches] == [(4, 1), (4, 1), (2, 1)]
    assert isinstance(batches[0], list) and batches[0][0].device == DEVICE
    np.testing.assert_array_equal(batches[2][1].numpy(), [8, 9])
    dropping = DataLoader(TensorDataset(x), batch_size=4, drop_last=True)
    assert len(dropping) == len(list(dropping)) == 2
    assert len(DataLoader(TensorDataset(x))) == 10


def test_shuffles_are_seeded_and_new_each_pass():
    data = TensorDataset(tensor(np.arange(20)))

    def passes(loader):
        return [np.concatenate([b[0].numpy() for b in loader]).tolist() for _ in range(2)]

    mg.manual_seed(0)
    first, second = passes(DataLoader(data, batch_size=3, shuffle=True))
    assert sorted(first) == list(range(20)) and first != second and first != list(range(20))
    mg.manual_seed(0)
    assert passes(DataLoader(data, batch_size=3, shuffle=True)) == [first, second]
    with_generator = [passes(DataLoader(data, batch_size=5, shuffle=True,
                                        generator=mg.Generator().manual_seed(7)))
                      for _ in range(2)]
    assert with_generator[0] == with_generator[1]


def test_default_collate_follows_pytorch():
    batch = default_collate([Squares(3)[i] for i in range(3)])
    assert batch["x"].shape == (3, 2) and batch["x"].dtype == np.float32
    assert batch["y"].dtype == np.int64 and batch["y"].numpy().tolist() == [0, 1, 4]
    assert batch["name"] == ["s0", "s1", "s2"]
    floats = default_collate([0.5, 1.5])
    assert floats.dtype == np.float64  # Python floats collate to float64, as in PyTorch
    assert default_collate([True, False]).dtype == np.bool_
    Pair = collections.namedtuple("Pair", "a b")
    pair = default_collate([Pair(1, 2.0), Pair(3, 4.0)])
    assert type(pair) is Pair and pair.a.numpy().tolist() == [1, 3]
    stacked = default_collate([tensor([1.0, 2.0]), tensor([3.0, 4.0])])
    assert stacked.shape == (2, 2) and stacked.device == DEVICE
    with pytest.raises(RuntimeError, match="different lengths"):
        default_collate([(1, 2), (3,)])


def test_collate_fn_and_unbatched_loading():
    data = Squares(4)
    names = DataLoader(data, batch_size=2, collate_fn=lambda b: [s["name"] for s in b])
    assert list(names) == [["s0", "s1"], ["s2", "s3"]]
    single = DataLoader(data, batch_size=None)
    assert len(single) == 4 and next(iter(single))["y"] == 0
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(data, batch_size=0)


def test_subset_and_random_split():
    data = TensorDataset(tensor(np.arange(10)))
    sub = Subset(data, [3, 1])
    assert len(sub) == 2 and sub[0][0].item() == 3
    parts = random_split(data, [7, 3], generator=mg.Generator().manual_seed(1))
    values = [sorted(int(p[i][0].item()) for i in range(len(p))) for p in parts]
    assert [len(p) for p in parts] == [7, 3] and sorted(values[0] + values[1]) == list(range(10))
    again = random_split(data, [7, 3], generator=mg.Generator().manual_seed(1))
    assert [again[1][i][0].item() for i in range(3)] == [parts[1][i][0].item() for i in range(3)]
    assert [len(p) for p in random_split(data, [0.5, 0.3, 0.2])] == [5, 3, 2]
    assert [len(p) for p in random_split(TensorDataset(tensor(np.arange(11))),
                                         [0.5, 0.5])] == [6, 5]
    with pytest.raises(ValueError, match="add up to 9"):
        random_split(data, [5, 4])


def test_a_dataset_without_its_methods_says_so():
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())
