"""Data-parallel training on MPI ranks, checked against one process. Runs under
``mpiexec -n 2 python -m pytest tests/distributed`` (tests/distributed/test_launch.py starts
it); skipped in a plain pytest run.

Every rank runs each test at the same time, inside the guard of a group of its own
(conftest.py). The references are computed on every rank by one process's code (no group) on
the whole batch, from the same seeds.
"""
import dataclasses
import os
import sys

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import distributed
from devices import DEVICE, flatten_state, leaf, tensor
from tiny_runs import tiny_config
from wgan import models
from wgan.config import Config, SettingError
from wgan.train import train
from wgan.trainer import Trainer


def quiet(*args, **kwargs):
    pass


def rows_of(group, n):
    """This rank's rows of a global batch of n shares of ``group.size``."""
    return slice(group.rank * n, (group.rank + 1) * n)


def summed(array, group):
    """The sum over the ranks of a host array (for comparing per-rank gradients)."""
    return distributed.all_reduce(tensor(array), group).numpy()


# ---- collectives ----

def test_all_reduce_sums_over_the_ranks_and_differentiates_to_any_order(group):
    base = np.arange(6.0).reshape(2, 3)
    x = leaf(base + 10 * group.rank)
    y = distributed.all_reduce(x, group)
    np.testing.assert_allclose(y.numpy(), sum(base + 10 * r for r in range(group.size)))
    # rank r's loss sum(y^2 w_r); all of them together L = sum(y^2 W), W = sum_r w_r
    w = tensor(np.full((2, 3), group.rank + 1.0))
    total_w = sum(r + 1.0 for r in range(group.size))
    (gx,) = mg.grad((y * y * w).sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), 2 * y.numpy() * total_w)
    # every rank's gx is dL/dx, so sum_r sum(gx v) = N sum(dL/dx v), with derivative 2 N W v
    v = tensor(np.linspace(-1, 1, 6).reshape(2, 3))
    (ggx,) = mg.grad((gx * v).sum(), x)
    np.testing.assert_allclose(ggx.numpy(), 2 * group.size * total_w * v.numpy())


def test_broadcast_hands_objects_and_tensors_to_every_rank(group):
    for root in (0, group.size - 1):
        sent = {"step": 3, "name": f"from {root}", "array": np.arange(4.0) * root,
                "tensor": leaf(np.eye(2) * root)} if group.rank == root else None
        got = group.broadcast(sent, root=root)
        assert got["step"] == 3 and got["name"] == f"from {root}"
        np.testing.assert_array_equal(got["array"], np.arange(4.0) * root)
        assert got["tensor"].device == DEVICE and got["tensor"].requires_grad
        np.testing.assert_array_equal(got["tensor"].numpy(), np.eye(2) * root)


def test_mean_and_maximum_over_the_ranks(group):
    ranks = range(group.size)
    means = group.mean({"a": float(group.rank), "b": 2.0 * group.rank + 1})
    assert means == {"a": np.mean(ranks), "b": np.mean([2.0 * r + 1 for r in ranks])}
    assert group.maximum(float(group.rank), -float(group.rank)) == (group.size - 1.0, 0.0)


def test_gradients_are_averaged_with_one_allreduce_of_one_flat_buffer(group):
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1)).to(DEVICE)
    grads = [np.full(p.shape, group.rank + 1.0, np.float32) * (i + 1)
             for i, p in enumerate(model.parameters())]
    for p, g in zip(model.parameters(), grads):
        p.grad = tensor(g)
    model[2].bias.grad = None  # left out, as on every rank
    calls, reduce = [], group._all_reduce
    group._all_reduce = lambda array, op, kind: calls.append(array.size) or reduce(array, op, kind)
    group.average_gradients(model.parameters())
    assert calls == [sum(p.numel() for p in model.parameters()) - 1]
    mean_rank = np.mean([r + 1.0 for r in range(group.size)])
    for i, p in enumerate(model.parameters()[:-1]):
        np.testing.assert_allclose(p.grad.numpy(), mean_rank * (i + 1), rtol=1e-6)
        assert p.grad.dtype == p.dtype and p.grad.device == DEVICE
    assert model[2].bias.grad is None


# ---- synchronised batch norm ----

