"""Replay buffers: frame dedup gives back exactly the stacks that went in; n-step windows stop
at terminations (no bootstrap), bootstrap at truncations and at the newest data."""

import numpy as np
import pytest
from gymnasium import spaces

from rlagents import checkpoint as ckpt
from rlagents.agent import Transition
from rlagents.common.frame_replay import FrameReplayBuffer
from rlagents.common.replay import ReplayBuffer

C, H, W = 4, 3, 5
IMAGE = spaces.Box(0, 255, (C, H, W), np.uint8)
IDS = spaces.Discrete(10**6)  # the action of each step is its unique id


class StackedEpisodes:
    """``num_envs`` synthetic envs of random frames, stacked C deep like the Atari preset.

    ``padding``: "reset" (copies of the first frame, as wrappers.atari), "zero" (ale-py's
    vector env) or "distinct" (a stack of different frames, e.g. no-op starts).
    Every step has a unique id (its action and reward) and is recorded in ``steps[id]``.
    """

    def __init__(self, num_envs, seed=0, padding="reset", max_len=12, vector=False):
        self.rng = np.random.default_rng(seed)
        self.num_envs, self.padding, self.max_len, self.vector = num_envs, padding, max_len, vector
        self.steps = {}  # id -> (env, obs, next_obs, terminated, truncated)
        self.order = [[] for _ in range(num_envs)]  # ids per env, in order
        self.next_id = 0
        self.obs = np.stack([self._first() for _ in range(num_envs)])
        self.left = self.rng.integers(1, max_len, num_envs)

    def _frame(self):
        return self.rng.integers(0, 256, (H, W), dtype=np.uint8)

    def _first(self):
        if self.vector:
            return self.rng.normal(size=3).astype(np.float32)
        f = self._frame()
        if self.padding == "reset":
            return np.stack([f] * C)
        if self.padding == "zero":
            return np.stack([np.zeros_like(f)] * (C - 1) + [f])
        return np.stack([self._frame() for _ in range(C)])

    def step(self):
        n = self.num_envs
        ids = np.arange(self.next_id, self.next_id + n)
        self.next_id += n
        if self.vector:
            next_obs = self.rng.normal(size=(n, 3)).astype(np.float32)
        else:
            new = np.stack([self._frame() for _ in range(n)])
            next_obs = np.concatenate([self.obs[:, 1:], new[:, None]], axis=1)
        self.left -= 1
        done = self.left <= 0
        terminated = done & (self.rng.random(n) < 0.5)
        truncated = done & ~terminated
        t = Transition(
            self.obs.copy(), ids, ids.astype(np.float32), next_obs, terminated, truncated
        )
        for e in range(n):
            self.steps[int(ids[e])] = (
                e,
                self.obs[e].copy(),
                next_obs[e],
                terminated[e],
                truncated[e],
            )
            self.order[e].append(int(ids[e]))
        self.obs = next_obs.copy()
        for e in np.flatnonzero(done):
            self.obs[e] = self._first()
            self.left[e] = self.rng.integers(1, self.max_len)
        return t


def _fill(buffer, episodes, steps):
    for _ in range(steps):
        buffer.add(episodes.step())


def _expected_n_step(episodes, step_id, n, gamma, newest):
    """The n-step window of a step from the recorded sequence of its env."""
    env = episodes.steps[step_id][0]
    seq = episodes.order[env]
    i = seq.index(step_id)
    ret, m = 0.0, 0
    for j in range(n):
        if i + j >= len(seq) or seq[i + j] > newest:
            break
        sid = seq[i + j]
        ret += gamma**j * sid  # the reward of a step is its id
        m += 1
        _, _, _, terminated, truncated = episodes.steps[sid]
        if terminated or truncated:
            break
    last = episodes.steps[seq[i + m - 1]]
    return ret, last[2], float(last[3]), gamma**m


