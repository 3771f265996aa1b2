"""Data-parallel training over MPI: the only module that knows mpi4py.

``mpiexec -n N python train.py`` starts N processes (ranks). Each holds a replica of the
model and computes on its own share of every global batch; after each backward pass the
gradients are averaged, so every rank applies the same update to the same parameters:

    with distributed.session() as group:            # None unless started by mpiexec, N > 1
        distributed.sync_batch_norm(model, group)    # batch norm over the global batch
        ...
        loss.backward()
        group.average_gradients(model.parameters())  # one Allreduce of one flat buffer
        optimizer.step()

mpi4py is imported only when the environment says that an MPI launcher started this process
(``launched()``: the variables mpiexec sets, such as PMI_RANK, OMPI_COMM_WORLD_RANK): a plain
run never imports it.

Failures. A collective waits until every rank has joined it, so a rank that fails on its
own (an exception, Ctrl-C, a full disk) would leave the others waiting forever. Every
collective here is therefore non-blocking and waited on together with a "failed" message
that any rank may send. ``group.guard()`` (entered by ``session()``) sends that message when
an exception leaves it; at its end every rank takes part in one agreement on whether, and on
which rank first, something failed; that rank's exception is then raised on every rank (with
"rank R: " before its message and its traceback as the cause), so all ranks stop together
with the same error and exit status. A group that saw a failure cannot be used again.

Devices. On "cuda" each rank uses the GPU (its rank on its machine) % (visible GPUs)
(``select_gpu``). Device buffers go to MPI directly when the MPI library is CUDA-aware,
otherwise they are staged through host memory; ``group.cuda_aware`` says which. It is what
the library's ``MPIX_Query_cuda_support()`` answers (MPICH and Open MPI have it), unless the
environment variable MINIGRAD_MPI_CUDA_AWARE is 1 or 0.
"""
import collections
import contextlib
import ctypes
import importlib.util
import io
import os
import pickle
import shutil
import sys
import time
import traceback

import numpy as np

from . import backend
from .autograd import apply
from .nn.functional import batch_norm as _local_batch_norm
from .nn.layers import _BatchNorm
from .ops import concat
from .ops.norm import _affine, _check_channels, _update_running
from .tensor import Tensor, full

# The environment variables that MPI launchers set in every process they start: MPICH and
# Intel MPI (Hydra, and Slurm's srun --mpi=pmi2), Open MPI, MVAPICH, PMIx (srun --mpi=pmix).
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "PMIX_RANK")
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
_FAILED = 1  # the tag of "a rank failed" messages on the control communicator

MPI = None  # mpi4py.MPI, once imported


class MPIUnavailable(RuntimeError):
    """An MPI launcher started this process, but mpi4py is missing or uses another MPI."""


def _mpi():
    global MPI
    if MPI is None:
        try:
            from mpi4py import MPI as module
        except ImportError as e:
            raise MPIUnavailable(
                "this process was started by an MPI launcher (mpiexec), but mpi4py is not "
                'installed: pip install "minigrad-wgan[dist]" (mpi4py and MPICH)') from e
        MPI = module
    return MPI


def _environment(names):
    return next((int(os.environ[name]) for name in names if name in os.environ), None)


def launched():
    """Whether an MPI launcher (mpiexec, srun) started this process; mpi4py is not imported."""
    return _environment(_RANK_VARIABLES) is not None


def is_root():
    """Whether this process is rank 0 of its launch (True when not launched by MPI): the one
    that reports."""
    return (_environment(_RANK_VARIABLES) or 0) == 0


def world():
    """The ProcessGroup of every process the launcher started, or None for a single process
    (not launched by MPI, or launched alone)."""
    size = _environment(_SIZE_VARIABLES)
    if not launched() or size == 1:
        return None
    comm = _mpi().COMM_WORLD
    if size is not None and comm.size != size:
        raise MPIUnavailable(
            f"the launcher started {size} processes but MPI sees {comm.size}: mpiexec and "
            f"mpi4py use different MPI libraries (mpi4py's is {_library()}); run the "
            "mpiexec that comes with it (the mpich wheel installs one beside python)")
    return ProcessGroup(comm) if comm.size > 1 else None


def _library():
    """The MPI library's name and version, as it says them ("MPICH Version: 5.0.2")."""
    return " ".join(_mpi().Get_library_version().splitlines()[0].split(",")[0].split())


@contextlib.contextmanager
def session():
    """The world's group for the block inside, guarded (``ProcessGroup.guard``), or None for a
    single process."""
    group = world()
    if group is None:
        yield None
        return
    with group.guard():
        yield group
    group.close()


