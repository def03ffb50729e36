"""SAC: soft actor-critic (Haarnoja et al. 2018, arXiv:1801.01290; automatic entropy tuning from
arXiv:1812.05905), as Stable-Baselines3 writes it.

The agent maximises return plus entropy, E[Σ γ^t (r_t + α·H(π(·|s_t)))], read top to bottom:

* a squashed-Gaussian actor: u ~ N(μ(s), σ(s)²), a = tanh(u) ∈ [-1, 1]^k (rescaled to the
  env's bounds when acting), with log π(a|s) = log N(u) − Σ log(1 − tanh(u)²);
* twin soft critics Q_1, Q_2 regressed onto
  y = r + γ(1 − terminated)·(min_i Q'_i(s', a') − α·log π(a'|s')),  a' ~ π(·|s'),
  with target critics Q' that trail them by Polyak averaging (there is no target actor);
* the actor minimises E[α·log π(a|s) − min_i Q_i(s, a)], a ~ π(·|s) reparameterised;
* α, the entropy coefficient, learned so that the policy's entropy stays near a target
  (−dim(A) by default): it minimises −log α·(log π(a|s) + H̄), or stays fixed on request.

It is built on the TD3 family's blocks: the replay buffer and the learning schedule
(:mod:`rlagents.common.off_policy`), the twin critics as one batched network
(:class:`~rlagents.common.networks.ParallelMLP`), each optimiser's parameters in one flat buffer,
and, on a CPU, the actor's forward pass in numpy when acting (:mod:`~rlagents.common.numpy_mlp`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from rlagents.agents.sac_hyperparams import SAC_HYPERPARAMS
from rlagents.common import gsde, numpy_mlp
from rlagents.common.flat_params import FlatAdam, flatten_parameters
from rlagents.common.networks import (
    ParallelMLP,
    configure_cnns,
    is_image_space,
    make_encoder,
    mlp,
    polyak_update,
)
from rlagents.common.off_policy import METRICS_EVERY, OffPolicyBoxAgent, OffPolicyConfig
from rlagents.common.replay import ReplayBatch
from rlagents.common.rng import rng_state, set_rng_state
from rlagents.config import AT_LEAST_ONE, field_error

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # σ's range, as in SB3 and the authors' code
LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass
class SACConfig(OffPolicyConfig):
    """Hyper-parameters of SAC (names and defaults as in Stable-Baselines3)."""

    learning_rate: float = 3e-4
    """Adam step size of the actor, the critics and the entropy coefficient."""
    learning_starts: int = 100
    """Env steps of uniformly random actions before learning starts (fills the buffer)."""
    ent_coef: str = "auto"
    """The entropy coefficient α: ``auto`` (learned, starting at 1), ``auto_X`` (learned,
    starting at X), or a number (fixed)."""
    target_entropy: float | None = None
    """The entropy α is tuned towards (None: −dim(A), the paper's)."""
    target_update_interval: int = 1
    """Gradient steps between target-critic updates."""
    use_sde: bool = False
    """Generalized state-dependent exploration (gSDE, :mod:`rlagents.common.gsde`): noise
    linear in the actor's last hidden layer, its weights redrawn every ``sde_sample_freq``
    steps, so exploration is consistent over time (SB3's ``use_sde``)."""
    log_std_init: float = -3.0
    """gSDE: the initial log σ of the noise weights."""
    sde_sample_freq: int = -1
    """gSDE: env steps between draws of the acting noise weights (-1: every ``train_freq``
    steps, as SB3 draws them at each rollout)."""

    range_rules: ClassVar = {**OffPolicyConfig.range_rules, "target_update_interval": AT_LEAST_ONE}

    def __post_init__(self) -> None:
        super().__post_init__()
        self.ent_coef = str(self.ent_coef)
        try:
            initial_ent_coef(self.ent_coef)
        except ValueError:
            raise field_error(
                self, "ent_coef", f"is auto, auto_X or a number > 0, got {self.ent_coef!r}"
            ) from None


def initial_ent_coef(text: str) -> tuple[float, bool]:
    """α's first value and whether it is learned: ``auto`` (1.0), ``auto_0.1``, ``0.2``."""
    learned = text.startswith("auto")
    value = 1.0 if text == "auto" else float(text.removeprefix("auto_"))
    if not value > 0 or not math.isfinite(value):
        raise ValueError(text)
    return value, learned


# ------------------------------------------------------------------------------------- networks
class SquashedGaussianActorCritic(nn.Module):
    """Encoder, a Gaussian actor whose MLP gives μ(s) and log σ(s) side by side, and twin
    critics Q_1, Q_2 evaluated as one network."""

    def __init__(self, obs_space: spaces.Space, act_dim: int, config: SACConfig) -> None:
        super().__init__()
        self.encoder = make_encoder(obs_space, config.features_dim)
        feat = int(self.encoder.features_dim)  # type: ignore[arg-type]
        self.use_sde = bool(config.use_sde)
        # [μ, log σ]; under gSDE μ alone, σ a (last hidden layer × action) parameter matrix
        self.actor = mlp(feat, act_dim if self.use_sde else 2 * act_dim, config.net_arch)
        if self.use_sde:
            latent = config.net_arch[-1] if config.net_arch else feat
            self.log_std = nn.Parameter(torch.full((latent, act_dim), float(config.log_std_init)))
        self.critic = ParallelMLP(feat + act_dim, config.net_arch, 2, scalar_head=True)

    def q(self, features: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q_1(s, a) and Q_2(s, a), shape (2, batch)."""
        return self.critic(torch.cat((features, actions), dim=1))

    def sample(
        self, features: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """a = tanh(μ + σ·ε), ε ~ N(0, I) (reparameterised), and log π(a|s); under gSDE
        a = tanh(μ + z(s)·W), one W for the batch, drawn afresh at each call (SB3's)."""
        if self.use_sde:
            latent = self.actor[:-1](features)
            mean = self.actor[-1](latent).clamp(-gsde.CLIP_MEAN, gsde.CLIP_MEAN)
            u, log_prob = gsde.sample(latent, mean, self.log_std, gen)
        else:
            mean, log_std = self.actor(features).chunk(2, dim=1)
            log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
            eps = torch.randn(mean.shape, generator=gen, device=mean.device)
            u = mean + log_std.exp() * eps
            log_prob = (-0.5 * eps.square() - log_std - LOG_SQRT_2PI).sum(dim=1)
        # log(1 − tanh(u)²) = 2·(log 2 − u − softplus(−2u)), exact where tanh(u)² rounds to 1
        log_prob = log_prob - (2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))).sum(dim=1)
        return torch.tanh(u), log_prob

    def parameter_groups(self) -> list[list[nn.Parameter]]:
        """The actor's parameters, then the critics' with the encoder's (the critics train the
        CNN, the actor reads its features detached): an optimiser each."""
        actor = [*self.actor.parameters(), *([self.log_std] if self.use_sde else [])]
        return [actor, [*self.encoder.parameters(), *self.critic.parameters()]]


# ---------------------------------------------------------------------------------------- agent
class SAC(OffPolicyBoxAgent[SACConfig]):
    """Soft actor-critic for Box action spaces."""

    Config: ClassVar[type] = SACConfig
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = SAC_HYPERPARAMS

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
        c = self.config
        alpha, self.learn_alpha = initial_ent_coef(c.ent_coef)
        self.log_alpha = torch.tensor([math.log(alpha)], device=self.device, requires_grad=True)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=c.learning_rate)
        self.target_entropy = (
            float(c.target_entropy) if c.target_entropy is not None else -float(self.act_dim)
        )
        self._metric_sums = torch.zeros(4, device=self.device)  # critic, actor, α loss, Q
        self._metric_count = 0
        # gSDE while acting: each env's noise weights (none drawn yet), the step they were drawn
        self._sde_weights = np.zeros((0, *getattr(self.online, "log_std", torch.zeros(0, 0)).shape))
        self._sde_drawn_at = 0
        self._sde_period = c.sde_sample_freq if c.sde_sample_freq > 0 else c.train_freq

    def _build_networks(self) -> None:
        """Online actor and critics with an optimiser each, the target critics (a copy of the
        whole network, of which only the encoder and critics are read), the numpy actor."""
        c = self.config
        self.online = SquashedGaussianActorCritic(self.observation_space, self.act_dim, c)
        self.online.to(self.device)
        configure_cnns(self.online, c.cnn_precision, self.device)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        self.actor_opt, self.critic_opt = (
            FlatAdam(group, c.learning_rate) for group in self.online.parameter_groups()
        )
        self.critic_flat = [self.critic_opt.flat]
        self.target_critic_flat = [
            flatten_parameters(self.target.parameter_groups()[1], with_grad=False)
        ]
        space = self.observation_space
        vector = isinstance(space, spaces.Box) and not is_image_space(space)
        numpy_ok = vector and self.device.type == "cpu"
        self._numpy_actor = numpy_mlp.linear_views(self.online.actor) if numpy_ok else None

    # ------------------------------------------------------------------------------- acting
    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """A sample of π(·|s) while exploring (uniform at random before learning starts), its
        mode tanh(μ(s)) when greedy; rescaled to the env's bounds."""
        if explore and self.steps < self.config.learning_starts:
            return self.env_actions(self.rng.uniform(-1.0, 1.0, size=(len(obs), self.act_dim)))
        if self.config.use_sde:
            return self.env_actions(self._act_sde(obs, explore))
        mean, log_std = np.split(self._actor_out(obs), 2, axis=1)
        if explore:
            std = np.exp(np.clip(log_std, LOG_STD_MIN, LOG_STD_MAX))
            mean = mean + std * self.rng.standard_normal(mean.shape)
        return self.env_actions(np.tanh(mean))

    def _act_sde(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        """tanh(μ(s) + z(s)·W_env) while exploring, W_env redrawn every ``sde_sample_freq``
        steps; tanh(μ(s)) when greedy. In torch (gSDE needs the hidden layer z(s))."""
        with torch.inference_mode():
            obs_t = torch.as_tensor(np.asarray(obs), device=self.device)
            latent_t = self.online.actor[:-1](self.online.encoder(obs_t))
            mean = self.online.actor[-1](latent_t).clamp(-gsde.CLIP_MEAN, gsde.CLIP_MEAN)
            mean, latent = mean.cpu().numpy(), latent_t.cpu().numpy()
        if not explore:
            return np.tanh(mean)
        due = self.vector_steps - self._sde_drawn_at >= self._sde_period
        if due or len(self._sde_weights) != len(obs):
            log_std = self.online.log_std.detach().cpu().numpy()
            self._sde_weights = gsde.draw_env_weights(log_std, len(obs), self.rng)
            self._sde_drawn_at = self.vector_steps
        return np.tanh(mean + gsde.env_noise(latent, self._sde_weights))

    def _actor_out(self, obs: np.ndarray) -> np.ndarray:
        """[μ(s), log σ(s)], in numpy where it can."""
        if self._numpy_actor is not None:
            x = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
            return numpy_mlp.forward(self._numpy_actor, x)
        with torch.inference_mode():
            obs_t = torch.as_tensor(np.asarray(obs), device=self.device)
            return self.online.actor(self.online.encoder(obs_t)).cpu().numpy()

    # ----------------------------------------------------------------------------- learning
    def train_step(self, batch: ReplayBatch) -> None:
        """One gradient step of α, the critics and the actor, then (every
        ``target_update_interval`` steps) the target critics, in SB3's order."""
        features = self.online.encoder(batch.obs)
        actions, log_prob = self.online.sample(features.detach(), self.gen)
        # α: raise it when the policy's entropy (−log π) is below the target, lower it above.
        alpha_loss = torch.zeros((), device=self.device)
        if self.learn_alpha:
            alpha_loss = -(self.log_alpha * (log_prob.detach() + self.target_entropy)).mean()
            self.alpha_opt.zero_grad(set_to_none=True)
            alpha_loss.backward()
            self.alpha_opt.step()
        alpha = self.log_alpha.detach().exp()
        # Critics: every Q_i(s, a) onto the soft target y (the sum of their halved MSEs, SB3's).
        y = self.soft_target(batch, alpha)
        q = self.online.q(features, batch.actions)
        critic_loss = 0.5 * (q - y).square().mean(dim=1).sum()
        self.critic_opt.step(critic_loss)
        # Actor: minimise α·log π(a|s) − min_i Q_i(s, a), through the reparameterised a.
        q_pi = self.online.q(features.detach(), actions).amin(dim=0)
        actor_loss = (alpha * log_prob - q_pi).mean()
        self.actor_opt.step(actor_loss, only_these=True)
        self.n_updates += 1
        if self.n_updates % self.config.target_update_interval == 0:
            polyak_update(self.target_critic_flat, self.critic_flat, self.config.tau)
        sums = torch.stack((critic_loss, actor_loss, alpha_loss, q[0].mean())).detach()
        self._metric_sums += sums
        self._metric_count += 1

    @torch.no_grad()
    def soft_target(self, batch: ReplayBatch, alpha: torch.Tensor) -> torch.Tensor:
        """y = r + γ(1 − terminated)·(min_i Q'_i(s', a') − α·log π(a'|s')), a' ~ π(·|s') from
        the online actor; truncated steps bootstrap (``next_obs`` is the true last one)."""
        next_actions, next_log_prob = self.online.sample(
            self.online.encoder(batch.next_obs), self.gen
        )
        next_q = self.target.q(self.target.encoder(batch.next_obs), next_actions).amin(dim=0)
        soft = next_q - alpha * next_log_prob
        return batch.rewards + self.config.gamma * (1.0 - batch.terminated) * soft

    def metrics_due(self) -> bool:
        return self._metric_count >= METRICS_EVERY

    def _metrics(self) -> dict[str, float]:
        sums, n = self._metric_sums.tolist(), self._metric_count  # one host transfer
        self._metric_sums.zero_()
        self._metric_count = 0
        metrics = {"critic_loss": sums[0] / n, "actor_loss": sums[1] / n, "q_mean": sums[3] / n}
        metrics["ent_coef"] = float(self.log_alpha.detach().exp())
        if self.learn_alpha:
            metrics["ent_coef_loss"] = sums[2] / n
        return metrics

    # ------------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers (α's too), replay buffer, generators, counters and the metrics
        summed so far: a resumed run goes on exactly as this one would (without the buffer,
        with save_replay_buffer=false, it cannot)."""
        state: dict[str, Any] = {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
            "alpha_opt": self.alpha_opt.state_dict(),
            "rng": rng_state(self.rng),
            "torch_gen": self.gen.get_state(),
            "counters": [self.steps, self.vector_steps, self.n_updates, self._metric_count],
            "metric_sums": self._metric_sums.clone(),
        }
        if self.config.use_sde:
            state["sde"] = {"weights": self._sde_weights.copy(), "drawn_at": self._sde_drawn_at}
        if self.config.save_replay_buffer:
            state["buffer"] = self.buffer.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        with torch.no_grad():
            self.log_alpha.copy_(torch.as_tensor(state["log_alpha"]))
        self.alpha_opt.load_state_dict(state["alpha_opt"])
        if state.get("buffer"):
            self.buffer.load_state_dict(state["buffer"])
        set_rng_state(self.rng, state["rng"])
        self.gen.set_state(state["torch_gen"])
        counters = [int(x) for x in state["counters"]]
        self.steps, self.vector_steps, self.n_updates, self._metric_count = counters
        self._metric_sums.copy_(state["metric_sums"])
        if "sde" in state:
            self._sde_weights = np.asarray(state["sde"]["weights"])
            self._sde_drawn_at = int(state["sde"]["drawn_at"])
