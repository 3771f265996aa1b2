"""What a user watches while a run trains: tqdm's progress bar on a terminal, the same
numbers as plain periodic lines elsewhere (a log file, CI), and TensorBoard events."""
import os
import sys
import time

from tqdm import tqdm

from .config import SettingError


def _postfix(numbers):
    """name=value pairs: whole numbers (the iteration) in full, others to 4 digits."""
    return ", ".join(f"{name}={value}" if isinstance(value, int) else f"{name}={value:.4g}"
                     for name, value in numbers.items())


# a time budget's progress: seconds of training spent of it, and the latest numbers
BUDGET_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} s of the training budget{postfix}"
BUDGET_LINE = ("{percentage:3.0f}% {n_fmt}/{total_fmt} s of the training budget, {elapsed} by "
               "the clock{postfix}")


class Progress:
    """Iteration, speed, time left and the latest numbers (critic loss, Wasserstein estimate,
    FID). On a terminal, tqdm's bar; otherwise tqdm's text as a line every ``line_seconds``."""

    def __init__(self, start, total, stream=None, line_seconds=30.0, unit="it"):
        self.stream = stream or sys.stderr
        self.start, self.total, self.line_seconds, self.unit = start, total, line_seconds, unit
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.bar = tqdm(total=total, initial=start, file=self.stream, unit=unit,
                        dynamic_ncols=True, bar_format=BUDGET_FORMAT if unit == "s" else None
                        ) if tty else None
        self.started = self.last_line = time.perf_counter()

    @classmethod
    def of_run(cls, trainer, config, **options):
        """A run's progress: over the seconds of its time budget if it has one (the iteration
        and its rate among the numbers), else over its iterations."""
        if config.time_limit:
            return cls(round(trainer.elapsed), round(60 * config.time_limit), unit="s",
                       **options)
        return cls(trainer.iteration, config.iters, **options)

    def update_run(self, trainer, numbers):
        if self.unit == "it":
            return self.update(trainer.iteration, numbers)
        rate = trainer.iteration / trainer.elapsed if trainer.elapsed else 0.0
        self.update(min(round(trainer.elapsed), self.total),
                    {"iteration": trainer.iteration, "it/s": rate, **numbers})

    def update(self, iteration, numbers, force=False):
        if self.bar is not None:
            self.bar.set_postfix_str(_postfix(numbers), refresh=False)
            self.bar.update(iteration - self.bar.n)
            return
        now = time.perf_counter()
        if force or now - self.last_line >= self.line_seconds:
            self.last_line = now
            budget = dict(bar_format=BUDGET_LINE) if self.unit == "s" else dict(ncols=0)
            self.stream.write(tqdm.format_meter(iteration, self.total, now - self.started,
                                                initial=self.start, unit=self.unit, **budget,
                                                postfix=_postfix(numbers)) + "\n")
            self.stream.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()


class TensorBoard:
    """TensorBoard events in ``log_dir``: a scalar for every logged number and the sample grid
    as an image. A resumed run appends to the same folder; ``purge_step`` makes TensorBoard
    drop the events a killed run wrote after the checkpoint it resumes from."""

    def __init__(self, log_dir, start_iteration):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise SettingError("--tensorboard needs tensorboardX, which is not installed: "
                               'pip install "minigrad-wgan[tensorboard]"') from None
        # Event files are named by the second they were made in: the suffix keeps a run
        # resumed within the same second from writing over the earlier file.
        self.writer = SummaryWriter(str(log_dir), purge_step=start_iteration + 1
                                    if start_iteration else None,
                                    filename_suffix=f".{os.getpid()}.{start_iteration}")

    def scalars(self, iteration, numbers):
        for name, value in numbers.items():
            self.writer.add_scalar(name, value, iteration)

    def image(self, iteration, picture):
        """A uint8 picture, H x W (grey) or H x W x 3."""
        self.writer.add_image("samples", picture, iteration,
                              dataformats="HW" if picture.ndim == 2 else "HWC")

    def close(self):
        self.writer.close()
