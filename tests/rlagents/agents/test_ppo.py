"""PPO: learning (clipped and KL objectives, Discrete and Box, vectors and images), the adaptive
β, the policy's distributions, checkpoints, config and spaces."""

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
from rlagents.agents.ppo import PPO, adapt_kl_beta, approx_kl
from rlagents.common.networks import NatureCNN
from rlagents.config import build_config
from rlagents.errors import ConfigError, SpaceMismatchError
from rlagents.run.tuned import config_sets

FAST = {"n_steps": 32, "batch_size": 64, "n_epochs": 4, "learning_rate": 3e-3, "num_threads": 1}


# ------------------------------------------------------------------------------- tiny envs
class TargetBox(gym.Env):
    """Observe a target in [-1, 1]; reward −(action − target)²; 16 steps, then truncated."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Box(-2.0, 2.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.target = self.np_random.uniform(-1, 1, 1).astype(np.float32)
        return self.target.copy(), {}

    def step(self, action):
        reward = -float(np.sum((np.asarray(action, dtype=np.float32) - self.target) ** 2))
        self.t += 1
        self.target = self.np_random.uniform(-1, 1, 1).astype(np.float32)
        return self.target.copy(), reward, False, self.t >= 16, {}


class ImageSide(gym.Env):
    """A 2×36×36 uint8 image lit on the left or the right; reward 1 for naming the side."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self) -> None:
        self.observation_space = spaces.Box(0, 255, (2, 36, 36), np.uint8)
        self.action_space = spaces.Discrete(2)

    def _obs(self):
        self.side = int(self.np_random.integers(2))
        image = np.zeros((2, 36, 36), np.uint8)
        image[:, :, self.side * 18 : (self.side + 1) * 18] = 255
        return image

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        reward = float(int(action) == self.side)
        self.t += 1
        return self._obs(), reward, self.t >= 8, False, {}


for _env_id, _cls in (("PPOTest/TargetBox-v0", TargetBox), ("PPOTest/ImageSide-v0", ImageSide)):
    if _env_id not in gym.registry:
        gym.register(_env_id, entry_point=_cls)


# ------------------------------------------------------------------------------- learning
@pytest.mark.parametrize("objective", ["clip", "kl"])
def test_solves_cartpole_through_the_runner(tmp_path, objective):
    """The CartPole tuned set (rl-zoo3's settings) with its 8 envs, both objectives."""
    summary = run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "ppo", "--num-envs", "8", "--seed", "0"),
        *("--steps", "40000", "--eval-every", "5000", "--eval-episodes", "5"),
        *("--stop-at-return", "475", "--set", "num_threads=1", "--set", f"objective={objective}"),
    )
    assert summary["eval_mean_return"] >= 450  # random play: about 22


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["clip", "kl"])
@pytest.mark.parametrize("seed", [1, 2])
def test_solves_cartpole_within_50k_steps_other_seeds(tmp_path, objective, seed):
    """rl-zoo3's settings solve CartPole well within 50k steps, on any seed: a greedy evaluation
    (10 episodes) of at least 475 by then."""
    summary = run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "ppo", "--num-envs", "8", "--seed", str(seed)),
        *("--steps", "50000", "--eval-every", "5000", "--eval-episodes", "10"),
        *("--stop-at-return", "475", "--set", f"objective={objective}"),
    )
    assert summary["reached_target"]


@pytest.mark.parametrize("box_actions", ["clip", "tanh", "beta"])
def test_learns_continuous_actions(tmp_path, box_actions):
    summary = run(
        tmp_path,
        *("--env", "PPOTest/TargetBox-v0", "--agent", "ppo", "--num-envs", "4", "--seed", "0"),
        *("--steps", "8000", "--eval-episodes", "10"),
        *(f"--set={k}={v}" for k, v in FAST.items()),
        f"--set=box_actions={box_actions}",
    )
    assert summary["eval_mean_return"] >= -1.0  # 16 steps; the untrained policy: about -21


def test_learns_from_images_with_the_cnn(tmp_path):
    summary = run(
        tmp_path,
        *("--env", "PPOTest/ImageSide-v0", "--agent", "ppo", "--num-envs", "4", "--seed", "0"),
        *("--steps", "3000", "--eval-episodes", "10"),
        *(f"--set={k}={v}" for k, v in FAST.items()),
        "--set=net_arch=()",
    )
    assert summary["eval_mean_return"] >= 7.0  # of 8; chance: 4


