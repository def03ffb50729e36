"""The Atari presets: spaces, equivalence with Gymnasium's pipeline, episode ends, options."""

from __future__ import annotations

from typing import Any

import ale_py
import cv2
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

import wrappers
from wrappers.atari import AtariPreprocess

gym.register_envs(ale_py)


def _random_actions(env: gym.Env[Any, Any], n: int, seed: int = 0) -> list[int]:
    return [int(a) for a in np.random.default_rng(seed).integers(0, env.action_space.n, n)]  # type: ignore[attr-defined]


def test_observation_space_is_dqn_stack() -> None:
    env = wrappers.atari("ALE/Breakout-v5")
    assert env.observation_space == gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    assert env.action_space == gym.spaces.Discrete(4)
    obs, info = env.reset(seed=0)
    assert obs in env.observation_space and info["lives"] == 5
    obs = env.step(0)[0]
    assert obs in env.observation_space and obs.flags.c_contiguous


def test_same_frames_as_gymnasium_atari_preprocessing_with_inter_area() -> None:
    """With INTER_AREA and no FIRE reset the preset reproduces Gymnasium's pipeline exactly.

    Same seed, same sticky-action RNG, same no-op count (both draw it from the env's
    np_random), same max-pool of the last two frames.
    """
    ours = wrappers.atari("ALE/Pong-v5", interpolation=cv2.INTER_AREA, fire_reset=False)
    theirs = FrameStackObservation(AtariPreprocessing(gym.make("ALE/Pong-v5", frameskip=1)), 4)
    a, info_a = ours.reset(seed=42)
    b, info_b = theirs.reset(seed=42)
    np.testing.assert_array_equal(a, b)
    assert info_a["episode_frame_number"] == info_b["episode_frame_number"]
    for action in _random_actions(ours, 150):
        a, ra, ta, ua, _ = ours.step(action)
        b, rb, tb, ub, _ = theirs.step(action)
        np.testing.assert_array_equal(a, b)
        assert (ra, ta, ua) == (rb, tb, ub)


def test_default_bilinear_frames_stay_close_to_inter_area() -> None:
    fast = wrappers.atari("ALE/Pong-v5", fire_reset=False)
    area = wrappers.atari("ALE/Pong-v5", fire_reset=False, interpolation=cv2.INTER_AREA)
    a, b = fast.reset(seed=1)[0], area.reset(seed=1)[0]
    for action in _random_actions(fast, 20):
        a, b = fast.step(action)[0], area.step(action)[0]
    assert not np.array_equal(a, b)
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 3


def test_game_over_terminates() -> None:
    env = wrappers.atari("ALE/Breakout-v5", repeat_action_probability=0.0)
    env.reset(seed=0)
    steps = 0
    for action in _random_actions(env, 5000):
        _, _, terminated, truncated, info = env.step(action)
        steps += 1
        assert not truncated
        if terminated:
            break
    assert terminated and info["lives"] == 0 and env.unwrapped.ale.game_over()  # type: ignore[attr-defined]
    assert steps > 20


def test_terminal_on_life_loss_ends_each_life_and_reset_continues_the_game() -> None:
    env = wrappers.atari(
        "ALE/Breakout-v5", terminal_on_life_loss=True, repeat_action_probability=0.0
    )
    ale = env.unwrapped.ale  # type: ignore[attr-defined]
    _, info = env.reset(seed=0)
    lives_at_start = [info["lives"]]
    actions = iter(_random_actions(env, 10_000))
    while True:
        _, _, terminated, _, info = env.step(next(actions))
        if not terminated:
            continue
        if ale.game_over():
            break
        # A life was lost but the game goes on: the next reset continues it.
        assert info["lives"] == lives_at_start[-1] - 1
        frame = info["episode_frame_number"]
        _, info = env.reset()
        assert info["lives"] == lives_at_start[-1] - 1
        assert info["episode_frame_number"] > frame  # same game, not a new one
        lives_at_start.append(info["lives"])
    assert lives_at_start == [5, 4, 3, 2, 1]
    _, info = env.reset()  # after game over: a new game
    assert info["lives"] == 5


def test_clip_reward_gives_the_sign_of_the_reward() -> None:
    raw = wrappers.atari("ALE/Asterix-v5", repeat_action_probability=0.0)
    clipped = wrappers.atari("ALE/Asterix-v5", repeat_action_probability=0.0, clip_reward=True)
    raw.reset(seed=0)
    clipped.reset(seed=0)
    rewards = []
    for action in _random_actions(raw, 80):
        r = raw.step(action)[1]
        c = clipped.step(action)[1]
        assert c == np.sign(r)
        rewards.append(r)
    assert max(rewards) > 1  # Asterix scores 50 per item: clipping really happened


@pytest.mark.parametrize("fire_reset", [True, False])
def test_fire_reset_launches_breakout(fire_reset: bool) -> None:
    """Breakout waits for FIRE: with FIRE on reset, NOOPs soon lose a life; without, never."""
    env = wrappers.atari(
        "ALE/Breakout-v5", fire_reset=fire_reset, noop_max=0, repeat_action_probability=0.0
    )
    env.reset(seed=0)
    lives = [env.step(0)[4]["lives"] for _ in range(60)]
    assert (lives[-1] < 5) == fire_reset


