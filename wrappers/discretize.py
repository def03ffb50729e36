"""Discretize a 1-D Box observation into bins, for tabular agents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import ArrayLike, NDArray

from wrappers._validate import require_box
from wrappers.bounds import classic_control_bounds

DEFAULT_BINS = 10

Bound = float | Sequence[float | None] | NDArray[Any] | None


class Discretize(
    gym.ObservationWrapper[np.int64 | NDArray[np.int64], Any, NDArray[Any]],
    gym.utils.RecordConstructorArgs,
):
    """Map a 1-D Box observation to bin indices: ``Discrete`` (flat index) or ``MultiDiscrete``.

    Why not ``gymnasium.wrappers.DiscretizeObservation``: it refuses any infinite bound, so
    it cannot discretize CartPole-v1, takes no bounds from the user and only cuts uniform
    bins. Here each dimension's bounds come from ``low``/``high`` where given (a number for
    all dimensions, or one per dimension with ``None`` meaning "the space's bound"), else
    from the observation space; an infinite bound that nobody replaced is an error naming
    the dimension. ``edges`` gives non-uniform bins instead. Values outside the bounds land
    in the edge bins, and :meth:`inverse` maps a bin back to its centre.
    ``wrappers.classic_control_bounds`` has ready bounds for the classic-control envs.

    Example:
        >>> import gymnasium as gym
        >>> from wrappers import Discretize, classic_control_bounds
        >>> env = gym.make("MountainCar-v0")
        >>> env.observation_space
        Box([-1.2  -0.07], [0.6  0.07], (2,), float32)
        >>> env = Discretize(env, bins=10)
        >>> env.observation_space
        Discrete(100)
        >>> obs, _ = env.reset(seed=42)
        >>> obs, env.inverse(obs)
        (np.int64(45), array([-0.39000002,  0.007     ], dtype=float32))
        >>> low, high = classic_control_bounds("CartPole-v1")
        >>> env = Discretize(gym.make("CartPole-v1"), bins=(3, 3, 6, 6), low=low, high=high,
        ...                  flatten=False)
        >>> env.observation_space
        MultiDiscrete([3 3 6 6])
    """

    def __init__(
        self,
        env: gym.Env[NDArray[Any], Any],
        bins: int | Sequence[int] | None = None,
        *,
        low: Bound = None,
        high: Bound = None,
        edges: Sequence[Sequence[float]] | None = None,
        flatten: bool = True,
    ) -> None:
        """Discretize ``env``'s observations.

        Args:
            env: An env with a 1-D Box observation space.
            bins: Bins per dimension, one int for all or one per dimension (default 10).
            low: Lower bounds: a number, one per dimension (``None`` = the space's), or None.
            high: Upper bounds, as ``low``.
            edges: Instead of ``bins``/``low``/``high``: per dimension, the increasing bin
                boundaries ``[b0, b1, ..., bn]`` for ``n`` bins (non-uniform bins).
            flatten: ``Discrete`` flat index (C order) if True, else ``MultiDiscrete``.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self, bins=bins, low=low, high=high, edges=edges, flatten=flatten
        )
        gym.ObservationWrapper.__init__(self, env)
        box = require_box("Discretize", env.observation_space, ndim=(1,))
        size = box.shape[0]
        if edges is not None:
            if bins is not None or low is not None or high is not None:
                raise ValueError("Discretize takes either edges= or bins=/low=/high=, not both")
            self._edges = _edges_from_user(edges, size)
        else:
            lo, hi = _resolve_bounds(env, box, low, high)
            counts = _bins_per_dim(DEFAULT_BINS if bins is None else bins, size)
            self._edges = [np.linspace(a, b, n + 1) for a, b, n in zip(lo, hi, counts, strict=True)]

        self.bins: NDArray[np.int64] = np.array([len(e) - 1 for e in self._edges], dtype=np.int64)
        self.low: NDArray[np.float64] = np.array([e[0] for e in self._edges])
        self.high: NDArray[np.float64] = np.array([e[-1] for e in self._edges])
        self.flatten = flatten
        # Uniform bins are located arithmetically (vectorised); others by binary search.
        self._uniform = edges is None
        self._width = (self.high - self.low) / self.bins
        # Interior edges only: searchsorted then returns 0..n-1 and clips for free.
        self._inner = [e[1:-1] for e in self._edges]
        self._strides = np.cumprod(np.r_[self.bins[1:], 1][::-1])[::-1].astype(np.int64)
        self._value_dtype = box.dtype
        # The flat uniform case is the tabular agents' hot path (once per env step): a plain
        # Python loop over a handful of floats costs ~2.5 us against ~17 us for the numpy
        # version below, whose per-call overhead dominates at 2-6 dimensions.
        self._flat_uniform = list(
            zip(
                self.low.tolist(),
                self._width.tolist(),
                (self.bins - 1).tolist(),
                self._strides.tolist(),
                strict=True,
            )
        )
        if flatten:
            self.observation_space = spaces.Discrete(int(np.prod(self.bins)))
        else:
            self.observation_space = spaces.MultiDiscrete(self.bins)

    def observation(self, observation: NDArray[Any]) -> np.int64 | NDArray[np.int64]:
        """Return the bin of ``observation``; values outside the bounds go to the edge bins."""
        if self._uniform and self.flatten:
            return np.int64(self._flat_uniform_index(np.asarray(observation).tolist()))
        x = np.asarray(observation, dtype=np.float64)
        if self._uniform:
            index = np.floor((x - self.low) / self._width)
            np.nan_to_num(index, copy=False, nan=0.0)  # NaN to bin 0, as in the flat path
            np.clip(index, 0, self.bins - 1, out=index)
            multi = index.astype(np.int64)
        else:
            multi = np.array(
                [np.searchsorted(e, v, side="right") for e, v in zip(self._inner, x, strict=True)],
                dtype=np.int64,
            )
        if self.flatten:
            return np.int64(multi @ self._strides)
        return multi

    def _flat_uniform_index(self, values: list[float]) -> int:
        """Same bins as the numpy path: floor((v - low) / width), clipped to [0, bins - 1]."""
        index = 0
        for value, (low, width, last, stride) in zip(values, self._flat_uniform, strict=True):
            k = (value - low) / width
            # Written so that NaN (all comparisons false) lands in bin 0 like below-range values.
            index += (last if k >= last else int(k) if k >= 0 else 0) * stride
        return index

    def inverse(self, index: int | np.integer[Any] | ArrayLike) -> NDArray[Any]:
        """Return the centre of a bin (a flat index, or one index per dimension).

        The centre lies inside the bin; for an edge bin it is the centre of its bounded part.
        """
        multi = self._multi_index(index)
        lo = np.array([e[i] for e, i in zip(self._edges, multi, strict=True)])
        hi = np.array([e[i + 1] for e, i in zip(self._edges, multi, strict=True)])
        return ((lo + hi) / 2).astype(self._value_dtype)

    def _multi_index(self, index: int | np.integer[Any] | ArrayLike) -> NDArray[np.int64]:
        arr = np.asarray(index)
        if arr.ndim == 0:
            flat = int(arr)
            if not 0 <= flat < int(np.prod(self.bins)):
                raise ValueError(f"Discretize.inverse: flat index {flat} out of range")
            return np.array(np.unravel_index(flat, tuple(self.bins)), dtype=np.int64)
        multi = arr.astype(np.int64)
        if multi.shape != self.bins.shape or np.any(multi < 0) or np.any(multi >= self.bins):
            raise ValueError(
                f"Discretize.inverse: index {arr.tolist()} out of range "
                f"for bins {self.bins.tolist()}"
            )
        return multi


