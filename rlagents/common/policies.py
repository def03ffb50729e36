"""Stochastic policies with a value head, shared by REINFORCE, A2C and PPO.

* ``Discrete`` actions: a categorical distribution over the logits.
* ``Box`` actions: a diagonal Gaussian whose mean comes from the network and whose log standard
  deviation is a learned, state-independent parameter (as in PPO's paper and SB3). The sample
  is brought into the bounds by clipping (SB3's way: the log-probability stays that of the
  unclipped sample) or by a tanh squash (log-probability corrected by the tanh Jacobian,
  Haarnoja et al. 2018, SAC appendix C). Or (``box_actions="beta"``) a Beta distribution per
  dimension on the bounds themselves, α, β = 1 + softplus(network) (Chou et al. 2017): no
  probability is lost beyond the bounds, which for CarRacing's gas and brake matters.
* Observations go through :func:`~rlagents.common.networks.make_encoder` (flatten, one-hot, or
  the Nature CNN for image stacks, always shared by both heads), then an MLP per head
  (``share_features=False``: two networks) or one MLP shared by both heads.

The per-step path (:meth:`ActorCritic.act`) runs only the actor and samples in numpy, which on a
handful of envs is several times cheaper than torch's distribution objects; the learning path
(:meth:`ActorCritic.forward`, :meth:`ActorCritic.log_prob` …) is pure torch on whole batches.
A distribution is passed around as one tensor of parameters: log-probabilities of the classes
(categorical), ``[mean, log_std]`` (Gaussian) or ``[α, β]`` (Beta).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Literal, cast

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from rlagents.common.masks import (
    MaskedEncoder,
    mask_logits,
    mask_logits_numpy,
    masked_layout,
)
from rlagents.common.networks import FlattenEncoder, ParallelMLP, is_image_space, make_encoder
from rlagents.common.torch_utils import TorchCNNConfig

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}
LOG_2PI = math.log(2 * math.pi)
BETA_EDGE = 1e-6  # Beta samples are kept this far inside (0, 1): log x and log(1 − x) stay finite


@dataclasses.dataclass
class PolicyConfig(TorchCNNConfig):
    """The network, action-distribution and normalisation fields shared by the policy-gradient
    agents (each agent's ``Config`` adds its algorithm's fields to these), with the torch
    fields (device, threads, CNN precision) of :class:`~rlagents.config.TorchCNNConfig`."""

    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer widths of the MLP of each head (after the CNN for image observations)."""
    activation: Literal["tanh", "relu", "gelu"] = "tanh"
    """Activation of the hidden layers."""
    share_features: bool = False
    """One network with two heads (true) or separate policy and value networks (false). Image
    observations always share the CNN."""
    ortho_init: bool = True
    """Orthogonal initialisation (gains √2 hidden, 0.01 policy head, 1 value head), as in the
    PPO implementations studied by Engstrom et al. 2020."""
    box_actions: Literal["clip", "tanh", "beta"] = "clip"
    """Box actions: clip the Gaussian sample to the bounds, squash it with tanh, or a Beta
    distribution scaled to the bounds (log_std_init then does not apply)."""
    log_std_init: float = 0.0
    """Initial log standard deviation of the Gaussian policy (Box actions)."""
    normalize_observations: bool = False
    """Normalise vector observations by a running mean and std (clipped to ±10)."""
    normalize_rewards: bool = False
    """Scale rewards by the running std of the discounted return."""
    # What every policy-gradient agent learns with; each agent's Config sets its own defaults.
    learning_rate: float = 3e-4
    """Adam/RMSprop step size."""
    gamma: float = 0.99
    """Discount factor."""
    max_grad_norm: float | None = 0.5
    """Clip the gradients' global norm to this (None or 0: no clipping)."""


