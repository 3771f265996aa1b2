"""What a user watches while a run trains: tqdm's bar on a terminal, plain lines elsewhere,
and TensorBoard events (read back with TensorBoard's own reader)."""
import numpy as np
import pytest

from tiny_runs import tiny_config
from wgan.train import train

pytestmark = pytest.mark.cpu_only("wgan tests run on the CPU")


class FakeTerminal:
    def __init__(self, tty):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_progress_bar_shows_iteration_speed_eta_and_numbers():
    """On a terminal: tqdm's bar, redrawn in place, with the numbers as its postfix."""
    from wgan.progress import Progress
    terminal = FakeTerminal(tty=True)
    progress = Progress(0, 200, stream=terminal)
    progress.update(50, {"critic_loss": -1.25, "wasserstein": 1.25})
    progress.close()
    line = terminal.text.split("\r")[-1]
    assert "\r" in terminal.text and "50/200" in line
    assert "it/s" in line and "<" in line  # tqdm's [elapsed<remaining, rate]
    assert "critic_loss=-1.25" in line and "wasserstein=1.25" in line
    assert terminal.text.endswith("\n")


def test_progress_on_a_non_terminal_prints_whole_lines_no_more_often_than_asked():
    from wgan.progress import Progress
    log = FakeTerminal(tty=False)
    progress = Progress(10, 20, stream=log, line_seconds=3600)
    progress.update(11, {"critic_loss": 0.5})
    assert log.text == ""
    progress.update(12, {"critic_loss": 0.5, "fid": 123.4}, force=True)
    progress.close()
    assert log.text.count("\n") == 1 and "\r" not in log.text
    assert "60% 12/20" in log.text and "it/s" in log.text
    assert "critic_loss=0.5" in log.text and "fid=123.4" in log.text


class AtIteration:
    """What Progress reads of a Trainer."""
    def __init__(self, iteration, elapsed):
        self.iteration, self.elapsed = iteration, elapsed


@pytest.mark.parametrize("tty", [True, False])
def test_a_time_budget_shows_its_seconds_with_the_iteration_and_its_rate(tty):
    from wgan.progress import Progress
    stream = FakeTerminal(tty=tty)
    progress = Progress.of_run(AtIteration(0, 0.0),
                               tiny_config(iters=0, time_limit=8.0).resolved(),
                               stream=stream, line_seconds=0)
    progress.update_run(AtIteration(18000, 120.4), {"fid": 94.2})
    progress.close()
    line = stream.text.replace("\r", "\n").strip().splitlines()[-1]
    assert "120/480 s of the training budget" in line and "25%" in line
    # the iteration in full (not 1.8e+04), the other numbers to 4 digits
    assert "iteration=18000" in line and "it/s=149.5" in line and "fid=94.2" in line


def test_tensorboard_events_hold_every_logged_number_and_the_sample_grids(tmp_path):
    """A run with --tensorboard, stopped and resumed: TensorBoard's reader finds one scalar
    series per logged number with one point per iteration (none twice, none lost), and the
    sample grid as an image at each sample iteration."""
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (40, 1, 28, 28)).astype(np.float32)
    folder = tmp_path / "run"
    settings = dict(n_critic=1, gp_every=1, tensorboard=True, out=str(folder))
    train(tiny_config(iters=3, **settings), images=x, say=lambda *a: None)
    train(tiny_config(iters=6, **settings), resume=True, images=x, say=lambda *a: None)
    events = event_accumulator.EventAccumulator(str(folder / "tensorboard"),
                                                size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    tags = events.Tags()
    assert set(tags["scalars"]) == {"critic_loss", "wasserstein", "gradient_penalty",
                                    "generator_loss"}
    log = np.genfromtxt(folder / "log.csv", delimiter=",", names=True)
    for tag in tags["scalars"]:
        points = events.Scalars(tag)
        assert [p.step for p in points] == list(range(1, 7)), tag
        np.testing.assert_allclose([p.value for p in points], log[tag], rtol=1e-5)
    assert tags["images"] == ["samples"]
    images = events.Images("samples")
    assert [i.step for i in images] == [0, 2, 3, 4, 6]
    assert images[0].width > 28 and images[0].height > 28