def _per_dim(value: Bound, size: int, name: str) -> list[float | None]:
    """Expand a bound given as a number or a per-dimension sequence (with Nones)."""
    if value is None:
        return [None] * size
    if isinstance(value, int | float | np.number):
        return [float(value)] * size
    items = list(value)
    if len(items) != size:
        raise ValueError(f"Discretize needs {name} with {size} entries, got {len(items)}")
    return [None if v is None else float(v) for v in items]


def _resolve_bounds(
    env: gym.Env[Any, Any], box: spaces.Box, low: Bound, high: Bound
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Bounds per dimension: the user's where given, else the space's; all must be finite."""
    size = box.shape[0]
    user_lo, user_hi = _per_dim(low, size, "low"), _per_dim(high, size, "high")
    lo = np.array([box.low[i] if v is None else v for i, v in enumerate(user_lo)], np.float64)
    hi = np.array([box.high[i] if v is None else v for i, v in enumerate(user_hi)], np.float64)
    infinite = [i for i in range(size) if not (np.isfinite(lo[i]) and np.isfinite(hi[i]))]
    if infinite:
        word = "dimension" if len(infinite) == 1 else "dimensions"
        dims = ", ".join(f"{i} (low={lo[i]}, high={hi[i]})" for i in infinite)
        env_id = env.spec.id if env.spec is not None else None
        hint = (
            f"; {env_id} has ready bounds: low, high = wrappers.classic_control_bounds({env_id!r})"
            if env_id is not None and classic_control_bounds(env_id) is not None
            else ""
        )
        raise ValueError(
            f"Discretize cannot cut an infinite range into bins: {word} {dims} of {box} "
            f"has no finite bound and none was given; pass low=/high= for it{hint}"
        )
    bad = [i for i in range(size) if not lo[i] < hi[i]]
    if bad:
        raise ValueError(f"Discretize needs low < high in every dimension; not so in {bad}")
    return lo, hi


def _bins_per_dim(bins: int | Sequence[int], size: int) -> list[int]:
    counts: list[Any] = [bins] * size if isinstance(bins, int | np.integer) else list(bins)
    if len(counts) != size or any(
        isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1 for n in counts
    ):
        raise ValueError(
            f"Discretize needs bins as a positive int or {size} positive ints, got {bins!r}"
        )
    return [int(n) for n in counts]


def _edges_from_user(edges: Sequence[Sequence[float]], size: int) -> list[NDArray[np.float64]]:
    out = [np.asarray(e, dtype=np.float64) for e in edges]
    if len(out) != size:
        raise ValueError(f"Discretize needs edges for {size} dimensions, got {len(out)}")
    for i, e in enumerate(out):
        if e.ndim != 1 or len(e) < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
            raise ValueError(
                f"Discretize needs edges[{i}] to be at least 2 finite increasing numbers, "
                f"got {e.tolist()}"
            )
    return out
