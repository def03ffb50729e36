"""Input-space checks shared by the wrappers.

Every error names the wrapper, what it needs and what it got, so that a user who stacks
wrappers in the wrong order sees at once which layer refused which space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


def require_box(
    owner: str, space: gym.Space[Any], *, ndim: Sequence[int] | None = None
) -> spaces.Box:
    """Return ``space`` as a Box, or raise a TypeError/ValueError naming ``owner``."""
    if not isinstance(space, spaces.Box):
        raise TypeError(f"{owner} needs a Box observation space, got {space}")
    if ndim is not None and len(space.shape) not in ndim:
        wanted = " or ".join(f"{n}-D" for n in ndim)
        raise ValueError(
            f"{owner} needs a {wanted} Box observation space, got shape {space.shape} ({space})"
        )
    return space


def require_uint8_image(
    owner: str, space: gym.Space[Any], *, ndim: Sequence[int] = (2, 3), channels: int | None = None
) -> spaces.Box:
    """Return ``space`` as a uint8 image Box with bounds 0..255, or raise naming ``owner``.

    Images are channel-last, as Gymnasium's image envs and OpenCV lay them out.
    """
    box = require_box(owner, space, ndim=ndim)
    if box.dtype != np.uint8 or not (np.all(box.low == 0) and np.all(box.high == 255)):
        raise ValueError(
            f"{owner} needs a uint8 image observation space with bounds 0..255, got {box}"
        )
    if channels is not None and (len(box.shape) != 3 or box.shape[-1] != channels):
        raise ValueError(
            f"{owner} needs a channel-last image with {channels} channels (H, W, {channels}), "
            f"got shape {box.shape}"
        )
    return box


def positive_int(owner: str, name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise naming ``owner``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{owner} needs {name} to be a positive integer, got {value!r}")
    return int(value)


def require_float_vector(owner: str, space: gym.Space[Any]) -> spaces.Box:
    """Return ``space`` if it is a 1-D Box of floats, else raise a ValueError naming ``owner``.

    A ValueError even for a space of another kind: these wrappers are configured by values
    (rlrun's ``--preset-kwargs`` among them), and a ValueError is what reports a bad value.
    """
    if (
        not isinstance(space, spaces.Box)
        or len(space.shape) != 1
        or not np.issubdtype(space.dtype, np.floating)
    ):
        raise ValueError(f"{owner} needs a 1-D float Box observation space, got {space}")
    return space


def _real(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)


def probability(owner: str, name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a number in [0, 1], else raise naming ``owner``."""
    if not _real(value) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{owner} needs {name} to be a probability in [0, 1], got {value!r}")
    return float(value)


def non_negative(owner: str, name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise naming ``owner``."""
    if not _real(value) or not 0.0 <= float(value) < np.inf:
        raise ValueError(f"{owner} needs {name} to be a finite number >= 0, got {value!r}")
    return float(value)
