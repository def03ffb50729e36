"""What a run on workers does with processes: a worker killed mid-run is replaced and the run
goes on; Ctrl-C saves the checkpoint and leaves no Ray process behind. Real ``rlrun``
subprocesses, each with its own local Ray of 2 CPUs."""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
from rlagents_test_plugin.processes import alive, command_line, default_sigint, descendants

RLRUN = shutil.which("rlrun")
pytestmark = pytest.mark.skipif(RLRUN is None, reason="rlrun is not on PATH")


def _start(run_dir, *args):
    return subprocess.Popen(
        [RLRUN, "--env", "CartPole-v1", "--run-dir", str(run_dir), "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RLAGENTS_RAY_CPUS": "2"},
        preexec_fn=default_sigint,
    )


def _workers_when_training(process, run_dir, timeout=90):
    """The pids of the run's Ray workers, once its first episodes are logged."""
    deadline = time.monotonic() + timeout
    progress = run_dir / "progress.csv"
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if progress.exists() and len(progress.read_text().splitlines()) > 1:
            workers = [p for p in descendants(process.pid) if "ray::Worker" in command_line(p)]
            if len(workers) == 2:
                return workers
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the run did not start training in time")


def test_a_killed_worker_is_replaced_and_the_run_goes_on(tmp_path, reap):
    run_dir = tmp_path / "run"
    process = _start(run_dir, "--agent", "ppo", "--workers", "2", "--num-envs", "2",
                     "--steps", "40000", "--set", "n_steps=64")  # fmt: skip
    reap(process)
    victim = _workers_when_training(process, run_dir)[0]
    os.kill(victim, signal.SIGKILL)
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr
    assert "died at step" in stderr and "replaced it (1 so far)" in stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] >= 40_000 and summary["error"] is None


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_saves_and_leaves_no_ray_process(tmp_path, sig, code, reap):
    run_dir = tmp_path / "run"
    process = _start(run_dir, "--agent", "a3c", "--steps", "10000000")
    reap(process)
    _workers_when_training(process, run_dir)
    ray_processes = descendants(process.pid)  # raylet, gcs_server, the workers, Ray's agents
    assert len(ray_processes) >= 4
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert (run_dir / "checkpoint" / "agent.json").exists()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(p) for p in ray_processes):
        time.sleep(0.2)
    assert not [command_line(p) for p in ray_processes if alive(p)]
