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
        self,
        make_env: Callable[[], Any],
        num_copies: int = 1,
        *,
        agent_id: bool = True,
        global_state: bool = False,
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
        own = spaces.Box(low, high, dtype=obs_space.dtype)
        self.single_observation_space: spaces.Space = own
        self.global_state = global_state
        if global_state:  # the joint view a centralized critic reads (MAPPO)
            width = len(self._state(first)) if self._has_state(first) else n * obs_space.shape[0]
            self.single_observation_space = spaces.Dict(
                {
                    "observation": obs_space,
                    "agent": spaces.Box(0.0, 1.0, (n,), np.float32),
                    "state": spaces.Box(-np.inf, np.inf, (width,), np.float32),
                }
            )
        self.single_action_space = act_space
        self.num_envs = num_copies * n
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self.metadata = {
            "autoreset_mode": gym.vector.AutoresetMode.SAME_STEP,
            "render_fps": first.metadata.get("render_fps", 30),
        }
        self.env_steps_per_step = num_copies  # a step is one joint step of each copy
        self.rows_per_episode = n  # a copy's agents play one episode together
        self._ids = np.eye(n, dtype=obs_space.dtype) if agent_id else np.zeros((n, 0))
        self._seed: int | None = None

    @staticmethod
    def _has_state(env: Any) -> bool:
        try:
            env.state()
        except Exception:  # no state(): the joined observations stand for it
            return False
        return True

    @staticmethod
    def _state(env: Any) -> np.ndarray:
        return np.asarray(env.state(), dtype=np.float32).reshape(-1)

    def _rows(self, obs: dict[str, Any], env: Any) -> Any:
        own = np.stack([np.asarray(obs[a]) for a in self.agents]).astype(np.float32, copy=False)
        if not self.global_state:
            return np.concatenate([own, self._ids], axis=1).astype(np.float32, copy=False)
        state = self._state(env) if self._has_state(env) else own.reshape(-1)
        ids = np.eye(len(self.agents), dtype=np.float32)
        return {"observation": own, "agent": ids, "state": np.tile(state, (len(self.agents), 1))}

    @staticmethod
    def _join(parts: list[Any]) -> Any:
        if isinstance(parts[0], dict):
            return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        return np.concatenate(parts)

    @staticmethod
    def _row(rows: Any, i: int) -> Any:
        return {k: v[i] for k, v in rows.items()} if isinstance(rows, dict) else rows[i]

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        first = seed if isinstance(seed, int) or seed is None else seed[0]
        rows = []
        for c, env in enumerate(self.copies):
            obs, _ = env.reset(seed=None if first is None else first + c)
            rows.append(self._rows(obs, env))
        return self._join(rows), {}

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
            rows = self._rows(obs, env)
            if done.all():
                ended[c * n : (c + 1) * n] = True
                for i in range(n):
                    final_obs[c * n + i] = self._row(rows, i)
                rows = self._rows(env.reset()[0], env)
            obs_rows.append(rows)
            rewards.append([float(reward.get(a, 0.0)) for a in self.agents])
            terms.append(term)
            truncs.append(trunc & ~term)
        info: dict[str, Any] = {}
        if ended.any():
            info = {"final_obs": final_obs, "_final_obs": ended}
        return (
            self._join(obs_rows),
            np.asarray(rewards, dtype=np.float64).reshape(-1),
            np.concatenate(terms),
            np.concatenate(truncs),
            info,
        )

    def render(self) -> Any:
        """The first copy's frame, as its ``render_mode`` draws it (``rgb_array``: an image);
        where a step ended its episode, the copy has already reset."""
        return self.copies[0].render()

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
    env_id: str,
    *,
    num_copies: int = 1,
    agent_id: bool = True,
    global_state: bool = False,
    **make_kwargs: Any,
) -> AgentsAsRows:
    """The ``agents`` preset: ``num_copies`` copies of PettingZoo Parallel env ``env_id``, its
    agents as rows (:class:`AgentsAsRows`); ``agent_id`` appends each agent's one-hot id,
    ``global_state`` makes each row ``{"observation", "agent", "state"}``, with the env's
    ``state()`` (the joined observations where it has none). Other keywords make the env."""
    return AgentsAsRows(
        lambda: make_parallel(env_id, **make_kwargs),
        num_copies,
        agent_id=agent_id,
        global_state=global_state,
    )
