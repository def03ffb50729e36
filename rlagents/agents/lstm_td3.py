"""LSTM-TD3: TD3 with a memory, for tasks where one observation is not the state (Meng, Gorbet and
Kulić 2021, "Memory-based Deep Reinforcement Learning for POMDPs", arXiv:2102.12344).

Without velocities (``--preset remove_velocity``), with flickering or noisy sensors, the current
observation ``o_t`` does not tell the state, and TD3's ``μ(o_t)`` and ``Q(o_t, a_t)`` cannot
tell apart situations that need different actions. LSTM-TD3 gives the actor and each of the
twin critics a **memory branch** that reads the last ``history_length`` steps of the episode
(observations and, with ``history_with_actions``, the actions taken) through a linear layer and an
LSTM, and takes the LSTM's output at the last valid step of that window::

    m_t = LSTM(ReLU(W · [o_{t−l}, a_{t−l}] … [o_{t−1}, a_{t−1}]))[last]     (zeros if l = 0)
    μ(o_t, m_t^μ) = tanh(MLP([o_t, m_t^μ]))        Q_i(o_t, a_t, m_t^Qi) = MLP_i([o_t, m_t^Qi, a_t])

The current observation enters the MLPs next to the memory (the paper's current-feature branch
is the MLP's first layer here). Everything else is TD3's (:mod:`rlagents.agents.td3`): twin
critics with clipped double Q, target-policy smoothing and delayed actor updates; the target
``y = r + γ(1 − terminated)·min_i Q'_i(o_{t+1}, a', m_{t+1})`` reads the window shifted by one
step, which ends with ``(o_t, a_t)``.

**Windows never cross an episode start.** The replay buffer keeps each env's steps
``num_envs`` slots apart and marks where an episode ended; :func:`history_windows` cuts every
sampled window there (and where the stored data begins), so the window of an episode's first
step is empty. ``history_length=0`` is TD3 exactly: no memory branch, the same networks.

**How acting carries the past.** This is the one agent here whose ``act`` depends on earlier
steps, and the runner's contract carries that without new calls in training: ``observe`` hands
over each step's observation and action, which the agent appends to the window of its env, and
its ``terminated``/``truncated`` say where an episode ended, which empties that env's window (the
next observation starts a new episode). Greedy acting (``act(explore=False)``, the evaluations
on their separate env) keeps a window of its own, filled by ``act`` itself, so an evaluation in
the middle of training episodes leaves their memory untouched; :meth:`Agent.begin_episodes`,
which ``rlagents.evaluate`` calls before each evaluation episode, empties it. Checkpoints keep
the training windows, so a resumed run acts as the uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlagents.agent import Transition
from rlagents.agents.ddpg_td3_hyperparams import LSTM_TD3_HYPERPARAMS
from rlagents.agents.td3 import TD3, TD3Config
from rlagents.common.flat_params import FlatAdam, flatten_parameters
from rlagents.common.networks import ParallelMLP, mlp, polyak_update
from rlagents.common.replay import ReplayBuffer
from rlagents.config import AT_LEAST_ONE, NON_NEGATIVE


@dataclass
class LSTMTD3Config(TD3Config):
    """Hyper-parameters of LSTM-TD3: TD3's plus the memory's (defaults after the paper)."""

    history_length: int = 5
    """Past steps the memory reads (0: no memory, TD3 exactly)."""
    history_with_actions: bool = True
    """The memory reads the past actions too, not only the past observations."""
    memory_units: int = 128
    """Width of the memory's linear layer and of its LSTM."""
    net_arch: tuple[int, ...] = (128, 128)
    """Hidden widths of the MLP of the actor and of each critic, after the memory."""
    batch_size: int = 100
    """Transitions (each with its window) per gradient step."""

    # Ranges of its own fields (TD3's and config.RANGE_RULES rule the others)
    range_rules: ClassVar = {"history_length": NON_NEGATIVE, "memory_units": AT_LEAST_ONE}


