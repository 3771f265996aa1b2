"""A one-line progress bar for the terminal, and plain lines when output is not a terminal."""
import sys
import time


def format_duration(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Shows iteration, speed, time left and the latest numbers.

    On a terminal the line is redrawn at most ``redraw_seconds`` apart; elsewhere (a log
    file, CI) a full line is printed every ``line_seconds``.
    """

    def __init__(self, start, total, stream=None, redraw_seconds=0.2, line_seconds=30.0):
        self.stream = stream or sys.stderr
        self.start_iteration, self.total = start, total
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = redraw_seconds if self.tty else line_seconds
        self.started = self.last_shown = time.perf_counter()

    def update(self, iteration, numbers, force=False):
        now = time.perf_counter()
        if not force and now - self.last_shown < self.every:
            return
        self.last_shown = now
        done = iteration - self.start_iteration
        rate = done / max(now - self.started, 1e-9)
        eta = (self.total - iteration) / rate if rate > 0 else float("inf")
        width = 20
        filled = int(width * iteration / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        values = "  ".join(f"{name} {value:.4g}" for name, value in numbers.items())
        line = (f"{iteration}/{self.total} [{bar}] {rate:.2f} it/s  "
                f"ETA {format_duration(eta) if eta != float('inf') else '?'}  {values}")
        self.stream.write(("\r" + line + "\033[K") if self.tty else line + "\n")
        self.stream.flush()

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
