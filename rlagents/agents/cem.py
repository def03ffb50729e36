"""The deep cross-entropy method, as the course teaches it (Rubinstein 1999; Lapan 2018, ch. 4).

A network F_θ maps a state to an action. Each iteration:

1. play ``n_episodes`` episodes with the current policy plus exploration: for Discrete actions
   an action is drawn from the softmax of F_θ(s); for Box actions it is F_θ(s) plus Gaussian
   noise (optionally correlated in time, which explores MountainCarContinuous);
2. score each episode by its return G(τ) (discounted by ``gamma``, 1 by default);
3. keep the elite: the episodes whose return is at or above the ``elite_percentile``-th
   percentile (with ``elite_memory`` > 0, the elite of the last iterations competes again);
4. fit F_θ to the elite (state, action) pairs by regression: cross-entropy for discrete
   actions, mean squared error to the taken actions for continuous ones.

The runner plays the episodes (``act → env.step → observe → update``); the agent keeps each
env's episode in progress and learns in :meth:`CEM.update` once enough episodes have finished.

    rlrun --env CartPole-v1 --agent cem --steps 100000
    rlrun --env MountainCarContinuous-v0 --agent cem --steps 300000
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlagents.agent import Agent, Transition
from rlagents.common import numpy_mlp
from rlagents.common.networks import is_image_space, make_encoder, mlp
from rlagents.common.rng import rng_state, set_rng_state
from rlagents.common.schedules import Linear
from rlagents.common.torch_utils import TorchConfig, seeded_torch, set_up_torch
from rlagents.config import NON_NEGATIVE, Rule


@dataclasses.dataclass
class CEMConfig(TorchConfig):
    """Hyper-parameters of the deep cross-entropy method."""

    n_episodes: int = 16
    """K: episodes played per iteration."""
    elite_percentile: float = 70.0
    """Episodes with a return at or above this percentile of the iteration's are the elite."""
    elite_memory: int = 0
    """Iterations an elite episode is kept for: it competes again with the new episodes for the
    elite (and sets the percentile with them), so a good episode is not forgotten because one
    batch of a stochastic policy was unlucky (Lapan 2018, ch. 4, keeps FrozenLake's elite
    across batches). 0: each iteration's elite comes from its own episodes only."""
    learning_rate: float = 1e-2
    """Adam step size of the fit."""
    n_epochs: int = 1
    """Passes over the elite (state, action) pairs per iteration."""
    batch_size: int = 0
    """Pairs per gradient step of the fit (0: all the elite pairs in one step)."""
    gamma: float = 1.0
    """Discount of the return that scores an episode (1: the plain sum of rewards)."""
    net_arch: tuple[int, ...] = (128,)
    """Hidden layers of F_θ."""
    noise_std: float = 0.3
    """Box actions: std of the exploration noise, in units of half the action range."""
    noise_final_std: float = 0.05
    """Box actions: the noise std reached after noise_decay_iterations iterations."""
    noise_decay_iterations: int = 50
    """Box actions: iterations over which the noise std decays linearly."""
    noise_correlation: float = 0.0
    """Box actions: noise is AR(1), x ← c·x + √(1−c²)·std·ε; above 0 it persists over steps."""

    # Ranges of its own fields (config.RANGE_RULES rule the shared names)
    range_rules: ClassVar = {
        "elite_percentile": Rule(lambda v: 0 <= v < 100, "in [0, 100)"),
        "elite_memory": NON_NEGATIVE,
        "noise_decay_iterations": NON_NEGATIVE,
        "noise_correlation": Rule(lambda v: 0 <= v < 1, "in [0, 1)"),
    }


class Policy(nn.Module):
    """F_θ: encoder → MLP → action logits (Discrete) or tanh-squashed actions in [-1, 1] (Box)."""

    def __init__(
        self,
        observation_space: spaces.Space,
        out_dim: int,
        net_arch: tuple[int, ...],
        discrete: bool,
    ) -> None:
        super().__init__()
        self.encoder = make_encoder(observation_space)
        features = int(self.encoder.features_dim)  # type: ignore[arg-type]
        self.head = mlp(features, out_dim, net_arch)
        self.discrete = discrete

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        out = self.head(self.encoder(obs))
        return out if self.discrete else torch.tanh(out)