def local_launcher():
    """The command that starts processes on this machine under MPI (the ``mpiexec`` beside
    this Python, which the mpich wheel installs, else the first on PATH), or None where
    mpi4py or mpiexec is missing."""
    if importlib.util.find_spec("mpi4py") is None:
        return None
    beside = shutil.which("mpiexec", path=os.path.dirname(sys.executable))
    return beside or shutil.which("mpiexec")


def relaunch(n, module, argv):
    """Run ``python -m module argv`` as ``n`` processes under this machine's mpiexec, in place
    of this process (its exit status is theirs; Ctrl-C and kill reach every rank through
    mpiexec). Call only where ``local_launcher()`` found one and not ``launched()``."""
    command = [local_launcher(), "-n", str(n), sys.executable, "-m", module, *argv]
    sys.stdout.flush(), sys.stderr.flush()
    os.execv(command[0], command)


def usable_cores():
    """The cores this process may run on (its affinity where the system says it), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def share_cores(ranks_here):
    """Limit this process's BLAS threads to its share of this machine's cores (at least one),
    so that ``ranks_here`` processes on one machine do not each start a thread per core: two
    ranks with two OpenBLAS threads each on 2 cores ran the bare command 5x slower than one
    process, one thread each 1.3x faster. A thread count the user set in the environment
    (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS) is left alone. Returns the
    limit set, or None."""
    if any(name in os.environ for name in THREAD_VARIABLES):
        return None
    import threadpoolctl  # the dist extra installs it with mpi4py
    threads = max(1, usable_cores() // ranks_here)
    threadpoolctl.threadpool_limits(threads, user_api="blas")
    return threads


class PeerFailed(RuntimeError):
    """Another rank reported a failure while this one waited for it in a collective."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised on another rank: the cause of its copy here."""

    def __str__(self):
        return self.args[0]


