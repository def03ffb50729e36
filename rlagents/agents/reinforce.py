"""REINFORCE: the Monte-Carlo policy gradient (Williams 1992), with a baseline.

The course's estimator, over a batch of ``N`` = ``n_episodes`` complete episodes::

    ∇J ≈ (1/N) Σ_episodes Σ_t ∇log π(a_t|s_t) · (G_t − b(s_t)),   G_t = Σ_k γ^k r_{t+k}

Any baseline ``b`` that does not depend on the action leaves the estimate unbiased and can lower
its variance a lot: ``baseline=value`` learns ``V(s)`` by regression on ``G_t`` (the default),
``baseline=mean`` subtracts the batch's mean return, ``baseline=none`` is the plain estimator.
To *see* the difference, every update logs ``advantage_rms`` and ``return_rms`` (the root mean
square of the weights ``G_t − b`` multiplying ∇log π, and of ``G_t`` alone), and with
``log_grad_variance=true`` also ``grad_variance`` and ``grad_variance_no_baseline``: the total
variance of the per-episode gradient estimates, with this baseline and without any, on the
same episodes.

Episodes are used whole: each env's episode in progress is kept until it ends, so returns are
true Monte-Carlo returns. An episode cut by a time limit (truncated) is bootstrapped with
``V(final observation)`` when there is a value baseline, and treated as ended otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from torch.nn import functional as F

from rlagents.agent import Transition
from rlagents.common.policies import PolicyConfig
from rlagents.common.policy_agent import PolicyAgent, explained_variance, normalize
from rlagents.common.rollout import discounted_returns


@dataclasses.dataclass
class REINFORCEConfig(PolicyConfig):
    """Hyper-parameters of REINFORCE."""

    learning_rate: float = 1e-3
    """Adam step size."""
    n_episodes: int = 8
    """N: complete episodes per gradient step."""
    gamma: float = 0.99
    """Discount factor of the returns."""
    baseline: Literal["value", "mean", "none"] = "value"
    """b(s): a learned state value, the batch's mean return, or no baseline."""
    normalize_advantage: bool = False
    """Normalise G_t − b to mean 0, std 1 within each batch (hides the baseline's effect)."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus."""
    vf_coef: float = 0.5
    """Weight of the value loss (baseline=value)."""
    max_grad_norm: float | None = None
    """Clip the global gradient norm to this (None: no clipping)."""
    log_grad_variance: bool = False
    """Also log the variance of per-episode gradients with and without the baseline (two
    backward passes per episode)."""


class Episode(NamedTuple):
    obs: np.ndarray
    raw_actions: np.ndarray
    rewards: np.ndarray
    truncated: bool
    final_obs: np.ndarray  # the true last observation (policy input form)


