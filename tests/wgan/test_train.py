"""Tests of wgan.train on tiny models: one iteration of each mode, the critic schedule,
resuming, the run folder, divergence and Ctrl-C.

Every run here uses DIM 4, z of size 8, batches of 8 and small synthetic images passed
through ``images=``, so that a whole training run takes a fraction of a second.
"""
import csv
import json
import signal

import numpy as np
import pytest

import minigrad as mg
from devices import assert_same_state
from tiny_runs import tiny_config
from wgan import models, modes
from wgan.config import Config, SettingError
from wgan.run_folder import RunFolderInUse
from wgan.train import train
from wgan.trainer import Trainer, TrainingDiverged

CHECKPOINT = "checkpoint.npz"

LOSS_COLUMNS = ("critic_loss", "wasserstein", "gradient_penalty", "generator_loss")


def tiny(mode="wgan-gp", **overrides):
    return tiny_config(**{"mode": mode, "critic_warmup": False, "iters": 1, "checkpoint_every": 3,
                          **overrides})


def images_for(arch, n=40, seed=0):
    """Blobs in the generator's pixel range, like digits: dark background, a bright patch."""
    rng = np.random.default_rng(seed)
    unit = np.zeros((n, 1, 28, 28), np.float32)
    for k in range(n):
        top, left = rng.integers(4, 16, size=2)
        unit[k, 0, top:top + 10, left:left + 8] = rng.uniform(0.5, 1.0)
    low, high = models.pixel_range(arch)
    return unit * (high - low) + low


def quiet(*args, **kwargs):
    pass


def snapshot(module):
    return {name: p.numpy().copy() for name, p in module.named_parameters()}


def changed(before, module):
    after = snapshot(module)
    return {name for name in before if not np.array_equal(before[name], after[name])}


