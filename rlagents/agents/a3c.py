"""A3C: asynchronous advantage actor-critic (Mnih et al. 2016).

A2C's update, computed by many workers at once instead of on one batch. Each worker is a remote
process (a Ray actor, :mod:`rlagents.run.distributed`) with its own envs and a copy of the
actor-critic. It plays ``n_steps`` vector steps, computes the n-step actor-critic gradient of
that rollout — policy loss, value loss and entropy bonus, exactly A2C's loss, clipped to
``max_grad_norm`` — and sends it to the learner. The learner applies each gradient as it
arrives with its optimiser (the shared RMSprop or Adam statistics) and sends the worker fresh
weights; a slow worker never holds the others. A gradient may therefore have been computed on
weights a few updates old: the ``staleness`` metric says how many.

The learner is the run's agent: it logs, evaluates and checkpoints as every other agent, and a
checkpoint resumes with any number of workers (``num_workers``; ``rlrun --workers N`` sets it).
In one process (an agent driven by the ordinary loop, as in a test) A3C is A2C.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from rlagents.agents.a2c import A2C, A2CConfig
from rlagents.common.torch_utils import set_learning_rate


@dataclasses.dataclass
class A3CConfig(A2CConfig):
    """Hyper-parameters of A3C: A2C's (SB3's defaults, after the paper), and the workers."""

    num_workers: int = 2
    """Remote workers, each with the run's --num-envs envs, sending gradients asynchronously."""


class A3C(A2C):
    """A2C's gradients from remote workers on Ray, applied as they arrive (asynchronous)."""

    Config: ClassVar = A3CConfig
    remote: ClassVar[Literal["rollouts", "gradients"] | None] = "gradients"
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = {
        # A2C's CartPole set (rl-zoo3's: RMSprop 7e-4, 5-step rollouts), its 8 envs split over
        # two workers; the learner's one RMSprop is the paper's shared one. The earlier set
        # (Adam 1e-3 decaying, 8-step rollouts) fell back after 500 on two seeds of ten.
        "CartPole-v1": {
            "n_timesteps": 500_000,
            "cpu_steps_per_second": 4_800,
        },
        # rl-zoo3's A2C set (γ 0.995, ent 1e-5, RMSprop 7e-4 → 0) with GAE(0.95) over 16-step
        # rollouts of 16 envs: the best of eleven A2C variants tried on seed 0 (RESULTS.md).
        "LunarLander-v3": {
            "n_timesteps": 1_000_000,
            "gamma": 0.995,
            "gae_lambda": 0.95,
            "n_steps": 16,
            "learning_rate": 7e-4,
            "lr_schedule": "linear",
            "schedule_steps": 1_000_000,
            "ent_coef": 1e-5,
        },
    }
    recommended_num_envs: ClassVar = {"CartPole-v1": 4, "LunarLander-v3": 8}  # per worker

    def collected(self) -> dict[str, Any] | None:
        """Worker: once the rollout is full, the gradient of A2C's loss on it (clipped as A2C
        clips it), the loss's metrics and the normalisers' statistics."""
        if not self.buffer.full:
            return None
        _, _, loss, metrics = self.loss()
        for param in self.parameters:
            param.grad = None
        loss.backward()
        self.clip_gradients()
        gradients = [
            np.zeros(tuple(p.shape), np.float32) if p.grad is None else p.grad.cpu().numpy()
            for p in self.parameters
        ]
        steps = self.buffer.n_steps * self.buffer.num_envs
        self.buffer.reset()
        return {
            "gradients": gradients,
            "metrics": metrics,
            "stats": self.stats_since_weights(),
            "steps": steps,
        }

    def learn_from(self, parts: list[dict[str, Any]]) -> dict[str, float]:
        """Learner: one optimiser step with each worker's gradient, in the order they came."""
        metrics: dict[str, float] = {}
        for part in parts:
            self.num_timesteps += int(part["steps"])
            lr = self.lr_schedule(self.num_timesteps)
            set_learning_rate(self.optimizer, lr)
            for param, grad in zip(self.parameters, part["gradients"], strict=True):
                param.grad = torch.tensor(grad, device=self.device).view_as(param)  # Ray: read-only
            self.optimizer.step()
            self.merge_stats(part["stats"])
            self.n_updates += 1
            metrics = {**part["metrics"], "learning_rate": lr}
        return metrics
