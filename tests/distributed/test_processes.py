"""What a run on workers does with processes: a worker killed mid-run is replaced and the run
goes on; Ctrl-C saves the checkpoint and leaves no Ray process behind. Real ``rlrun``
subprocesses, each with its own local Ray of 2 CPUs."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

RLRUN = shutil.which("rlrun")
pytestmark = pytest.mark.skipif(RLRUN is None, reason="rlrun is not on PATH")


def _start(run_dir, *args):
    return subprocess.Popen(
        [RLRUN, "--env", "CartPole-v1", "--run-dir", str(run_dir), "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RLAGENTS_RAY_CPUS": "2"},
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


def test_a_killed_worker_is_replaced_and_the_run_goes_on(tmp_path):
    run_dir = tmp_path / "run"
    process = _start(run_dir, "--agent", "ppo", "--workers", "2", "--num-envs", "2",
                     "--steps", "40000", "--set", "n_steps=64")  # fmt: skip
    victim = _workers_when_training(process, run_dir)[0]
    os.kill(victim, signal.SIGKILL)
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr
    assert "died at step" in stderr and "replaced it (1 so far)" in stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] >= 40_000 and summary["error"] is None


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_saves_and_leaves_no_ray_process(tmp_path, sig, code):
    run_dir = tmp_path / "run"
    process = _start(run_dir, "--agent", "a3c", "--steps", "10000000")
    _workers_when_training(process, run_dir)
    ray_processes = descendants(process.pid)  # raylet, gcs_server, the workers, Ray's agents
    assert len(ray_processes) >= 4
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert (run_dir / "checkpoint" / "agent.json").exists()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in ray_processes):
        time.sleep(0.2)
    assert not [command_line(p) for p in ray_processes if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (Ray's raylet and gcs_server, its workers below the
    raylet), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":  # a zombie has ended; only its parent's wait is missing
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
