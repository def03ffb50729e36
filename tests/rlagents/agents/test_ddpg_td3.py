"""DDPG and TD3: learning on Pendulum (through the runner), actions inside the bounds, the
twin-critic target and target-policy smoothing against hand-computed values, exploration noise,
checkpoints, config, refused spaces."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from rlagents_test_plugin.runner import invoke
from rlagents_test_plugin.runner import run_summary as run

from rlagents import checkpoint as ckpt
from rlagents import registry
from rlagents.agent import Transition
from rlagents.agents.ddpg import DDPG
from rlagents.agents.td3 import TD3
from rlagents.common.frame_replay import FrameReplayBuffer
from rlagents.common.networks import ParallelMLP
from rlagents.common.noise import GaussianNoise, OrnsteinUhlenbeckNoise, make_noise
from rlagents.common.replay import ReplayBatch
from rlagents.common.rng import rng_state
from rlagents.config import build_config
from rlagents.errors import ConfigError, SpaceMismatchError
from rlagents.run.tuned import config_sets

AGENTS = [DDPG, TD3]
PENDULUM_OBS = spaces.Box(-8.0, 8.0, (3,), np.float32)
ODD_BOUNDS = spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([1.0, 5.0], np.float32))


def feed(agent, env, n_steps: int, seed: int = 0, learn: bool = True) -> dict:
    """Play ``n_steps`` in ``env`` (one env), feeding and updating the agent."""
    obs, _ = env.reset(seed=seed)
    metrics: dict = {}
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
        if learn:
            metrics = agent.update() or metrics
        obs = env.reset()[0] if terminated or truncated else next_obs
    return metrics


# ---------------------------------------------------------------------------------- learning
def test_td3_learns_pendulum_through_the_runner(tmp_path):
    summary = run(
        tmp_path,
        *("--env", "Pendulum-v1", "--agent", "td3", "--seed", "0", "--steps", "7000"),
        *("--eval-every", "1000", "--eval-episodes", "10", "--stop-at-return", "-400"),
        *("--set", "num_threads=1"),
    )
    assert summary["eval_mean_return"] >= -400  # random play: about -1200


def test_ddpg_learns_pendulum_with_ornstein_uhlenbeck_noise():
    env = gym.make("Pendulum-v1")
    cfg = {**config_sets(DDPG)["Pendulum-v1"], "action_noise": "ornstein_uhlenbeck"}
    agent = DDPG(env.observation_space, env.action_space, {**cfg, "num_threads": 1}, seed=1)
    feed(agent, env, 5000, seed=1)  # about -150 by then on seeds 0-3
    assert evaluate(agent, "Pendulum-v1", episodes=5) >= -400


@pytest.mark.slow
@pytest.mark.parametrize("name", ["td3", "ddpg"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pendulum_reaches_minus_200_within_20k_steps(tmp_path, name, seed):
    summary = run(
        tmp_path,
        *("--env", "Pendulum-v1", "--agent", name, "--seed", str(seed), "--steps", "20000"),
        *("--eval-every", "1000", "--eval-episodes", "10", "--stop-at-return", "-200"),
        *("--set", "num_threads=1"),
    )
    assert summary["reached_target"], summary


def evaluate(agent, env_id: str, episodes: int) -> float:
    env = gym.make(env_id)
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=1000 + k)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs[None], explore=False)[0])
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def test_two_envs_and_gradient_steps_minus_one(tmp_path):
    summary = run(
        tmp_path,
        *("--env", "Pendulum-v1", "--agent", "td3", "--seed", "0", "--steps", "300"),
        *("--num-envs", "2", "--eval-episodes", "1"),
        *("--set", "learning_starts=100", "--set", "gradient_steps=-1", "--set", "batch_size=32"),
        *("--set", "train_freq=2", "--set", "num_threads=1"),
    )
    assert summary["steps"] == 300


# ------------------------------------------------------------------------------------ acting
@pytest.mark.parametrize("cls", AGENTS)
@pytest.mark.parametrize("noise", ["ornstein_uhlenbeck", "normal", "none"])
def test_actions_are_float32_inside_the_bounds(cls, noise):
    cfg = {"action_noise": noise, "noise_std": 5.0, "learning_starts": 50, "batch_size": 16}
    agent = cls(PENDULUM_OBS, ODD_BOUNDS, {**cfg, "num_threads": 1}, num_envs=3, seed=0)
    rng = np.random.default_rng(0)
    for step in range(120):
        obs = rng.uniform(-8, 8, (3, 3)).astype(np.float32)
        for explore in (True, False):
            actions = agent.act(obs, explore=explore)
            assert actions.dtype == np.float32 and actions.shape == (3, 2)
            assert all(ODD_BOUNDS.contains(a) for a in actions), actions
        t = Transition(
            obs, actions, np.ones(3, np.float32), obs, np.zeros(3, bool), np.zeros(3, bool)
        )
        agent.observe(t._replace(truncated=np.array([step % 7 == 0] * 3)))
        agent.update()
    assert agent.n_updates > 0


def test_greedy_actions_span_the_bounds():
    """tanh's ±1 maps onto low/high exactly, so the whole action range is reachable."""
    agent = DDPG(PENDULUM_OBS, ODD_BOUNDS, {"num_threads": 1}, seed=0)
    last = agent.online.actor[-2]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([-100.0, 100.0]))
    action = agent.act(np.zeros((1, 3), np.float32), explore=False)[0]
    np.testing.assert_array_equal(action, [-2.0, 5.0])


