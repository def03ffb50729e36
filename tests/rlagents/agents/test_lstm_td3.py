"""LSTM-TD3: windows that never cross an episode start (sampling and acting), TD3 when the
memory is off, greedy acting with a memory of its own, checkpoints, config."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from rlagents_test_plugin.runner import run_summary

from rlagents import checkpoint as ckpt
from rlagents.agent import Transition
from rlagents.agents.lstm_td3 import LSTMTD3, EnvWindows, history_windows
from rlagents.agents.td3 import TD3
from rlagents.common.replay import ReplayBuffer
from rlagents.config import build_config
from rlagents.run.tuned import config_sets

OBS = spaces.Box(-10, 10, (1,), np.float32)
ACT = spaces.Box(-1, 1, (1,), np.float32)
SMALL = {"net_arch": (16, 16), "memory_units": 8, "batch_size": 8, "num_threads": 1}


def _trajectory_buffer() -> ReplayBuffer:
    """Two envs, 8 vector steps: env 0's episode ends at its step 2, env 1's at its step 4.
    Observation of env e at its step s: 10·e + s; action: −(10·e + s)/100."""
    buffer = ReplayBuffer(64, OBS, ACT)
    for s in range(8):
        obs = np.array([[s], [10 + s]], np.float32)
        ends = np.array([s == 2, s == 4])
        buffer.add(
            Transition(obs, -obs / 100, np.zeros(2, np.float32), obs + 1, ends, np.zeros(2, bool))
        )
    return buffer


def _slot(env: int, step: int) -> int:
    return 2 * step + env


def test_sampled_windows_stop_at_episode_starts_and_at_the_oldest_data():
    buffer = _trajectory_buffer()
    idx = np.array([_slot(0, 1), _slot(0, 3), _slot(0, 6), _slot(1, 4), _slot(1, 5), _slot(1, 0)])
    steps, lengths, next_steps, next_lengths = history_windows(buffer, idx, 3, True)
    # env 0, step 1: one earlier step (step 0); step 3 starts an episode: none; step 6: 3, 4, 5
    # env 1, step 4: 1, 2, 3 (its episode began at step 0; window of 3); step 5 starts one: none
    # env 1, step 0: the oldest data: none
    assert lengths.tolist() == [1, 0, 3, 3, 0, 0]
    assert steps[0, :1, 0].tolist() == [0.0]
    assert steps[2, :, 0].tolist() == [3.0, 4.0, 5.0]
    assert steps[3, :, 0].tolist() == [11.0, 12.0, 13.0]
    np.testing.assert_allclose(steps[3, :, 1], [-0.11, -0.12, -0.13], rtol=1e-6)  # actions
    assert not steps[1].any() and not steps[4].any() and not steps[0, 1:].any()  # zero padding
    # the target's window: shifted by one, ending with the sampled step itself
    assert next_lengths.tolist() == [2, 1, 3, 3, 1, 1]
    assert next_steps[0, :2, 0].tolist() == [0.0, 1.0]
    assert next_steps[1, :1, 0].tolist() == [3.0]
    assert next_steps[2, :, 0].tolist() == [4.0, 5.0, 6.0]
    assert next_steps[3, :, 0].tolist() == [12.0, 13.0, 14.0]


def test_windows_without_actions_hold_observations_only():
    steps, _, next_steps, _ = history_windows(_trajectory_buffer(), np.array([13]), 2, False)
    assert steps.shape == (1, 2, 1) and next_steps.shape == (1, 2, 1)


def test_windows_after_the_ring_wraps_stop_at_the_oldest_kept_step():
    buffer = ReplayBuffer(6, OBS, ACT)  # 3 vector steps of 2 envs: only steps 5, 6, 7 are kept
    for s in range(8):
        obs = np.array([[s], [10 + s]], np.float32)
        no = np.zeros(2, bool)
        buffer.add(Transition(obs, obs / 100, np.zeros(2, np.float32), obs, no, no))
    idx = np.array(
        [np.flatnonzero(buffer.obs[:, 0] == 7)[0], np.flatnonzero(buffer.obs[:, 0] == 5)[0]]
    )
    steps, lengths, _, _ = history_windows(buffer, idx, 4, False)
    assert lengths.tolist() == [2, 0]
    assert steps[0, :2, 0].tolist() == [5.0, 6.0]


def test_acting_windows_append_each_step_and_empty_where_an_episode_ended():
    agent = LSTMTD3(OBS, ACT, {**SMALL, "history_length": 2, "learning_starts": 0}, num_envs=2)
    for s in range(4):
        obs = np.array([[s], [10 + s]], np.float32)
        action = agent.act(obs)
        ends = np.array([s == 1, False])
        agent.observe(Transition(obs, action, np.zeros(2, np.float32), obs, ends, ~ends & False))
    # env 0 ended at step 1: its window holds steps 2, 3; env 1 the last two of 0..3
    assert agent.windows.lengths.tolist() == [2, 2]
    assert agent.windows.steps[:, :, 0].tolist() == [[2.0, 3.0], [12.0, 13.0]]
    agent.observe(
        Transition(
            obs, action, np.zeros(2, np.float32), obs, np.zeros(2, bool), np.array([0, 1], bool)
        )
    )
    assert agent.windows.lengths.tolist() == [2, 0]  # a truncation ends an episode too


def test_env_windows_keep_the_newest_steps_left_aligned():
    windows = EnvWindows(1, 3, 1)
    for s in range(5):
        windows.push(np.array([[s]], np.float32))
    assert windows.steps[0, :, 0].tolist() == [2.0, 3.0, 4.0]
    windows.clear()
    windows.push(np.array([[7]], np.float32))
    assert windows.lengths.tolist() == [1] and windows.steps[0, :, 0].tolist() == [7.0, 0.0, 0.0]


def test_greedy_acting_keeps_a_memory_of_its_own_which_begin_episodes_empties():
    agent = LSTMTD3(OBS, ACT, {**SMALL, "learning_starts": 0}, num_envs=1)
    obs = np.array([[0.5]], np.float32)
    agent.observe(
        Transition(obs, agent.act(obs), np.zeros(1, np.float32), obs, *[np.zeros(1, bool)] * 2)
    )
    training = agent.windows.state_dict()
    first = agent.act(obs, explore=False)
    agent.act(obs, explore=False)
    assert agent.greedy_windows.lengths.tolist() == [2]
    np.testing.assert_array_equal(agent.windows.steps, training["steps"])  # untouched
    agent.begin_episodes()
    assert agent.greedy_windows.lengths.tolist() == [0]
    np.testing.assert_array_equal(agent.act(obs, explore=False), first)  # the same start again


def test_history_length_zero_gives_td3s_networks_and_targets():
    env = gym.make("Pendulum-v1")
    cfg = {"net_arch": (32, 32), "batch_size": 16, "learning_starts": 0, "num_threads": 1}
    td3 = TD3(env.observation_space, env.action_space, cfg, seed=0)
    lstm = LSTMTD3(env.observation_space, env.action_space, {**cfg, "history_length": 0}, seed=0)
    lstm.online.load_state_dict(td3.online.state_dict())  # the same parameters, name for name
    lstm.target.load_state_dict(td3.target.state_dict())
    rng = np.random.default_rng(0)
    for _ in range(40):
        obs = rng.normal(size=(1, 3)).astype(np.float32)
        t = Transition(
            obs,
            rng.uniform(-2, 2, (1, 1)).astype(np.float32),
            rng.normal(size=1).astype(np.float32),
            obs + 0.1,
            rng.random(1) < 0.2,
            np.zeros(1, bool),
        )
        td3.observe(t)
        lstm.observe(t)
    batch = lstm.sample()
    plain = td3.buffer.batch_at(np.arange(16))
    batch = batch._replace(
        obs=plain.obs,
        actions=plain.actions,
        rewards=plain.rewards,
        next_obs=plain.next_obs,
        terminated=plain.terminated,
    )
    td3.gen.manual_seed(5)
    lstm.gen.manual_seed(5)
    torch.testing.assert_close(lstm.td_target(batch), td3.td_target(plain), rtol=0, atol=0)
    probe = rng.normal(size=(4, 3)).astype(np.float32)
    # td3 acts through its numpy actor, lstm_td3 through torch: the same up to float rounding
    np.testing.assert_allclose(
        lstm.act(probe, explore=False), td3.act(probe, explore=False), rtol=0, atol=1e-6
    )


def test_save_load_keeps_the_windows_and_gives_the_same_actions(tmp_path):
    agent = LSTMTD3(OBS, ACT, {**SMALL, "learning_starts": 5}, num_envs=2, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        obs = rng.normal(size=(2, 1)).astype(np.float32)
        action = agent.act(obs)
        agent.observe(
            Transition(
                obs,
                action,
                rng.normal(size=2).astype(np.float32),
                obs,
                rng.random(2) < 0.2,
                np.zeros(2, bool),
            )
        )
        agent.update()
    ckpt.save_checkpoint(tmp_path / "ckpt", {"agent": "lstm_td3"}, agent.state_dict())
    clone = LSTMTD3(OBS, ACT, {**SMALL, "learning_starts": 5}, num_envs=2, seed=7)
    clone.load_state_dict(ckpt.read_state(tmp_path / "ckpt"))
    np.testing.assert_array_equal(clone.windows.lengths, agent.windows.lengths)
    probe = rng.normal(size=(2, 1)).astype(np.float32)
    np.testing.assert_array_equal(clone.act(probe), agent.act(probe))  # training memory, noise
    np.testing.assert_array_equal(clone.act(probe, explore=False), agent.act(probe, explore=False))


def test_every_config_field_is_settable_with_set():
    defaults = LSTMTD3.Config()
    for field in dataclasses.fields(LSTMTD3.Config):
        value = getattr(defaults, field.name)
        parsed = build_config(LSTMTD3.Config, {field.name: str(value)})
        assert getattr(parsed, field.name) == value, field.name


def test_tuned_sets_are_valid_configs():
    for overrides in config_sets(LSTMTD3).values():
        build_config(LSTMTD3.Config, dict(overrides))


def test_images_and_discrete_actions_are_refused():
    assert "vector observations" in LSTMTD3.check_spaces(
        spaces.Box(0, 255, (4, 84, 84), np.uint8), ACT
    )
    assert "Box (continuous) action space" in LSTMTD3.check_spaces(OBS, spaces.Discrete(2))


# ------------------------------------------------------------------------------------ learning
def test_learns_pendulum_without_its_velocity(tmp_path):
    """A small memory on Pendulum seen as (cos θ, sin θ) only: the memory must infer θ̇."""
    summary = run_summary(
        tmp_path,
        *("--env", "Pendulum-v1", "--agent", "lstm_td3", "--preset", "remove_velocity"),
        *("--seed", "0", "--steps", "8000", "--eval-episodes", "5"),
        *("--set", "memory_units=16", "--set", "history_length=3"),
    )
    # random play: about −1200; this seed reaches about −610 at this budget, −200 needs ~10k
    # steps with the tuned set (the slow test below)
    assert summary["eval_mean_return"] >= -750


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_solves_pendulum_without_its_velocity_with_its_tuned_set(tmp_path, seed):
    summary = run_summary(
        tmp_path,
        *("--env", "Pendulum-v1", "--agent", "lstm_td3", "--preset", "remove_velocity"),
        *("--seed", str(seed), "--steps", "30000", "--eval-every", "5000"),
        *("--eval-episodes", "10", "--stop-at-return", "-200"),
    )
    assert summary["reached_target"]


# ------------------------------------------------------------------------------- bad input
def test_a_checkpoint_with_impossible_window_lengths_is_refused_in_one_line(tmp_path):
    agent = LSTMTD3(OBS, ACT, {**SMALL, "learning_starts": 0}, num_envs=2, seed=0)
    state = agent.state_dict()
    state["windows"]["lengths"] = np.array([3, 99])  # a window holds at most history_length
    ckpt.save_checkpoint(tmp_path / "ckpt", {"agent": "lstm_td3"}, state)
    fresh = LSTMTD3(OBS, ACT, {**SMALL, "learning_starts": 0}, num_envs=2, seed=1)
    with pytest.raises(ckpt.CheckpointError, match=r"window lengths must be 2 values in 0\.\.5"):
        ckpt.load_agent_state(fresh, tmp_path / "ckpt")
    assert fresh.windows.lengths.tolist() == [0, 0]


def test_a_begin_episodes_that_raises_ends_the_evaluation_as_the_agents_failure():
    from rlagents.errors import RunFailure
    from rlagents.run.loop import evaluate

    class Broken(LSTMTD3):
        def begin_episodes(self, mask=None):
            raise RuntimeError("memory gone")

    env = gym.make("Pendulum-v1")
    agent = Broken(env.observation_space, env.action_space, SMALL, seed=0)
    with pytest.raises(RunFailure) as failure:
        evaluate(agent, env, episodes=1, seed=0)
    assert failure.value.who == "agent" and "begin_episodes() raised" in str(failure.value)