class ProcessGroup:
    """The ranks of an mpi4py communicator, working on one model together.

    ``rank`` and ``size``; ``local_rank``, the rank among the processes of this machine;
    ``seconds``, the time spent in each kind of collective (waiting for the slowest rank
    included)."""

    def __init__(self, comm):
        mpi = _mpi()
        self.rank, self.size = comm.rank, comm.size
        self._comm = comm.Dup()      # the collectives of the computation
        self._control = comm.Dup()   # "a rank failed" messages and the final agreement
        machine = comm.Split_type(mpi.COMM_TYPE_SHARED)
        self.local_rank = machine.rank
        self.blas_threads = share_cores(machine.size)
        machine.Free()
        self.cuda_aware = _cuda_aware(mpi)
        self.seconds = collections.Counter()
        self._failed_rank = np.zeros(1, np.int64)
        self._watch = self._control.Irecv(self._failed_rank, source=mpi.ANY_SOURCE, tag=_FAILED)
        self._peer_failed = None  # the rank whose failure message arrived
        self._left = []  # collectives abandoned after a failure, kept with their buffers
        self._sent = []  # failure messages in flight, kept with their buffers

    def __repr__(self):
        return f"<ProcessGroup rank {self.rank} of {self.size}>"

    def __deepcopy__(self, memo):
        return self  # a model's copy (an averaged model) still belongs to the same group

    def describe(self, device="cpu"):
        """One line: the processes, the MPI library, and for "cuda" how buffers reach MPI."""
        line = f"data-parallel over {self.size} processes ({_library()})"
        if device != "cuda":
            return line
        if self.cuda_aware:
            return line + "; GPU buffers go to MPI directly (the MPI library is CUDA-aware)"
        return line + ("; GPU buffers are staged through host memory (the MPI library is not "
                       "CUDA-aware; MINIGRAD_MPI_CUDA_AWARE=1 says it is)")

    # ---- collectives ----
    def _wait(self, request, kind):
        """Wait for ``request``, unless another rank reports a failure first."""
        started = time.perf_counter()
        if self._peer_failed is None:
            if MPI.Request.Waitany([request, self._watch]) == 1:
                self._peer_failed = int(self._failed_rank[0])
        self.seconds[kind] += time.perf_counter() - started
        if self._peer_failed is not None:
            self._left.append(request)
            raise PeerFailed(f"rank {self._peer_failed} of {self.size} failed")

    def _all_reduce(self, array, op, kind):
        """A new array: the elementwise sum ("sum") or maximum ("max") of every rank's
        ``array`` (NumPy or CuPy, of the same shape and dtype on every rank)."""
        staged = backend.is_device_array(array) and not self.cuda_aware
        if staged:
            array = backend.host_copy(array)
        elif backend.is_device_array(array):
            backend.synchronize()  # MPI reads device memory outside CuPy's stream
        xp = backend.xp_of(array)
        array = xp.ascontiguousarray(array)
        out = xp.empty_like(array)
        self._wait(self._comm.Iallreduce(array, out, op={"sum": MPI.SUM, "max": MPI.MAX}[op]),
                   kind)
        return backend.to_device(out, "cuda") if staged else out

    def _broadcast_bytes(self, data, root):
        size = np.array([len(data) if self.rank == root else 0], np.int64)
        self._wait(self._comm.Ibcast(size, root=root), "broadcast")
        buffer = np.frombuffer(data, np.uint8).copy() if self.rank == root else \
            np.empty(int(size[0]), np.uint8)
        self._wait(self._comm.Ibcast(buffer, root=root), "broadcast")
        return buffer.tobytes()

    def broadcast(self, obj=None, root=0):
        """``obj`` of rank ``root``, on every rank (any picklable object; tensors travel as
        host arrays and arrive on the device they had)."""
        data = _dumps(obj) if self.rank == root else b""
        return pickle.loads(self._broadcast_bytes(data, root))

    def average_gradients(self, parameters):
        """Replace every parameter's gradient by its mean over the ranks, with one Allreduce
        of one flat buffer that holds them all. Parameters without a gradient are left out:
        every rank computes the same graph, so they are the same on every rank."""
        parameters = [p for p in parameters if p.grad is not None]
        if not parameters:
            return
        xp = backend.xp_of(parameters[0].grad.array)
        flat = xp.concatenate([p.grad.array.reshape(-1) for p in parameters])
        flat = self._all_reduce(flat, "sum", "gradients")
        flat /= self.size
        offset = 0
        for p in parameters:
            part = flat[offset:offset + p.grad.numel()].reshape(p.grad.shape)
            p.grad = Tensor._wrap(part.astype(p.grad.dtype, copy=False))
            offset += p.grad.numel()

    def mean(self, numbers):
        """{name: the mean over the ranks of each rank's number} (one Allreduce)."""
        values = np.array(list(numbers.values()), np.float64)
        means = self._all_reduce(values, "sum", "numbers") / self.size
        return dict(zip(numbers, means.tolist()))

    def maximum(self, *numbers):
        """The maximum over the ranks of each number, as a tuple of floats (one Allreduce)."""
        return tuple(self._all_reduce(np.array(numbers, np.float64), "max", "numbers").tolist())

    def batch_norm(self, x, running_mean, running_var, weight=None, bias=None, training=False,
                   momentum=0.1, eps=1e-5):
        """``F.batch_norm`` with training statistics over the global batch (``batch_norm``)."""
        return batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps,
                          group=self)

    def batch_shard(self):
        """Inside, per-sample random draws (dropout masks) are this rank's rows of the draw
        for the global batch (``backend.batch_shard``)."""
        return backend.batch_shard(self.rank, self.size)

    def select_gpu(self):
        """Use GPU ``local_rank % (visible GPUs)`` for "cuda"; returns its number."""
        return backend.select_gpu(self.local_rank)

    # ---- failures ----
    @contextlib.contextmanager
    def guard(self):
        """Around the part of a program that every rank runs: an exception on any rank
        stops every rank, each raising the exception of the first rank that failed."""
        try:
            yield self
        except BaseException as error:
            local = None if isinstance(error, PeerFailed) else error
            if local is not None:
                self._tell_others()
            first, report = self._agree(local)
            if first == self.rank:
                raise
            raise _relayed(first, *report)
        first, report = self._agree(None)
        if first is not None:
            raise _relayed(first, *report)

    def close(self):
        """Release the group's communicators, once every rank is done with it. A group that
        saw a failure keeps them: collectives that will never finish still use them."""
        if self._peer_failed is not None:
            return
        self._watch.Cancel()
        self._watch.Wait()
        self._comm.Free()
        self._control.Free()

    def _tell_others(self):
        message = np.array([self.rank], np.int64)
        self._sent += [(self._control.Isend(message, dest=rank, tag=_FAILED), message)
                       for rank in range(self.size) if rank != self.rank]

    def _agree(self, local):
        """(the first rank that failed, its report), or (None, None) if none did; every
        rank calls this once per guard."""
        first = self._control.allreduce(self.size if local is None else self.rank, op=MPI.MIN)
        if first == self.size:
            return None, None
        if self._peer_failed is None:  # no message came: stop listening for one
            self._watch.Cancel()
            self._watch.Wait()
            self._peer_failed = first
        return first, self._control.bcast(_report(local) if self.rank == first else None,
                                          root=first)