def test_warm_up_actions_are_uniform_then_the_policy_takes_over():
    agent = TD3(PENDULUM_OBS, ODD_BOUNDS, {"learning_starts": 10, "num_threads": 1}, seed=0)
    obs = np.zeros((1, 3), np.float32)
    warm_up = np.stack([agent.act(obs)[0] for _ in range(200)])
    assert warm_up[:, 1].min() < 0.5 and warm_up[:, 1].max() > 4.5  # spread over [0, 5]
    agent.steps = 10
    greedy = agent.act(obs, explore=False)[0]
    noisy = np.stack([agent.act(obs)[0] for _ in range(200)])
    assert np.abs(noisy.mean(0) - greedy).max() < 0.2  # noise σ = 0.1 around μ(s)


# ------------------------------------------------------------------ targets, hand-computed
def constant_actor(agent, value: float) -> None:
    """Make the target actor answer ``value`` (in [-1, 1]) everywhere."""
    last = agent.target.actor[-2]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(float(np.arctanh(value)))


def linear_critics(critic: ParallelMLP, slopes: list[float]) -> None:
    """Q_i(s, a) = slopes[i]·a for a ≥ 0: the action passes through one ReLU unit per layer."""
    with torch.no_grad():
        for p in critic.parameters():
            p.zero_()
        critic.weights[0][:, -1, 0] = 1.0  # the action is the last input
        critic.weights[1][:, 0, 0] = 1.0
        critic.out_weight[:, 0, 0] = torch.tensor(slopes)


def batch(rewards, terminated, obs_dim=3) -> ReplayBatch:
    n = len(rewards)
    return ReplayBatch(
        obs=torch.zeros(n, obs_dim),
        actions=torch.zeros(n, 1),
        rewards=torch.tensor(rewards, dtype=torch.float32),
        next_obs=torch.zeros(n, obs_dim),
        terminated=torch.tensor(terminated, dtype=torch.float32),
    )


def test_td3_target_takes_the_smaller_of_the_twin_critics():
    act_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    agent = TD3(
        PENDULUM_OBS,
        act_space,
        {"gamma": 0.5, "target_policy_noise": 0.0, "num_threads": 1},
        seed=0,
    )
    constant_actor(agent, 0.5)
    linear_critics(agent.target.critic, [4.0, 2.0])  # Q'_1 = 2.0, Q'_2 = 1.0 at a' = 0.5
    y = agent.td_target(batch([1.0, -1.0], [0.0, 1.0]))
    # y = r + γ(1 − terminated)·min(2, 1): 1 + 0.5·1 and, terminated, −1
    torch.testing.assert_close(y, torch.tensor([1.5, -1.0]))


def test_ddpg_target_uses_its_single_critic():
    act_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    agent = DDPG(PENDULUM_OBS, act_space, {"gamma": 0.5, "num_threads": 1}, seed=0)
    assert agent.target.critic.copies == 1
    constant_actor(agent, 0.5)
    linear_critics(agent.target.critic, [4.0])  # Q' = 2.0
    y = agent.td_target(batch([1.0, 0.0], [0.0, 0.0]))
    torch.testing.assert_close(y, torch.tensor([2.0, 1.0]))


