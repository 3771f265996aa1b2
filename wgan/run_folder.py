"""The run folder: the one place that knows its layout, and how each file is written safely.

    config.json         the run's settings (wgan.config)
    checkpoint.npz      models, optimizers, random state, data position (mg.save: atomic)
    log.csv             one row per generator iteration (and evaluation columns with --every)
    samples/iter_NNNNNN.png   the fixed-noise sample grids
    losses.png, progress.gif, wasserstein_fid.png   pictures drawn from the above
    tensorboard/        TensorBoard events (with --tensorboard)
    .lock               held by the process training in the folder

What a kill at any moment leaves: config.json, log.csv and the checkpoint are each replaced
by an atomic rename, so every file is either the old one or the new one; log.csv is rewritten
only when a run resumes (to drop the rows after its checkpoint) and appended to otherwise, so
at every instant it holds every row up to the last checkpoint. A checkpoint is written only
from finite state. The lock (an flock, which the system releases when its process dies, so a
stale lock is simply taken over) keeps a second process out of a folder in use.
"""
import csv
import math
import os
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.serialization import CheckpointError

from . import config as configs
from .atomic import write_atomically
from .metrics import METRIC_COLUMNS

LOSS_COLUMNS = ("iteration", "wall_time", "critic_loss", "wasserstein", "gradient_penalty",
                "generator_loss")


class RunFolderInUse(RuntimeError):
    """The folder holds another run, or another process is training in it."""


class NonFiniteState(RuntimeError):
    """A checkpoint was asked for while some array of the state holds NaN or infinity."""


