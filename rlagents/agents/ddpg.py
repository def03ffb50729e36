"""DDPG: deep deterministic policy gradient (Lillicrap et al. 2016, arXiv:1509.02971).

The actor-critic of the course for continuous actions, read top to bottom:

* a deterministic actor μ(s) ∈ [-1, 1]^k (tanh), rescaled to the action space's bounds when acting;
* a critic Q(s, a) regressed onto y = r + γ(1 − terminated)·Q'(s', μ'(s')) from a replay buffer;
* the actor follows ∇_a Q(s, a)·∇_θ μ(s), i.e. it minimises −Q(s, μ(s));
* target networks μ', Q' that trail the online ones by Polyak averaging θ' ← τθ + (1 − τ)θ';
* exploration by adding Ornstein–Uhlenbeck (or Gaussian) noise to μ(s), with a scale that decays.

:mod:`rlagents.agents.td3` builds TD3 on this file by changing three things: twin critics, smoothed
target actions and a delayed actor, all three steps of :meth:`DDPG.train_step`, the one gradient
step (critic update, delayed actor update, soft target update) that this file reads up to.

Its speed lives in named parts of :mod:`rlagents.common`: each optimiser's parameters in one flat
buffer (:mod:`~rlagents.common.flat_params`), the critics as one batched network
(:class:`~rlagents.common.networks.ParallelMLP`), the actor in numpy when acting on a CPU
(:mod:`~rlagents.common.numpy_mlp`).

Vector observations go straight into MLPs. Image stacks (CarRacing) go through one Nature CNN that
the critic owns and trains; the actor reads its features detached (as in SAC-AE/DrQ, Yarats et al.
2021): one CNN forward/backward per update instead of two, and the actor's gradient — which only
says how to move the action — does not pull the shared features around.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlagents.agent import Transition
from rlagents.agents.ddpg_td3_hyperparams import DDPG_HYPERPARAMS
from rlagents.common import numpy_mlp
from rlagents.common.flat_params import FlatAdam, flatten_parameters
from rlagents.common.networks import (
    ParallelMLP,
    configure_cnns,
    is_image_space,
    make_encoder,
    mlp,
    polyak_update,
)
from rlagents.common.noise import make_noise
from rlagents.common.off_policy import METRICS_EVERY, OffPolicyBoxAgent, OffPolicyConfig
from rlagents.common.replay import ReplayBatch
from rlagents.common.rng import rng_state, set_rng_state
from rlagents.common.schedules import Constant, Linear
from rlagents.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE


@dataclass
class DDPGConfig(OffPolicyConfig):
    """Hyper-parameters of DDPG (names as in Stable-Baselines3): the off-policy ones
    (:class:`~rlagents.common.off_policy.OffPolicyConfig`) and its exploration noise."""

    action_noise: Literal["ornstein_uhlenbeck", "normal", "none"] = "ornstein_uhlenbeck"
    """Exploration noise added to μ(s): temporally correlated Ornstein–Uhlenbeck (the DDPG paper,
    the course) or independent Gaussian."""
    noise_std: float = 0.2
    """σ of the exploration noise, in units of half the action range (actions live in [-1, 1])."""
    noise_final_std: float | None = None
    """σ reached after ``noise_decay_steps`` (linear decay); None keeps σ constant."""
    noise_decay_steps: int = 100_000
    """Env steps over which σ decays from noise_std to noise_final_std."""
    ou_theta: float = 0.15
    """Ornstein–Uhlenbeck mean-reversion rate θ."""
    ou_dt: float = 1e-2
    """Ornstein–Uhlenbeck time step dt."""

    # Ranges of its own fields, stricter than config.RANGE_RULES's
    range_rules: ClassVar = {
        **OffPolicyConfig.range_rules,
        "noise_decay_steps": AT_LEAST_ONE,
        "ou_theta": NON_NEGATIVE,
        "ou_dt": POSITIVE,
    }


# ------------------------------------------------------------------------------------- networks
class DeterministicActorCritic(nn.Module):
    """Encoder (flatten, one-hot, or a Nature CNN for images), a deterministic actor μ(s) in
    [-1, 1]^k and ``n_critics`` critics Q_i(s, a) evaluated as one network (a
    :class:`~rlagents.common.networks.ParallelMLP`: TD3's twin critics cost one forward)."""

    def __init__(
        self, obs_space: spaces.Space, act_dim: int, config: DDPGConfig, n_critics: int
    ) -> None:
        super().__init__()
        self.encoder = make_encoder(obs_space, config.features_dim)
        feat = int(self.encoder.features_dim)  # type: ignore[arg-type]
        self.actor = mlp(feat, act_dim, config.net_arch, output_activation=nn.Tanh)
        self.critic = ParallelMLP(feat + act_dim, config.net_arch, n_critics, scalar_head=True)

    def q(self, features: torch.Tensor, actions: torch.Tensor, n: int = 0) -> torch.Tensor:
        """Q_i(s, a) of the first ``n`` critics (all when 0), shape (n, batch)."""
        return self.critic(torch.cat((features, actions), dim=1), n)

    def parameter_groups(self) -> list[list[nn.Parameter]]:
        """The actor's parameters, then the critic's with the encoder's (the critic trains the
        CNN): an optimiser each."""
        critic = [*self.encoder.parameters(), *self.critic.parameters()]
        return [list(self.actor.parameters()), critic]


# ---------------------------------------------------------------------------------------- agent
DDPGConfigT = TypeVar("DDPGConfigT", bound=DDPGConfig)


class DDPG(OffPolicyBoxAgent[DDPGConfigT]):
    """Deep deterministic policy gradient for Box action spaces."""

    Config: ClassVar[type] = DDPGConfig
    n_critics: ClassVar[int] = 1
    # The tuned sets: DDPG_HYPERPARAMS in ddpg_td3_hyperparams.py
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = DDPG_HYPERPARAMS

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
        noise_rng = self.rng.spawn(1)[0]  # its own generator: noise and sampling independent
        shape = (num_envs, self.act_dim)
        self.noise = make_noise(c.action_noise, shape, noise_rng, theta=c.ou_theta, dt=c.ou_dt)
        self.noise_std = (
            Constant(c.noise_std)
            if c.noise_final_std is None
            else Linear(c.noise_std, c.noise_final_std, c.noise_decay_steps)
        )
        self._metric_sums = torch.zeros(3, device=self.device)  # critic loss, actor loss, Q
        self._metric_counts = [0, 0]

    def _build_networks(self) -> None:
        """Online actor-critic μ, Q with an optimiser each, target copies μ', Q', numpy actor."""
        c = self.config
        space = self.observation_space
        self.online = DeterministicActorCritic(space, self.act_dim, c, self.n_critics)
        self.online.to(self.device)
        configure_cnns(self.online, c.cnn_precision, self.device)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        # Each group of parameters lives in one flat buffer (rlagents.common.flat_params), so an
        # Adam step, zeroing the gradients and the Polyak update are one op each: with small
        # networks, per-op overhead is most of an update's cost.
        self.actor_opt, self.critic_opt = (
            FlatAdam(group, c.learning_rate) for group in self.online.parameter_groups()
        )
        self.online_flat = [self.actor_opt.flat, self.critic_opt.flat]
        self.target_flat = [
            flatten_parameters(group, with_grad=False) for group in self.target.parameter_groups()
        ]
        # Tiny MLPs act faster in numpy than through torch: views of the (flat) weights, which
        # the optimiser updates in place. Vector observations on the CPU only (no encoder).
        vector = isinstance(space, spaces.Box) and not is_image_space(space)
        numpy_ok = vector and self.device.type == "cpu"
        self._numpy_actor = numpy_mlp.linear_views(self.online.actor) if numpy_ok else None

    @property
    def policy_delay(self) -> int:
        """Critic steps per actor (and target) step: 1 in DDPG, TD3 delays."""
        return 1

    @property
    def target_policy_noise(self) -> tuple[float, float]:
        """σ̃ and clip c of the target-policy smoothing: none (0, 0) in DDPG, TD3 smooths."""
        return 0.0, 0.0

    # ------------------------------------------------------------------------------- acting
    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        if explore and self.steps < self.config.learning_starts:
            actions = self.rng.uniform(-1.0, 1.0, size=(len(obs), self.act_dim))
        else:
            actions = self._policy(obs, explore=explore)
            if explore and self.noise is not None:
                actions = np.clip(actions + self.noise(self.noise_std(self.steps)), -1.0, 1.0)
        return self.env_actions(actions)  # μ(s) lives in [-1, 1]: the env's bounds

    def _policy(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        """μ(s) in [-1, 1], in numpy where it can (see _build_networks). ``explore`` is for a
        policy with memory (LSTM-TD3), whose training and greedy episodes have one each."""
        if self._numpy_actor is not None:
            x = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
            return numpy_mlp.forward(self._numpy_actor, x, output_activation=True)  # tanh
        with torch.inference_mode():
            obs_t = torch.as_tensor(np.asarray(obs), device=self.device)
            return self.online.actor(self.online.encoder(obs_t)).cpu().numpy()

    def observe(self, t: Transition) -> None:
        super().observe(t)
        if self.noise is not None:
            self.noise.reset(np.logical_or(t.terminated, t.truncated))

    # ----------------------------------------------------------------------------- learning
    def metrics_due(self) -> bool:
        return self._metric_counts[0] >= METRICS_EVERY

    def train_step(self, batch: ReplayBatch) -> None:
        """One gradient step: the critics; every ``policy_delay``-th step also the actor, then
        the targets."""
        # Critic: regress every Q_i(s, a) onto the same target y (the sum of their MSEs).
        y = self.td_target(batch)
        features = self.online.encoder(batch.obs)
        q = self.online.q(features, batch.actions)
        critic_loss = (q - y).square().mean(dim=1).sum()
        self.critic_opt.step(critic_loss)
        self.n_updates += 1
        self._metric_sums[0] += critic_loss.detach()
        self._metric_sums[2] += q.detach()[0].mean()
        self._metric_counts[0] += 1
        if self.n_updates % self.policy_delay:
            return
        # Actor: follow ∇_a Q_1(s, a)·∇_θ μ(s), i.e. minimise −Q_1(s, μ(s)), on the critic's
        # features, detached. Only the actor's gradients are computed: the critic's weight
        # gradients would be thrown away.
        features = features.detach()
        actor_loss = -self.online.q(features, self.online.actor(features), n=1).mean()
        self.actor_opt.step(actor_loss, only_these=True)
        self._metric_sums[1] += actor_loss.detach()
        self._metric_counts[1] += 1
        # Targets trail the online networks: θ' ← τθ + (1 − τ)θ', one op per flat buffer.
        polyak_update(self.target_flat, self.online_flat, self.config.tau)

    @torch.no_grad()
    def td_target(self, batch: ReplayBatch) -> torch.Tensor:
        """y = r + γ(1 − terminated)·min_i Q'_i(s', a'), a' the target actor's action μ'(s')
        (smoothed in TD3); one critic in DDPG. Truncated steps bootstrap (their ``next_obs`` is
        the true last observation)."""
        next_features = self.target.encoder(batch.next_obs)
        next_actions = self.target_actions(self.target.actor(next_features))
        next_q = self.target.q(next_features, next_actions).amin(dim=0)
        return batch.rewards + self.config.gamma * (1.0 - batch.terminated) * next_q

    def target_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """a' = μ'(s'), or with target-policy smoothing (TD3: σ̃ > 0)
        a' = clip(μ'(s') + clip(ε, −c, c), −1, 1), ε ~ N(0, σ̃²)."""
        sigma, clip = self.target_policy_noise
        if sigma == 0:
            return actions
        noise = torch.randn(actions.shape, generator=self.gen, device=actions.device)
        noise = (noise * sigma).clamp_(-clip, clip)
        return (actions + noise).clamp_(-1.0, 1.0)

    def _metrics(self) -> dict[str, float]:
        sums = self._metric_sums.tolist()  # one host transfer for all three
        n_critic, n_actor = self._metric_counts
        metrics = {"critic_loss": sums[0] / n_critic, "q_mean": sums[2] / n_critic}
        if n_actor:
            metrics["actor_loss"] = sums[1] / n_actor
        metrics["noise_std"] = self.noise_std(self.steps) if self.noise is not None else 0.0
        self._metric_sums.zero_()
        self._metric_counts = [0, 0]
        return metrics

    # ------------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, replay buffer, noise process, both generators, counters and
        the metrics summed so far: with the envs restored, a resumed run goes on exactly as this
        one would. With ``save_replay_buffer=false`` the buffer is left out and a resumed run
        learns from an empty one: it cannot be exact then."""
        state: dict[str, Any] = {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "noise": self.noise.state_dict() if self.noise is not None else {},
            "rng": rng_state(self.rng),
            "torch_gen": self.gen.get_state(),
            "counters": [self.steps, self.vector_steps, self.n_updates],
            "metric_sums": self._metric_sums.clone(),
            "metric_counts": list(self._metric_counts),
        }
        if self.config.save_replay_buffer:
            state["buffer"] = self.buffer.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (an older checkpoint, without metrics, sums from zero)."""
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        if state.get("buffer"):  # absent with save_replay_buffer=false ({} in older ones)
            self.buffer.load_state_dict(state["buffer"])
        if self.noise is not None and state["noise"]:
            self.noise.load_state_dict(state["noise"])
        set_rng_state(self.rng, state["rng"])
        self.gen.set_state(state["torch_gen"])
        self.steps, self.vector_steps, self.n_updates = (int(x) for x in state["counters"])
        if "metric_sums" in state:
            self._metric_sums.copy_(state["metric_sums"])
            self._metric_counts = [int(x) for x in state["metric_counts"]]
