"""Checks of what the agent hands the env, made once per vector step and kept cheap.

``action_check(space, num_envs)`` returns a function that raises
:class:`~rlagents.run.failures.RunFailure` when ``agent.act`` returns a batch the env cannot
take: the wrong shape, the wrong kind of number, an action outside the space, or a NaN. Each
check is specialised to the space when the run starts, so the per-step cost is a few
comparisons.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from gymnasium import spaces

from rlagents.errors import RunFailure

ActionCheck = Callable[[np.ndarray], None]


def action_check(
    space: spaces.Space, num_envs: int, *, allow_nonfinite: bool = False
) -> ActionCheck:
    """A function that raises if a batch of ``num_envs`` actions does not fit ``space``."""
    if isinstance(space, spaces.Discrete):
        return _discrete_check(space, num_envs)
    if isinstance(space, spaces.Box):
        return _box_check(space, num_envs, allow_nonfinite)
    return _generic_check(space, num_envs)


def _bad(message: str) -> RunFailure:
    return RunFailure("agent", f"act() returned {message}")


def _shape_problem(actions: object, expected: tuple[int, ...]) -> RunFailure:
    if not isinstance(actions, np.ndarray):
        return _bad(f"a {type(actions).__name__}, not a numpy array of shape {expected}")
    return _bad(f"actions of shape {actions.shape}; expected {expected} (one per env)")


def _discrete_check(space: spaces.Discrete, num_envs: int) -> ActionCheck:
    low, high = int(space.start), int(space.start + space.n)  # valid: low <= a < high
    expected = (num_envs,)

    def diagnose(actions: np.ndarray) -> None:
        if type(actions) is not np.ndarray or actions.shape != expected:
            raise _shape_problem(actions, expected)
        if actions.dtype.kind not in "iu":
            raise _bad(f"actions of dtype {actions.dtype}; {space} takes integers")
        bad = int(np.flatnonzero((actions < low) | (actions >= high))[0])
        raise _bad(f"action {actions[bad]} for env {bad}, outside {space}")

    if num_envs == 1:  # the runner's fastest path: one test, the diagnosis only on failure

        def check(actions: np.ndarray) -> None:
            if not (
                type(actions) is np.ndarray
                and actions.shape == expected
                and actions.dtype.kind in "iu"
                and low <= actions[0] < high
            ):
                diagnose(actions)

        return check

    def check_batch(actions: np.ndarray) -> None:
        if not (
            type(actions) is np.ndarray
            and actions.shape == expected
            and actions.dtype.kind in "iu"
            and actions.min() >= low
            and actions.max() < high
        ):
            diagnose(actions)

    return check_batch


def _box_check(space: spaces.Box, num_envs: int, allow_nonfinite: bool) -> ActionCheck:
    low, high = space.low, space.high
    expected = (num_envs, *space.shape)

    def check(actions: np.ndarray) -> None:
        if type(actions) is not np.ndarray or actions.shape != expected:
            raise _shape_problem(actions, expected)
        if actions.dtype.kind not in "fiu":
            raise _bad(f"actions of dtype {actions.dtype}; {space} takes numbers")
        inside = (actions >= low) & (actions <= high)  # False for NaN
        if allow_nonfinite:
            inside |= np.isnan(actions)
        if not inside.all():
            env = int(np.flatnonzero(~inside.reshape(num_envs, -1).all(axis=1))[0])
            nan = np.isnan(actions[env]).any()
            what = "a NaN action" if nan else f"an action outside {space}"
            raise _bad(f"{what} for env {env}: {np.array2string(actions[env])}")

    return check


def _generic_check(space: spaces.Space, num_envs: int) -> ActionCheck:
    def check(actions: np.ndarray) -> None:
        if len(actions) != num_envs:
            raise _bad(f"{len(actions)} actions for {num_envs} envs")
        for i, action in enumerate(actions):
            if not space.contains(action):
                raise _bad(f"action {action!r} for env {i}, outside {space}")

    return check
