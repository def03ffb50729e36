"""Tests that start Ray (``local_ray``) share one local Ray with 2 CPUs for the whole session,
stopped at its end; a run in a subprocess starts a local Ray of its own, with 2 CPUs too.
``reap`` ends what a subprocess test started if the test fails or times out first.

The suite runs on pytest-xdist workers (``-n auto`` in pyproject.toml); every test that starts
Ray runs on one of them, one after another, so that no two local Rays share the machine's cores
and the session's ``local_ray`` is started once."""

import os
import subprocess

import pytest
from rlagents_test_plugin.processes import kill_tree

os.environ.setdefault("RLAGENTS_RAY_CPUS", "2")

# test ids, from the repository root
RAY_TESTS = ("tests/rlagents/run/distributed/", "tests/rlagents/experiments/", "tests/docs/")
CORE_INSTALL = "tests/test_core_install.py"  # its tests share one fresh venv


def pytest_xdist_make_scheduler(config, log):
    """xdist's load scheduling, with every test that starts Ray in one unit of work (one
    worker, one after another), and the core-install tests in another. Not ``--dist
    loadgroup``: with pytest 9 its ``xdist_group`` marks had no effect here (marked tests ran
    on both workers; xdist 3.8)."""
    from xdist.scheduler import LoadScopeScheduling

    class RayTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(CORE_INSTALL):
                return CORE_INSTALL
            return "ray" if nodeid.startswith(RAY_TESTS) else nodeid

    return RayTestsTogether(config, log)


@pytest.fixture(scope="session")
def local_ray():
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def reap():
    """``reap(process)``: a ``subprocess.Popen`` the test started; if it still runs when the
    test ends (the test failed or timed out before its end), it and its children (a local Ray)
    are killed and its pipes closed, so that it does not load the tests after it."""
    started = []
    yield started.append
    for process in started:
        if process.poll() is None:
            kill_tree(process.pid)
        try:  # its pipes close once every process holding them has ended
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            kill_tree(process.pid)  # what started meanwhile
            process.kill()
