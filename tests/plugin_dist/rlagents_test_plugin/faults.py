"""An env and an agent that fail on request, for the rlagents reliability tests.

``FaultyEnv-v0`` is registered through the ``rlagents.envs`` entry-point group (see this
distribution's pyproject.toml); ``rlagents_test_plugin.faults:Registered-v0`` shows Gymnasium's
``module:EnvId`` form. ``FaultyAgent`` is named as ``rlagents_test_plugin.faults:FaultyAgent``.
Every ``*_at`` setting counts env steps from the start of the process's env (or agent).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlagents import Agent, Transition


class FaultyEnv(gym.Env):
    """Four float observations, two (or, with ``box_actions``, continuous) actions; episodes of
    ``episode_length`` steps with reward 1 per step, unless a fault is asked for."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        raise_at: int = 0,
        raise_in_reset_at: int = 0,
        nan_reward_at: int = 0,
        inf_reward_at: int = 0,
        nan_obs_at: int = 0,
        never_ends: bool = False,
        episode_length: int = 50,
        box_actions: bool = False,
        sleep: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        self.observation_space = spaces.Box(-10.0, 10.0, (4,), np.float32)
        self.action_space = (
            spaces.Box(-1.0, 1.0, (1,), np.float32) if box_actions else spaces.Discrete(2)
        )
        self.settings = dict(
            raise_at=raise_at,
            raise_in_reset_at=raise_in_reset_at,
            nan_reward_at=nan_reward_at,
            inf_reward_at=inf_reward_at,
            nan_obs_at=nan_obs_at,
        )
        self.never_ends = never_ends
        self.episode_length = episode_length
        self.sleep = sleep
        self.render_mode = render_mode
        self.total_steps = 0
        self.t = 0

    def _obs(self) -> np.ndarray:
        return self.np_random.uniform(-1, 1, 4).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        at = self.settings["raise_in_reset_at"]
        if at and self.total_steps >= at:
            raise RuntimeError("simulated fault in reset()")
        self.t = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.total_steps += 1
        self.t += 1
        s = self.settings
        if s["raise_at"] and self.total_steps >= s["raise_at"]:
            raise RuntimeError(f"simulated fault after {self.total_steps} steps")
        if self.sleep:
            time.sleep(self.sleep)
        obs, reward = self._obs(), 1.0
        if s["nan_reward_at"] and self.total_steps == s["nan_reward_at"]:
            reward = float("nan")
        if s["inf_reward_at"] and self.total_steps == s["inf_reward_at"]:
            reward = float("inf")
        if s["nan_obs_at"] and self.total_steps == s["nan_obs_at"]:
            obs[1] = np.nan
        terminated = not self.never_ends and self.t >= self.episode_length
        return obs, reward, terminated, False, {}

    def render(self) -> np.ndarray:
        return np.zeros((8, 8, 3), np.uint8)


gym.register("Registered-v0", entry_point=FaultyEnv, max_episode_steps=30)


@dataclass
class FaultyConfig:
    raise_in_act_at: int = 0
    """act() raises from this step on (0: never)."""
    raise_in_update_at: int = 0
    """update() raises from this step on."""
    bad_shape_at: int = 0
    """act() returns one action too many."""
    bad_dtype_at: int = 0
    """act() returns float actions for a Discrete space."""
    out_of_bounds_at: int = 0
    """act() returns an action outside the space."""
    nan_action_at: int = 0
    """act() returns NaN (Box spaces)."""
    nan_metric_at: int = 0
    """update() returns a NaN metric from this step on."""
    text_metric_at: int = 0
    """update() returns a metric that is not a number."""
    interrupt_at: int = 0
    """act() raises KeyboardInterrupt (as Ctrl-C would)."""
    fail_with_seed: int = -1
    """act() raises at once in a run with this seed (one seed of a --seeds group)."""


class FaultyAgent(Agent):
    """Random actions; counts steps in its state; fails as its config says."""

    Config = FaultyConfig
    observation_spaces: ClassVar = (spaces.Box,)
    action_spaces: ClassVar = (spaces.Discrete, spaces.Box)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rng = np.random.default_rng(self.seed)
        self.steps = 0
        self.weights = np.zeros(4, np.float32)

    def _due(self, at: int) -> bool:
        return bool(at) and self.steps + 1 >= at

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        c = self.config
        n = len(obs)
        if not explore:
            return self._random(n)
        if self._due(c.interrupt_at):
            raise KeyboardInterrupt
        if self._due(c.raise_in_act_at) or self.seed == c.fail_with_seed:
            raise ValueError("simulated fault in act()")
        actions = self._random(n)
        if self._due(c.bad_shape_at):
            return self._random(n + 1)
        if self._due(c.bad_dtype_at):
            return actions.astype(np.float64) + 0.5
        if self._due(c.out_of_bounds_at):
            return actions + 7
        if self._due(c.nan_action_at):
            return np.full_like(actions, np.nan, dtype=np.float32)
        return actions

    def _random(self, n: int) -> np.ndarray:
        space = self.action_space
        if isinstance(space, spaces.Discrete):
            return self.rng.integers(0, space.n, size=n)
        return self.rng.uniform(-1, 1, (n, *space.shape)).astype(np.float32)

    def observe(self, t: Transition) -> None:
        self.steps += len(t.reward)
        self.weights += t.obs.mean(axis=0)  # NaN here would show a NaN observation got through

    def update(self) -> dict[str, Any]:
        c = self.config
        if c.raise_in_update_at and self.steps >= c.raise_in_update_at:
            raise RuntimeError("simulated fault in update()")
        if c.nan_metric_at and self.steps >= c.nan_metric_at:
            return {"loss": float("nan"), "q": float("inf")}
        if c.text_metric_at and self.steps >= c.text_metric_at:
            return {"loss": "high"}
        return {"loss": 1.0} if self.steps % 10 == 0 else {}

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "weights": self.weights.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = int(state["steps"])
        self.weights[:] = state["weights"]
