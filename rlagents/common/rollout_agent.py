"""What A2C and PPO add to :class:`~rlagents.common.policy_agent.PolicyAgent`: the rollout of
``n_steps`` vector steps, its GAE advantages, the learning-rate schedule, and an update each
time the rollout is full.

Per vector step: ``observe`` — a few row copies into the preallocated rollout arrays;
``update`` — one integer comparison until the rollout is full.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import torch
from gymnasium import spaces

from rlagents.agent import Transition
from rlagents.common.policies import PolicyConfig
from rlagents.common.policy_agent import PolicyAgent, explained_variance
from rlagents.common.rollout import RolloutBuffer
from rlagents.common.schedules import to_zero
from rlagents.common.torch_utils import set_learning_rate


@dataclasses.dataclass
class RolloutConfig(PolicyConfig):
    """The fields of the rollout layer; A2C's and PPO's Configs set their own defaults."""

    n_steps: int = 5
    """Steps collected per env before each update."""
    gae_lambda: float = 1.0
    """GAE's λ (1: Monte-Carlo advantages over the rollout)."""
    lr_schedule: Literal["constant", "linear"] = "constant"
    """The learning rate's schedule over ``schedule_steps``."""
    schedule_steps: int = 1_000_000
    """Env steps over which a linear schedule goes to 0."""
    save_rollout: bool = True
    """Keep the partial rollout in checkpoints, so a resumed run continues exactly (false: a
    checkpoint of networks, optimiser and counters, a fraction of the size for image envs; a
    resumed run starts its next rollout afresh)."""


RolloutConfigT = TypeVar("RolloutConfigT", bound=RolloutConfig)


class RolloutAgent(PolicyAgent[RolloutConfigT]):
    """Base of the agents that learn from fixed-length rollouts; subclasses implement
    :meth:`learn`. Their ``Config`` has ``n_steps``, ``gamma``, ``gae_lambda``, ``lr_schedule``
    and ``schedule_steps``."""

    optional_state: ClassVar = ("rollout",)  # save_rollout=false leaves it out

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: Any = None,
        *,
        num_envs: int = 1,
        seed: int | None = None,
    ) -> None:
        super().__init__(observation_space, action_space, config, num_envs=num_envs, seed=seed)
        cfg = self.config
        self.buffer = RolloutBuffer(
            cfg.n_steps, num_envs, *self.obs_storage, *self.policy.raw_action_storage()
        )
        self.lr_schedule = to_zero(cfg.lr_schedule, cfg.learning_rate, cfg.schedule_steps)

    def store(self, x: np.ndarray, raw: np.ndarray, reward: np.ndarray, t: Transition) -> None:
        """Keep one step: into the rollout, with the final observations it will bootstrap from."""
        buffer = self.buffer
        buffer.add(x, raw, reward, t.terminated, t.truncated)
        envs = buffer.needs_final_obs()
        if envs is not None:
            buffer.keep_final_obs(envs, self.policy_input(t.next_obs[envs]))

    remote: ClassVar[Literal["rollouts", "gradients"] | None] = "rollouts"

    def collected(self) -> dict[str, Any] | None:
        """Worker: the full rollout of this copy's envs, with the normalisers' statistics."""
        if not self.buffer.full:
            return None
        part = {"rollout": self.buffer.state_dict(), "stats": self.stats_since_weights()}
        self.buffer.reset()
        return part

    def learn_from(self, parts: list[dict[str, Any]]) -> dict[str, float]:
        """Learner: the workers' rollouts side by side are one rollout of all their envs (this
        learner was built with that many); learn from it as from one collected here."""
        self.buffer.load_parts([part["rollout"] for part in parts])
        for part in parts:
            self.merge_stats(part["stats"])
        self.num_timesteps += self.buffer.n_steps * self.buffer.num_envs
        return self.update()

    def update(self) -> dict[str, float]:
        if not self.buffer.full:
            return {}
        lr = self.lr_schedule(self.num_timesteps)
        set_learning_rate(self.optimizer, lr)
        metrics = self.learn()
        self.buffer.reset()
        self.n_updates += 1
        metrics["learning_rate"] = lr
        return metrics

    @abc.abstractmethod
    def learn(self) -> dict[str, float]:
        """Learn from the full rollout in ``self.buffer``; return the metrics."""

    # ------------------------------------------------------------------------ helpers
    def rollout_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Observations and raw actions of the whole rollout, flattened to ``T·N`` rows."""
        buffer = self.buffer
        rows = buffer.n_steps * buffer.num_envs
        obs = torch.as_tensor(buffer.obs.reshape(rows, *buffer.obs.shape[2:]), device=self.device)
        raw = torch.as_tensor(
            buffer.actions.reshape(rows, *buffer.actions.shape[2:]), device=self.device
        )
        return obs, raw

    def final_values(self) -> np.ndarray:
        """``V`` of the kept final observations (truncated steps and the rollout's last step)."""
        with torch.no_grad():
            obs = torch.as_tensor(self.buffer.final_obs(), device=self.device)
            return self.policy.value(obs).cpu().numpy()

    def gae(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
        """GAE advantages and value targets of the rollout's ``T·N`` rows, from their values
        ``V(obs)`` (bootstrapped from the kept final observations), and how much of the
        targets' variance those values explain."""
        cfg, buffer = self.config, self.buffer
        values_np = values.detach().cpu().numpy().reshape(buffer.n_steps, buffer.num_envs)
        adv_np, ret_np = buffer.advantages(
            values_np, self.final_values(), cfg.gamma, cfg.gae_lambda
        )
        advantages = torch.as_tensor(adv_np.reshape(-1), device=self.device)
        returns = torch.as_tensor(ret_np.reshape(-1), device=self.device)
        return advantages, returns, explained_variance(values_np, ret_np)

    # ------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The base state and the rollout collected so far (with its position): with the envs
        restored from their snapshot, a resumed run continues exactly where this one stopped.
        With ``save_rollout=false`` the rollout is left out (see :meth:`load_state_dict`)."""
        state = super().state_dict()
        if self.config.save_rollout:
            state["rollout"] = self.buffer.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`; a checkpoint without a rollout (``save_rollout=false``,
        older ones) starts the next rollout afresh."""
        super().load_state_dict(state)
        if "rollout" in state:
            self.buffer.load_state_dict(state["rollout"])
        else:
            self.buffer.reset()

    def envs_restarted(self) -> None:
        """The run reset its envs instead of restoring them (an env that cannot be snapshotted,
        an older checkpoint): drop the partial rollout, whose last step the new episodes do not
        continue."""
        self.buffer.reset()