def read_log(run_dir):
    with open(run_dir / "log.csv", newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def load_checkpoint(run_dir):
    return mg.load(run_dir / CHECKPOINT)


# ---------------------------------------------------------------------------------------------
# one training iteration of each mode


@pytest.mark.parametrize("mode", modes.NAMES)
def test_one_iteration_changes_both_networks(mode):
    config = tiny(mode, gp_every=1).resolved()  # the penalty on the last critic step too
    trainer = Trainer(config, images_for(config.arch))
    g_before, d_before = snapshot(trainer.generator), snapshot(trainer.critic)
    numbers = trainer.step()
    assert trainer.iteration == 1
    expected = {"critic_loss", "generator_loss"}
    if mode != "gan":
        expected.add("wasserstein")
    if mode == "wgan-gp":
        expected.add("gradient_penalty")
    assert set(numbers) == expected
    assert all(np.isfinite(v) for v in numbers.values())
    if mode != "gan":
        assert numbers["wasserstein"] == -numbers["critic_loss"]
    # every weight matrix / kernel of both networks moved
    for net, before in ((trainer.generator, g_before), (trainer.critic, d_before)):
        moved = changed(before, net)
        weights = {n for n, v in before.items() if v.ndim >= 2}
        assert weights <= moved, f"{mode}: unchanged {sorted(weights - moved)}"
    if mode == "wgan":
        for name, p in trainer.critic.named_parameters():
            assert np.abs(p.numpy()).max() <= config.clip, name
        # the critic learned something beyond being clipped
        assert any(not np.array_equal(p.numpy(), np.clip(d_before[n], -config.clip, config.clip))
                   for n, p in trainer.critic.named_parameters())


@pytest.mark.parametrize("clip", [0.01, 0.003])
def test_wgan_clips_every_critic_parameter_after_every_critic_step(clip):
    config = tiny("wgan", n_critic=3, clip=clip).resolved()
    trainer = Trainer(config, images_for(config.arch))
    assert max(np.abs(p.numpy()).max() for p in trainer.critic.parameters()) > clip
    steps = []
    original = trainer.opt_d.step

    def step():
        # before every critic update but the first, the previous one has been clipped
        steps.append(max(np.abs(p.numpy()).max() for p in trainer.critic.parameters()))
        original()
    trainer.opt_d.step = step
    trainer.step()
    trainer.step()
    assert len(steps) == 6
    assert all(m <= clip for m in steps[1:])
    for name, p in trainer.critic.named_parameters():
        assert np.abs(p.numpy()).max() <= clip, name
    # the clip is the critic's alone: the generator's weights are not clipped
    assert max(np.abs(p.numpy()).max() for p in trainer.generator.parameters()) > clip


@pytest.mark.parametrize("mode", modes.NAMES)
def test_critic_step_leaves_generator_alone_and_generator_step_leaves_critic(mode):
    config = tiny(mode).resolved()
    trainer = Trainer(config, images_for(config.arch))
    g_before, d_before = snapshot(trainer.generator), snapshot(trainer.critic)
    fake = trainer.fakes(keep_graph=True)
    trainer.critic_step(fake)
    assert not changed(g_before, trainer.generator)
    assert changed(d_before, trainer.critic)
    d_before = snapshot(trainer.critic)
    trainer.generator_step(fake)
    assert not changed(d_before, trainer.critic)
    assert changed(g_before, trainer.generator)
    # the critic is trainable again after the generator step
    assert all(p.requires_grad for p in trainer.critic.parameters())
    trainer.critic_step(trainer.fakes())
    assert changed(d_before, trainer.critic)


@pytest.mark.parametrize("mode, generator_norm", [("wgan-gp", "batch"), ("wgan-gp", "none"),
                                                  ("gan", None)])
def test_the_generator_step_from_the_kept_fake_is_a_fresh_forward_pass(mode, generator_norm):
    """The last critic step's fake, kept with its graph, gives the generator step exactly the
    gradient that a new forward pass on the same noise gives after the critic's update."""
    grads = []
    for keep in (True, False):
        trainer = Trainer(tiny(mode, generator_norm=generator_norm).resolved(),
                          images_for("gp" if mode == "wgan-gp" else "dcgan"))
        noise = trainer.noise()
        trainer.noise = lambda: noise
        fake = trainer.fakes(keep_graph=keep)
        trainer.critic_step(fake)
        trainer.generator_step(fake if keep else trainer.generator(noise))
        grads.append([p.grad.numpy() for p in trainer.generator.parameters()])
    kept, fresh = grads
    assert len(kept) == len(fresh) > 0
    for a, b in zip(kept, fresh):
        np.testing.assert_array_equal(a, b)
    assert any(np.abs(a).max() > 0 for a in kept)


def test_gradient_penalty_enters_the_critic_update():
    images = images_for("gp")
    critics = []
    for gp_lambda in (0.0, 10.0):
        trainer = Trainer(tiny("wgan-gp", gp_lambda=gp_lambda).resolved(), images)
        numbers = trainer.critic_step(trainer.fakes())
        critics.append((snapshot(trainer.critic), numbers))
    (d0, n0), (d10, n10) = critics
    # same seed, same batch: the losses agree, the penalty changes the update
    assert n0["critic_loss"] == n10["critic_loss"]
    assert n0["gradient_penalty"] == n10["gradient_penalty"] > 0
    assert any(not np.array_equal(d0[k], d10[k]) for k in d0)


def test_mode_defaults_are_the_ten_minute_recipe_and_the_papers():
    # wgan-gp: the recipe measured for ten minutes on a 2-core CPU (README); --preset paper is
    # the authors' (test_recipe.py)
    gp = Config(mode="wgan-gp").resolved()
    assert (gp.arch, gp.dim, gp.batch_size, gp.n_critic, gp.gp_lambda, gp.gp_every) == \
        ("gp", 24, 64, 1, 10.0, 2)
    assert (gp.optimizer, gp.lr, gp.critic_lr, gp.beta1, gp.beta2) == \
        ("adam", 3e-4, 6e-4, 0.0, 0.9)
    assert (gp.generator_norm, gp.ema, gp.ema_start, gp.lr_decay, gp.augment,
            gp.critic_warmup) == ("batch", 0.999, 0.5, "none", "none", False)
    # a time budget, no iteration limit, quality measured at each tenth of the budget
    assert (gp.iters, gp.time_limit, gp.eval_every) == (0, 8.0, None)
    # the generator step's batch: the last critic step's (wgan-gp, gan), its own (the WGAN
    # authors' code)
    assert [Config(mode=m).resolved().reuse_fake for m in ("wgan-gp", "wgan", "gan")] == \
        [True, False, True]
    w = Config(mode="wgan").resolved()
    assert (w.optimizer, w.lr, w.critic_lr, w.n_critic, w.clip, w.critic_warmup) == \
        ("rmsprop", 5e-5, 5e-5, 5, 0.01, True)
    gan = Config(mode="gan").resolved()
    assert (gan.optimizer, gan.lr, gan.beta1, gan.n_critic) == ("adam", 2e-4, 0.5, 1)
    # overrides win
    assert Config(mode="wgan", lr=1e-3, n_critic=2).resolved().lr == 1e-3
    trainer = Trainer(tiny("wgan").resolved(), images_for("dcgan"))
    assert isinstance(trainer.opt_d, mg.optim.RMSprop)
    trainer = Trainer(tiny("wgan-gp").resolved(), images_for("gp"))
    assert isinstance(trainer.opt_d, mg.optim.Adam) and isinstance(trainer.opt_g, mg.optim.Adam)


def test_gp_mode_refuses_a_batch_norm_critic():
    with pytest.raises(ValueError, match="batch norm"):
        Trainer(tiny("wgan-gp", critic_norm="batch").resolved(), images_for("gp"))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown mode"):
        Config(mode="lsgan").resolved()
    with pytest.raises(ValueError, match="--batch-size"):
        Config(batch_size=0).resolved()


# ---------------------------------------------------------------------------------------------
# the critic schedule


def test_wgan_warmup_schedule():
    trainer = Trainer(tiny("wgan", critic_warmup=None, n_critic=None).resolved(),
                      images_for("dcgan"))
    assert trainer.config.critic_warmup and trainer.config.n_critic == 5
    expected = {0: 100, 1: 100, 24: 100, 25: 5, 26: 5, 100: 5, 499: 5, 500: 100, 501: 5,
                999: 5, 1000: 100, 1500: 100, 2001: 5}
    for iteration, steps in expected.items():
        trainer.iteration = iteration
        assert trainer.critic_steps() == steps, iteration


@pytest.mark.parametrize("mode,n_critic,warmup,expected", [
    ("wgan-gp", None, None, 1), ("wgan-gp", 5, None, 5), ("gan", None, None, 1), ("wgan", 3, False, 3)])
def test_no_warmup_outside_wgan_or_when_disabled(mode, n_critic, warmup, expected):
    config = tiny(mode, n_critic=n_critic, critic_warmup=warmup).resolved()
    trainer = Trainer(config, images_for(config.arch))
    for iteration in (0, 10, 25, 500, 1000):
        trainer.iteration = iteration
        assert trainer.critic_steps() == expected


@pytest.mark.parametrize("reuse_fake", [True, False])
def test_step_runs_the_scheduled_number_of_critic_steps(reuse_fake):
    config = tiny("wgan", critic_warmup=True, n_critic=5, reuse_fake=reuse_fake).resolved()
    trainer = Trainer(config, images_for("dcgan"))
    calls = []
    trainer.fakes = lambda keep_graph=False: calls.append("kept" if keep_graph else "fake")
    trainer.critic_step = lambda fake: calls.append("d") or {"critic_loss": mg.tensor(0.0),
                                                             "wasserstein": mg.tensor(0.0)}
    trainer.generator_step = lambda fake: calls.append("g") or 0.0
    for start, steps in ((0, 100), (24, 100), (25, 5), (500, 100), (501, 5)):
        calls.clear()
        trainer.iteration = start
        trainer.step()
        # a fake batch per critic step; the last one's graph is kept for the generator step,
        # or (reuse_fake=False, the papers' step) the generator step makes a batch of its own
        assert calls == (["fake", "d"] * (steps - 1) + ["kept", "d", "g"] if reuse_fake
                         else ["fake", "d"] * steps + ["kept", "g"]), start
        assert trainer.iteration == start + 1


# ---------------------------------------------------------------------------------------------
# resuming


RESUME_CASES = [("wgan-gp", None), ("wgan", None), ("gan", "upsample")]


@pytest.mark.parametrize("mode,arch", RESUME_CASES)
def test_resume_equals_uninterrupted(tmp_path, mode, arch):
    images = images_for(arch or Config(mode=mode).resolved().arch)
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(tiny(mode, arch=arch, iters=6, out=str(straight)), images=images, say=quiet)
    train(tiny(mode, arch=arch, iters=3, out=str(split)), images=images, say=quiet)
    assert int(load_checkpoint(split)["iteration"]) == 3
    messages = []
    train(tiny(mode, arch=arch, iters=6, out=str(split)), resume=True, images=images,
          say=messages.append)
    assert any("resuming" in m and "3" in m for m in messages)
    columns_a, rows_a = read_log(straight)
    columns_b, rows_b = read_log(split)
    assert columns_a == columns_b
    assert [r["iteration"] for r in rows_b] == [str(i) for i in range(1, 7)]
    for a, b in zip(rows_a, rows_b):
        assert {c: a[c] for c in LOSS_COLUMNS} == {c: b[c] for c in LOSS_COLUMNS}
    assert rows_a[-1]["critic_loss"] != rows_a[0]["critic_loss"]  # the run did something
    assert_same_state(load_checkpoint(straight), load_checkpoint(split))
    assert (straight / "samples" / "iter_000006.png").read_bytes() == \
        (split / "samples" / "iter_000006.png").read_bytes()


def test_resume_needs_a_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        train(tiny(out=str(tmp_path / "nothing")), resume=True, images=images_for("gp"),
              say=quiet)


def test_resume_refuses_settings_that_differ_from_the_saved_config(tmp_path):
    """Settings that shape the training may not change on resume: the refusal names each one,
    and nothing in the folder changes. The length may change, and is recorded."""
    images = images_for("gp")
    run = tmp_path / "run"
    train(tiny(iters=2, out=str(run), lr=3e-4), images=images, say=quiet)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != ".lock"}
    with pytest.raises(SettingError) as info:
        train(tiny(iters=4, out=str(run), lr=1.0, seed=9), resume=True, images=images,
              say=quiet)
    message = str(info.value)
    assert "--lr 1.0" in message and "0.0003" in message and "--seed 9" in message
    assert "--iters" in message  # named among the settings that may change
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != ".lock"}
    assert after == before
    train(tiny(iters=4, out=str(run), lr=3e-4), resume=True, images=images, say=quiet)
    saved = json.loads((run / "config.json").read_text())
    assert saved["lr"] == 3e-4 and saved["seed"] == 0 and saved["iters"] == 4
    straight = tmp_path / "straight"
    train(tiny(iters=4, out=str(straight), lr=3e-4), images=images, say=quiet)
    assert_same_state(load_checkpoint(straight), load_checkpoint(run))


