"""Which device the suite runs on: ``--device cpu`` (the default) or ``--device cuda``.

    python -m pytest -q                               # NumPy, device "cpu"
    python -m pytest -q --device cuda                 # device "cuda" against the CuPy stand-in
                                                      # (tests/support/cupy_standin.py): no GPU needed
    python -m pytest -q --device cuda --real-cupy     # device "cuda" against the installed CuPy
                                                      # (skipped, with the reason, without a GPU)

The environment variable MINIGRAD_TEST_DEVICE gives the default of ``--device``.

With ``--device cuda`` the stand-in (or the real CuPy) is installed for the whole session and
``devices.DEVICE`` is "cuda", so every test that makes its tensors with the helpers in
``tests/support/devices.py`` runs on the device. Tests that are inherently about the host declare it:

    @pytest.mark.cpu_only("compares with PyTorch on the CPU")

and are skipped in a device run with that reason; ``@pytest.mark.standin_only(reason)`` marks
tests that need the stand-in's extra checks (transfer counts), skipped against real CuPy.
Modules that make no tensors at all (HOST_MODULES) run in the CPU run only. At the end of a
device run a summary line says which CuPy was used and what was skipped, and why.

The ``cuda`` fixture makes device "cuda" usable in a single test of a CPU run (it installs the
stand-in for that test); in a device run it is the session's CuPy.
"""
import collections
import fnmatch
import os

import pytest

import cupy_standin
import devices
from minigrad import backend
from wgan import cli

# Test modules that make no tensors (host-side data handling, or suites owned elsewhere that
# do not take a device): run in the CPU run, skipped in a device run with this reason.
# Paths relative to tests/.
_WGAN_ON_CPU = ("wgan tests run on the CPU; the device run trains with device='cuda' in "
                "wgan/test_device_training.py")
HOST_MODULES = {
    "wgan/test_data.py": "host-side data loading: makes no tensors",
    "wgan/test_losses.py": _WGAN_ON_CPU,
    "wgan/test_models.py": _WGAN_ON_CPU,
    "wgan/test_train.py": _WGAN_ON_CPU,
    "wgan/test_cli.py": _WGAN_ON_CPU,
    "support/test_cupy_standin.py": "tests the stand-in module itself, not a device",
    "minigrad/test_backend_rule.py": "static check of the source, not a device",
}


def pytest_addoption(parser):
    group = parser.getgroup("minigrad", "minigrad device selection")
    group.addoption("--device", choices=("cpu", "cuda"),
                    default=os.environ.get("MINIGRAD_TEST_DEVICE", "cpu"),
                    help='device of the tensors under test (default "cpu"; "cuda" runs against '
                         "the CuPy stand-in unless --real-cupy)")
    group.addoption("--real-cupy", action="store_true", default=False,
                    help="with --device cuda: use the installed CuPy and a GPU instead of the "
                         "stand-in (tests are skipped, with the reason, if there is none)")


def _real_cupy_problem():
    """None if CuPy imports and sees a GPU, else why not."""
    try:
        import cupy
    except Exception as e:  # ImportError, or a broken CUDA installation
        return f"CuPy cannot be imported ({type(e).__name__}: {e})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:
        return f"CuPy finds no usable GPU ({type(e).__name__}: {e})"
    return None if count > 0 else "CuPy finds no GPU (device count 0)"


def pytest_configure(config):
    # every training command of the suite runs in one process unless a test asks for more
    # (tests/distributed launches mpiexec itself): the default of --processes
    os.environ.setdefault(cli.PROCESSES_ENV, "1")
    config.addinivalue_line("markers", "cpu_only(reason): the test is about the host (NumPy "
                                       "specifics, comparisons with PyTorch); skipped with "
                                       "--device cuda")
    config.addinivalue_line("markers", "standin_only(reason): needs the CuPy stand-in's extra "
                                       "checks; skipped with --real-cupy")
    device, real = config.getoption("--device"), config.getoption("--real-cupy")
    if real and device != "cuda":
        raise pytest.UsageError("--real-cupy needs --device cuda")
    devices.DEVICE = device
    config._minigrad_unavailable = None
    config._minigrad_previous_cupy = backend.set_cupy_module(None)
    if device == "cpu":
        devices.BACKEND = "numpy"
    elif real:
        devices.BACKEND = "cupy"
        config._minigrad_unavailable = _real_cupy_problem()
    else:
        devices.BACKEND = "stand-in"
        backend.set_cupy_module(cupy_standin)


def pytest_unconfigure(config):
    backend.set_cupy_module(getattr(config, "_minigrad_previous_cupy", None))


def _host_module_reason(item):
    name = os.path.relpath(str(item.fspath), os.path.dirname(__file__)).replace(os.sep, "/")
    for pattern, reason in HOST_MODULES.items():
        if fnmatch.fnmatch(name, pattern):
            return reason
    return None


def _reason(marker):
    return marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")


def pytest_collection_modifyitems(config, items):
    if devices.DEVICE != "cuda":
        return
    unavailable = config._minigrad_unavailable
    for item in items:
        if unavailable:
            item.add_marker(pytest.mark.skip(reason=f"--real-cupy: {unavailable}"))
            continue
        host = _host_module_reason(item)
        cpu_only = item.get_closest_marker("cpu_only")
        standin_only = item.get_closest_marker("standin_only")
        if host:
            item.add_marker(pytest.mark.skip(reason=f"CPU run only: {host}"))
        elif cpu_only:
            item.add_marker(pytest.mark.skip(reason=f"CPU only: {_reason(cpu_only)}"))
        elif standin_only and devices.BACKEND == "cupy":
            item.add_marker(pytest.mark.skip(reason=f"stand-in only: {_reason(standin_only)}"))


@pytest.fixture
def cuda():
    """Device "cuda" usable in this test: in a device run, the session's CuPy (stand-in or
    real); in a CPU run, the stand-in, installed for this test only."""
    if devices.DEVICE == "cuda":
        yield "cuda"
        return
    previous = backend.set_cupy_module(cupy_standin)
    try:
        yield "cuda"
    finally:
        backend.set_cupy_module(previous)


@pytest.fixture
def standin_transfers(cuda):
    """The stand-in's counter of host-device copies, reset; device "cuda" is usable."""
    if backend._cupy is not cupy_standin:
        pytest.skip("transfer counts need the CuPy stand-in")
    cupy_standin.transfers.reset()
    return cupy_standin.transfers


def pytest_report_header(config):
    return f"minigrad test device: {devices.DEVICE} ({devices.BACKEND})"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line naming the device and its CuPy, and the skipped tests grouped by reason."""
    if devices.DEVICE != "cuda":
        return
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    xfailed = len(stats.get("xfailed", []))
    reasons = collections.Counter()
    for report in stats.get("skipped", []):
        if isinstance(report.longrepr, tuple):
            reasons[report.longrepr[2].removeprefix("Skipped: ")] += 1
    cupy = {"stand-in": "the CuPy stand-in tests/support/cupy_standin.py",
            "cupy": "the installed CuPy"}[devices.BACKEND]
    terminalreporter.write_sep("-", "device suite")
    terminalreporter.write_line(f'device "cuda" against {cupy}: {passed} passed, '
                                f"{failed} failed, {xfailed} xfailed (known bugs, reported), "
                                f"{sum(reasons.values())} skipped")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"  skipped {count:4d}: {reason}")
