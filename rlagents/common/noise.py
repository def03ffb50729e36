"""Exploration noise for deterministic continuous-control policies (DDPG, TD3).

A deterministic actor μ(s) never explores by itself, so the agent adds noise to its actions while
training. Two kinds, both working on actions scaled to [-1, 1] and both taking their scale ``sigma``
at each call so that a schedule can decay it:

* :class:`OrnsteinUhlenbeckNoise` — the temporally correlated noise of the DDPG paper (Lillicrap et
  al. 2016) and of the course: x ← x + θ(μ − x)dt + σ√dt·N(0, 1), one process per env, restarted
  where an episode ends;
* :class:`GaussianNoise` — independent N(0, σ²) per step, which the TD3 paper (Fujimoto et al. 2018)
  found to work as well.

Each keeps its own ``numpy`` generator and saves it (as plain numbers) with its state, so a resumed
run draws the same noise.

>>> noise = GaussianNoise((2, 1), seed=0)
>>> noise(0.1).shape
(2, 1)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rlagents.common.rng import rng_state, set_rng_state


class ActionNoise:
    """Noise of shape ``(num_envs, *action_shape)``, drawn with scale ``sigma`` at each call."""

    def __init__(self, shape: tuple[int, ...], seed: int | np.random.Generator | None = None):
        self.shape = tuple(shape)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def __call__(self, sigma: float) -> np.ndarray:
        raise NotImplementedError

    def reset(self, done: np.ndarray | None = None) -> None:
        """Restart the noise of the envs where ``done`` is true (all envs when ``None``)."""

    def state_dict(self) -> dict[str, Any]:
        return {"rng": rng_state(self.rng)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])  # either form


class GaussianNoise(ActionNoise):
    """Independent N(0, σ²) per step and action dimension."""

    def __call__(self, sigma: float) -> np.ndarray:
        return sigma * self.rng.standard_normal(self.shape, dtype=np.float32)


class OrnsteinUhlenbeckNoise(ActionNoise):
    """x ← x + θ(μ − x)dt + σ√dt·N(0, 1): noise that drifts back to ``mu`` (Uhlenbeck & Ornstein
    1930), so consecutive actions are pushed the same way — exploration with momentum, useful for
    physical systems with inertia (the DDPG paper's choice, θ = 0.15, σ = 0.2).

    With ``dt`` = 1e-2 (as in SB3 and OpenAI Baselines) the process settles to a standard deviation
    of about σ/√(2θ) ≈ 1.8σ and keeps its direction for about 1/(θ·dt) ≈ 670 steps.

    >>> noise = OrnsteinUhlenbeckNoise((1, 1), seed=0)
    >>> a, b = noise(0.2), noise(0.2)
    >>> bool(abs(b - a).max() < 0.1)  # each step moves the process a little
    True
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        seed: int | np.random.Generator | None = None,
        theta: float = 0.15,
        dt: float = 1e-2,
        mu: float = 0.0,
    ) -> None:
        super().__init__(shape, seed)
        self.theta, self.dt, self.mu = theta, dt, mu
        self._sqrt_dt = math.sqrt(dt)
        self.x = np.full(self.shape, mu, dtype=np.float32)

    def __call__(self, sigma: float) -> np.ndarray:
        step = self.rng.standard_normal(self.shape, dtype=np.float32)
        step *= sigma * self._sqrt_dt
        self.x += self.theta * (self.mu - self.x) * self.dt + step
        return self.x.copy()

    def reset(self, done: np.ndarray | None = None) -> None:
        if done is None:
            self.x[:] = self.mu
        else:
            self.x[np.asarray(done, dtype=bool)] = self.mu

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "x": self.x.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.x[:] = np.asarray(state["x"], dtype=np.float32)


NOISE_KINDS = ("ornstein_uhlenbeck", "normal", "none")


def make_noise(
    kind: str, shape: tuple[int, ...], seed: int | np.random.Generator | None = None, **ou: float
) -> ActionNoise | None:
    """``"ornstein_uhlenbeck"``, ``"normal"`` or ``"none"`` (no noise: returns ``None``)."""
    if kind == "ornstein_uhlenbeck":
        return OrnsteinUhlenbeckNoise(shape, seed, **ou)
    if kind == "normal":
        return GaussianNoise(shape, seed)
    if kind == "none":
        return None
    raise ValueError(f"unknown action noise {kind!r}; choose one of {', '.join(NOISE_KINDS)}")
