"""A PettingZoo Parallel env (every agent acts every step, as in MPE's ``simple_spread``) as a
Gymnasium vector env whose rows are its agents: a policy shared by the agents learns from them as
rows of its batch, each row an agent's own trajectory.

``num_copies`` copies of the env step together; row ``c * n + i`` is agent ``i`` of copy ``c``.
Each row's observation ends with the agent's one-hot id (``agent_id=True``, the default): the
extra input that tells a shared policy which agent it plays. A copy whose episode ended is reset
at once (same-step autoreset, ``info["final_obs"]`` holding the true last observations), as the
run's loop expects. ``env_steps_per_step`` is ``num_copies``: a step of this vector env is one
joint step of each copy, however many agents it has.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


@contextlib.contextmanager
def module_form() -> Iterator[None]:
    """PettingZoo 1.27 deprecates its env modules' makers for its registry; ``module:name`` is
    the form the user named, and the env is the same."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The old environment creation API", Warning)
        yield


def parallel_maker(env_id: str) -> Callable[..., Any] | None:
    """The maker of PettingZoo Parallel env ``env_id`` (``mpe2:simple_spread_v3``: a module
    with ``parallel_env``), or None where it names none."""
    module, sep, name = env_id.rpartition(":")
    if not sep:
        return None
    target: Any
    with module_form():
        try:
            target = importlib.import_module(f"{module}.{name}")
        except ImportError:
            try:
                target = getattr(importlib.import_module(module), name, None)
            except ImportError:
                return None
        maker = getattr(target, "parallel_env", None)
    return maker if callable(maker) else None


def is_parallel_id(env_id: str) -> bool:
    return parallel_maker(env_id) is not None


class AgentsAsRows(gym.vector.VectorEnv):
    """The agents of ``num_copies`` copies of a Parallel env, as the rows of a vector env.

    Example:
        >>> envs = AgentsAsRows(lambda: make_parallel("mpe2:simple_spread_v3"), num_copies=2)
        >>> envs.num_envs, envs.single_observation_space.shape, envs.single_action_space
        (6, (21,), Discrete(5))
    """

    def __init__(
        self, make_env: Callable[[], Any], num_copies: int = 1, *, agent_id: bool = True
    ) -> None:
        self.copies = [make_env() for _ in range(num_copies)]
        first = self.copies[0]
        self.agents = list(first.possible_agents)
        n = len(self.agents)
        obs_space = first.observation_space(self.agents[0])
        act_space = first.action_space(self.agents[0])
        same = all(
            first.observation_space(a) == obs_space and first.action_space(a) == act_space
            for a in self.agents
        )
        if not same:
            raise ValueError(
                "the agents of this env have different spaces, so one policy cannot play them "
                f"all: {', '.join(f'{a}: {first.observation_space(a)}' for a in self.agents)}"
            )
        if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 1:
            raise ValueError(f"agents as rows need 1-D Box observations, got {obs_space}")
        self.agent_id = agent_id
        extra = n if agent_id else 0
        low = np.concatenate([obs_space.low, np.zeros(extra, obs_space.dtype)])
        high = np.concatenate([obs_space.high, np.ones(extra, obs_space.dtype)])
        self.single_observation_space = spaces.Box(low, high, dtype=obs_space.dtype)
        self.single_action_space = act_space
        self.num_envs = num_copies * n
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self.metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
        self.env_steps_per_step = num_copies
        self._ids = np.eye(n, dtype=obs_space.dtype) if agent_id else np.zeros((n, 0))
        self._seed: int | None = None

    def _rows(self, obs: dict[str, Any]) -> np.ndarray:
        rows = np.stack([np.asarray(obs[a]) for a in self.agents])
        return np.concatenate([rows, self._ids], axis=1).astype(
            self.single_observation_space.dtype, copy=False
        )

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        first = seed if isinstance(seed, int) or seed is None else seed[0]
        rows = []
        for c, env in enumerate(self.copies):
            obs, _ = env.reset(seed=None if first is None else first + c)
            rows.append(self._rows(obs))
        return np.concatenate(rows), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        n = len(self.agents)
        obs_rows, rewards, terms, truncs = [], [], [], []
        final_obs = np.empty(self.num_envs, dtype=object)
        ended = np.zeros(self.num_envs, dtype=bool)
        for c, env in enumerate(self.copies):
            acting = {a: actions[c * n + i] for i, a in enumerate(self.agents)}
            obs, reward, terminated, truncated, _ = env.step(acting)
            term = np.array([bool(terminated.get(a, False)) for a in self.agents])
            trunc = np.array([bool(truncated.get(a, False)) for a in self.agents])
            done = term | trunc
            if done.any() and not done.all():
                gone = [a for a, d in zip(self.agents, done, strict=True) if d]
                raise ValueError(
                    f"agents {', '.join(gone)} finished before the others; agents that leave "
                    "mid-episode are not supported here yet"
                )
            rows = self._rows(obs)
            if done.all():
                ended[c * n : (c + 1) * n] = True
                for i in range(n):
                    final_obs[c * n + i] = rows[i]
                rows = self._rows(env.reset()[0])
            obs_rows.append(rows)
            rewards.append([float(reward.get(a, 0.0)) for a in self.agents])
            terms.append(term)
            truncs.append(trunc & ~term)
        info: dict[str, Any] = {}
        if ended.any():
            info = {"final_obs": final_obs, "_final_obs": ended}
        return (
            np.concatenate(obs_rows),
            np.asarray(rewards, dtype=np.float64).reshape(-1),
            np.concatenate(terms),
            np.concatenate(truncs),
            info,
        )

    def close_extras(self, **kwargs: Any) -> None:
        for env in self.copies:
            env.close()


def make_parallel(env_id: str, **kwargs: Any) -> Any:
    """A PettingZoo Parallel env from ``module:name`` (its ``parallel_env``)."""
    maker = parallel_maker(env_id)
    if maker is None:
        raise ValueError(f"{env_id} names no PettingZoo Parallel env (module:name)")
    with module_form():
        return maker(**kwargs)


def agents(
    env_id: str, *, num_copies: int = 1, agent_id: bool = True, **make_kwargs: Any
) -> AgentsAsRows:
    """The ``agents`` preset: ``num_copies`` copies of PettingZoo Parallel env ``env_id``, its
    agents as rows (:class:`AgentsAsRows`); ``agent_id`` appends each agent's one-hot id. Other
    keywords make the env (``N=4``, ``max_cycles=50``)."""
    return AgentsAsRows(lambda: make_parallel(env_id, **make_kwargs), num_copies, agent_id=agent_id)