class ActorCritic(nn.Module):
    """An actor (distribution over actions) and a critic ``V(s)`` for one pair of spaces."""

    def __init__(
        self, observation_space: spaces.Space, action_space: spaces.Space, cfg: PolicyConfig
    ) -> None:
        super().__init__()
        self.encoder = make_encoder(observation_space)
        self.masked = masked_layout(observation_space)
        self.activation_name = cfg.activation
        self._numpy_actor: Callable[[np.ndarray], np.ndarray] | None = None
        width = int(cast(int, self.encoder.features_dim))
        # Two networks (actor, critic) or one with two heads: ``copies`` MLPs run side by side
        self.body = ParallelMLP(
            width,
            tuple(cfg.net_arch),
            copies=1 if cfg.share_features else 2,
            activation=ACTIVATIONS[cfg.activation],
        )
        head_in = cfg.net_arch[-1] if cfg.net_arch else width

        self.discrete = isinstance(action_space, spaces.Discrete)
        if isinstance(action_space, spaces.Discrete):
            self.n_out = int(action_space.n)
            self.action_start = int(action_space.start)
        else:
            assert isinstance(action_space, spaces.Box)
            self.n_out = int(np.prod(action_space.shape))
            if cfg.box_actions != "beta":
                self.log_std = nn.Parameter(torch.full((self.n_out,), float(cfg.log_std_init)))
            self.low = action_space.low.reshape(-1).astype(np.float32)
            self.high = action_space.high.reshape(-1).astype(np.float32)
            self.action_shape = action_space.shape
            self.action_dtype = action_space.dtype
        self.tanh = cfg.box_actions == "tanh" and not self.discrete
        self.beta = cfg.box_actions == "beta" and not self.discrete
        self.pi_head = nn.Linear(head_in, 2 * self.n_out if self.beta else self.n_out)
        self.vf_head = nn.Linear(head_in, 1)
        if cfg.ortho_init:
            self._orthogonal_init()
        self.image = is_image_space(observation_space)

    def _orthogonal_init(self) -> None:
        for layer in self.encoder.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d)):
                nn.init.orthogonal_(layer.weight, gain=math.sqrt(2))
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
        self.body.orthogonal_init(gain=math.sqrt(2))
        for head, gain in ((self.pi_head, 0.01), (self.vf_head, 1.0)):
            nn.init.orthogonal_(head.weight, gain=gain)
            nn.init.zeros_(head.bias)

    # ------------------------------------------------------------------- the per-step path
    def act(
        self, obs: np.ndarray, rng: np.random.Generator, *, deterministic: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Actions for a batch of observations: ``(env_actions, raw_actions)``, all numpy.

        Raw actions are class indices from 0 (categorical) or the unbounded Gaussian sample;
        they are what the rollout stores.
        """
        if self._numpy_actor is not None:
            out = self._numpy_actor(obs)
        else:
            with torch.inference_mode():
                x = torch.as_tensor(obs, device=self.pi_head.weight.device)
                out = self.pi_head(self.body(self.encoder(x))[0]).cpu().numpy()
        if self.discrete:
            if self.masked is not None:  # illegal actions are never sampled (common.masks)
                out = mask_logits_numpy(out, self.masked.legal(obs))
            if not deterministic:
                # Gumbel-max: argmax(logits + Gumbel noise) is a sample of softmax(logits)
                out = out + rng.gumbel(size=out.shape)
            raw = out.argmax(axis=1)
        elif self.beta:
            alpha, beta = np.split(1.0 + np.logaddexp(0.0, out), 2, axis=1)  # 1 + softplus
            unit = alpha / (alpha + beta) if deterministic else rng.beta(alpha, beta)
            raw = np.clip(unit, BETA_EDGE, 1.0 - BETA_EDGE).astype(np.float32)
        elif deterministic:
            raw = out
        else:
            std = np.exp(self.log_std.detach().cpu().numpy())
            raw = out + std * rng.standard_normal(out.shape, dtype=np.float32)
        return self.to_env(raw), raw

    def use_numpy_actor(self, enable: bool = True) -> bool:
        """Run the per-step actor in numpy, on views of the parameters (they follow every
        in-place update: optimizer steps, ``load_state_dict``). On a handful of observations a
        numpy call costs a fraction of a torch call, whose per-call overhead dominates so small
        a network. Only for an MLP on vector observations on the CPU; returns whether it is
        on."""
        self._numpy_actor = self._make_numpy_actor() if enable else None
        return self._numpy_actor is not None

    def _make_numpy_actor(self) -> Callable[[np.ndarray], np.ndarray] | None:
        numpy_activations: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "tanh": np.tanh,
            "relu": _relu,
        }
        activation = numpy_activations.get(self.activation_name)
        on_cpu = self.pi_head.weight.device.type == "cpu"
        if activation is None or not on_cpu or not isinstance(self.encoder, FlattenEncoder):
            return None
        layers = [
            (weight.detach()[0].numpy(), bias.detach()[0, 0].numpy())
            for weight, bias in zip(self.body.weights, self.body.biases, strict=True)
        ]
        head_weight = self.pi_head.weight.detach().numpy().T
        head_bias = self.pi_head.bias.detach().numpy()

        def actor(obs: np.ndarray) -> np.ndarray:
            h = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
            for weight, bias in layers:
                h = activation(h @ weight + bias)
            return h @ head_weight + head_bias

        return actor

    def to_env(self, raw: np.ndarray) -> np.ndarray:
        """Raw actions → actions within the action space."""
        if self.discrete:
            return raw + self.action_start if self.action_start else raw
        if self.tanh:
            action = self.low + (np.tanh(raw) + 1.0) * 0.5 * (self.high - self.low)
        elif self.beta:
            action = self.low + raw * (self.high - self.low)
        else:
            action = np.clip(raw, self.low, self.high)
        return action.reshape(len(raw), *self.action_shape).astype(self.action_dtype, copy=False)

    def from_env(self, action: np.ndarray) -> np.ndarray:
        """Env actions → raw actions, for transitions whose actions this policy did not sample."""
        if self.discrete:
            return np.asarray(action).reshape(-1) - self.action_start
        flat = np.asarray(action, dtype=np.float32).reshape(len(action), -1)
        if self.beta:
            unit = (flat - self.low) / (self.high - self.low)
            return np.clip(unit, BETA_EDGE, 1.0 - BETA_EDGE).astype(np.float32)
        if not self.tanh:
            return flat
        unit = np.clip(2.0 * (flat - self.low) / (self.high - self.low) - 1.0, -0.999, 0.999)
        return np.arctanh(unit).astype(np.float32)

    # ------------------------------------------------------------------- the learning path
    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(distribution parameters, values)`` for a batch of observations."""
        # unbind, not h[0] and h[-1]: indexing's backward fills a zero tensor per index
        features = self.body(self.encoder(obs)).unbind(0)
        return self.dist_params(features[0], obs), self.vf_head(features[-1]).squeeze(-1)

    def dist_params(self, pi_features: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """The distribution's parameters; ``obs`` tells a masked policy its legal actions."""
        out = self.pi_head(pi_features)
        if self.discrete:
            if isinstance(self.encoder, MaskedEncoder):  # MaskablePPO's masked logits
                out = mask_logits(out, self.encoder.mask(obs))
            return F.log_softmax(out, dim=-1)
        if self.beta:
            return 1.0 + F.softplus(out)  # [α, β], each ≥ 1: unimodal
        return torch.cat([out, self.log_std.expand_as(out)], dim=-1)

    def distribution(self, obs: torch.Tensor) -> torch.Tensor:
        """Distribution parameters alone, through the actor's network only (with two networks the
        critic's is not run): what TRPO's line search evaluates at each trial step."""
        return self.dist_params(self.body(self.encoder(obs), copies=1)[0], obs)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.vf_head(self.body(self.encoder(obs))[-1]).squeeze(-1)

    def log_prob(self, params: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """Log-probability of raw actions (with the tanh correction when squashing)."""
        if self.discrete:
            return params.gather(1, raw.long().reshape(-1, 1)).squeeze(1)
        if self.beta:
            alpha, beta = params.chunk(2, dim=-1)
            logp = (alpha - 1) * torch.log(raw) + (beta - 1) * torch.log1p(-raw)
            return (logp - _log_beta_function(alpha, beta)).sum(-1)
        mean, log_std = params.chunk(2, dim=-1)
        z = (raw - mean) * torch.exp(-log_std)
        logp = (-0.5 * z.square() - log_std - 0.5 * LOG_2PI).sum(-1)
        if self.tanh:
            # log(1 - tanh(u)²) = 2·(log 2 − u − softplus(−2u)), the stable form
            logp = logp - (2.0 * (math.log(2.0) - raw - F.softplus(-2.0 * raw))).sum(-1)
        return logp

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        """Entropy per sample (for tanh squashing: that of the Gaussian before the squash)."""
        if self.discrete:
            return -(params.exp() * params).sum(-1)
        if self.beta:
            a, b = params.chunk(2, dim=-1)
            entropy = _log_beta_function(a, b) - (a - 1) * torch.digamma(a)
            entropy = entropy - (b - 1) * torch.digamma(b) + (a + b - 2) * torch.digamma(a + b)
            return entropy.sum(-1)
        log_std = params[:, self.n_out :]
        return (0.5 + 0.5 * LOG_2PI + log_std).sum(-1)

    def kl(self, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """Exact KL(old ‖ new) per sample (a tanh squash, a bijection, leaves it unchanged)."""
        if self.discrete:
            return (old.exp() * (old - new)).sum(-1)
        if self.beta:
            a1, b1 = old.chunk(2, dim=-1)
            a2, b2 = new.chunk(2, dim=-1)
            kl = _log_beta_function(a2, b2) - _log_beta_function(a1, b1)
            kl = kl + (a1 - a2) * torch.digamma(a1) + (b1 - b2) * torch.digamma(b1)
            return (kl + (a2 - a1 + b2 - b1) * torch.digamma(a1 + b1)).sum(-1)
        mean_o, log_std_o = old.chunk(2, dim=-1)
        mean_n, log_std_n = new.chunk(2, dim=-1)
        var_ratio = torch.exp(2 * (log_std_o - log_std_n))
        shift = ((mean_o - mean_n) * torch.exp(-log_std_n)).square()
        return (log_std_n - log_std_o + 0.5 * (var_ratio + shift - 1.0)).sum(-1)

    def raw_action_storage(self) -> tuple[tuple[int, ...], type]:
        """Shape and dtype of one raw action in a rollout buffer."""
        return ((), np.int64) if self.discrete else ((self.n_out,), np.float32)


def _log_beta_function(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b)."""
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0, out=x)