def _cuda_aware(mpi):
    """Whether MPI takes device buffers: MINIGRAD_MPI_CUDA_AWARE (1 / 0) if set, else the MPI
    library's own answer (``MPIX_Query_cuda_support``), else False."""
    forced = os.environ.get("MINIGRAD_MPI_CUDA_AWARE")
    if forced not in (None, ""):
        return forced == "1"
    try:
        return bool(ctypes.CDLL(mpi.__file__).MPIX_Query_cuda_support())
    except (OSError, AttributeError):
        return False


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return _tensor, (backend.host_copy(obj.array), obj.requires_grad, obj.device)
        return NotImplemented


def _tensor(array, requires_grad, device):
    return Tensor._wrap(backend.to_device(array, device), requires_grad)


def _dumps(obj):
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def _report(error):
    """What other ranks need to raise ``error`` again: (its class, or None if the class cannot
    travel, the class's name, message, traceback, exit code)."""
    cls = type(error)
    try:
        pickle.dumps(cls)
    except (pickle.PicklingError, AttributeError, TypeError):
        cls = None
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return cls, type(error).__name__, str(error), text, getattr(error, "code", None)


def _relayed(rank, cls, name, message, text, code):
    """The exception of rank ``rank``, made again here, with its traceback as the cause: of
    its own class if that takes a message, else a RuntimeError naming the class."""
    error = None
    if cls is not None and issubclass(cls, SystemExit):
        error = SystemExit(code)
    elif cls is not None:
        try:
            error = cls(f"rank {rank}: {message}")
        except Exception:  # a class that takes other arguments than a message
            pass
    if error is None:
        error = RuntimeError(f"rank {rank}: {name}: {message}")
    error.__cause__ = RemoteTraceback(f"\n\nthe traceback on rank {rank}:\n{text}")
    return error


# ---- differentiable collectives ----

def all_reduce(x, group, kind="all_reduce"):
    """The sum of ``x`` over the ranks of ``group``, on every rank (its time is counted in
    ``group.seconds[kind]``). Differentiable: each rank's output is the same function of
    every rank's input, so the gradient with respect to a rank's input is the sum over the
    ranks of the gradients of their outputs, again an ``all_reduce``, and derivatives of any
    order follow."""
    return apply(group._all_reduce(x.array, "sum", kind), (x,),
                 (lambda g, out: all_reduce(g, group, kind),), "all_reduce", saved=())


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, group=None):
    """``F.batch_norm`` whose training statistics are those of the global batch: every rank's
    share of it together. One Allreduce of the per-channel sums S1 = sum x, S2 = sum x^2 and
    the count n gives mean = S1 / n and var = S2 / n - mean^2 (at least 0); the running
    statistics are updated with them on every rank alike. Built from differentiable ops and
    ``all_reduce``, so its gradients (of any order) are those of batch norm over the global
    batch. Without a group, or in evaluation: ``F.batch_norm``."""
    if not training or group is None:
        return _local_batch_norm(x, running_mean, running_var, weight, bias, training,
                                 momentum, eps)
    _check_channels("batch_norm", x, {"running_mean": running_mean, "running_var": running_var,
                                      "weight": weight, "bias": bias})
    channels = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, channels) + (1,) * (x.ndim - 2)
    local = concat([x.sum(axis=axes), (x * x).sum(axis=axes),
                    full((1,), x.numel() // channels, dtype=x.dtype, device=x.device)])
    total = all_reduce(local, group, "batch_norm")
    count = int(backend.scalar(total.array[2 * channels]))
    if count < 2:
        raise ValueError(f"batch_norm in training needs more than one value per channel over "
                         f"the {group.size} ranks, got input shape {x.shape}")
    mean = total[:channels] / count
    var = (total[channels:2 * channels] / count - mean * mean).clip(0, None)
    x_hat = (x - mean.reshape(shape)) / (var.reshape(shape) + eps).sqrt()
    _update_running(running_mean, running_var, mean, var, count, momentum)
    return _affine(x_hat, weight, bias, shape)


def sync_batch_norm(module, group):
    """Make every batch norm layer of ``module`` take its training statistics over the global
    batch of ``group`` (``batch_norm``), as torch.nn.SyncBatchNorm.convert_sync_batchnorm;
    evaluation still uses the running statistics. The layers, their parameters and their
    state_dict stay what they were. ``group`` None undoes it. Returns ``module``."""
    for layer in module.modules():
        if isinstance(layer, _BatchNorm):
            layer.process_group = group
    return module
