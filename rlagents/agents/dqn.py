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
network's first layer). :meth:`DQN.gradient_step` is the update; :meth:`DQN.update` decides when
it runs. On the CPU with images, training is pipelined (:mod:`rlagents.common.background`): a
worker thread runs a round's gradient steps while the runner's thread steps the env, acts, and
computes the next round's Q(s', ·). Acting, double DQN's a* and target updates then use the
trainer's snapshot of the online network, one round behind, so nothing reads weights mid-update
and runs stay deterministic for a seed. Small MLPs on the CPU act through numpy
(:mod:`rlagents.common.numpy_mlp`).

    rlrun --env CartPole-v1 --agent dqn --steps 50000
    rlrun --env ALE/BattleZone-v5 --agent dqn --steps 10000000          # the Atari preset
    rlrun --env ALE/BattleZone-v5 --agent dqn --hyperparams atari100k --steps 100000
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlagents.agent import Agent, Transition
from rlagents.agents.dqn_hyperparams import HYPERPARAMS, DQNConfig
from rlagents.common import numpy_mlp
from rlagents.common.augment import random_shift
from rlagents.common.background import BackgroundTrainer, worker_threads
from rlagents.common.frame_replay import FrameReplayBuffer
from rlagents.common.masks import masked_layout, masked_space_problem, random_legal
from rlagents.common.networks import QNetwork, configure_cnns, is_image_space, polyak_update
from rlagents.common.random_blocks import RandomBlock, one_action_arrays
from rlagents.common.replay import NStepBatch, Replay, ReplayBuffer, warmed_up
from rlagents.common.rng import rng_state, set_rng_state
from rlagents.common.schedules import Linear, to_zero
from rlagents.common.torch_utils import (
    configure_threads,
    load_optimizer_state,
    seeded_torch,
    select_device,
    set_learning_rate,
    thread_count,
)

METRICS_EVERY = 100  # gradient steps between metric reports (reading a tensor syncs the device)


# ------------------------------------------------------------------------------------ network
class NextQ(NamedTuple):
    """Q-values of a batch's next observations s', without gradients."""

    target: torch.Tensor
    """Q_target(s', ·)."""
    online: torch.Tensor | None
    """For double DQN, the Q(s', ·) whose argmax is a*: the online network's, or with background
    training the snapshot's (one round behind); ``None`` without double DQN."""


