"""An env's action mask, moved from ``info`` into the observation, where an agent can act on it."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

MASK_KEY = "action_mask"


class ActionMaskObservation(
    gym.Wrapper[dict[str, Any], Any, Any, Any], gym.utils.RecordConstructorArgs
):
    """Observations ``{"observation": obs, "action_mask": info["action_mask"]}``: the legal
    actions of the state, as PettingZoo's classic games give them, for an env that reports
    them in ``info`` (Gymnasium's Taxi does). A step whose ``info`` has no mask allows every
    action.

    Example:
        >>> import gymnasium as gym
        >>> from wrappers import ActionMaskObservation
        >>> env = ActionMaskObservation(gym.make("Taxi-v4"))
        >>> env.observation_space
        Dict('action_mask': Box(0, 1, (6,), int8), 'observation': Discrete(500))
        >>> obs, info = env.reset(seed=0)
        >>> obs["action_mask"]
        array([1, 1, 0, 0, 0, 0], dtype=int8)
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(
                f"ActionMaskObservation needs a Discrete action space, got {env.action_space}"
            )
        if isinstance(env.observation_space, spaces.Dict):
            raise ValueError(
                "ActionMaskObservation wraps a non-Dict observation, got "
                f"{env.observation_space}; a Dict observation can carry its mask as a key"
            )
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        self.n = int(env.action_space.n)
        mask_space = spaces.Box(0, 1, (self.n,), np.int8)
        self.observation_space = spaces.Dict(
            {"observation": env.observation_space, MASK_KEY: mask_space}
        )

    def _with_mask(self, obs: Any, info: dict[str, Any]) -> dict[str, Any]:
        mask = info.get(MASK_KEY)
        mask = np.ones(self.n, np.int8) if mask is None else np.asarray(mask, np.int8)
        if mask.shape != (self.n,):
            raise ValueError(
                f"info['action_mask'] has shape {mask.shape}; the action space has {self.n} actions"
            )
        return {"observation": obs, MASK_KEY: mask}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        return self._with_mask(obs, info), info

    def step(self, action: Any) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._with_mask(obs, info), reward, terminated, truncated, info


def action_mask(env_id: str, **make_kwargs: Any) -> gym.Env[Any, Any]:
    """Make ``env_id`` with its ``info`` action mask in the observation
    (:class:`ActionMaskObservation`): the preset ``rlrun --preset action_mask`` uses.

    Example:
        >>> import wrappers
        >>> wrappers.action_mask("Taxi-v4").observation_space["action_mask"]
        Box(0, 1, (6,), int8)
    """
    return ActionMaskObservation(gym.make(env_id, **make_kwargs))
