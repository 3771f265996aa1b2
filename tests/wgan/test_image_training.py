"""Training on folders of RGB images: one iteration of each mode with dcgan64 at 64x64 and
with every pair that draws 32x32, resuming an RGB run bit for bit, `sample` (PNG and .npz)
and the progress GIF in colour, and what `evaluate` and --every do with and without labels.

The folders are drawn here with Pillow (coloured shapes on coloured backgrounds); the
decode cache goes to this test's temporary folder. The models are tiny (dim 2, z 8,
batch 4) so that every run takes a fraction of a second.
"""
import csv

import numpy as np
import pytest
from PIL import Image, ImageDraw

import minigrad as mg
from devices import assert_same_state
from synthetic_digits import TINY_SETTINGS
from wgan import classifier, cli, models, modes, plots
from wgan.data import image_folder
from wgan.config import Config, SettingError
from wgan.run_folder import RunFolder
from wgan.train import load_training_data, train
from wgan.trainer import Trainer

pytestmark = pytest.mark.cpu_only("wgan tests run on the CPU; the device run trains with "
                                  "device='cuda' in test_device_training.py")

SHAPES = ("circles", "squares")
PAIRS_AT_32 = [a for a in models.ARCHITECTURES if models.SIZES[a][0](32)]


def quiet(*args, **kwargs):
    pass


