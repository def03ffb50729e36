"""SAC: it learns Pendulum through the runner, its log-probability is the squashed Gaussian's,
its targets and α follow the paper, and a bad ent_coef is one line."""

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces
from rlagents_test_plugin.runner import invoke

import rlagents
from rlagents.agents.sac import SAC, SACConfig
from rlagents.errors import ConfigError

OBS = spaces.Box(-1.0, 1.0, (3,), np.float32)
ACTIONS = spaces.Box(-2.0, 2.0, (2,), np.float32)
SMALL = {"net_arch": (16, 16), "learning_starts": 10, "batch_size": 8, "buffer_size": 100}


def test_sac_learns_pendulum_through_the_runner(tmp_path):
    """Its tuned set, 5,000 steps: a greedy mean above -300 (random play: about -1,200)."""
    result = rlagents.train(
        "Pendulum-v1", "sac", steps=5_000, seed=0, eval_episodes=10,
        run_dir=tmp_path / "run", tensorboard=False,
    )  # fmt: skip
    assert result.summary["eval_mean_return"] >= -300.0, result.summary


def test_the_log_probability_is_the_squashed_gaussians():
    """log π(a|s) of a = tanh(u), u ~ N(μ, σ²): torch's Normal and the change of variables,
    written the naive way, agree with the stable form the actor uses."""
    agent = SAC(OBS, ACTIONS, SMALL, seed=0)
    features = torch.randn(64, 3)
    gen = torch.Generator().manual_seed(3)
    actions, log_prob = agent.online.sample(features, gen)
    mean, log_std = agent.online.actor(features).chunk(2, dim=1)
    u = torch.atanh(actions.clamp(-1 + 1e-6, 1 - 1e-6))
    normal = torch.distributions.Normal(mean, log_std.clamp(-20, 2).exp())
    naive = normal.log_prob(u).sum(1) - torch.log(1 - actions.square()).sum(1)
    torch.testing.assert_close(log_prob, naive, atol=2e-3, rtol=1e-3)
    assert actions.abs().max() < 1.0


def test_the_soft_target_subtracts_the_entropy_term_from_the_smaller_critic():
    agent = SAC(OBS, ACTIONS, SMALL, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):  # fill the buffer
        obs = rng.uniform(-1, 1, (1, 3)).astype(np.float32)
        agent.observe(rlagents.Transition(
            obs, agent.act(obs), np.ones(1, np.float32), obs, np.array([False]), np.array([False])
        ))  # fmt: skip
    batch = agent.sample()
    alpha = torch.tensor(0.5)
    state = agent.gen.get_state()
    y = agent.soft_target(batch, alpha)
    agent.gen.set_state(state)  # the same a' ~ π(·|s')
    a, logp = agent.online.sample(agent.online.encoder(batch.next_obs), agent.gen)
    q = agent.target.q(agent.target.encoder(batch.next_obs), a)
    expected = batch.rewards + 0.99 * (1 - batch.terminated) * (
        torch.minimum(q[0], q[1]) - 0.5 * logp
    )
    torch.testing.assert_close(y, expected)


def test_alpha_rises_when_the_entropy_is_below_its_target():
    """α's loss is −log α·(log π + H̄): with the target entropy far above the policy's, one step
    raises α; with it far below, one step lowers α. A fixed α never moves."""
    for target, direction in ((50.0, 1), (-50.0, -1)):
        agent = SAC(OBS, ACTIONS, {**SMALL, "target_entropy": target}, seed=0)
        for _ in range(20):
            obs = np.zeros((1, 3), np.float32)
            agent.observe(rlagents.Transition(
                obs, agent.act(obs), np.zeros(1, np.float32), obs, np.array([False]),
                np.array([False]),
            ))  # fmt: skip
        before = float(agent.log_alpha.detach())
        agent.train_step(agent.sample())
        assert (float(agent.log_alpha.detach()) - before) * direction > 0
    fixed = SAC(OBS, ACTIONS, {**SMALL, "ent_coef": "0.2"}, seed=0)
    fixed.buffer = agent.buffer
    fixed.train_step(fixed.sample())
    assert float(fixed.log_alpha.detach().exp()) == pytest.approx(0.2)


def test_greedy_actions_are_the_mode_inside_the_bounds():
    agent = SAC(OBS, ACTIONS, {**SMALL, "learning_starts": 0}, seed=0)
    obs = np.random.default_rng(0).uniform(-1, 1, (5, 3)).astype(np.float32)
    greedy = agent.act(obs, explore=False)
    np.testing.assert_array_equal(greedy, agent.act(obs, explore=False))
    mean = agent.online.actor(torch.as_tensor(obs)).chunk(2, dim=1)[0]
    np.testing.assert_allclose(greedy, 2.0 * np.tanh(mean.detach().numpy()), rtol=1e-5)
    explored = agent.act(obs)
    assert np.all(np.abs(explored) <= 2.0) and not np.array_equal(explored, greedy)


