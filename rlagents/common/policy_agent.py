"""What REINFORCE, A2C and PPO share: acting with an :class:`ActorCritic`, normalising
observations and rewards, the optimiser and its gradient step, checkpoints.

:class:`PolicyAgent` is the plumbing around each algorithm's file, which keeps its own
``Config``, its tuned sets and its learning update. It hands every step it observes to
:meth:`PolicyAgent.store`: REINFORCE keeps whole episodes there, the rollout agents
(:class:`~rlagents.common.rollout_agent.RolloutAgent`: A2C, PPO) fixed-length rollouts.

Per vector step the hot path is: ``act`` — (normalise), one actor forward pass under
``inference_mode``, sampling in numpy, the raw sample kept for ``observe``; ``observe`` — the
reward normaliser, then :meth:`~PolicyAgent.store`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from gymnasium import spaces

from rlagents.agent import Agent, Transition
from rlagents.common.masks import masked_layout, masked_space_problem
from rlagents.common.networks import configure_cnns, is_image_space
from rlagents.common.normalize import ObservationNormalizer, RewardNormalizer, RunningMeanStd
from rlagents.common.policies import ActorCritic, PolicyConfig
from rlagents.common.rng import rng_state, set_rng_state
from rlagents.common.rollout import space_storage
from rlagents.common.torch_utils import load_optimizer_state, seeded_torch, set_up_torch
from rlagents.errors import ConfigError

PolicyConfigT = TypeVar("PolicyConfigT", bound=PolicyConfig)


class PolicyAgent(Agent[PolicyConfigT]):
    """Base of the policy-gradient agents; subclasses implement :meth:`store` and ``update``."""

    # Dict: a masked observation (or a subclass's own, as MAPPO's joint view)
    observation_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (
        spaces.Box,
        spaces.Discrete,
        spaces.Dict,
    )
    action_spaces: ClassVar = (spaces.Discrete, spaces.Box)
    recommended_num_envs: ClassVar[Mapping[str, int]] = {}
    """The ``--num-envs`` each tuned set of ``hyperparams`` was made for (the agent runs with
    any)."""

    @classmethod
    def check_spaces(
        cls, observation_space: spaces.Space, action_space: spaces.Space
    ) -> str | None:
        name = cls.__name__.lower()
        if not isinstance(action_space, (spaces.Discrete, spaces.Box)):
            return f"{name} needs a Discrete or Box action space, got {action_space}; try random"
        if isinstance(action_space, spaces.Box) and len(action_space.shape) != 1:
            return f"{name} needs a 1-D Box action space, got shape {action_space.shape}"
        if isinstance(observation_space, spaces.Dict):
            return masked_space_problem(observation_space, action_space)
        if not isinstance(observation_space, (spaces.Box, spaces.Discrete)):
            return f"{name} needs a Box or Discrete observation space, got {observation_space}"
        if (
            isinstance(observation_space, spaces.Box)
            and len(observation_space.shape) == 3
            and not is_image_space(observation_space)
        ):
            return (
                f"{name} reads images as channel-first uint8 stacks (C, H, W), got "
                f"{observation_space}; use the car_racing or the atari preset"
            )
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
        cfg = self.config
        image = is_image_space(observation_space)
        # A Dict observation is kept and read as one flat row (common.masks).
        self.layout = self.make_layout(observation_space)
        if cfg.normalize_observations and self.layout is not None:
            raise ConfigError(
                "normalize_observations would rescale the action mask of these observations; "
                "set normalize_observations=false",
                field="normalize_observations",
            )
        if cfg.normalize_observations and (image or isinstance(observation_space, spaces.Discrete)):
            raise ConfigError(
                "normalize_observations is for vector observations; images are scaled to [0, 1] "
                "inside the CNN and discrete ones are one-hot: set normalize_observations=false",
                field="normalize_observations",
            )
        bounded = isinstance(action_space, spaces.Box) and bool(
            np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))
        )
        if cfg.box_actions == "tanh" and isinstance(action_space, spaces.Box) and not bounded:
            raise ConfigError(
                f"box_actions=tanh needs finite action bounds, got {action_space}; "
                "use box_actions=clip",
                field="box_actions",
            )
        self.device = set_up_torch(cfg, images=image)
        self.rng = np.random.default_rng(seed)
        with seeded_torch(seed):
            self.policy = self.make_policy(observation_space, action_space).to(self.device)
        configure_cnns(self.policy, cfg.cnn_precision, self.device)
        self.policy.use_numpy_actor(self.device.type == "cpu")
        self.parameters = list(self.policy.parameters())
        stored = observation_space if self.layout is None else self.layout.flat_space
        obs_shape, obs_dtype = space_storage(stored)
        self.obs_normalizer = None
        if cfg.normalize_observations:
            self.obs_normalizer = ObservationNormalizer(obs_shape)
            obs_dtype = np.float32
        self.reward_normalizer = (
            RewardNormalizer(num_envs, cfg.gamma) if cfg.normalize_rewards else None
        )
        self.obs_storage = (obs_shape, obs_dtype)  # one policy input, as the buffers keep it
        self.optimizer = self.make_optimizer()
        self.num_timesteps = 0  # env steps observed, drives the schedules
        self.n_updates = 0
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._weights_stats: dict[str, Any] = {}  # the statistics of the last set_weights

    def make_layout(self, observation_space: spaces.Space) -> Any:
        """How a Dict observation becomes one flat row (``flatten``, ``flat_transition``,
        ``flat_space``), or None: a masked one here; MAPPO's joint view in its own."""
        return masked_layout(observation_space)

    def make_policy(self, observation_space: spaces.Space, action_space: spaces.Space) -> Any:
        """The actor-critic network (MAPPO's has a critic of its own input)."""
        return ActorCritic(observation_space, action_space, self.config)

    def make_optimizer(self) -> torch.optim.Optimizer:
        """Adam with ε = 1e-5 (the PPO implementations' choice, Engstrom et al. 2020); the fused
        kernel updates all parameters in one call, several times cheaper for small networks."""
        return torch.optim.Adam(
            self.parameters, lr=self.config.learning_rate, eps=1e-5, fused=self._fusable()
        )

    def _fusable(self) -> bool:
        return self.device.type in ("cpu", "cuda")

    # ------------------------------------------------------------------------ acting
    def policy_input(self, obs: np.ndarray, *, update_stats: bool = False) -> np.ndarray:
        """Observations as the network reads them (normalised if configured)."""
        if self.obs_normalizer is None:
            return obs
        return self.obs_normalizer(np.asarray(obs, dtype=np.float32), update=update_stats)

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        if self.layout is not None:
            obs = self.layout.flatten(obs)
        x = self.policy_input(obs, update_stats=explore)
        actions, raw = self.policy.act(x, self.rng, deterministic=not explore)
        if explore:
            self._last = (actions, raw, x)
        return actions

    def observe(self, t: Transition) -> None:
        if self.layout is not None:
            t = self.layout.flat_transition(t)
        last = self._last
        if last is not None and last[0] is t.action:
            _, raw, x = last
        else:  # a transition this agent did not act on (a test, an imported dataset)
            raw, x = self.policy.from_env(t.action), self.policy_input(t.obs)
        self._last = None
        reward = t.reward
        if self.reward_normalizer is not None:
            reward = self.reward_normalizer(reward, t.terminated, t.truncated)
        self.num_timesteps += len(reward)
        self.store(x, raw, reward, t)

    @abc.abstractmethod
    def store(self, x: np.ndarray, raw: np.ndarray, reward: np.ndarray, t: Transition) -> None:
        """Keep one vector step: the policy inputs ``x``, the raw actions, the (normalised)
        rewards, and ``t`` for its flags and final observations."""

    # ------------------------------------------------------------------------ learning
    def gradient_step(self, loss: torch.Tensor) -> None:
        """One optimiser step on ``loss``, the gradients clipped to ``max_grad_norm``."""
        for param in self.parameters:  # zero_grad(), without its per-call overhead
            param.grad = None
        loss.backward()
        self.clip_gradients()
        self.optimizer.step()

    def clip_gradients(self) -> None:
        """Scale the gradients so that their global norm is at most ``max_grad_norm`` (if set).

        What ``clip_grad_norm_`` does, without its per-call grouping by device and dtype, which
        costs as much as the clipping itself on a small network.
        """
        max_norm = self.config.max_grad_norm
        if max_norm is None or max_norm <= 0:
            return
        grads = [p.grad for p in self.parameters if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        torch._foreach_mul_(grads, torch.clamp(max_norm / (norm + 1e-6), max=1.0))

    def kl_moved(self, obs: torch.Tensor, old_params: torch.Tensor) -> float:
        """How far the last step moved the policy on ``obs``: the exact mean KL(π_old ‖ π_new),
        ``old_params`` being the distribution before the step."""
        with torch.no_grad():
            new_params, _ = self.policy(obs)
            return float(self.policy.kl(old_params.detach(), new_params).mean())

    # ------------------------------------------------------------------------ distributed seam
    def _running_stats(self) -> dict[str, RunningMeanStd]:
        """The normalisers' statistics, which the learner and its workers share."""
        stats = {}
        if self.obs_normalizer is not None:
            stats["obs_normalizer"] = self.obs_normalizer.rms
        if self.reward_normalizer is not None:
            stats["reward_normalizer"] = self.reward_normalizer.rms
        return stats

    def get_weights(self) -> dict[str, Any]:
        """The network weights and the normalisers' statistics, as numpy arrays."""
        weights: dict[str, Any] = {
            "policy": {k: v.detach().cpu().numpy() for k, v in self.policy.state_dict().items()}
        }
        for name, rms in self._running_stats().items():
            weights[name] = rms.state_dict()
        return weights

    def set_weights(self, weights: Mapping[str, Any]) -> None:
        """Act with the learner's weights and statistics; from here on,
        :meth:`stats_since_weights` counts what this copy's own envs add to the statistics."""
        policy = {k: torch.tensor(v) for k, v in weights["policy"].items()}  # Ray: read-only
        self.policy.load_state_dict(policy)  # copies in place: the numpy actor's views stay
        self._weights_stats = {name: weights[name] for name in self._running_stats()}
        for name, rms in self._running_stats().items():
            rms.load_state_dict(weights[name])
        self._statistics_changed()

    def stats_since_weights(self) -> dict[str, Any]:
        """Worker: the statistics of the steps observed since :meth:`set_weights`, for the
        learner's :meth:`merge_stats` (as RLlib's observation filters do)."""
        base = self._weights_stats
        return {name: rms.since(base[name]) for name, rms in self._running_stats().items()}

    def merge_stats(self, stats: Mapping[str, Any]) -> None:
        """Learner: add a worker's :meth:`stats_since_weights`."""
        for name, rms in self._running_stats().items():
            rms.merge(stats[name])
        self._statistics_changed()

    def _statistics_changed(self) -> None:
        if self.obs_normalizer is not None:
            self.obs_normalizer.refresh()

    # ------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Weights, optimiser, counters, generator and normalisers."""
        state: dict[str, Any] = {
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "num_timesteps": self.num_timesteps,
            "n_updates": self.n_updates,
            "rng": rng_state(self.rng),
        }
        if self.obs_normalizer is not None:
            state["obs_normalizer"] = self.obs_normalizer.state_dict()
        if self.reward_normalizer is not None:
            state["reward_normalizer"] = self.reward_normalizer.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.policy.load_state_dict(state["policy"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        self.num_timesteps = int(state["num_timesteps"])
        self.n_updates = int(state["n_updates"])
        set_rng_state(self.rng, state["rng"])
        if self.obs_normalizer is not None:
            self.obs_normalizer.load_state_dict(state["obs_normalizer"])
        if self.reward_normalizer is not None:
            self.reward_normalizer.load_state_dict(state["reward_normalizer"])


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Mean 0, std 1 (a single sample is left as it is)."""
    return (x - x.mean()) / (x.std() + 1e-8) if len(x) > 1 else x


def explained_variance(predicted: np.ndarray, target: np.ndarray) -> float:
    """``1 − Var[target − predicted] / Var[target]``: 1 is perfect, 0 no better than the mean.

    >>> explained_variance(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    1.0
    """
    var = float(np.var(target))
    return float("nan") if var == 0 else 1.0 - float(np.var(target - predicted)) / var
