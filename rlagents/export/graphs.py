"""The greedy policy of a trained agent as one torch module: the env's observation in (a batch,
as the env and its preset give it: float32 vectors, uint8 channel-first image stacks, integer
indices), the env's action out — with everything acting needs inside: the observation
normalisation, the network, and the action's scaling to the env's bounds (or the argmax).

One module per family, each reading the agent's own networks, so that what is exported is what
``act(obs, explore=False)`` computes:

* :class:`QGreedy` — ``dqn``: argmax_a Q(s, a);
* :class:`PolicyGreedy` — ``ppo``, ``a2c``, ``a3c``, ``trpo``, ``reinforce``: the policy's
  mode (argmax of the logits; the Gaussian's mean clipped or squashed; the Beta's mean), after
  the running observation normalisation;
* :class:`ActorGreedy` — ``ddpg``, ``td3``: μ(s); ``sac``: tanh of the Gaussian's mean — each
  rescaled from [-1, 1] to the action bounds.

What cannot be exported says why (:func:`not_exportable`).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from rlagents.agent import Agent
from rlagents.common.gsde import CLIP_MEAN
from rlagents.common.masks import MaskedEncoder, mask_logits
from rlagents.common.policy_agent import PolicyAgent
from rlagents.errors import ExportError

BETA_EDGE = 1e-6  # as rlagents.common.policies clips the Beta's sample

WHY_NOT = {
    "qlearning": "its policy is a table, not a network: it already acts without torch "
    "(rlagents.load_checkpoint and agent.act)",
    "sarsa": "its policy is a table, not a network: it already acts without torch "
    "(rlagents.load_checkpoint and agent.act)",
    "cem": "its policy runs in numpy already (no torch at acting time)",
    "lstm_td3": "its actor reads a window of the episode's past steps, which a stateless "
    "graph does not hold",
    "mappo": "its actor reads the joint view of a Parallel env (a Dict of observation, agent "
    "and state), which the player does not build yet",
    "random": "it has no policy to export",
}


def _buffer(module: nn.Module, name: str, value: Any) -> None:
    module.register_buffer(name, torch.as_tensor(np.asarray(value, dtype=np.float32)))


class QGreedy(nn.Module):
    """argmax_a Q(s, a) (0-based index plus the action space's start)."""

    def __init__(self, agent: Any) -> None:
        super().__init__()
        self.q = agent.online
        self.start = int(agent._act_start)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.q(obs).argmax(dim=1) + self.start


class PolicyGreedy(nn.Module):
    """The mode of an actor-critic's policy, as ``ActorCritic.act(deterministic=True)``."""

    mean: torch.Tensor
    inv_std: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor

    def __init__(self, agent: PolicyAgent) -> None:
        super().__init__()
        p: Any = agent.policy
        self.encoder, self.body, self.pi_head = p.encoder, p.body, p.pi_head
        norm = agent.obs_normalizer
        self.normalize = norm is not None
        if norm is not None:
            _buffer(self, "mean", norm._mean)
            _buffer(self, "inv_std", norm._inv_std)
            self.clip = float(norm.clip)
        self.discrete, self.tanh, self.beta = p.discrete, p.tanh, p.beta
        if self.discrete:
            self.start = int(p.action_start)
        else:
            _buffer(self, "low", p.low)
            _buffer(self, "high", p.high)
            self.action_shape = tuple(p.action_shape)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs
        if self.normalize:
            x = ((x.float() - self.mean) * self.inv_std).clamp(-self.clip, self.clip)
        out = self.pi_head(self.body(self.encoder(x))[0])
        if self.discrete:
            if isinstance(self.encoder, MaskedEncoder):  # a masked row: legal actions only
                out = mask_logits(out, self.encoder.mask(x))
            return out.argmax(dim=1) + self.start
        if self.beta:  # the Beta's mean α/(α+β), α, β = 1 + softplus(...)
            alpha, beta = (1.0 + nn.functional.softplus(out)).chunk(2, dim=1)
            unit = (alpha / (alpha + beta)).clamp(BETA_EDGE, 1.0 - BETA_EDGE)
            action = self.low + unit * (self.high - self.low)
        elif self.tanh:
            action = self.low + (torch.tanh(out) + 1.0) * 0.5 * (self.high - self.low)
        else:
            action = torch.minimum(torch.maximum(out, self.low), self.high)
        return action.reshape(-1, *self.action_shape)


class ActorGreedy(nn.Module):
    """The deterministic actor's action in [-1, 1] (DDPG/TD3's μ(s), SAC's tanh(mean)),
    rescaled to the env's bounds."""

    center: torch.Tensor
    scale: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor

    def __init__(self, agent: Any, gaussian: bool) -> None:
        super().__init__()
        self.encoder, self.actor = agent.online.encoder, agent.online.actor
        self.gaussian, self.act_dim = gaussian, int(agent.act_dim)
        # SAC's mean under gSDE is clipped to [-2, 2] before tanh (rlagents.common.gsde)
        self.clip_mean = CLIP_MEAN if gaussian and agent.config.use_sde else None
        _buffer(self, "center", agent._center)
        _buffer(self, "scale", agent._half)
        _buffer(self, "low", agent._low)
        _buffer(self, "high", agent._high)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        out = self.actor(self.encoder(obs))
        if self.gaussian:
            mean = out[:, : self.act_dim]
            clip = self.clip_mean
            unit = torch.tanh(mean if clip is None else mean.clamp(-clip, clip))
        else:
            unit = out
        action = self.center + self.scale * unit
        return torch.minimum(torch.maximum(action, self.low), self.high)


def greedy_module(agent: Agent, name: str) -> nn.Module:
    """The agent's greedy policy as a module (in eval mode), or :class:`ExportError`."""
    from rlagents.agents.dqn import DQN
    from rlagents.agents.sac import SAC
    from rlagents.common.off_policy import OffPolicyBoxAgent

    if name in WHY_NOT:
        raise ExportError(f"{name} cannot be exported: {WHY_NOT[name]}")
    module: nn.Module
    if isinstance(agent, DQN):
        module = QGreedy(agent)
    elif isinstance(agent, PolicyAgent):
        module = PolicyGreedy(agent)
    elif isinstance(agent, OffPolicyBoxAgent):
        module = ActorGreedy(agent, gaussian=isinstance(agent, SAC))
    else:
        raise ExportError(
            f"{name} ({type(agent).__name__}) is not one of the exportable families (dqn; "
            "ppo, a2c, a3c, trpo, reinforce; ddpg, td3, sac)"
        )
    return float32_copy(module).eval().requires_grad_(False)


def float32_copy(module: nn.Module) -> nn.Module:
    """A copy whose Nature CNNs compute in float32: a CNN trained under bfloat16 autocast (a
    speed seam of training, ``cnn_precision``) is exported in float32, which every ONNX
    runtime runs; its actions can differ from the agent's where bfloat16's rounding decided an
    argmax."""
    from rlagents.common.networks import NatureCNN

    copy_ = copy.deepcopy(module)
    for cnn in copy_.modules():
        if isinstance(cnn, NatureCNN):
            cnn.autocast_dtype = None
    return copy_
