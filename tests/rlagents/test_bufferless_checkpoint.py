"""A checkpoint saved without its replay buffer (``save_replay_buffer=false``) is small, plays
as the run ended (``--eval-only``), and fine-tunes: the resumed agent refills ``learning_starts``
transitions into its empty buffer before its first gradient step."""

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

    evaluated = invoke(
        "--load", checkpoint, "--eval-only", "--eval-episodes", "3", run_dir=tmp_path / "e"
    )
    assert evaluated.exit_code == 0, evaluated.stderr
    before = json.loads((tmp_path / "trained" / "summary.json").read_text())["eval_mean_return"]
    after = json.loads((tmp_path / "e" / "summary.json").read_text())["eval_mean_return"]
    assert after == pytest.approx(before)  # the same agent, the same evaluation episodes

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
