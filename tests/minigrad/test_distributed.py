"""minigrad.distributed in one process: what needs no second rank. The launch detection, the
per-sample random draws of data parallelism, the synchronised batch norm's arithmetic to
second order (over a group of one process, MPI's COMM_SELF), how a failure is made again on
another rank, the choice of GPU. The tests on two ranks are in tests/distributed/.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import backend, distributed
from devices import DEVICE, leaf, tensor

LAUNCH_VARIABLES = distributed._RANK_VARIABLES + distributed._SIZE_VARIABLES


@pytest.fixture
def no_launcher(monkeypatch):
    for name in LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_launch_is_told_by_the_launchers_variables(no_launcher):
    assert not distributed.launched() and distributed.is_root()
    assert distributed.world() is None
    no_launcher.setenv("OMPI_COMM_WORLD_RANK", "1")
    assert distributed.launched() and not distributed.is_root()
    no_launcher.setenv("OMPI_COMM_WORLD_RANK", "0")
    assert distributed.is_root()
    no_launcher.delenv("OMPI_COMM_WORLD_RANK")
    no_launcher.setenv("PMI_RANK", "0")
    no_launcher.setenv("PMI_SIZE", "1")  # mpiexec -n 1: one process, no group
    assert distributed.launched() and distributed.world() is None


def test_a_launcher_of_another_mpi_than_mpi4py_s_is_refused(no_launcher):
    pytest.importorskip("mpi4py.MPI", reason="needs mpi4py (the dist extra)")  # one process
    no_launcher.setenv("OMPI_COMM_WORLD_RANK", "0")
    no_launcher.setenv("OMPI_COMM_WORLD_SIZE", "3")
    with pytest.raises(distributed.MPIUnavailable, match="started 3 processes but MPI sees 1"):
        distributed.world()


def test_a_session_of_one_process_is_none(no_launcher):
    with distributed.session() as group:
        assert group is None


# ---- per-sample draws ----

def draw_uniform(rng, shape):
    return rng.random(shape, dtype=np.float32)


def test_per_sample_draws_are_the_rows_of_the_global_batch_and_keep_the_generators_in_step():
    mg.manual_seed(3)
    whole = backend.per_sample(draw_uniform, (6, 2))
    after = mg.get_rng_state()
    for rank in range(3):
        mg.manual_seed(3)
        with backend.batch_shard(rank, 3):
            mine = backend.per_sample(draw_uniform, (2, 2))
        np.testing.assert_array_equal(mine, whole[2 * rank:2 * rank + 2])
        assert mg.get_rng_state() == after
    mg.manual_seed(3)
    np.testing.assert_array_equal(backend.per_sample(draw_uniform, (6, 2)), whole)  # unsharded


def test_dropout_draws_its_mask_per_sample():
    mg.manual_seed(1)
    whole = F.dropout(mg.ones(4, 3, device=DEVICE), 0.5).numpy()
    mg.manual_seed(1)
    with backend.batch_shard(1, 2):
        mine = F.dropout(mg.ones(2, 3, device=DEVICE), 0.5).numpy()
    np.testing.assert_array_equal(mine, whole[2:])


def test_a_per_sample_draw_needs_a_batch_axis():
    with backend.batch_shard(0, 2), pytest.raises(ValueError, match="batch axis"):
        backend.per_sample(draw_uniform, ())


# ---- the synchronised batch norm, over one process ----

@pytest.fixture
def alone():
    """A ProcessGroup of this process only (MPI's COMM_SELF): its Allreduce is a copy, so the
    synchronised batch norm's own arithmetic (sums, sums of squares, the Allreduce node) is
    what is checked."""
    mpi = pytest.importorskip("mpi4py.MPI", reason="needs mpi4py (the dist extra)")
    group = distributed.ProcessGroup(mpi.COMM_SELF)
    yield group
    group.close()


SHAPES = {"odd NCHW": (3, 5, 2, 3), "batch 1 NCHW": (1, 3, 3, 2), "NC": (4, 3), "NCL": (2, 3, 5)}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_synchronised_batch_norm_gradients_to_second_order(alone, shape):
    rng = np.random.default_rng(0)
    x = leaf(rng.standard_normal(shape) * 2 + 1)
    w, b = leaf(rng.standard_normal(shape[1])), leaf(rng.standard_normal(shape[1]))

    def f(x, w, b):
        return distributed.batch_norm(x, None, None, w, b, training=True, group=alone)

    assert mg.gradcheck(f, (x, w, b))
    assert mg.gradgradcheck(f, (x, w, b))


def test_synchronised_batch_norm_is_batch_norm(alone):
    rng = np.random.default_rng(1)
    x = leaf(rng.standard_normal((3, 4, 2, 2)) * 3 - 2)
    running = [[tensor(np.zeros(4)), tensor(np.ones(4))] for _ in range(2)]
    synced = distributed.batch_norm(x, *running[0], training=True, momentum=0.3, group=alone)
    plain = F.batch_norm(x, *running[1], training=True, momentum=0.3)
    np.testing.assert_allclose(synced.numpy(), plain.numpy(), rtol=1e-12, atol=1e-12)
    for mine, theirs in zip(*running):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)
    evaluated = distributed.batch_norm(x, *running[0], training=False, group=alone)
    np.testing.assert_allclose(evaluated.numpy(), F.batch_norm(x, *running[1]).numpy())


def test_synchronised_batch_norm_needs_two_values_per_channel(alone):
    with pytest.raises(ValueError, match=r"more than one value per channel .* \(1, 3\)"):
        distributed.batch_norm(tensor(np.ones((1, 3))), None, None, training=True, group=alone)


def test_sync_batch_norm_changes_the_layers_only_in_training(alone):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU()).to(DEVICE)
    assert distributed.sync_batch_norm(model, alone) is model
    assert model[1].process_group is alone
    calls = []
    alone.batch_norm = lambda *args, **kwargs: calls.append(1) or F.batch_norm(*args, **kwargs)
    model(tensor(np.ones((5, 3), np.float32)))
    assert calls == [1]
    model.eval()
    model(tensor(np.ones((5, 3), np.float32)))
    assert calls == [1]  # evaluation uses the running statistics, alone
    distributed.sync_batch_norm(model, None)
    assert model[1].process_group is None


# ---- failures, made again on another rank ----

def test_a_relayed_failure_has_the_class_the_rank_and_the_traceback():
    try:
        raise OSError("disk full")
    except OSError as e:
        report = distributed._report(e)
    relayed = distributed._relayed(2, *report)
    assert type(relayed) is OSError and str(relayed) == "rank 2: disk full"
    assert isinstance(relayed.__cause__, distributed.RemoteTraceback)
    assert "rank 2" in str(relayed.__cause__) and "test_distributed.py" in str(relayed.__cause__)


class TwoArguments(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")


def test_a_failure_of_a_class_that_cannot_be_made_again_is_relayed_as_a_runtime_error():
    class Local(Exception):  # cannot be pickled
        pass

    for error, name in ((TwoArguments("x", "y"), "TwoArguments"), (Local("x/y"), "Local")):
        relayed = distributed._relayed(1, *distributed._report(error))
        assert type(relayed) is RuntimeError and str(relayed) == f"rank 1: {name}: x/y"


def test_an_exit_status_is_relayed_as_itself():
    relayed = distributed._relayed(1, *distributed._report(SystemExit(4)))
    assert type(relayed) is SystemExit and relayed.code == 4


def test_cuda_aware_is_the_environments_word_or_the_librarys(monkeypatch):
    mpi = pytest.importorskip("mpi4py.MPI", reason="needs mpi4py (the dist extra)")
    monkeypatch.setenv("MINIGRAD_MPI_CUDA_AWARE", "1")
    assert distributed._cuda_aware(mpi) is True
    monkeypatch.setenv("MINIGRAD_MPI_CUDA_AWARE", "0")
    assert distributed._cuda_aware(mpi) is False
    monkeypatch.delenv("MINIGRAD_MPI_CUDA_AWARE")
    assert isinstance(distributed._cuda_aware(mpi), bool)


def test_each_process_takes_the_gpu_of_its_rank_modulo_the_gpus(cuda, monkeypatch):
    used = []
    cp = backend.cupy()
    monkeypatch.setattr(cp.cuda.runtime, "getDeviceCount", lambda: 3)
    monkeypatch.setattr(cp.cuda.Device, "use", lambda self: used.append(self.id))
    assert [backend.select_gpu(rank) for rank in range(5)] == [0, 1, 2, 0, 1]
    assert used == [0, 1, 2, 0, 1]
