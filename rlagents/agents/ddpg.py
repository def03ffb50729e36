"""DDPG: deep deterministic policy gradient (Lillicrap et al. 2016, arXiv:1509.02971).

The actor-critic of the course for continuous actions, read top to bottom:

* a deterministic actor μ(s) ∈ [-1, 1]^k (tanh), rescaled to the action space's bounds when acting;
* a critic Q(s, a) regressed onto y = r + γ(1 − terminated)·Q'(s', μ'(s')) from a replay buffer;
* the actor follows ∇_a Q(s, a)·∇_θ μ(s), i.e. it minimises −Q(s, μ(s));
* target networks μ', Q' that trail the online ones by Polyak averaging θ' ← τθ + (1 − τ)θ';
* exploration by adding Ornstein–Uhlenbeck (or Gaussian) noise to μ(s), with a scale that decays.

:mod:`rlagents.agents.td3` builds TD3 on this file by changing three things.

Vector observations go straight into MLPs. Image stacks (CarRacing) go through one Nature CNN that
the critic owns and trains; the actor reads its features detached (as in SAC-AE/DrQ, Yarats et al.
2021): one CNN forward/backward per update instead of two, and the actor's gradient — which only
says how to move the action — does not pull the shared features around.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlagents.agent import Agent, Transition
from rlagents.agents.ddpg_td3_hyperparams import DDPG_HYPERPARAMS
from rlagents.common.frame_replay import FrameReplayBuffer
from rlagents.common.networks import is_image_space, make_encoder, mlp
from rlagents.common.noise import make_noise
from rlagents.common.replay import ReplayBatch, ReplayBuffer
from rlagents.common.schedules import Constant, Linear
from rlagents.common.torch_utils import configure_threads, seed_everything, select_device

METRICS_EVERY = 100  # gradient steps between reported metrics (no host sync on the other steps)


@dataclass
class DDPGConfig:
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
    device: str = "auto"
    """Torch device: auto (CUDA when present), cpu, cuda, cuda:1 …"""
    num_threads: int = 0
    """Torch CPU threads; 0 picks a sensible count (at most 4)."""

    def __post_init__(self) -> None:
        positive = ("learning_rate", "buffer_size", "batch_size", "train_freq", "noise_decay_steps")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if self.learning_starts < 0:
            raise ValueError(f"learning_starts must be >= 0, got {self.learning_starts}")
        if self.gradient_steps == 0 or self.gradient_steps < -1:
            raise ValueError(f"gradient_steps must be positive or -1, got {self.gradient_steps}")
        if self.noise_std < 0 or (self.noise_final_std is not None and self.noise_final_std < 0):
            raise ValueError("noise_std and noise_final_std must be >= 0")
        if self.ou_theta < 0 or self.ou_dt <= 0:
            raise ValueError(
                f"ou_theta must be >= 0 and ou_dt > 0, got {self.ou_theta}, {self.ou_dt}"
            )
        if not self.net_arch or min(self.net_arch) <= 0:
            raise ValueError(f"net_arch needs at least one positive width, got {self.net_arch}")
        if self.features_dim <= 0:
            raise ValueError(f"features_dim must be positive, got {self.features_dim}")


# ------------------------------------------------------------------------------------- networks
class QEnsemble(nn.Module):
    """``n`` independent critics Q_i(s, a) evaluated as one network: each hidden layer's weights
    are stacked to (n, in, out) and applied with one batched matmul (``baddbmm``), so TD3's twin
    critics cost one forward instead of two. DDPG uses n = 1. Initialised like ``nn.Linear``."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], n: int) -> None:
        super().__init__()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in itertools.pairwise([in_dim, *hidden]):
            self.weights.append(_uniform((n, d_in, d_out), d_in))
            self.biases.append(_uniform((n, 1, d_out), d_in))
        self.out_weight = _uniform((n, 1, hidden[-1]), hidden[-1])  # one output: a row each
        self.out_bias = _uniform((n, 1), hidden[-1])
        self.n = n

    def forward(self, features: torch.Tensor, actions: torch.Tensor, n: int = 0) -> torch.Tensor:
        """Q-values of the first ``n`` critics (all when 0), shape (n, batch)."""
        n = n or self.n
        x = torch.cat((features, actions), dim=1).expand(n, -1, -1)
        for w, b in zip(self.weights, self.biases, strict=True):
            if n < self.n:  # slicing costs a zero-filled gradient buffer: only when needed
                w, b = w[:n], b[:n]
            x = torch.baddbmm(b, x, w).relu_()  # in place: baddbmm's backward needs its inputs
        # A batched matmul with a unit dimension (and its backward) is several times slower on
        # a CPU than the dot product it is.
        w, b = (
            (self.out_weight, self.out_bias)
            if n == self.n
            else (self.out_weight[:n], self.out_bias[:n])
        )
        return torch.linalg.vecdot(x, w) + b