# ---------------------------------------------------------------------------------------------
# the run folder


def test_a_folder_holding_a_run_is_not_overwritten(tmp_path):
    images = images_for("gp")
    run = tmp_path / "run"
    train(tiny(iters=2, out=str(run)), images=images, say=quiet)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    with pytest.raises(RunFolderInUse) as info:
        train(tiny(iters=2, out=str(run), seed=5), images=images, say=quiet)
    message = str(info.value)
    assert str(run) in message
    assert "--resume" in message and "another folder" in message
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before


def test_an_empty_existing_folder_is_fine(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    train(tiny(iters=1, out=str(run)), images=images_for("gp"), say=quiet)
    assert (run / CHECKPOINT).exists()


# ---------------------------------------------------------------------------------------------
# divergence


def _nan_at_call(monkeypatch, name, k):
    """Make wgan-gp's <name> (critic_loss or generator_loss) return NaN on its k-th call."""
    mode = modes.MODES["wgan-gp"]
    original = getattr(mode, name)
    calls = []

    def patched(*args):
        calls.append(1)
        value = original(*args)
        return value * float("nan") if len(calls) == k else value
    monkeypatch.setattr(mode, name, patched)


@pytest.mark.parametrize("quantity,names", [
    ("critic_loss", ("critic loss", "wasserstein")), ("generator_loss", ("generator loss",))])
def test_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
        tmp_path, monkeypatch, quantity, names):
    images = images_for("gp")
    good = tmp_path / "good"
    train(tiny(iters=4, n_critic=1, out=str(good)), images=images, say=quiet)
    # with one critic step per iteration, the k-th call of either loss is iteration k
    run = tmp_path / "run"
    _nan_at_call(monkeypatch, quantity, 5)
    with pytest.raises(TrainingDiverged) as info:
        train(tiny(iters=8, n_critic=1, checkpoint_every=2, out=str(run)), images=images,
              say=quiet)
    message = str(info.value)
    assert "iteration 5" in message
    assert any(name in message for name in names), message
    assert "nan" in message
    state = load_checkpoint(run)
    assert int(state["iteration"]) == 4
    assert_same_state(state, load_checkpoint(good))
    _, rows = read_log(run)
    assert [r["iteration"] for r in rows] == ["1", "2", "3", "4"]
    # the run continues from the kept checkpoint once the cause is gone
    monkeypatch.undo()
    train(tiny(iters=8, n_critic=1, checkpoint_every=2, out=str(run)), resume=True,
          images=images, say=quiet)
    _, rows = read_log(run)
    assert [r["iteration"] for r in rows] == [str(i) for i in range(1, 9)]
    assert all(np.isfinite(float(r[quantity])) for r in rows)


