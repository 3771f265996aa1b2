"""A run's length as a time budget (issue 28): the schedules follow the fraction of the budget
spent, a run stopped before its end resumes exactly, the augmentation of the critic's inputs
inside the trainer, the bare command's defaults in config.json, and --processes."""
import json

import numpy as np
import pytest

import minigrad as mg
from devices import assert_same_state
from tiny_runs import TINY_ARGS, tiny_config
from wgan import augment, cli
from wgan.config import Config, SettingError
from wgan.run_folder import RunFolder
from wgan.train import train
from wgan.trainer import Trainer

pytestmark = pytest.mark.cpu_only("wgan tests run on the CPU")


def quiet(*args, **kwargs):
    pass


def images(n=40):
    return np.random.default_rng(0).uniform(0, 1, (n, 1, 28, 28)).astype(np.float32)


@pytest.fixture
def step_seconds(monkeypatch):
    """Every training step takes the returned list's first entry in seconds (a fake clock that
    moves on by that much at each reading: a step reads it at its start and at its end)."""
    seconds = [3.0]
    now = [0.0]

    def clock():
        now[0] += seconds[0]
        return now[0]
    monkeypatch.setattr(Trainer, "clock", staticmethod(clock))
    return seconds


def budget_run(**overrides):
    """A tiny run of a 30-second budget, with no iteration limit."""
    return tiny_config(**{"iters": 0, "time_limit": 0.5, **overrides}).resolved()


def train_to_the_end(trainer):
    """Step until the budget is spent; the (generator, critic) learning rates of each step."""
    rates = []
    while not trainer.finished():
        trainer.step()
        rates.append((trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]))
    return rates


def test_the_budget_sets_the_length_and_the_schedules_follow_its_fraction(step_seconds):
    config = budget_run(lr=1e-3, critic_lr=4e-3, lr_decay="linear", lr_decay_start=0.5,
                        ema=0.9, ema_start=0.6)
    trainer = Trainer(config, images())
    rates = train_to_the_end(trainer)
    assert trainer.iteration == 10 and trainer.elapsed == pytest.approx(30.0)
    # step k starts at the fraction k / 10: constant until 0.5, then (1 - f) / (1 - 0.5)
    factors = [1.0 if k <= 5 else (1 - k / 10) / 0.5 for k in range(10)]
    np.testing.assert_allclose(rates, [(1e-3 * f, 4e-3 * f) for f in factors], rtol=1e-12)
    # the average starts at the step that begins at 0.6: steps 6, 7, 8, 9
    assert int(trainer.averaged.n_averaged.item()) == 4


def test_a_faster_machine_trains_more_iterations_of_the_same_schedule(step_seconds):
    config = budget_run(lr=1e-3, critic_lr=4e-3, lr_decay="linear", lr_decay_start=0.5)
    slow = train_to_the_end(Trainer(config, images()))
    step_seconds[0] = 1.5
    fast = train_to_the_end(Trainer(config, images()))
    assert (len(slow), len(fast)) == (10, 20)
    assert fast[::2] == slow  # the same rates at the same fractions of the budget


def test_iters_alone_gives_exactly_that_many_iterations_whatever_the_clock(step_seconds):
    step_seconds[0] = 1000.0  # far beyond the bare command's budget
    config = Config(**{**tiny_config().__dict__, "time_limit": None, "iters": 3}).resolved()
    assert config.time_limit == 0.0
    trainer = Trainer(config, images())
    train_to_the_end(trainer)
    assert trainer.iteration == 3


def test_a_run_stopped_inside_its_budget_resumes_exactly(step_seconds, tmp_path):
    config = budget_run(lr_decay="linear", lr_decay_start=0.3, ema=0.9, ema_start=0.4,
                        augment="translation,cutout")
    straight = Trainer(config, images())
    train_to_the_end(straight)
    first = Trainer(config, images())
    for _ in range(4):
        first.step()
    mg.save(first.state_dict(), tmp_path / "checkpoint.npz")  # as a run writes it
    resumed = Trainer(config, images())
    resumed.load_state_dict(mg.load(tmp_path / "checkpoint.npz"))
    train_to_the_end(resumed)
    assert resumed.iteration == straight.iteration == 10
    assert_same_state(straight.state_dict(), resumed.state_dict(), rtol=0, atol=0)