def _uniform(shape: tuple[int, ...], fan_in: int) -> nn.Parameter:
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))


class ActorCritic(nn.Module):
    """Encoder (flatten, one-hot, or a Nature CNN for images), actor μ(s) and critics Q(s, a)."""

    def __init__(self, obs_space: spaces.Space, act_dim: int, config: DDPGConfig, n_critics: int):
        super().__init__()
        self.encoder = make_encoder(obs_space, config.features_dim)
        feat = int(self.encoder.features_dim)  # type: ignore[arg-type]
        self.actor = mlp(feat, act_dim, config.net_arch, output_activation=nn.Tanh)
        self.critic = QEnsemble(feat + act_dim, config.net_arch, n_critics)

    def flatten(self, with_grad: bool = True) -> list[nn.Parameter]:
        """The actor's parameters, then the critic's (encoder included), each in one flat buffer
        (see :func:`flatten_parameters`); the actor and the critic have an optimiser each."""
        critic = [*self.encoder.parameters(), *self.critic.parameters()]
        return [
            flatten_parameters(list(self.actor.parameters()), with_grad),
            flatten_parameters(critic, with_grad),
        ]


def flatten_parameters(params: list[nn.Parameter], with_grad: bool = True) -> nn.Parameter:
    """Move ``params`` into one contiguous buffer, returned as a parameter; with ``with_grad``
    their gradients go into a second one, the flat parameter's ``.grad``. Each parameter becomes
    a view of the first buffer and its ``.grad`` a view of the second (autograd accumulates into
    an existing ``.grad`` in place), so optimising, zeroing or averaging the flat parameter acts
    on all of them at once. Their ``.grad`` must never be set to None."""
    device = params[0].device
    total = sum(p.numel() for p in params)
    flat = torch.empty(total, device=device)
    grad = torch.zeros(total, device=device) if with_grad else None
    start = 0
    for p in params:
        end = start + p.numel()
        # as_strided keeps each parameter's memory layout (channels-last conv weights stay so)
        view = flat[start:end].as_strided(p.shape, p.stride())
        view.copy_(p.detach())
        p.data = view
        if grad is not None:
            p.grad = grad[start:end].as_strided(p.shape, p.stride())
        start = end
    flat_param = nn.Parameter(flat, requires_grad=with_grad)
    flat_param.grad = grad
    return flat_param