@pytest.mark.parametrize("shape", [(3, 5, 2, 3), (3, 4)], ids=["NCHW", "NC"])
def test_batch_norm_over_ranks_is_batch_norm_of_the_global_batch_to_second_order(group, shape):
    """Forward, running statistics, first and second derivatives (those the gradient penalty
    takes) of each rank's share equal one process's batch norm of the whole batch."""
    n, channels = shape[0], shape[1]
    rng = np.random.default_rng(7)
    whole = rng.standard_normal((group.size * n,) + shape[1:]) * 1.5 + 0.7
    u = rng.standard_normal(whole.shape)  # the loss sum(u * y), split by rows
    weight0, bias0 = rng.standard_normal(channels), rng.standard_normal(channels)
    mine = rows_of(group, n)

    def run(x_array, u_array, batch_norm):
        x, w, b = leaf(x_array), leaf(weight0), leaf(bias0)
        running = [tensor(np.zeros(channels)), tensor(np.ones(channels))]
        y = batch_norm(x, *running, w, b, training=True)
        gx, gw, gb = mg.grad((tensor(u_array) * y).sum(), (x, w, b), create_graph=True)
        penalty = (gx * gx).sum()
        px, pw = mg.grad(penalty, (x, w))
        return [a.numpy() for a in (y, gx, gw, gb, px, pw, *running)]

    single = run(whole, u, F.batch_norm)
    ranks = run(whole[mine], u[mine], group.batch_norm)
    y, gx, gw, gb, px, pw, mean, var = ranks
    close = dict(rtol=1e-10, atol=1e-12)
    for name, share, reference in (("output", y, single[0]), ("d/dx", gx, single[1]),
                                   ("penalty d/dx", px, single[4])):
        np.testing.assert_allclose(share, reference[mine], err_msg=name, **close)
    # a weight's gradient on a rank is that rank's part of the whole batch's
    for name, part, reference in (("d/dweight", gw, single[2]), ("d/dbias", gb, single[3]),
                                  ("penalty d/dweight", pw, single[5])):
        np.testing.assert_allclose(summed(part, group), reference, err_msg=name, **close)
    np.testing.assert_allclose(mean, single[6], err_msg="running_mean", **close)
    np.testing.assert_allclose(var, single[7], err_msg="running_var", **close)


