"""TRPO and NPG: the linear algebra against its definitions, the line search's guarantee, the two
networks kept apart, learning through the runner, checkpoints, config."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from gymnasium import spaces
from rlagents_test_plugin.runner import invoke
from rlagents_test_plugin.runner import run_summary as run

from rlagents import checkpoint as ckpt
from rlagents.agent import Transition
from rlagents.agents.trpo import (
    TRPO,
    PolicyBatch,
    conjugate_gradient,
    fisher_vector_product,
    flat_grad,
)
from rlagents.config import build_config
from rlagents.errors import ConfigError
from rlagents.run.tuned import config_sets

OBS = spaces.Box(-5, 5, (3,), np.float32)
TINY = {"net_arch": (4,), "n_steps": 16, "batch_size": 8, "n_critic_updates": 2, "num_threads": 1}


def _fill_rollout(agent: TRPO, seed: int = 0) -> None:
    """Act and observe until the rollout is full (without updating)."""
    rng = np.random.default_rng(seed)
    for _ in range(agent.config.n_steps):
        obs = rng.normal(size=(agent.num_envs, 3)).astype(np.float32)
        action = agent.act(obs)
        reward = rng.normal(size=agent.num_envs).astype(np.float32)
        done = rng.random(agent.num_envs) < 0.1
        agent.observe(Transition(obs, action, reward, obs + 0.1, done, np.zeros_like(done)))


def _policy_batch(agent: TRPO) -> PolicyBatch:
    return agent.rollout_batch()[0]


# ------------------------------------------------------------------------- the linear algebra
def test_conjugate_gradient_solves_a_small_spd_system_as_numpy_does():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 6))
    a = m @ m.T + 6 * np.eye(6)
    b = rng.normal(size=6)
    x, residual = conjugate_gradient(
        lambda v: torch.as_tensor(a) @ v, torch.as_tensor(b), max_steps=6
    )
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-8, atol=1e-10)
    assert residual < 1e-6


def test_conjugate_gradient_stops_at_max_steps_with_its_residual():
    a = torch.diag(torch.arange(1.0, 11.0, dtype=torch.float64))
    b = torch.ones(10, dtype=torch.float64)
    x, residual = conjugate_gradient(lambda v: a @ v, b, max_steps=2)
    assert residual == pytest.approx(float(torch.linalg.vector_norm(b - a @ x)), rel=1e-6)
    assert residual > 1e-3  # two steps cannot solve ten distinct eigenvalues


def _explicit_fisher(agent: TRPO, obs: torch.Tensor) -> torch.Tensor:
    """F = E_s[Jᵀ M J], from its definition: J the Jacobian of the distribution's parameters
    (logits; or mean and log std) in θ, M the Fisher matrix of the distribution in them —
    categorical: diag(p) − p pᵀ on the logits; diagonal Gaussian: 1/σ² on the mean, 2 on log σ."""
    policy, params_list = agent.policy, agent.actor_parameters()
    n = sum(p.numel() for p in params_list)
    fisher = torch.zeros(n, n)
    for s in obs:
        out = policy.pi_head(policy.body(policy.encoder(s[None]), copies=1)[0])[0]
        if policy.discrete:
            probs = torch.softmax(out, -1).detach()
            m = torch.diag(probs) - torch.outer(probs, probs)
            outputs = out
        else:
            std2 = torch.exp(2 * policy.log_std).detach()
            m = torch.diag(torch.cat([1 / std2, torch.full_like(std2, 2.0)]))
            outputs = torch.cat([out, policy.log_std])
        jac = torch.stack([flat_grad(o, params_list, retain_graph=True) for o in outputs])
        fisher += jac.T @ m @ jac
    return fisher / len(obs)


@pytest.mark.parametrize("action_space", [spaces.Discrete(3), spaces.Box(-1, 1, (2,), np.float32)])
def test_fisher_vector_product_equals_the_explicit_fisher_matrix_times_v(action_space):
    agent = TRPO(OBS, action_space, TINY, seed=0)
    _fill_rollout(agent)
    batch = _policy_batch(agent)
    params_list = agent.actor_parameters()
    params = agent.policy.distribution(batch.obs)
    kl = agent.policy.kl(batch.old_params, params).mean()
    grad_kl = flat_grad(kl, params_list, create_graph=True)
    fisher = _explicit_fisher(agent, batch.obs)
    v = torch.randn(fisher.shape[0], generator=torch.Generator().manual_seed(0))
    damping = 0.05
    got = fisher_vector_product(grad_kl, params_list, v, damping)
    torch.testing.assert_close(got, fisher @ v + damping * v, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------- the policy step
def _actor_state(agent: TRPO) -> list[torch.Tensor]:
    return [p.detach().clone() for p in agent.actor_parameters()]


def test_the_line_search_rejects_a_step_that_breaks_the_kl_bound_and_keeps_the_old_policy():
    agent = TRPO(
        OBS, spaces.Discrete(3), {**TINY, "target_kl": 0.01, "line_search_max_iter": 3}, seed=0
    )  # seeded: an unseeded agent's weights depend on the tests that ran before it
    _fill_rollout(agent)
    batch = _policy_batch(agent)
    # The data came from a policy far from the current one (KL ≈ 0.5 ≫ δ): no step along the
    # direction gets back inside the bound, so every trial must fail the check.
    far = torch.log_softmax(batch.old_params + torch.tensor([3.0, 0.0, -3.0]), dim=-1)
    batch = batch._replace(old_params=far)
    with torch.no_grad():
        assert float(agent.policy.kl(far, agent.policy.distribution(batch.obs)).mean()) > 0.1
    before = _actor_state(agent)
    metrics = agent.policy_step(batch)
    assert metrics["step_rejected"] == 1.0 and metrics["line_search_steps"] == 3.0
    assert metrics["kl"] == 0.0 and metrics["kl_exceeded"] == 0.0
    for a, b in zip(before, agent.actor_parameters(), strict=True):
        assert torch.equal(a, b)


def test_an_accepted_step_keeps_the_bound_and_improves_the_surrogate():
    agent = TRPO(OBS, spaces.Discrete(3), {**TINY, "target_kl": 0.01}, seed=0)
    _fill_rollout(agent)
    metrics = agent.policy_step(_policy_batch(agent))
    assert metrics["step_rejected"] == 0.0
    assert 0.0 < metrics["kl"] <= 0.01 and metrics["surrogate_improvement"] > 0.0


def test_a_linear_target_kl_schedule_shrinks_the_trust_region():
    cfg = {**TINY, "target_kl": 0.01, "target_kl_schedule": "linear", "schedule_steps": 64}
    agent = TRPO(OBS, spaces.Discrete(3), cfg, seed=0)
    _fill_rollout(agent)  # 16 of the 64 steps: δ is three quarters of 0.01
    metrics = agent.policy_step(_policy_batch(agent))
    assert metrics["target_kl"] == pytest.approx(0.0075)
    assert 0.0 < metrics["kl"] <= 0.0075 and metrics["step_rejected"] == 0.0
    agent.num_timesteps = 64  # at the schedule's end no step fits: the old policy stays
    before = _actor_state(agent)
    assert agent.policy_step(_policy_batch(agent))["step_rejected"] == 1.0
    assert all(torch.equal(a, b) for a, b in zip(before, agent.actor_parameters(), strict=True))


def test_npg_takes_its_step_unchecked():
    cfg = {**TINY, "target_kl": 1e-12, "line_search": False}
    agent = TRPO(OBS, spaces.Discrete(3), cfg)
    _fill_rollout(agent)
    before = _actor_state(agent)
    metrics = agent.policy_step(_policy_batch(agent))
    assert metrics["step_rejected"] == 0.0 and metrics["line_search_steps"] == 1.0
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.actor_parameters(), strict=True))


def test_the_policy_step_leaves_the_critic_and_the_value_step_the_policy():
    agent = TRPO(OBS, spaces.Box(-1, 1, (2,), np.float32), TINY)
    _fill_rollout(agent)
    batch = _policy_batch(agent)
    with torch.no_grad():
        values, dist = agent.policy.value(batch.obs), agent.policy.distribution(batch.obs)
    agent.policy_step(batch)
    with torch.no_grad():
        torch.testing.assert_close(agent.policy.value(batch.obs), values, rtol=0, atol=0)
        moved = agent.policy.distribution(batch.obs)
    assert not torch.equal(moved, dist)
    agent.fit_value(batch.obs, torch.ones(len(batch.obs)))
    with torch.no_grad():
        torch.testing.assert_close(agent.policy.distribution(batch.obs), moved, rtol=0, atol=0)
        assert not torch.equal(agent.policy.value(batch.obs), values)


def test_an_update_reports_its_metrics():
    agent = TRPO(OBS, spaces.Discrete(3), TINY, num_envs=2)
    _fill_rollout(agent)
    metrics = agent.update()
    expected = {"kl", "kl_exceeded", "surrogate_improvement", "line_search_steps"}
    expected |= {"step_rejected", "cg_residual", "value_loss", "explained_variance", "entropy"}
    assert expected <= metrics.keys()
    assert all(np.isfinite(metrics[k]) for k in expected - {"explained_variance"})


# ------------------------------------------------------------------------- learning
def test_solves_cartpole_through_the_runner(tmp_path):
    summary = run(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "trpo", "--num-envs", "2", "--seed", "0"),
        *("--steps", "60000", "--eval-every", "10000", "--eval-episodes", "10"),
        *("--stop-at-return", "475"),
    )
    assert summary["eval_mean_return"] >= 475  # random play: about 22


@pytest.mark.slow
def test_learns_pendulum(tmp_path):
    summary = run(
        tmp_path,
        *("--env", "Pendulum-v1", "--agent", "trpo", "--num-envs", "2", "--seed", "0"),
        *("--steps", "100000", "--eval-every", "20000", "--eval-episodes", "10"),
    )
    assert summary["eval_mean_return"] >= -400  # random play: about −1200


# ------------------------------------------------------------------------- checkpoints, config
@pytest.mark.parametrize("action_space", [spaces.Discrete(3), spaces.Box(-2, 2, (2,), np.float32)])
def test_save_load_gives_the_same_greedy_actions(tmp_path, action_space):
    cfg = {**TINY, "normalize_observations": True}
    agent = TRPO(OBS, action_space, cfg, num_envs=2, seed=0)
    _fill_rollout(agent)
    agent.update()
    ckpt.save_checkpoint(tmp_path / "ckpt", {"agent": "trpo"}, agent.state_dict())
    clone = TRPO(OBS, action_space, cfg, num_envs=2, seed=123)
    clone.load_state_dict(ckpt.read_state(tmp_path / "ckpt"))
    probe = np.random.default_rng(1).normal(size=(16, 3)).astype(np.float32)
    np.testing.assert_array_equal(clone.act(probe, explore=False), agent.act(probe, explore=False))
    np.testing.assert_array_equal(clone.act(probe), agent.act(probe))  # the generator came too
    assert clone.n_updates == agent.n_updates == 1


def test_every_config_field_is_settable_with_set():
    defaults = TRPO.Config()
    for field in dataclasses.fields(TRPO.Config):
        value = getattr(defaults, field.name)
        parsed = build_config(TRPO.Config, {field.name: str(value)})
        assert getattr(parsed, field.name) == value, field.name


def test_tuned_sets_are_valid_configs():
    for name, overrides in config_sets(TRPO).items():
        build_config(TRPO.Config, dict(overrides))
        assert name in TRPO.recommended_num_envs


@pytest.mark.parametrize(
    "bad",
    [
        {"share_features": True},
        {"target_kl": 0.0},
        {"cg_max_steps": 0},
        {"cg_damping": -0.1},
        {"line_search_shrinking_factor": 1.0},
        {"line_search_max_iter": 0},
        {"n_critic_updates": 0},
        {"sub_sampling_factor": 0},
    ],
)
def test_bad_values_are_refused(bad):
    with pytest.raises(ConfigError):
        build_config(TRPO.Config, bad)


def test_a_shared_network_is_one_line_before_step_one(tmp_path):
    result = invoke(
        *("--env", "CartPole-v1", "--agent", "trpo", "--set", "share_features=true"),
        run_dir=tmp_path / "run",
    )
    assert result.exit_code == 2
    assert "share_features must be false" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_image_stacks_go_through_the_cnn_which_only_the_policy_step_moves():
    from rlagents.common.networks import NatureCNN

    image = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    cfg = {"n_steps": 8, "batch_size": 8, "n_critic_updates": 1, "num_threads": 1}
    agent = TRPO(image, spaces.Box(-1, 1, (3,), np.float32), cfg, num_envs=2, seed=0)
    assert isinstance(agent.policy.encoder, NatureCNN)
    rng = np.random.default_rng(0)
    encoder = [p.detach().clone() for p in agent.policy.encoder.parameters()]
    for _ in range(cfg["n_steps"]):
        obs = rng.integers(0, 256, size=(2, 4, 84, 84), dtype=np.uint8)
        action = agent.act(obs)
        assert action.shape == (2, 3)
        reward = rng.normal(size=2).astype(np.float32)
        agent.observe(Transition(obs, action, reward, obs, np.zeros(2, bool), np.zeros(2, bool)))
    obs_t, _ = agent.rollout_tensors()
    agent.fit_value(obs_t, torch.ones(len(obs_t)))
    for a, b in zip(encoder, agent.policy.encoder.parameters(), strict=True):
        assert torch.equal(a, b)  # the value step leaves the shared CNN alone
    assert agent.update()["step_rejected"] in (0.0, 1.0)
