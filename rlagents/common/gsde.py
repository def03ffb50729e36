"""Generalized state-dependent exploration, gSDE (Raffin, Kober & Stulp 2022, arXiv:2005.05719),
as Stable-Baselines3's ``StateDependentNoiseDistribution`` (``full_std``, features not learned).

The exploration noise is a linear function of the actor's last hidden layer z(s):
ε(s) = z(s)·W with W ~ N(0, σ²) drawn now and then, not at every step. Between two draws the
noise is a smooth function of the state, so the policy explores in consistent directions for a
while (a car keeps pushing one way up the hill) instead of jittering around its mean. The
action distribution this induces at a state is N(μ(s), z(s)²·σ²), read by the log-probability.

σ is a learned (latent × action) matrix, log σ a parameter. As in SB3's SAC
(``learn_features=True``), z(s) is not detached: the noise's gradient trains the actor's body too.
"""

from __future__ import annotations

import math

import numpy as np
import torch

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
VARIANCE_FLOOR = 1e-6  # SB3's epsilon: z(s) = 0 would give a zero variance
CLIP_MEAN = 2.0  # SB3 clips the mean to [-2, 2] under gSDE, so tanh(μ) stays off saturation


def sample_weights(log_std: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One W ~ N(0, σ²), reparameterised (its gradient reaches log σ)."""
    eps = torch.randn(log_std.shape, generator=gen, device=log_std.device)
    return log_std.exp() * eps


def sample(
    latent: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """u = μ(s) + z(s)·W for a batch that shares one W, and the Gaussian log N(u; μ, z²σ²)
    summed over the action's dimensions (before any squashing)."""
    u = mean + latent @ sample_weights(log_std, gen)
    variance = latent.square() @ log_std.exp().square() + VARIANCE_FLOOR
    log_prob = -0.5 * (u - mean).square() / variance - 0.5 * variance.log() - LOG_SQRT_2PI
    return u, log_prob.sum(dim=1)


def draw_env_weights(log_std: np.ndarray, n_envs: int, rng: np.random.Generator) -> np.ndarray:
    """A W per env for acting, shape (n_envs, latent, action), from the agent's numpy rng."""
    return np.exp(log_std) * rng.standard_normal((n_envs, *log_std.shape))


def env_noise(latent: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each env's noise z(s_i)·W_i, shape (n_envs, action)."""
    return np.einsum("nl,nla->na", latent, weights)