# -------------------------------------------------------------------------------------- agent
class DQN(Agent[DQNConfig]):
    """DQN for Discrete actions on vector, Discrete or image observations."""

    Config: ClassVar[type] = DQNConfig
    observation_spaces: ClassVar = (spaces.Box, spaces.Discrete, spaces.Dict)  # Dict: masked
    action_spaces: ClassVar = (spaces.Discrete,)
    # The tuned sets: HYPERPARAMS in dqn_hyperparams.py
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = HYPERPARAMS
    # The Nature set's 10M steps and 1M-frame buffer are for a GPU; a CPU gets Atari-100k.
    cpu_alternatives: ClassVar = {"atari": "atari100k"}
    # save_replay_buffer=false leaves the buffer out; a kept agent (kept_state) the rest too.
    optional_state: ClassVar = ("buffer", "target", "optimizer", "actor", "actor_refresh_due")

    @classmethod
    def check_spaces(
        cls, observation_space: spaces.Space, action_space: spaces.Space
    ) -> str | None:
        if not isinstance(action_space, spaces.Discrete):
            return f"dqn needs a Discrete action space, got {action_space}; try td3, ddpg or ppo"
        if isinstance(observation_space, spaces.Dict):
            return masked_space_problem(observation_space, action_space)
        if not isinstance(observation_space, (spaces.Box, spaces.Discrete)):
            return f"dqn needs a Box or Discrete observation space, got {observation_space}"
        return None

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: DQNConfig | Mapping[str, Any] | None = None,
        *,
        num_envs: int = 1,
        seed: int | None = None,
    ) -> None:
        super().__init__(observation_space, action_space, config, num_envs=num_envs, seed=seed)
        assert isinstance(action_space, spaces.Discrete)  # check_spaces made sure
        c = self.config
        self._images = is_image_space(observation_space)
        if c.augmentation != "none" and not self._images:
            raise ValueError(
                f"augmentation={c.augmentation!r} shifts image observations; this env's are "
                f"{observation_space}"
            )
        self.device = select_device(c.device)
        background = c.background_training
        if background == "auto":
            background = "on" if self._images and self.device.type == "cpu" else "off"
        threads = thread_count(c.num_threads, images=self._images)  # MLPs 1, CNNs the cores (<= 4)
        # With training in the background this (acting) thread keeps one torch thread from the
        # start, so no wider OpenMP pool is ever created on it.
        configure_threads(1 if background == "on" else threads)
        self.rng = np.random.default_rng(seed)
        # A masked Dict observation is kept and read as one flat row (common.masks).
        self.layout = masked_layout(observation_space)
        self.n_actions = int(action_space.n)
        self._act_start = int(action_space.start)
        with seeded_torch(seed):
            self._build_networks()
        self.buffer: Replay = self._make_buffer()
        # background_training: a worker thread runs the gradient steps, acting reads a snapshot.
        self.trainer: BackgroundTrainer[QNetwork] | None = None
        if background == "on":
            train_threads = worker_threads(c.num_threads, threads)
            self.trainer = BackgroundTrainer(self.online, train_threads, "dqn-train")
        self.acting_net = self.online if self.trainer is None else self.trainer.snapshot
        self._numpy_q = self._numpy_streams()
        self.epsilon_schedule = Linear(
            c.exploration_initial_eps, c.exploration_final_eps, c.exploration_steps
        )
        self.epsilon = c.exploration_initial_eps
        self.lr_schedule = to_zero(c.lr_schedule, c.learning_rate, c.schedule_steps)
        self.steps = 0  # env steps observed (all envs)
        self.vector_steps = 0
        self.n_updates = 0
        self.last_target_update = 0  # env step of the last target update
        self._metric_sums = torch.zeros(2, device=self.device)  # loss, mean Q
        self._metric_count = 0
        self._one_action = one_action_arrays(self.n_actions, self._act_start)
        self.draws = RandomBlock(self.rng, self.n_actions)  # for act() with one env

    def _build_networks(self) -> None:
        c = self.config
        self.online = QNetwork(self.observation_space, self.n_actions, c.net_arch, c.dueling)
        self.online.to(self.device)
        configure_cnns(self.online, c.cnn_precision, self.device)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        fused = self.device.type in ("cpu", "cuda")  # one kernel for all parameters
        self.optimizer = torch.optim.Adam(
            self.online.parameters(), lr=c.learning_rate, eps=c.adam_eps, fused=fused
        )

    def _shifted(self, batch: NStepBatch) -> NStepBatch:
        """DrQ: obs and next_obs each shifted at random (common.augment.random_shift)."""
        pad = self.config.shift_pad
        return batch._replace(
            obs=random_shift(batch.obs, pad, self.rng),
            next_obs=random_shift(batch.next_obs, pad, self.rng),
        )

    def _make_buffer(self) -> Replay:
        c = self.config
        space, actions, device = self.observation_space, self.action_space, self.device
        if self.layout is not None:
            space = self.layout.flat_space
        if self._images and c.frame_dedup and isinstance(space, spaces.Box):
            return FrameReplayBuffer(c.buffer_size, space, actions, device, num_envs=self.num_envs)
        return ReplayBuffer(c.buffer_size, space, actions, device)

    def _numpy_streams(self) -> list[numpy_mlp.Layers] | None:
        """numpy views of the acting network's MLP streams, for vector observations on the CPU."""
        vector = isinstance(self.observation_space, spaces.Box) and not self._images
        if not vector or self.device.type != "cpu":
            return None
        net = self.acting_net
        streams = [net.head] if net.value is None else [net.head, net.value]
        return [numpy_mlp.linear_views(s) for s in streams]

    # ------------------------------------------------------------------------------- acting
    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        if self.layout is not None:
            return self._act_masked(self.layout.flatten(obs), explore)
        n = len(obs)
        if explore and n == 1:  # the common case, in plain Python
            draws = self.draws
            k = draws.next
            if k == draws.size:
                k = draws.refill()
            draws.next = k + 1
            if draws.uniform[k] < self.epsilon:
                return self._one_action[draws.integers[k]]
            return self._one_action[int(self.greedy(obs)[0])]
        if not explore:
            return self.greedy(obs) + self._act_start
        random = self.rng.random(n) < self.epsilon
        actions = self.rng.integers(0, self.n_actions, n)
        if not random.all():
            actions = np.where(random, actions, self.greedy(obs))
        return actions + self._act_start

    def _act_masked(self, rows: np.ndarray, explore: bool) -> np.ndarray:
        """ε-greedy among the legal actions: a random one is drawn from them alone."""
        actions = self.greedy(rows)
        if explore:
            random = self.rng.random(len(rows)) < self.epsilon
            if random.any():
                assert self.layout is not None
                legal = self.layout.legal(rows)
                actions = np.where(random, random_legal(self.rng, legal), actions)
        return actions + self._act_start

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """argmax_a Q(s, a) for a batch (0-based actions), from the acting network."""
        if self._numpy_q is not None:  # small MLPs on the CPU: numpy beats torch's overhead
            return numpy_mlp.greedy(self._numpy_q, obs)
        with torch.inference_mode():
            q = self.acting_net(torch.as_tensor(np.asarray(obs), device=self.device))
            return q.argmax(dim=1).cpu().numpy()

    # ----------------------------------------------------------------------------- learning
    def observe(self, t: Transition) -> None:
        if self.layout is not None:
            t = self.layout.flat_transition(t)
        if self.config.clip_reward:  # one scale of TD error for all games (Mnih et al. 2015)
            t = t._replace(reward=np.sign(t.reward).astype(np.float32))
        self.buffer.add(t)
        self.steps += len(t.reward)
        self.vector_steps += 1
        self.epsilon = self.epsilon_schedule(self.steps)

    def update(self) -> dict[str, float]:
        """A training round every ``train_freq`` vector steps once ``learning_starts`` env steps
        are in: the target network moves when due, then a :meth:`gradient_step` per batch.

        With background training the gradient steps run in the trainer's worker while the env
        steps on; this thread computes the round's Q(s', ·) first, beside the worker still busy
        with the previous round (the target network changes only here, on this thread)."""
        c = self.config
        warm = warmed_up(self.steps, len(self.buffer), c.learning_starts, c.buffer_size)
        if not warm or self.vector_steps % c.train_freq:
            return {}
        n = c.gradient_steps if c.gradient_steps > 0 else c.train_freq * self.num_envs
        # Batches are drawn here, on the caller's thread, so the buffer is never shared.
        batches = [
            self.buffer.sample_n_step(c.batch_size, self.rng, c.n_steps, c.gamma) for _ in range(n)
        ]
        if c.augmentation == "shift":
            batches = [self._shifted(b) for b in batches]
        if self.steps - self.last_target_update >= c.target_update_interval:
            self.move_target()
            self.last_target_update = self.steps
        lr = self.lr_schedule(self.steps)
        if self.trainer is None:
            set_learning_rate(self.optimizer, lr)
            for batch in batches:
                self.gradient_step(batch)
            return self._report()
        next_q = [self.next_q_values(b.next_obs, self.trainer.snapshot) for b in batches]
        # The worker owns the optimiser during a round: the new rate is set there, in order.
        steps = functools.partial(self._gradient_steps, lr)
        return self.trainer.run_round(steps, batches, next_q, report=self._report)

    def move_target(self) -> None:
        """θ' ← τθ + (1 − τ)θ'. With background training θ is the trainer's snapshot, the
        weights of the last finished round, which no thread is changing: the target moves
        without waiting for the round in flight, so a target updated every step (DrQ's
        ``target_update_interval=1``) keeps the gradient steps beside the env stepping. It then
        lags the online network by one round more than without background training."""
        source = self.online if self.trainer is None else self.trainer.snapshot
        polyak_update(self.target, source, self.config.tau)

    def gradient_step(self, b: NStepBatch, next_q: NextQ | None = None) -> None:
        """DQN's update on a batch of n-step windows: regress Q(s, a) onto the TD target

            y = R + γ^m·(1 − terminated)·Q_target(s', a*),

        a* = argmax_a Q_online(s', a) with double DQN (van Hasselt et al. 2016), else
        argmax_a Q_target(s', a), by one Adam step on the Huber (or MSE) loss. The batch holds
        R, the m ≤ n_steps rewards discounted, and γ^m; a truncated window bootstraps from its
        true last observation s'. ``next_q`` is given when computed ahead (background rounds)."""
        c = self.config
        if next_q is not None:
            q_all = self.online(b.obs)
        elif c.double_q and not self._images:
            # An MLP step costs per call, not per row: Q(s, ·) and Q_online(s', ·) in one pass.
            q_both = self.online(torch.cat((b.obs, b.next_obs)))
            q_all = q_both[: len(b.obs)]
            with torch.no_grad():
                next_q = NextQ(self.target(b.next_obs), q_both[len(b.obs) :].detach())
        else:
            q_all = self.online(b.obs)
            next_q = self.next_q_values(b.next_obs, self.online)
        with torch.no_grad():
            if next_q.online is not None:  # double DQN: the online network picks a*
                a_star = next_q.online.argmax(dim=1, keepdim=True)
                next_value = next_q.target.gather(1, a_star).squeeze(1)
            else:
                next_value = next_q.target.max(dim=1).values
            y = b.returns + b.discounts * (1.0 - b.terminated) * next_value
        q = q_all.gather(1, b.actions.long().reshape(-1, 1)).squeeze(1)
        if c.loss == "huber":
            loss = nn.functional.smooth_l1_loss(q, y)
        else:
            loss = nn.functional.mse_loss(q, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.online.parameters(), c.max_grad_norm)
        self.optimizer.step()
        self.n_updates += 1
        self._metric_sums += torch.stack((loss.detach(), q.detach().mean()))
        self._metric_count += 1

    @torch.no_grad()
    def next_q_values(self, next_obs: torch.Tensor, online: nn.Module) -> NextQ:
        """Q_target(s', ·), and for double DQN ``online``'s Q(s', ·), which picks a*."""
        return NextQ(self.target(next_obs), online(next_obs) if self.config.double_q else None)

    def _gradient_steps(self, lr: float, batches: list[NStepBatch], next_q: list[NextQ]) -> None:
        set_learning_rate(self.optimizer, lr)
        for batch, q in zip(batches, next_q, strict=True):
            self.gradient_step(batch, q)

    def wait(self) -> None:
        """Finish the background training round in flight (if any); the acting network is
        then current."""
        if self.trainer is not None:
            self.trainer.wait()

    def _report(self) -> dict[str, float]:
        """The metrics averaged over the gradient steps since the last report, every
        ``METRICS_EVERY`` steps (``{}`` in between)."""
        if self._metric_count < METRICS_EVERY:
            return {}
        loss, q = (self._metric_sums / max(self._metric_count, 1)).tolist()
        self._metric_sums.zero_()
        self._metric_count = 0
        lr = self.lr_schedule(self.steps)
        return {
            "loss": loss, "q": q, "epsilon": self.epsilon, "learning_rate": lr,
            "n_updates": self.n_updates,
        }  # fmt: skip

    # -------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to go on exactly as this one would: networks (the
        acting snapshot too, which runs one round behind with background training), optimiser,
        counters, the generator and the unused rest of its pre-drawn block, the metrics summed
        so far, and the replay buffer. With ``save_replay_buffer=false`` the buffer is left out
        and a resumed run learns from an empty one: it cannot be exact then."""
        # The round in flight finishes first; the snapshot's refresh stays due.
        trainer = self.trainer.state_dict() if self.trainer is not None else None
        state: dict[str, Any] = {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "steps": self.steps,
            "vector_steps": self.vector_steps,
            "n_updates": self.n_updates,
            "last_target_update": self.last_target_update,
            "rng": rng_state(self.rng),
            "random_block": self.draws.state_dict(),
            "metric_sums": self._metric_sums.clone(),
            "metric_count": self._metric_count,
        }
        if trainer is not None:
            state["actor"], state["actor_refresh_due"] = trainer["snapshot"], trainer["refresh_due"]
        if self.config.save_replay_buffer:
            state["buffer"] = self.buffer.state_dict()
        return state

    @classmethod
    def kept_state(cls, state: Mapping[str, Any]) -> dict[str, Any]:
        """One network, the one acting used (the snapshot, which may run a round behind
        ``online``), as ``online``; no target network, optimiser or replay buffer: a third of
        the checkpoint without its buffer. Loaded, it acts as the saved agent did; fine-tuning
        starts from a target copied from it and a fresh optimiser."""
        kept = super().kept_state(state)
        kept["online"] = state.get("actor", state["online"])
        return kept

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` or a :meth:`kept_state`. Keys an older checkpoint lacks fall
        back to what was done before: a fresh random block, metrics from zero, the acting
        snapshot from ``online``; a kept agent's target is copied from ``online`` and its
        optimiser starts afresh."""
        self.wait()
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state.get("target", state["online"]))
        if "optimizer" in state:
            load_optimizer_state(self.optimizer, state["optimizer"])
        if self.trainer is not None:
            self.trainer.load_state_dict(
                {
                    "snapshot": state.get("actor", state["online"]),
                    "refresh_due": bool(state.get("actor_refresh_due", False)),
                }
            )
        self.steps = int(state["steps"])
        self.vector_steps = int(state["vector_steps"])
        self.n_updates = int(state["n_updates"])
        self.last_target_update = int(state["last_target_update"])
        self.epsilon = self.epsilon_schedule(self.steps)
        set_rng_state(self.rng, state["rng"])
        self.draws.load_state_dict(state.get("random_block"))
        if "metric_sums" in state:
            self._metric_sums.copy_(state["metric_sums"])
            self._metric_count = int(state["metric_count"])
        if "buffer" in state:
            self.buffer.load_state_dict(state["buffer"])

    def envs_restarted(self) -> None:
        """The run reset its envs instead of restoring them: no n-step window may run on from
        an env's newest stored step into its new episode. (A FrameReplayBuffer sees that by
        itself: the new observation is not the stored one.)"""
        if isinstance(self.buffer, ReplayBuffer):
            self.buffer.end_open_episodes()
