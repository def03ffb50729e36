"""Tests that start Ray start one local Ray with 2 CPUs for the whole session and stop it."""

import os

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

# A run in a subprocess starts a local Ray of its own: give it 2 CPUs too.
os.environ.setdefault("RLAGENTS_RAY_CPUS", "2")


@pytest.fixture(scope="session")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
