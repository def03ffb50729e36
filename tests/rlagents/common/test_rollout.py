"""The rollout buffer, GAE and Monte-Carlo returns against hand-computed examples, and the
running normalisers."""

from __future__ import annotations

import numpy as np
import pytest

from rlagents.common.normalize import ObservationNormalizer, RewardNormalizer, RunningMeanStd
from rlagents.common.rollout import RolloutBuffer, compute_gae, discounted_returns

GAMMA, LAM = 0.9, 0.5


def hand_gae(rewards, values, next_values, terminated, truncated):
    """The textbook recursion, one env, written out step by step."""
    advantages = [0.0] * len(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        bootstrap = 0.0 if terminated[t] else GAMMA * next_values[t]
        delta = rewards[t] + bootstrap - values[t]
        running = delta + (0.0 if terminated[t] or truncated[t] else GAMMA * LAM * running)
        advantages[t] = running
    return advantages


def test_gae_matches_hand_computed_example():
    # steps 0-1: an episode truncated at 1 (bootstrapped from V(final obs) = 5);
    # steps 2-3: an episode terminated at 3 (never bootstrapped: next value 100 must not count)
    rewards = np.array([[1.0], [2.0], [0.5], [1.0]], dtype=np.float32)
    values = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
    next_values = np.array([[2.0], [5.0], [4.0], [100.0]], dtype=np.float32)
    terminated = np.array([[False], [False], [False], [True]])
    truncated = np.array([[False], [True], [False], [False]])
    adv, ret = compute_gae(rewards, values, next_values, terminated, truncated, GAMMA, LAM)

    # by hand: δ3 = 1 − 4 = −3; δ2 = 0.5 + 0.9·4 − 3 = 1.1, A2 = 1.1 + 0.45·(−3) = −0.25
    #          δ1 = 2 + 0.9·5 − 2 = 4.5 (bootstrapped), A1 = 4.5 (the episode ends here)
    #          δ0 = 1 + 0.9·2 − 1 = 1.8, A0 = 1.8 + 0.45·4.5 = 3.825
    np.testing.assert_allclose(adv[:, 0], [3.825, 4.5, -0.25, -3.0], rtol=1e-6)
    np.testing.assert_allclose(ret, adv + values)
    expected = hand_gae(
        rewards[:, 0], values[:, 0], next_values[:, 0], terminated[:, 0], truncated[:, 0]
    )
    np.testing.assert_allclose(adv[:, 0], expected, rtol=1e-6)


def test_truncation_bootstraps_and_termination_does_not():
    one = np.ones((1, 1), dtype=np.float32)
    kwargs = dict(rewards=one, values=0 * one, next_values=10 * one, gamma=GAMMA, gae_lambda=LAM)
    _, ret_truncated = compute_gae(
        terminated=np.array([[False]]), truncated=np.array([[True]]), **kwargs
    )
    _, ret_terminated = compute_gae(
        terminated=np.array([[True]]), truncated=np.array([[False]]), **kwargs
    )
    assert ret_truncated.item() == pytest.approx(1 + GAMMA * 10)
    assert ret_terminated.item() == pytest.approx(1.0)


def test_gae_is_independent_per_env():
    rng = np.random.default_rng(0)
    shape = (6, 3)
    r, v, nv = (rng.normal(size=shape).astype(np.float32) for _ in range(3))
    term, trunc = rng.random(shape) < 0.2, rng.random(shape) < 0.2
    adv, _ = compute_gae(r, v, nv, term, trunc, GAMMA, LAM)
    for env in range(3):
        expected = hand_gae(r[:, env], v[:, env], nv[:, env], term[:, env], trunc[:, env])
        np.testing.assert_allclose(adv[:, env], expected, rtol=1e-5, atol=1e-6)


def test_lambda_one_gives_monte_carlo_returns():
    rewards = np.array([[1.0], [1.0], [1.0]], dtype=np.float32)
    values = np.array([[0.3], [0.2], [0.1]], dtype=np.float32)
    next_values = np.array([[0.2], [0.1], [0.0]], dtype=np.float32)
    done = np.array([[False], [False], [True]])
    _, ret = compute_gae(rewards, values, next_values, done, ~done & False, 0.5, 1.0)
    np.testing.assert_allclose(ret[:, 0], [1.75, 1.5, 1.0])
    mc = discounted_returns(rewards[:, 0], done[:, 0], np.zeros(3), 0.5)
    np.testing.assert_allclose(mc, [1.75, 1.5, 1.0])


def test_buffer_bootstraps_from_true_final_obs_only_where_needed():
    """Two envs, three steps: env 0 truncated at step 0, env 1 terminated at step 1. The buffer
    keeps env 0's final obs at step 0 and both envs' next obs at the last step, nothing else."""
    buf = RolloutBuffer(3, 2, (1,), np.float32, (), np.int64)
    steps = [
        # obs, terminated, truncated, next_obs (true final obs where an episode ended)
        ([[0.0], [10.0]], [False, False], [True, False], [[0.5], [11.0]]),
        ([[100.0], [11.0]], [False, True], [False, False], [[101.0], [12.0]]),
        ([[101.0], [200.0]], [False, False], [False, False], [[102.0], [201.0]]),
    ]
    for obs, term, trunc, next_obs in steps:
        buf.add(np.array(obs), np.zeros(2), np.ones(2), np.array(term), np.array(trunc))
        envs = buf.needs_final_obs()
        if envs is not None:
            buf.keep_final_obs(envs, np.array(next_obs)[envs])
    assert buf.full
    np.testing.assert_array_equal(buf.final_obs()[:, 0], [0.5, 102.0, 201.0])

    values = 2.0 * buf.obs[..., 0]  # a made-up V(s) = 2s
    final_values = 2.0 * buf.final_obs()[:, 0]
    next_values = buf.next_values(values, final_values)
    # env 0, step 0: V(true final obs 0.5) = 1, not V(reset obs 100) = 200
    np.testing.assert_allclose(next_values[:, 0], [1.0, 202.0, 204.0])
    np.testing.assert_allclose(next_values[[0, 2], 1], [22.0, 402.0])  # step 1 is masked by GAE

    adv, ret = buf.advantages(values, final_values, GAMMA, LAM)
    expected, _ = compute_gae(
        buf.rewards, values, next_values, buf.terminated, buf.truncated, GAMMA, LAM
    )
    np.testing.assert_allclose(adv, expected)
    assert ret[1, 1] == pytest.approx(1.0)  # terminated: the reward, no bootstrap
    assert ret[0, 0] == pytest.approx(1.0 + GAMMA * 1.0)  # truncated: bootstrapped from 0.5
    buf.reset()
    assert buf.pos == 0 and not buf.full


def test_running_mean_std_matches_numpy():
    rng = np.random.default_rng(1)
    data = rng.normal(3.0, 2.0, size=(500, 2))
    rms = RunningMeanStd(shape=(2,))
    for chunk in np.array_split(data, 7):
        rms.update(chunk)
    np.testing.assert_allclose(rms.mean, data.mean(0), rtol=1e-4)
    np.testing.assert_allclose(rms.var, data.var(0), rtol=1e-3)


def test_normalizers_round_trip_their_state():
    obs_norm = ObservationNormalizer((3,))
    obs_norm(np.random.default_rng(0).normal(5, 2, size=(64, 3)), update=True)
    clone = ObservationNormalizer((3,))
    clone.load_state_dict(obs_norm.state_dict())
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(clone(x), obs_norm(x))
    assert obs_norm(x).dtype == np.float32

    rew_norm = RewardNormalizer(num_envs=2, gamma=0.99)
    done = np.array([False, True])
    for _ in range(20):
        scaled = rew_norm(np.array([1.0, 100.0]), done, ~done & False)
    assert np.all(np.abs(scaled) <= rew_norm.clip)
    clone_r = RewardNormalizer(num_envs=2, gamma=0.99)
    clone_r.load_state_dict(rew_norm.state_dict())
    np.testing.assert_array_equal(clone_r.returns, rew_norm.returns)
