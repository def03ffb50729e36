"""The statistics of a result over seeds (Agarwal et al. 2021, "Deep RL at the edge of the
statistical precipice"): median, interquartile mean and a bootstrap 95% interval, besides mean and
standard deviation. Plain numpy: a few numbers per seed need nothing more."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0  # the interval of a given set of results is the same on every call


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle half, ``int(n/4)`` values cut from each end
    (as ``scipy.stats.trim_mean(values, 0.25)`` and rliable compute it).

    >>> iqm([1.0, 2.0, 3.0, 4.0, 100.0, -50.0, 5.0, 6.0])
    3.5
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    cut = len(x) // 4
    return float(x[cut : len(x) - cut].mean())


def bootstrap_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (10,000 resamples, a fixed generator).

    >>> bootstrap_interval([5.0, 5.0, 5.0])
    (5.0, 5.0)
    """
    x = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = x[rng.integers(0, len(x), size=(BOOTSTRAP_RESAMPLES, len(x)))].mean(axis=1)
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def summarize(values: Sequence[float | None]) -> dict[str, Any]:
    """mean, std (population), median, IQM and the bootstrap 95% interval of the values that
    exist; ``n`` of them and ``missing`` (None: a seed that never reached a target, or failed)."""
    present = [float(v) for v in values if v is not None and math.isfinite(v)]
    out: dict[str, Any] = {"n": len(present), "missing": len(values) - len(present)}
    if not present:
        return {**out, "mean": None, "std": None, "median": None, "iqm": None, "ci95": None}
    low, high = bootstrap_interval(present)
    return {
        **out,
        "mean": float(np.mean(present)),
        "std": float(np.std(present)),
        "median": float(np.median(present)),
        "iqm": iqm(present),
        "ci95": [low, high],
    }