class RunFolder:
    def __init__(self, path):
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.checkpoint_path = self.path / "checkpoint.npz"
        self.log_path = self.path / "log.csv"
        self.samples_dir = self.path / "samples"
        self.losses_plot = self.path / "losses.png"
        self.gif = self.path / "progress.gif"
        self.wasserstein_fid_plot = self.path / "wasserstein_fid.png"
        self.tensorboard_dir = self.path / "tensorboard"
        self.lock_path = self.path / ".lock"
        self._lock_file = None

    def __str__(self):
        return str(self.path)

    # ---- what is there ----
    def has_config(self):
        return self.config_path.is_file()

    def has_checkpoint(self):
        return self.checkpoint_path.is_file()

    def check_is_folder(self):
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderInUse(f"{self.path} is a file, not a run folder")

    # ---- the lock ----
    def lock(self):
        """Hold the folder's lock until ``unlock``; refused, naming the holder's PID, while
        another living process holds it."""
        import fcntl  # POSIX; the lock is what keeps two processes out of one folder

        self.path.mkdir(parents=True, exist_ok=True)
        f = open(self.lock_path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise RunFolderInUse(f"{self.path} is in use by process {holder} (it holds "
                                 f"{self.lock_path}); wait for it to finish, or stop it") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._lock_file = f

    def unlock(self):
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None

    def remove_temporaries(self):
        """Delete what an interrupted atomic write left behind (only while holding the lock)."""
        for pattern in (".*.tmp", "samples/.*.tmp"):
            for leftover in self.path.glob(pattern):
                leftover.unlink()

    # ---- starting and resuming ----
    def begin(self, config, resume, say=print):
        """Make the folder ready to train ``config`` (resolved) and return (the config to train
        with, the checkpoint to resume from or None). A fresh run's config.json is written
        here; a resumed run's is left as it was until its checkpoint has loaded
        (``write_config``), so a checkpoint that does not fit changes nothing.

        A fresh run needs a folder without a checkpoint; a folder that holds only the
        settings of a run that never saved one (a failed start, a kill before the first
        checkpoint) is started again. ``resume`` continues the folder's run under the rule
        of ``config.for_resume``, from its checkpoint, or from iteration 0 if it has none.
        Starting again is refused where log.csv shows a checkpoint that is gone.
        """
        self.check_is_folder()
        if not resume:
            if self.has_checkpoint() or (self.log_path.exists() and not self.has_config()):
                raise RunFolderInUse(f"{self.path} already holds a run; pass --resume to "
                                     "continue it, or choose another folder with --out")
            if self.has_config():
                self._check_no_checkpoint_lost()
                say(f"{self.path} holds the settings of a run that never saved a checkpoint: "
                    "starting it again with the settings given now")
            self.write_config(config)
            return config, None
        if not self.has_config():
            raise FileNotFoundError(f"cannot resume: {self.path} holds no run (no "
                                    f"{self.config_path.name})")
        saved = self.read_config()
        config = configs.for_resume(saved, config)
        state = None
        if self.has_checkpoint():
            state = self.load_checkpoint(config.device)
            reached = int(state["iteration"])
            if 0 < config.iters < reached:
                raise configs.SettingError(f"--iters {config.iters} is below the iteration "
                                           f"the run has reached ({reached})")
        else:
            self._check_no_checkpoint_lost()
            say(f"{self.path} has no checkpoint yet: its run starts from iteration 0")
        return config, state

    def _check_no_checkpoint_lost(self):
        """Refuse to start the folder's run again from iteration 0 (which rewrites log.csv)
        when its log shows that the run saved a checkpoint, now gone: it reached its first
        scheduled one (--checkpoint-every) or its end. A run killed before that has nothing
        to lose. (A checkpoint saved early by Ctrl-C or --time-limit leaves no such mark.)"""
        last = max(self.logged_iterations(), default=0)
        if last == 0:
            return
        config = self.read_config()
        first = min(config.checkpoint_every, config.iters or config.checkpoint_every)
        if last >= first:
            raise RunFolderInUse(
                f"{self.checkpoint_path} is missing, but {self.log_path} holds iterations up to "
                f"{last}, past the run's first checkpoint: starting again from iteration 0 "
                "would lose them. Restore the checkpoint to continue with --resume, or start "
                "a new run in another folder (this one is left as it is)")

    # ---- settings ----
    def read_config(self):
        try:
            text = self.config_path.read_text()
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.path} is not a run folder: it has no "
                                    "config.json") from None
        return configs.from_json(text, self.config_path)

    def write_config(self, config):
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(self.config_path, lambda temp: temp.write_text(configs.to_json(config)))

    # ---- checkpoints ----
    def save_checkpoint(self, state):
        """Write ``state`` atomically, after checking that every float array in it is finite."""
        for name, array in _float_arrays(state):
            finite = array.array if isinstance(array, mg.Tensor) else array
            if not bool(mg.backend.xp_of(finite).isfinite(finite).all()):
                raise NonFiniteState(f"{name} holds NaN or infinite values")
        mg.save(state, self.checkpoint_path)

    def load_checkpoint(self, device="cpu"):
        if not self.has_checkpoint():
            raise FileNotFoundError(f"{self.path} has no checkpoint ({self.checkpoint_path})")
        return checked_checkpoint(mg.load(self.checkpoint_path, device=device),
                                  self.checkpoint_path)

    # ---- the log ----
    def log_columns(self, config):
        return LOSS_COLUMNS + (METRIC_COLUMNS if config.evaluates() else ())

    def open_log(self, columns, keep_until):
        """A LogWriter on log.csv holding the rows up to iteration ``keep_until`` (a fresh
        log for 0)."""
        return LogWriter(self.log_path, columns, keep_until)

    def logged_iterations(self):
        """The iterations of log.csv's rows (damaged rows left out); [] without a log."""
        if not self.log_path.is_file():
            return []
        with open(self.log_path, newline="") as f:
            return [i for i in map(_iteration, csv.DictReader(f)) if i != float("inf")]

    def read_log(self):
        """log.csv as {column: float array} (NaN where a row has no value); {} if absent."""
        if not self.log_path.is_file():
            return {}
        with open(self.log_path, newline="") as f:
            rows = list(csv.DictReader(f))
        columns = rows[0].keys() if rows else []
        return {c: np.array([float(r[c]) if r.get(c) not in ("", None) else np.nan
                             for r in rows]) for c in columns}

    # ---- samples ----
    def sample_path(self, iteration):
        return self.samples_dir / f"iter_{iteration:06d}.png"

    def sample_paths(self):
        return sorted(self.samples_dir.glob("iter_*.png"))