def test_one_env_and_normalisation_run(tmp_path):
    summary = run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "ppo", "--seed", "3", "--steps", "600"),
        *(f"--set={k}={v}" for k, v in FAST.items()),
        *("--set", "normalize_observations=true", "--set", "normalize_rewards=true"),
        *("--set", "clip_range_vf=0.2", "--set", "ent_coef=0.01", "--eval-episodes", "1"),
    )
    assert summary["steps"] == 600


# ------------------------------------------------------------------------------- the KL penalty
def test_adaptive_kl_rule():
    assert adapt_kl_beta(1.0, kl=0.016, target=0.01) == 2.0  # above 1.5·δ
    assert adapt_kl_beta(1.0, kl=0.006, target=0.01) == 0.5  # below δ/1.5
    assert adapt_kl_beta(1.0, kl=0.01, target=0.01) == 1.0


def _fill_rollout(agent, env, seed=0):
    obs, _ = env.reset(seed=seed)
    while not agent.buffer.full:
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
        obs = env.reset()[0] if terminated or truncated else next_obs


@pytest.mark.parametrize(("kl_target", "direction"), [(1e-7, 2.0), (10.0, 0.5)])
def test_kl_beta_moves_the_right_way(kl_target, direction):
    """A target far below what a big step moves (β doubles), or far above it (β halves)."""
    env = gym.make("CartPole-v1")
    cfg = {**FAST, "objective": "kl", "kl_target": kl_target, "kl_beta": 0.1, "learning_rate": 1e-2}
    agent = PPO(env.observation_space, env.action_space, cfg, seed=0)
    _fill_rollout(agent, env)
    metrics = agent.update()
    assert metrics["kl_beta"] == 0.1  # the β this update used
    assert agent.kl_beta == pytest.approx(0.1 * direction)
    assert (metrics["kl"] > 1.5 * kl_target) if direction > 1 else (metrics["kl"] < kl_target / 1.5)


def _updated_weights(cfg):
    env = gym.make("CartPole-v1")
    agent = PPO(
        env.observation_space, env.action_space, {**FAST, "learning_rate": 1e-2, **cfg}, seed=0
    )
    _fill_rollout(agent, env)
    metrics = agent.update()
    return metrics, torch.nn.utils.parameters_to_vector(agent.policy.parameters())


def test_target_kl_stops_the_epochs_once_the_policy_has_moved_that_far():
    """One 32-row minibatch per epoch: the first step starts at KL 0, the second epoch's
    minibatch is past a tiny target, so the update is exactly a one-epoch update."""
    stopped, stopped_weights = _updated_weights({"target_kl": 1e-6})
    _, one_epoch_weights = _updated_weights({"n_epochs": 1})
    assert stopped["epochs"] == 1.0
    torch.testing.assert_close(stopped_weights, one_epoch_weights)

    unreached, unreached_weights = _updated_weights({"target_kl": 10.0})
    _, default_weights = _updated_weights({})
    assert unreached["epochs"] == FAST["n_epochs"]
    torch.testing.assert_close(unreached_weights, default_weights)


def test_approx_kl_is_zero_for_the_same_policy_and_positive_otherwise():
    assert approx_kl(torch.zeros(8)) == 0.0
    assert approx_kl(torch.tensor([0.3, -0.2, 0.1])) > 0.0


def test_an_update_reports_its_diagnostics():
    env = gym.make("CartPole-v1")
    agent = PPO(env.observation_space, env.action_space, FAST, seed=0)
    _fill_rollout(agent, env)
    metrics = agent.update()
    for key in (
        "policy_loss",
        "value_loss",
        "entropy",
        "kl",
        "clip_fraction",
        "explained_variance",
        "epochs",
    ):
        assert np.isfinite(metrics[key]), key
    assert agent.update() == {}  # the next rollout is not full yet


# ------------------------------------------------------------------------------- distributions
def test_sampling_matches_the_log_probabilities():
    """The per-step numpy sampler and the torch log-probabilities describe one distribution."""
    agent = PPO(spaces.Box(-1, 1, (2,), np.float32), spaces.Discrete(3), FAST, seed=0)
    obs = np.tile(np.array([[0.3, -0.7]], np.float32), (20_000, 1))
    actions = agent.act(obs)
    with torch.no_grad():
        params, _ = agent.policy(torch.as_tensor(obs[:1]))
    expected = params.exp()[0].numpy()
    np.testing.assert_allclose(
        np.bincount(actions, minlength=3) / len(actions), expected, atol=0.015
    )


