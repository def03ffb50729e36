"""TD3: twin delayed DDPG (Fujimoto, van Hoof & Meger 2018, arXiv:1802.09477).

DDPG's critic over-estimates: the actor climbs the critic's errors, and the target bootstraps from
them. TD3 keeps everything of :mod:`rlagents.agents.ddpg` and changes three things:

1. **Clipped double Q** — two critics learn from the same target
   y = r + γ(1 − terminated)·min(Q'_1, Q'_2)(s', a'), the smaller of two independent estimates
   (DDPG's critic, a ``ParallelMLP``, computes both in one pass);
2. **Target-policy smoothing** — a' = clip(μ'(s') + clip(ε, −c, c), −1, 1) with ε ~ N(0, σ̃²), so
   the target averages Q over a small neighbourhood of the action instead of trusting a sharp peak;
3. **Delayed policy updates** — the actor and the target networks move once every
   ``policy_delay`` critic steps, letting the critic settle before the actor follows it.

All three are steps of :meth:`DDPG.train_step <rlagents.agents.ddpg.DDPG.train_step>`, which
this class only configures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rlagents.agents.ddpg import DDPG, DDPGConfig
from rlagents.agents.ddpg_td3_hyperparams import TD3_HYPERPARAMS


@dataclass
class TD3Config(DDPGConfig):
    """Hyper-parameters of TD3: DDPG's plus the three of its changes (names as in SB3)."""

    action_noise: Literal["ornstein_uhlenbeck", "normal", "none"] = "normal"
    """Exploration noise added to μ(s); the TD3 paper found Gaussian noise enough."""
    noise_std: float = 0.1
    """σ of the exploration noise, in units of half the action range (actions live in [-1, 1])."""
    policy_delay: int = 2
    """Critic steps per actor and target-network step."""
    target_policy_noise: float = 0.2
    """σ̃ of the Gaussian noise added to the target actor's action (in [-1, 1] units)."""
    target_noise_clip: float = 0.5
    """The target-policy noise is clipped to [−c, c]."""


class TD3(DDPG[TD3Config]):
    """Twin delayed DDPG for Box action spaces."""

    Config: ClassVar[type] = TD3Config
    n_critics: ClassVar[int] = 2  # (1) clipped double Q: DDPG.td_target takes their minimum
    # The tuned sets: TD3_HYPERPARAMS in ddpg_td3_hyperparams.py
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = TD3_HYPERPARAMS

    @property
    def policy_delay(self) -> int:  # (3) delayed actor and target updates
        return int(self.config.policy_delay)

    @property
    def target_policy_noise(self) -> tuple[float, float]:  # (2) target-policy smoothing
        return float(self.config.target_policy_noise), float(self.config.target_noise_clip)
