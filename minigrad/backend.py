"""NumPy / CuPy dispatch: the only module that knows CuPy exists.

A Tensor holds one array: a ``numpy.ndarray`` on "cpu", a ``cupy.ndarray`` on "cuda".
Everything that differs between the two libraries lives here: which module to use for a
device, moving arrays between host and device, random number generators, the scatter-add
behind advanced indexing's gradient, im2col and col2im behind convolution and the leaky
ReLU's ``sign_scale`` (loops compiled with Numba on the CPU, minigrad.cpu_kernels), and
turning a 0-d result into a Python number.

CuPy is imported lazily, the first time "cuda" is asked for. Tests install a stand-in
module with ``set_cupy_module`` so that the device code paths run without a GPU.
"""
import contextlib
import ctypes
import os

import numpy as np

from . import cpu_kernels

DEVICES = ("cpu", "cuda")


def _reuse_freed_host_memory():
    """Ask glibc to keep freed memory for reuse instead of returning it to the system.

    By default glibc gives each large NumPy array a fresh memory mapping (or trims the heap
    when it shrinks), so every multi-megabyte temporary of a training step page-faults on
    first touch, one fault per 4 KiB: measured, about a third of a WGAN-GP step. Arrays up
    to 32 MiB (glibc's maximum) are served from the heap instead, and the heap is trimmed
    only when 1 GiB lies free. Settings the user made through MALLOC_*_ variables win.
    Elsewhere than glibc this does nothing.
    """
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 2**20)
    mallopt(m_trim_threshold, 2**30)


_reuse_freed_host_memory()

_cupy = None


def set_cupy_module(module):
    """Use ``module`` as CuPy (tests pass a NumPy-backed stand-in); ``None`` goes back to
    importing the real one on first use. Returns the module that was in use before (or None),
    so that a caller can put it back."""
    global _cupy
    previous, _cupy = _cupy, module
    return previous


class DeviceUnavailable(RuntimeError):
    """Device "cuda" was asked for where CuPy is not installed."""