@pytest.mark.parametrize("box_actions", ["clip", "tanh"])
def test_box_actions_stay_in_bounds_and_gaussian_log_prob_is_right(box_actions):
    space = spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([1.0, 5.0], np.float32))
    cfg = {**FAST, "box_actions": box_actions, "log_std_init": 1.0}
    agent = PPO(spaces.Box(-1, 1, (3,), np.float32), space, cfg, seed=0)
    obs = np.zeros((5000, 3), np.float32)
    actions = agent.act(obs)
    assert actions.dtype == np.float32 and actions.shape == (5000, 2)
    assert np.all(actions >= space.low) and np.all(actions <= space.high)
    raw = torch.as_tensor(agent._last[1][:10])
    with torch.no_grad():
        params, _ = agent.policy(torch.as_tensor(obs[:10]))
        mean, log_std = params.chunk(2, dim=-1)
        reference = torch.distributions.Normal(mean, log_std.exp()).log_prob(raw).sum(-1)
        if box_actions == "tanh":
            reference -= torch.log(1 - torch.tanh(raw) ** 2).sum(-1)
        torch.testing.assert_close(
            agent.policy.log_prob(params, raw), reference, rtol=1e-4, atol=1e-4
        )
    greedy = agent.act(obs[:1], explore=False)
    assert np.all(greedy >= space.low) and np.all(greedy <= space.high)


def test_beta_actions_are_torchs_beta_scaled_to_the_bounds():
    space = spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([1.0, 5.0], np.float32))
    agent = PPO(spaces.Box(-1, 1, (3,), np.float32), space, {**FAST, "box_actions": "beta"}, seed=0)
    obs = np.random.default_rng(0).normal(size=(4000, 3)).astype(np.float32)
    actions = agent.act(obs)
    assert (
        actions.dtype == np.float32 and np.all(actions > space.low) and np.all(actions < space.high)
    )
    raw = torch.as_tensor(agent._last[1])
    assert torch.all((raw > 0) & (raw < 1))
    np.testing.assert_allclose(agent.policy.from_env(actions), raw.numpy(), atol=1e-5)
    with torch.no_grad():
        params, _ = agent.policy(torch.as_tensor(obs))
        alpha, beta = params.chunk(2, dim=-1)
        assert torch.all(alpha >= 1) and torch.all(beta >= 1)  # unimodal
        reference = torch.distributions.Beta(alpha, beta)
        policy = agent.policy
        torch.testing.assert_close(policy.log_prob(params, raw), reference.log_prob(raw).sum(-1))
        torch.testing.assert_close(policy.entropy(params), reference.entropy().sum(-1))
        other = params.flip(0)
        expected_kl = torch.distributions.kl_divergence(
            reference, torch.distributions.Beta(*other.chunk(2, dim=-1))
        ).sum(-1)
        torch.testing.assert_close(policy.kl(params, other), expected_kl, rtol=1e-4, atol=1e-5)
        mean = alpha / (alpha + beta)  # the greedy action: the mean, scaled
    greedy = agent.act(obs[:5], explore=False)
    expected = space.low + mean[:5].numpy() * (space.high - space.low)
    np.testing.assert_allclose(greedy, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("action_space", [spaces.Discrete(3), spaces.Box(-1, 1, (2,), np.float32)])
def test_numpy_actor_matches_torch_and_follows_updates(tmp_path, activation, action_space):
    """The per-step numpy actor reads views of the parameters: it agrees with the torch actor
    before and after a gradient step and after load_state_dict."""
    obs_space = spaces.Box(-1, 1, (4,), np.float32)
    cfg = {**FAST, "activation": activation, "n_steps": 4}
    agent = PPO(obs_space, action_space, cfg, num_envs=2, seed=0)
    assert agent.policy._numpy_actor is not None
    probe = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)

    def both():
        numpy_out = agent.policy._numpy_actor(probe)
        with torch.no_grad():
            h = agent.policy.body(agent.policy.encoder(torch.as_tensor(probe)))[0]
            torch_out = agent.policy.pi_head(h).numpy()
        np.testing.assert_allclose(numpy_out, torch_out, rtol=1e-5, atol=1e-6)
        return numpy_out

    before = both()
    for _ in range(4):
        action = agent.act(probe[:2])
        agent.observe(
            Transition(
                probe[:2],
                action,
                np.ones(2, np.float32),
                probe[2:4],
                np.zeros(2, bool),
                np.zeros(2, bool),
            )
        )
        agent.update()
    assert not np.allclose(both(), before)  # it learned, and numpy saw it
    fresh = PPO(obs_space, action_space, cfg, num_envs=2, seed=1)
    fresh.load_state_dict(agent.state_dict())
    agent = fresh
    both()


