"""WGAN training with device="cuda": the Trainer, a whole run with its checkpoint and resume,
and the example script, on tiny models (DIM 4, z of size 8, batches of 8).

On the stand-in (NumPy underneath) a run on "cuda" must equal the same run on "cpu" bit for
bit: the random numbers are drawn on the host for both, so any difference is a device bug. On a
real GPU (--real-cupy) they agree to float32 rounding.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend
from wgan import models
from wgan.train import train
from wgan.trainer import Trainer

CHECKPOINT = "checkpoint.npz"

import devices
from tiny_runs import tiny_config

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parents[1] / "support"

CASES = [("wgan-gp", "gp", None), ("wgan-gp", "gp", "layer"), ("wgan", "dcgan", None),
         ("gan", "upsample", None), ("wgan-gp", "mlp", None)]


def tiny(mode="wgan-gp", **overrides):
    return tiny_config(**{"mode": mode, "critic_warmup": False, "iters": 2, "sample_every": 1,
                          "checkpoint_every": 1, **overrides})


def images_for(arch, n=24):
    rng = np.random.default_rng(0)
    low, high = models.pixel_range(arch)
    return rng.uniform(low, high, (n, 1, 28, 28)).astype(np.float32)


def quiet(*args, **kwargs):
    pass


TRAINING_TOLERANCE = dict(rtol=1e-4, atol=1e-5)  # on a real GPU; exact on the stand-in


def assert_close(a, b, what=""):
    devices.assert_close(a, b, what, **TRAINING_TOLERANCE)


def assert_same_state(a, b):
    devices.assert_same_state(a, b, **TRAINING_TOLERANCE)


@pytest.mark.parametrize("mode, arch, norm", CASES, ids=lambda v: str(v))
def test_a_training_iteration_on_cuda_equals_the_one_on_cpu(cuda, mode, arch, norm):
    images = images_for(arch)
    trainers, numbers = {}, {}
    for device in ("cpu", "cuda"):  # one after the other: they share the global generator
        trainers[device] = t = Trainer(tiny(mode, arch=arch, critic_norm=norm,
                                            device=device).resolved(), images)
        numbers[device] = [t.step(), t.step()]
    for a, b in zip(numbers["cpu"], numbers["cuda"]):
        assert a.keys() == b.keys()
        assert_close(np.array(list(a.values())), np.array(list(b.values())), str(a))
    cpu, gpu = trainers["cpu"], trainers["cuda"]
    for module in ("generator", "critic"):
        for (name, p), q in zip(getattr(cpu, module).named_parameters(),
                                getattr(gpu, module).parameters()):
            assert q.device == "cuda" and backend.is_device_array(q.array)
            assert_close(p.numpy(), q.numpy(), f"{module}.{name}")
    for optimizer in (gpu.opt_g, gpu.opt_d):
        for state in optimizer.state.values():
            assert all(backend.is_device_array(v) for v in state.values() if hasattr(v, "shape"))
    assert_close(cpu.samples(), gpu.samples())


@pytest.mark.standin_only("counts copies with the stand-in's counter")
@pytest.mark.parametrize("mode, arch", [("wgan-gp", "gp"), ("wgan", "dcgan")])
def test_a_training_iteration_moves_only_batches_in_and_numbers_out(standin_transfers, mode,
                                                                    arch):
    """Into the device: per critic step the noise and the real batch (and the penalty's alpha
    for wgan-gp); the generator step reuses the last fake batch or (wgan) draws its noise.
    Out: the numbers for the log, nothing else."""
    config = tiny(mode, arch=arch, device="cuda", gp_every=1).resolved()  # a penalty each step
    trainer = Trainer(config, images_for(arch))
    with standin_transfers.record() as log:
        trainer.step()
    arrays_in = [shape for direction, shape in log if direction == "to_device" and
                 int(np.prod(shape)) > 1]
    critic_step = [(8, 8), (8, 1, 28, 28)] + ([(8, 1, 1, 1)] if mode == "wgan-gp" else [])
    generator_step = [] if config.reuse_fake else [(8, 8)]  # its own noise, or the last batch
    assert arrays_in == critic_step * config.n_critic + generator_step
    out = [shape for direction, shape in log if direction == "to_host"]
    assert all(shape == () for shape in out), out
    assert len(out) <= 3 * config.n_critic + 1


def test_a_run_on_cuda_checkpoints_and_resumes_exactly(cuda, tmp_path):
    images = images_for("gp")
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(tiny(iters=4, device="cuda", out=str(straight)), images=images, say=quiet)
    train(tiny(iters=2, device="cuda", out=str(split)), images=images, say=quiet)
    state = mg.load(split / CHECKPOINT)  # saved from the host: loads anywhere
    assert int(state["iteration"]) == 2 and state["generator"]["0.weight"].device == "cpu"
    train(tiny(iters=4, device="cuda", out=str(split)), resume=True, images=images, say=quiet)
    assert_same_state(mg.load(straight / CHECKPOINT), mg.load(split / CHECKPOINT))
    for name in ("log.csv", "losses.png", "progress.gif", "samples/iter_000004.png"):
        assert (split / name).is_file(), name
    on_cpu = tmp_path / "on_cpu"
    train(tiny(iters=4, out=str(on_cpu)), images=images, say=quiet)
    assert_same_state(mg.load(straight / CHECKPOINT), mg.load(on_cpu / CHECKPOINT))


def test_a_cuda_checkpoint_resumes_on_the_cpu_and_back(cuda, tmp_path):
    images = images_for("dcgan")
    run, straight = tmp_path / "run", tmp_path / "straight"
    train(tiny("wgan", iters=1, device="cuda", out=str(run)), images=images, say=quiet)
    train(tiny("wgan", iters=2, device="cpu", out=str(run)), resume=True, images=images,
          say=quiet)
    train(tiny("wgan", iters=3, device="cuda", out=str(run)), resume=True, images=images,
          say=quiet)
    train(tiny("wgan", iters=3, device="cuda", out=str(straight)), images=images, say=quiet)
    assert_same_state(mg.load(straight / CHECKPOINT), mg.load(run / CHECKPOINT))


def run_example(*args):
    """examples/mnist_wgan.py with --device cuda, in a fresh interpreter: against the stand-in
    (installed before the script runs) unless the suite runs on the real CuPy."""
    argv = ["examples/mnist_wgan.py"] + [str(a) for a in args]
    if devices.BACKEND == "cupy":
        command = [sys.executable] + argv
    else:
        command = [sys.executable, "-c", (
            "import runpy, sys\n"
            f"sys.path[:0] = [{str(SUPPORT)!r}, {str(ROOT)!r}]\n"
            "import cupy_standin\n"
            "from minigrad import backend\n"
            "backend.set_cupy_module(cupy_standin)\n"
            f"sys.argv = {argv!r}\n"
            "runpy.run_path(sys.argv[0], run_name='__main__')\n")]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_example_script_trains_and_samples_on_cuda(tmp_path):
    out = tmp_path / "run"
    result = run_example("--device", "cuda", "--iters", 2, "--dim", 4, "--z-dim", 8,
                         "--batch-size", 8, "--n-critic", 1, "--classes", 3,
                         "--sample-every", 1, "--checkpoint-every", 1, "--every", 0, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "done: 2 iterations" in result.stdout
    assert (out / CHECKPOINT).is_file() and (out / "samples" / "iter_000002.png").is_file()
    result = run_example("sample", "--device", "cuda", "--run", out, "--n", 5,
                         "--out", tmp_path / "samples.npz")
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "samples.npz") as samples:
        x = samples["x"]
    assert x.shape == (5, 28, 28) and 0 <= x.min() and x.max() <= 1