def test_sync_batch_norm_layers_see_the_global_batch_in_training_only(group):
    """``sync_batch_norm`` turns a model's BatchNorm layers to the global batch in training;
    in evaluation (samples drawn by rank 0 alone) they use their running statistics and
    need no other rank."""
    n, rng = 4, np.random.default_rng(3)
    whole = rng.standard_normal((group.size * n, 3, 4, 4)).astype(np.float32) + 2.0
    mg.manual_seed(0)
    reference = nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2)).to(DEVICE)
    mg.manual_seed(0)
    model = distributed.sync_batch_norm(
        nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2)).to(DEVICE), group)
    assert model[1].process_group is group and reference[1].process_group is None
    y_whole = reference(tensor(whole)).numpy()
    y_mine = model(tensor(whole[rows_of(group, n)])).numpy()
    np.testing.assert_allclose(y_mine, y_whole[rows_of(group, n)], rtol=1e-4, atol=1e-5)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(model[1], name).numpy(),
                                   getattr(reference[1], name).numpy(), rtol=1e-5, atol=1e-6)
    assert model.state_dict().keys() == reference.state_dict().keys()
    if group.rank == 0:  # alone: would wait forever if evaluation synchronised
        model.eval()
        reference.eval()
        np.testing.assert_allclose(model(tensor(whole)).numpy(), reference(tensor(whole)).numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_dropout_masks_are_the_global_batch_rows(group):
    n = 3
    mg.manual_seed(11)
    whole = F.dropout(mg.ones(group.size * n, 5, device=DEVICE), 0.5).numpy()
    after_whole = mg.get_rng_state()
    mg.manual_seed(11)
    with group.batch_shard():
        mine = F.dropout(mg.ones(n, 5, device=DEVICE), 0.5).numpy()
    np.testing.assert_array_equal(mine, whole[rows_of(group, n)])
    assert mg.get_rng_state() == after_whole  # every rank's generator stays in step


# ---- training: the same parameters as one process ----

def blobs(arch, n=40):
    """Images in the generator's pixel range: a bright patch on a dark background."""
    rng = np.random.default_rng(0)
    unit = np.zeros((n, 1, 28, 28), np.float32)
    for k in range(n):
        top, left = rng.integers(4, 16, size=2)
        unit[k, 0, top:top + 10, left:left + 8] = rng.uniform(0.5, 1.0)
    low, high = models.pixel_range(arch)
    return unit * (high - low) + low


def tiny(mode, **overrides):
    return tiny_config(**{"mode": mode, "critic_warmup": False, "device": DEVICE, "bias": False,
                          **overrides}).resolved()


RTOL = 1e-4  # float32 rounding, grown over a few updates; a broken split gives 0.1 or more


def assert_same_training(a, b, config):
    """Two checkpoints of the same run: every float array equal to float32 rounding relative
    to its own size; everything else (random states, data position, counts) exactly. Adam
    and RMSprop divide each gradient entry by its own running size, so a parameter entry
    whose gradient is near zero (where rounding is large relative to it) may move by a
    rounding-sized share of a whole step: parameters may also differ by 1e-3 of a step."""
    step = max(config.lr, config.critic_lr)
    fa, fb = flatten_state(a), flatten_state(b)
    assert fa.keys() == fb.keys()
    for key in fa.keys() - {"/elapsed"}:
        va, vb = fa[key], fb[key]
        if isinstance(va, np.ndarray) and va.dtype.kind == "f":
            optimizer_state = key.startswith(("/opt_g/", "/opt_d/"))
            allowed = RTOL * np.max(np.abs(va), initial=0.0) + (0 if optimizer_state
                                                                 else 1e-3 * step)
            assert np.max(np.abs(va - vb), initial=0.0) <= allowed, key
        elif isinstance(va, np.ndarray):
            np.testing.assert_array_equal(va, vb, err_msg=key)
        else:
            assert va == vb, key


# Biases are left out (--no-bias): a bias right before batch norm, like the critic's last
# bias under the Wasserstein losses (which do not change when every score moves by the same
# amount), has a gradient of exactly zero, so in float32 its gradient is rounding noise, which
# Adam and RMSprop scale up to full steps; such a parameter differs between any two float32
# runs that round differently, with no effect on what the models compute.
MODES = {
    "wgan-gp": dict(mode="wgan-gp"),
    "wgan-gp, batch norm in the generator": dict(mode="wgan-gp", generator_norm="batch"),
    "wgan: clipping, batch norm in both": dict(mode="wgan"),
    "gan": dict(mode="gan"),
    "wgan-gp, dropout in the critic": dict(mode="wgan-gp", arch="upsample"),
}


@pytest.mark.parametrize("settings", MODES.values(), ids=MODES.keys())
def test_ranks_train_the_parameters_one_process_trains(group, settings):
    config = tiny(**settings)
    images = blobs(config.arch)
    alone = Trainer(config, images)
    alone_numbers = [alone.step() for _ in range(config.iters)]
    ranks = Trainer(config, images, group)
    rank_numbers = [ranks.step() for _ in range(config.iters)]
    for one, parallel in zip(alone_numbers, rank_numbers):
        assert one.keys() == parallel.keys()
        for name in one:
            np.testing.assert_allclose(parallel[name], one[name], rtol=RTOL, atol=1e-6,
                                       err_msg=name)
    assert_same_training(ranks.state_dict(), alone.state_dict(), config)


def test_the_batch_size_must_divide_by_the_number_of_ranks(group):
    config = tiny("wgan-gp", batch_size=4 * group.size + 1)
    with pytest.raises(SettingError, match=rf"--batch-size {4 * group.size + 1} .* the "
                                           rf"{group.size} processes"):
        Trainer(config, blobs(config.arch), group)


# ---- checkpoints and the run folder ----

def test_a_checkpoint_of_ranks_resumes_in_one_process_and_continues_the_same(group, tmp_path):
    folder = group.broadcast(str(tmp_path))  # rank 0's: the one that writes
    config = tiny("wgan", iters=3, checkpoint_every=3, out=os.path.join(folder, "ranks"))
    images = blobs(config.arch)
    train(config, images=images, say=quiet, group=group)
    if group.rank == 0:  # one process, no group, from the ranks' checkpoint
        resumed = train(dataclasses.replace(config, iters=6), resume=True, images=images,
                        say=quiet)
        alone = train(dataclasses.replace(config, iters=6, out=os.path.join(folder, "alone")),
                      images=images, say=quiet)
        assert_same_training(mg.load(resumed / "checkpoint.npz"),
                             mg.load(alone / "checkpoint.npz"), config)


def test_a_checkpoint_of_one_process_resumes_on_ranks(group, tmp_path):
    folder = group.broadcast(str(tmp_path))
    config = tiny("gan", iters=3, checkpoint_every=3, out=os.path.join(folder, "run"))
    images = blobs(config.arch)
    if group.rank == 0:
        train(config, images=images, say=quiet)
    resumed = train(dataclasses.replace(config, iters=6), resume=True, images=images,
                    say=quiet, group=group)
    if group.rank == 0:
        alone = train(dataclasses.replace(config, iters=6, out=os.path.join(folder, "alone")),
                      images=images, say=quiet)
        assert_same_training(mg.load(resumed / "checkpoint.npz"),
                             mg.load(alone / "checkpoint.npz"), config)


_written = None  # while a list: every file this process opens for writing, makes or removes


def _audit(event, args):
    if _written is None:
        return
    if event == "open":
        path, mode, flags = args
        if (mode is not None and any(c in mode for c in "wax+")) or (
                mode is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
            _written.append(str(path))
    elif event in ("os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.truncate"):
        _written.append(f"{event} {args[0]}")


sys.addaudithook(_audit)


def test_rank_0_alone_writes_the_run_folder_and_it_holds_what_one_process_writes(group,
                                                                                tmp_path):
    global _written
    folder = group.broadcast(str(tmp_path))
    config = tiny("wgan-gp", iters=4, out=os.path.join(folder, "ranks"))
    images = blobs(config.arch)
    _written = []
    try:
        train(config, images=images, say=quiet, group=group)
        written = _written
    finally:
        _written = None
    if group.rank != 0:
        assert written == []
        return
    assert any("checkpoint.npz" in path for path in written)  # the audit sees writes
    alone = train(dataclasses.replace(config, out=os.path.join(folder, "alone")),
                  images=images, say=quiet)

    def files(root):
        return sorted(str(p.relative_to(root)) for p in root.rglob("*"))

    ranks = alone.parent / "ranks"
    assert files(ranks) == files(alone)
    for log in (ranks, alone):  # one row per iteration: written once
        iterations = [line.split(",")[0] for line in (log / "log.csv").read_text().splitlines()]
        assert iterations == ["iteration", "1", "2", "3", "4"]


# ---- failures ----

def test_a_failure_on_one_rank_is_raised_on_every_rank_with_its_message(group):
    failing = group.size - 1
    other = distributed.world()  # a group of its own: a failure leaves it unusable
    with pytest.raises(ValueError) as raised:
        with other.guard():
            if other.rank == failing:
                raise ValueError("boom")
            other.maximum(1.0)  # waits for the failing rank, which never comes
    if other.rank == failing:
        assert str(raised.value) == "boom"
    else:
        assert str(raised.value) == f"rank {failing}: boom"
        cause = raised.value.__cause__
        assert isinstance(cause, distributed.RemoteTraceback)
        assert "boom" in str(cause) and "test_mpi.py" in str(cause)
    with pytest.raises(distributed.PeerFailed):
        other.maximum(1.0)


def test_when_several_ranks_fail_every_rank_raises_the_first_ones(group):
    other = distributed.world()
    with pytest.raises(ValueError) as raised:
        with other.guard():
            raise ValueError(f"from rank {other.rank}")
    assert str(raised.value) == ("from rank 0" if other.rank == 0 else "rank 0: from rank 0")


def test_an_exit_status_is_relayed(group):
    other = distributed.world()
    with pytest.raises(SystemExit) as raised:
        with other.guard():
            if other.rank == 1:
                raise SystemExit(3)
            other.maximum(0.0)
    assert raised.value.code == 3
