"""Tests that run on several MPI processes at once (``mpiexec -n 2 python -m pytest
tests/distributed``): every rank runs the same tests in the same order.

A test that takes the ``group`` fixture gets a fresh ProcessGroup of all ranks and runs
inside its guard, so that a test failing on one rank (an assertion before a collective the
others wait in) fails on every rank instead of leaving them waiting; the next test gets a
group of its own.
"""
import pytest

from minigrad import distributed


@pytest.fixture
def group():
    if not distributed.launched():
        pytest.skip("runs under mpiexec: mpiexec -n 2 python -m pytest tests/distributed "
                    "(tests/distributed/test_launch.py starts it)")
    group = distributed.world()
    if group is None:
        pytest.skip("needs at least 2 MPI processes: mpiexec -n 2")
    yield group
    group.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    group = item.funcargs.get("group") if hasattr(item, "funcargs") else None
    if group is None:
        return (yield)
    with group.guard():
        return (yield)