@pytest.mark.parametrize("padding", ["reset", "zero", "distinct"])
@pytest.mark.parametrize("num_envs", [1, 3])
def test_frame_dedup_gives_back_the_stacks_that_went_in(padding, num_envs):
    episodes = StackedEpisodes(num_envs, seed=1, padding=padding)
    buffer = FrameReplayBuffer(10_000, IMAGE, IDS, num_envs=num_envs)
    _fill(buffer, episodes, 300)
    batch = buffer.sample(10 * len(episodes.steps), np.random.default_rng(0))
    sampled = set()
    for obs, action, reward, next_obs, terminated in zip(*(x.numpy() for x in batch), strict=True):
        _, want_obs, want_next, want_term, _ = episodes.steps[int(action)]
        assert reward == action
        np.testing.assert_array_equal(obs, want_obs)
        np.testing.assert_array_equal(next_obs, want_next)  # the true final one at episode ends
        assert terminated == want_term
        sampled.add(int(action))
    assert sampled == set(episodes.steps)  # every step can be drawn, episode starts included
    assert batch.obs.dtype == batch.next_obs.dtype == __import__("torch").uint8


def test_the_ring_never_serves_stacks_it_has_overwritten():
    episodes = StackedEpisodes(2, seed=2, max_len=30)
    buffer = FrameReplayBuffer(2 * 40, IMAGE, IDS, num_envs=2)  # 40 slots per env
    for _ in range(20):
        _fill(buffer, episodes, 17)
        batch = buffer.sample(500, np.random.default_rng(0))
        for obs, action, next_obs in zip(
            batch.obs.numpy(), batch.actions.numpy(), batch.next_obs.numpy(), strict=True
        ):
            _, want_obs, want_next, _, _ = episodes.steps[int(action)]
            np.testing.assert_array_equal(obs, want_obs)
            np.testing.assert_array_equal(next_obs, want_next)
        oldest_kept = min(int(a) for a in batch.actions)
        assert oldest_kept >= episodes.next_id - 2 * 40  # only recent steps remain
    assert len(buffer) == 80


@pytest.mark.parametrize("n_step", [1, 3, 8])
@pytest.mark.parametrize("frames", [True, False])
def test_n_step_windows_stop_at_episode_ends_and_the_newest_data(n_step, frames):
    gamma = 0.9
    episodes = StackedEpisodes(2, seed=3, vector=not frames)
    if frames:
        buffer = FrameReplayBuffer(10_000, IMAGE, IDS, num_envs=2)
    else:
        buffer = ReplayBuffer(10_000, spaces.Box(-9, 9, (3,), np.float32), IDS)
    _fill(buffer, episodes, 200)
    batch = buffer.sample_n_step(3000, np.random.default_rng(0), n_step, gamma)
    newest = episodes.next_id - 1
    for action, ret, next_obs, terminated, discount in zip(
        batch.actions.numpy(),
        batch.returns.numpy(),
        batch.next_obs.numpy(),
        batch.terminated.numpy(),
        batch.discounts.numpy(),
        strict=True,
    ):
        want_ret, want_next, want_term, want_discount = _expected_n_step(
            episodes, int(action), n_step, gamma, newest
        )
        assert ret == pytest.approx(want_ret, rel=1e-5)
        np.testing.assert_array_equal(next_obs, want_next)
        assert terminated == want_term
        assert discount == pytest.approx(want_discount, rel=1e-6)


@pytest.mark.parametrize("frames", [True, False])
def test_n_step_cuts_at_termination_and_bootstraps_at_truncation(frames):
    """Two 2-step episodes, one terminated and one truncated; 3-step windows from their first
    steps: r0 + γ r1 in both; no bootstrap after the termination, bootstrap γ² after the
    truncation from its true last observation."""
    gamma = 0.5
    space = IMAGE if frames else spaces.Box(0, 255, (C, H, W), np.uint8)
    buffer = (FrameReplayBuffer if frames else ReplayBuffer)(100, space, IDS)
    episodes = StackedEpisodes(1, seed=4)
    episodes.left[:] = 99  # episode ends are set by hand below
    ends = [(False, False), (True, False), (False, False), (False, True)]
    for step_id, (terminated, truncated) in enumerate(ends):
        t = episodes.step()
        t = t._replace(terminated=np.array([terminated]), truncated=np.array([truncated]))
        buffer.add(t)
        episodes.steps[step_id] = (0, t.obs[0], t.next_obs[0], terminated, truncated)
        if terminated or truncated:
            episodes.obs = np.stack([episodes._first()])
    batch = buffer.sample_n_step(200, np.random.default_rng(0), 3, gamma)
    by_id = {int(a): i for i, a in enumerate(batch.actions)}
    first, third = by_id[0], by_id[2]
    assert batch.returns[first] == 0 + 0.5 * 1 and batch.terminated[first] == 1
    assert batch.returns[third] == 2 + 0.5 * 3 and batch.terminated[third] == 0
    assert batch.discounts[third] == 0.25
    np.testing.assert_array_equal(batch.next_obs[third].numpy(), episodes.steps[3][2])