def test_image_observations_get_the_nature_cnn():
    agent = PPO(
        spaces.Box(0, 255, (4, 84, 84), np.uint8),
        spaces.Box(-1, 1, (3,), np.float32),
        config_sets(PPO)["car_racing"],
        num_envs=2,
        seed=0,
    )
    assert isinstance(agent.policy.encoder, NatureCNN)
    actions = agent.act(np.zeros((2, 4, 84, 84), np.uint8))
    assert actions.shape == (2, 3)


# ------------------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("action_space", [spaces.Discrete(3), spaces.Box(-2, 2, (2,), np.float32)])
def test_save_load_gives_the_same_greedy_actions(tmp_path, action_space):
    obs_space = spaces.Box(-5, 5, (4,), np.float32)
    cfg = {**FAST, "normalize_observations": True, "objective": "kl"}
    agent = PPO(obs_space, action_space, cfg, num_envs=2, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(FAST["n_steps"]):  # one rollout and one update, so nothing is at its init
        obs = rng.normal(size=(2, 4)).astype(np.float32)
        action = agent.act(obs)
        agent.observe(
            Transition(
                obs,
                action,
                rng.normal(size=2).astype(np.float32),
                obs + 0.1,
                np.array([False, True]),
                np.array([False, False]),
            )
        )
        agent.update()
    ckpt.save_checkpoint(tmp_path / "ckpt", {"agent": "ppo"}, agent.state_dict())
    clone = PPO(obs_space, action_space, cfg, num_envs=2, seed=123)
    clone.load_state_dict(ckpt.read_state(tmp_path / "ckpt"))
    probe = rng.normal(size=(16, 4)).astype(np.float32)
    np.testing.assert_array_equal(clone.act(probe, explore=False), agent.act(probe, explore=False))
    assert clone.kl_beta == agent.kl_beta and clone.num_timesteps == agent.num_timesteps
    # the rng and optimizer state came along too: both sample and learn identically from here
    np.testing.assert_array_equal(clone.act(probe), agent.act(probe))


# ------------------------------------------------------------------------------- config, spaces
def test_every_config_field_is_settable_with_set():
    defaults = PPO.Config()
    for field in dataclasses.fields(PPO.Config):
        value = getattr(defaults, field.name)
        parsed = build_config(PPO.Config, {field.name: str(value)})
        assert getattr(parsed, field.name) == value, field.name


def test_tuned_sets_are_valid_configs():
    for name, overrides in config_sets(PPO).items():
        build_config(PPO.Config, dict(overrides))
        assert name in PPO.recommended_num_envs


@pytest.mark.parametrize(
    "bad",
    [
        {"n_steps": 0},
        {"gamma": 1.5},
        {"clip_range_vf": -1.0},
        {"target_kl": 0.0},
        {"net_arch": (0,)},
    ],
)
def test_bad_values_are_refused(bad):
    with pytest.raises(ConfigError):
        build_config(PPO.Config, bad)


@pytest.mark.parametrize(
    ("obs_space", "act_space", "needle"),
    [
        (spaces.Box(-1, 1, (4,)), spaces.MultiBinary(3), "Discrete or Box action"),
        (spaces.Box(-1, 1, (4,)), spaces.Box(-1, 1, (2, 2)), "1-D Box"),
        (
            spaces.Box(0, 255, (96, 96, 3), np.uint8),
            spaces.Discrete(5),
            "the car_racing or the atari preset",
        ),
    ],
)
def test_unsupported_spaces_are_refused(obs_space, act_space, needle):
    assert needle in PPO.check_spaces(obs_space, act_space)
    with pytest.raises(SpaceMismatchError):
        PPO(obs_space, act_space)


def test_tanh_needs_bounded_actions():
    with pytest.raises(ConfigError, match="finite"):
        PPO(spaces.Box(-1, 1, (2,)), spaces.Box(-np.inf, np.inf, (1,)), {"box_actions": "tanh"})