# ---------------------------------------------------------------------------------------------
# Ctrl-C


def _sigint_during_iteration(monkeypatch, k, times=1):
    """Send SIGINT to this process `times` times inside generator iteration k."""
    original = Trainer.step

    def step(self):
        if self.iteration + 1 == k:
            for _ in range(times):
                signal.raise_signal(signal.SIGINT)
        return original(self)
    monkeypatch.setattr(Trainer, "step", step)


def test_ctrl_c_saves_a_checkpoint_and_the_run_resumes_exactly(tmp_path, monkeypatch):
    images = images_for("gp")
    straight = tmp_path / "straight"
    train(tiny(iters=6, out=str(straight), checkpoint_every=5), images=images, say=quiet)
    run = tmp_path / "run"
    handler = signal.getsignal(signal.SIGINT)
    _sigint_during_iteration(monkeypatch, 2)
    messages = []
    train(tiny(iters=6, out=str(run), checkpoint_every=5), images=images, say=messages.append)
    assert signal.getsignal(signal.SIGINT) is handler
    # the iteration under way is finished, then the checkpoint is written
    assert int(load_checkpoint(run)["iteration"]) == 2
    assert any("--resume" in m for m in messages), messages
    _, rows = read_log(run)
    assert [r["iteration"] for r in rows] == ["1", "2"]
    monkeypatch.undo()
    train(tiny(iters=6, out=str(run), checkpoint_every=5), resume=True, images=images,
          say=quiet)
    _, rows_a = read_log(straight)
    _, rows_b = read_log(run)
    assert [{c: r[c] for c in LOSS_COLUMNS} for r in rows_a] == \
        [{c: r[c] for c in LOSS_COLUMNS} for r in rows_b]
    assert_same_state(load_checkpoint(straight), load_checkpoint(run))
    assert (run / "losses.png").exists() and (run / "progress.gif").exists()


