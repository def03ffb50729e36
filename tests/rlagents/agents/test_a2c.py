"""A2C: learning through the runner, one or two networks, optimizers, checkpoints, config."""

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
from rlagents.agents.a2c import A2C
from rlagents.config import build_config
from rlagents.errors import SpaceMismatchError
from rlagents.run.tuned import config_sets


def test_solves_cartpole_through_the_runner(tmp_path):
    summary = run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "a2c", "--num-envs", "8", "--seed", "0"),
        *("--steps", "150000", "--eval-every", "10000", "--eval-episodes", "5"),
        *("--stop-at-return", "475", "--set", "num_threads=1"),
    )
    assert summary["eval_mean_return"] >= 450  # random play: about 22


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_solves_cartpole_other_seeds(tmp_path, seed):
    summary = run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "a2c", "--num-envs", "8", "--seed", str(seed)),
        *("--steps", "200000", "--eval-every", "10000", "--eval-episodes", "10"),
        *("--stop-at-return", "475"),
    )
    assert summary["reached_target"]


def _rollout(agent, env, n_steps):
    obs, _ = env.reset(seed=0)
    metrics = {}
    for _ in range(n_steps):
        action = agent.act(obs[None])
        next_obs, reward, terminated, truncated, _ = env.step(action[0])
        agent.observe(
            Transition(
                obs[None],
                action,
                np.array([reward], np.float32),
                next_obs[None],
                np.array([terminated]),
                np.array([truncated]),
            )
        )
        metrics = agent.update() or metrics
        obs = env.reset()[0] if terminated or truncated else next_obs
    return metrics


@pytest.mark.parametrize("share_features", [False, True])
@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
def test_one_or_two_networks_and_both_optimizers_learn_a_step(share_features, optimizer):
    env = gym.make("CartPole-v1")
    cfg = {"share_features": share_features, "optimizer": optimizer, "num_threads": 1}
    agent = A2C(env.observation_space, env.action_space, cfg, seed=0)
    assert agent.policy.body.copies == (1 if share_features else 2)
    before = [p.detach().clone() for p in agent.parameters]
    metrics = _rollout(agent, env, agent.config.n_steps)
    for key in (
        "policy_loss",
        "value_loss",
        "entropy",
        "kl",
        "explained_variance",
        "learning_rate",
    ):
        assert key in metrics
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.parameters, strict=True))
    assert isinstance(
        agent.optimizer, torch.optim.RMSprop if optimizer == "rmsprop" else torch.optim.Adam
    )


def test_continuous_actions_and_a_learning_rate_schedule():
    space = spaces.Box(-1, 1, (2,), np.float32)
    cfg = {"lr_schedule": "linear", "schedule_steps": 100, "num_threads": 1}
    agent = A2C(spaces.Box(-1, 1, (3,), np.float32), space, cfg, num_envs=2, seed=0)
    rng = np.random.default_rng(0)
    lrs = []
    for _ in range(15):
        obs = rng.normal(size=(2, 3)).astype(np.float32)
        action = agent.act(obs)
        assert np.all(np.abs(action) <= 1)
        agent.observe(
            Transition(
                obs, action, np.ones(2, np.float32), obs, np.zeros(2, bool), np.zeros(2, bool)
            )
        )
        if metrics := agent.update():
            lrs.append(metrics["learning_rate"])
    assert lrs == pytest.approx([7e-4 * (1 - s / 100) for s in (10, 20, 30)])


def test_save_load_gives_the_same_greedy_actions(tmp_path):
    env = gym.make("CartPole-v1")
    agent = A2C(env.observation_space, env.action_space, {"num_threads": 1}, seed=0)
    _rollout(agent, env, 50)
    ckpt.save_checkpoint(tmp_path / "ckpt", {"agent": "a2c"}, agent.state_dict())
    clone = A2C(env.observation_space, env.action_space, {"num_threads": 1}, seed=9)
    clone.load_state_dict(ckpt.read_state(tmp_path / "ckpt"))
    probe = np.random.default_rng(1).normal(size=(32, 4)).astype(np.float32)
    np.testing.assert_array_equal(clone.act(probe, explore=False), agent.act(probe, explore=False))
    assert clone.n_updates == agent.n_updates == 10


def test_every_config_field_is_settable_with_set():
    defaults = A2C.Config()
    for field in dataclasses.fields(A2C.Config):
        value = getattr(defaults, field.name)
        assert getattr(build_config(A2C.Config, {field.name: str(value)}), field.name) == value


def test_tuned_sets_are_valid_configs():
    for name, overrides in config_sets(A2C).items():
        build_config(A2C.Config, dict(overrides))
        assert name in A2C.recommended_num_envs


def test_unsupported_spaces_are_refused():
    problem = A2C.check_spaces(spaces.Box(-1, 1, (4,)), spaces.MultiDiscrete([2, 2]))
    assert "a2c needs a Discrete or Box action space" in problem
    with pytest.raises(SpaceMismatchError):
        A2C(spaces.Dict({"a": spaces.Discrete(2)}), spaces.Discrete(2))
