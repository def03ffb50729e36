"""Repeat each action for several env steps, summing the rewards."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym

from wrappers._validate import positive_int


class FrameSkip(gym.Wrapper[Any, Any, Any, Any], gym.utils.RecordConstructorArgs):
    """Repeat each action ``skip`` times, sum the rewards and return the last observation.

    Stops early when the episode ends. Why not ``gymnasium.wrappers.MaxAndSkipObservation``:
    it also max-pools the last two frames (an Atari flicker fix), which smears a scrolling
    image such as CarRacing's track and costs a max per step. Atari frame skipping is done
    inside the ``wrappers.atari`` preset instead, where the max-pool belongs.

    Example:
        >>> import gymnasium as gym
        >>> from wrappers.frame_skip import FrameSkip
        >>> env = gym.make("CartPole-v1")
        >>> env.observation_space.shape
        (4,)
        >>> env = FrameSkip(env, 2)
        >>> env.observation_space.shape
        (4,)
        >>> _ = env.reset(seed=0)
        >>> env.step(0)[1]  # two CartPole steps, reward 1 each
        2.0
    """

    def __init__(self, env: gym.Env[Any, Any], skip: int) -> None:
        """Repeat each action of ``env`` ``skip`` times (``skip`` >= 1)."""
        gym.utils.RecordConstructorArgs.__init__(self, skip=skip)
        gym.Wrapper.__init__(self, env)
        self.skip = positive_int("FrameSkip", "skip", skip)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step ``skip`` times (fewer if the episode ends) with the same action."""
        total = 0.0
        for _ in range(self.skip):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            if terminated or truncated:
                break
        return obs, total, terminated, truncated, info
