"""Q-learning and SARSA: learning, SARSA's on-policy A', schedules, checkpoints, config, spaces."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from rlagents_test_plugin.runner import invoke, run_summary

from rlagents import checkpoint as ckpt
from rlagents.agent import Transition
from rlagents.agents.qlearning import QLearning
from rlagents.agents.sarsa import SARSA
from rlagents.agents.tabular import TabularConfig
from rlagents.config import build_config
from rlagents.errors import ConfigError, SpaceMismatchError
from rlagents.run.tuned import config_sets

AGENTS = [QLearning, SARSA]


def _train(agent, env, steps, seed=0):
    """The runner's order: act(obs) → env.step → observe(t) → update()."""
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        action = agent.act(np.array([obs]))
        next_obs, reward, terminated, truncated, _ = env.step(action[0])
        agent.observe(
            Transition(
                np.array([obs]),
                action,
                np.array([reward], dtype=np.float32),
                np.array([next_obs]),
                np.array([terminated]),
                np.array([truncated]),
            )
        )
        agent.update()
        obs = env.reset()[0] if terminated or truncated else next_obs


def _greedy_return(agent, env, episodes=10, seed=100):
    total = 0.0
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(
                agent.act(np.array([obs]), explore=False)[0]
            )
            total += reward
            done = terminated or truncated
    return total / episodes


@pytest.mark.parametrize("cls", AGENTS)
def test_learns_deterministic_frozenlake(cls):
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = cls(env.observation_space, env.action_space, {"learning_rate": 0.5}, seed=0)
    _train(agent, env, 3_000)
    assert _greedy_return(agent, env) == 1.0  # the shortest path to the goal, every time


@pytest.mark.parametrize(("name", "steps"), [("qlearning", 60_000), ("sarsa", 130_000)])
def test_learns_taxi_through_the_runner(name, steps, tmp_path):
    # SARSA's Taxi set takes smaller steps (α 0.1): seed 0 is optimal from 120k on
    args = ["--env", "Taxi-v4", "--agent", name, "--steps", str(steps), "--seed", "0"]
    summary = run_summary(tmp_path, *args, "--eval-episodes", "20")
    assert summary["eval_mean_return"] >= 7.0  # optimal play averages about 8; random about -770


def test_several_envs_through_the_runner(tmp_path):
    args = ["--env", "Taxi-v4", "--agent", "qlearning", "--steps", "40000", "--num-envs", "4"]
    assert run_summary(tmp_path, *args, "--seed", "1")["eval_mean_return"] >= 5.0


def _has_discretized_preset():
    try:
        import wrappers
    except ImportError:
        return False
    return "discretized" in getattr(wrappers, "PRESETS", {})


@pytest.mark.slow
@pytest.mark.skipif(not _has_discretized_preset(), reason="wrappers.discretized not built yet")
@pytest.mark.parametrize("name", ["qlearning", "sarsa"])
def test_learns_cartpole_through_discretization(name, tmp_path):
    args = ["--env", "CartPole-v1", "--agent", name, "--steps", "300000", "--seed", "0"]
    summary = run_summary(tmp_path, *args, "--eval-every", "50000", "--stop-at-return", "195")
    assert summary["preset"] == "discretized" and summary["reached_target"]


def test_sarsa_acts_with_the_action_it_bootstrapped_from():
    env = gym.make("FrozenLake-v1", is_slippery=False)
    # ε = 1 throughout: every ε-greedy draw is the block's next random action.
    agent = SARSA(env.observation_space, env.action_space, {"exploration_schedule": "constant"})
    draws = agent.draws
    obs, _ = env.reset(seed=0)
    just_reset, pending = True, None
    for _ in range(300):
        n_before = draws.next
        action = agent.act(np.array([obs]))
        if just_reset:
            assert draws.next == n_before + 1  # a new episode: a fresh ε-greedy draw
        else:
            assert draws.next == n_before  # no new draw: act() takes the A' of the last update
            assert int(action[0]) == pending
        next_obs, reward, terminated, truncated, _ = env.step(action[0])
        agent.observe(
            Transition(
                np.array([obs]),
                action,
                np.array([reward], dtype=np.float32),
                np.array([next_obs]),
                np.array([terminated]),
                np.array([truncated]),
            )
        )
        n_before = draws.next
        agent.update()
        assert draws.next == n_before + (0 if terminated else 1)  # one A' per bootstrap
        if not terminated:
            pending = draws.integers[draws.next - 1]  # the A' of Q(S', A')
            # Greedy evaluation between steps must not consume the pending A'.
            agent.act(np.array([next_obs]), explore=False)
        just_reset = terminated or truncated
        obs = env.reset()[0] if just_reset else next_obs


