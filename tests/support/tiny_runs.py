"""The tests' training runs: a Config small enough to train in well under a second."""
from wgan.config import Config

# Tiny networks on tiny batches; quality is never measured unless a test asks (eval_every);
# no weight average unless a test asks (ema), and then from the start (ema_start), so that a
# run's length does not change its schedule
TINY_RUN = dict(mode="wgan-gp", dim=4, z_dim=8, batch_size=8, n_critic=2, iters=4,
                sample_every=2, checkpoint_every=2, n_samples=4, eval_every=0, ema=0.0,
                ema_start=0.0)


def tiny_config(**overrides):
    """The Config of a tiny run: ``TINY_RUN`` with ``overrides`` on top."""
    return Config(**{**TINY_RUN, **overrides})


# The same on the command line (examples/mnist_wgan.py, wgan.cli.main).
TINY_ARGS = ["--dim", "4", "--z-dim", "8", "--batch-size", "8", "--every", "0", "--ema", "0"]


def one_line_error(capsys):
    """The command line's failure, on stderr: one line (asserted; no traceback), returned."""
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err