def test_max_episode_steps_counts_agent_steps_and_spec_rebuilds() -> None:
    env = wrappers.atari("ALE/Pong-v5", max_episode_steps=10)
    env.reset(seed=0)
    truncations = [env.step(0)[3] for _ in range(10)]
    assert truncations == [False] * 9 + [True]
    rebuilt = gym.make(env.spec)  # type: ignore[arg-type]
    assert rebuilt.observation_space == env.observation_space
    a, b = env.reset(seed=5)[0], rebuilt.reset(seed=5)[0]
    np.testing.assert_array_equal(a, b)
    for action in _random_actions(env, 10):
        a, _, _, ua, _ = env.step(action)
        b, _, _, ub, _ = rebuilt.step(action)
        np.testing.assert_array_equal(a, b)
        assert ua == ub
    assert ua


def test_make_kwargs_reach_the_ale_env() -> None:
    ale = wrappers.atari("ALE/Pong-v5").unwrapped.ale  # type: ignore[attr-defined]
    assert ale.getFloat("repeat_action_probability") == pytest.approx(0.25)  # v5's sticky
    env = wrappers.atari(
        "ALE/Pong-v5",
        repeat_action_probability=0.0,
        render_mode="rgb_array",
        full_action_space=True,
    )
    assert env.unwrapped.ale.getFloat("repeat_action_probability") == 0.0  # type: ignore[attr-defined]
    assert env.action_space == gym.spaces.Discrete(18)
    env.reset(seed=0)
    assert env.render().shape == (210, 160, 3)  # type: ignore[union-attr]


def test_frameskip_keyword_is_the_preset_frame_skip() -> None:
    env = wrappers.atari("ALE/Pong-v5", frameskip=2, noop_max=0, fire_reset=False)
    _, info = env.reset(seed=0)
    start = info["episode_frame_number"]
    assert env.step(0)[4]["episode_frame_number"] == start + 2


def test_bad_ids_and_options_are_one_line_value_errors() -> None:
    for bad in ("CartPole-v1", "ALE/NoSuchGame-v5", "Breakout-v4", 3):
        with pytest.raises(ValueError, match=r"atari\(\) accepts ALE/<Game>-v5 ids") as err:
            wrappers.atari(bad)  # type: ignore[arg-type]
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="grayscale"):
        wrappers.atari("ALE/Pong-v5", obs_type="rgb")
    with pytest.raises(ValueError, match=r"atari_vector\(\) accepts"):
        wrappers.atari_vector("CartPole-v1", 2)
    with pytest.raises(ValueError, match=r"atari_vector\(\) cannot render"):
        wrappers.atari_vector("ALE/Pong-v5", 2, render_mode="rgb_array")


def test_atari_preprocess_checks_what_it_wraps() -> None:
    with pytest.raises(TypeError, match=r"AtariPreprocess needs an ale-py AtariEnv"):
        AtariPreprocess(gym.make("CartPole-v1"))
    inner = gym.wrappers.RecordEpisodeStatistics(gym.make("ALE/Pong-v5"))
    with pytest.raises(ValueError, match=r"AtariPreprocess steps the emulator itself"):
        AtariPreprocess(inner)
    with pytest.raises(ValueError, match=r"AtariPreprocess needs frame_skip to be a positive"):
        AtariPreprocess(gym.make("ALE/Pong-v5"), frame_skip=0)


def test_atari_vector_same_step_autoreset() -> None:
    envs = wrappers.atari_vector("ALE/Pong-v5", 2, max_episode_steps=8, noop_max=0, num_threads=1)
    try:
        assert envs.observation_space == gym.spaces.Box(0, 255, (2, 4, 84, 84), np.uint8)
        assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
        envs.reset(seed=0)
        steps = 0
        for _ in range(9):
            obs, _, terminated, truncated, info = envs.step(np.zeros(2, dtype=np.int64))
            steps += 1
            if truncated.any():
                break
        assert steps == 8 and truncated.all() and not terminated.any()
        assert info["final_obs"].shape == (2, 4, 84, 84)
        # The returned observation already starts the next episode: zero-padded stack.
        assert not obs[:, :3].any() and obs[:, 3].any()
    finally:
        envs.close()
    next_step = wrappers.atari_vector("ALE/Pong-v5", 2, autoreset_mode="NextStep")
    assert next_step.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    next_step.close()


def test_atari_vector_life_loss_ends_the_episode_and_the_game_goes_on() -> None:
    envs = wrappers.atari_vector(
        "ALE/Breakout-v5", 1, terminal_on_life_loss=True, repeat_action_probability=0.0
    )
    try:
        envs.reset(seed=0)
        actions = np.random.default_rng(0).integers(0, 4, (500, 1))
        for action in actions:
            _, _, terminated, _, info = envs.step(action)
            if terminated[0]:
                break
        assert terminated[0] and info["lives"][0] == 4
        frame = info["episode_frame_number"][0]
        _, _, _, _, info = envs.step(actions[0])
        assert info["lives"][0] == 4 and info["episode_frame_number"][0] > frame
    finally:
        envs.close()
