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

from rlagents.agent import Agent, Transition
from rlagents.agents.ddpg_td3_hyperparams import DDPG_HYPERPARAMS
from rlagents.common import numpy_mlp
from rlagents.common.flat_params import FlatAdam, flatten_parameters
from rlagents.common.frame_replay import FrameReplayBuffer
from rlagents.common.networks import (
    ParallelMLP,
    configure_cnns,
    is_image_space,
    make_encoder,
    mlp,
    polyak_update,
)
from rlagents.common.noise import make_noise
from rlagents.common.replay import ReplayBatch, ReplayBuffer, warmed_up
from rlagents.common.rng import rng_state, set_rng_state
from rlagents.common.schedules import Constant, Linear
from rlagents.common.torch_utils import TorchCNNConfig, seeded_torch, set_up_torch
from rlagents.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, field_error

METRICS_EVERY = 100  # gradient steps between reported metrics (no host sync on the other steps)


@dataclass
class DDPGConfig(TorchCNNConfig):
    """Hyper-parameters of DDPG (names as in Stable-Baselines3)."""

    learning_rate: float = 1e-3
    """Adam step size of the actor and of the critic."""
    buffer_size: int = 1_000_000
    """Transitions the replay buffer holds (the oldest are overwritten)."""
    learning_starts: int = 1_000
    """Env steps of uniformly random actions before learning starts (fills the buffer)."""
    batch_size: int = 256
    """Transitions per gradient step."""
    tau: float = 0.005
    """Polyak factor of the target networks: θ' ← τθ + (1 − τ)θ' after each actor update."""
    gamma: float = 0.99
    """Discount factor."""
    train_freq: int = 1
    """Learn every this many vector steps."""
    gradient_steps: int = 1
    """Gradient steps each time it learns; -1: as many as env steps since the last time."""
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
    net_arch: tuple[int, ...] = (256, 256)
    """Hidden layer widths of the actor and of the critic."""
    features_dim: int = 512
    """Output width of the CNN encoder (image observations only)."""
    frame_dedup: bool = True
    """Store each frame of frame-stacked image observations once (about 8x less memory)."""
    save_replay_buffer: bool = True
    """Keep the replay buffer in checkpoints, so a resumed run continues exactly."""

    # Ranges of its own fields, and batch_size's, stricter than config.RANGE_RULES's
    range_rules: ClassVar = {
        "batch_size": AT_LEAST_ONE,
        "noise_decay_steps": AT_LEAST_ONE,
        "ou_theta": NON_NEGATIVE,
        "ou_dt": POSITIVE,
        "features_dim": AT_LEAST_ONE,
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.net_arch:
            raise field_error(self, "net_arch", "needs at least one hidden layer, got ()")


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


class DDPG(Agent[DDPGConfigT]):
    """Deep deterministic policy gradient for Box action spaces."""

    Config: ClassVar[type] = DDPGConfig
    observation_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (spaces.Box, spaces.Discrete)
    action_spaces: ClassVar = (spaces.Box,)
    n_critics: ClassVar[int] = 1
    optional_state: ClassVar = ("buffer",)  # save_replay_buffer=false leaves it out
    # The tuned sets: DDPG_HYPERPARAMS in ddpg_td3_hyperparams.py
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = DDPG_HYPERPARAMS

    @classmethod
    def check_spaces(
        cls, observation_space: spaces.Space, action_space: spaces.Space
    ) -> str | None:
        name = cls.__name__.lower()
        if not isinstance(action_space, spaces.Box):
            return (
                f"{name} needs a Box (continuous) action space, got {action_space}; "
                "try dqn or ppo for discrete actions"
            )
        if len(action_space.shape) != 1 or not action_space.is_bounded("both"):
            return f"{name} needs a 1-D action Box with finite bounds, got {action_space}"
        if not isinstance(observation_space, (spaces.Box, spaces.Discrete)):
            return f"{name} needs a Box or Discrete observation space, got {observation_space}"
        return None

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
        self.device = set_up_torch(c, images=is_image_space(observation_space))
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator(device=self.device)  # target-policy smoothing noise (TD3)
        self.gen.manual_seed(int(self.rng.integers(2**62)))
        assert isinstance(action_space, spaces.Box)  # check_spaces made sure
        self.act_dim = int(action_space.shape[0])
        low, high = action_space.low.astype(np.float64), action_space.high.astype(np.float64)
        self._center, self._half = (high + low) / 2, np.maximum((high - low) / 2, 1e-12)
        self._low, self._high = low, high
        with seeded_torch(seed):
            self._build_networks()
        self.buffer = self._make_buffer()
        noise_rng = self.rng.spawn(1)[0]  # its own generator: noise and sampling independent
        shape = (num_envs, self.act_dim)
        self.noise = make_noise(c.action_noise, shape, noise_rng, theta=c.ou_theta, dt=c.ou_dt)
        self.noise_std = (
            Constant(c.noise_std)
            if c.noise_final_std is None
            else Linear(c.noise_std, c.noise_final_std, c.noise_decay_steps)
        )
        self.steps = 0  # env steps observed (all envs)
        self.vector_steps = 0
        self.n_updates = 0
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

    def _make_buffer(self) -> ReplayBuffer | FrameReplayBuffer:
        c = self.config
        space, actions = self.observation_space, self.action_space
        if isinstance(space, spaces.Box) and is_image_space(space) and c.frame_dedup:
            return FrameReplayBuffer(
                c.buffer_size, space, actions, self.device, num_envs=self.num_envs
            )
        return ReplayBuffer(c.buffer_size, space, actions, self.device)

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
        # μ(s) lives in [-1, 1]: rescale to the env's bounds (exact at ±1, so always inside).
        return np.clip(self._center + self._half * actions, self._low, self._high).astype(
            np.float32
        )

    def unit_actions(self, actions: np.ndarray) -> np.ndarray:
        """Env actions in the actor's [-1, 1] units (float32), as the replay buffer keeps them."""
        scaled = (np.asarray(actions, dtype=np.float64) - self._center) / self._half
        return scaled.astype(np.float32)

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
        # Store actions as the actor produces them, in [-1, 1].
        self.buffer.add(t._replace(action=self.unit_actions(t.action)))
        self.steps += len(t.reward)
        self.vector_steps += 1
        if self.noise is not None:
            self.noise.reset(np.logical_or(t.terminated, t.truncated))

    # ----------------------------------------------------------------------------- learning
    def update(self) -> dict[str, float]:
        c = self.config
        warm = warmed_up(self.steps, len(self.buffer), c.learning_starts, c.buffer_size)
        if not warm or self.vector_steps % c.train_freq:
            return {}
        steps = c.gradient_steps if c.gradient_steps > 0 else c.train_freq * self.num_envs
        for _ in range(steps):
            self.train_step(self.sample())
        return self._metrics() if self._metric_counts[0] >= METRICS_EVERY else {}

    def sample(self) -> ReplayBatch:
        """One minibatch from the replay buffer (LSTM-TD3 adds the histories)."""
        return self.buffer.sample(self.config.batch_size, self.rng)

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