def test_a_run_that_spent_its_budget_continues_with_a_larger_one(step_seconds, tmp_path):
    folder = tmp_path / "run"
    messages = []
    train(tiny_config(iters=0, time_limit=0.1, out=str(folder)), images=images(),
          say=messages.append)  # 6 s: two steps of 3 s
    assert int(mg.load(folder / "checkpoint.npz")["iteration"]) == 2
    assert any("0.1 minutes of training (the time budget)" in m for m in messages)
    train(tiny_config(iters=0, time_limit=0.2, out=str(folder)), resume=True, images=images(),
          say=messages.append)
    state = mg.load(folder / "checkpoint.npz")
    assert int(state["iteration"]) == 4 and float(state["elapsed"]) == pytest.approx(12.0)
    assert list(RunFolder(folder).read_log()["iteration"]) == [1, 2, 3, 4]
    assert any("changes from 0.1 minutes" in m and "to 0.2 minutes" in m for m in messages)


def test_a_budget_run_measures_quality_at_each_tenth_of_its_budget(step_seconds, tmp_path,
                                                                   monkeypatch):
    class Evaluator:
        def evaluate_generator(self, *args, **kwargs):
            return {"fid": 1.0, "classifier_score": 2.0, "classes_covered": 3,
                    "kl_uniform": 0.5}
    step_seconds[0] = 2.5  # 30 s: 12 steps, step k ending at the fraction k / 12
    folder = tmp_path / "run"
    config = tiny_config(iters=0, time_limit=0.5, eval_every=None, out=str(folder))
    assert config.resolved().eval_every is None
    train(config, images=images(), say=quiet, evaluator=Evaluator())
    log = RunFolder(folder).read_log()
    measured = [int(i) for i, fid in zip(log["iteration"], log["fid"]) if np.isfinite(fid)]
    # before training, then at the first step into each new tenth: floor(10 k / 12) is
    # 0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10 for k = 1..12 (step 1 stays in the first tenth,
    # step 7 in the sixth)
    assert measured == [0, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12]


def test_augmentation_is_applied_to_real_fake_and_the_generators_fake_alike(monkeypatch):
    seen = []
    original = augment.apply

    def spy(x, draw, fill=0.0):
        seen.append((x.shape, len(draw.shifts), len(draw.boxes), fill))
        return original(x, draw, fill)
    monkeypatch.setattr(augment, "apply", spy)
    config = tiny_config(augment="translation,cutout", n_critic=1).resolved()
    trainer = Trainer(config, images())
    numbers = trainer.step()
    assert all(np.isfinite(v) for v in numbers.values())
    # the critic step's real and fake batches, then the generator step's fake batch: the same
    # policy, a draw per image, the background (0 for the gp generator's [0, 1]) as fill
    assert seen == [((8, 1, 28, 28), 8, 8, 0.0)] * 3


def test_augmentation_reaches_the_penalty_and_changes_the_training():
    plain = Trainer(tiny_config(n_critic=1).resolved(), images())
    augmented = Trainer(tiny_config(n_critic=1, augment="translation").resolved(), images())
    a, b = plain.step(), augmented.step()
    assert a["critic_loss"] != b["critic_loss"]
    assert a["gradient_penalty"] != b["gradient_penalty"]


def test_the_bare_commands_budget_and_schedules_are_written_to_config_json(tmp_path,
                                                                           monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "train", lambda config, resume=False, group=None:
                        seen.append(config))
    assert cli.main(["--processes", "1"]) == 0
    bare = seen[0].resolved()
    defaults = Config().resolved()
    assert bare == defaults
    assert bare.iters == 0 and bare.time_limit > 0 and bare.eval_every is None
    folder = tmp_path / "run"
    RunFolder(folder).write_config(bare)
    written = json.loads((folder / "config.json").read_text())
    for key in ("iters", "time_limit", "ema", "ema_start", "lr_decay", "lr_decay_start",
                "augment"):
        assert written[key] == getattr(defaults, key), key
    assert RunFolder(folder).read_config() == bare


@pytest.mark.parametrize("settings, flag", [
    (dict(iters=0, time_limit=0.0), "--iters"),
    (dict(ema_start=1.0), "--ema-start"),
    (dict(lr_decay_start=-0.1), "--lr-decay-start"),
    (dict(augment="rotation"), "--augment"),
    (dict(time_limit=-1.0), "--time-limit"),
])
def test_budget_settings_that_cannot_work_name_their_flag(settings, flag):
    with pytest.raises(SettingError, match=flag):
        tiny_config(**settings).resolved()


