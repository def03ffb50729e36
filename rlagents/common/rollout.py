"""Rollout storage and return/advantage estimation for the on-policy agents (REINFORCE, A2C, PPO).

A rollout is ``n_steps`` vector steps of ``num_envs`` envs, stored time-major in preallocated
arrays of shape ``(n_steps, num_envs, ...)``. It keeps the observation the policy saw and the
*raw* action it sampled (before clipping or squashing to the action bounds, so log-probabilities
can be recomputed exactly), and the rewards, ``terminated`` and ``truncated`` flags.

Values and log-probabilities are not stored step by step: the parameters do not change while a
rollout is collected, so the agent recomputes them for the whole rollout in one batched forward
pass when it learns, which is cheaper than a small forward pass per step.

Bootstrapping. ``V(s_{t+1})`` of step ``t`` is ``V(obs[t + 1])`` except where the episode ended at
``t`` (``obs[t + 1]`` is then the first observation of the next episode) and at the last step.
The runner hands over the true final observation in ``next_obs``, so the buffer keeps it for
exactly those rows that need it: the truncated steps (a time limit is not a terminal state, it is
bootstrapped — Pardo et al. 2018, "Time limits in reinforcement learning") and the last step of
the rollout. Terminated steps are never bootstrapped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalized advantage estimation (Schulman et al. 2016) over time-major ``(T, N)`` arrays.

    ``next_values[t]`` is ``V`` of the true next observation of step ``t``::

        δ_t = r_t + γ (1 − terminated_t) V(s_{t+1}) − V(s_t)
        A_t = δ_t + γ λ (1 − done_t) A_{t+1}        done_t = terminated_t or truncated_t

    Returns ``(advantages, returns)`` with ``returns = advantages + values`` (the value target).
    ``gae_lambda = 1`` gives Monte-Carlo returns bootstrapped at the cut, ``0`` the one-step TD
    error. Example, one env, γ = 0.5, λ = 1, the episode truncated at step 1 (bootstrapped from
    V = 4 of its final observation) and a new one terminated at step 2:

    >>> adv, ret = compute_gae(
    ...     rewards=np.array([[1.0], [1.0], [1.0]]),
    ...     values=np.array([[2.0], [2.0], [2.0]]),
    ...     next_values=np.array([[2.0], [4.0], [9.0]]),
    ...     terminated=np.array([[False], [False], [True]]),
    ...     truncated=np.array([[False], [True], [False]]),
    ...     gamma=0.5, gae_lambda=1.0)
    >>> ret[:, 0].tolist()  # 1 + 0.5·(1 + 0.5·4), 1 + 0.5·4, 1 (no bootstrap after termination)
    [2.5, 3.0, 1.0]
    """
    not_terminal = 1.0 - terminated.astype(np.float32)
    not_done = 1.0 - (terminated | truncated).astype(np.float32)
    deltas = rewards + gamma * not_terminal * next_values - values
    carry = (gamma * gae_lambda) * not_done
    advantages = np.empty_like(deltas, dtype=np.float32)
    last = np.zeros(deltas.shape[1:], dtype=np.float32)
    for t in range(len(deltas) - 1, -1, -1):
        last = deltas[t] + carry[t] * last
        advantages[t] = last
    return advantages, advantages + values


def discounted_returns(
    rewards: np.ndarray, ends: np.ndarray, bootstrap: np.ndarray, gamma: float
) -> np.ndarray:
    """Monte-Carlo returns ``G_t = r_t + γ G_{t+1}``, restarted where an episode ends.

    Where ``ends[t]`` the return after ``t`` is ``bootstrap[t]`` instead of ``G_{t+1}``: 0 after a
    termination, ``V(final observation)`` after a truncation if the agent has a value function.

    >>> discounted_returns(np.array([1.0, 1.0, 1.0, 1.0]), np.array([0, 1, 0, 1], bool),
    ...                    np.array([0.0, 0.0, 0.0, 10.0]), gamma=0.5).tolist()
    [1.5, 1.0, 4.0, 6.0]
    """
    returns = np.empty(len(rewards), dtype=np.float32)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = float(rewards[t]) + gamma * (float(bootstrap[t]) if ends[t] else running)
        returns[t] = running
    return returns


def space_storage(space: spaces.Space) -> tuple[tuple[int, ...], Any]:
    """Shape and dtype of one element of ``space`` in a buffer (Discrete as a scalar int64)."""
    if isinstance(space, spaces.Discrete):
        return (), np.int64
    if isinstance(space, spaces.Box):
        return tuple(space.shape), space.dtype
    raise TypeError(f"a rollout buffer cannot store elements of {space}")


