"""The agent contract that built-in agents and plugins implement.

An agent sees a batch of observations (leading axis: env index) and answers a batch of actions;
the runner hands it every vector step as a :class:`Transition` and then calls :meth:`Agent.update`,
where the agent decides for itself whether to learn (every step, every ``train_freq`` steps, or at
the end of a rollout).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeVar

import numpy as np
from gymnasium import spaces

from rlagents.config import build_config
from rlagents.errors import ConfigError, SpaceMismatchError


class Transition(NamedTuple):
    """One vector step; every field is an array whose leading axis is the env index.

    ``next_obs`` is the true last observation where an episode ended, never the first
    observation of the next episode. ``terminated`` and ``truncated`` stay separate: a truncated
    episode is bootstrapped from ``next_obs``, a terminated one is not.
    """

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


@dataclasses.dataclass
class EmptyConfig:
    """An agent without hyper-parameters."""


ConfigT = TypeVar("ConfigT")


class Agent(abc.ABC, Generic[ConfigT]):
    """Base class of every agent.

    Subclasses set:

    * ``Config`` — a dataclass of hyper-parameters, each field documented by a docstring below it;
    * ``observation_spaces`` / ``action_spaces`` — the space types the agent accepts (single-env
      spaces); override :meth:`check_spaces` for finer conditions (shape, bounds);
    * ``hyperparams`` — optional tuned overrides of ``Config`` per env id or preset name
      (``"CartPole-v1"``, ``"atari"``), as rl-zoo3's files are: a run takes the set for its env
      id, else for its preset, unless the user names one (``--hyperparams NAME``) or none. A set
      may also say its budget (``n_timesteps``, which a run without ``--steps`` trains for) and
      its measured speed (``cpu_steps_per_second``, on a 2-core CPU: the run's start line
      says how long it will take); see :mod:`rlagents.run.tuned`;
    * ``cpu_alternatives`` — optional: for a set only a GPU gets through in hours, the set a run
      takes instead on a machine without one (``{"atari": "atari100k"}``);
    * ``recommended_num_envs`` — optional, per env id or preset name: the number of envs a tuned
      set was made for (rl-zoo3's ``n_envs``); a run uses it unless ``--num-envs`` is given.

    and implement :meth:`act`; :meth:`observe`, :meth:`update`, :meth:`state_dict` and
    :meth:`load_state_dict` default to an agent that does not learn. ``Agent`` is generic over its
    config: ``class MyAgent(Agent[MyConfig])`` types ``self.config`` as ``MyConfig``.
    """

    Config: ClassVar[type] = EmptyConfig
    observation_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (spaces.Space,)
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (spaces.Space,)
    hyperparams: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    recommended_num_envs: ClassVar[Mapping[str, int]] = {}
    cpu_alternatives: ClassVar[Mapping[str, str]] = {}
    optional_state: ClassVar[tuple[str, ...]] = ()
    """Top-level keys of :meth:`state_dict` that a config may leave out of checkpoints (a replay
    buffer, a partial rollout): a checkpoint may lack them, and one that holds them loads into
    an agent that leaves them out (they are dropped). :meth:`load_state_dict` copes without."""
    joint_view: ClassVar[bool] = False
    """An agent that needs the joint view of a PettingZoo Parallel env (MAPPO's centralized
    critic) sets it; the run then gives it Dict observations ``{"observation": the agent's own,
    "agent": its one-hot id, "state": the env's state()}`` (the agents' observations joined
    where the env has no state), one row per agent. Acting must use the agent's own part only."""
    remote: ClassVar[Literal["rollouts", "gradients"] | None] = None
    """How the agent learns from remote workers (:mod:`rlagents.run.distributed`): ``"rollouts"`` —
    each worker collects a part of the batch, the learner learns from all parts at once
    (``--workers N``); ``"gradients"`` — each worker sends a gradient, applied as it arrives
    (A3C); ``None`` — the agent runs in one process only. Such an agent implements the four
    methods of the distributed seam below."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: Any = None,
        *,
        num_envs: int = 1,
        seed: int | None = None,
    ) -> None:
        problem = self.check_spaces(observation_space, action_space)
        if problem:
            raise SpaceMismatchError(problem)
        if num_envs < 1:
            raise ConfigError(f"num_envs must be at least 1, got {num_envs}")
        self.observation_space = observation_space
        self.action_space = action_space
        self.config: ConfigT = self._coerce_config(config)
        self.num_envs = num_envs
        self.seed = seed

    @classmethod
    def _coerce_config(cls, config: Any) -> Any:
        if config is None:
            return cls.Config()
        if isinstance(config, Mapping):
            return build_config(cls.Config, dict(config))
        if not isinstance(config, cls.Config):
            raise ConfigError(
                f"{cls.__name__} expects a {cls.Config.__qualname__} or a dict, "
                f"got {type(config).__name__}"
            )
        return config

    @classmethod
    def check_spaces(
        cls, observation_space: spaces.Space, action_space: spaces.Space
    ) -> str | None:
        """Return why this agent cannot handle these spaces, or ``None`` if it can."""
        for role, space, accepted in (
            ("observation", observation_space, cls.observation_spaces),
            ("action", action_space, cls.action_spaces),
        ):
            if not isinstance(space, accepted):
                names = " or ".join(t.__name__ for t in accepted)
                return f"{cls.__name__} needs a {names} {role} space, got {space}"
        return None

    @abc.abstractmethod
    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """Return a batch of actions for a batch of observations (leading axis: env index)."""

    def observe(self, transition: Transition) -> None:
        """Receive one vector step. The default agent keeps nothing."""

    def update(self) -> dict[str, float]:
        """Learn if it is time to; return the metrics of the learning done (``{}`` if none)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: tensors, arrays, numbers, strings, nested dicts/lists."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned.

        A resumed run restores its envs too where they can be snapshotted, so an agent keeps
        what spans steps (a partial rollout, open n-step windows, per-env memory) and the run
        goes on as if it had never stopped."""

    @classmethod
    def kept_state(cls, state: Mapping[str, Any]) -> dict[str, Any]:
        """The part of a :meth:`state_dict` that a kept agent holds (a run's ``RUN_DIR/best``,
        ``benchmarks/keep_agent.py``): what acting needs, so that it plays its evaluation again
        exactly, and what fine-tuning starts from; not what only an exact resume needs. The
        default leaves out :attr:`optional_state`; the result must load with
        :meth:`load_state_dict`."""
        return {k: v for k, v in state.items() if k not in cls.optional_state}

    def begin_episodes(self, mask: np.ndarray | None = None) -> None:
        """Greedy episodes begin: the next ``act(explore=False)`` sees the first observation of a
        new episode in every row (``mask`` None) or in the rows where ``mask`` is True. Only an
        agent whose ``act`` depends on the past (a recurrent policy: ``lstm_td3``) needs it; the
        default does nothing. :func:`rlagents.evaluate` calls it before each episode. Training
        episodes need no such call: ``observe``'s ``terminated``/``truncated`` say where they
        ended, and the next observation starts a new one."""

    def envs_restarted(self) -> None:
        """Called after :meth:`load_state_dict` when the runner could not restore the envs and
        starts new episodes instead: forget what belonged to the episodes in progress."""

    # ---------------------------------------------------------------- the distributed seam
    # Only agents with ``remote`` set implement these; the run calls them, never the loop.
    # A worker holds a copy of the agent, built like the learner but with the worker's own
    # ``num_envs`` and seed; it acts and observes its envs as the loop would, never updates.

    def get_weights(self) -> dict[str, Any]:
        """Learner: what a worker's copy needs to act and learn as the learner would (network
        weights, normaliser statistics) as numpy arrays and numbers, sent after every update."""
        raise NotImplementedError(f"{type(self).__name__} has no distributed seam")

    def set_weights(self, weights: Mapping[str, Any]) -> None:
        """Worker: take :meth:`get_weights`' output of the learner."""
        raise NotImplementedError(f"{type(self).__name__} has no distributed seam")

    def collected(self) -> dict[str, Any] | None:
        """Worker, after each ``observe``: ``None`` while the worker's part is not ready, then
        the part — arrays and numbers for the learner (a rollout for ``"rollouts"``, a gradient
        for ``"gradients"``) — after which the copy starts collecting the next one."""
        raise NotImplementedError(f"{type(self).__name__} has no distributed seam")

    def learn_from(self, parts: list[dict[str, Any]]) -> dict[str, float]:
        """Learner: learn from the workers' parts — every worker's at once (``"rollouts"``, in
        worker order, as one batch of all their envs) or one (``"gradients"``); return the
        metrics, as :meth:`update` does."""
        raise NotImplementedError(f"{type(self).__name__} has no distributed seam")
