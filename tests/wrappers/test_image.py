"""Grayscale, Resize and Crop against Gymnasium's wrappers and OpenCV."""

from __future__ import annotations

from typing import Any

import ale_py
import cv2
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import GrayscaleObservation, ResizeObservation

from wrappers import Grayscale, Resize
from wrappers.image import Crop


class _Frames(gym.Env[np.ndarray, int]):
    """Replays fixed uint8 frames: random ones cover every colour and every edge case."""

    def __init__(self, shape: tuple[int, ...], seed: int = 0) -> None:
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(2)
        self.frames = np.random.default_rng(seed).integers(0, 256, (8, *shape), dtype=np.uint8)
        self.t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        return self.frames[0], {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.t += 1
        return self.frames[self.t % len(self.frames)], 0.0, False, False, {}


def _rollout(env: gym.Env[Any, Any], steps: int = 6) -> list[np.ndarray]:
    obs = [env.reset(seed=0)[0]]
    obs += [env.step(0)[0] for _ in range(steps)]
    return obs


def _atari_rgb() -> gym.Env[Any, Any]:
    gym.register_envs(ale_py)
    return gym.make("ALE/Breakout-v5", repeat_action_probability=0.0)


@pytest.mark.parametrize("keep_dim", [False, True])
@pytest.mark.parametrize(
    "make", [lambda: _Frames((96, 96, 3)), _atari_rgb], ids=["random", "atari"]
)
def test_grayscale_within_1_of_gymnasium(keep_dim: bool, make: Any) -> None:
    ours = Grayscale(make(), keep_dim=keep_dim)
    theirs = GrayscaleObservation(make(), keep_dim=keep_dim)
    assert ours.observation_space == theirs.observation_space
    for a, b in zip(_rollout(ours), _rollout(theirs), strict=True):
        assert a.shape == b.shape and a.dtype == np.uint8
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_grayscale_bt601_is_opencv() -> None:
    env = Grayscale(_Frames((32, 40, 3)), luma="bt601")
    frames = _Frames((32, 40, 3)).frames
    np.testing.assert_array_equal(env.reset()[0], cv2.cvtColor(frames[0], cv2.COLOR_RGB2GRAY))


def test_grayscale_errors() -> None:
    with pytest.raises(TypeError, match=r"Grayscale needs a Box observation space, got Discrete"):
        Grayscale(gym.make("FrozenLake-v1"))
    with pytest.raises(ValueError, match=r"Grayscale needs a 3-D Box .* got shape \(4,\)"):
        Grayscale(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match=r"Grayscale needs a channel-last image with 3 channels"):
        Grayscale(_Frames((8, 8, 4)))
    with pytest.raises(ValueError, match=r"Grayscale needs luma 'gymnasium' or 'bt601'"):
        Grayscale(_Frames((8, 8, 3)), luma="average")  # type: ignore[arg-type]


@pytest.mark.parametrize("frame_shape", [(96, 96, 3), (96, 96), (96, 96, 1), (210, 160, 3)])
def test_resize_equals_gymnasium(frame_shape: tuple[int, ...]) -> None:
    ours = Resize(_Frames(frame_shape), (42, 30))
    theirs = ResizeObservation(_Frames(frame_shape), (42, 30))
    assert ours.observation_space == theirs.observation_space
    for a, b in zip(_rollout(ours), _rollout(theirs), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [[64, 48], (64, 48), np.array([64, 48]), range(64, 47, -16)])
def test_resize_accepts_any_sequence(shape: Any) -> None:
    env = Resize(_Frames((96, 96, 3)), shape)
    assert env.observation_space.shape == (64, 48, 3)
    assert env.reset()[0].shape == (64, 48, 3)
    assert Resize(_Frames((96, 96)), 32).observation_space.shape == (32, 32)


def test_resize_interpolation_choice() -> None:
    frames = _Frames((96, 96, 3)).frames
    for flag in (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_AREA):
        obs = Resize(_Frames((96, 96, 3)), 40, interpolation=flag).reset()[0]
        np.testing.assert_array_equal(obs, cv2.resize(frames[0], (40, 40), interpolation=flag))
    nearest = Resize(_Frames((96, 96, 3)), 40, interpolation=cv2.INTER_NEAREST).reset()[0]
    area = Resize(_Frames((96, 96, 3)), 40).reset()[0]
    assert not np.array_equal(nearest, area)


def test_resize_errors() -> None:
    with pytest.raises(ValueError, match=r"Resize needs shape as \(height, width\)"):
        Resize(_Frames((8, 8)), (1, 2, 3))
    with pytest.raises(ValueError, match=r"Resize needs shape to be a positive integer, got 0"):
        Resize(_Frames((8, 8)), (0, 4))
    with pytest.raises(ValueError, match=r"Resize needs an OpenCV interpolation flag"):
        Resize(_Frames((8, 8)), 4, interpolation=99)
    with pytest.raises(ValueError, match=r"Resize needs a uint8 image .* bounds 0..255"):
        Resize(_BoxEnv(gym.spaces.Box(0.0, 1.0, (8, 8))), 4)


def test_crop() -> None:
    env = Crop(_Frames((96, 96, 3)), top=1, bottom=12, left=2, right=3)
    assert env.observation_space.shape == (83, 91, 3)
    obs = env.reset()[0]
    np.testing.assert_array_equal(obs, _Frames((96, 96, 3)).frames[0][1:84, 2:93])
    with pytest.raises(ValueError, match="Crop would leave nothing"):
        Crop(_Frames((10, 10)), top=5, bottom=5)


def test_image_wrappers_rebuild_from_spec() -> None:
    env = Resize(Grayscale(_atari_rgb(), luma="bt601"), [50, 40], interpolation=cv2.INTER_LINEAR)
    rebuilt = gym.make(env.spec)  # type: ignore[arg-type]
    assert (
        rebuilt.observation_space
        == env.observation_space
        == gym.spaces.Box(0, 255, (50, 40), np.uint8)
    )
    np.testing.assert_array_equal(rebuilt.reset(seed=0)[0], env.reset(seed=0)[0])


class _BoxEnv(gym.Env[np.ndarray, int]):
    def __init__(self, space: gym.spaces.Box) -> None:
        self.observation_space = space
        self.action_space = gym.spaces.Discrete(2)
