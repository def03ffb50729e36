"""Uniform experience replay for off-policy agents (DQN, DDPG, TD3).

Because the runner hands over the true final observation in ``next_obs``, a stored transition
needs only ``terminated`` for its bootstrap mask: a truncated transition bootstraps from
``next_obs`` like any other (SB3 needs a ``timeout`` correction for the same thing).

Both buffers here (and :class:`rlagents.common.frame_replay.FrameReplayBuffer`, which stores each
frame of a frame-stacked observation once) also give n-step samples (:meth:`sample_n_step`):
``R = r_t + γ r_{t+1} + … + γ^{m−1} r_{t+m−1}`` over the next ``m ≤ n`` steps of the same
episode, bootstrapping from the observation after them with discount ``γ^m``. The window is cut
where the episode ended: after a termination there is no bootstrap; after a truncation (a time
limit) the target bootstraps from the true last observation; at the newest data it bootstraps
from the last stored step (Sutton & Barto §7.1; Hessel et al. 2018, Rainbow).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np
import torch
from gymnasium import spaces

from rlagents.agent import Transition
from rlagents.common.memory import array_bytes, check_allocation


class ReplayBatch(NamedTuple):
    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor  # float32 (B,)
    next_obs: torch.Tensor
    terminated: torch.Tensor  # float32 (B,): 1 where the episode ended by termination


class NStepBatch(NamedTuple):
    """An n-step sample: the target is ``returns + discounts · (1 − terminated) · V(next_obs)``."""

    obs: torch.Tensor
    actions: torch.Tensor
    returns: torch.Tensor  # float32 (B,): discounted sum of the m ≤ n rewards in the window
    next_obs: torch.Tensor  # the observation after the window's last step (its true last one)
    terminated: torch.Tensor  # float32 (B,): 1 where the window ends with a termination
    discounts: torch.Tensor  # float32 (B,): γ^m


class Replay(Protocol):
    """What an off-policy agent asks of its replay buffer; :class:`ReplayBuffer` and
    :class:`~rlagents.common.frame_replay.FrameReplayBuffer` both provide it."""

    def __len__(self) -> int: ...

    def add(self, t: Transition) -> None: ...

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplayBatch: ...

    def sample_n_step(
        self, batch_size: int, rng: np.random.Generator, n_step: int, gamma: float
    ) -> NStepBatch: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def warmed_up(steps: int, buffered: int, learning_starts: int, capacity: int) -> bool:
    """Whether an off-policy agent learns yet: ``learning_starts`` env steps taken and as many
    transitions in its buffer (at most its capacity). A fresh run has both at once; a run
    resumed from a checkpoint saved without its buffer refills that much first, rather than
    fit its networks to the first few transitions (SB3 users' reward drop after a reload).
    """
    return steps >= learning_starts and buffered >= min(learning_starts, capacity)


class ReplayBuffer:
    """A ring buffer of single transitions, each vector step adding ``num_envs`` of them.

    Observations keep their dtype (uint8 images stay uint8 until they enter the network).
    Transitions of one env are ``num_envs`` slots apart (the count is taken from the first
    :meth:`add`), which is what :meth:`sample_n_step` follows.
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
        obs_shape, obs_dtype = storage_shape_dtype(observation_space)
        act_shape, act_dtype = storage_shape_dtype(action_space)
        # What the arrays below take: obs and next_obs, actions, float32 rewards and terminated,
        # bool cut; refused before numpy tries if the machine cannot hold it.
        per_item = 2 * array_bytes(obs_shape, obs_dtype) + array_bytes(act_shape, act_dtype) + 9
        check_allocation(
            self.capacity * per_item, "the replay buffer", "buffer_size", count=self.capacity
        )
        self.obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((self.capacity, *act_shape), dtype=act_dtype)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        # Where an env's n-step window must stop: its episode ended (terminated or truncated)
        # or, after a resume, the run restarted its envs.
        self.cut = np.zeros(self.capacity, dtype=bool)
        self.num_envs = 0  # set by the first add()
        self.pos = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @property
    def nbytes(self) -> int:
        arrays = (self.obs, self.next_obs, self.actions, self.rewards, self.terminated, self.cut)
        return sum(a.nbytes for a in arrays)

    def add(self, t: Transition) -> None:
        n = len(t.reward)
        if self.num_envs != n:
            if self.num_envs:
                raise ValueError(f"replay buffer got {n} envs' transitions, before {self.num_envs}")
            self.num_envs = n
        if n == 1:  # a slice is cheaper than fancy indexing
            idx: Any = slice(self.pos, self.pos + 1)
        else:
            idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx] = t.obs
        self.next_obs[idx] = t.next_obs
        self.actions[idx] = np.asarray(t.action).reshape(n, *self.actions.shape[1:])
        self.rewards[idx] = t.reward
        self.terminated[idx] = t.terminated
        self.cut[idx] = np.logical_or(t.terminated, t.truncated)
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

    def sample_n_step(
        self, batch_size: int, rng: np.random.Generator, n_step: int, gamma: float
    ) -> NStepBatch:
        """Uniform n-step samples (see the module docstring); ``n_step=1`` is one-step TD."""
        idx = rng.integers(0, self.size, size=batch_size)
        stride = max(self.num_envs, 1)
        ages = (self.pos - 1 - idx) % self.capacity  # 0 = the newest slot
        offsets = np.arange(n_step) * stride
        slots = (idx[:, None] + offsets) % self.capacity
        exists = offsets <= ages[:, None]  # the env's later steps that are stored already
        last, returns, discounts = n_step_window(slots, exists, self.rewards, self.cut, gamma)

        def to(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(x, device=self.device)

        return NStepBatch(
            to(self.obs[idx]),
            to(self.actions[idx]),
            to(returns),
            to(self.next_obs[last]),
            to(self.terminated[last]),
            to(discounts),
        )

    def end_open_episodes(self) -> None:
        """Mark each env's newest stored step as an episode's end: the run reset its envs instead
        of restoring them, so no n-step window or history may run from there into a new
        episode."""
        if self.size and self.num_envs:
            self.cut[(self.pos - 1 - np.arange(self.num_envs)) % self.capacity] = True

    def state_dict(self) -> dict[str, Any]:
        """The stored transitions, as they are: loaded, the buffer samples what this one would,
        and the newest steps' windows run on into the next steps (a resumed run that restores
        its envs continues their episodes)."""
        n = self.size
        return {
            "obs": self.obs[:n],
            "next_obs": self.next_obs[:n],
            "actions": self.actions[:n],
            "rewards": self.rewards[:n],
            "terminated": self.terminated[:n],
            "cut": self.cut[:n],
            "num_envs": self.num_envs,
            "pos": self.pos,
            "size": self.size,
            "newest_open": True,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = int(state["size"])
        if n > self.capacity:
            raise ValueError(f"saved buffer holds {n} transitions, capacity is {self.capacity}")
        for key in ("obs", "next_obs", "actions", "rewards", "terminated"):
            getattr(self, key)[:n] = state[key]
        self.cut[:n] = state["cut"] if "cut" in state else self.terminated[:n] > 0
        self.size, self.pos = n, int(state["pos"]) % self.capacity
        self.num_envs = int(state.get("num_envs", 0))
        # A checkpoint from before "newest_open" came with a run that reset its envs on resume:
        # no n-step window may run on from its newest steps.
        if not state.get("newest_open", False) and n and self.num_envs:
            self.cut[(self.pos - 1 - np.arange(self.num_envs)) % self.capacity] = True


def n_step_window(
    slots: np.ndarray, exists: np.ndarray, rewards: np.ndarray, cut: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The n-step window of each sample, from its next ``n`` slots.

    ``slots`` (B, n): indices of one env's steps t, t+1, …, t+n−1; ``exists`` (B, n): which of
    them are stored yet; ``cut`` (indexed by slot): the episode ended at that step. Returns the
    slot of the window's last step (whose ``next_obs`` and ``terminated`` give the bootstrap),
    the discounted reward sums and γ^m, m being the number of steps in the window.

    >>> slots = np.array([[0, 1, 2], [2, 3, 0]])  # two samples, n = 3
    >>> exists = np.array([[True, True, True], [True, True, False]])  # slot 0 is not after 3
    >>> cut = np.array([False, True, False, False])  # an episode ended at slot 1
    >>> rewards = np.array([1, 2, 3, 4], np.float32)
    >>> last, returns, discounts = n_step_window(slots, exists, rewards, cut, 0.5)
    >>> last.tolist(), returns.tolist(), discounts.tolist()
    ([1, 3], [2.0, 5.0], [0.25, 0.25])
    """
    n = slots.shape[1]
    alive = exists.copy()
    if n > 1:  # step j is in the window if no earlier step of it ended the episode
        alive[:, 1:] &= np.logical_and.accumulate(~cut[slots[:, :-1]], axis=1)
    steps = alive.sum(axis=1)
    powers = (gamma ** np.arange(n)).astype(np.float32)
    returns = (rewards[slots] * powers * alive).sum(axis=1, dtype=np.float32)
    last = slots[np.arange(len(slots)), steps - 1]
    discounts = (gamma**steps).astype(np.float32)
    return last, returns, discounts


def storage_shape_dtype(space: spaces.Space) -> tuple[tuple[int, ...], Any]:
    """The shape and dtype one observation or action of ``space`` is stored with."""
    if isinstance(space, spaces.Discrete):
        return (), np.int64
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        return tuple(space.shape), space.dtype
    raise TypeError(f"replay buffer cannot store {space}")
