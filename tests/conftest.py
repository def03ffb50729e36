"""Tests that start Ray (``local_ray``) share one local Ray with 2 CPUs for the whole session,
stopped at its end; a run in a subprocess starts a local Ray of its own, with 2 CPUs too."""

import os

import pytest

os.environ.setdefault("RLAGENTS_RAY_CPUS", "2")


@pytest.fixture(scope="session")
def local_ray():
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