class CEM(Agent[CEMConfig]):
    """Deep cross-entropy method for Discrete or 1-D Box actions."""

    Config: ClassVar[type] = CEMConfig
    observation_spaces: ClassVar = (spaces.Box, spaces.Discrete)
    action_spaces: ClassVar = (spaces.Discrete, spaces.Box)
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = {
        # Tuned here: 475 reached in 5k-50k steps on 7 of 7 seeds (the course's single full
        # batch step per iteration: 1 seed in 3 short of 475 at 100k). Elite episodes kept for
        # 10 iterations: without them a stochastic policy's unlucky batches set it back. One
        # seed in ten was still climbing at 100k steps, hence 200k (RESULTS.md, "Recipes that
        # hold").
        "CartPole-v1": {
            "n_timesteps": 200_000,
            "cpu_steps_per_second": 34_000,
            "n_episodes": 16,
            "elite_percentile": 80.0,
            "elite_memory": 10,
            "n_epochs": 4,
            "batch_size": 256,
            "net_arch": (128,),
        },
        # Tuned here: greedy return 224 at 350k steps (seed 0); the CartPole values reach 146
        # by 500k. More episodes per iteration, a stricter elite and a longer fit.
        "LunarLander-v3": {
            "n_timesteps": 400_000,
            "n_episodes": 40,
            "elite_percentile": 85.0,
            "learning_rate": 3e-3,
            "n_epochs": 8,
            "batch_size": 512,
            "net_arch": (128, 128),
        },
        # Noise correlated over ~50 steps swings the car up in most early episodes (white noise
        # almost never does); a long fit on the elite swings, and noise that decays slowly.
        # Tuned here: greedy return >= 90 at 20k-40k steps on 3 of 3 seeds.
        "MountainCarContinuous-v0": {
            "n_timesteps": 100_000,
            "n_episodes": 16,
            "elite_percentile": 80.0,
            "noise_std": 1.0,
            "noise_correlation": 0.98,
            "noise_final_std": 0.3,
            "noise_decay_iterations": 100,
            "net_arch": (32, 32),
            "n_epochs": 20,
            "batch_size": 256,
            "learning_rate": 1e-2,
        },
    }

    @classmethod
    def check_spaces(
        cls, observation_space: spaces.Space, action_space: spaces.Space
    ) -> str | None:
        if isinstance(action_space, spaces.Box):
            if len(action_space.shape) != 1 or not action_space.is_bounded("both"):
                return f"cem needs a 1-D Box of actions with finite bounds, got {action_space}"
        elif not isinstance(action_space, spaces.Discrete):
            return f"cem needs a Discrete or Box action space, got {action_space}; try ppo"
        if not isinstance(observation_space, (spaces.Box, spaces.Discrete)):
            return f"cem needs a Box or Discrete observation space, got {observation_space}"
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
        images = is_image_space(observation_space)
        self.device = set_up_torch(c, images=images)
        self.rng = np.random.default_rng(seed)
        self.discrete = isinstance(action_space, spaces.Discrete)
        if isinstance(action_space, spaces.Discrete):
            out_dim, self._act_start = int(action_space.n), int(action_space.start)
        else:
            assert isinstance(action_space, spaces.Box)  # check_spaces lets only these through
            out_dim = int(action_space.shape[0])
            low, high = action_space.low.astype(np.float64), action_space.high.astype(np.float64)
            self._center, self._half = (high + low) / 2, (high - low) / 2
        with seeded_torch(seed):
            self.policy = Policy(observation_space, out_dim, c.net_arch, self.discrete)
        self.policy.to(self.device)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=c.learning_rate)
        vector_cpu = isinstance(observation_space, spaces.Box) and not images
        vector_cpu = vector_cpu and self.device.type == "cpu"
        self._numpy = numpy_mlp.linear_views(self.policy.head) if vector_cpu else None
        self._noise = np.zeros((num_envs, out_dim))
        self.noise_schedule = Linear(c.noise_std, c.noise_final_std, c.noise_decay_iterations)
        self.iterations = 0
        # Each env's episode in progress, and the episodes finished in this iteration.
        self._ep_obs: list[list[np.ndarray]] = [[] for _ in range(num_envs)]
        self._ep_act: list[list[Any]] = [[] for _ in range(num_envs)]
        self._ep_return = [0.0] * num_envs
        self._ep_discount = [1.0] * num_envs
        self._finished: list[tuple[np.ndarray, np.ndarray, float]] = []
        # Elite episodes of past iterations (elite_memory), each with the iterations it has left
        self._kept: list[tuple[np.ndarray, np.ndarray, float, int]] = []

    # ------------------------------------------------------------------------------- acting
    def _forward(self, obs: np.ndarray) -> np.ndarray:
        """Logits (Discrete) or actions in [-1, 1] (Box) for a batch."""
        if self._numpy is not None:
            out = numpy_mlp.forward(self._numpy, np.asarray(obs, np.float32).reshape(len(obs), -1))
            return out if self.discrete else np.tanh(out)
        with torch.inference_mode():
            return self.policy(torch.as_tensor(np.asarray(obs), device=self.device)).cpu().numpy()

    def noise_std(self) -> float:
        """Box actions: the exploration noise std of this iteration."""
        return self.noise_schedule(self.iterations)

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        out = self._forward(obs)
        if self.discrete:
            if not explore:
                return out.argmax(axis=1) + self._act_start
            probs = np.exp(out - out.max(axis=1, keepdims=True))
            cumulative = np.cumsum(probs, axis=1)
            u = self.rng.random((len(out), 1)) * cumulative[:, -1:]
            actions = (u > cumulative).sum(axis=1)  # inverse-CDF sampling of each row
            return actions + self._act_start
        if explore:
            c = self.config
            rho = c.noise_correlation
            eps = self.rng.standard_normal(self._noise.shape)
            self._noise = rho * self._noise + np.sqrt(1.0 - rho**2) * self.noise_std() * eps
            out = np.clip(out + self._noise[: len(out)], -1.0, 1.0)
        return (self._center + self._half * out).astype(self.action_space.dtype)

    # ----------------------------------------------------------------------------- learning
    def observe(self, t: Transition) -> None:
        gamma = self.config.gamma
        ended = np.logical_or(t.terminated, t.truncated)
        for e in range(len(t.reward)):
            self._ep_obs[e].append(t.obs[e])
            self._ep_act[e].append(t.action[e])
            self._ep_return[e] += self._ep_discount[e] * float(t.reward[e])
            self._ep_discount[e] *= gamma
            if ended[e]:
                self._finish(e)

    def _finish(self, e: int) -> None:
        actions = np.asarray(self._ep_act[e])
        if self.discrete:
            actions = actions.astype(np.int64) - self._act_start
        else:  # the fit regresses F_θ(s) ∈ [-1, 1] onto the taken actions in the same units
            actions = ((actions - self._center) / self._half).astype(np.float32)
        self._finished.append((np.asarray(self._ep_obs[e]), actions, self._ep_return[e]))
        self._ep_obs[e], self._ep_act[e] = [], []
        self._ep_return[e], self._ep_discount[e] = 0.0, 1.0
        self._noise[e] = 0.0

    def update(self) -> dict[str, float]:
        c = self.config
        if len(self._finished) < c.n_episodes:
            return {}
        episodes, self._finished = self._finished, []
        returns = np.array([g for _, _, g in episodes])
        candidates = [(o, a, g, c.elite_memory) for o, a, g in episodes] + self._kept
        threshold = float(np.percentile([g for *_, g, _ in candidates], c.elite_percentile))
        elite = [episode for episode in candidates if episode[2] >= threshold]
        self._kept = [(o, a, g, left - 1) for o, a, g, left in elite if left > 0]
        obs = torch.as_tensor(np.concatenate([e[0] for e in elite]), device=self.device)
        actions = torch.as_tensor(np.concatenate([e[1] for e in elite]), device=self.device)
        loss = self._fit(obs, actions)
        self.iterations += 1
        return {
            "return_mean": float(returns.mean()),
            "elite_threshold": threshold,
            "elite_pairs": float(len(actions)),
            "loss": loss,
        }

    def _fit(self, obs: torch.Tensor, actions: torch.Tensor) -> float:
        """Regress F_θ onto the elite pairs; return the last minibatch's loss."""
        c = self.config
        n = len(actions)
        size = c.batch_size if 0 < c.batch_size < n else n
        loss = torch.zeros(())
        for _ in range(c.n_epochs):
            order = torch.as_tensor(self.rng.permutation(n), device=self.device)
            for start in range(0, n - size + 1, size):  # drop the ragged tail, as usual
                idx = order[start : start + size]
                out = self.policy(obs[idx])
                if self.discrete:
                    loss = nn.functional.cross_entropy(out, actions[idx])
                else:
                    loss = nn.functional.mse_loss(out, actions[idx])
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
        return float(loss.detach())

    # -------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Policy, optimiser, generator, and the iteration's play so far (each env's episode in
        progress, the finished episodes, the exploration noise), so that a resumed run with its
        envs restored continues exactly."""
        return {
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "iterations": self.iterations,
            "rng": rng_state(self.rng),
            "noise": self._noise.copy(),
            "in_progress": [
                {"obs": np.asarray(o), "actions": np.asarray(a), "return": g, "discount": d}
                for o, a, g, d in zip(
                    self._ep_obs, self._ep_act, self._ep_return, self._ep_discount, strict=True
                )
            ],
            "finished": [{"obs": o, "actions": a, "return": g} for o, a, g in self._finished],
            "kept": [
                {"obs": o, "actions": a, "return": g, "left": left} for o, a, g, left in self._kept
            ],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`; an older checkpoint, without the play in progress (or
        one of another number of envs), starts the iteration's episodes afresh."""
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iterations = int(state["iterations"])
        set_rng_state(self.rng, state["rng"])
        self.envs_restarted()
        self._finished = [
            (np.asarray(e["obs"]), np.asarray(e["actions"]), float(e["return"]))
            for e in state.get("finished", [])
        ]
        self._kept = [
            (np.asarray(e["obs"]), np.asarray(e["actions"]), float(e["return"]), int(e["left"]))
            for e in state.get("kept", [])
        ]
        running = state.get("in_progress", [])
        if len(running) != self.num_envs:
            return
        self._noise[:] = state["noise"]
        for e, episode in enumerate(running):
            self._ep_obs[e] = list(episode["obs"])
            self._ep_act[e] = list(episode["actions"])
            self._ep_return[e] = float(episode["return"])
            self._ep_discount[e] = float(episode["discount"])

    def envs_restarted(self) -> None:
        """The run reset its envs instead of restoring them: the episodes in progress end
        unscored, their exploration noise with them."""
        for e in range(self.num_envs):
            self._ep_obs[e], self._ep_act[e] = [], []
            self._ep_return[e], self._ep_discount[e] = 0.0, 1.0
        self._noise[:] = 0.0
