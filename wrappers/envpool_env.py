"""One env of EnvPool's C++ engine, as a Gymnasium env (EnvPool is optional).

EnvPool (``pip install envpool``) reimplements some Gymnasium envs in C++: its CarRacing-v3
steps about ten times as fast as Box2D's Python one on one core. Its envs come in batches with
their own autoreset; :class:`EnvPoolEnv` holds a batch of one and gives it Gymnasium's
single-env API (``reset`` starts an episode, ``step`` never resets by itself), so the ordinary
wrappers and vector envs apply to it unchanged.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np


def import_envpool() -> Any:
    try:
        import envpool
    except ImportError as err:
        raise gym.error.DependencyNotInstalled(
            "EnvPool is not installed: pip install envpool (or use the Gymnasium backend)"
        ) from err
    return envpool


def has_envpool() -> bool:
    try:
        import_envpool()
    except gym.error.DependencyNotInstalled:
        return False
    return True


class EnvPoolEnv(gym.Env[np.ndarray, Any]):
    """EnvPool's ``task_id`` (its own id, e.g. ``"CarRacing-v3"``, ``"BattleZone-v5"``) as one
    Gymnasium env; ``config`` goes to ``envpool.make_gymnasium`` (``max_episode_steps``, …).

    ``reset(seed=s)`` rebuilds the pool with seed ``s`` (EnvPool takes its seed when it is made);
    ``reset()`` starts the next episode. It renders nothing: evaluate and record videos on the
    Gymnasium env.

    Example:
        >>> from wrappers.envpool_env import EnvPoolEnv, has_envpool
        >>> env = EnvPoolEnv("CarRacing-v3") if has_envpool() else None
    """

    def __init__(self, task_id: str, **config: Any) -> None:
        if task_id not in import_envpool().list_all_envs():
            raise ValueError(f"EnvPool has no env {task_id!r}")
        for reserved in ("num_envs", "batch_size", "seed"):
            if reserved in config:
                raise ValueError(f"EnvPoolEnv makes a pool of one env; drop {reserved}=")
        self.task_id, self.config = task_id, config
        self._pool = self._make(seed=0)
        with _float64_bounds_quiet():
            self.observation_space = self._pool.observation_space
            self.action_space = self._pool.action_space

    def _make(self, seed: int) -> Any:
        with _float64_bounds_quiet():
            return import_envpool().make_gymnasium(
                self.task_id, num_envs=1, batch_size=1, num_threads=1, seed=seed, **self.config
            )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._pool.close()
            # EnvPool's seed is a C int: fold a larger Gymnasium seed into its range.
            self._pool = self._make(seed=int(seed) % 2**31)
        obs, info = self._pool.reset()
        return obs[0], _first(info)

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self._pool.step(np.asarray([action]))
        return obs[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), _first(info)

    def close(self) -> None:
        self._pool.close()


@contextlib.contextmanager
def _float64_bounds_quiet() -> Iterator[None]:
    """EnvPool's spaces have float64 bounds, which Box casts to float32 with a warning each."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*precision lowered", UserWarning)
        yield


def _first(info: dict[str, Any]) -> dict[str, Any]:
    """The info of env 0 of a batch of one (EnvPool's per-env bookkeeping left out)."""
    return {
        k: (v[0] if isinstance(v, np.ndarray) and v.shape[:1] == (1,) else v)
        for k, v in info.items()
        if k not in ("env_id", "players")
    }