def test_second_ctrl_c_interrupts_at_once(tmp_path, monkeypatch):
    handler = signal.getsignal(signal.SIGINT)
    _sigint_during_iteration(monkeypatch, 2, times=2)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(iters=6, out=str(tmp_path / "run")), images=images_for("gp"), say=quiet)
    assert signal.getsignal(signal.SIGINT) is handler


# ---------------------------------------------------------------------------------------------
# the run folder's files


def test_run_folder_contents(tmp_path):
    run = tmp_path / "run"
    train(tiny("wgan", iters=5, sample_every=2, checkpoint_every=2, out=str(run)),
          images=images_for("dcgan"), say=quiet)
    names = sorted(p.name for p in (run / "samples").iterdir())
    # a grid before training, every sample_every iterations, and at the end
    assert names == ["iter_000000.png", "iter_000002.png", "iter_000004.png", "iter_000005.png"]
    columns, rows = read_log(run)
    assert columns == ["iteration", "wall_time", "critic_loss", "wasserstein",
                       "gradient_penalty", "generator_loss"]
    assert [r["iteration"] for r in rows] == ["1", "2", "3", "4", "5"]
    times = [float(r["wall_time"]) for r in rows]
    assert times == sorted(times) and times[0] > 0
    for r in rows:
        assert float(r["wasserstein"]) == -float(r["critic_loss"])
        assert r["gradient_penalty"] == ""  # no penalty in wgan mode
    assert int(load_checkpoint(run)["iteration"]) == 5
    from PIL import Image
    with Image.open(run / "progress.gif") as gif:
        assert gif.n_frames == 4
    with Image.open(run / "losses.png") as png:
        assert png.format == "PNG" and png.width > 100
    assert not list(run.rglob("*.tmp"))


# ---------------------------------------------------------------------------------------------
# the sample grid


def test_sample_grid_tiles_and_scales():
    from wgan import plots
    images = np.full((5, 1, 3, 4), -1.0, np.float32)
    images[3] = 1.0  # fourth image: white, in a (-1, 1) generator's range
    picture = plots.grid(images, (-1.0, 1.0), columns=3, pad=1)
    assert picture.dtype == np.uint8 and picture.shape == (2 * 4 + 1, 3 * 5 + 1)
    # the fourth image is the first of the second row
    assert np.all(picture[5:8, 1:5] == 255)
    assert np.all(picture[1:4, 1:5] == 0) and np.all(picture[5:8, 6:10] == 0)
    assert np.all(picture[0] == 255)  # padding is white


def test_a_wider_generator_trains_and_is_named_with_both_widths(tmp_path):
    messages = []
    train(tiny(iters=2, generator_dim=6, out=str(tmp_path / "run")), images=images_for("gp"),
          say=messages.append)
    assert any("critic dim 4, generator dim 6" in m for m in messages), messages
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["dim"], config["generator_dim"]) == (4, 6)
