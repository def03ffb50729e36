"""MAPPO: PPO with a centralized critic (Yu et al. 2022, "The Surprising Effectiveness of PPO in
Cooperative Multi-Agent Games").

Centralized training, decentralized execution: each actor π(a | o_i) reads its own agent's
observation (and the agent's id, the policy being shared), while the critic V(s, i) reads the
env's global state — PettingZoo's ``state()``, or the agents' observations joined where an env
has none — with the agent's id. Only the critic sees the joint view, so acting needs nothing but
the agent's own observation. The update is PPO's (:class:`rlagents.agents.ppo.PPO`), unchanged.

The joint view is the agent contract's seam for such algorithms: an agent that sets
``joint_view = True`` gets, from a PettingZoo Parallel env (the ``agents`` preset), Dict
observations ``{"observation": its own, "agent": its one-hot id, "state": the global state}``;
a plugin can do the same.

    rlrun --env mpe2:simple_spread_v3 --agent mappo
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces

from rlagents.agent import Transition
from rlagents.agents.ppo import PPO
from rlagents.common.networks import mlp
from rlagents.common.policies import ActorCritic, PolicyConfig

KEYS = ("observation", "agent", "state")


class JointLayout:
    """A ``{"observation", "agent", "state"}`` observation as one flat row, in that order: the
    actor reads the agent's observation and id, the critic its id and the state."""

    def __init__(self, space: spaces.Dict) -> None:
        self.n_obs, self.n_agents, self.n_state = (int(spaces.flatdim(space[k])) for k in KEYS)
        width = self.n_obs + self.n_agents + self.n_state
        self.flat_space = spaces.Box(-np.inf, np.inf, (width,), np.float32)

    def flatten(self, obs: Any) -> np.ndarray:
        n = len(obs["observation"])
        parts = [np.asarray(obs[k], np.float32).reshape(n, -1) for k in KEYS]
        return np.concatenate(parts, axis=1)

    def flat_transition(self, t: Transition) -> Transition:
        return t._replace(obs=self.flatten(t.obs), next_obs=self.flatten(t.next_obs))


class CentralizedActorCritic(ActorCritic):
    """PPO's actor on the agent's observation and id (the first ``n_own`` numbers of a row),
    and a critic of its own on the agent's id and the global state (the rest)."""

    def __init__(self, layout: JointLayout, action_space: spaces.Space, cfg: PolicyConfig) -> None:
        self.n_own = layout.n_obs + layout.n_agents
        own = spaces.Box(-np.inf, np.inf, (self.n_own,), np.float32)
        super().__init__(own, action_space, dataclasses.replace(cfg, share_features=True))
        self.n_obs = layout.n_obs
        self.critic = mlp(layout.n_agents + layout.n_state, 1, tuple(cfg.net_arch))

    def _critic_input(self, rows: torch.Tensor) -> torch.Tensor:
        return rows[:, self.n_obs :]  # the agent's id, then the state

    def act(
        self, obs: np.ndarray, rng: np.random.Generator, *, deterministic: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        return super().act(obs[:, : self.n_own], rng, deterministic=deterministic)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.distribution(obs), self.value(obs)

    def distribution(self, obs: torch.Tensor) -> torch.Tensor:
        own = obs[:, : self.n_own]
        return self.dist_params(self.body(self.encoder(own), copies=1)[0], own)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(self._critic_input(obs)).squeeze(-1)


class MAPPO(PPO):
    """PPO whose critic reads the env's global state: multi-agent PPO (CTDE)."""

    joint_view: ClassVar[bool] = True
    remote = None  # remote workers do not play PettingZoo envs yet
    observation_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (spaces.Dict,)
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = {
        # PPO's simple_spread set (the MAPPO paper's lr and GAE), not tuned for MAPPO apart.
        "mpe2:simple_spread_v3": dict(PPO.hyperparams["mpe2:simple_spread_v3"]),
    }
    recommended_num_envs: ClassVar = {"mpe2:simple_spread_v3": 8}

    @classmethod
    def check_spaces(
        cls, observation_space: spaces.Space, action_space: spaces.Space
    ) -> str | None:
        if not isinstance(observation_space, spaces.Dict) or set(observation_space.spaces) != set(
            KEYS
        ):
            return (
                "mappo reads the joint view of a PettingZoo Parallel env (observations "
                f"{{'observation', 'agent', 'state'}}, the agents preset), got {observation_space}"
            )
        return super().check_spaces(observation_space["observation"], action_space)

    def make_layout(self, observation_space: spaces.Space) -> Any:
        assert isinstance(observation_space, spaces.Dict)
        return JointLayout(observation_space)

    def make_policy(self, observation_space: spaces.Space, action_space: spaces.Space) -> Any:
        return CentralizedActorCritic(self.layout, action_space, self.config)
