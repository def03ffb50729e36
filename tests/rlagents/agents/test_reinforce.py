"""REINFORCE: learning, whole episodes across vector envs, the baseline's variance reduction,
truncation bootstrapping, checkpoints, config and spaces."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from rlagents_test_plugin.runner import run_summary as run

from rlagents import checkpoint as ckpt
from rlagents.agent import Transition
from rlagents.agents.reinforce import REINFORCE, Episode
from rlagents.config import build_config
from rlagents.errors import SpaceMismatchError
from rlagents.run.tuned import config_sets


def test_solves_cartpole_through_the_runner(tmp_path):
    summary = run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "reinforce", "--num-envs", "8", "--seed", "0"),
        *("--steps", "80000", "--eval-every", "10000", "--eval-episodes", "5"),
        *("--stop-at-return", "475", "--set", "num_threads=1"),
    )
    assert summary["eval_mean_return"] >= 450  # random play: about 22


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_solves_cartpole_within_300k_steps_other_seeds(tmp_path, seed):
    summary = run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "reinforce", "--num-envs", "8", "--seed", str(seed)),
        *("--steps", "300000", "--eval-every", "10000", "--eval-episodes", "10"),
        *("--stop-at-return", "475"),
    )
    assert summary["reached_target"]


def _step(agent, obs, reward, terminated, truncated, next_obs=None):
    obs = np.asarray(obs, np.float32)
    action = agent.act(obs)
    agent.observe(
        Transition(
            obs,
            action,
            np.asarray(reward, np.float32),
            obs + 1 if next_obs is None else np.asarray(next_obs, np.float32),
            np.asarray(terminated),
            np.asarray(truncated),
        )
    )
    return agent.update()


def test_updates_once_n_episodes_are_complete():
    """Env 1's episodes last 2 steps, env 0's is still running: the update comes at the step
    that completes the third episode, and env 0's episode goes on untouched."""
    agent = REINFORCE(
        spaces.Box(-1e3, 1e3, (1,), np.float32),
        spaces.Discrete(2),
        {"n_episodes": 3, "num_threads": 1},
        num_envs=2,
        seed=0,
    )
    for step in range(6):
        metrics = _step(
            agent, [[step], [step % 2]], [1.0, 1.0], [False, step % 2 == 1], [False, False]
        )
        assert bool(metrics) == (step == 5)
    assert metrics["episode_length"] == 2.0 and metrics["return_mean"] == 2.0
    assert agent.running.lengths.tolist() == [6, 0] and agent.n_updates == 1


def test_episode_store_keeps_episodes_whole():
    agent = REINFORCE(
        spaces.Box(-1e3, 1e3, (1,), np.float32),
        spaces.Discrete(2),
        {"n_episodes": 1000, "num_threads": 1},
        num_envs=2,
        seed=0,
    )
    for step in range(300):
        _step(
            agent,
            [[step], [1000 + step % 3]],
            [1.0, 2.0],
            [step == 299, step % 3 == 2],
            [False, False],
        )
    long = [e for e in agent.finished if len(e.rewards) == 300]
    assert len(long) == 1 and long[0].obs[:, 0].tolist() == list(range(300))
    short = [e for e in agent.finished if len(e.rewards) == 3]
    assert len(short) == 100 and all(e.obs[:, 0].tolist() == [1000, 1001, 1002] for e in short)


def _episodes(env, n, seed=0):
    rng = np.random.default_rng(seed)
    episodes = []
    for k in range(n):
        obs, _ = env.reset(seed=seed + k)
        observations, rewards, done = [], [], False
        while not done:
            observations.append(obs)
            obs, reward, terminated, truncated, _ = env.step(int(rng.integers(2)))
            rewards.append(reward)
            done = terminated or truncated
        episodes.append(
            Episode(
                np.array(observations, np.float32),
                rng.integers(2, size=len(rewards)),
                np.array(rewards, np.float32),
                truncated,
                obs,
            )
        )
    return episodes


def test_a_baseline_lowers_the_gradient_variance():
    """The course's argument, measured: the same episodes, the same initial policy; the
    variance of the per-episode gradient estimates is lower with a baseline."""
    env = gym.make("CartPole-v1")
    episodes = _episodes(env, 16)
    results = {}
    for baseline in ("none", "mean"):
        cfg = {"baseline": baseline, "log_grad_variance": True, "num_threads": 1}
        agent = REINFORCE(env.observation_space, env.action_space, cfg, seed=0)
        results[baseline] = agent.learn(episodes)
    assert results["mean"]["grad_variance"] < 0.8 * results["none"]["grad_variance"]
    assert results["mean"]["advantage_rms"] < results["none"]["advantage_rms"]
    # each run also measures the estimator without its baseline, on the same episodes
    assert results["mean"]["grad_variance_no_baseline"] == pytest.approx(
        results["none"]["grad_variance"], rel=1e-4
    )


def test_truncated_episodes_bootstrap_from_the_value_of_the_final_obs():
    agent = REINFORCE(
        spaces.Box(-10, 10, (1,), np.float32),
        spaces.Discrete(2),
        {"num_threads": 1, "gamma": 0.5},
        seed=0,
    )
    final = np.array([3.0], np.float32)
    cut = Episode(
        np.zeros((2, 1), np.float32), np.zeros(2, np.int64), np.ones(2, np.float32), True, final
    )
    ended = cut._replace(truncated=False)
    ends, bootstrap = agent._ends_and_bootstrap([cut, ended])
    assert ends.tolist() == [False, True, False, True]
    with torch.no_grad():
        value = float(agent.policy.value(torch.as_tensor(final[None]))[0])
    assert bootstrap.tolist() == pytest.approx([0.0, value, 0.0, 0.0])
    agent.config = dataclasses.replace(agent.config, baseline="mean")
    assert agent._ends_and_bootstrap([cut])[1].tolist() == [0.0, 0.0]  # no V: treated as ended


def test_save_load_gives_the_same_greedy_actions(tmp_path):
    env = gym.make("CartPole-v1")
    cfg = {"num_threads": 1, "n_episodes": 2}
    agent = REINFORCE(env.observation_space, env.action_space, cfg, seed=0)
    agent.learn(_episodes(env, 2))
    ckpt.save_checkpoint(tmp_path / "ckpt", {"agent": "reinforce"}, agent.state_dict())
    clone = REINFORCE(env.observation_space, env.action_space, cfg, seed=5)
    clone.load_state_dict(ckpt.read_state(tmp_path / "ckpt"))
    probe = np.random.default_rng(1).normal(size=(32, 4)).astype(np.float32)
    np.testing.assert_array_equal(clone.act(probe, explore=False), agent.act(probe, explore=False))


def test_every_config_field_is_settable_with_set():
    defaults = REINFORCE.Config()
    for field in dataclasses.fields(REINFORCE.Config):
        value = getattr(defaults, field.name)
        assert (
            getattr(build_config(REINFORCE.Config, {field.name: str(value)}), field.name) == value
        )


def test_tuned_sets_are_valid_configs():
    for name, overrides in config_sets(REINFORCE).items():
        build_config(REINFORCE.Config, dict(overrides))
        assert name in REINFORCE.recommended_num_envs


def test_unsupported_spaces_are_refused():
    with pytest.raises(SpaceMismatchError, match="reinforce needs a Discrete or Box action"):
        REINFORCE(spaces.Box(-1, 1, (2,)), spaces.MultiBinary(2))