def _end_episode(agent):
    """One terminated step: what ends an episode for the agent (and moves ε on)."""
    s, done, no = np.array([0]), np.array([True]), np.array([False])
    agent.observe(Transition(s, s, np.zeros(1, np.float32), s, done, no))
    agent.update()


def test_the_inverse_schedule_is_one_over_k():
    agent = QLearning(spaces.Discrete(3), spaces.Discrete(2))
    seen = [agent.epsilon]
    for _ in range(3):
        _end_episode(agent)
        seen.append(agent.epsilon)
    assert seen == [1.0, 0.5, 1 / 3, 0.25]


@pytest.mark.parametrize("schedule", ["linear", "exponential", "constant"])
def test_other_schedules_floor_at_final_eps(schedule):
    cfg = {"exploration_schedule": schedule, "exploration_final_eps": 0.1}
    cfg |= {"exploration_episodes": 10, "exploration_decay": 0.5}
    agent = QLearning(spaces.Discrete(3), spaces.Discrete(2), cfg)
    assert agent.epsilon == 1.0
    for _ in range(50):
        _end_episode(agent)
    assert agent.epsilon == (1.0 if schedule == "constant" else 0.1)


@pytest.mark.parametrize("cls", AGENTS)
def test_save_load_gives_the_same_greedy_actions(cls, tmp_path):
    env = gym.make("Taxi-v4")
    agent = cls(env.observation_space, env.action_space, seed=0)
    _train(agent, env, 5_000)
    ckpt.save_checkpoint(tmp_path / "ck", {"agent": "x"}, agent.state_dict())
    fresh = cls(env.observation_space, env.action_space, seed=1)
    fresh.load_state_dict(ckpt.read_state(tmp_path / "ck"))
    states = np.arange(500)
    np.testing.assert_array_equal(
        agent.act(states, explore=False), fresh.act(states, explore=False)
    )
    assert fresh.epsilon == agent.epsilon and fresh.episodes == agent.episodes


@pytest.mark.parametrize("cls", AGENTS)
def test_every_config_field_is_settable(cls):
    defaults = cls.Config()
    pairs = {f.name: str(getattr(defaults, f.name)) for f in dataclasses.fields(cls.Config)}
    assert build_config(cls.Config, pairs) == defaults
    for preset in config_sets(cls).values():
        build_config(cls.Config, {k: str(v) for k, v in preset.items()})


def test_bad_values_are_refused():
    with pytest.raises(ConfigError, match="learning_rate"):
        build_config(TabularConfig, {"learning_rate": "0"})
    with pytest.raises(ConfigError, match="exploration_final_eps"):
        build_config(TabularConfig, {"exploration_final_eps": "1.5"})


@pytest.mark.parametrize("cls", AGENTS)
def test_unsupported_spaces_are_refused(cls):
    box = spaces.Box(-1, 1, (4,))
    with pytest.raises(SpaceMismatchError, match=r"Discrete observation.*discretized"):
        cls(box, spaces.Discrete(2))
    with pytest.raises(SpaceMismatchError, match="Discrete action"):
        cls(spaces.Discrete(3), box)


def test_runner_refuses_box_without_the_preset(tmp_path):
    args = ["--env", "CartPole-v1", "--agent", "qlearning", "--preset", "none", "--steps", "10"]
    result = invoke(*args, run_dir=tmp_path / "r")
    assert result.exit_code == 2
