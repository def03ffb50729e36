"""Deep Q-network (Mnih et al. 2015) with the usual improvements, each a config switch.

Regression of Q(s, a) onto y = R + γ^m·(1 − terminated)·Q_target(s', argmax_a' Q(s', a')):

* experience replay decouples learning from acting (uniform; on frame-stacked images each frame
  is stored once, :mod:`rlagents.common.frame_replay`);
* a target network, copied every ``target_update_interval`` steps (``tau=1``) or moved towards
  the online one by Polyak averaging (``tau<1``);
* double-DQN targets (van Hasselt et al. 2016): the online net picks a', the target net values it;
* an optional dueling head Q = V + A − mean(A) (Wang et al. 2016);
* optional n-step returns (Sutton 1988; Hessel et al. 2018), cut where an episode terminated,
  bootstrapped where it was truncated;
* Huber loss and gradient-norm clipping; ε-greedy exploration decaying linearly.

Vector observations go through an MLP, image stacks through the Nature CNN (uint8 until the
network's first layer). On the CPU with images, training is pipelined over two threads (torch
releases the GIL in its kernels): a worker runs a round's gradient steps while the runner's
thread steps the env, acts, and computes the next round's targets. Acting and double DQN's a*
use a copy of the online network refreshed after each round (one round behind), so nothing
reads weights mid-update and runs stay deterministic for a seed.

    rlrun --env CartPole-v1 --agent dqn --steps 50000
    rlrun --env ALE/BattleZone-v5 --agent dqn --steps 10000000          # the Atari preset
    rlrun --env ALE/BattleZone-v5 --agent dqn --hyperparams atari100k --steps 100000
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlagents.agent import Agent, Transition
from rlagents.agents.dqn_hyperparams import HYPERPARAMS
from rlagents.common import numpy_mlp
from rlagents.common.frame_replay import FrameReplayBuffer
from rlagents.common.networks import is_image_space, make_encoder, mlp, polyak_update
from rlagents.common.replay import NStepBatch, ReplayBuffer
from rlagents.common.rng import rng_state, set_rng_state
from rlagents.common.schedules import Linear
from rlagents.common.torch_utils import (
    configure_threads,
    seed_everything,
    select_device,
    thread_count,
)

METRICS_EVERY = 100  # gradient steps between metric reports (reading a tensor syncs the device)
RANDOM_BLOCK = 4096


@dataclasses.dataclass
class DQNConfig:
    """Hyper-parameters of DQN (names as in Stable-Baselines3 where the concept is the same)."""

    learning_rate: float = 1e-4
    """Adam step size."""
    adam_eps: float = 1e-8
    """Adam's ε (data-efficient Atari settings use 1.5e-4)."""
    buffer_size: int = 100_000
    """Transitions the replay buffer holds; an Atari frame costs 7 kB, so 1M ≈ 7.1 GB."""
    learning_starts: int = 1_000
    """Env steps (all envs) of ε-greedy play before the first gradient step."""
    batch_size: int = 32
    """Transitions per gradient step."""
    gamma: float = 0.99
    """Discount factor γ."""
    train_freq: int = 4
    """Vector steps between training rounds."""
    gradient_steps: int = 1
    """Gradient steps per training round (-1: one per env step collected in the round)."""
    target_update_interval: int = 10_000
    """Env steps between target-network updates (checked at each training round)."""
    tau: float = 1.0
    """Target update θ' ← τθ + (1−τ)θ': 1 copies (hard update), below 1 is Polyak averaging."""
    exploration_steps: int = 100_000
    """Env steps over which ε decays linearly (SB3: exploration_fraction × total_timesteps)."""
    exploration_initial_eps: float = 1.0
    """ε at the start."""
    exploration_final_eps: float = 0.05
    """ε after exploration_steps."""
    double_q: bool = True
    """Double-DQN targets: the online network picks the next action, the target values it."""
    dueling: bool = False
    """A dueling head: Q(s, a) = V(s) + A(s, a) − mean_a A(s, a)."""
    n_steps: int = 1
    """Steps of reward in each target (n-step returns); 1 is the one-step TD target."""
    clip_reward: bool = False
    """Learn from sign(r), the Nature paper's reward clipping (the runner still logs the score)."""
    loss: Literal["huber", "mse"] = "huber"
    """Regression loss: Huber (smooth L1, as in the Nature paper's clipped error) or MSE."""
    max_grad_norm: float = 10.0
    """Gradient-norm clipping (0: none)."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layers after the encoder (images: after the Nature CNN's 512 units)."""
    frame_dedup: bool = True
    """Store each frame of frame-stacked image observations once (about 8x less memory)."""
    background_training: Literal["auto", "on", "off"] = "auto"
    """Run gradient steps in a worker thread (with num_threads torch threads) while the env is
    stepped and the caller's thread acts with one torch thread (auto: on for CPU + images)."""
    save_replay_buffer: bool = True
    """Keep the replay buffer in checkpoints, so a resumed run continues exactly."""
    device: str = "auto"
    """Torch device: auto picks CUDA when present, else the CPU."""
    num_threads: int = 0
    """Torch CPU threads for gradient steps (0: 1 for MLPs; for CNNs the CPUs this process may
    use, at most 4, less one for the acting thread when training runs in the background)."""

    def __post_init__(self) -> None:
        positive = ("learning_rate", "adam_eps", "buffer_size", "batch_size", "train_freq")
        for name in (*positive, "target_update_interval", "n_steps"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.gradient_steps == 0 or self.gradient_steps < -1:
            raise ValueError(f"gradient_steps must be positive or -1, got {self.gradient_steps}")
        if self.learning_starts < 0 or self.exploration_steps < 0 or self.max_grad_norm < 0:
            raise ValueError("learning_starts, exploration_steps and max_grad_norm must be >= 0")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        for name in ("exploration_initial_eps", "exploration_final_eps"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if any(width <= 0 for width in self.net_arch):
            raise ValueError(f"net_arch widths must be positive, got {self.net_arch}")


# ------------------------------------------------------------------------------------ network
class QNetwork(nn.Module):
    """Encoder (MLP input, one-hot or Nature CNN) → Q-values, optionally through a dueling head."""

    def __init__(
        self,
        observation_space: spaces.Space,
        n_actions: int,
        net_arch: tuple[int, ...],
        dueling: bool,
    ) -> None:
        super().__init__()
        self.encoder = make_encoder(observation_space)
        features = int(self.encoder.features_dim)  # type: ignore[arg-type]
        self.dueling = dueling
        self.head = mlp(features, n_actions, net_arch)  # the advantage stream when dueling
        self.value = mlp(features, 1, net_arch) if dueling else None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        features = self.encoder(obs)
        q = self.head(features)
        if self.value is not None:  # identifiable V and A: subtract the mean advantage
            q = self.value(features) + q - q.mean(dim=1, keepdim=True)
        return q


# -------------------------------------------------------------------------------------- agent
class DQN(Agent):
    """DQN for Discrete actions on vector, Discrete or image observations."""

    Config: ClassVar[type] = DQNConfig
    observation_spaces: ClassVar = (spaces.Box, spaces.Discrete)
    action_spaces: ClassVar = (spaces.Discrete,)
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = HYPERPARAMS  # see dqn_hyperparams.py

    @classmethod
    def check_spaces(
        cls, observation_space: spaces.Space, action_space: spaces.Space
    ) -> str | None:
        if not isinstance(action_space, spaces.Discrete):
            return f"dqn needs a Discrete action space, got {action_space}; try td3, ddpg or ppo"
        if not isinstance(observation_space, (spaces.Box, spaces.Discrete)):
            return f"dqn needs a Box or Discrete observation space, got {observation_space}"
        return None

    def __init__(self, observation_space, action_space, config=None, *, num_envs=1, seed=None):
        super().__init__(observation_space, action_space, config, num_envs=num_envs, seed=seed)
        c: DQNConfig = self.config
        images = is_image_space(observation_space)
        self._images = images
        self.device = select_device(c.device)
        background = c.background_training
        if background == "auto":
            background = "on" if images and self.device.type == "cpu" else "off"
        threads = thread_count(c.num_threads, images=images)  # MLPs 1, CNNs the cores (<= 4)
        # With training in the background this (acting) thread keeps one torch thread from the
        # start, so no wider OpenMP pool is ever created on it (see the background set-up).
        configure_threads(1 if background == "on" else threads)
        self.rng = seed_everything(seed)
        self.n_actions = int(action_space.n)
        self._act_start = int(action_space.start)

        self.online = QNetwork(observation_space, self.n_actions, c.net_arch, c.dueling)
        self.online.to(self.device)
        if images and self.device.type == "cpu":
            # oneDNN's convolutions run faster on NHWC weights: the CNN's backward pass took
            # 29 ms instead of 35-47 ms here (batch 32, one thread).
            self.online.to(memory_format=torch.channels_last)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        fused = self.device.type in ("cpu", "cuda")  # one kernel for all parameters
        self.optimizer = torch.optim.Adam(
            self.online.parameters(), lr=c.learning_rate, eps=c.adam_eps, fused=fused
        )
        if images and c.frame_dedup:
            self.buffer: Any = FrameReplayBuffer(
                c.buffer_size, observation_space, action_space, self.device, num_envs=num_envs
            )
        else:
            self.buffer = ReplayBuffer(c.buffer_size, observation_space, action_space, self.device)

        self._executor = None
        if background == "on":
            # OpenMP thread counts are per thread: the gradient steps get `threads` in the
            # worker, acting (a batch of one, no gain from threads) keeps the caller's thread
            # to itself, so the two do not fight over the cores.
            # By default the worker leaves a core to the acting thread: on 2 CPUs, 1 + 1 threads
            # ran BattleZone at 103 steps/s, 2 + 1 at 82.
            train_threads = threads if c.num_threads else max(1, threads - 1)
            torch.get_num_threads()  # fixes this thread's count before the worker sets its own
            self._executor = ThreadPoolExecutor(
                1, "dqn-train", initializer=torch.set_num_threads, initargs=(train_threads,)
            )
        self._job: Future | None = None
        # The network act() uses: the online one, or with background training a copy refreshed
        # after each finished round (so acting never reads weights mid-update).
        self.actor = copy.deepcopy(self.online).requires_grad_(False) if self._executor else None
        self._numpy_q = _numpy_layers(self.actor or self.online, observation_space, self.device)

        self.epsilon_schedule = Linear(
            c.exploration_initial_eps, c.exploration_final_eps, c.exploration_steps
        )
        self.epsilon = c.exploration_initial_eps
        self.steps = 0  # env steps observed (all envs)
        self.vector_steps = 0
        self.n_updates = 0
        self.last_target_update = 0  # env step of the last target update
        self._metric_sums = torch.zeros(2, device=self.device)  # loss, mean Q
        self._metric_count = 0
        self._one_action = [
            _readonly(np.array([a + self._act_start])) for a in range(self.n_actions)
        ]
        self._refill()

    # ------------------------------------------------------------------------------- acting
    def _refill(self) -> None:
        self._uniform: list[float] = self.rng.random(RANDOM_BLOCK).tolist()
        self._random: list[int] = self.rng.integers(0, self.n_actions, RANDOM_BLOCK).tolist()
        self._draw = 0

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        n = len(obs)
        if explore and n == 1:  # the common case, in plain Python
            k = self._draw
            if k == RANDOM_BLOCK:
                self._refill()
                k = 0
            self._draw = k + 1
            if self._uniform[k] < self.epsilon:
                return self._one_action[self._random[k]]
            return self._one_action[int(self.greedy(obs)[0])]
        if not explore:
            return self.greedy(obs) + self._act_start
        random = self.rng.random(n) < self.epsilon
        actions = self.rng.integers(0, self.n_actions, n)
        if not random.all():
            actions = np.where(random, actions, self.greedy(obs))
        return actions + self._act_start

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """argmax_a Q(s, a) for a batch (0-based actions)."""
        if self._numpy_q is not None:  # small MLPs on the CPU: numpy beats torch's overhead
            x = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
            return _numpy_q(self._numpy_q, x).argmax(axis=1)
        net = self.actor or self.online
        with torch.inference_mode():
            q = net(torch.as_tensor(np.asarray(obs), device=self.device))
            return q.argmax(dim=1).cpu().numpy()

    # ----------------------------------------------------------------------------- learning
    def observe(self, t: Transition) -> None:
        if self.config.clip_reward:  # one scale of TD error for all games (Mnih et al. 2015)
            t = t._replace(reward=np.sign(t.reward).astype(np.float32))
        self.buffer.add(t)
        self.steps += len(t.reward)
        self.vector_steps += 1
        self.epsilon = self.epsilon_schedule(self.steps)

    def update(self) -> dict[str, float]:
        c = self.config
        if self.steps < c.learning_starts or self.vector_steps % c.train_freq:
            return {}
        n = c.gradient_steps if c.gradient_steps > 0 else c.train_freq * self.num_envs
        # Batches are drawn here, on the caller's thread, so the buffer is never shared.
        batches = [
            self.buffer.sample_n_step(c.batch_size, self.rng, c.n_steps, c.gamma) for _ in range(n)
        ]
        if self.steps - self.last_target_update >= c.target_update_interval:
            self.wait()  # the target moves towards weights no thread is changing
            polyak_update(self.target, self.online, c.tau)
            self.last_target_update = self.steps
        if self._executor is None:
            for batch in batches:
                self._gradient_step(batch)
            return self._metrics() if self._metric_count >= METRICS_EVERY else {}
        # Pipeline: this thread computes the targets of the next round (the target network
        # changes only here, and double DQN's a* comes from the acting copy, one round behind)
        # while the worker still runs the previous round's gradient steps.
        targets = [self.td_target(b, self._acting_q(b.next_obs)) for b in batches]
        self.wait()  # one round in flight at most: the replay ratio stays exact
        metrics = self._metrics() if self._metric_count >= METRICS_EVERY else {}
        self._job = self._executor.submit(self._train, batches, targets)
        return metrics

    @torch.no_grad()
    def _acting_q(self, obs: torch.Tensor) -> torch.Tensor | None:
        """Q of the acting copy, for double-DQN targets computed beside the worker."""
        return self.actor(obs) if self.config.double_q and self.actor is not None else None

    def wait(self) -> None:
        """Finish the training round in flight (if any) and refresh the acting network."""
        if self._job is None:
            return
        job, self._job = self._job, None
        job.result()  # re-raises an error of the worker here
        assert self.actor is not None
        with torch.no_grad():
            for a, p in zip(self.actor.parameters(), self.online.parameters(), strict=True):
                a.copy_(p)

    def _train(self, batches: list[NStepBatch], targets: list[torch.Tensor]) -> None:
        for batch, target in zip(batches, targets, strict=True):
            self._gradient_step(batch, target)

    @torch.no_grad()
    def td_target(self, b: NStepBatch, online_next_q: torch.Tensor | None = None) -> torch.Tensor:
        """y = R + γ^m·(1 − terminated)·Q_target(s', a*), a* = argmax Q_online(s') (double) or
        argmax Q_target(s'). A truncated window bootstraps: the buffer's ``next_obs`` is the
        true last observation, never a reset one."""
        next_q = self.target(b.next_obs)
        if self.config.double_q:
            if online_next_q is None:
                online_next_q = self.online(b.next_obs)
            next_action = online_next_q.argmax(dim=1, keepdim=True)
            next_value = next_q.gather(1, next_action).squeeze(1)
        else:
            next_value = next_q.max(dim=1).values
        return b.returns + b.discounts * (1.0 - b.terminated) * next_value

    def _gradient_step(self, b: NStepBatch, target: torch.Tensor | None = None) -> None:
        c = self.config
        if target is None and c.double_q and not self._images:
            # An MLP step costs per call, not per row: one forward pass over s and s' together.
            both = self.online(torch.cat((b.obs, b.next_obs)))
            q_all = both[: len(b.obs)]
            target = self.td_target(b, both[len(b.obs) :].detach())
        else:
            q_all = self.online(b.obs)
            if target is None:
                target = self.td_target(b)
        q = q_all.gather(1, b.actions.long().reshape(-1, 1)).squeeze(1)
        if c.loss == "huber":
            loss = nn.functional.smooth_l1_loss(q, target)
        else:
            loss = nn.functional.mse_loss(q, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.online.parameters(), c.max_grad_norm)
        self.optimizer.step()
        self.n_updates += 1
        self._metric_sums += torch.stack((loss.detach(), q.detach().mean()))
        self._metric_count += 1

    def _metrics(self) -> dict[str, float]:
        loss, q = (self._metric_sums / max(self._metric_count, 1)).tolist()
        self._metric_sums.zero_()
        self._metric_count = 0
        return {"loss": loss, "q": q, "epsilon": self.epsilon, "n_updates": self.n_updates}

    # -------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to go on exactly as this one would: networks (the
        acting copy too, which runs one round behind with background training), optimiser,
        counters, the generator and the unused rest of its pre-drawn block, the metrics summed
        so far, and the replay buffer. With ``save_replay_buffer=false`` the buffer is left out
        and a resumed run learns from an empty one: it cannot be exact then."""
        if self._job is not None:
            self._job.result()  # the round in flight finishes; the acting copy's refresh stays due
        state: dict[str, Any] = {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "steps": self.steps,
            "vector_steps": self.vector_steps,
            "n_updates": self.n_updates,
            "last_target_update": self.last_target_update,
            "rng": rng_state(self.rng),
            "random_block": {
                "uniform": np.array(self._uniform),
                "actions": np.array(self._random, dtype=np.int64),
                "draw": self._draw,
            },
            "metric_sums": self._metric_sums.clone(),
            "metric_count": self._metric_count,
        }
        if self.actor is not None:
            state["actor"] = self.actor.state_dict()
            state["actor_refresh_due"] = self._job is not None
        if self.config.save_replay_buffer:
            state["buffer"] = self.buffer.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`. Keys an older checkpoint lacks fall back to what was done
        before: a fresh random block, metrics from zero, the acting copy from ``online``."""
        self.wait()
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        # Saved moments come back contiguous; give them their parameter's memory layout
        # (channels-last convolutions), which the fused Adam kernel assumes.
        for p, slots in self.optimizer.state.items():
            for key, value in slots.items():
                if torch.is_tensor(value) and value.shape == p.shape:
                    slots[key] = torch.empty_like(p).copy_(value)
        if self.actor is not None:
            self.actor.load_state_dict(state.get("actor", state["online"]))
            if state.get("actor_refresh_due"):  # wait() refreshes it after the next round
                self._job = Future()
                self._job.set_result(None)
        self.steps = int(state["steps"])
        self.vector_steps = int(state["vector_steps"])
        self.n_updates = int(state["n_updates"])
        self.last_target_update = int(state["last_target_update"])
        self.epsilon = self.epsilon_schedule(self.steps)
        set_rng_state(self.rng, state["rng"])
        if "random_block" in state:
            block = state["random_block"]
            self._uniform = np.asarray(block["uniform"]).tolist()
            self._random = np.asarray(block["actions"]).tolist()
            self._draw = int(block["draw"])
        else:
            self._refill()
        if "metric_sums" in state:
            self._metric_sums.copy_(state["metric_sums"])
            self._metric_count = int(state["metric_count"])
        if "buffer" in state:
            self.buffer.load_state_dict(state["buffer"])

    def envs_restarted(self) -> None:
        """The run reset its envs instead of restoring them: no n-step window may run on from
        an env's newest stored step into its new episode. (A FrameReplayBuffer sees that by
        itself: the new observation is not the stored one.)"""
        buffer = self.buffer
        if isinstance(buffer, ReplayBuffer) and len(buffer) and buffer.num_envs:
            buffer.cut[(buffer.pos - 1 - np.arange(buffer.num_envs)) % buffer.capacity] = True


def _numpy_layers(
    net: QNetwork, observation_space: spaces.Space, device: torch.device
) -> list[numpy_mlp.Layers] | None:
    """numpy views of the MLP streams of a Q-network on vector observations on the CPU."""
    if device.type != "cpu" or not isinstance(observation_space, spaces.Box):
        return None
    if is_image_space(observation_space):
        return None
    streams = [net.head] if net.value is None else [net.head, net.value]
    return [numpy_mlp.linear_views(s) for s in streams]


def _numpy_q(streams: list[numpy_mlp.Layers], x: np.ndarray) -> np.ndarray:
    if len(streams) == 1:
        return numpy_mlp.forward(streams[0], x)
    advantage, value = (numpy_mlp.forward(s, x) for s in streams)
    return value + advantage - advantage.mean(axis=1, keepdims=True)


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
