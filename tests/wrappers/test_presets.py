"""Every preset passes Gymnasium's env checker, takes make kwargs and refuses what it can't do."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import wrappers

ROOT = Path(__file__).resolve().parents[2]

PRESET_CASES: dict[str, Callable[[], gym.Env[Any, Any]]] = {
    "atari": lambda: wrappers.atari("ALE/Breakout-v5"),
    "atari-life-loss-clip": lambda: wrappers.atari(
        "ALE/Pong-v5", terminal_on_life_loss=True, clip_reward=True, max_episode_steps=50
    ),
    "car_racing": lambda: wrappers.car_racing(),
    "car_racing-discrete-skip-64": lambda: wrappers.car_racing(
        continuous=False, frame_skip=2, screen_size=64, crop_dashboard=False
    ),
    "discretized-cartpole": lambda: wrappers.discretized("CartPole-v1"),
    "discretized-mountaincar-multi": lambda: wrappers.discretized(
        "MountainCar-v0", bins=(6, 8), flatten=False
    ),
    "discretized-acrobot": lambda: wrappers.discretized("Acrobot-v1", bins=4),
    # Envs whose own spaces the checker does not warn about (Pendulum's action range, the
    # infinite bounds of CartPole's velocities); noise's infinite bounds are by design.
    "remove_velocity-stacked": lambda: wrappers.remove_velocity("CartPole-v1", stack_size=4),
    "flicker": lambda: wrappers.flicker("MountainCar-v0", p=0.5),
    "noise-stacked": lambda: wrappers.noise("Acrobot-v1", stack_size=2),
    "dropout": lambda: wrappers.dropout("LunarLander-v3", p=0.3),
}


# check_env is meant for unwrapped envs and warns that a wrapped one "is different from
# the unwrapped version"; every preset is wrapped by design, so that warning is expected.
@pytest.mark.filterwarnings("ignore:.*is different from the unwrapped version:UserWarning")
@pytest.mark.parametrize("case", sorted(PRESET_CASES))
def test_presets_pass_the_env_checker(case: str) -> None:
    env = PRESET_CASES[case]()
    with warnings.catch_warnings():
        if case.startswith("noise"):  # Gaussian noise has no bound (wrappers.ObservationNoise)
            warnings.filterwarnings("ignore", ".*Box observation space m.* is .*infinity")
        check_env(env, skip_render_check=True)
    env.close()


def test_presets_registry() -> None:
    expected = {
        "action_mask": wrappers.action_mask,
        "agents": wrappers.agents,
        "atari": wrappers.atari,
        "selfplay": wrappers.selfplay,
        "car_racing": wrappers.car_racing,
        "discretized": wrappers.discretized,
        "remove_velocity": wrappers.remove_velocity,
        "flicker": wrappers.flicker,
        "noise": wrappers.noise,
        "dropout": wrappers.dropout,
    }
    assert dict(wrappers.PRESETS) == expected


def test_rlrun_call_forms_pass_make_kwargs_through() -> None:
    make_kwargs: dict[str, Any] = {"render_mode": "rgb_array", "max_episode_steps": 3}
    envs = [
        wrappers.atari("ALE/Pong-v5", **make_kwargs),
        wrappers.car_racing(env_id="CarRacing-v3", **make_kwargs),
        wrappers.discretized("CartPole-v1", **make_kwargs),
    ]
    for env in envs:
        assert env.render_mode == "rgb_array"
        env.reset(seed=0)
        truncated = [env.step(env.action_space.sample())[3] for _ in range(3)]
        assert truncated == [False, False, True], env
        frame = env.render()
        assert isinstance(frame, np.ndarray) and frame.ndim == 3
        env.close()


def test_car_racing_preset_frames() -> None:
    env = wrappers.car_racing()
    assert env.observation_space == gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    assert isinstance(env.action_space, gym.spaces.Box)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84)
    # Frame skip sums the rewards of the repeated steps.
    skipping = wrappers.car_racing(frame_skip=3, stack_size=2)
    single = wrappers.car_racing(stack_size=2)
    skipping.reset(seed=0)
    single.reset(seed=0)
    action = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    summed = sum(float(single.step(action)[1]) for _ in range(3))
    assert float(skipping.step(action)[1]) == pytest.approx(summed)
    rebuilt = gym.make(skipping.spec)  # type: ignore[arg-type]
    assert rebuilt.observation_space == gym.spaces.Box(0, 255, (2, 84, 84), np.uint8)


def test_discretized_accepts_an_env() -> None:
    env = wrappers.discretized(gym.make("MountainCar-v0"), bins=5)
    assert env.observation_space == gym.spaces.Discrete(25)
    with pytest.raises(ValueError, match="cannot apply make kwargs"):
        wrappers.discretized(gym.make("MountainCar-v0"), render_mode="rgb_array")


@pytest.mark.parametrize(
    ("call", "accepts"),
    [
        (lambda: wrappers.atari("CartPole-v1"), r"atari\(\) accepts ALE/<Game>-v5"),
        (lambda: wrappers.car_racing(env_id="CartPole-v1"), r"car_racing\(\) accepts CarRacing"),
        (lambda: wrappers.car_racing(env_id="CarRacing-v99"), r"car_racing\(\) accepts CarRacing"),
        (lambda: wrappers.discretized("ALE/Pong-v5"), r"discretized\(\) accepts .*1-D Box"),
        (lambda: wrappers.discretized("NoSuchEnv-v0"), r"discretized\(\) accepts"),
        (
            lambda: wrappers.discretized("FrozenLake-v1"),
            r"discretized\(\) accepts .*got FrozenLake",
        ),
        (lambda: wrappers.discretized(42), r"discretized\(\) accepts"),
    ],
)
def test_unsupported_ids_raise_one_line_value_errors(call: Callable[[], Any], accepts: str) -> None:
    with pytest.raises(ValueError, match=accepts) as err:
        call()
    assert "\n" not in str(err.value)


def test_import_pulls_in_neither_torch_nor_sibling_packages() -> None:
    code = (
        "import sys, wrappers; "
        "roots = {m.split('.')[0] for m in sys.modules}; "
        "bad = roots & {'torch', 'rlagents', 'cli', 'ale_py'}; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