# ---------------------------------------------------------------------------------------- agent
class DDPG(Agent):
    """Deep deterministic policy gradient for Box action spaces."""

    Config: ClassVar[type] = DDPGConfig
    observation_spaces: ClassVar = (spaces.Box, spaces.Discrete)
    action_spaces: ClassVar = (spaces.Box,)
    n_critics: ClassVar[int] = 1
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = DDPG_HYPERPARAMS  # ddpg_td3_hyperparams.py

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

    def __init__(self, observation_space, action_space, config=None, *, num_envs=1, seed=None):
        super().__init__(observation_space, action_space, config, num_envs=num_envs, seed=seed)
        c: DDPGConfig = self.config
        configure_threads(c.num_threads, images=is_image_space(observation_space))
        self.device = select_device(c.device)
        self.rng = seed_everything(seed)
        self.gen = torch.Generator(device=self.device)  # target-smoothing noise (TD3)
        self.gen.manual_seed(int(self.rng.integers(2**62)))
        self.act_dim = int(action_space.shape[0])
        low, high = action_space.low.astype(np.float64), action_space.high.astype(np.float64)
        self._center, self._half = (high + low) / 2, np.maximum((high - low) / 2, 1e-12)
        self._low, self._high = low, high

        self.online = ActorCritic(observation_space, self.act_dim, c, self.n_critics)
        self.online.to(self.device)
        if is_image_space(observation_space):
            # oneDNN's convolutions train about a quarter faster with channels-last weights
            self.online.encoder.to(memory_format=torch.channels_last)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        # Each network's parameters live in one flat buffer (and their gradients in another), so
        # an Adam step, zeroing the gradients and the Polyak update are one op each, whatever the
        # number of layers: with small networks, per-op overhead is most of an update's cost.
        self._online_flat = self.online.flatten()
        self._target_flat = self.target.flatten(with_grad=False)
        self._actor_flat, self._critic_flat = self._online_flat
        self._actor_params = list(self.online.actor.parameters())
        fused = self.device.type in ("cpu", "cuda")  # one kernel for the whole buffer
        self.actor_opt = torch.optim.Adam([self._actor_flat], lr=c.learning_rate, fused=fused)
        self.critic_opt = torch.optim.Adam([self._critic_flat], lr=c.learning_rate, fused=fused)
        if is_image_space(observation_space) and c.frame_dedup:
            self.buffer: Any = FrameReplayBuffer(
                c.buffer_size, observation_space, action_space, self.device, num_envs=num_envs
            )
        else:
            self.buffer = ReplayBuffer(c.buffer_size, observation_space, action_space, self.device)

        noise_rng = self.rng.spawn(1)[0]  # its own generator: noise and sampling independent
        shape = (num_envs, self.act_dim)
        self.noise = make_noise(c.action_noise, shape, noise_rng, theta=c.ou_theta, dt=c.ou_dt)
        self.noise_std = (
            Constant(c.noise_std)
            if c.noise_final_std is None
            else Linear(c.noise_std, c.noise_final_std, c.noise_decay_steps)
        )
        self._numpy_actor = self._numpy_layers() if self.device.type == "cpu" else None
        self.steps = 0  # env steps observed (all envs)
        self.vector_steps = 0
        self.n_updates = 0
        self._metric_sums = torch.zeros(3, device=self.device)  # critic loss, actor loss, Q
        self._metric_counts = [0, 0]

    @property
    def policy_delay(self) -> int:
        """Critic steps per actor (and target) step: 1 in DDPG, TD3 delays."""
        return 1

    # ------------------------------------------------------------------------------- acting
    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        if explore and self.steps < self.config.learning_starts:
            actions = self.rng.uniform(-1.0, 1.0, size=(len(obs), self.act_dim))
        else:
            actions = self._policy(obs)
            if explore and self.noise is not None:
                actions = np.clip(actions + self.noise(self.noise_std(self.steps)), -1.0, 1.0)
        # μ(s) lives in [-1, 1]: rescale to the env's bounds (exact at ±1, so always inside).
        return np.clip(self._center + self._half * actions, self._low, self._high).astype(
            np.float32
        )

    def _policy(self, obs: np.ndarray) -> np.ndarray:
        """μ(s) in [-1, 1]; tiny MLPs on the CPU run faster in numpy than through torch."""
        if self._numpy_actor is not None:
            x = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
            for i, (w, b) in enumerate(self._numpy_actor):
                x = x @ w + b
                if i < len(self._numpy_actor) - 1:
                    np.maximum(x, 0.0, out=x)
            return np.tanh(x)
        with torch.inference_mode():
            obs_t = torch.as_tensor(np.asarray(obs), device=self.device)
            return self.online.actor(self.online.encoder(obs_t)).cpu().numpy()

    def _numpy_layers(self) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """numpy views (not copies) of the actor's weights: the optimiser updates them in place,
        so the views stay current. Only for vector observations (no encoder parameters)."""
        space = self.observation_space
        if not isinstance(space, spaces.Box) or is_image_space(space):
            return None
        linears = [m for m in self.online.actor if isinstance(m, nn.Linear)]
        return [(m.weight.detach().numpy().T, m.bias.detach().numpy()) for m in linears]

    def observe(self, t: Transition) -> None:
        # Store actions as the actor produces them, in [-1, 1].
        scaled = (np.asarray(t.action, dtype=np.float64) - self._center) / self._half
        self.buffer.add(t._replace(action=scaled.astype(np.float32)))
        self.steps += len(t.reward)
        self.vector_steps += 1
        if self.noise is not None:
            self.noise.reset(np.logical_or(t.terminated, t.truncated))

    # ----------------------------------------------------------------------------- learning
    def update(self) -> dict[str, float]:
        c = self.config
        if self.steps < c.learning_starts or self.vector_steps % c.train_freq:
            return {}
        steps = c.gradient_steps if c.gradient_steps > 0 else c.train_freq * self.num_envs
        for _ in range(steps):
            self._train_step(self.buffer.sample(c.batch_size, self.rng))
        return self._metrics() if self._metric_counts[0] >= METRICS_EVERY else {}

    def _train_step(self, batch: ReplayBatch) -> None:
        # Critic: regress every Q_i(s, a) onto the same target y (the sum of their MSEs).
        y = self.td_target(batch)
        features = self.online.encoder(batch.obs)
        q = self.online.critic(features, batch.actions)
        critic_loss = (q - y).square().mean(dim=1).sum()
        self._critic_flat.grad.zero_()
        critic_loss.backward()
        self.critic_opt.step()
        self.n_updates += 1
        self._metric_sums[0] += critic_loss.detach()
        self._metric_sums[2] += q.detach()[0].mean()
        self._metric_counts[0] += 1
        if self.n_updates % self.policy_delay:
            return
        # Actor: follow ∇_a Q_1(s, a)·∇_θ μ(s). ``inputs=`` keeps autograd from also computing
        # the critic's weight gradients, which this loss would only throw away.
        features = features.detach()
        actor_loss = -self.online.critic(features, self.online.actor(features), n=1).mean()
        self._actor_flat.grad.zero_()
        actor_loss.backward(inputs=self._actor_params)
        self.actor_opt.step()
        self._metric_sums[1] += actor_loss.detach()
        self._metric_counts[1] += 1
        # Targets trail the online networks: θ' ← τθ + (1 − τ)θ', all tensors in one call.
        torch._foreach_lerp_(self._target_flat, self._online_flat, self.config.tau)

    @torch.no_grad()
    def td_target(self, batch: ReplayBatch) -> torch.Tensor:
        """y = r + γ(1 − terminated)·min_i Q'_i(s', a'), a' = the target actor's action (with
        TD3's smoothing noise); one critic in DDPG. Truncated steps bootstrap (their ``next_obs``
        is the true last observation)."""
        next_features = self.target.encoder(batch.next_obs)
        next_actions = self.target_actions(self.target.actor(next_features))
        next_q = self.target.critic(next_features, next_actions).amin(dim=0)
        return batch.rewards + self.config.gamma * (1.0 - batch.terminated) * next_q

    def target_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """a' = μ'(s'); TD3 adds clipped noise here."""
        return actions

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
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "buffer": self.buffer.state_dict() if self.config.save_replay_buffer else {},
            "noise": self.noise.state_dict() if self.noise is not None else {},
            "rng": self.rng.bit_generator.state,
            "torch_gen": self.gen.get_state(),
            "counters": [self.steps, self.vector_steps, self.n_updates],
            "metric_sums": self._metric_sums.clone(),
            "metric_counts": list(self._metric_counts),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (an older checkpoint, without metrics, sums from zero)."""
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        if state["buffer"]:
            self.buffer.load_state_dict(state["buffer"])
        if self.noise is not None and state["noise"]:
            self.noise.load_state_dict(state["noise"])
        self.rng.bit_generator.state = state["rng"]
        self.gen.set_state(state["torch_gen"])
        self.steps, self.vector_steps, self.n_updates = (int(x) for x in state["counters"])
        if "metric_sums" in state:
            self._metric_sums.copy_(state["metric_sums"])
            self._metric_counts = [int(x) for x in state["metric_counts"]]
