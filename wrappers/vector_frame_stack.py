"""Frame stacking for a vector env's batched observations, autoreset-aware."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from wrappers._validate import positive_int, require_box
from wrappers.frame_stack import padding_frame


class VectorFrameStack(
    VectorWrapper[NDArray[Any], Any, NDArray[Any], Any, NDArray[Any]],
    gym.utils.RecordConstructorArgs,
):
    """Stack the last ``stack_size`` observations of every sub-env of a vector env.

    Gymnasium has no vector frame stack. The output equals running
    ``FrameStackObservation`` inside every sub-env: shape ``(num_envs, stack_size, *obs)``
    and a sub-env whose episode restarted gets its stack re-padded with its reset
    observation (or the ``padding_type`` frame). The autoreset mode is read from
    ``env.metadata["autoreset_mode"]`` (missing means NEXT_STEP, Gymnasium's default):

    * NEXT_STEP: the step after a sub-env ended returns its reset observation; that
      sub-env's stack is re-padded there.
    * SAME_STEP: a sub-env that ended returns its reset observation at once and
      ``info["final_obs"]`` holds its final observation; the final observation is pushed
      onto the old stack, so ``info["final_obs"][i]`` is the final *stacked* observation,
      and the returned observation is the re-padded stack.
    * DISABLED: sub-envs are restarted with ``reset(options={"reset_mask": mask})``; only
      the masked sub-envs are re-padded.

    Same ring-buffer design as :class:`wrappers.FrameStack`: one copy per step and the
    returned array belongs to the caller.

    Example:
        >>> import ale_py
        >>> import gymnasium as gym
        >>> from wrappers import VectorFrameStack
        >>> gym.register_envs(ale_py)
        >>> envs = gym.make_vec("ALE/Pong-v5", 2, vectorization_mode="sync", obs_type="grayscale")
        >>> envs.observation_space
        Box(0, 255, (2, 210, 160), uint8)
        >>> envs = VectorFrameStack(envs, 4)
        >>> envs.single_observation_space, envs.observation_space
        (Box(0, 255, (4, 210, 160), uint8), Box(0, 255, (2, 4, 210, 160), uint8))
        >>> obs, _ = envs.reset(seed=0)
        >>> obs.shape
        (2, 4, 210, 160)
    """

    def __init__(
        self,
        env: VectorEnv[Any, Any, Any],
        stack_size: int,
        *,
        padding_type: str | NDArray[Any] = "reset",
    ) -> None:
        """Stack ``stack_size`` observations per sub-env of ``env``.

        Args:
            env: A vector env whose single observation space is a Box.
            stack_size: How many observations to stack (the new axis after the env axis).
            padding_type: "reset" (default), "zero" or a custom single observation.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self, stack_size=stack_size, padding_type=padding_type
        )
        VectorWrapper.__init__(self, env)
        box = require_box("VectorFrameStack", env.single_observation_space)
        self.stack_size = positive_int("VectorFrameStack", "stack_size", stack_size)
        self._padding = padding_frame("VectorFrameStack", box, padding_type)
        self.autoreset_mode = AutoresetMode(
            env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        )
        self.single_observation_space = batch_space(box, n=self.stack_size)
        self.observation_space = batch_space(self.single_observation_space, n=env.num_envs)
        k = self.stack_size
        self._ring = np.zeros((env.num_envs, 2 * k, *box.shape), dtype=box.dtype)
        self._newest = k - 1
        # NEXT_STEP: sub-envs whose next observation is a reset observation.
        self._restarting = np.zeros(env.num_envs, dtype=np.bool_)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        """Reset all sub-envs, or those in ``options["reset_mask"]``, and re-pad their stacks."""
        # Read the mask first: SyncVectorEnv pops it from the options it is given.
        mask = None if options is None else options.get("reset_mask")
        obs, info = self.env.reset(seed=seed, options=options)  # type: ignore[arg-type]
        which = np.arange(self.num_envs) if mask is None else np.flatnonzero(mask)
        for j in which:
            self._repad(int(j), obs[j])
        self._restarting[which] = False
        return self._stacks(), info

    def step(
        self, actions: Any
    ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any], dict[str, Any]]:
        """Step all sub-envs and push their observations, handling autoresets."""
        obs, rewards, terminations, truncations, info = self.env.step(actions)
        k = self.stack_size
        i = self._newest + 1
        if i == k:
            i = 0
        self._newest = i
        self._ring[:, i] = obs
        self._ring[:, i + k] = obs
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            for j in np.flatnonzero(self._restarting):
                self._repad(int(j), obs[j])
            self._restarting = np.logical_or(terminations, truncations)
        elif self.autoreset_mode == AutoresetMode.SAME_STEP:
            ended = np.asarray(info.get("_final_obs", np.logical_or(terminations, truncations)))
            if ended.any():
                info = {**info, "final_obs": self._stack_final(info["final_obs"], ended, obs)}
        return self._stacks(), rewards, terminations, truncations, info

    def _stacks(self) -> NDArray[Any]:
        i, k = self._newest, self.stack_size
        return self._ring[:, i + 1 : i + 1 + k].copy()

    def _repad(self, j: int, first: NDArray[Any]) -> None:
        """Fill sub-env ``j``'s stack with padding and ``first`` as its newest frame."""
        i, k = self._newest, self.stack_size
        self._ring[j] = first if self._padding is None else self._padding
        self._ring[j, i] = self._ring[j, i + k] = first

    def _stack_final(self, final: Any, ended: NDArray[np.bool_], obs: NDArray[Any]) -> Any:
        """Stack the final observations of the ended sub-envs, then re-pad those sub-envs.

        Keeps the container kind the env used: Gymnasium's object array (None where a
        sub-env did not end) or a dense array as ale-py's vector env returns.
        """
        i, k = self._newest, self.stack_size
        if isinstance(final, np.ndarray) and final.dtype == object:
            stacked = final.copy()
        else:
            stacked = np.zeros((self.num_envs, k, *obs.shape[1:]), dtype=self._ring.dtype)
        for j in np.flatnonzero(ended):
            self._ring[j, i] = self._ring[j, i + k] = final[j]
            stacked[j] = self._ring[j, i + 1 : i + 1 + k].copy()
            self._repad(int(j), obs[j])
        return stacked
