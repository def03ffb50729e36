"""What the off-policy actor-critics for Box actions share — DDPG, TD3, LSTM-TD3 and SAC: the
actor acts in [-1, 1]^k and its actions are rescaled to the env's bounds, the replay buffer keeps
them in those unit terms, and learning runs on a schedule (``learning_starts`` random steps, then
``gradient_steps`` every ``train_freq`` vector steps). Each algorithm file keeps its networks,
its acting and its one gradient step (``train_step``), read top to bottom.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from gymnasium import spaces

from rlagents.agent import Agent, Transition
from rlagents.common.frame_replay import FrameReplayBuffer
from rlagents.common.networks import is_image_space
from rlagents.common.replay import ReplayBatch, ReplayBuffer, warmed_up
from rlagents.common.torch_utils import TorchCNNConfig, seeded_torch, set_up_torch
from rlagents.config import AT_LEAST_ONE, field_error

METRICS_EVERY = 100  # gradient steps between reported metrics (no host sync on the other steps)


@dataclass
class OffPolicyConfig(TorchCNNConfig):
    """The fields DDPG, TD3 and SAC share (names as in Stable-Baselines3)."""

    learning_rate: float = 1e-3
    """Adam step size of the actor and of the critic."""
    buffer_size: int = 1_000_000
    """Transitions the replay buffer holds (the oldest are overwritten)."""
    learning_starts: int = 1_000
    """Env steps of uniformly random actions before learning starts (fills the buffer)."""
    batch_size: int = 256
    """Transitions per gradient step."""
    tau: float = 0.005
    """Polyak factor of the target networks: θ' ← τθ + (1 − τ)θ' at each target update."""
    gamma: float = 0.99
    """Discount factor."""
    train_freq: int = 1
    """Learn every this many vector steps."""
    gradient_steps: int = 1
    """Gradient steps each time it learns; -1: as many as env steps since the last time."""
    net_arch: tuple[int, ...] = (256, 256)
    """Hidden layer widths of the actor and of the critic."""
    features_dim: int = 512
    """Output width of the CNN encoder (image observations only)."""
    frame_dedup: bool = True
    """Store each frame of frame-stacked image observations once (about 8x less memory)."""
    save_replay_buffer: bool = True
    """Keep the replay buffer in checkpoints, so a resumed run continues exactly."""

    range_rules: ClassVar = {"batch_size": AT_LEAST_ONE, "features_dim": AT_LEAST_ONE}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.net_arch:
            raise field_error(self, "net_arch", "needs at least one hidden layer, got ()")


OffPolicyConfigT = TypeVar("OffPolicyConfigT", bound=OffPolicyConfig)


class OffPolicyBoxAgent(Agent[OffPolicyConfigT]):
    """An actor-critic for Box actions that learns from a replay buffer; subclasses build their
    networks (``_build_networks``, called here under the run's torch seed) and write
    ``train_step`` and ``_metrics``."""

    observation_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (spaces.Box, spaces.Discrete)
    action_spaces: ClassVar = (spaces.Box,)
    optional_state: ClassVar = ("buffer",)  # save_replay_buffer=false leaves it out
    buffer: ReplayBuffer | FrameReplayBuffer  # made after the networks

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
        self.device = set_up_torch(self.config, images=is_image_space(observation_space))
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator(device=self.device)  # the networks' noise (TD3, SAC)
        self.gen.manual_seed(int(self.rng.integers(2**62)))
        assert isinstance(action_space, spaces.Box)  # check_spaces made sure
        self.act_dim = int(action_space.shape[0])
        low, high = action_space.low.astype(np.float64), action_space.high.astype(np.float64)
        self._center, self._half = (high + low) / 2, np.maximum((high - low) / 2, 1e-12)
        self._low, self._high = low, high
        with seeded_torch(seed):  # the same initial weights for one seed, in any thread
            self._build_networks()
        self.buffer = self._make_buffer()
        self.steps = 0  # env steps observed (all envs)
        self.vector_steps = 0
        self.n_updates = 0

    @abc.abstractmethod
    def _build_networks(self) -> None:
        """The online networks, their targets and optimisers (under the run's torch seed)."""

    def _make_buffer(self) -> ReplayBuffer | FrameReplayBuffer:
        c = self.config
        space, actions = self.observation_space, self.action_space
        if isinstance(space, spaces.Box) and is_image_space(space) and c.frame_dedup:
            return FrameReplayBuffer(
                c.buffer_size, space, actions, self.device, num_envs=self.num_envs
            )
        return ReplayBuffer(c.buffer_size, space, actions, self.device)

    # ------------------------------------------------------------------------------- acting
    def env_actions(self, unit: np.ndarray) -> np.ndarray:
        """Actions in the actor's [-1, 1] rescaled to the env's bounds (exact at ±1, so always
        inside), float32."""
        return np.clip(self._center + self._half * unit, self._low, self._high).astype(np.float32)

    def unit_actions(self, actions: np.ndarray) -> np.ndarray:
        """Env actions in the actor's [-1, 1] units (float32), as the replay buffer keeps them."""
        scaled = (np.asarray(actions, dtype=np.float64) - self._center) / self._half
        return scaled.astype(np.float32)

    def observe(self, t: Transition) -> None:
        # Store actions as the actor produces them, in [-1, 1].
        self.buffer.add(t._replace(action=self.unit_actions(t.action)))
        self.steps += len(t.reward)
        self.vector_steps += 1

    # ----------------------------------------------------------------------------- learning
    def update(self) -> dict[str, float]:
        c = self.config
        warm = warmed_up(self.steps, len(self.buffer), c.learning_starts, c.buffer_size)
        if not warm or self.vector_steps % c.train_freq:
            return {}
        steps = c.gradient_steps if c.gradient_steps > 0 else c.train_freq * self.num_envs
        for _ in range(steps):
            self.train_step(self.sample())
        return self._metrics() if self.metrics_due() else {}

    def sample(self) -> ReplayBatch:
        """One minibatch from the replay buffer (LSTM-TD3 adds the histories)."""
        return self.buffer.sample(self.config.batch_size, self.rng)

    @abc.abstractmethod
    def train_step(self, batch: ReplayBatch) -> None:
        """One gradient step on ``batch``."""

    @abc.abstractmethod
    def metrics_due(self) -> bool:
        """Whether enough steps were summed to report the metrics (about every 100)."""

    @abc.abstractmethod
    def _metrics(self) -> dict[str, float]:
        """The metrics summed since the last report, averaged; the sums restart."""