class RolloutBuffer:
    """``n_steps`` vector steps of ``num_envs`` envs, plus the final observations to bootstrap.

    ``obs_shape``/``obs_dtype`` are those of what the policy consumes (float32 after observation
    normalisation, uint8 for images); ``act_shape``/``act_dtype`` those of the raw actions.
    """

    def __init__(
        self,
        n_steps: int,
        num_envs: int,
        obs_shape: tuple[int, ...],
        obs_dtype: Any,
        act_shape: tuple[int, ...],
        act_dtype: Any,
    ) -> None:
        self.n_steps, self.num_envs = n_steps, num_envs
        self.obs = np.zeros((n_steps, num_envs, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((n_steps, num_envs, *act_shape), dtype=act_dtype)
        self.rewards = np.zeros((n_steps, num_envs), dtype=np.float32)
        self.terminated = np.zeros((n_steps, num_envs), dtype=bool)
        self.truncated = np.zeros((n_steps, num_envs), dtype=bool)
        self.pos = 0
        # (step, env) of the rows bootstrapped from a kept final observation, and those observations
        self._boot_steps: list[int] = []
        self._boot_envs: list[np.ndarray] = []
        self._boot_obs: list[np.ndarray] = []

    @property
    def full(self) -> bool:
        return self.pos == self.n_steps

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Store one vector step; then call :meth:`needs_final_obs` to keep what must be kept."""
        p = self.pos
        self.obs[p] = obs
        self.actions[p] = actions
        self.rewards[p] = rewards
        self.terminated[p] = terminated
        self.truncated[p] = truncated
        self.pos = p + 1

    def needs_final_obs(self) -> np.ndarray | None:
        """Env indices of the step just added whose ``next_obs`` must be kept (or ``None``):
        every env at the last step of the rollout, the truncated ones before it."""
        if self.pos == self.n_steps:
            return np.arange(self.num_envs)
        truncated = self.truncated[self.pos - 1]
        return np.flatnonzero(truncated) if truncated.any() else None

    def keep_final_obs(self, envs: np.ndarray, final_obs: np.ndarray) -> None:
        """Keep ``final_obs`` (already in the policy's input form) of ``envs`` at the last step."""
        self._boot_steps.extend([self.pos - 1] * len(envs))
        self._boot_envs.append(envs)
        self._boot_obs.append(np.array(final_obs, dtype=self.obs.dtype))

    def final_obs(self) -> np.ndarray:
        """The kept final observations, in one batch, for one value forward pass."""
        return np.concatenate(self._boot_obs)

    def next_values(self, values: np.ndarray, final_values: np.ndarray) -> np.ndarray:
        """``V(s_{t+1})`` per step from ``values = V(obs)`` (T, N) and the values of
        :meth:`final_obs`; rows that ended by termination are masked by GAE anyway."""
        next_values = np.empty_like(values)
        next_values[:-1] = values[1:]
        next_values[self._boot_steps, np.concatenate(self._boot_envs)] = final_values
        return next_values

    def advantages(
        self, values: np.ndarray, final_values: np.ndarray, gamma: float, gae_lambda: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """GAE advantages and value targets of the full rollout, both ``(T, N)`` float32."""
        next_values = self.next_values(values, final_values)
        return compute_gae(
            self.rewards, values, next_values, self.terminated, self.truncated, gamma, gae_lambda
        )

    def reset(self) -> None:
        self.pos = 0
        self._boot_steps.clear()
        self._boot_envs.clear()
        self._boot_obs.clear()

    def state_dict(self) -> dict[str, Any]:
        """The steps collected so far and the final observations kept for them."""
        p = self.pos
        return {
            "pos": p,
            "obs": self.obs[:p].copy(),
            "actions": self.actions[:p].copy(),
            "rewards": self.rewards[:p].copy(),
            "terminated": self.terminated[:p].copy(),
            "truncated": self.truncated[:p].copy(),
            "boot_steps": np.array(self._boot_steps, dtype=np.int64),
            "boot_envs": _concat(self._boot_envs, np.zeros(0, dtype=np.int64)),
            "boot_obs": _concat(self._boot_obs, np.zeros((0, *self.obs.shape[2:]), self.obs.dtype)),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; a rollout of another length or number of envs (a resume
        with other settings) is dropped, the next one starts afresh."""
        self.reset()
        p = int(state["pos"])
        if p > self.n_steps or np.shape(state["obs"])[1] != self.num_envs:
            return
        for key in ("obs", "actions", "rewards", "terminated", "truncated"):
            getattr(self, key)[:p] = state[key]
        self.pos = p
        if len(state["boot_steps"]):  # kept as one batch: final_obs() concatenates them anyway
            self._boot_steps.extend(np.asarray(state["boot_steps"]).tolist())
            self._boot_envs.append(np.array(state["boot_envs"], dtype=np.int64))
            self._boot_obs.append(np.array(state["boot_obs"], dtype=self.obs.dtype))

    def load_parts(self, parts: list[dict[str, Any]]) -> None:
        """Fill the buffer with full rollouts of fewer envs each (remote workers' parts, in
        order: part k's envs come after part k−1's), as one rollout of all their envs."""
        self.reset()
        widths = [np.shape(part["obs"])[1] for part in parts]
        if sum(widths) != self.num_envs or any(int(p["pos"]) != self.n_steps for p in parts):
            raise ValueError(
                f"parts of {widths} envs and {[int(p['pos']) for p in parts]} steps do not "
                f"make a rollout of {self.num_envs} envs and {self.n_steps} steps"
            )
        for key in ("obs", "actions", "rewards", "terminated", "truncated"):
            np.concatenate([part[key] for part in parts], axis=1, out=getattr(self, key))
        first_env = 0
        for part, width in zip(parts, widths, strict=True):
            if len(part["boot_steps"]):
                self._boot_steps.extend(np.asarray(part["boot_steps"]).tolist())
                self._boot_envs.append(np.asarray(part["boot_envs"], dtype=np.int64) + first_env)
                self._boot_obs.append(np.array(part["boot_obs"], dtype=self.obs.dtype))
            first_env += width
        self.pos = self.n_steps


def _concat(arrays: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
    return np.concatenate(arrays) if arrays else empty
