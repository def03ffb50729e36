"""Running statistics for optional observation and reward normalisation (on-policy agents).

Observations are shifted and scaled by a running mean and standard deviation and clipped; rewards
are divided by the running standard deviation of the discounted return, not of the reward itself
(Engstrom et al. 2020, "Implementation matters in deep policy gradients", §3; SB3's VecNormalize),
so their scale suits the value loss whatever the env's reward scale. Both keep their state as
plain arrays and numbers, so a checkpoint restores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


class RunningMeanStd:
    """Mean and variance of a stream of batches (Chan et al.'s parallel update).

    >>> rms = RunningMeanStd(shape=(2,))
    >>> rms.update(np.array([[0.0, 10.0], [2.0, 30.0]]))
    >>> rms.mean.round(1).tolist(), rms.var.round(1).tolist()  # a tiny prior count: not exact
    ([1.0, 20.0], [1.0, 100.0])
    """

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = epsilon  # a tiny prior count keeps the first update well defined

    def update(self, batch: np.ndarray) -> None:
        self._combine(batch.mean(axis=0), batch.var(axis=0), batch.shape[0])

    def _combine(self, batch_mean: np.ndarray, batch_var: np.ndarray, n: float) -> None:
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean = self.mean + delta * (n / total)
        m2 = self.var * self.count + batch_var * n + delta**2 * (self.count * n / total)
        self.var = m2 / total
        self.count = total

    def since(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """The statistics of the data added since the state ``base`` (a remote worker's own
        observations since the learner's last broadcast): :meth:`merge` of them into ``base``
        gives this state back.

        >>> rms = RunningMeanStd(); rms.update(np.array([1.0, 3.0])); base = rms.state_dict()
        >>> rms.update(np.array([10.0, 20.0])); new = rms.since(base)
        >>> [round(float(new[key]), 6) for key in ("count", "mean", "var")]
        [2.0, 15.0, 25.0]
        """
        n0, n = float(base["count"]), self.count - float(base["count"])
        if n <= 0:
            return {"mean": np.zeros_like(self.mean), "var": np.zeros_like(self.var), "count": 0.0}
        mean0, var0 = np.asarray(base["mean"]), np.asarray(base["var"])
        mean = mean0 + (self.mean - mean0) * (self.count / n)
        m2 = self.var * self.count - var0 * n0 - (mean - mean0) ** 2 * (n0 * n / self.count)
        return {"mean": mean, "var": np.maximum(m2 / n, 0.0), "count": n}

    def merge(self, stats: Mapping[str, Any]) -> None:
        """Add the statistics of another stream (:meth:`since`'s output)."""
        if float(stats["count"]) > 0:
            self._combine(np.asarray(stats["mean"]), np.asarray(stats["var"]), stats["count"])

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": float(self.count)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.mean = np.array(state["mean"], dtype=np.float64).reshape(self.mean.shape)
        self.var = np.array(state["var"], dtype=np.float64).reshape(self.var.shape)
        self.count = float(state["count"])


class ObservationNormalizer:
    """``clip((obs - mean) / sqrt(var + eps), -clip, clip)`` as float32, with running statistics.

    >>> norm = ObservationNormalizer(shape=(1,))
    >>> norm(np.array([[1.0], [3.0]]), update=True).round(2).tolist()
    [[-1.0], [1.0]]
    """

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.rms = RunningMeanStd(shape)
        self.clip = clip
        self.epsilon = epsilon
        self.refresh()

    def refresh(self) -> None:
        """Re-read the statistics after they changed other than through ``__call__``."""
        # Cached float32 mean and 1/std: the per-step path is one subtract, one multiply, one clip.
        self._mean = self.rms.mean.astype(np.float32)
        self._inv_std = (1.0 / np.sqrt(self.rms.var + self.epsilon)).astype(np.float32)

    def __call__(self, obs: np.ndarray, *, update: bool = False) -> np.ndarray:
        if update:
            self.rms.update(obs)
            self.refresh()
        out = (obs - self._mean) * self._inv_std
        return np.clip(out, -self.clip, self.clip, out=out).astype(np.float32, copy=False)

    def state_dict(self) -> dict[str, Any]:
        return self.rms.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rms.load_state_dict(state)
        self.refresh()


class RewardNormalizer:
    """Scale rewards by the running std of each env's discounted return.

    The return is reset where an episode ends (terminated or truncated); the reward is not
    shifted, only scaled, so its sign (and a "survive" bonus) keeps its meaning.
    """

    def __init__(
        self, num_envs: int, gamma: float, clip: float = 10.0, epsilon: float = 1e-8
    ) -> None:
        self.rms = RunningMeanStd(())
        self.returns = np.zeros(num_envs, dtype=np.float64)
        self.gamma = gamma
        self.clip = clip
        self.epsilon = epsilon

    def __call__(
        self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray
    ) -> np.ndarray:
        self.returns = self.returns * self.gamma + reward
        self.rms.update(self.returns)
        scaled = reward / np.sqrt(self.rms.var + self.epsilon)
        self.returns[terminated | truncated] = 0.0
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {**self.rms.state_dict(), "returns": self.returns.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rms.load_state_dict(state)
        returns = np.asarray(state["returns"], dtype=np.float64)
        if returns.shape == self.returns.shape:  # a resume with another --num-envs starts afresh
            self.returns = returns.copy()