def test_target_policy_smoothing_noise_is_clipped_then_the_action():
    act_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    cfg = {"target_policy_noise": 0.2, "target_noise_clip": 0.3, "num_threads": 1}
    agent = TD3(PENDULUM_OBS, act_space, cfg, seed=0)
    actions = torch.tensor([[0.0], [0.9], [-0.95], [0.5]] * 256)
    replay = torch.Generator().manual_seed(0)
    replay.set_state(agent.gen.get_state())
    eps = torch.randn(actions.shape, generator=replay)
    smoothed = agent.target_actions(actions.clone())
    # hand-computed: a' = clip(a + clip(0.2·ε, −0.3, 0.3), −1, 1)
    expected = (actions + (0.2 * eps).clamp(-0.3, 0.3)).clamp(-1.0, 1.0)
    torch.testing.assert_close(smoothed, expected)
    assert (smoothed - actions).abs().max() <= 0.3 + 1e-6
    assert smoothed.max() <= 1.0 and smoothed.min() >= -1.0
    assert (smoothed[1::4] == 1.0).any() and (smoothed[2::4] == -1.0).any()
    assert (smoothed - actions).abs().max() > 0.29  # some noise was clipped at ±0.3
    assert torch.equal(agent.target_actions(actions), actions) is False


def test_ddpg_target_action_has_no_smoothing():
    agent = DDPG(PENDULUM_OBS, ODD_BOUNDS, {"num_threads": 1}, seed=0)
    actions = torch.rand(8, 2)
    assert torch.equal(agent.target_actions(actions), actions)


def test_twin_critics_are_independent_and_match_a_loop_of_mlps():
    critic = ParallelMLP(4, (8, 8), 2, scalar_head=True)
    x = torch.randn(5, 4)
    q = critic(x)
    assert q.shape == (2, 5)
    for i in range(2):
        h = x
        for w, b in zip(critic.weights, critic.biases, strict=True):
            h = torch.relu(h @ w[i] + b[i])
        assert critic.out_weight is not None and critic.out_bias is not None
        torch.testing.assert_close(q[i], h @ critic.out_weight[i, 0] + critic.out_bias[i])
    torch.testing.assert_close(critic(x, 1)[0], q[0])


def test_td3_delays_the_actor_and_the_targets():
    agent = TD3(
        PENDULUM_OBS,
        ODD_BOUNDS,
        {"policy_delay": 3, "learning_starts": 0, "num_threads": 1},
        seed=0,
    )
    feed(agent, RandomEnv(), 40, learn=False)
    actor_before = agent.actor_opt.flat.detach().clone()
    target_before = [t.detach().clone() for t in agent.target_flat]
    for k in range(1, 7):
        agent.train_step(agent.buffer.sample(32, agent.rng))
        moved = not torch.equal(agent.actor_opt.flat, actor_before)
        target_moved = any(
            not torch.equal(t, b) for t, b in zip(agent.target_flat, target_before, strict=True)
        )
        assert moved == (k >= 3) and target_moved == (k >= 3), k


class RandomEnv(gym.Env):
    """Pendulum-shaped spaces, random observations, 10-step episodes (fast)."""

    observation_space = PENDULUM_OBS
    action_space = ODD_BOUNDS

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        assert self.action_space.contains(action)
        self.t += 1
        reward = -float(np.square(action).sum())
        return self.observation_space.sample(), reward, False, self.t >= 10, {}


# ------------------------------------------------------------------------------------- noise
def test_ornstein_uhlenbeck_is_correlated_and_restarts_where_episodes_end():
    noise = OrnsteinUhlenbeckNoise((2, 1), seed=0, theta=0.15, dt=1e-2)
    samples = np.stack([noise(0.3) for _ in range(2000)])[:, 0, 0]
    lag1 = np.corrcoef(samples[:-1], samples[1:])[0, 1]
    assert lag1 > 0.9  # consecutive draws push the same way
    noise.reset(np.array([True, False]))
    assert noise.x[0, 0] == 0.0 and noise.x[1, 0] != 0.0


def test_gaussian_noise_scale_and_state_round_trip():
    noise = GaussianNoise((5000, 1), seed=0)
    assert abs(noise(0.5).std() - 0.5) < 0.02
    state = noise.state_dict()
    first = noise(1.0)
    noise.load_state_dict(state)
    np.testing.assert_array_equal(noise(1.0), first)
    assert make_noise("none", (1, 1)) is None
    with pytest.raises(ValueError, match="unknown action noise"):
        make_noise("pink", (1, 1))


def test_noise_decays_linearly_as_configured():
    cfg = {"noise_std": 0.5, "noise_final_std": 0.1, "noise_decay_steps": 1000, "num_threads": 1}
    agent = DDPG(PENDULUM_OBS, ODD_BOUNDS, cfg, seed=0)
    assert [round(agent.noise_std(t), 6) for t in (0, 500, 1000, 5000)] == [0.5, 0.3, 0.1, 0.1]
    constant = DDPG(PENDULUM_OBS, ODD_BOUNDS, {"noise_std": 0.5, "num_threads": 1}, seed=0)
    assert constant.noise_std(10**6) == 0.5