# What every checkpoint of a run holds (Trainer.state_dict; later versions add entries).
CHECKPOINT_KEYS = ("iteration", "elapsed", "generator", "critic", "opt_g", "opt_d", "rng",
                   "sampler")


def checked_checkpoint(state, path):
    """``state`` (read from ``path``) if it has the layout of a run's checkpoint: a dict of
    ``CHECKPOINT_KEYS`` whose iteration is a whole number of 0 or more and whose elapsed time
    a finite number of seconds of 0 or more. CheckpointError
    naming the file otherwise; whether its arrays fit the run is for loading them to say."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a run's checkpoint: it holds a "
                              f"{type(state).__name__}, not the dict that training saves")
    missing = [k for k in CHECKPOINT_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path} is not a run's checkpoint: it lacks "
                              f"{', '.join(missing)}")
    iteration = state["iteration"]
    try:
        whole = int(iteration) == iteration and iteration >= 0
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise CheckpointError(f"{path} is not a run's checkpoint: its iteration is "
                              f"{iteration!r}, not a whole number of 0 or more")
    elapsed = state["elapsed"]
    try:
        seconds = float(elapsed)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise CheckpointError(f"{path} is not a run's checkpoint: its elapsed time is "
                              f"{elapsed!r}, not a finite number of seconds of 0 or more")
    return state


def load_error(path, error):
    """A one-line CheckpointError naming ``path``, for ``error`` raised while loading its
    arrays into the run's models and optimizers (shapes of another width, another dtype,
    renamed keys)."""
    lines = [line.strip() for line in str(error).splitlines()]
    detail = lines[0] + " " + "; ".join(line for line in lines[1:] if line)
    return CheckpointError(f"{path} does not fit this run ({type(error).__name__}: "
                           f"{detail.strip()})")


class LogWriter:
    """Appends rows to log.csv. Opening it writes the kept rows (those up to the checkpoint
    being resumed) to a temporary file and renames that over log.csv, so the file on disk
    never loses a row it had before the checkpoint, whenever the process is killed."""

    def __init__(self, path, columns, keep_until):
        self.path, self.columns = Path(path), tuple(columns)
        kept = []
        if keep_until and self.path.exists():
            with open(self.path, newline="") as f:
                kept = [r for r in csv.DictReader(f) if _iteration(r) <= keep_until]
        def write(temp):
            with open(temp, "w", newline="") as f:
                writer = csv.DictWriter(f, self.columns, extrasaction="ignore", restval="")
                writer.writeheader()
                writer.writerows(kept)
        write_atomically(self.path, write)
        self.file = open(self.path, "a", newline="")
        self.writer = csv.DictWriter(self.file, self.columns, extrasaction="ignore", restval="")

    def write(self, row):
        self.writer.writerow({k: (f"{v:.7g}" if isinstance(v, float) else v)
                              for k, v in row.items()})
        self.file.flush()

    def close(self):
        self.file.close()


def _iteration(row):
    try:
        return int(row["iteration"])
    except (KeyError, TypeError, ValueError):
        return float("inf")  # a damaged row is not kept


def _float_arrays(obj, name="state"):
    """(dotted name, array or Tensor) for every floating-point array nested in ``obj``."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _float_arrays(v, f"{name}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _float_arrays(v, f"{name}.{i}")
    elif hasattr(obj, "dtype") and getattr(obj.dtype, "kind", None) == "f":
        yield name, obj
