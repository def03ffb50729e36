"""Image observation wrappers backed by OpenCV: grayscale, resize and crop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from wrappers._validate import positive_int, require_uint8_image

# Gymnasium's GrayscaleObservation weights (scikit-image's rgb2gray, Rec. 709 luma).
_GYMNASIUM_LUMA = np.array([[0.2125, 0.7154, 0.0721]], dtype=np.float32)

INTERPOLATIONS = {
    cv2.INTER_NEAREST: "INTER_NEAREST",
    cv2.INTER_LINEAR: "INTER_LINEAR",
    cv2.INTER_CUBIC: "INTER_CUBIC",
    cv2.INTER_AREA: "INTER_AREA",
    cv2.INTER_LANCZOS4: "INTER_LANCZOS4",
    cv2.INTER_LINEAR_EXACT: "INTER_LINEAR_EXACT",
    cv2.INTER_NEAREST_EXACT: "INTER_NEAREST_EXACT",
}


class Grayscale(
    gym.ObservationWrapper[NDArray[np.uint8], Any, NDArray[np.uint8]],
    gym.utils.RecordConstructorArgs,
):
    """Convert RGB uint8 observations ``(H, W, 3)`` to grayscale ``(H, W)`` or ``(H, W, 1)``.

    Why not ``gymnasium.wrappers.GrayscaleObservation``: it multiplies in float64 numpy, an
    order of magnitude slower per frame. ``luma="gymnasium"`` (default) uses the same weights
    (0.2125, 0.7154, 0.0721) with ``cv2.transform`` and rounds where Gymnasium truncates, so
    outputs differ by at most 1; ``luma="bt601"`` uses ``cv2.cvtColor`` (0.299, 0.587, 0.114:
    OpenCV's, PIL's and the DQN paper's weights), faster still. The timings are in
    ``benchmarks/RESULTS.md`` (``benchmarks/wrappers_throughput.py``).

    Example:
        >>> import ale_py
        >>> import gymnasium as gym
        >>> from wrappers import Grayscale
        >>> gym.register_envs(ale_py)
        >>> env = gym.make("ALE/Pong-v5")
        >>> env.observation_space
        Box(0, 255, (210, 160, 3), uint8)
        >>> Grayscale(env).observation_space
        Box(0, 255, (210, 160), uint8)
        >>> Grayscale(env, keep_dim=True, luma="bt601").observation_space
        Box(0, 255, (210, 160, 1), uint8)
    """

    def __init__(
        self,
        env: gym.Env[NDArray[np.uint8], Any],
        keep_dim: bool = False,
        *,
        luma: Literal["gymnasium", "bt601"] = "gymnasium",
    ) -> None:
        """Grayscale ``env``'s RGB observations.

        Args:
            env: An env with a uint8 ``(H, W, 3)`` RGB observation space, bounds 0..255.
            keep_dim: Keep a channel axis of size 1 (``(H, W, 1)``) if True.
            luma: "gymnasium" (Gymnasium's weights) or "bt601" (``cv2.cvtColor``, fastest).
        """
        gym.utils.RecordConstructorArgs.__init__(self, keep_dim=keep_dim, luma=luma)
        gym.ObservationWrapper.__init__(self, env)
        box = require_uint8_image("Grayscale", env.observation_space, ndim=(3,), channels=3)
        if luma not in ("gymnasium", "bt601"):
            raise ValueError(f"Grayscale needs luma 'gymnasium' or 'bt601', got {luma!r}")
        self.keep_dim = keep_dim
        self.luma = luma
        shape = box.shape[:2] + ((1,) if keep_dim else ())
        self.observation_space = spaces.Box(0, 255, shape, np.uint8)

    def observation(self, observation: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """Return the grayscale image."""
        if self.luma == "bt601":
            gray = cv2.cvtColor(observation, cv2.COLOR_RGB2GRAY)
        else:
            gray = cv2.transform(observation, _GYMNASIUM_LUMA)
        # cv2's stubs type results as a generic MatLike; it is uint8 here.
        out = cast("NDArray[np.uint8]", gray)
        return out[..., None] if self.keep_dim else out


class Resize(
    gym.ObservationWrapper[NDArray[np.uint8], Any, NDArray[np.uint8]],
    gym.utils.RecordConstructorArgs,
):
    """Resize uint8 image observations ``(H, W)`` or ``(H, W, C)`` to ``shape`` with OpenCV.

    Why not ``gymnasium.wrappers.ResizeObservation``: it takes only a tuple for ``shape``
    and always uses ``cv2.INTER_AREA``. Here ``shape`` is an int (square) or any sequence
    of two ints ``(height, width)``, and ``interpolation`` is any OpenCV flag (default
    ``cv2.INTER_AREA``, which gives exactly Gymnasium's output; ``cv2.INTER_LINEAR`` is
    several times faster on large downscales).

    Example:
        >>> import ale_py
        >>> import cv2
        >>> import gymnasium as gym
        >>> from wrappers import Resize
        >>> gym.register_envs(ale_py)
        >>> env = gym.make("ALE/Pong-v5")
        >>> env.observation_space
        Box(0, 255, (210, 160, 3), uint8)
        >>> Resize(env, [84, 84]).observation_space
        Box(0, 255, (84, 84, 3), uint8)
        >>> Resize(env, 64, interpolation=cv2.INTER_LINEAR).observation_space
        Box(0, 255, (64, 64, 3), uint8)
    """

    def __init__(
        self,
        env: gym.Env[NDArray[np.uint8], Any],
        shape: int | Sequence[int],
        *,
        interpolation: int = cv2.INTER_AREA,
    ) -> None:
        """Resize ``env``'s image observations.

        Args:
            env: An env with a uint8 image observation space (bounds 0..255), channel-last.
            shape: ``(height, width)`` as any sequence of two positive ints, or one int.
            interpolation: An OpenCV interpolation flag such as ``cv2.INTER_AREA``.
        """
        gym.utils.RecordConstructorArgs.__init__(self, shape=shape, interpolation=interpolation)
        gym.ObservationWrapper.__init__(self, env)
        box = require_uint8_image("Resize", env.observation_space, ndim=(2, 3))
        self.shape = _pair("Resize", "shape", shape)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"Resize needs an OpenCV interpolation flag ({', '.join(INTERPOLATIONS.values())}"
                f"), got {interpolation!r}"
            )
        self.interpolation = int(interpolation)
        self._dsize = (self.shape[1], self.shape[0])  # OpenCV takes (width, height)
        self._out_shape = (*self.shape, *box.shape[2:])
        self.observation_space = spaces.Box(0, 255, self._out_shape, np.uint8)

    def observation(self, observation: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """Return the resized image."""
        resized = cast(
            "NDArray[np.uint8]",
            cv2.resize(observation, self._dsize, interpolation=self.interpolation),
        )
        # OpenCV drops a trailing channel axis of size 1; restore the declared shape.
        return resized.reshape(self._out_shape)


class Crop(
    gym.ObservationWrapper[NDArray[np.uint8], Any, NDArray[np.uint8]],
    gym.utils.RecordConstructorArgs,
):
    """Cut ``top``/``bottom`` rows and ``left``/``right`` columns off image observations.

    Gymnasium has no crop wrapper; CarRacing needs one to drop its 12-row dashboard.

    Example:
        >>> import ale_py
        >>> import gymnasium as gym
        >>> from wrappers.image import Crop
        >>> gym.register_envs(ale_py)
        >>> env = gym.make("ALE/Pong-v5")
        >>> env.observation_space
        Box(0, 255, (210, 160, 3), uint8)
        >>> Crop(env, top=34, bottom=16).observation_space
        Box(0, 255, (160, 160, 3), uint8)
    """

    def __init__(
        self,
        env: gym.Env[NDArray[np.uint8], Any],
        *,
        top: int = 0,
        bottom: int = 0,
        left: int = 0,
        right: int = 0,
    ) -> None:
        """Crop ``env``'s image observations (counts of rows/columns removed per side)."""
        gym.utils.RecordConstructorArgs.__init__(
            self, top=top, bottom=bottom, left=left, right=right
        )
        gym.ObservationWrapper.__init__(self, env)
        box = require_uint8_image("Crop", env.observation_space, ndim=(2, 3))
        h, w = box.shape[:2]
        sides = {"top": top, "bottom": bottom, "left": left, "right": right}
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in sides.values()):
            raise ValueError(f"Crop needs non-negative int margins, got {sides}")
        if top + bottom >= h or left + right >= w:
            raise ValueError(f"Crop would leave nothing of a {h}x{w} image with margins {sides}")
        self._rows = slice(top, h - bottom)
        self._cols = slice(left, w - right)
        shape = (h - top - bottom, w - left - right, *box.shape[2:])
        self.observation_space = spaces.Box(0, 255, shape, np.uint8)

    def observation(self, observation: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """Return the cropped image (a copy, so it does not alias the env's buffer)."""
        return observation[self._rows, self._cols].copy()


def _pair(owner: str, name: str, value: int | Sequence[int]) -> tuple[int, int]:
    """``(h, w)`` from one int or any sequence of two positive ints."""
    if isinstance(value, int | np.integer):
        side = positive_int(owner, name, value)
        return side, side
    items = list(value)
    if len(items) != 2:
        raise ValueError(f"{owner} needs {name} as (height, width), got {value!r}")
    h, w = (positive_int(owner, name, v) for v in items)
    return h, w