# -------------------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("cls", AGENTS)
def test_save_load_gives_the_same_actions_and_continues_identically(tmp_path, cls):
    env = RandomEnv()
    cfg = {"learning_starts": 30, "batch_size": 16, "net_arch": (16, 16), "num_threads": 1}
    cfg["action_noise"] = "ornstein_uhlenbeck"
    agent = cls(PENDULUM_OBS, ODD_BOUNDS, cfg, seed=0)
    feed(agent, env, 60)
    ckpt.save_checkpoint(tmp_path / "ckpt", {"agent": cls.__name__}, agent.state_dict())
    clone = cls(PENDULUM_OBS, ODD_BOUNDS, cfg, seed=123)
    clone.load_state_dict(ckpt.read_state(tmp_path / "ckpt"))
    obs = np.random.default_rng(0).uniform(-8, 8, (7, 3)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs, explore=False), clone.act(obs, explore=False))
    # exploration noise, replay sampling and smoothing noise resume where they were
    np.testing.assert_array_equal(agent.act(obs[:1]), clone.act(obs[:1]))
    agent.train_step(agent.buffer.sample(16, agent.rng))
    clone.train_step(clone.buffer.sample(16, clone.rng))
    np.testing.assert_array_equal(agent.act(obs, explore=False), clone.act(obs, explore=False))
    assert (clone.steps, clone.n_updates) == (agent.steps, agent.n_updates)


@pytest.mark.parametrize("cls", AGENTS)
def test_generator_states_load_in_either_form(cls):
    """Checkpoints hold the generators' raw states; rng_state's form (decimal strings) loads too."""
    cfg = {"learning_starts": 30, "batch_size": 16, "net_arch": (16, 16), "num_threads": 1}
    agent = cls(PENDULUM_OBS, ODD_BOUNDS, {**cfg, "action_noise": "ornstein_uhlenbeck"}, seed=0)
    feed(agent, RandomEnv(), 40)
    state = agent.state_dict()
    state = {**state, "rng": rng_state(agent.rng), "noise": {**state["noise"]}}
    state["noise"]["rng"] = rng_state(agent.noise.rng)
    clone = cls(PENDULUM_OBS, ODD_BOUNDS, {**cfg, "action_noise": "ornstein_uhlenbeck"}, seed=9)
    clone.load_state_dict(state)
    obs = np.zeros((1, 3), np.float32)
    np.testing.assert_array_equal(agent.act(obs), clone.act(obs))  # the noise's generator
    np.testing.assert_array_equal(agent.rng.random(4), clone.rng.random(4))


def test_numpy_actor_follows_the_torch_actor_through_updates():
    agent = TD3(PENDULUM_OBS, ODD_BOUNDS, {"learning_starts": 0, "num_threads": 1}, seed=0)
    assert agent._numpy_actor is not None
    feed(agent, RandomEnv(), 30)  # the optimiser moved the weights (in place)
    obs = np.random.default_rng(0).uniform(-8, 8, (5, 3)).astype(np.float32)
    with torch.no_grad():
        expected = agent.online.actor(torch.as_tensor(obs)).numpy()
    np.testing.assert_allclose(agent._policy(obs, explore=False), expected, rtol=1e-5, atol=1e-6)


def test_soft_target_update_records_no_graph():
    agent = DDPG(PENDULUM_OBS, ODD_BOUNDS, {"learning_starts": 0, "num_threads": 1}, seed=0)
    feed(agent, RandomEnv(), 20)
    assert agent.n_updates > 0
    assert all(t.grad_fn is None and not t.requires_grad for t in agent.target_flat)


def test_resume_through_the_runner(tmp_path):
    first = run(
        tmp_path,
        *("--env", "Pendulum-v1", "--agent", "ddpg", "--seed", "0", "--steps", "400"),
        *("--eval-episodes", "1", "--set", "learning_starts=200", "--set", "batch_size=32"),
        *("--set", "num_threads=1"),  # kept by the checkpoint for the resumed run
    )
    resumed = run(
        tmp_path,
        *("--env", "Pendulum-v1", "--agent", "ddpg", "--steps", "200"),
        *("--load", first["checkpoint"], "--eval-episodes", "1"),
        name="resumed",
    )
    assert resumed["steps"] == 600