def test_an_unexpected_observation_starts_a_new_episode():
    episodes = StackedEpisodes(1, seed=5, max_len=50)
    buffer = FrameReplayBuffer(1000, IMAGE, IDS)
    _fill(buffer, episodes, 5)
    episodes.obs = np.stack([episodes._first()])  # a reset without done (a resumed run)
    _fill(buffer, episodes, 5)
    batch = buffer.sample_n_step(500, np.random.default_rng(0), 10, 1.0)
    for action, ret in zip(batch.actions.numpy(), batch.returns.numpy(), strict=True):
        window = range(action, 5) if action < 5 else range(action, 10)
        assert ret == sum(window)  # no window runs across the discontinuity
    for obs, action in zip(batch.obs.numpy(), batch.actions.numpy(), strict=True):
        np.testing.assert_array_equal(obs, episodes.steps[int(action)][1])


def test_observations_that_are_not_stacks_are_refused():
    buffer = FrameReplayBuffer(100, IMAGE, IDS)
    rng = np.random.default_rng(0)
    obs = rng.integers(0, 256, (1, C, H, W), dtype=np.uint8)
    next_obs = rng.integers(0, 256, (1, C, H, W), dtype=np.uint8)
    no = np.array([False])
    with pytest.raises(ValueError, match="not frame stacks"):
        buffer.add(Transition(obs, np.array([0]), np.zeros(1, np.float32), next_obs, no, no))


@pytest.mark.parametrize("frames", [True, False])
def test_state_round_trip_through_a_checkpoint(frames, tmp_path):
    episodes = StackedEpisodes(2, seed=6, vector=not frames)
    space = IMAGE if frames else spaces.Box(-9, 9, (3,), np.float32)
    make = (
        (lambda: FrameReplayBuffer(60, IMAGE, IDS, num_envs=2))
        if frames
        else (lambda: ReplayBuffer(60, space, IDS))
    )
    buffer = make()
    _fill(buffer, episodes, 50)  # wrapped around
    ckpt.save_checkpoint(tmp_path / "ck", {"agent": "x"}, {"buffer": buffer.state_dict()})
    loaded = make()
    loaded.load_state_dict(ckpt.read_state(tmp_path / "ck")["buffer"])
    assert len(loaded) == len(buffer)
    a = buffer.sample(64, np.random.default_rng(7))
    b = loaded.sample(64, np.random.default_rng(7))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_an_atari_transition_costs_one_frame():
    atari = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    # What one more transition of capacity costs (fixed per-env storage cancels out).
    small, large = (FrameReplayBuffer(n, atari, spaces.Discrete(18)) for n in (10_000, 20_000))
    per_transition = (large.nbytes - small.nbytes) / (large.capacity - small.capacity)
    assert 84 * 84 <= per_transition < 84 * 84 + 16
    assert per_transition * 1_000_000 <= 7.5e9  # the Atari preset's 1M buffer stays under 7.5 GB
    naive = ReplayBuffer(1000, atari, spaces.Discrete(18))
    assert naive.nbytes / naive.capacity > 7.9 * per_transition


def test_plain_buffer_keeps_its_one_step_interface():
    buffer = ReplayBuffer(10, spaces.Box(-1, 1, (2,), np.float32), spaces.Discrete(3))
    no = np.array([False, False])
    for k in range(7):
        obs = np.full((2, 2), k, np.float32)
        buffer.add(Transition(obs, np.array([1, 2]), np.ones(2, np.float32), obs + 1, no, no))
    batch = buffer.sample(5, np.random.default_rng(0))
    assert batch._fields == ("obs", "actions", "rewards", "next_obs", "terminated")
    assert len(buffer) == 10 and batch.obs.shape == (5, 2)
