"""One policy per agent (``--policies independent``) behind the ordinary agent contract.

A Parallel env's agents are the rows of the run's batch (``wrappers.AgentsAsRows``: row
``c * n + i`` is agent ``i`` of copy ``c``). :class:`PolicyMap` gives each agent its own policy —
any agent of the registry, built with the copies as its envs — and routes rows ``i::n`` to
policy ``i``: acting, observing and learning stay each policy's own code, so PPO becomes IPPO
with separate parameters, DQN independent DQNs. Being an :class:`~rlagents.Agent` itself, the
map is saved, resumed, evaluated and logged as any agent is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from rlagents.agent import Agent, Transition


class PolicyMap(Agent):
    """``policies[i]`` plays agent ``i`` (rows ``i::n``); subclassed per policy class by
    :func:`policy_map_class`."""

    policy_class: ClassVar[type[Agent]]
    remote = None

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: Any = None,
        *,
        num_envs: int = 1,
        seed: int | None = None,
        agent_names: tuple[str, ...] = (),
    ) -> None:
        n = len(agent_names)
        if n < 1 or num_envs % n:
            raise ValueError(f"a policy map needs rows in whole copies of {n} agents")
        cls = self.policy_class
        self.policies = [
            cls(
                observation_space,
                action_space,
                config,
                num_envs=num_envs // n,
                seed=None if seed is None else seed + i,
            )
            for i in range(n)
        ]
        self.observation_space, self.action_space = observation_space, action_space
        self.config = self.policies[0].config
        self.num_envs, self.seed = num_envs, seed
        self.agent_names = agent_names
        self._last: tuple[np.ndarray, list[np.ndarray]] | None = None

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        n = len(self.policies)
        parts = [p.act(obs[i::n], explore=explore) for i, p in enumerate(self.policies)]
        out = np.empty((len(obs), *parts[0].shape[1:]), dtype=parts[0].dtype)
        for i, part in enumerate(parts):
            out[i::n] = part
        if explore:
            self._last = (out, parts)  # observe hands each policy the actions it chose
        return out

    def observe(self, t: Transition) -> None:
        n = len(self.policies)
        last, self._last = self._last, None
        for i, policy in enumerate(self.policies):
            rows = Transition(*(field[i::n] for field in t))
            if last is not None and last[0] is t.action:
                rows = rows._replace(action=last[1][i])
            policy.observe(rows)

    def update(self) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for name, policy in zip(self.agent_names, self.policies, strict=True):
            metrics.update({f"{name}/{k}": v for k, v in policy.update().items()})
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {
            name: p.state_dict() for name, p in zip(self.agent_names, self.policies, strict=True)
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, policy in zip(self.agent_names, self.policies, strict=True):
            policy.load_state_dict(state[name])

    @classmethod
    def kept_state(cls, state: Mapping[str, Any]) -> dict[str, Any]:
        return {name: cls.policy_class.kept_state(part) for name, part in state.items()}

    def begin_episodes(self, mask: np.ndarray | None = None) -> None:
        n = len(self.policies)
        for i, policy in enumerate(self.policies):
            policy.begin_episodes(None if mask is None else mask[i::n])

    def envs_restarted(self) -> None:
        for policy in self.policies:
            policy.envs_restarted()


def policy_map_class(policy_class: type[Agent]) -> type[PolicyMap]:
    """The :class:`PolicyMap` of ``policy_class`` (its Config is the policies')."""
    return type(
        f"{policy_class.__name__}PolicyMap",
        (PolicyMap,),
        {
            "policy_class": policy_class,
            "Config": policy_class.Config,
            "observation_spaces": policy_class.observation_spaces,
            "action_spaces": policy_class.action_spaces,
            "__module__": __name__,
        },
    )