class EpisodeStore:
    """Each env's episode in progress, in growing per-env arrays, until it ends."""

    def __init__(
        self,
        num_envs: int,
        obs_storage: tuple[tuple[int, ...], Any],
        act_storage: tuple[tuple[int, ...], Any],
    ) -> None:
        self.capacity = 256
        self.obs = np.zeros((num_envs, self.capacity, *obs_storage[0]), dtype=obs_storage[1])
        self.actions = np.zeros((num_envs, self.capacity, *act_storage[0]), dtype=act_storage[1])
        self.rewards = np.zeros((num_envs, self.capacity), dtype=np.float32)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.envs = np.arange(num_envs)

    def add(self, obs: np.ndarray, raw: np.ndarray, rewards: np.ndarray) -> None:
        if self.lengths.max() == self.capacity:  # double, so long episodes cost O(1) per step
            for name in ("obs", "actions", "rewards"):
                array = getattr(self, name)
                setattr(self, name, np.concatenate([array, np.zeros_like(array)], axis=1))
            self.capacity *= 2
        self.obs[self.envs, self.lengths] = obs
        self.actions[self.envs, self.lengths] = raw
        self.rewards[self.envs, self.lengths] = rewards
        self.lengths += 1

    def pop(self, env: int, truncated: bool, final_obs: np.ndarray) -> Episode:
        n = int(self.lengths[env])
        self.lengths[env] = 0
        return Episode(
            self.obs[env, :n].copy(),
            self.actions[env, :n].copy(),
            self.rewards[env, :n].copy(),
            truncated,
            final_obs,
        )

    def clear(self) -> None:
        self.lengths[:] = 0

    def state_dict(self) -> dict[str, Any]:
        n = int(self.lengths.max())
        return {
            "obs": self.obs[:, :n].copy(),
            "actions": self.actions[:, :n].copy(),
            "rewards": self.rewards[:, :n].copy(),
            "lengths": self.lengths.copy(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        lengths = np.asarray(state["lengths"], dtype=np.int64)
        if lengths.shape != self.lengths.shape:  # a resume with another --num-envs
            self.clear()
            return
        n = int(lengths.max())
        while self.capacity < n:
            self.capacity *= 2
        for name in ("obs", "actions", "rewards"):
            array = getattr(self, name)
            grown = np.zeros((array.shape[0], self.capacity, *array.shape[2:]), array.dtype)
            grown[:, :n] = state[name]
            setattr(self, name, grown)
        self.lengths[:] = lengths


class REINFORCE(PolicyAgent[REINFORCEConfig]):
    """Monte-Carlo policy gradient over whole episodes, with a value or mean-return baseline."""

    Config: ClassVar = REINFORCEConfig
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = {
        # Chosen here (no source recorded): 475 within 300k steps on 10 of 10 seeds, median 30k
        # (benchmarks/RESULTS.md).
        "CartPole-v1": {
            "n_timesteps": 300_000,
            "cpu_steps_per_second": 36_600,
            "n_episodes": 8,
            "learning_rate": 2e-3,
            "gamma": 0.99,
        },
        # A starting point (no source recorded), not validated here.
        "LunarLander-v3": {
            "n_timesteps": 1_000_000,
            "n_episodes": 16,
            "gamma": 0.99,
            "normalize_observations": True,
        },
    }
    recommended_num_envs: ClassVar = {"CartPole-v1": 8, "LunarLander-v3": 8}

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
        self.running = EpisodeStore(num_envs, self.obs_storage, self.policy.raw_action_storage())
        self.finished: list[Episode] = []

    def store(self, x: np.ndarray, raw: np.ndarray, reward: np.ndarray, t: Transition) -> None:
        self.running.add(x, raw, reward)
        ended = t.terminated | t.truncated
        if ended.any():
            for env in np.flatnonzero(ended).tolist():
                final = self.policy_input(t.next_obs[env : env + 1])[0]
                self.finished.append(self.running.pop(env, bool(t.truncated[env]), final))

    def update(self) -> dict[str, float]:
        if len(self.finished) < self.config.n_episodes:
            return {}
        episodes, self.finished = self.finished, []
        metrics = self.learn(episodes)
        self.n_updates += 1
        return metrics

    def learn(self, episodes: list[Episode]) -> dict[str, float]:
        """One gradient step on whole episodes: the policy gradient weighted by ``G_t − b``."""
        cfg, policy = self.config, self.policy
        obs = torch.as_tensor(np.concatenate([e.obs for e in episodes]), device=self.device)
        raw = torch.as_tensor(np.concatenate([e.raw_actions for e in episodes]), device=self.device)
        params, values = policy(obs)
        log_prob = policy.log_prob(params, raw)

        # ---- Monte-Carlo returns G_t, restarted at each episode's end
        rewards = np.concatenate([e.rewards for e in episodes])
        ends, bootstrap = self._ends_and_bootstrap(episodes)
        returns_np = discounted_returns(rewards, ends, bootstrap, cfg.gamma)
        returns = torch.as_tensor(returns_np, device=self.device)

        # ---- the baseline b(s_t), and the weights G_t − b of ∇log π
        if cfg.baseline == "value":
            advantages = returns - values.detach()
        elif cfg.baseline == "mean":
            advantages = returns - returns.mean()
        else:
            advantages = returns
        spread = self._spread(log_prob, advantages, returns, episodes)
        if cfg.normalize_advantage:
            advantages = normalize(advantages)

        # ---- (1/N) Σ_episodes Σ_t: the sum over an episode's steps, the mean over episodes
        policy_loss = -(log_prob * advantages).sum() / len(episodes)
        loss = policy_loss
        critic: dict[str, float] = {}
        if cfg.baseline == "value":  # the baseline V(s) learns by regression on G_t
            value_loss = F.mse_loss(values, returns)
            loss = loss + cfg.vf_coef * value_loss
            critic["value_loss"] = float(value_loss.detach())
            critic["explained_variance"] = explained_variance(
                values.detach().cpu().numpy(), returns_np
            )
        entropy = policy.entropy(params).mean()
        if cfg.ent_coef:
            loss = loss - cfg.ent_coef * entropy
        self.gradient_step(loss)

        return {
            "policy_loss": float(policy_loss.detach()),
            "entropy": float(entropy.detach()),
            "kl": self.kl_moved(obs, params),
            **spread,
            "return_mean": float(np.mean([e.rewards.sum() for e in episodes])),
            "episode_length": float(np.mean([len(e.rewards) for e in episodes])),
            **critic,
        }

    def _ends_and_bootstrap(self, episodes: list[Episode]) -> tuple[np.ndarray, np.ndarray]:
        """Where each episode ends, and the return after it: ``V(final obs)`` for a truncated
        episode when a value is learned (a time limit is not a terminal state), else 0."""
        lengths = np.array([len(e.rewards) for e in episodes])
        ends = np.zeros(lengths.sum(), dtype=bool)
        ends[np.cumsum(lengths) - 1] = True
        bootstrap = np.zeros(lengths.sum(), dtype=np.float32)
        cut = [i for i, e in enumerate(episodes) if e.truncated]
        if cut and self.config.baseline == "value":
            final = np.stack([episodes[i].final_obs for i in cut])
            with torch.no_grad():
                v = self.policy.value(torch.as_tensor(final, device=self.device))
            bootstrap[np.cumsum(lengths)[cut] - 1] = v.cpu().numpy()
        return ends, bootstrap

    def _spread(
        self,
        log_prob: torch.Tensor,
        advantages: torch.Tensor,
        returns: torch.Tensor,
        episodes: list[Episode],
    ) -> dict[str, float]:
        """How much the baseline shrinks the estimator's noise: the root mean square of the
        weights ``G_t − b`` and of ``G_t``, and with ``log_grad_variance`` the variance of the
        per-episode gradients with this baseline and without any."""
        spread = {
            "advantage_rms": float(advantages.square().mean().sqrt()),
            "return_rms": float(returns.square().mean().sqrt()),
        }
        if self.config.log_grad_variance:
            spread["grad_variance"] = self._grad_variance(log_prob, advantages, episodes)
            spread["grad_variance_no_baseline"] = self._grad_variance(log_prob, returns, episodes)
        return spread

    def _grad_variance(
        self, log_prob: torch.Tensor, advantages: torch.Tensor, episodes: list[Episode]
    ) -> float:
        """Total variance (trace of the covariance) of the per-episode gradient estimates
        ``g_i = ∇ Σ_t log π(a_t|s_t)·(G_t − b)``: the quantity a baseline lowers."""
        grads = []
        start = 0
        for e in episodes:
            stop = start + len(e.rewards)
            surrogate = (log_prob[start:stop] * advantages[start:stop]).sum()
            g = torch.autograd.grad(
                surrogate, self.parameters, retain_graph=True, allow_unused=True
            )
            grads.append(torch.cat([x.reshape(-1) for x in g if x is not None]))
            start = stop
        stacked = torch.stack(grads)
        return float(stacked.var(dim=0, unbiased=True).sum()) if len(grads) > 1 else float("nan")

    def state_dict(self) -> dict[str, Any]:
        """The base state plus each env's episode in progress and the finished episodes not
        learnt from yet, so that a resumed run (envs restored) continues them."""
        return {
            **super().state_dict(),
            "running": self.running.state_dict(),
            "finished": [e._asdict() for e in self.finished],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`; an older checkpoint, without episodes, starts afresh."""
        super().load_state_dict(state)
        if "running" in state:
            self.running.load_state_dict(state["running"])
        else:
            self.running.clear()
        self.finished = [
            Episode(e["obs"], e["raw_actions"], e["rewards"], bool(e["truncated"]), e["final_obs"])
            for e in state.get("finished", [])
        ]

    def envs_restarted(self) -> None:
        """The run reset its envs instead of restoring them: the episodes in progress end."""
        self.running.clear()
