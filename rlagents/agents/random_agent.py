"""A uniformly random agent: the baseline every learner must beat, and the runner's smoke test.

It imports no torch, so ``rlrun --agent random`` starts fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from rlagents.agent import Agent, EmptyConfig
from rlagents.common.rng import rng_state, set_rng_state


class RandomAgent(Agent[EmptyConfig]):
    """Samples each action uniformly from the action space; learns nothing."""

    observation_spaces: ClassVar = (spaces.Space,)
    action_spaces: ClassVar = (spaces.Space,)

    def __init__(self, observation_space, action_space, config=None, *, num_envs=1, seed=None):
        super().__init__(observation_space, action_space, config, num_envs=num_envs, seed=seed)
        self.action_space.seed(seed)
        self._discrete = isinstance(action_space, spaces.Discrete)
        self._pool = np.empty(0, dtype=np.int64)
        self._next = 0

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        n = len(obs)
        if not self._discrete:
            return np.stack([self.action_space.sample() for _ in range(n)])
        # Discrete is the common case and the runner's benchmark: drawing actions a block at a
        # time costs a fraction of one generator call per step. A fresh block is a new array, so
        # slices handed out earlier stay valid.
        if self._next + n > len(self._pool):
            space = self.action_space
            assert isinstance(space, spaces.Discrete)
            block = max(4096, n)
            self._pool = space.np_random.integers(space.start, space.start + space.n, size=block)
            self._next = 0
        actions = self._pool[self._next : self._next + n]
        self._next += n
        return actions

    def state_dict(self) -> dict[str, Any]:
        # The generator and the rest of the drawn block: a resumed run draws what an
        # uninterrupted one would.
        return {
            "rng": rng_state(self.action_space.np_random),
            "pool": self._pool[self._next :].copy(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "rng" in state:
            set_rng_state(self.action_space.np_random, state["rng"])
            self._pool = np.asarray(state["pool"], dtype=np.int64)
            self._next = 0
