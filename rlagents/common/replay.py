"""Uniform experience replay for off-policy agents (DQN, DDPG, TD3).

Because the runner hands over the true final observation in ``next_obs``, a stored transition
needs only ``terminated`` for its bootstrap mask: a truncated transition bootstraps from
``next_obs`` like any other (SB3 needs a ``timeout`` correction for the same thing).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium import spaces

from rlagents.agent import Transition


class ReplayBatch(NamedTuple):
    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor  # float32 (B,)
    next_obs: torch.Tensor
    terminated: (
        torch.Tensor
    )  # float32 (B,): 1 where the episode ended by termination (no bootstrap)


class ReplayBuffer:
    """A ring buffer of single transitions, each vector step adding ``num_envs`` of them.

    Observations keep their dtype (uint8 images stay uint8 until they enter the network).
    """

    def __init__(
        self,
        capacity: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "cpu",
    ) -> None:
        self.capacity = int(capacity)
        self.device = torch.device(device)
        obs_shape, obs_dtype = _shape_dtype(observation_space)
        act_shape, act_dtype = _shape_dtype(action_space)
        self.obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((self.capacity, *act_shape), dtype=act_dtype)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.pos = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, t: Transition) -> None:
        n = len(t.reward)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx] = t.obs
        self.next_obs[idx] = t.next_obs
        self.actions[idx] = np.asarray(t.action).reshape(n, *self.actions.shape[1:])
        self.rewards[idx] = t.reward
        self.terminated[idx] = t.terminated
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplayBatch:
        idx = rng.integers(0, self.size, size=batch_size)
        return self.batch_at(idx)

    def batch_at(self, idx: np.ndarray) -> ReplayBatch:
        def to(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(x[idx], device=self.device)

        return ReplayBatch(
            to(self.obs), to(self.actions), to(self.rewards), to(self.next_obs), to(self.terminated)
        )

    def state_dict(self) -> dict[str, Any]:
        n = self.size
        return {
            "obs": self.obs[:n],
            "next_obs": self.next_obs[:n],
            "actions": self.actions[:n],
            "rewards": self.rewards[:n],
            "terminated": self.terminated[:n],
            "pos": self.pos,
            "size": self.size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = int(state["size"])
        if n > self.capacity:
            raise ValueError(f"saved buffer holds {n} transitions, capacity is {self.capacity}")
        for key in ("obs", "next_obs", "actions", "rewards", "terminated"):
            getattr(self, key)[:n] = state[key]
        self.size, self.pos = n, int(state["pos"]) % self.capacity


def _shape_dtype(space: spaces.Space) -> tuple[tuple[int, ...], Any]:
    if isinstance(space, spaces.Discrete):
        return (), np.int64
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        return tuple(space.shape), space.dtype
    raise TypeError(f"replay buffer cannot store {space}")
