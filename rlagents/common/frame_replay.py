"""Replay for frame-stacked image observations that stores each frame once.

An Atari observation is a stack of the last C = 4 frames, (4, 84, 84) uint8, and each step's
stack is the previous one shifted by one new frame. A buffer of (obs, next_obs) pairs stores
every frame 8 times: 56 GB for the 1M transitions of the DQN paper. This one keeps, per env, a
ring of single 84×84 frames (7 KB each, about 7.1 GB for 1M transitions) and rebuilds the stacks
when it samples.

Layout, per env: a ring of *slots*, each holding one frame. A step writes one slot: the newest
frame of ``next_obs`` with the step's action, reward and flags; its ``obs`` is the C slots
before it and its ``next_obs`` the C slots ending with it. An episode starts with C *prefix*
slots holding the C frames of its first observation, whatever they are (copies of the reset
frame, zeros, no-op frames), so a stack never reaches outside its own episode and no padding
rule is assumed. A step whose stack would reach slots already overwritten by the ring is never
sampled; windows of n-step returns stop at the end of an episode, at a discontinuity, and at
the newest data.

The stack is checked, not assumed: each step must satisfy ``next_obs[:-1] == obs[1:]``, and a
step whose ``obs`` is not the previous ``next_obs`` of the same env (a resumed run restarting
its envs) starts a new episode. Observations that are not frame stacks raise a clear error
(use :class:`rlagents.common.replay.ReplayBuffer` for them). Whether a run stores frames once is
decided by the observation space and a config field rather than detected per step, and this
check turns a wrong decision into an error instead of wrong data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from rlagents.agent import Transition
from rlagents.common.memory import array_bytes, check_allocation
from rlagents.common.replay import NStepBatch, ReplayBatch, n_step_window, storage_shape_dtype

_STATE_ARRAYS = ("frames", "actions", "rewards", "terminated", "cut", "is_step")


class FrameReplayBuffer:
    """Uniform replay of frame-stacked observations, each frame stored once (see module doc).

    Same interface as :class:`~rlagents.common.replay.ReplayBuffer`: ``add``, ``sample``,
    ``sample_n_step``, ``state_dict``, ``load_state_dict``. ``capacity`` counts slots (steps
    plus C prefix slots per episode), split evenly between the ``num_envs`` envs.
    """

    def __init__(
        self,
        capacity: int,
        observation_space: spaces.Box,
        action_space: spaces.Space,
        device: torch.device | str = "cpu",
        *,
        num_envs: int = 1,
    ) -> None:
        shape = tuple(observation_space.shape)
        if not isinstance(observation_space, spaces.Box) or len(shape) < 2:
            raise ValueError(
                "FrameReplayBuffer needs a Box observation of stacked frames (C, H, W, ...), "
                f"got {observation_space}"
            )
        self.stack = shape[0]
        self.num_envs = int(num_envs)
        self.ring = -(-int(capacity) // self.num_envs)  # slots per env
        if self.ring <= 2 * self.stack:
            raise ValueError(
                f"FrameReplayBuffer capacity {capacity} is too small for {num_envs} envs "
                f"of {self.stack}-frame stacks"
            )
        self.capacity = self.ring * self.num_envs
        self.device = torch.device(device)
        act_shape, act_dtype = storage_shape_dtype(action_space)
        e, n = self.num_envs, self.ring
        # What the arrays below take, refused before numpy tries if the machine cannot hold it:
        # per slot a frame, an action, a float32 reward and three bool flags; per env two int64
        # counters, the last stack and a bool.
        frame_bytes = array_bytes(shape[1:], observation_space.dtype)
        per_slot = frame_bytes + array_bytes(act_shape, act_dtype) + 7
        total = e * n * per_slot + e * (17 + self.stack * frame_bytes)
        check_allocation(total, "the replay buffer", "buffer_size", count=self.capacity)
        self.frames = np.zeros((e, n, *shape[1:]), dtype=observation_space.dtype)
        self.actions = np.zeros((e, n, *act_shape), dtype=act_dtype)
        self.rewards = np.zeros((e, n), dtype=np.float32)
        self.terminated = np.zeros((e, n), dtype=bool)
        self.cut = np.zeros((e, n), dtype=bool)  # an n-step window stops after this slot
        self.is_step = np.zeros((e, n), dtype=bool)  # False: a prefix slot, never sampled
        self.pos = np.zeros(e, dtype=np.int64)  # next slot to write, per env
        self.written = np.zeros(e, dtype=np.int64)  # slots written, per env (up to the ring)
        self.steps = 0  # steps added (transitions), for len()
        # The last next_obs of each env whose episode goes on: the next obs must equal it.
        self._last_next = np.zeros((e, *shape), dtype=observation_space.dtype)
        self._open = np.zeros(e, dtype=bool)

    def __len__(self) -> int:
        return min(self.steps, self.capacity)

    @property
    def nbytes(self) -> int:
        """Bytes of storage (the frames dominate: H·W bytes per slot)."""
        return sum(getattr(self, k).nbytes for k in _STATE_ARRAYS) + self._last_next.nbytes

    # ------------------------------------------------------------------------------ adding
    def add(self, t: Transition) -> None:
        if len(t.reward) != self.num_envs:
            raise ValueError(
                f"FrameReplayBuffer was made for {self.num_envs} envs, got {len(t.reward)}"
            )
        for e in range(self.num_envs):
            obs, next_obs = t.obs[e], t.next_obs[e]
            if not (self._open[e] and np.array_equal(obs, self._last_next[e])):
                if self._open[e]:  # not a continuation: the previous step ends its window
                    self.cut[e, (self.pos[e] - 1) % self.ring] = True
                for frame in obs:  # a new episode: its first stack, whatever its padding
                    self._write(e, frame, is_step=False)
            if not np.array_equal(next_obs[:-1], obs[1:]):
                raise ValueError(
                    "FrameReplayBuffer got observations that are not frame stacks "
                    "(next_obs[:-1] != obs[1:]); for other image observations use the plain "
                    "replay buffer (dqn: frame_dedup=false)"
                )
            terminated, truncated = bool(t.terminated[e]), bool(t.truncated[e])
            slot = self._write(e, next_obs[-1], is_step=True)
            self.actions[e, slot] = t.action[e]
            self.rewards[e, slot] = t.reward[e]
            self.terminated[e, slot] = terminated
            self.cut[e, slot] = terminated or truncated
            self._open[e] = not (terminated or truncated)
            if self._open[e]:
                self._last_next[e] = next_obs
            self.steps += 1

    def _write(self, e: int, frame: np.ndarray, *, is_step: bool) -> int:
        slot = int(self.pos[e])
        self.frames[e, slot] = frame
        self.is_step[e, slot] = is_step
        if not is_step:
            self.terminated[e, slot] = False
            self.cut[e, slot] = False
        self.pos[e] = (slot + 1) % self.ring
        self.written[e] = min(self.written[e] + 1, self.ring)
        return slot

    # ---------------------------------------------------------------------------- sampling
    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplayBatch:
        b = self.sample_n_step(batch_size, rng, 1, 1.0)
        return ReplayBatch(b.obs, b.actions, b.returns, b.next_obs, b.terminated)

    def sample_n_step(
        self, batch_size: int, rng: np.random.Generator, n_step: int, gamma: float
    ) -> NStepBatch:
        """Uniform n-step samples (see :mod:`rlagents.common.replay`)."""
        envs, slots, ages = self._sample_slots(batch_size, rng)
        offsets = np.arange(n_step)
        window = (slots[:, None] + offsets) % self.ring
        exists = offsets <= ages[:, None]
        flat = envs[:, None] * self.ring + window  # index into the (envs × ring) arrays
        last, returns, discounts = n_step_window(
            flat, exists, self.rewards.reshape(-1), self.cut.reshape(-1), gamma
        )
        last_slot = last % self.ring
        back = np.arange(-self.stack, 0)
        obs = self.frames[envs[:, None], (slots[:, None] + back) % self.ring]
        next_obs = self.frames[envs[:, None], (last_slot[:, None] + back + 1) % self.ring]

        def to(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(x, device=self.device)

        return NStepBatch(
            to(obs),
            to(self.actions[envs, slots]),
            to(returns),
            to(next_obs),
            to(self.terminated.reshape(-1)[last].astype(np.float32)),
            to(discounts),
        )

    def _sample_slots(
        self, batch_size: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Uniform (env, slot, age) among steps whose stacks are intact; prefix slots are
        rejected and drawn again (a few per episode, so rarely)."""
        # A step's obs reaches `stack` slots back: the `stack` oldest slots may have lost theirs.
        usable = np.maximum(self.written - self.stack, 0)
        total = int(usable.sum())
        if total == 0 or not self.is_step.any():
            raise ValueError("FrameReplayBuffer.sample: the buffer holds no complete step yet")
        bounds = np.cumsum(usable)
        chosen: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        need = batch_size
        for _ in range(1000):
            draw = rng.integers(0, total, size=need + need // 4 + 8)
            envs = np.searchsorted(bounds, draw, side="right")
            ages = draw - (bounds[envs] - usable[envs])
            slots = (self.pos[envs] - 1 - ages) % self.ring
            keep = self.is_step[envs, slots]
            chosen.append((envs[keep][:need], slots[keep][:need], ages[keep][:need]))
            need -= min(need, int(keep.sum()))
            if need == 0:
                break
        else:
            raise ValueError("FrameReplayBuffer.sample: too few steps among the stored slots")
        envs, slots, ages = (np.concatenate(parts) for parts in zip(*chosen, strict=True))
        return envs, slots, ages

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The rings, and each env's last ``next_obs``: loaded, the buffer continues an env's
        episode if the next observation is that one (envs restored on resume) and starts a new
        one otherwise (envs reset)."""
        n = int(self.written.max())  # the rings are filled from slot 0 until they wrap
        state: dict[str, Any] = {k: getattr(self, k)[:, :n] for k in _STATE_ARRAYS}
        state.update(
            pos=self.pos.copy(),
            written=self.written.copy(),
            steps=self.steps,
            ring=self.ring,
            last_next=self._last_next.copy(),
            open=self._open.copy(),
        )
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["ring"]) != self.ring or len(state["pos"]) != self.num_envs:
            raise ValueError(
                f"saved frame buffer has {len(state['pos'])} envs × {state['ring']} slots, "
                f"this one {self.num_envs} × {self.ring}"
            )
        n = np.asarray(state["frames"]).shape[1]
        for key in _STATE_ARRAYS:
            getattr(self, key)[:, :n] = state[key]
        self.pos[:] = state["pos"]
        self.written[:] = state["written"]
        self.steps = int(state["steps"])
        if "open" in state:
            self._last_next[:] = state["last_next"]
            self._open[:] = state["open"]
            return
        # An older checkpoint came with a run that reset its envs on resume: every env starts
        # a new episode at its next add().
        for e in range(self.num_envs):
            if self.written[e]:
                self.cut[e, (self.pos[e] - 1) % self.ring] = True
        self._open[:] = False