def cupy():
    """The CuPy module, imported on first use, with an error that says how to get it."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp
        except ImportError as e:
            raise DeviceUnavailable(
                'device "cuda" needs CuPy, which is not installed. Install the GPU extra: '
                'pip install "minigrad-wgan[gpu]" (CUDA 12), or the CuPy wheel for your '
                "CUDA version, e.g. pip install cupy-cuda11x or cupy-cuda13x") from e
        _cupy = cp
    return _cupy


def check_device(device):
    """The name, "cpu" or "cuda", of a device given as a name, in PyTorch's spelling with an
    index ("cuda:0"), or as a ``mg.device``. minigrad's "cuda" is CuPy's current GPU, so the
    only index is 0 (``select_gpu`` chooses which GPU that is)."""
    name, colon, index = device.partition(":") if isinstance(device, str) else (device, "", "")
    if name not in DEVICES:
        raise ValueError(f"unknown device {device!r}: expected one of {DEVICES}")
    if colon and index != "0":
        raise ValueError(f"device {device!r}: minigrad has one device of each kind, {name!r} "
                         f"(also spelled '{name}:0'); to compute on another GPU make it CuPy's "
                         "current device first: minigrad.backend.select_gpu(n)")
    return name


def gpu_count():
    """How many GPUs CuPy sees: 0 where CuPy is not installed or finds no usable GPU."""
    try:
        return cupy().cuda.runtime.getDeviceCount()
    except Exception:  # no CuPy (DeviceUnavailable), or CUDA without a driver or device
        return 0


def xp_of_device(device):
    """The array module (numpy or cupy) for a device name."""
    return np if check_device(device) == "cpu" else cupy()


def is_device_array(array):
    """True for a CuPy array (only possible once CuPy, or the tests' stand-in, is loaded)."""
    return _cupy is not None and isinstance(array, _cupy.ndarray)


def device_of(array):
    """"cpu" for a NumPy array or scalar, "cuda" for a CuPy array."""
    if isinstance(array, (np.ndarray, np.generic)):
        return "cpu"
    if is_device_array(array):
        return "cuda"
    raise TypeError(f"expected a NumPy or CuPy array, got {type(array).__name__}")


def xp_of(array):
    """The array module an array belongs to."""
    return np if device_of(array) == "cpu" else cupy()


def to_device(array, device):
    """``array`` (NumPy, CuPy or a Python value) on ``device``; no copy if already there.

    A copy from the host to the device copies the data: changing the host array afterwards
    does not change the device array (as with CuPy)."""
    if check_device(device) == "cpu":
        return to_host(array)
    cp = cupy()
    return array if isinstance(array, cp.ndarray) else cp.asarray(array)


def to_host(array):
    """A NumPy array with the contents of ``array``, wherever it lives (no copy if it is
    already a NumPy array)."""
    return array.get() if is_device_array(array) else np.asarray(array)


def host_copy(array):
    """A NumPy array that owns a copy of ``array``'s contents: one copy, from either device."""
    return array.get() if is_device_array(array) else np.array(array, copy=True)


def scalar(array):
    """The Python number held by a one-element array (one element crosses to the host)."""
    return array.item()


def im2col(image, kernel, out_hw, stride, dilation, start):
    """The columns of a (C, H, W, N) image for a kh x kw kernel, shape (C, kh, kw, Ho, Wo, N):

        cols[c, i, j, p, q, n] = image[c, p * sh + i * dh - top, q * sw + j * dw - left, n]

    and 0 where that falls outside the image; ``start`` is (top, left), the padding before
    the first row and column. NumPy float32 and float64: a compiled loop
    (minigrad.cpu_kernels); any other array: a strided view of the image (zero-padded first
    where the windows reach outside it), copied in one pass. Both give the same numbers.
    """
    if _compiled(image):
        return cpu_kernels.im2col(np.ascontiguousarray(image), kernel, out_hw, stride,
                                  dilation, start)
    return _im2col_strided(image, kernel, out_hw, stride, dilation, start)


def _im2col_strided(image, kernel, out_hw, stride, dilation, start):
    xp, (c, h, w, n), (top, left) = xp_of(image), image.shape, start
    rows, columns = _padded_size(h, w, kernel, out_hw, stride, dilation, start)
    if (rows, columns, top, left) == (h, w, 0, 0):
        padded = image
    else:
        padded = xp.zeros((c, rows, columns, n), dtype=image.dtype)
        padded[:, top:top + h, left:left + w] = image
    s_c, s_h, s_w, s_n = padded.strides
    (sh, sw), (dh, dw) = stride, dilation
    windows = xp.lib.stride_tricks.as_strided(
        padded, (c,) + tuple(kernel) + tuple(out_hw) + (n,),
        (s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw, s_n))
    return windows.copy()


def col2im(cols, image_hw, stride, dilation, start):
    """The adjoint of ``im2col``: a (C, H, W, N) image in which every entry of the columns
    (C, kh, kw, Ho, Wo, N) is added into the pixel it was read from (entries that fell in the
    padding are dropped), returned as a dense array. Taps are added in the order (i, j), the
    same on every path, so every path gives the same numbers in the same layout.

    Compiled for NumPy float32 and float64 (minigrad.cpu_kernels). Elsewhere, one in-place
    addition per kernel tap, each of one slab of the whole batch, into the padded image
    stored phase by phase: padded row y = q * sh + a is kept at [a, q], so that the rows a
    tap adds to are contiguous runs of Wo * N numbers; one copy at the end turns the phases
    back into rows.
    """
    if _compiled(cols):
        return cpu_kernels.col2im(np.ascontiguousarray(cols), image_hw, stride, dilation,
                                  start)
    return _col2im_slabs(cols, image_hw, stride, dilation, start)


def _col2im_slabs(cols, image_hw, stride, dilation, start):
    xp, (c, kh, kw, oh, ow, n), (h, w), (top, left) = xp_of(cols), cols.shape, image_hw, start
    (sh, sw), (dh, dw) = stride, dilation
    rows, columns = _padded_size(h, w, (kh, kw), (oh, ow), stride, dilation, start)
    hq, wq = -(-rows // sh), -(-columns // sw)
    phases = xp.zeros((c, sh, sw, hq, wq, n), dtype=cols.dtype)
    for i in range(kh):
        m, a = divmod(i * dh, sh)
        for j in range(kw):
            mj, b = divmod(j * dw, sw)
            window = phases[:, a, b, m:m + oh, mj:mj + ow]
            window += cols[:, i, j]  # in place: ``phases[...] +=`` would copy it back
    padded = phases.transpose(0, 3, 1, 4, 2, 5).reshape(c, hq * sh, wq * sw, n)
    return xp.ascontiguousarray(padded[:, top:top + h, left:left + w])


def sign_scale(values, signs, slope):
    """``np.where(signs > 0, values, values * slope)`` (same shapes): the leaky ReLU is
    sign_scale(x, x, a), and its gradient sign_scale(g, x, a). Compiled for NumPy
    float32 and float64: one pass in the memory order of ``values`` (after a copy of
    ``signs`` into that order if theirs differs). Elsewhere ``values * slope``, with
    ``values`` copied back where ``signs > 0``. Either way the
    result is laid out as NumPy lays out ``values * slope``, so that the sums downstream add
    in the same order on every path: the same numbers, in the same layout.
    """
    if not (_compiled(values) and isinstance(signs, np.ndarray) and values.dtype == signs.dtype):
        xp = xp_of(values)
        out = xp.asarray(values * slope)  # an array also for 0-d values
        xp.copyto(out, values, where=signs > 0)
        return out
    slope = values.dtype.type(slope)  # the kernel would compute in float64 for a Python float
    order = _memory_order(values)
    if not values.transpose(order).flags.c_contiguous:  # not dense: a copy in the same order
        values = values.copy(order="K")
        order = _memory_order(values)
    values = values.transpose(order)
    signs = np.ascontiguousarray(signs.transpose(order))
    out = cpu_kernels.sign_scale(values.reshape(-1), signs.reshape(-1), slope)
    return out.reshape(values.shape).transpose(np.argsort(order))


def _memory_order(array):
    """The axes from the largest stride to the smallest."""
    return tuple(np.argsort([-abs(s) for s in array.strides], kind="stable"))


def _compiled(array):
    return isinstance(array, np.ndarray) and array.dtype in (np.float32, np.float64)


def _padded_size(h, w, kernel, out_hw, stride, dilation, start):
    """Rows and columns of a padded image that holds the image at ``start`` and every window."""
    return tuple(max(before + size, (o - 1) * s + (k - 1) * d + 1) for size, k, o, s, d, before
                 in zip((h, w), kernel, out_hw, stride, dilation, start))


def scatter_add(values, positions, size):
    """A 1-D array of ``size`` zeros (values' dtype, device) with each entry of ``values`` added
    at its position in ``positions`` (an integer array of values' shape, entries in
    [0, size)); repeated positions add up. The adjoint of gathering ``array.reshape(-1)[positions]``.

    NumPy: one ``bincount`` with weights (accumulated in float64, then cast), linear in the
    sizes; CuPy: its atomic scatter-add kernel (the method ``cupyx.scatter_add`` calls). Never
    ``numpy.add.at``, which is an order of magnitude slower.
    """
    if is_device_array(values):
        total = cupy().zeros(size, values.dtype)
        total.scatter_add(positions.reshape(-1), values.reshape(-1))
        return total
    total = np.bincount(positions.reshape(-1), weights=values.reshape(-1), minlength=size)
    return total.astype(values.dtype, copy=False)


def select_gpu(index):
    """Make GPU ``index % (visible GPUs)`` CuPy's current device, and return its number:
    one GPU per process when several processes share a machine (minigrad.distributed)."""
    cp = cupy()
    number = index % cp.cuda.runtime.getDeviceCount()
    cp.cuda.Device(number).use()
    return number


def synchronize(device="cuda"):
    """Wait until the device has finished its queued work (for timing); a no-op on "cpu"."""
    if check_device(device) == "cuda":
        cupy().cuda.get_current_stream().synchronize()


# ---- random numbers ----
# One NumPy generator serves every device: samples are drawn on the host and moved to the
# device. CuPy's generator states cannot be saved, and a run must resume exactly from a
# checkpoint; drawing on the host also gives the same numbers on CPU and GPU for one seed.
# What is drawn per step (noise, penalty weights, dropout masks) is small next to the work.

_rng = np.random.default_rng()


def rng():
    """The generator behind every random tensor."""
    return _rng


def manual_seed(seed):
    """Seed the generator, so that runs are reproducible."""
    global _rng
    _rng = np.random.default_rng(seed)


def get_rng_state():
    """The generator's state: a dict of plain numbers that can be saved and restored."""
    return _rng.bit_generator.state


def set_rng_state(state):
    _rng.bit_generator.state = state


# ---- per-sample draws under data parallelism ----
# With data parallelism (minigrad.distributed) each of ``size`` processes holds rows
# rank * n:(rank + 1) * n of every global batch of size * n samples. A random draw with one
# value per sample (a dropout mask) is then drawn for the whole global batch and each process
# keeps its own rows: every process's generator stays in step with the others', and the
# numbers are those a single process training on the whole batch would draw.

_batch_shard = (0, 1)  # (rank, size): this process's share of every batch


@contextlib.contextmanager
def batch_shard(rank, size):
    """Inside, per-sample draws (``per_sample``) are this process's rows of the draw for the
    global batch of ``size`` shares."""
    global _batch_shard
    previous, _batch_shard = _batch_shard, (rank, size)
    try:
        yield
    finally:
        _batch_shard = previous


def per_sample(draw, shape):
    """``draw(rng(), shape)`` for an array whose first axis is the batch (n rows); inside
    ``batch_shard(rank, size)``: rows rank * n:(rank + 1) * n of the draw for size * n rows."""
    rank, size = _batch_shard
    if size == 1:
        return draw(_rng, shape)
    if not shape:
        raise ValueError("a per-sample random draw needs a batch axis under data parallelism, "
                         "got a 0-d shape")
    n = shape[0]
    return draw(_rng, (size * n,) + tuple(shape[1:]))[rank * n:(rank + 1) * n]