def draw(root, n_per_class=6, labelled=True, seed=0):
    """Coloured circles and squares on coloured backgrounds, 40 to 80 pixels, some not
    square; in class sub-folders, or all in ``root``."""
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        folder = root / shape if labelled else root
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(n_per_class):
            w, h = rng.integers(40, 81, size=2)
            picture = Image.new("RGB", (int(w), int(h)), tuple(rng.integers(0, 120, 3).tolist()))
            box = (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
            colour = tuple(rng.integers(130, 256, 3).tolist())
            pen = ImageDraw.Draw(picture)
            (pen.ellipse if shape == "circles" else pen.rectangle)(box, fill=colour)
            picture.save(folder / f"{shape}-{k}.{'png' if k % 2 else 'jpg'}")
    return root


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(image_folder.CACHE_ENV, str(tmp_path / "cache"))
    for key, value in TINY_SETTINGS.items():  # a quick classifier where one is trained
        monkeypatch.setitem(classifier.SETTINGS, key, value)
    return tmp_path / "cache"


@pytest.fixture
def shapes(tmp_path, cache):
    return draw(tmp_path / "shapes")


@pytest.fixture
def unlabelled(tmp_path, cache):
    return draw(tmp_path / "faces", labelled=False)


def tiny(mode, folder, arch, size=64, **overrides):
    settings = dict(mode=mode, arch=arch, data=str(folder), image_size=size, dim=2, z_dim=8,
                    batch_size=4, n_critic=1, critic_warmup=False, iters=1, sample_every=2,
                    checkpoint_every=3, n_samples=4, ema=0.0, ema_start=0.0)
    return Config(**{**settings, **overrides}).resolved()


def snapshot(module):
    return {name: p.numpy().copy() for name, p in module.named_parameters()}


def read_log(run_dir):
    with open(run_dir / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------------------------
# one iteration of each mode


def one_iteration(config):
    images, _ = load_training_data(config)
    assert images.shape[1:] == (3, config.image_size, config.image_size)
    trainer = Trainer(config, images)
    before = {"generator": snapshot(trainer.generator), "critic": snapshot(trainer.critic)}
    numbers = trainer.step()
    assert trainer.iteration == 1
    assert all(np.isfinite(v) for v in numbers.values())
    for name, net in (("generator", trainer.generator), ("critic", trainer.critic)):
        after = snapshot(net)
        weights = [k for k, v in before[name].items() if v.ndim >= 2]
        moved = [k for k in weights if not np.array_equal(before[name][k], after[k])]
        assert moved == weights, f"{config.arch} {config.mode}: {name} unchanged"
    assert trainer.samples().shape == (4, 3, config.image_size, config.image_size)
    return numbers


@pytest.mark.parametrize("mode", modes.NAMES)
def test_one_iteration_of_each_mode_with_dcgan64_on_64x64_rgb(shapes, mode):
    numbers = one_iteration(tiny(mode, shapes, "dcgan64", bias=mode != "wgan"))
    assert ("gradient_penalty" in numbers) == (mode == "wgan-gp")


@pytest.mark.parametrize("arch", PAIRS_AT_32)
@pytest.mark.parametrize("mode", modes.NAMES)
def test_one_iteration_of_each_mode_at_32x32_rgb(shapes, mode, arch):
    one_iteration(tiny(mode, shapes, arch, size=32))


def test_the_pairs_that_draw_32_pixels():
    assert PAIRS_AT_32 == ["gp", "dcgan", "upsample", "mlp"]


def test_the_training_data_is_the_folder_in_the_generators_range(shapes):
    config = tiny("wgan", shapes, "dcgan64")
    images, (unit, labels) = load_training_data(config)
    assert len(images) == len(unit) == 12 and sorted(set(labels.tolist())) == list(SHAPES)
    x, u = np.asarray(images), np.asarray(unit)
    np.testing.assert_allclose(x, u * 2 - 1, atol=1e-6)  # dcgan64 draws in [-1, 1]
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0.2
    selected, _ = load_training_data(tiny("wgan", shapes, "dcgan64", classes=["squares"]))
    np.testing.assert_array_equal(np.asarray(selected), x[labels == "squares"])


# ---------------------------------------------------------------------------------------------
# resuming, sample, the GIF


def test_an_rgb_run_resumes_bit_for_bit(tmp_path, shapes):
    """Straight to iteration 6 == to 3, then resumed to 6: the same log and checkpoint,
    exactly, with the data read from the folder's cache both times."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    settings = dict(n_critic=2, checkpoint_every=2)
    train(tiny("wgan-gp", shapes, "dcgan64", iters=6, out=str(straight), **settings), say=quiet)
    train(tiny("wgan-gp", shapes, "dcgan64", iters=3, out=str(split), **settings), say=quiet)
    train(tiny("wgan-gp", shapes, "dcgan64", iters=6, out=str(split), **settings), resume=True,
          say=quiet)
    a, b = read_log(straight), read_log(split)
    assert [r["iteration"] for r in b] == [str(i) for i in range(1, 7)]
    losses = ("critic_loss", "wasserstein", "gradient_penalty", "generator_loss")
    assert [[r[c] for c in losses] for r in a] == [[r[c] for c in losses] for r in b]
    assert a[0]["critic_loss"] != a[-1]["critic_loss"]
    assert_same_state(mg.load(straight / "checkpoint.npz"), mg.load(split / "checkpoint.npz"),
                      rtol=0, atol=0)
    assert (straight / "samples" / "iter_000006.png").read_bytes() == \
        (split / "samples" / "iter_000006.png").read_bytes()


def test_an_rgb_dcgan64_run_on_the_device_equals_the_host_run(tmp_path, shapes, cuda):
    """The data comes from the memory-mapped cache as float32 batches either way; on the
    CuPy stand-in (NumPy underneath) the two runs are the same bit for bit."""
    host, device = tmp_path / "host", tmp_path / "device"
    train(tiny("wgan-gp", shapes, "dcgan64", iters=2, out=str(host)), say=quiet)
    train(tiny("wgan-gp", shapes, "dcgan64", iters=2, out=str(device), device=cuda), say=quiet)
    assert_same_state(mg.load(host / "checkpoint.npz"), mg.load(device / "checkpoint.npz"),
                      rtol=0, atol=0)


@pytest.fixture
def rgb_run(tmp_path, unlabelled):
    run = tmp_path / "run"
    assert cli.main(["--data-dir", str(unlabelled), "--arch", "dcgan64", "--dim", "2",
                     "--z-dim", "8", "--batch-size", "4", "--n-critic", "1", "--iters", "4",
                     "--sample-every", "2", "--out", str(run), "--no-bias"]) == 0
    return run


def test_sample_npz_and_png_of_an_rgb_run(rgb_run, tmp_path):
    assert cli.main(["sample", "--run", str(rgb_run), "--n", "5",
                     "--out", str(tmp_path / "s.npz")]) == 0
    x = np.load(tmp_path / "s.npz")["x"]
    assert x.shape == (5, 3, 64, 64) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1 and x.std() > 0
    assert not np.array_equal(x[:, 0], x[:, 1])  # colour, not grey in three channels
    assert cli.main(["sample", "--run", str(rgb_run), "--n", "5",
                     "--out", str(tmp_path / "s.png")]) == 0
    with Image.open(tmp_path / "s.png") as picture:
        assert picture.mode == "RGB"
        assert picture.size == (2 * (3 * 66 + 2), 2 * (2 * 66 + 2))  # 3 x 2 tiles, doubled
    config = RunFolder(rgb_run).read_config()
    assert (config.image_size, config.channels, config.bias) == (64, 3, False)


def test_sample_of_a_grey_run_is_n_x_h_x_w(tmp_path, unlabelled):
    run = tmp_path / "grey"
    assert cli.main(["--data-dir", str(unlabelled), "--arch", "dcgan", "--image-size", "32",
                     "--channels", "1", "--dim", "2", "--z-dim", "8", "--batch-size", "4",
                     "--n-critic", "1", "--iters", "1", "--out", str(run)]) == 0
    assert cli.main(["sample", "--run", str(run), "--n", "3",
                     "--out", str(tmp_path / "g.npz")]) == 0
    assert np.load(tmp_path / "g.npz")["x"].shape == (3, 32, 32)


def test_the_sample_grids_and_the_gif_are_in_colour(rgb_run):
    grids = sorted((rgb_run / "samples").glob("iter_*.png"))
    assert [p.name for p in grids] == ["iter_000000.png", "iter_000002.png", "iter_000004.png"]
    for path in grids:
        with Image.open(path) as picture:
            assert picture.mode == "RGB"
    with Image.open(rgb_run / "progress.gif") as gif:
        assert gif.n_frames == 3
        frame = np.asarray(gif.convert("RGB"))
    rgb = frame.reshape(-1, 3).astype(int)
    assert (np.abs(rgb[:, 0] - rgb[:, 1]) + np.abs(rgb[:, 1] - rgb[:, 2])).max() > 0


def test_grid_tiles_rgb_images():
    images = np.zeros((5, 3, 4, 6), np.float32)
    images[:, 0] = 1.0  # red
    images[4, :] = 0.0  # the fifth is black
    picture = plots.grid(images, (0.0, 1.0), columns=3, pad=1)
    assert picture.shape == (2 * 5 + 1, 3 * 7 + 1, 3) and picture.dtype == np.uint8
    assert picture[1:5, 1:7].tolist() == [[[255, 0, 0]] * 6] * 4
    assert (picture[6:10, 8:14] == 0).all()  # the fifth, second row, second column
    assert (picture[0] == 255).all() and (picture[6:10, 15:21] == 255).all()  # pad and empty
    grey = plots.grid(images[:, :1], (0.0, 1.0), columns=3, pad=1)
    assert grey.shape == (11, 22)


# ---------------------------------------------------------------------------------------------
# evaluating with and without labels


def test_every_on_an_unlabelled_folder_is_refused_saying_why(tmp_path, unlabelled, capsys):
    code = cli.main(["--data-dir", str(unlabelled), "--arch", "dcgan64", "--dim", "2",
                     "--batch-size", "4", "--iters", "2", "--every", "1",
                     "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    assert "has no labels" in err and "FID" in err and "feature network" in err
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


def test_evaluate_an_unlabelled_run_reports_pixel_statistics(rgb_run, capsys):
    assert cli.main(["evaluate", "--run", str(rgb_run), "--n", "6"]) == 0
    out = capsys.readouterr().out
    assert "has no labels" in out and "no FID" in out
    assert "real images" in out and "generated" in out
    real = next(line for line in out.splitlines() if line.startswith("real images"))
    assert "6 images" in real and real.count(".") >= 6  # three means, three deviations
    assert "FID  " not in out


def test_evaluate_a_labelled_rgb_run_trains_a_classifier_for_its_shape(tmp_path, shapes,
                                                                       capsys):
    run = tmp_path / "labelled"
    assert cli.main(["--data-dir", str(shapes), "--arch", "mlp", "--image-size", "16",
                     "--dim", "2", "--z-dim", "8", "--batch-size", "4", "--n-critic", "1",
                     "--iters", "2", "--every", "2", "--eval-samples", "6",
                     "--out", str(run)]) == 0
    rows = read_log(run)
    assert rows[-1]["fid"] != "" and float(rows[-1]["fid"]) >= 0
    assert cli.main(["evaluate", "--run", str(run), "--n", "6"]) == 0
    out = capsys.readouterr().out
    assert "FID " in out and "classes covered" in out
    assert "circles:" in out and "squares:" in out  # the classes by name
    assert "1 to 2" in out  # two classes


def test_an_image_folder_run_refuses_the_wrong_architecture_before_writing(tmp_path, shapes,
                                                                            capsys):
    assert cli.main(["--data-dir", str(shapes), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "--arch gp" in err and "--image-size" in err and "dcgan64" in err
    assert not (tmp_path / "run").exists()
    with pytest.raises(SettingError):
        tiny("wgan", shapes, "upsample", size=64)
