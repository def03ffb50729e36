"""Deep cross-entropy method: learning, elite selection, checkpoints, config, spaces."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from rlagents_test_plugin.runner import run_summary as _run

from rlagents import checkpoint as ckpt
from rlagents.agent import Transition
from rlagents.agents.cem import CEM, CEMConfig
from rlagents.config import build_config
from rlagents.errors import ConfigError, SpaceMismatchError
from rlagents.run.tuned import config_sets


def test_learns_cartpole_through_the_runner(tmp_path):
    summary = _run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "cem", "--seed", "5", "--steps", "20000"),
        *("--eval-every", "5000", "--stop-at-return", "475"),
    )
    assert summary["reached_target"]  # seed 5 gets there at 5k steps, about 2 s


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cartpole_475_within_100k_steps(tmp_path, seed):
    summary = _run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "cem", "--seed", str(seed), "--steps", "100000"),
        *("--eval-every", "5000", "--stop-at-return", "475"),
    )
    assert summary["reached_target"]


class _Line(gym.Env):
    """A 1-D Box task: reward −|a − 0.5|; the best action is 0.5 whatever the state."""

    observation_space = spaces.Box(-1, 1, (2,), np.float32)
    action_space = spaces.Box(-2, 2, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.uniform(-1, 1, 2).astype(np.float32), {}

    def step(self, action):
        self.t += 1
        reward = -abs(float(action[0]) - 0.5)
        obs = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return obs, reward, False, self.t >= 10, {}


def _play(agent, env, steps, seed=0):
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
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
        agent.update()
        obs = env.reset()[0] if terminated or truncated else next_obs


def test_learns_a_continuous_action_by_regression():
    env = _Line()
    config = {"noise_std": 0.5, "n_epochs": 5, "noise_decay_iterations": 20}
    agent = CEM(env.observation_space, env.action_space, config, seed=0)
    _play(agent, env, 6000)
    actions = agent.act(np.random.default_rng(1).uniform(-1, 1, (20, 2)), explore=False)
    assert actions.dtype == np.float32 and actions.shape == (20, 1)
    assert np.all(np.abs(actions - 0.5) < 0.2)


def test_keeps_the_elite_and_fits_it():
    agent = CEM(spaces.Box(-1, 1, (1,)), spaces.Discrete(2), {"n_episodes": 4}, seed=0)
    no = np.array([False])
    for g in (1.0, 2.0, 3.0, 10.0):  # four one-step episodes; the best took action 1
        action = np.array([1 if g == 10.0 else 0])
        agent.observe(
            Transition(
                np.zeros((1, 1), np.float32),
                action,
                np.array([g], np.float32),
                np.zeros((1, 1), np.float32),
                no,
                np.array([True]),
            )
        )
    metrics = agent.update()
    assert metrics["elite_pairs"] == 1.0  # 70th percentile of (1, 2, 3, 10) is 5.9
    assert metrics["return_mean"] == 4.0 and agent.iterations == 1
    for _ in range(30):  # refit the same elite: the policy moves to action 1
        agent._fit(*_tensors([np.zeros((1, 1), np.float32)], [np.array([1])]))
    assert agent.act(np.zeros((1, 1), np.float32), explore=False)[0] == 1


def _one_step_episodes(agent, returns):
    for g in returns:
        agent.observe(
            Transition(
                np.zeros((1, 1), np.float32),
                np.array([0]),
                np.array([g], np.float32),
                np.zeros((1, 1), np.float32),
                np.array([False]),
                np.array([True]),
            )
        )
    return agent.update()


def test_elite_memory_keeps_a_good_episode_for_that_many_iterations():
    config = {"n_episodes": 4, "elite_percentile": 50.0, "elite_memory": 2}
    agent = CEM(spaces.Box(-1, 1, (1,)), spaces.Discrete(2), config, seed=0)
    assert _one_step_episodes(agent, (1.0, 2.0, 9.0, 10.0))["elite_pairs"] == 2.0
    # The next batch is poor: 9 and 10 set the percentile with it and are the elite again
    metrics = _one_step_episodes(agent, (1.0, 1.0, 2.0, 2.0))
    assert metrics["elite_threshold"] == 2.0 and metrics["return_mean"] == 1.5
    assert sorted(g for _, _, g, _ in agent._kept) == [2.0, 2.0, 9.0, 10.0]
    # kept for two iterations after their own: then they are gone
    _one_step_episodes(agent, (0.0, 0.0, 0.0, 0.0))
    assert sorted(g for _, _, g, _ in agent._kept) == [2.0, 2.0]
    fresh = CEM(spaces.Box(-1, 1, (1,)), spaces.Discrete(2), config, seed=1)
    fresh.load_state_dict(agent.state_dict())  # a resumed run keeps them too
    assert [(g, left) for *_, g, left in fresh._kept] == [(g, n) for *_, g, n in agent._kept]


def test_without_elite_memory_nothing_is_kept():
    agent = CEM(spaces.Box(-1, 1, (1,)), spaces.Discrete(2), {"n_episodes": 4}, seed=0)
    _one_step_episodes(agent, (1.0, 2.0, 9.0, 10.0))
    assert agent._kept == []
    assert _one_step_episodes(agent, (1.0, 1.0, 2.0, 2.0))["elite_threshold"] == 2.0


def _tensors(obs, actions):
    import torch

    return torch.as_tensor(np.concatenate(obs)), torch.as_tensor(np.concatenate(actions))


def test_several_envs(tmp_path):
    summary = _run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "cem", "--seed", "0", "--steps", "3000"),
        *("--num-envs", "3", "--eval-episodes", "2"),
    )
    assert summary["steps"] == 3000 and summary["episodes"] > 16


@pytest.mark.parametrize("discrete", [True, False])
def test_save_load_gives_the_same_greedy_actions(discrete, tmp_path):
    env = gym.make("CartPole-v1") if discrete else _Line()
    agent = CEM(env.observation_space, env.action_space, {"n_episodes": 4}, seed=0)
    _play(agent, env, 500)
    ckpt.save_checkpoint(tmp_path / "ck", {"agent": "cem"}, agent.state_dict())
    fresh = CEM(env.observation_space, env.action_space, {"n_episodes": 4}, seed=1)
    fresh.load_state_dict(ckpt.read_state(tmp_path / "ck"))
    obs = np.random.default_rng(0).uniform(-1, 1, (50, *env.observation_space.shape))
    obs = obs.astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs, explore=False), fresh.act(obs, explore=False))
    assert fresh.iterations == agent.iterations


def test_every_config_field_is_settable():
    defaults = CEMConfig()
    pairs = {f.name: str(getattr(defaults, f.name)) for f in dataclasses.fields(CEMConfig)}
    assert build_config(CEMConfig, pairs) == defaults
    for tuned in config_sets(CEM).values():
        build_config(CEMConfig, {k: str(v) for k, v in tuned.items()})
    with pytest.raises(ConfigError, match="elite_percentile"):
        build_config(CEMConfig, {"elite_percentile": "100"})


def test_unsupported_spaces_are_refused():
    with pytest.raises(SpaceMismatchError, match="Discrete or Box action"):
        CEM(spaces.Box(-1, 1, (3,)), spaces.MultiBinary(2))
    with pytest.raises(SpaceMismatchError, match="finite bounds"):
        CEM(spaces.Box(-1, 1, (3,)), spaces.Box(-np.inf, np.inf, (1,)))