@pytest.mark.parametrize("value", ["auto", "auto_0.1", "0.2", 0.05])
def test_ent_coef_takes_auto_auto_x_or_a_number(value):
    assert SACConfig(ent_coef=value).ent_coef == str(value)


@pytest.mark.parametrize("value", ["sometimes", "0", "-1", "auto_x", "nan"])
def test_a_bad_ent_coef_is_one_line(value, tmp_path):
    with pytest.raises(ConfigError, match="ent_coef is auto, auto_X or a number > 0"):
        SACConfig(ent_coef=value)
    r = invoke("--env", "Pendulum-v1", "--agent", "sac", "--set", f"ent_coef={value}",
               run_dir=tmp_path / "r")  # fmt: skip
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--set ent_coef=VALUE" in r.stderr


def test_sac_refuses_discrete_actions_in_one_line(tmp_path):
    r = invoke("--env", "CartPole-v1", "--agent", "sac", run_dir=tmp_path / "r")
    assert r.exit_code == 2
    assert "sac needs a Box (continuous) action space" in r.stderr
    assert math.isfinite(SACConfig().learning_rate)


# ---------------------------------------------------------------------------------------- gSDE
GSDE = {**SMALL, "learning_starts": 0, "use_sde": True, "log_std_init": -1.0}


def test_gsde_log_probability_is_the_squashed_state_dependent_gaussians():
    """Under gSDE, u = μ(s) + z(s)·W is N(μ(s), z(s)²·σ²) per dimension: torch's Normal with
    that variance, and the change of variables of tanh, agree with the actor's."""
    agent = SAC(OBS, ACTIONS, GSDE, seed=0)
    features = torch.randn(64, 3)
    actions, log_prob = agent.online.sample(features, torch.Generator().manual_seed(3))
    latent = agent.online.actor[:-1](features)
    mean = agent.online.actor[-1](latent).clamp(-2, 2)
    std = (latent.square() @ agent.online.log_std.exp().square() + 1e-6).sqrt()
    u = torch.atanh(actions.clamp(-1 + 1e-6, 1 - 1e-6))
    naive = torch.distributions.Normal(mean, std).log_prob(u).sum(1)
    naive = naive - torch.log(1 - actions.square()).sum(1)
    torch.testing.assert_close(log_prob, naive, atol=2e-3, rtol=1e-3)
    log_prob.mean().backward()  # the noise's gradient reaches log σ
    assert agent.online.log_std.grad is not None and agent.online.log_std.grad.abs().sum() > 0


def test_gsde_noise_is_a_function_of_the_state_between_two_draws():
    """Within a period of ``sde_sample_freq`` steps the same state gets the same explored action
    (the weights W stay), after it a new W gives another; greedy is tanh of the clipped mean."""
    agent = SAC(OBS, ACTIONS, {**GSDE, "sde_sample_freq": 4}, seed=0)
    obs = np.random.default_rng(0).uniform(-1, 1, (1, 3)).astype(np.float32)
    first = agent.act(obs)
    for _ in range(3):
        np.testing.assert_array_equal(agent.act(obs), first)
        agent.observe(rlagents.Transition(
            obs, first, np.zeros(1, np.float32), obs, np.array([False]), np.array([False])
        ))  # fmt: skip
    agent.observe(rlagents.Transition(
        obs, first, np.zeros(1, np.float32), obs, np.array([False]), np.array([False])
    ))  # fmt: skip
    assert not np.array_equal(agent.act(obs), first)
    mean = agent.online.actor(torch.as_tensor(obs)).clamp(-2, 2).detach().numpy()
    np.testing.assert_allclose(agent.act(obs, explore=False), 2.0 * np.tanh(mean), rtol=1e-5)


@pytest.mark.slow
def test_sac_with_gsde_solves_mountain_car_continuous(tmp_path):
    """rl-zoo3's set (gSDE) at 15,000 of its 50,000 steps: greedy ≥ 80 (random play: < 0)."""
    result = rlagents.train(
        "MountainCarContinuous-v0", "sac", steps=15_000, seed=0, eval_episodes=5,
        run_dir=tmp_path / "run", tensorboard=False,
    )  # fmt: skip
    assert result.summary["eval_mean_return"] >= 80.0, result.summary
