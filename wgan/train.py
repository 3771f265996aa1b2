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
import contextlib
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

    Unless ``config.eval_every`` is 0, sample quality is measured before training and every
    ``eval_every`` iterations (None: at each tenth of the time budget) with ``evaluator``
    (default: the evaluator of the run's data) and logged; the evaluation draws its noise from
    its own generator and leaves the models as they were, so the run itself is unchanged.

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
            if (config.iters, config.time_limit) != (saved.iters, saved.time_limit):
                say(f"the run's length changes from {length(saved)} to {length(config)} "
                    "(recorded in config.json)")
        widths = (f"dim {config.dim}" if config.generator_dim == config.dim else
                  f"critic dim {config.dim}, generator dim {config.generator_dim}")
        say(f"training {config.mode} ({config.arch}, {widths}) on {len(images)} images "
            f"for {length(config)}; outputs in {run}/")
        if config.time_limit:
            say(f"the budget counts training steps only; the schedules follow the fraction of "
                f"it spent, so a faster machine trains more iterations (--iters N trains "
                f"exactly N)")
        if group is not None:
            say(group.describe(config.device))
        if config.evaluates() and evaluator is None:
            evaluator = evaluator_for(config, labelled, say)
        _loop(config, run, trainer, evaluator, say, group)
    finally:
        run.unlock()
    return run.path


def evaluator_for(config, labelled=None, say=print):
    """The evaluator of the run's data (``labelled``: the data in [0, 1] and its labels, if
    already read): its classifier comes from the cache, or is trained now and cached."""
    unit, labels = labelled or data.load_dataset(config.data, image_size=config.image_size,
                                                 channels=config.channels)
    return metrics.Evaluator.for_images(unit, labels, config.data, config.classes,
                                        n_samples=config.eval_samples, say=say)


def length(config):
    """A run's length in words: its iterations, its time budget, or both."""
    iters = f"{config.iters} generator iterations"
    minutes = f"{config.time_limit:g} minute" + ("" if config.time_limit == 1 else "s")
    budget = f"{minutes} of training (the time budget)"
    if config.iters and config.time_limit:
        return f"{iters} or {budget}, whichever ends first"
    return iters if config.iters else budget


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
    same iteration, by one clock (``agreed_stop``), and a stop request on any rank stops
    them all."""
    pixel_range = models.pixel_range(config.arch)
    writes = run is not None
    log = run.open_log(run.log_columns(config), keep_until=trainer.iteration) if writes else None
    board = (TensorBoard(run.tensorboard_dir, trainer.iteration)
             if writes and config.tensorboard else None)
    progress = Progress.of_run(trainer, config) if writes else None
    saved_at = trainer.iteration if writes and run.has_checkpoint() else None
    measures = config.evaluates() and writes
    measured_tenth = math.floor(10 * trainer.progress())  # with a time budget: the last one
    spent = {"evaluating": 0.0, "writing": 0.0}  # seconds outside training, for the summary

    @contextlib.contextmanager
    def spending(kind):
        """Adds the time of the block to ``spent[kind]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            spent[kind] += time.perf_counter() - started

    def evaluation_due():
        nonlocal measured_tenth
        if config.eval_every is not None:
            return trainer.iteration % config.eval_every == 0
        tenth = math.floor(10 * trainer.progress())
        if tenth <= measured_tenth:
            return False
        measured_tenth = tenth
        return True

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
            with spending("evaluating"):
                results = evaluator.evaluate_generator(
                    trainer.sampling_generator, config.z_dim, pixel_range,
                    n=config.eval_samples, seed=config.seed, device=config.device)
        except metrics.UndefinedMetrics as e:
            say(f"iteration {trainer.iteration}: not measured: {e}")
            return {}
        return {k: results[k] for k in metrics.METRIC_COLUMNS}

    def save_samples():
        if not writes:
            return
        with spending("writing"):
            picture = plots.grid(trainer.samples(), pixel_range)
            plots.save_png(picture, run.sample_path(trainer.iteration))
            if board is not None:
                board.image(trainer.iteration, picture)

    def save_checkpoint():
        nonlocal saved_at
        if not writes:
            return
        try:
            with spending("writing"):
                run.save_checkpoint(trainer.state_dict())
        except NonFiniteState as e:
            raise TrainingDiverged(f"iteration {trainer.iteration}: {e}; the run has "
                                   "diverged") from None
        saved_at = trainer.iteration

    def agreed_stop(stop):
        """The signal that asked to stop, or None; with a group, the same answer on every
        rank, and the same clock: one Allreduce of (-elapsed, asked), whose maximum gives the
        smallest of the ranks' clocks. Each rank's step includes its waits for the others,
        and the ranks other than 0 also wait there while rank 0 evaluates and writes, which
        the budget leaves out: the smallest clock is the time the steps took."""
        if group is None:
            return stop.requested
        negated, anyone = group.maximum(-trainer.elapsed, stop.requested is not None)
        trainer.elapsed = -negated
        return stop.requested or ("a signal to another process" if anyone else None)

    try:
        with _StopRequest() as stop:
            shown = {}  # the latest numbers on the progress line, FID until the next evaluation
            if trainer.iteration == 0:
                save_samples()
                if measures:
                    row = {"iteration": 0, "wall_time": 0.0, **evaluate()}
                    shown["fid"] = row.get("fid", math.nan)
                    record(row)
            asked = agreed_stop(stop)
            while not trainer.finished() and not asked:
                numbers = trainer.step()
                asked = agreed_stop(stop)
                row = {"iteration": trainer.iteration, "wall_time": trainer.elapsed, **numbers}
                if measures and evaluation_due():
                    row.update(evaluate())
                    shown["fid"] = row.get("fid", math.nan)
                record(row)
                shown.update({k: numbers[k] for k in ("critic_loss", "wasserstein")
                              if k in numbers})
                if progress is not None:
                    progress.update_run(trainer, shown)
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
        if config.iters and trainer.iteration < config.iters:
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
        rate = trainer.iteration / trainer.elapsed if trainer.elapsed else math.nan
        say(f"done: {trainer.iteration} iterations in {trainer.elapsed:.0f} s of training "
            f"({rate:.1f} it/s); besides, {spent['evaluating']:.0f} s measuring sample quality "
            f"and {spent['writing']:.0f} s writing samples and checkpoints. Samples: "
            f"{run.samples_dir}/, loss plot: {run.losses_plot}, animation: {run.gif}")
        report.finish(run, say)