# ---- --processes ----

def test_processes_auto_uses_both_cores_where_mpi_is_installed(monkeypatch):
    monkeypatch.setattr(cli.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(cli.distributed, "local_launcher", lambda: "/bin/mpiexec")
    bare = Config().resolved()
    assert cli.processes_for(bare, "auto", say=quiet) == 2
    assert cli.processes_for(Config(batch_size=63).resolved(), "auto", say=quiet) == 1
    assert cli.processes_for(Config(device="cuda").resolved(), "auto", say=quiet) == 1
    monkeypatch.setattr(cli.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert cli.processes_for(bare, "auto", say=quiet) == 1


def test_processes_fall_back_to_one_without_mpi_and_say_so(monkeypatch):
    monkeypatch.setattr(cli.distributed, "local_launcher", lambda: None)
    said = []
    assert cli.processes_for(Config().resolved(), 2, say=said.append) == 1
    assert "mpi4py" in said[0] and "[dist]" in said[0]


def test_processes_that_do_not_divide_the_batch_name_the_flag(monkeypatch):
    monkeypatch.setattr(cli.distributed, "local_launcher", lambda: "/bin/mpiexec")
    with pytest.raises(SettingError, match="--batch-size 64 does not divide by the 3"):
        cli.processes_for(Config().resolved(), 3, say=quiet)


def test_the_command_relaunches_itself_under_mpiexec(monkeypatch, tmp_path):
    launched = []
    monkeypatch.setattr(cli.distributed, "local_launcher", lambda: "/bin/mpiexec")
    monkeypatch.setattr(cli.distributed, "relaunch", lambda n, module, argv:
                        launched.append((n, module, argv)) or cli.sys.exit(0))
    argv = ["train", "--processes", "2", *TINY_ARGS, "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert launched == [(2, "wgan", argv)]
    assert not (tmp_path / "run").exists()  # the ranks, not the launcher, make the run


def test_a_bad_processes_default_in_the_environment_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv(cli.PROCESSES_ENV, "two")
    assert cli.main(["--iters", "1", *TINY_ARGS]) == 2
    assert "$MINIGRAD_WGAN_PROCESSES must be auto or a whole number" in capsys.readouterr().err


def test_sample_and_evaluate_use_the_generator_until_the_average_has_started():
    from wgan.trainer import sampling_weights
    config = tiny_config(ema=0.9, ema_start=0.5, iters=4).resolved()
    trainer = Trainer(config, images())
    trainer.step()  # the fraction 0 < 0.5: no average yet
    state = trainer.state_dict()
    assert int(state["averaged_generator"]["n_averaged"].item()) == 0
    assert sampling_weights(state) is state["generator"]
    trainer.step(), trainer.step()  # 0.25, then 0.5: the average starts
    state = trainer.state_dict()
    assert int(state["averaged_generator"]["n_averaged"].item()) == 1
    assert sampling_weights(state) is not state["generator"]


def test_a_budget_run_that_lost_its_work_before_its_first_checkpoint_starts_again(
        step_seconds, tmp_path):
    folder = tmp_path / "run"
    config = tiny_config(iters=0, time_limit=0.1, checkpoint_every=500, out=str(folder))
    train(config, images=images(), say=quiet)  # two steps, then the final checkpoint
    (folder / "checkpoint.npz").unlink()  # as if killed before it: rows 1 and 2, no checkpoint
    messages = []
    train(config, images=images(), say=messages.append)
    assert any("never saved a checkpoint" in m for m in messages)
    assert list(RunFolder(folder).read_log()["iteration"]) == [1, 2]


def test_a_time_budget_alone_sets_no_iteration_limit_in_any_mode():
    for mode in ("wgan-gp", "wgan", "gan"):
        assert Config(mode=mode, time_limit=5.0).resolved().iters == 0
    assert Config(mode="gan").resolved().iters == 2500  # the mode's own length otherwise
    both = Config(mode="gan", iters=100, time_limit=5.0).resolved()
    assert (both.iters, both.time_limit) == (100, 5.0)
