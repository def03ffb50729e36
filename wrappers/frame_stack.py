"""Stack the last ``k`` observations, with Gymnasium's semantics and one copy per step."""

from __future__ import annotations

import copy
from collections import deque
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array
from gymnasium.wrappers.utils import create_zero_array
from numpy.typing import NDArray


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
        raise ValueError(_padding_error(owner, padding_type))
    if padding_type not in space:
        raise ValueError(_padding_error(owner, padding_type, space))
    return np.array(padding_type, dtype=space.dtype)


def _fixed_padding(owner: str, space: gym.Space[Any], padding_type: Any) -> Any | None:
    """:func:`padding_frame` for any space: None for "reset", else the padding observation.

    Checked in Gymnasium's order, so that a Text space can be padded with any string but
    "reset" and "zero".
    """
    if isinstance(padding_type, str) and padding_type in ("reset", "zero"):
        zero = _zero_observation(owner, space)
        return None if padding_type == "reset" else zero
    if padding_type in space:
        return copy.deepcopy(padding_type)  # ours: the caller's later edits do not reach it
    if isinstance(padding_type, str):
        raise ValueError(_padding_error(owner, padding_type))
    raise ValueError(_padding_error(owner, padding_type, space))


def _padding_error(owner: str, padding_type: Any, space: gym.Space[Any] | None = None) -> str:
    """Gymnasium's message for a bad ``padding_type`` (FrameStack is a drop-in for
    ``FrameStackObservation``, errors included), naming the wrapper and the space."""
    outside = "" if space is None else f", which is not an observation of {space}"
    return (
        "Unexpected `padding_type`, expected 'reset', 'zero' or a custom observation space, "
        f"actual value: {padding_type!r}{outside} ({owner})"
    )


def checked_stack_size(stack_size: Any) -> int:
    """``stack_size`` checked as Gymnasium's ``FrameStackObservation`` checks it, with its
    exception types and messages, so that either wrapper fails the same way."""
    if isinstance(stack_size, bool) or not np.issubdtype(type(stack_size), np.integer):
        raise TypeError(
            f"The stack_size is expected to be an integer, actual type: {type(stack_size)}"
        )
    if stack_size < 1:
        raise ValueError(
            f"The stack_size needs to be greater than zero, actual value: {stack_size}"
        )
    return int(stack_size)


def _zero_observation(owner: str, space: gym.Space[Any]) -> Any:
    """Gymnasium's zero observation of ``space`` (what "zero" pads with)."""
    try:
        return create_zero_array(space)
    except gym.error.CustomSpaceError:
        raise ValueError(
            f"{owner} cannot pad a {type(space).__name__} observation with 'reset' or 'zero': "
            "Gymnasium has no zero observation of it; pass padding_type=<an observation>, or "
            "register one with gymnasium.wrappers.utils.create_zero_array"
        ) from None


class FrameStack(gym.Wrapper[Any, Any, Any, Any], gym.utils.RecordConstructorArgs):
    """Stack the last ``stack_size`` observations, of any observation space.

    Same observation space (``gymnasium.vector.utils.batch_space``), padding (``"reset"``,
    ``"zero"`` or a custom observation) and output as
    ``gymnasium.wrappers.FrameStackObservation`` for the same trajectory, for every space it
    takes (Box, Discrete, MultiDiscrete, MultiBinary, Tuple, Dict, Text, Graph, Sequence,
    OneOf); the tests check that. Box observations, the frames of every image and vector
    env, take a faster path: Gymnasium concatenates its deque into a buffer and then
    deep-copies that buffer on every step. Here Box frames live in a ring of
    ``2 * stack_size`` slots and each frame is written twice, ``stack_size`` slots apart, so
    the last ``stack_size`` frames always sit contiguously in the ring; a step writes one
    frame twice and copies that slice once. The returned array is a fresh ndarray that the
    caller may keep or modify (a replay buffer may hold it). It costs a fraction of
    Gymnasium's ``FrameStackObservation`` per step (``benchmarks/wrappers_throughput.py``;
    figures in ``benchmarks/RESULTS.md``). A LazyFrames-style object would avoid even the one
    copy, but would not be an ndarray. Other spaces are stacked as Gymnasium does (a deque
    of frames, ``concatenate`` into a buffer, a deep copy of it), so the caller owns what it
    gets there too.

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
        >>> env = FrameStack(gym.make("FrozenLake-v1", is_slippery=False), 3, padding_type="zero")
        >>> env.observation_space
        MultiDiscrete([16 16 16])
        >>> env.reset(seed=0)[0], env.step(2)[0]
        (array([0, 0, 0]), array([0, 0, 1]))
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        stack_size: int,
        *,
        padding_type: Any = "reset",
    ) -> None:
        """Stack ``stack_size`` observations of ``env``.

        Args:
            env: An env with any Gymnasium observation space.
            stack_size: How many observations to stack (the new first axis of a Box).
            padding_type: What fills the stack after a reset: "reset" (the reset
                observation, Gymnasium's default), "zero", or a custom observation.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self, stack_size=stack_size, padding_type=padding_type
        )
        gym.Wrapper.__init__(self, env)
        space = env.observation_space
        if not isinstance(space, gym.Space):
            raise TypeError(f"FrameStack needs a gymnasium Space observation space, got {space}")
        self.stack_size = checked_stack_size(stack_size)
        self.observation_space = batch_space(space, n=self.stack_size)
        k = self.stack_size
        self._ring: NDArray[Any] | None = None  # the Box path's frames; None on the other path
        if isinstance(space, spaces.Box):
            self._padding = padding_frame("FrameStack", space, padding_type)
            self._ring = np.zeros((2 * k, *space.shape), dtype=space.dtype)
            self._newest = k - 1  # ring index of the newest frame's first copy
        else:
            self._padding = _fixed_padding("FrameStack", space, padding_type)
            # Until the first reset the stack holds padding, zeros for "reset" (as Gymnasium).
            before_reset = self._padding
            if before_reset is None:
                before_reset = _zero_observation("FrameStack", space)
            self._frames = deque([before_reset] * k, maxlen=k)
            self._stacked: Any = create_empty_array(space, n=k)  # concatenate's buffer

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env and fill the stack with padding followed by the reset observation."""
        obs, info = self.env.reset(seed=seed, options=options)
        if self._ring is None:
            padding = obs if self._padding is None else self._padding
            self._frames.extend([padding] * (self.stack_size - 1))
            self._frames.append(obs)
            return self._stacked_copy(), info
        k = self.stack_size
        self._ring[:] = obs if self._padding is None else self._padding
        self._newest = k - 1
        self._ring[k - 1] = self._ring[2 * k - 1] = obs
        return self._ring[k:].copy(), info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and push its observation onto the stack."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self._ring is None:
            self._frames.append(obs)
            return self._stacked_copy(), reward, terminated, truncated, info
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

    def _stacked_copy(self) -> Any:
        """The frames of the deque as one observation of the stacked space, the caller's own.

        ``concatenate`` writes arrays into the one buffer and gathers Text, Graph, Sequence
        and OneOf frames as they are; the deep copy cuts both ties.
        """
        return copy.deepcopy(concatenate(self.env.observation_space, self._frames, self._stacked))