# ------------------------------------------------------------------------------------- windows
class Windows(NamedTuple):
    """Left-aligned windows of past steps: ``steps`` (B, H, d) with zeros after the first
    ``lengths`` (B,) rows of each window."""

    steps: torch.Tensor
    lengths: torch.Tensor


class HistoryBatch(NamedTuple):
    """A replay sample with the window before ``obs`` and the window before ``next_obs``."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor
    history: Windows
    next_history: Windows


def history_windows(
    buffer: ReplayBuffer, idx: np.ndarray, length: int, with_actions: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The windows of the samples at slots ``idx``: the up to ``length`` steps of the same env
    before each sampled step (cut where its episode began and where the stored data begins),
    and the windows shifted by one step (ending with the sampled step itself) for the target.

    Returns ``(steps, lengths, next_steps, next_lengths)``, each window left-aligned (oldest
    step first, zeros after its ``lengths`` valid rows), a step being its observation and, with
    ``with_actions``, its action. One env's steps are ``num_envs`` slots apart.
    """
    stride = max(buffer.num_envs, 1)
    oldest = (buffer.pos - buffer.size) % buffer.capacity
    stored_before = ((idx - oldest) % buffer.capacity) // stride  # this env's earlier steps
    back = np.arange(1, length + 1)  # k steps before the sample
    slots = (idx[:, None] - back[None, :] * stride) % buffer.capacity  # (B, H): t−1, t−2, …
    # t−k is in the sample's episode if it is stored and no step from t−k to t−1 ended one
    valid = back[None, :] <= stored_before[:, None]
    valid &= np.logical_and.accumulate(~buffer.cut[slots], axis=1)
    lengths = valid.sum(axis=1)

    obs_width = int(np.prod(buffer.obs.shape[1:]))
    act_width = int(np.prod(buffer.actions.shape[1:]))

    def window(last: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Left-aligned windows of ``n`` steps ending at slots ``last``."""
        position = np.arange(length)
        steps_back = n[:, None] - 1 - position[None, :]
        at = (last[:, None] - np.maximum(steps_back, 0) * stride) % buffer.capacity
        rows = [buffer.obs[at].reshape(len(idx), length, obs_width)]
        if with_actions:
            rows.append(buffer.actions[at].reshape(len(idx), length, act_width))
        out = np.concatenate(rows, axis=2).astype(np.float32, copy=False)
        out[steps_back < 0] = 0.0
        return out

    previous = (idx - stride) % buffer.capacity
    steps = window(previous, lengths)
    next_lengths = np.minimum(lengths, length - 1) + 1  # the sampled step joins the window
    next_steps = window(idx, next_lengths)
    return steps, lengths, next_steps, next_lengths


class EnvWindows:
    """The window of each env while acting: the last ``length`` steps of its current episode,
    left-aligned, appended to after each step and emptied where an episode ended."""

    def __init__(self, num_envs: int, length: int, width: int) -> None:
        self.steps = np.zeros((num_envs, length, width), np.float32)
        self.lengths = np.zeros(num_envs, np.int64)

    def push(self, step: np.ndarray) -> None:
        """Append one step (num_envs, width) to every env's window, dropping the oldest of the
        full ones."""
        length = self.steps.shape[1]
        full = self.lengths == length
        if full.any():
            self.steps[full, :-1] = self.steps[full, 1:]
        at = np.minimum(self.lengths, length - 1)
        self.steps[np.arange(len(at)), at] = step
        self.lengths = np.minimum(self.lengths + 1, length)

    def clear(self, mask: np.ndarray | None = None) -> None:
        rows = slice(None) if mask is None else np.asarray(mask, bool)
        self.steps[rows] = 0.0
        self.lengths[rows] = 0

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"steps": self.steps.copy(), "lengths": self.lengths.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`; lengths outside 0..history_length (a crafted or corrupt
        checkpoint) are refused, not left to fail as an index error mid-run."""
        lengths = np.asarray(state["lengths"])
        if lengths.shape != self.lengths.shape or not np.all(
            (lengths >= 0) & (lengths <= self.steps.shape[1])
        ):
            raise ValueError(
                f"window lengths must be {len(self.lengths)} values in 0..{self.steps.shape[1]}, "
                f"got {lengths.tolist()}"
            )
        self.steps[...] = state["steps"]
        self.lengths[...] = lengths


# ------------------------------------------------------------------------------------- networks
class Memory(nn.Module):
    """A window of past steps → Linear + ReLU → LSTM → the output at the window's last valid
    step (zeros for an empty window)."""

    def __init__(self, step_dim: int, units: int) -> None:
        super().__init__()
        self.pre = nn.Linear(step_dim, units)
        self.lstm = nn.LSTM(units, units, batch_first=True)

    def forward(self, windows: Windows) -> torch.Tensor:
        out, _ = self.lstm(torch.relu(self.pre(windows.steps)))  # (B, H, units)
        last = (windows.lengths - 1).clamp(min=0)
        picked = out[torch.arange(len(last), device=out.device), last]
        # An LSTM is causal: the zeros after a window's valid steps do not reach its output there
        return picked * (windows.lengths > 0).unsqueeze(1).to(picked.dtype)


class RecurrentActorCritic(nn.Module):
    """A deterministic actor μ(o, m^μ) and ``n_critics`` critics Q_i(o, a, m^Qi), each with a
    memory of its own; without memory (``history_length=0``) TD3's networks, parameter for
    parameter."""

    def __init__(self, obs_dim: int, act_dim: int, config: LSTMTD3Config, n_critics: int) -> None:
        super().__init__()
        memory = config.memory_units if config.history_length else 0
        step_dim = obs_dim + (act_dim if config.history_with_actions else 0)
        self.actor = mlp(obs_dim + memory, act_dim, config.net_arch, output_activation=nn.Tanh)
        self.critic = ParallelMLP(
            obs_dim + memory + act_dim, config.net_arch, n_critics, scalar_head=True
        )
        self.actor_memory: Memory | None = None
        self.critic_memories = nn.ModuleList()
        if memory:
            self.actor_memory = Memory(step_dim, memory)
            self.critic_memories.extend(Memory(step_dim, memory) for _ in range(n_critics))

    def mu(self, obs: torch.Tensor, history: Windows) -> torch.Tensor:
        """μ(o_t, m_t) in [-1, 1]^k."""
        if self.actor_memory is None:
            return self.actor(obs)
        return self.actor(torch.cat((obs, self.actor_memory(history)), dim=1))

    def critic_memory(self, history: Windows, n: int = 0) -> list[torch.Tensor]:
        """The memories of the first ``n`` critics (all when 0): what Q reads of the past."""
        return [memory(history) for memory in self.critic_memories[: n or None]]

    def q(
        self, obs: torch.Tensor, actions: torch.Tensor, memories: list[torch.Tensor], n: int = 0
    ) -> torch.Tensor:
        """Q_i(o, a, m_i) of the first ``n`` critics (all when 0), shape (n, batch)."""
        if not memories:
            return self.critic(torch.cat((obs, actions), dim=1), n)
        inputs = torch.stack([torch.cat((obs, m, actions), dim=1) for m in memories])
        return self.critic(inputs, n)

    def parameter_groups(self) -> list[list[nn.Parameter]]:
        """The actor's parameters (its memory's included), then the critics': an optimiser
        each."""
        actor = [*self.actor.parameters()]
        if self.actor_memory is not None:
            actor += [*self.actor_memory.parameters()]
        return [actor, [*self.critic.parameters(), *self.critic_memories.parameters()]]


# ---------------------------------------------------------------------------------------- agent
class LSTMTD3(TD3):
    """TD3 with an LSTM memory of the episode's last steps, for partially observed control."""

    Config: ClassVar[type] = LSTMTD3Config
    config: LSTMTD3Config
    online: RecurrentActorCritic  # type: ignore[assignment]
    target: RecurrentActorCritic  # type: ignore[assignment]
    buffer: ReplayBuffer  # windows need the plain buffer: one slot per step
    observation_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (spaces.Box,)
    # The tuned sets: LSTM_TD3_HYPERPARAMS in ddpg_td3_hyperparams.py
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = LSTM_TD3_HYPERPARAMS

    @classmethod
    def check_spaces(
        cls, observation_space: spaces.Space, action_space: spaces.Space
    ) -> str | None:
        bounded = isinstance(action_space, spaces.Box) and action_space.is_bounded("both")
        if not bounded or len(action_space.shape or ()) != 1:
            return (
                "lstm_td3 needs a 1-D Box (continuous) action space with finite bounds, got "
                f"{action_space}; try dqn or ppo for discrete actions"
            )
        if not isinstance(observation_space, spaces.Box) or observation_space.dtype == np.uint8:
            return f"lstm_td3 reads vector observations (a float Box), got {observation_space}"
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
        self.step_dim = self.obs_dim + (self.act_dim if c.history_with_actions else 0)
        self.windows = EnvWindows(num_envs, c.history_length, self.step_dim)  # training
        self.greedy_windows = EnvWindows(1, c.history_length, self.step_dim)  # act(explore=False)

    def _build_networks(self) -> None:
        """Online networks with an optimiser each, their target copies; no numpy actor (the
        LSTM runs in torch)."""
        c = self.config
        self.obs_dim = int(np.prod(self.observation_space.shape or ()))
        self.online = RecurrentActorCritic(self.obs_dim, self.act_dim, c, self.n_critics)
        self.online.to(self.device)
        self.target = RecurrentActorCritic(self.obs_dim, self.act_dim, c, self.n_critics)
        self.target.load_state_dict(self.online.state_dict())
        self.target.to(self.device).requires_grad_(False)
        self.actor_opt, self.critic_opt = (
            FlatAdam(group, c.learning_rate) for group in self.online.parameter_groups()
        )
        self.online_flat = [self.actor_opt.flat, self.critic_opt.flat]
        self.target_flat = [
            flatten_parameters(group, with_grad=False) for group in self.target.parameter_groups()
        ]
        self._numpy_actor = None

    def _make_buffer(self) -> ReplayBuffer:
        c = self.config
        return ReplayBuffer(c.buffer_size, self.observation_space, self.action_space, self.device)

    # ------------------------------------------------------------------------------- acting
    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """TD3's acting, μ reading the window of each env's episode; a greedy step is appended
        to the greedy windows here (training steps reach theirs through :meth:`observe`)."""
        if not explore and len(self.greedy_windows.lengths) != len(obs):  # other episodes
            self.greedy_windows = EnvWindows(len(obs), self.config.history_length, self.step_dim)
        action = super().act(obs, explore=explore)
        if not explore and self.config.history_length:
            self.greedy_windows.push(self._step_rows(obs, self.unit_actions(action)))
        return action

    def _policy(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        """μ(o_t, m_t) in [-1, 1], reading the training windows or the greedy ones."""
        windows = self.windows if explore else self.greedy_windows
        with torch.inference_mode():
            obs_t = torch.as_tensor(np.asarray(obs, np.float32).reshape(len(obs), -1))
            history = Windows(torch.as_tensor(windows.steps), torch.as_tensor(windows.lengths))
            return self.online.mu(obs_t.to(self.device), _to(history, self.device)).cpu().numpy()

    def _step_rows(self, obs: np.ndarray, scaled_actions: np.ndarray) -> np.ndarray:
        """What a window keeps of one step: the observation and, if configured, the action (in
        the actor's [-1, 1] units, as the replay buffer keeps it)."""
        rows = [np.asarray(obs, np.float32).reshape(len(obs), -1)]
        if self.config.history_with_actions:
            rows.append(np.asarray(scaled_actions, np.float32).reshape(len(obs), -1))
        return np.concatenate(rows, axis=1)

    def observe(self, t: Transition) -> None:
        super().observe(t)
        if self.config.history_length:
            self.windows.push(self._step_rows(t.obs, self.unit_actions(t.action)))
            self.windows.clear(np.logical_or(t.terminated, t.truncated))

    def begin_episodes(self, mask: np.ndarray | None = None) -> None:
        if mask is None or len(mask) == len(self.greedy_windows.lengths):
            self.greedy_windows.clear(mask)

    def envs_restarted(self) -> None:
        """The run reset its envs: every window starts empty, and no sampled window may run
        from the old episodes' newest steps into the new ones."""
        self.windows.clear()
        self.buffer.end_open_episodes()

    # ----------------------------------------------------------------------------- learning
    def sample(self) -> HistoryBatch:  # type: ignore[override]
        """A minibatch with each sample's window and the window shifted by one step."""
        c, buffer = self.config, self.buffer
        idx = self.rng.integers(0, len(buffer), size=c.batch_size)
        batch = buffer.batch_at(idx)
        steps, lengths, next_steps, next_lengths = history_windows(
            buffer, idx, c.history_length, c.history_with_actions
        )

        def windows(s: np.ndarray, n: np.ndarray) -> Windows:
            return Windows(
                torch.as_tensor(s, device=self.device), torch.as_tensor(n, device=self.device)
            )

        flat = (len(idx), -1)
        return HistoryBatch(
            batch.obs.reshape(flat).float(),
            batch.actions,
            batch.rewards,
            batch.next_obs.reshape(flat).float(),
            batch.terminated,
            windows(steps, lengths),
            windows(next_steps, next_lengths),
        )

    def train_step(self, batch: HistoryBatch) -> None:  # type: ignore[override]
        """One gradient step: the twin critics; every ``policy_delay``-th step also the actor,
        then the targets."""
        # Critics: regress every Q_i(o, a, m_i) onto the same target y (the sum of their MSEs).
        y = self.td_target(batch)
        memories = self.online.critic_memory(batch.history)
        q = self.online.q(batch.obs, batch.actions, memories)
        critic_loss = (q - y).square().mean(dim=1).sum()
        self.critic_opt.step(critic_loss)
        self.n_updates += 1
        self._metric_sums[0] += critic_loss.detach()
        self._metric_sums[2] += q.detach()[0].mean()
        self._metric_counts[0] += 1
        if self.n_updates % self.policy_delay:
            return
        # Actor: maximise Q_1(o, μ(o, m^μ), m^Q1); the critic's memory does not depend on the
        # actor, so it is read without a graph.
        with torch.no_grad():
            critic_memory = self.online.critic_memory(batch.history, n=1)
        actions = self.online.mu(batch.obs, batch.history)
        actor_loss = -self.online.q(batch.obs, actions, critic_memory, n=1).mean()
        self.actor_opt.step(actor_loss, only_these=True)
        self._metric_sums[1] += actor_loss.detach()
        self._metric_counts[1] += 1
        polyak_update(self.target_flat, self.online_flat, self.config.tau)

    @torch.no_grad()
    def td_target(self, batch: HistoryBatch) -> torch.Tensor:  # type: ignore[override]
        """y = r + γ(1 − terminated)·min_i Q'_i(o', a', m'_i), with a' = μ'(o', m'^μ) smoothed
        and every memory reading the window shifted by one step (which ends with o_t, a_t)."""
        next_actions = self.target_actions(self.target.mu(batch.next_obs, batch.next_history))
        memories = self.target.critic_memory(batch.next_history)
        next_q = self.target.q(batch.next_obs, next_actions, memories).amin(dim=0)
        return batch.rewards + self.config.gamma * (1.0 - batch.terminated) * next_q

    # ------------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """TD3's state and every env's window of the episode in progress."""
        return {**super().state_dict(), "windows": self.windows.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.windows.load_state_dict(state["windows"])


def _to(windows: Windows, device: torch.device) -> Windows:
    return Windows(windows.steps.to(device), windows.lengths.to(device))
