"""Stack the last ``k`` observations, with Gymnasium's semantics and one copy per step."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space
from gymnasium.wrappers.utils import create_zero_array
from numpy.typing import NDArray

from wrappers._validate import positive_int, require_box


def padding_frame(
    owner: str, space: spaces.Box, padding_type: str | NDArray[Any]
) -> NDArray[Any] | None:
    """The fixed padding frame for ``padding_type``, or None for "reset" (the reset frame).

    Same options as ``gymnasium.wrappers.FrameStackObservation``: "reset", "zero" or an
    observation of the wrapped space.
    """
    if isinstance(padding_type, str):
        if padding_type == "reset":
            return None
        if padding_type == "zero":
            return np.asarray(create_zero_array(space))
        raise ValueError(
            f"{owner} needs padding_type 'reset', 'zero' or an observation, got {padding_type!r}"
        )
    if padding_type not in space:
        raise ValueError(
            f"{owner} needs a custom padding_type inside the observation space {space}, "
            f"got {padding_type!r}"
        )
    return np.array(padding_type, dtype=space.dtype)


class FrameStack(
    gym.Wrapper[NDArray[Any], Any, NDArray[Any], Any],
    gym.utils.RecordConstructorArgs,
):
    """Stack the last ``stack_size`` observations of a Box env along a new first axis.

    Same observation space, padding (``"reset"``, ``"zero"`` or a custom observation) and
    output as ``gymnasium.wrappers.FrameStackObservation`` for the same trajectory; the
    tests check that. Why ours: Gymnasium concatenates its deque into a buffer and then
    deep-copies that buffer on every step. Here frames live in a ring of ``2 * stack_size``
    slots and each frame is written twice, ``stack_size`` slots apart, so the last
    ``stack_size`` frames always sit contiguously in the ring; a step writes one frame
    twice and copies that slice once. The returned array is a fresh ndarray that the
    caller may keep or modify (a replay buffer may hold it). It costs a fraction of
    Gymnasium's ``FrameStackObservation`` per step (``benchmarks/wrappers_throughput.py``;
    figures in ``benchmarks/RESULTS.md``). A LazyFrames-style object would avoid even the one
    copy, but would not be an ndarray.

    Example:
        >>> import ale_py
        >>> import gymnasium as gym
        >>> from wrappers import FrameStack
        >>> gym.register_envs(ale_py)
        >>> env = gym.make("ALE/Pong-v5", obs_type="grayscale")
        >>> env.observation_space
        Box(0, 255, (210, 160), uint8)
        >>> FrameStack(env, 4).observation_space
        Box(0, 255, (4, 210, 160), uint8)
        >>> env = FrameStack(gym.make("CartPole-v1"), 3)  # padded with the reset observation
        >>> obs, _ = env.reset(seed=123)
        >>> obs
        array([[ 0.01823519, -0.0446179 , -0.02796401, -0.03156282],
               [ 0.01823519, -0.0446179 , -0.02796401, -0.03156282],
               [ 0.01823519, -0.0446179 , -0.02796401, -0.03156282]], dtype=float32)
    """

    def __init__(
        self,
        env: gym.Env[NDArray[Any], Any],
        stack_size: int,
        *,
        padding_type: str | NDArray[Any] = "reset",
    ) -> None:
        """Stack ``stack_size`` observations of ``env``.

        Args:
            env: An env with a Box observation space.
            stack_size: How many observations to stack (the new first axis).
            padding_type: What fills the stack after a reset: "reset" (the reset
                observation, Gymnasium's default), "zero", or a custom observation.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self, stack_size=stack_size, padding_type=padding_type
        )
        gym.Wrapper.__init__(self, env)
        box = require_box("FrameStack", env.observation_space)
        self.stack_size = positive_int("FrameStack", "stack_size", stack_size)
        self._padding = padding_frame("FrameStack", box, padding_type)
        self.observation_space = batch_space(box, n=self.stack_size)
        k = self.stack_size
        self._ring = np.zeros((2 * k, *box.shape), dtype=box.dtype)
        self._newest = k - 1  # ring index of the newest frame's first copy

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        """Reset the env and fill the stack with padding followed by the reset observation."""
        obs, info = self.env.reset(seed=seed, options=options)
        k = self.stack_size
        self._ring[:] = obs if self._padding is None else self._padding
        self._newest = k - 1
        self._ring[k - 1] = self._ring[2 * k - 1] = obs
        return self._ring[k:].copy(), info

    def step(self, action: Any) -> tuple[NDArray[Any], SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and push its observation onto the stack."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        k = self.stack_size
        i = self._newest + 1
        if i == k:
            i = 0
        self._newest = i
        ring = self._ring
        ring[i] = obs
        ring[i + k] = obs
        # Slots i+1 .. i+k hold the last k frames oldest first; copy so the caller owns it.
        return ring[i + 1 : i + 1 + k].copy(), reward, terminated, truncated, info
