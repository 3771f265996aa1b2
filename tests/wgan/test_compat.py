"""Run folders written by an earlier version still resume, and continue as that version did.

tests/wgan/fixtures/run_bc6dc7a/ holds two tiny runs written by commit bc6dc7a (before the
run folder, the config and the trainer were reorganised): a WGAN-GP run and a clipping WGAN
run with batch norm, each stopped at iteration 3 of 6 (config.json, checkpoint.npz, log.csv),
and, in expected/, the log and checkpoint that version wrote when it ran the same settings
straight to iteration 6. Resuming the folder with today's code must load the checkpoint
exactly, keep the three logged rows as they were, and reach the same iteration-6 state.

The continuation is compared to float32 rounding, not bit for bit: the convolution's column
order changed since (channels outermost, so the weight is used in its own memory order), and
each BLAS build (each processor's kernels) orders the sums inside a matrix product its own
way. So only what the computation determines is compared:
- the losses, to float32 rounding of a few steps;
- every parameter and optimizer state with a real gradient, with a tolerance of one
  optimizer step (lr): RMSprop and Adam divide by a running RMS, so an element whose
  gradient is near zero moves by up to lr whatever its rounding;
- not the biases right before a batch norm and their optimizer state
  (``models.biases_before_batch_norm``): their exact gradient is zero, so they follow
  rounding noise by whole learning-rate steps, differently under each BLAS. (New runs have
  no such biases; these folders were made before that setting and keep theirs.)
"""
import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from devices import flatten_state
from wgan import models
from wgan.config import Config
from wgan.run_folder import RunFolder
from wgan.train import train

pytestmark = pytest.mark.cpu_only("resumes committed CPU run folders")

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "run_bc6dc7a"
LOSSES = ("critic_loss", "wasserstein", "gradient_penalty", "generator_loss")


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def noise_driven(config):
    """The checkpoint entries of the biases a batch norm cancels, and of their optimizer state."""
    keys = set()
    for net_name, optimizer, net in zip(("generator", "critic"), ("opt_g", "opt_d"),
                                        models.build_for(config)):
        names = [name for name, _ in net.named_parameters()]
        for name in models.biases_before_batch_norm(net):
            keys.add(f"/{net_name}/{name}")
            keys.add(f"/{optimizer}/state/{names.index(name)}/")
    return keys


def losses_of(row):
    return [float(row[c]) if row[c] else np.nan for c in LOSSES]


@pytest.mark.parametrize("mode", ["wgan-gp", "wgan"])
def test_a_run_folder_of_the_earlier_version_resumes_and_continues_as_it_did(tmp_path, mode):
    source = FIXTURES / mode
    folder = tmp_path / "run"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("expected"))
    run = RunFolder(folder)
    config = run.read_config()  # config.json of the earlier version: no tensorboard setting,
    assert config.mode == mode and config.iters == 3 and config.tensorboard is False
    assert config.generator_dim == config.dim  # no generator width of its own
    state = run.load_checkpoint()
    assert int(state["iteration"]) == 3
    before = rows(folder / "log.csv")

    train(Config(**{**vars(config), "iters": 6, "out": str(folder)}), resume=True,
          say=lambda *a: None)

    after = rows(folder / "log.csv")
    assert [r["iteration"] for r in after] == ["1", "2", "3", "4", "5", "6"]
    assert after[:3] == [{**r} for r in before]  # the kept rows, byte for byte
    expected = rows(source / "expected" / "log.csv")
    np.testing.assert_allclose([losses_of(r) for r in after[3:]],
                               [losses_of(r) for r in expected[3:]], rtol=2e-4, atol=1e-6)
    ours = flatten_state(mg.load(folder / "checkpoint.npz"))
    theirs = flatten_state(mg.load(source / "expected" / "checkpoint.npz"))
    added = {"/critic_steps_done"}  # the entries added since: the trainer's count, and
    if config.optimizer == "adam":  # PyTorch 2.13's Adam setting (False: as before)
        added |= {f"/{opt}/param_groups/0/decoupled_weight_decay" for opt in ("opt_g", "opt_d")}
    assert ours.keys() == theirs.keys() | added
    assert int(ours["/iteration"]) == int(theirs["/iteration"]) == 6
    skipped = noise_driven(config)
    assert skipped if mode == "wgan" else not skipped  # its critic and generator have batch norm
    lr = config.lr
    for key in theirs:
        if key.startswith(tuple(skipped)):
            continue
        if np.asarray(theirs[key]).dtype.kind == "f" and key.startswith(("/generator", "/critic",
                                                                        "/opt_")):
            np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-3, atol=lr, err_msg=key)
        elif key != "/elapsed":  # the random generator, the data position, step counts
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
