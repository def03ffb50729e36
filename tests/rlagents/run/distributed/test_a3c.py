"""A3C: a worker's gradient is A2C's, applied by the learner as A2C applies it; asynchronous
workers with stale gradients learn CartPole; checkpoints load and resume with other workers."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlagents
from rlagents import registry
from rlagents.agent import Transition

CONFIG = {"n_steps": 5, "ent_coef": 0.01, "normalize_observations": True}


def _pair(config=CONFIG, num_envs=2):
    envs = gym.make_vec("CartPole-v1", num_envs=num_envs)
    spaces = envs.single_observation_space, envs.single_action_space
    a2c = registry.make("a2c", *spaces, num_envs=num_envs, seed=0, **config)
    a3c = registry.make("a3c", *spaces, num_envs=num_envs, seed=1, **config)
    a3c.set_weights(a2c.get_weights())
    return envs, a2c, a3c


def _same_rollout(envs, agents, n_steps):
    """Play ``n_steps`` with the first agent's actions; every agent acts too (it updates its
    observation statistics there) and observes the same transitions."""
    obs, _ = envs.reset(seed=3)
    for _ in range(n_steps):
        actions = [agent.act(obs) for agent in agents][0]  # noqa: RUF015 (every agent acts)
        next_obs, reward, terminated, truncated, _ = envs.step(actions)
        for agent in agents:
            t = Transition(obs, np.array(actions), reward, next_obs, terminated, truncated)
            agent.observe(t)
        obs = next_obs


def test_a_worker_gradient_is_the_a2c_gradient_of_the_same_rollout():
    envs, a2c, a3c = _pair()
    _same_rollout(envs, [a2c, a3c], n_steps=5)
    part = a3c.collected()
    assert part is not None and a3c.collected() is None  # the next rollout starts empty
    a2c.update()  # one A2C step: its parameters' .grad is the clipped gradient it applied
    a2c_grads = [p.grad.numpy() for p in a2c.parameters]
    assert len(part["gradients"]) == len(a2c_grads)
    for ours, theirs in zip(part["gradients"], a2c_grads, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert part["steps"] == 10
    assert set(part["metrics"]) >= {"policy_loss", "value_loss", "entropy"}


def test_the_learner_applies_a_gradient_as_a2c_steps():
    envs, a2c, worker = _pair()
    learner = registry.make("a3c", *_spaces(envs), num_envs=2, seed=2, **CONFIG)
    learner.set_weights(a2c.get_weights())
    _same_rollout(envs, [a2c, worker], n_steps=5)
    metrics = learner.learn_from([worker.collected()])
    a2c.update()
    for ours, theirs in zip(learner.parameters, a2c.parameters, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    assert learner.n_updates == 1 and learner.num_timesteps == 10
    assert "learning_rate" in metrics
    # the worker's observation statistics reached the learner
    np.testing.assert_allclose(learner.obs_normalizer.rms.mean, worker.obs_normalizer.rms.mean)


def _spaces(envs):
    return envs.single_observation_space, envs.single_action_space


def test_in_one_process_a3c_is_a2c():
    envs, a2c, a3c = _pair()
    _same_rollout(envs, [a2c, a3c], n_steps=5)
    a2c.update(), a3c.update()
    for ours, theirs in zip(a3c.parameters, a2c.parameters, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_asynchronous_workers_learn_cartpole(local_ray, tmp_path):
    result = rlagents.train(
        "CartPole-v1",
        "a3c",
        steps=250_000,  # the order gradients arrive in varies: the run is not repeatable
        seed=0,
        eval_every=5_000,
        stop_at_return=475,
        run_dir=tmp_path / "run",
        tensorboard=False,
    )
    evaluations = (tmp_path / "run" / "evaluations.csv").read_text().splitlines()[1:]
    best = max(float(row.split(",")[2]) for row in evaluations)
    assert best >= 475, evaluations
    metrics = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert '"staleness"' in metrics  # gradients are applied to newer weights than they came from
    assert result.summary["steps"] <= 250_000 + 64


def test_save_load_same_actions_and_resume_with_other_workers(local_ray, tmp_path):
    first = rlagents.train(
        "CartPole-v1", "a3c", steps=2_000, seed=0, run_dir=tmp_path / "a", tensorboard=False
    )
    agent, meta = rlagents.load_checkpoint(first.checkpoint)
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        agent.act(obs, explore=False), first.agent.act(obs, explore=False)
    )
    assert meta["agent"] == "a3c"
    resumed = rlagents.train(
        load=first.checkpoint,
        steps=2_000,
        config={"num_workers": 1},
        run_dir=tmp_path / "b",
        tensorboard=False,
    )
    assert resumed.summary["steps"] >= 4_000
    assert resumed.agent.config.num_workers == 1


@pytest.mark.parametrize("workers", [1, 3])
def test_workers_sets_num_workers(local_ray, tmp_path, workers):
    result = rlagents.train(
        "CartPole-v1",
        "a3c",
        steps=500,
        seed=0,
        workers=workers,
        run_dir=tmp_path / "r",
        tensorboard=False,
        eval_episodes=1,
    )
    assert result.agent.config.num_workers == workers
