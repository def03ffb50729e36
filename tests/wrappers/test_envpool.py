"""The EnvPool backend: EnvPool's C++ CarRacing under the CarRacing preset has the Gymnasium
env's spaces and episode structure, passes Gymnasium's env checker, and a run trains on it while
it evaluates on Gymnasium's env. Skipped where EnvPool is not installed (it is optional)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from rlagents_test_plugin.runner import invoke

import wrappers
from wrappers.envpool_env import EnvPoolEnv, has_envpool

needs_envpool = pytest.mark.skipif(not has_envpool(), reason="EnvPool is not installed")


def _episode(env, action, seed):
    """Length, return and how a constant-action episode ends."""
    env.reset(seed=seed)
    length, total = 0, 0.0
    while True:
        _, reward, terminated, truncated, _ = env.step(action)
        length, total = length + 1, total + float(reward)
        if terminated or truncated:
            return length, total, terminated


@needs_envpool
@pytest.mark.parametrize("frame_skip", [1, 4])
def test_envpool_car_racing_has_the_gymnasium_presets_spaces_and_episode_ends(frame_skip):
    ours = wrappers.car_racing(frame_skip=frame_skip, backend="envpool")
    theirs = wrappers.car_racing(frame_skip=frame_skip)
    assert ours.observation_space == theirs.observation_space  # Box(0, 255, (4, 84, 84), uint8)
    assert ours.action_space == theirs.action_space
    still = np.zeros(3, dtype=np.float32)
    for env in (ours, theirs):  # standing still: cut at 1,000 frames, never terminated
        length, total, terminated = _episode(env, still, seed=0)
        assert (length, terminated) == (1000 // frame_skip, False)
        assert -100 < total < -85  # the first tile's reward, then −0.1 a frame
    obs, _ = ours.reset(seed=3)
    assert obs.dtype == np.uint8 and np.array_equal(obs, ours.reset(seed=3)[0])  # seeded


@needs_envpool
def test_envpool_env_passes_gymnasiums_checker():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checker's notes on render modes
        check_env(EnvPoolEnv("CarRacing-v3"), skip_render_check=True)


@needs_envpool
def test_envpool_refuses_what_it_does_not_have():
    with pytest.raises(ValueError, match="continuous actions only"):
        wrappers.car_racing(continuous=False, backend="envpool")
    with pytest.raises(ValueError, match="not domain_randomize"):
        wrappers.car_racing(domain_randomize=True, backend="envpool")
    with pytest.raises(ValueError, match="EnvPool has no env"):
        EnvPoolEnv("NoSuchEnv-v0")


@needs_envpool
def test_a_run_trains_on_envpool_and_evaluates_on_gymnasium(tmp_path):
    from rlagents.run.options import RunOptions
    from rlagents.run.runner import Run

    run = Run(RunOptions(env_id="CarRacing-v3", agent="random", run_dir=str(tmp_path / "r")))
    assert run.plan.backend == "envpool"  # auto, EnvPool installed
    assert type(run.stepper.env.unwrapped).__name__ == "EnvPoolEnv"
    assert type(run.evaluation._env().unwrapped).__name__ == "CarRacing"
    run.close()
    result = invoke(
        *("--env", "CarRacing-v3", "--agent", "random", "--steps", "60", "--eval-episodes", "1"),
        *("--backend", "envpool", "--preset-kwargs", "frame_skip=4"),
        run_dir=tmp_path / "cli",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "cli" / "config.json").read_text())["backend"] == "envpool"
    gym_run = invoke(
        *("--env", "CarRacing-v3", "--agent", "random", "--steps", "60", "--eval-episodes", "0"),
        *("--backend", "gymnasium"),
        run_dir=tmp_path / "gym",
    )
    assert gym_run.exit_code == 0, gym_run.stderr
    assert json.loads((tmp_path / "gym" / "config.json").read_text())["backend"] == "gymnasium"


def test_backend_envpool_where_it_has_no_twin_or_is_missing_is_one_line(tmp_path, monkeypatch):
    result = invoke("--env", "CartPole-v1", "--agent", "random", "--backend", "envpool")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "EnvPool backs CarRacing-v3 (preset car_racing), not CartPole-v1" in line
    import wrappers.envpool_env as envpool_env

    monkeypatch.setattr(envpool_env, "has_envpool", lambda: False)
    result = invoke("--env", "CarRacing-v3", "--agent", "random", "--backend", "envpool")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == "rlrun: error: --backend envpool needs EnvPool: pip install envpool"
    auto = invoke(
        *("--env", "CarRacing-v3", "--agent", "random", "--steps", "10", "--eval-episodes", "0"),
        run_dir=tmp_path / "auto",
    )
    assert auto.exit_code == 0, auto.stderr  # auto without EnvPool: Gymnasium's
    assert json.loads((tmp_path / "auto" / "config.json").read_text())["backend"] == "gymnasium"
