"""The statistics of a result over seeds, as Agarwal et al. 2021 ("Deep RL at the Edge of the
Statistical Precipice", the rliable library) recommend: the interquartile mean (IQM) and the
median with percentile-bootstrap 95% intervals *of those statistics*, the probability of
improvement between two groups, and performance profiles.

rliable's intervals are stratified bootstraps: runs are resampled within each task, then the
statistic is taken over all tasks. A comparison here is over one env, so there is one stratum and
the stratified bootstrap is the ordinary percentile bootstrap over seeds; it is computed by
``scipy.stats.bootstrap`` (``method="percentile"``, as rliable), not written again. A group of one
seed has no interval (None), and says so where it is printed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats

RESAMPLES = 10_000
CONFIDENCE = 0.95
SEED = 0  # the interval of a given set of results is the same on every call
METHOD = (
    f"intervals: {CONFIDENCE:.0%} percentile bootstrap over seeds, {RESAMPLES:,} resamples "
    "(scipy.stats.bootstrap; rliable's stratified bootstrap, one env being one stratum)"
)
NO_INTERVAL = "no interval: 1 seed"

Interval = tuple[float, float]


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle half, ``int(n/4)`` values cut from each end
    (``scipy.stats.trim_mean(values, 0.25)``, as rliable computes it).

    >>> iqm([1.0, 2.0, 3.0, 4.0, 100.0, -50.0, 5.0, 6.0])
    3.5
    """
    return float(stats.trim_mean(np.asarray(values, dtype=np.float64), 0.25))


def _iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(stats.trim_mean(x, 0.25, axis=axis))


def _median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(np.median(x, axis=axis))


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(np.mean(x, axis=axis))


STATISTICS: dict[str, Callable[..., np.ndarray]] = {"iqm": _iqm, "median": _median, "mean": _mean}


def interval(values: Sequence[float] | np.ndarray, statistic: str = "iqm") -> Interval | None:
    """The percentile-bootstrap 95% interval of ``statistic`` (iqm, median or mean) of
    ``values``; None for fewer than two values.

    >>> interval([5.0, 5.0, 5.0])
    (5.0, 5.0)
    >>> interval([3.0]) is None
    True
    """
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        return None
    low, high = columns_interval(x[:, None], statistic)  # one column
    return float(low[0]), float(high[0])


def columns_interval(rows: np.ndarray, statistic: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """:func:`interval` of each column of ``rows`` (one row per seed, ≥ 2 rows), in one
    bootstrap: a learning curve's band over seeds. A column whose values are all equal is its
    own interval."""
    x = np.asarray(rows, dtype=np.float64)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns of the equal columns, handled below
        result = stats.bootstrap(
            (x,),
            STATISTICS[statistic],
            n_resamples=RESAMPLES,
            method="percentile",
            confidence_level=CONFIDENCE,
            vectorized=True,
            axis=0,
            rng=np.random.default_rng(SEED),
        )
    low, high = result.confidence_interval
    equal = np.all(x == x[0], axis=0)
    low, high = np.where(equal, x[0], low), np.where(equal, x[0], high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def _improvement(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """P(X > Y) + ½ P(X = Y) over all pairs of a run of X and a run of Y (the last axes)."""
    a, b = x[..., :, None], y[..., None, :]
    return np.asarray(((a > b) + 0.5 * (a == b)).mean(axis=(-2, -1)))


def probability_of_improvement(
    x: Sequence[float], y: Sequence[float]
) -> tuple[float, Interval | None]:
    """The probability that a run of group X scores higher than a run of group Y (ties count
    half: the Mann-Whitney U statistic over n·m), and its bootstrap interval (resampling each
    group on its own); no interval where a group has one run."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    point = float(stats.mannwhitneyu(a, b).statistic / (len(a) * len(b)))
    if len(a) < 2 or len(b) < 2:
        return point, None
    result = stats.bootstrap(
        (a, b),
        _improvement,
        n_resamples=RESAMPLES,
        method="percentile",
        confidence_level=CONFIDENCE,
        vectorized=True,
        paired=False,
        rng=np.random.default_rng(SEED),
    )
    ci = result.confidence_interval
    low, high = (point, point) if math.isnan(ci.low) else (float(ci.low), float(ci.high))
    return point, (low, high)


def performance_profile(
    values: Sequence[float], thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fraction of runs scoring above each threshold τ, and its bootstrap 95% band (the
    point value where there is one run)."""
    x = np.asarray(values, dtype=np.float64)
    above = (x[:, None] > np.asarray(thresholds)[None, :]).astype(np.float64)  # runs × τ
    fraction = above.mean(axis=0)
    low, high = fraction.copy(), fraction.copy()
    for k in range(above.shape[1]):  # scipy's bootstrap takes one statistic at a time
        band = interval(above[:, k], "mean")
        if band is not None:
            low[k], high[k] = band
    return fraction, low, high


def summarize(values: Sequence[float | None]) -> dict[str, Any]:
    """mean, std (population), median and IQM of the values that exist, with the intervals of
    the IQM and the median (None for one value); ``n`` of them and ``missing`` (None: a seed
    that never reached a target, or failed)."""
    present = [float(v) for v in values if v is not None and math.isfinite(v)]
    out: dict[str, Any] = {"n": len(present), "missing": len(values) - len(present)}
    if not present:
        return {**out, "mean": None, "std": None, "median": None, "iqm": None,
                "iqm_ci95": None, "median_ci95": None}  # fmt: skip
    return {
        **out,
        "mean": float(np.mean(present)),
        "std": float(np.std(present)),
        "median": float(np.median(present)),
        "iqm": iqm(present),
        "iqm_ci95": interval(present, "iqm"),
        "median_ci95": interval(present, "median"),
    }
