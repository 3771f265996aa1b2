"""The training loop: a run folder, a Trainer, and what happens around each iteration.

``train(config)`` starts (or with ``resume=True`` continues) the run in ``config.out``:
it takes the folder's lock, writes config.json, loads the data once, and then, iteration by
iteration, logs the losses, shows progress, saves sample grids and checkpoints, and with
``eval_every`` measures sample quality. Ctrl-C or SIGTERM (what ``kill`` and schedulers send)
stop it after the current iteration with a checkpoint; a second Ctrl-C interrupts at once. A
non-finite loss or state stops it with the last good checkpoint kept.

Under mpiexec (``group``, from ``minigrad.distributed.session()``) the run is data-parallel:
every rank trains its share of each batch, and rank 0 alone owns the run folder.
"""
import dataclasses
import math
import os
import signal
import time
from pathlib import Path

from . import data, metrics, models, pixels, plots, report
from .progress import Progress, TensorBoard
from .run_folder import NonFiniteState, RunFolder, load_error
from .trainer import Trainer, TrainingDiverged


def default_run_dir(config):
    return os.path.join("runs", f"{config.mode}-{time.strftime('%Y%m%d-%H%M%S')}")


class _StopRequest:
    """The first Ctrl-C (or SIGTERM) asks the loop to stop after the current iteration; a
    second Ctrl-C interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = None  # the name of the signal that asked

    def __enter__(self):
        self.previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, handler)


def load_training_data(config):
    """(training images in the generator's pixel range, the data in [0, 1] with its labels
    for the evaluator): the data is read once."""
    unit, labels = data.load_dataset(config.data, image_size=config.image_size,
                                     channels=config.channels)
    images = unit if config.classes is None else \
        data.keep_classes(unit, labels, config.classes, config.data)[0]
    return pixels.from_unit(images, models.pixel_range(config.arch)), (unit, labels)


def train(config, resume=False, images=None, say=print, evaluator=None, group=None):
    """Run (or resume) training; returns the run folder's path. ``images`` overrides the data.

    With ``config.eval_every`` > 0, sample quality is measured before training and every
    ``eval_every`` iterations (``evaluator``, default: the evaluator of the run's data) and
    logged; the evaluation draws its noise from its own generator and leaves the models as
    they were, so the run itself is unchanged.

    With ``group`` (a ``minigrad.distributed.ProcessGroup``, guarded by the caller so that a
    failure on any rank stops them all) every rank trains its share of each batch as one
    process would train the whole batch. Rank 0 alone takes the folder's lock, reads and
    writes its files, evaluates and reports; it loads the data first (a download happens
    once) and then hands the settings and the checkpoint to the other ranks."""
    config = config.resolved()
    if group is not None and config.device == "cuda":
        group.select_gpu()
    if group is not None and group.rank != 0:
        return _follow(config, images, group)
    run = RunFolder(config.out or default_run_dir(config))
    config = dataclasses.replace(config, out=str(run.path))
    run.check_is_folder()
    run.lock()
    try:
        run.remove_temporaries()
        config, state = run.begin(config, resume, say)
        labelled = None
        if images is None:
            images, labelled = load_training_data(config)
        if group is not None:
            group.broadcast((config, state))
        trainer = Trainer(config, images, group)
        if state is not None:
            try:
                trainer.load_state_dict(state)
            except (KeyError, TypeError, ValueError, RuntimeError) as e:
                raise load_error(run.checkpoint_path, e) from None
            say(f"resuming {run} at iteration {trainer.iteration}")
        if resume:
            saved = run.read_config()
            run.write_config(config)  # the resumed run's settings, once its checkpoint fits
            if config.iters != saved.iters:
                say(f"the run's length changes from {saved.iters} to {config.iters} "
                    "iterations (recorded in config.json)")
        say(f"training {config.mode} ({config.arch}, dim {config.dim}) on {len(images)} images "
            f"for {config.iters} generator iterations; outputs in {run}/")
        if group is not None:
            say(group.describe(config.device))
        if config.eval_every and evaluator is None:
            unit, labels = labelled or data.load_dataset(
                config.data, image_size=config.image_size, channels=config.channels)
            evaluator = metrics.Evaluator.for_images(unit, labels, config.data, config.classes,
                                                     n_samples=config.eval_samples, say=say)
        _loop(config, run, trainer, evaluator, say, group)
    finally:
        run.unlock()
    return run.path


def _follow(config, images, group):
    """A rank other than 0 of a data-parallel run: the settings and the checkpoint come from
    rank 0; this rank trains its share of each batch in step with it and writes nothing."""
    config, state = group.broadcast()
    if images is None:
        images, _ = load_training_data(config)
    trainer = Trainer(config, images, group)
    if state is not None:
        trainer.load_state_dict(state)
    _loop(config, None, trainer, None, lambda *args, **kwargs: None, group)
    return Path(config.out)


def _loop(config, run, trainer, evaluator, say, group=None):
    """The iterations, and what is written around them. ``run`` is None on the ranks other
    than 0 of a data-parallel run (``group``), which write nothing; every rank stops at the
    same iteration, by one clock (the slowest rank's), and a stop request on any rank stops
    them all."""
    pixel_range = models.pixel_range(config.arch)
    writes = run is not None
    log = run.open_log(run.log_columns(config), keep_until=trainer.iteration) if writes else None
    board = (TensorBoard(run.tensorboard_dir, trainer.iteration)
             if writes and config.tensorboard else None)
    progress = Progress(trainer.iteration, config.iters) if writes else None
    saved_at = trainer.iteration if writes and run.has_checkpoint() else None

    def record(row):
        if not writes:
            return
        log.write(row)
        if board is not None:
            board.scalars(row["iteration"], {k: v for k, v in row.items()
                                             if k not in ("iteration", "wall_time")})

    def evaluate():
        """The metrics for the log; none (empty cells), and a line saying why, when the
        samples are not finite: a measurement never ends the run (a diverged run ends at
        its next step, or when its state is saved)."""
        try:
            results = evaluator.evaluate_generator(trainer.sampling_generator, config.z_dim,
                                                   pixel_range, n=config.eval_samples,
                                                   seed=config.seed, device=config.device)
        except metrics.UndefinedMetrics as e:
            say(f"iteration {trainer.iteration}: not measured: {e}")
            return {}
        return {k: results[k] for k in metrics.METRIC_COLUMNS}

    def save_samples():
        if not writes:
            return
        picture = plots.grid(trainer.samples(), pixel_range)
        plots.save_png(picture, run.sample_path(trainer.iteration))
        if board is not None:
            board.image(trainer.iteration, picture)

    def save_checkpoint():
        nonlocal saved_at
        if not writes:
            return
        try:
            run.save_checkpoint(trainer.state_dict())
        except NonFiniteState as e:
            raise TrainingDiverged(f"iteration {trainer.iteration}: {e}; the run has "
                                   "diverged") from None
        saved_at = trainer.iteration

    def agreed_stop(stop):
        """The signal that asked to stop, or None; with a group, the same answer on every
        rank (one Allreduce, which also gives every rank the slowest rank's clock)."""
        if group is None:
            return stop.requested
        trainer.elapsed, anyone = group.maximum(trainer.elapsed, stop.requested is not None)
        return stop.requested or ("a signal to another process" if anyone else None)

    try:
        with _StopRequest() as stop:
            shown = {}  # the latest numbers on the progress line, FID until the next evaluation
            if trainer.iteration == 0:
                save_samples()
                if config.eval_every and writes:
                    row = {"iteration": 0, "wall_time": 0.0, **evaluate()}
                    shown["fid"] = row.get("fid", math.nan)
                    record(row)
            seconds = config.time_limit * 60 or float("inf")
            asked = agreed_stop(stop)
            while trainer.iteration < config.iters and trainer.elapsed < seconds and not asked:
                started = time.perf_counter()
                numbers = trainer.step()
                trainer.elapsed += time.perf_counter() - started
                asked = agreed_stop(stop)
                row = {"iteration": trainer.iteration, "wall_time": trainer.elapsed, **numbers}
                if config.eval_every and trainer.iteration % config.eval_every == 0 and writes:
                    row.update(evaluate())
                    shown["fid"] = row.get("fid", math.nan)
                record(row)
                shown.update({k: numbers[k] for k in ("critic_loss", "wasserstein")
                              if k in numbers})
                if progress is not None:
                    progress.update(trainer.iteration, shown)
                if trainer.iteration % config.sample_every == 0:
                    save_samples()
                if trainer.iteration % config.checkpoint_every == 0:
                    save_checkpoint()
            if progress is not None:
                progress.close()
            if asked:
                save_checkpoint()
                say(f"stopped by {asked} at iteration {trainer.iteration}; checkpoint "
                    f"saved. Continue with --resume --out {run}")
                return
        if trainer.iteration < config.iters:
            say(f"time limit of {config.time_limit:g} minutes reached at iteration "
                f"{trainer.iteration}")
        if trainer.iteration % config.sample_every:
            save_samples()
        save_checkpoint()
    except TrainingDiverged as e:
        if not writes:
            raise
        progress.close()
        kept = (f"the last good checkpoint, at iteration {saved_at}, is kept in "
                f"{run.checkpoint_path}" if saved_at is not None
                else "no checkpoint had been written yet")
        raise TrainingDiverged(f"{e}; {kept}") from None
    finally:
        if log is not None:
            log.close()
        if board is not None:
            board.close()
    if writes:
        say(f"done: {trainer.iteration} iterations in {trainer.elapsed:.0f} s. Samples: "
            f"{run.samples_dir}/, loss plot: {run.losses_plot}, animation: {run.gif}")
        report.finish(run, say)
