"""A checkpoint saved without its replay buffer (``save_replay_buffer=false``) is small, plays
as the run ended (``--eval-only``), and fine-tunes: the resumed agent refills ``learning_starts``
transitions into its empty buffer before its first gradient step. The rollout agents' twin,
``save_rollout=false``, leaves out the partial rollout: the resumed agent starts a fresh one."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from rlagents_test_plugin.runner import invoke

import rlagents


@pytest.mark.parametrize(
    ("env", "agent", "learning_starts"),
    [("CartPole-v1", "dqn", 500), ("Pendulum-v1", "td3", 300)],
)
def test_a_checkpoint_without_its_buffer_evaluates_and_fine_tunes(
    tmp_path, env, agent, learning_starts
):
    common = ("--set", f"learning_starts={learning_starts}", "--set", "save_replay_buffer=false")
    trained = invoke(
        *("--env", env, "--agent", agent, "--steps", "1000", "--seed", "0", *common),
        *("--eval-episodes", "3"),
        run_dir=tmp_path / "trained",
    )
    assert trained.exit_code == 0, trained.stderr
    checkpoint = tmp_path / "trained" / "checkpoint"
    with_buffer = invoke(
        *("--env", env, "--agent", agent, "--steps", "1000", "--seed", "0"),
        *("--set", f"learning_starts={learning_starts}", "--eval-episodes", "0"),
        run_dir=tmp_path / "with_buffer",
    )
    assert with_buffer.exit_code == 0, with_buffer.stderr
    full = (tmp_path / "with_buffer" / "checkpoint" / "arrays.npz").stat().st_size
    obs_bytes = 4 * gym.make(env).observation_space.shape[0]  # float32
    smaller = full - (checkpoint / "arrays.npz").stat().st_size
    assert smaller >= 1000 * 2 * obs_bytes  # at least the buffer's obs and next_obs are not in it

    _assert_it_evaluates_as_its_run(checkpoint, tmp_path / "trained", tmp_path / "e")

    loaded, _ = rlagents.load_checkpoint(checkpoint)
    assert len(loaded.buffer) == 0 and loaded.steps == 1000
    weights = [p.detach().clone() for p in loaded.online.parameters()]
    play = _player(env, loaded)
    for _ in range(learning_starts - 1):
        play()
        assert not loaded.update()  # refilling: no gradient step yet
    assert all(torch.equal(a, b) for a, b in zip(weights, loaded.online.parameters(), strict=True))
    for _ in range(200):
        play()
        loaded.update()
    if hasattr(loaded, "wait"):
        loaded.wait()  # DQN's gradient steps may run in the background
    changed = any(
        not torch.equal(a, b) for a, b in zip(weights, loaded.online.parameters(), strict=True)
    )
    assert changed, "learning resumed once the buffer held learning_starts transitions"

    tuned = invoke(
        "--load", checkpoint, "--steps", "600", "--eval-episodes", "1", run_dir=tmp_path / "t"
    )
    assert tuned.exit_code == 0, tuned.stderr
    assert json.loads((tmp_path / "t" / "summary.json").read_text())["steps"] == 1600


@pytest.mark.parametrize("agent", ["ppo", "a2c", "trpo"])
def test_a_checkpoint_without_its_rollout_evaluates_and_fine_tunes(tmp_path, agent):
    # 1,000 steps of rollouts of 64: the run stops 40 steps into a rollout.
    common = ("--env", "CartPole-v1", "--agent", agent, "--seed", "0", "--num-envs", "1")
    common += ("--set", "n_steps=64")
    slim = invoke(
        *common,
        "--steps",
        "1000",
        "--set",
        "save_rollout=false",
        "--eval-episodes",
        "3",
        run_dir=tmp_path / "slim",
    )
    assert slim.exit_code == 0, slim.stderr
    full = invoke(*common, "--steps", "1000", "--eval-episodes", "0", run_dir=tmp_path / "full")
    assert full.exit_code == 0, full.stderr
    checkpoint = tmp_path / "slim" / "checkpoint"
    assert "rollout" not in rlagents.checkpoint.read_state(checkpoint)
    with_rollout = rlagents.checkpoint.read_state(tmp_path / "full" / "checkpoint")
    assert len(with_rollout["rollout"]["obs"]) == 1000 % 64  # what the slim one leaves out
    saved = lambda run: (tmp_path / run / "checkpoint" / "arrays.npz").stat().st_size  # noqa: E731
    assert saved("full") - saved("slim") >= (1000 % 64) * 4 * 4  # its observations at least

    _assert_it_evaluates_as_its_run(checkpoint, tmp_path / "slim", tmp_path / "e")

    loaded, _ = rlagents.load_checkpoint(checkpoint)
    assert loaded.buffer.pos == 0  # the next rollout starts afresh
    tuned = invoke(
        "--load", checkpoint, "--steps", "600", "--eval-episodes", "1", run_dir=tmp_path / "t"
    )
    assert tuned.exit_code == 0, tuned.stderr
    assert json.loads((tmp_path / "t" / "summary.json").read_text())["steps"] == 1600
    tuned_weights = rlagents.checkpoint.read_state(tmp_path / "t" / "checkpoint")["policy"]
    slim_weights = rlagents.checkpoint.read_state(checkpoint)["policy"]
    assert any(
        not np.array_equal(np.asarray(tuned_weights[k]), np.asarray(slim_weights[k]))
        for k in slim_weights
    ), "fine-tuning changed the weights"


def _assert_it_evaluates_as_its_run(checkpoint, run_dir, eval_dir):
    evaluated = invoke(
        "--load", checkpoint, "--eval-only", "--eval-episodes", "3", run_dir=eval_dir
    )
    assert evaluated.exit_code == 0, evaluated.stderr
    before = json.loads((run_dir / "summary.json").read_text())["eval_mean_return"]
    after = json.loads((eval_dir / "summary.json").read_text())["eval_mean_return"]
    assert after == pytest.approx(before)  # the same agent, the same evaluation episodes


def _player(env_id, agent):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=5)
    state = {"obs": obs}

    def play():
        obs = state["obs"]
        action = agent.act(obs[None], explore=True)
        next_obs, reward, terminated, truncated, _ = env.step(action[0])
        agent.observe(
            rlagents.Transition(
                obs[None],
                action,
                np.array([reward], np.float32),
                next_obs[None],
                np.array([terminated]),
                np.array([truncated]),
            )
        )
        state["obs"] = env.reset()[0] if terminated or truncated else next_obs

    return play


@pytest.mark.parametrize(
    ("env", "agent", "option", "part"),
    [
        ("CartPole-v1", "ppo", "save_rollout", "rollout"),
        ("CartPole-v1", "dqn", "save_replay_buffer", "buffer"),
        ("Pendulum-v1", "td3", "save_replay_buffer", "buffer"),
    ],
)
def test_a_checkpoint_loads_whether_or_not_it_holds_what_the_option_leaves_out(
    tmp_path, env, agent, option, part
):
    """--load with --set OPTION=false takes a checkpoint that holds the part (and drops it);
    --set OPTION=true one that lacks it (the part starts empty)."""
    common = (
        "--env",
        env,
        "--agent",
        agent,
        "--seed",
        "0",
        "--eval-episodes",
        "0",
        "--num-envs",
        "1",
    )
    common += ("--set", "learning_starts=100") if part == "buffer" else ()
    for kept in ("true", "false"):
        trained = invoke(
            *common, "--steps", "300", "--set", f"{option}={kept}", run_dir=tmp_path / kept
        )
        assert trained.exit_code == 0, trained.stderr
    for source, kept in (("true", "false"), ("false", "true")):
        resumed = invoke(
            *("--load", tmp_path / source / "checkpoint", "--steps", "100"),
            *("--set", f"{option}={kept}", "--eval-episodes", "0", "--num-envs", "1"),
            run_dir=tmp_path / f"{source}_to_{kept}",
        )
        assert resumed.exit_code == 0, resumed.stderr
        state = rlagents.checkpoint.read_state(tmp_path / f"{source}_to_{kept}" / "checkpoint")
        assert (part in state) == (kept == "true")
        assert (
            json.loads((tmp_path / f"{source}_to_{kept}" / "summary.json").read_text())["steps"]
            == 400
        )