# ------------------------------------------------------------------------ images (CarRacing)
def test_image_observations_share_one_cnn_trained_by_the_critic():
    obs_space = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    act_space = spaces.Box(np.array([-1, 0, 0], np.float32), np.array([1, 1, 1], np.float32))
    cfg = {"learning_starts": 8, "batch_size": 4, "buffer_size": 64, "num_threads": 1}
    agent = TD3(obs_space, act_space, {**cfg, "policy_delay": 1}, num_envs=2, seed=0)
    assert agent._numpy_actor is None
    assert isinstance(agent.buffer, FrameReplayBuffer)  # each 84x84 frame stored once
    rng = np.random.default_rng(0)
    encoder_before = [p.detach().clone() for p in agent.online.encoder.parameters()]
    actor_encoder = [id(p) for p in agent.online.actor.parameters()]
    assert not {id(p) for p in agent.online.encoder.parameters()} & set(actor_encoder)
    obs = rng.integers(0, 256, (2, 4, 84, 84), dtype=np.uint8)
    for _ in range(6):
        actions = agent.act(obs)
        assert all(act_space.contains(a) for a in actions)
        frame = rng.integers(0, 256, (2, 1, 84, 84), dtype=np.uint8)
        next_obs = np.concatenate([obs[:, 1:], frame], axis=1)  # a frame stack moves by one
        done = np.zeros(2, bool)
        agent.observe(Transition(obs, actions, np.ones(2, np.float32), next_obs, done, done))
        agent.update()
        obs = next_obs
    assert agent.n_updates == 3  # after 8, 10 and 12 env steps
    moved = [
        not torch.equal(p, b)
        for p, b in zip(agent.online.encoder.parameters(), encoder_before, strict=True)
    ]
    assert all(moved)


def test_image_agent_checkpoint_round_trip(tmp_path):
    obs_space = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    act_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
    agent = DDPG(obs_space, act_space, {"buffer_size": 64, "num_threads": 1}, seed=0)
    ckpt.save_checkpoint(tmp_path / "ckpt", {"agent": "ddpg"}, agent.state_dict())
    clone = DDPG(obs_space, act_space, {"buffer_size": 64, "num_threads": 1}, seed=1)
    clone.load_state_dict(ckpt.read_state(tmp_path / "ckpt"))
    obs = np.random.default_rng(0).integers(0, 256, (2, 4, 84, 84), dtype=np.uint8)
    np.testing.assert_array_equal(agent.act(obs, explore=False), clone.act(obs, explore=False))
    conv = clone.online.encoder.convs[0].weight  # still a channels-last view of the flat buffer
    assert conv.is_contiguous(memory_format=torch.channels_last)


# ------------------------------------------------------------------------------ config, spaces
@pytest.mark.parametrize("cls", AGENTS)
def test_every_config_field_is_settable_from_its_text(cls):
    defaults = cls.Config()
    for field in dataclasses.fields(cls.Config):
        value = getattr(defaults, field.name)
        built = build_config(cls.Config, {field.name: str(value)})
        assert getattr(built, field.name) == value, field.name


@pytest.mark.parametrize("cls", AGENTS)
def test_presets_are_valid_configs(cls):
    for name, overrides in config_sets(cls).items():
        config = build_config(cls.Config, {k: str(v) for k, v in overrides.items()})
        assert dataclasses.asdict(config).items() >= dict(overrides).items(), name


@pytest.mark.parametrize(
    "key, value",
    [
        ("tau", "0"),
        ("gamma", "1.5"),
        ("gradient_steps", "0"),
        ("noise_std", "-1"),
        ("net_arch", "()"),
        ("action_noise", "pink"),
        ("batch_size", "0"),
    ],
)
def test_bad_values_are_refused(key, value):
    with pytest.raises(ConfigError):
        build_config(DDPG.Config, {key: value})


def test_td3_values_are_checked_too():
    with pytest.raises(ConfigError, match="policy_delay"):
        build_config(TD3.Config, {"policy_delay": "0"})


@pytest.mark.parametrize("name", ["ddpg", "td3"])
def test_discrete_actions_are_refused_with_a_suggestion(name):
    env = gym.make("CartPole-v1")
    cls = registry.load(name)
    problem = cls.check_spaces(env.observation_space, env.action_space)
    assert problem and "Box" in problem and "dqn or ppo" in problem and name in problem
    with pytest.raises(SpaceMismatchError, match="dqn or ppo"):
        registry.make(name, env.observation_space, env.action_space)


def test_unbounded_actions_are_refused():
    unbounded = spaces.Box(-np.inf, np.inf, (2,), np.float32)
    assert "finite bounds" in TD3.check_spaces(PENDULUM_OBS, unbounded)


def test_the_runner_refuses_a_discrete_env(tmp_path):
    result = invoke("--env", "CartPole-v1", "--agent", "td3", run_dir=tmp_path / "r")
    assert result.exit_code == 2
    assert "dqn or ppo" in result.stderr
