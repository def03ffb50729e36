"""The core package alone, installed in a fresh environment (no extras), runs each documented core
command; the commands that need an extra say which in one line. The venv is built once: the
module's tests are one unit of xdist's work (tests/conftest.py), run by one worker.

A core command imports only core dependencies: a module that arrives with an extra (PyYAML came
with Ray's) would pass every other test, where the test extra installs everything.
"""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTRAS_ONLY = ("ray", "optuna", "pettingzoo", "mpe2", "onnx", "onnxruntime", "envpool", "pytest")


@pytest.fixture(scope="module")
def core_env(tmp_path_factory):
    """A venv with torch 2.13 (the README's first step) and ``pip install .``, nothing else."""
    venv = tmp_path_factory.mktemp("core") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, "torch==2.13.0"], check=True, capture_output=True)
    # a copy of the sources: setuptools builds in the source tree (build/, *.egg-info)
    source = venv.parent / "source"
    skip = shutil.ignore_patterns(".*", "build", "runs", "_build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, source, ignore=skip)
    subprocess.run([*pip, str(source)], check=True, capture_output=True)
    return venv / "bin"


def run(bin_dir, *args, cwd, ok=True):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if ok:
        assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_the_core_install_has_no_extra(core_env, tmp_path):
    listing = run(core_env, "python", "-m", "pip", "list", "--format=freeze", cwd=tmp_path)
    installed = {line.split("==")[0].lower() for line in listing.stdout.splitlines()}
    assert not installed & set(EXTRAS_ONLY)
    assert {"rlagents", "torch", "gymnasium", "pyyaml"} <= installed


def test_documented_core_commands_run_on_the_core_install(core_env, tmp_path):
    run(core_env, "rlrun", "--list-agents", cwd=tmp_path)
    run(core_env, "rlrun", "--env", "CartPole-v1", "--agent", "ppo", "--show-config", cwd=tmp_path)
    run(
        core_env, "rlrun", "--env", "CartPole-v1", "--agent", "dqn", "--steps", "2000",
        "--eval-every", "1000", "--eval-episodes", "2", "--run-dir", "runs/dqn", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    (tmp_path / "best.yaml").write_text("learning_rate: 0.0005\nbatch_size: 32\n")
    run(
        core_env, "rlrun", "--env", "CartPole-v1", "--agent", "dqn", "--hyperparams", "best.yaml",
        "--steps", "1000", "--eval-episodes", "1", "--run-dir", "runs/yaml", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    run(core_env, "rlrun", "--load", "runs/dqn/checkpoint", "--eval-only", "--eval-episodes", "2",
        cwd=tmp_path)  # fmt: skip
    run(core_env, "rlrun", "plot", "runs/dqn", "--out", "curve.png", cwd=tmp_path)
    assert (tmp_path / "curve.png").stat().st_size > 0
    script = textwrap.dedent("""
        import gymnasium as gym
        import rlagents
        result = rlagents.train(gym.make("CartPole-v1"), "ppo", steps=1000, eval_episodes=1,
                                run_dir="runs/api", progress_bar=False)
        print(result.status)
    """)
    assert run(core_env, "python", "-c", script, cwd=tmp_path).stdout.strip() == "done"


NEEDS_AN_EXTRA = [
    (("--env", "CartPole-v1", "--agent", "ppo", "--seeds", "0-1", "--steps", "100"), "ray"),
    (("export", "runs/dqn/checkpoint", "--out", "p.onnx"), "export"),
    (("--env", "classic/tictactoe-v3", "--agent", "dqn", "--steps", "100"), "multiagent"),
]


def test_a_command_that_needs_an_extra_names_it_in_one_line(core_env, tmp_path):
    run(core_env, "rlrun", "--env", "CartPole-v1", "--agent", "dqn", "--steps", "100",
        "--eval-episodes", "0", "--run-dir", "runs/dqn", "--quiet", cwd=tmp_path)  # fmt: skip
    for args, extra in NEEDS_AN_EXTRA:
        result = run(core_env, "rlrun", *args, cwd=tmp_path, ok=False)
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert f"rlagents[{extra}]" in line, line
