"""Step a batch of envs and return what the agent's :class:`~rlagents.Transition` needs.

Both steppers give the same contract: ``step(actions)`` returns ``(next_obs, obs, reward,
terminated, truncated, finished)`` where ``next_obs`` holds the true final observation of every
episode that ended this step, ``obs`` the observation to act on next (the reset observation
there), and ``finished`` a list of ``(return, length)`` of the episodes that ended (usually empty).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

NO_EPISODES: list[tuple[float, int]] = []


class SingleEnvStepper:
    """One env, stepped directly: a SyncVectorEnv of one env runs CartPole at about 0.4x a bare
    loop, so here the episode bookkeeping stays in plain Python numbers and views."""

    num_envs = 1

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        self.observation_space = env.observation_space
        self.action_space = env.action_space
        self._return = 0.0
        self._length = 0

    def reset(self, seed: int | None) -> np.ndarray:
        obs, _ = self.env.reset(seed=seed)
        self._return, self._length = 0.0, 0
        return np.asarray(obs)[None]

    def step(self, actions: np.ndarray) -> tuple[Any, ...]:
        obs, reward, terminated, truncated, _ = self.env.step(actions[0])
        self._return += reward
        self._length += 1
        next_obs = np.asarray(obs)[None]
        obs_after, finished = next_obs, NO_EPISODES
        if terminated or truncated:
            finished = [(float(self._return), self._length)]
            self._return, self._length = 0.0, 0
            reset_obs, _ = self.env.reset()
            obs_after = np.asarray(reset_obs)[None]
        return (
            next_obs,
            obs_after,
            np.array((reward,), dtype=np.float32),
            np.array((terminated,)),
            np.array((truncated,)),
            finished,
        )

    def close(self) -> None:
        self.env.close()


class VectorEnvStepper:
    """A Gymnasium vector env in same-step autoreset mode: where a sub-env's episode ended, the
    returned obs is already the reset one and ``info["final_obs"]`` holds the true last one."""

    def __init__(self, envs: gym.vector.VectorEnv) -> None:
        mode = envs.metadata.get("autoreset_mode")
        if mode is not gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError(f"VectorEnvStepper needs same-step autoreset, the env has {mode}")
        self.envs = envs
        self.num_envs = envs.num_envs
        self.observation_space = envs.single_observation_space
        self.action_space = envs.single_action_space
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)

    def reset(self, seed: int | None) -> np.ndarray:
        obs, _ = self.envs.reset(seed=seed)
        self._returns[:] = 0.0
        self._lengths[:] = 0
        return obs

    def step(self, actions: np.ndarray) -> tuple[Any, ...]:
        obs, reward, terminated, truncated, info = self.envs.step(actions)
        self._returns += reward
        self._lengths += 1
        next_obs, finished = obs, NO_EPISODES
        ended = np.flatnonzero(terminated | truncated)
        if len(ended):
            finished = [(float(self._returns[i]), int(self._lengths[i])) for i in ended]
            self._returns[ended] = 0.0
            self._lengths[ended] = 0
            next_obs = obs.copy()
            final_obs = info["final_obs"]
            for i in ended:
                next_obs[i] = final_obs[i]
        return next_obs, obs, reward.astype(np.float32, copy=False), terminated, truncated, finished

    def close(self) -> None:
        self.envs.close()
