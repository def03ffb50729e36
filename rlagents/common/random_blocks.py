"""The pieces of a fast ε-greedy step with one env: random numbers drawn a block at a time, and
actions handed out as read-only arrays made once.

Drawing one number from a numpy Generator costs a call into numpy per env step; drawing 4096 at
once and reading them from Python lists costs an index. The agent's hot path reads the block's
attributes itself (no call per step):

    draws = self.draws
    k = draws.next
    if k == draws.size:
        k = draws.refill()
    draws.next = k + 1
    if draws.uniform[k] < epsilon:
        return draws.integers[k]  # a random action

A checkpoint keeps the unused rest of the block and its position (:meth:`RandomBlock.state_dict`),
so a resumed run draws the same numbers as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

BLOCK = 4096  # random numbers drawn per refill


class RandomBlock:
    """``size`` uniform floats in [0, 1) and ``size`` integers in [0, high), drawn together from
    ``rng`` (floats first), as Python lists; ``next`` is the index of the next unused pair."""

    __slots__ = ("high", "integers", "next", "rng", "size", "uniform")

    def __init__(self, rng: np.random.Generator, high: int, size: int = BLOCK) -> None:
        self.rng = rng
        self.high = high
        self.size = size
        self.uniform: list[float] = []
        self.integers: list[int] = []
        self.next = 0
        self.refill()

    def refill(self) -> int:
        """Draw a new block and return the index to read first (0)."""
        self.uniform = self.rng.random(self.size).tolist()
        self.integers = self.rng.integers(0, self.high, self.size).tolist()
        self.next = 0
        return 0

    def state_dict(self) -> dict[str, Any]:
        """The block as arrays and the position in it (the generator is saved by its owner)."""
        return {
            "uniform": np.array(self.uniform),
            "actions": np.array(self.integers, dtype=np.int64),
            "draw": self.next,
        }

    def load_state_dict(self, state: Mapping[str, Any] | None) -> None:
        """Restore :meth:`state_dict`; ``None`` (a checkpoint from before blocks were saved)
        draws a new block from the generator as restored."""
        if state is None:
            self.refill()
            return
        self.uniform = np.asarray(state["uniform"]).tolist()
        self.integers = np.asarray(state["actions"]).tolist()
        self.next = int(state["draw"])


def one_action_arrays(n: int, start: int = 0) -> list[np.ndarray]:
    """A read-only ``(1,)`` int64 array per action ``start … start + n − 1``, indexed from 0: what
    ``act`` hands out with one env, without allocating."""
    arrays = [np.array([a + start], dtype=np.int64) for a in range(n)]
    for array in arrays:
        array.flags.writeable = False
    return arrays
