"""Network builders: an MLP, the Nature-DQN CNN, and the encoder that fits an observation space."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import nn


def mlp(
    in_dim: int,
    out_dim: int,
    hidden: Sequence[int] = (64, 64),
    activation: type[nn.Module] = nn.ReLU,
    output_activation: type[nn.Module] | None = None,
) -> nn.Sequential:
    """``in_dim → hidden… → out_dim`` with ``activation`` between layers."""
    layers: list[nn.Module] = []
    last = in_dim
    for width in hidden:
        layers += [nn.Linear(last, width), activation()]
        last = width
    layers.append(nn.Linear(last, out_dim))
    if output_activation is not None:
        layers.append(output_activation())
    return nn.Sequential(*layers)


def is_image_space(space: spaces.Space) -> bool:
    """A channel-first image stack: Box of shape (C, H, W), uint8 (what the presets produce)."""
    return (
        isinstance(space, spaces.Box)
        and len(space.shape) == 3
        and space.dtype == np.uint8
        and space.shape[0] <= 16
    )


class NatureCNN(nn.Module):
    """The CNN of Mnih et al. 2015 (Nature): 3 conv layers and a 512-unit layer.

    Takes uint8 (N, C, H, W) and scales to [0, 1] inside, so observations stay uint8 all the way
    from the env through the replay buffer.
    """

    def __init__(self, observation_space: spaces.Box, features_dim: int = 512) -> None:
        super().__init__()
        channels = observation_space.shape[0]
        self.convs = nn.Sequential(
            nn.Conv2d(channels, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, *observation_space.shape)).shape[1]
        self.linear = nn.Sequential(nn.Linear(flat, features_dim), nn.ReLU())
        self.features_dim = features_dim

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.linear(self.convs(obs.float() / 255.0))


class FlattenEncoder(nn.Module):
    """Vector observations: flatten to float32."""

    def __init__(self, observation_space: spaces.Box) -> None:
        super().__init__()
        self.features_dim = int(math.prod(observation_space.shape))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return obs.reshape(obs.shape[0], -1).float()


class OneHotEncoder(nn.Module):
    """Discrete observations (Taxi, FrozenLake): one-hot vectors."""

    def __init__(self, observation_space: spaces.Discrete) -> None:
        super().__init__()
        self.n = int(observation_space.n)
        self.start = int(observation_space.start)
        self.features_dim = self.n

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(obs.long().reshape(-1) - self.start, self.n).float()


def make_encoder(observation_space: spaces.Space, cnn_features: int = 512) -> nn.Module:
    """The encoder that fits the space; it has a ``features_dim`` attribute."""
    if is_image_space(observation_space):
        return NatureCNN(observation_space, cnn_features)  # type: ignore[arg-type]
    if isinstance(observation_space, spaces.Box):
        return FlattenEncoder(observation_space)
    if isinstance(observation_space, spaces.Discrete):
        return OneHotEncoder(observation_space)
    raise TypeError(f"no encoder for observation space {observation_space}")


def polyak_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """θ' ← τθ + (1−τ)θ' in place (τ = 1 copies)."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.lerp_(s, tau)
