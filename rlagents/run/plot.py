"""Learning curves of finished (or running) training runs, drawn from their run directories.

``plot_runs`` reads ``progress.csv`` (or ``evaluations.csv``) and ``config.json`` of each run,
draws one line per (env, agent) — per (env, agent, player) with ``by_agent``, from a multi-agent
run's columns per agent or seat —: a single run as it is, several seeds as their mean with a band
(the 95% interval of the mean; for two seeds, their range), and saves a PNG. It uses
``matplotlib.figure.Figure`` directly, so it needs no display and leaves pyplot's global state
alone.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from rlagents.common.stats import columns_interval
from rlagents.errors import ResultsError, option

if TYPE_CHECKING:
    from matplotlib.axes import Axes

logger = logging.getLogger("rlagents.run")
Array = npt.NDArray[np.float64]
GRID_POINTS = 200


@dataclass(frozen=True, eq=False)
class Curves:
    """What one run directory records; a non-finite return or mean is NaN."""

    env: str
    agent: str
    seed: int | None
    steps: Array
    seconds: Array
    returns: Array
    eval_steps: Array
    eval_seconds: Array
    eval_means: Array
    eval_episodes: Array
    agent_returns: dict[str, Array]  # a multi-agent run's return per agent, by episode
    eval_agent_means: dict[str, Array]  # ... and its evaluations' mean per agent or seat


def read_curves(run_dir: str | os.PathLike[str], *, evaluations: bool = False) -> Curves:
    """Read a run directory; with ``evaluations`` its ``evaluations.csv`` must exist."""
    d = Path(run_dir)
    if not d.is_dir():
        raise ResultsError(f"{d}: no such directory; pass the run directories that rlrun wrote")
    progress, evals = d / "progress.csv", d / "evaluations.csv"
    if not progress.is_file():
        raise ResultsError(f"{d}: no progress.csv here; is this a run directory?")
    if evaluations and not evals.is_file():
        raise ResultsError(
            f"{d}: no evaluations.csv; run with {option('eval_every')} N to record evaluations"
        )
    meta = _meta(d)
    p = _read_csv(progress, ["step", "wall_seconds", "return"], "return_")
    e = (
        _read_csv(evals, ["step", "wall_seconds", "mean_return", "episodes"], "mean_return_")
        if evals.is_file()
        else {}
    )
    empty = np.zeros(0)
    seed = meta.get("seed")
    return Curves(
        env=str(meta["env"]),
        agent=str(meta["agent"]),
        seed=seed if isinstance(seed, int) else None,
        steps=p["step"],
        seconds=p["wall_seconds"],
        returns=p["return"],
        eval_steps=e.get("step", empty),
        eval_seconds=e.get("wall_seconds", empty),
        eval_means=e.get("mean_return", empty),
        eval_episodes=e.get("episodes", empty),
        agent_returns=_per_agent(p, "return_"),
        eval_agent_means=_per_agent(e, "mean_return_"),
    )


def _per_agent(columns: dict[str, Array], prefix: str) -> dict[str, Array]:
    return {k.removeprefix(prefix): v for k, v in columns.items() if k.startswith(prefix)}


def _meta(d: Path) -> dict[str, Any]:
    for name in ("config.json", "summary.json"):
        try:
            data = json.loads((d / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("env") and data.get("agent"):
            return data
    raise ResultsError(f"{d}: no config.json or summary.json names the env and agent; is it a run?")


def _read_csv(path: Path, columns: list[str], per_agent: str) -> dict[str, Array]:
    """The ``columns`` of ``path``, and those whose name starts with ``per_agent``."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header, rows = reader.fieldnames, list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ResultsError(f"{path}: cannot read it ({err}); check the file") from err
    if not header:
        raise ResultsError(f"{path}: the file is empty; plot again once the run has started")
    missing = [c for c in columns if c not in header]
    if missing:
        raise ResultsError(
            f"{path}: no column {', '.join(missing)}; is it a file that rlrun wrote?"
        )
    columns = columns + [c for c in header if c.startswith(per_agent)]
    out: dict[str, list[float]] = {c: [] for c in columns}
    for i, row in enumerate(rows):
        try:
            values = [float(row[c]) if row[c] != "" or c == "step" else math.nan for c in columns]
        except (TypeError, ValueError):
            if i == len(rows) - 1:  # a live run may be halfway through writing its last line
                break
            raise ResultsError(f"{path}: line {i + 2} is damaged; repair or delete it") from None
        for c, v in zip(columns, values, strict=True):
            out[c].append(v)
    return {c: np.asarray(v, dtype=np.float64) for c, v in out.items()}


def _series(
    c: Curves, x: str, evaluations: bool, smooth: int, player: str | None = None
) -> tuple[Array, Array]:
    """(x, return) of a run, or of one ``player`` of a multi-agent run."""
    if evaluations:
        xs = c.eval_steps if x == "steps" else c.eval_seconds
        ys = c.eval_means if player is None else c.eval_agent_means[player]
    else:
        xs = c.steps if x == "steps" else c.seconds
        ys = c.returns if player is None else c.agent_returns[player]
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    if not evaluations and smooth > 1 and len(ys):  # trailing moving average
        sums = np.concatenate([[0.0], np.cumsum(ys)])
        hi = np.arange(1, len(ys) + 1)
        lo = np.maximum(hi - smooth, 0)
        ys = (sums[hi] - sums[lo]) / (hi - lo)
    return xs, ys


def _draw(
    ax: Axes, label: str, series: list[tuple[Array, Array]], x: str, marker: str | None
) -> None:
    if len(series) == 1:
        ax.plot(*series[0], label=label, marker=marker, markersize=3)
        return
    lo, hi = max(s[0][0] for s in series), min(s[0][-1] for s in series)
    if not lo < hi:
        raise ResultsError(f"the runs of {label} share no range of {x}; plot them one at a time")
    grid = _grid(series, lo, hi)
    ys = np.stack([np.interp(grid, xs, y) for xs, y in series])
    lo_band, hi_band, kind = seed_band(ys)
    (line,) = ax.plot(grid, ys.mean(axis=0), label=f"{label} ({len(series)} seeds, {kind})")
    ax.fill_between(grid, lo_band, hi_band, color=line.get_color(), alpha=0.25, lw=0)


def _grid(series: list[tuple[Array, Array]], lo: float, hi: float) -> Array:
    """Where the mean and its band are drawn: the runs' own steps where they are few (evaluations,
    which seeds make at the same steps), so that no point of the band is an interpolation; else
    ``GRID_POINTS`` evenly spaced."""
    steps = np.unique(np.concatenate([xs for xs, _ in series]))
    steps = steps[(steps >= lo) & (steps <= hi)]
    return steps if len(steps) <= GRID_POINTS else np.linspace(lo, hi, GRID_POINTS)


def _players(d: str | os.PathLike[str], c: Curves, file: str) -> list[str]:
    players = list(c.eval_agent_means if file == "evaluations.csv" else c.agent_returns)
    if not players:
        raise ResultsError(
            f"{d}: {file} has no column per agent (a multi-agent run's has; a game's seats "
            f"are in evaluations.csv only); leave out {option('by_agent', True)}"
        )
    return players


def seed_band(ys: Array) -> tuple[Array, Array, str]:
    """The band around the mean of ``ys`` (one row per seed) and what it is: the 95%
    percentile-bootstrap interval of the mean over seeds (the intervals of ``rlrun compare``),
    which stays within what the seeds did; for two seeds, their range."""
    if len(ys) == 2:
        return ys.min(axis=0), ys.max(axis=0), "range"
    low, high = columns_interval(ys, "mean")
    return low, high, "95% bootstrap CI"


def plot_runs(
    run_dirs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str] = "learning_curves.png",
    *,
    x: Literal["steps", "seconds"] = "steps",
    evaluations: bool = False,
    smooth: int = 20,
    title: str | None = None,
    by_agent: bool = False,
) -> Path:
    """Draw the learning curves of ``run_dirs`` into ``out`` (a PNG) and return its path;
    ``by_agent`` draws a multi-agent run's agents (or a game's seats) one line each."""
    from matplotlib.figure import Figure

    out = Path(out)
    if not run_dirs:
        raise ResultsError(
            "no run directories given; pass one or more, e.g. runs/CartPole-v1_ppo_*"
        )
    formats = Figure().canvas.get_supported_filetypes()
    if out.suffix.lower().lstrip(".") not in formats:
        raise ResultsError(
            f"{out}: matplotlib cannot write {out.suffix or 'a file without a suffix'}; "
            f"end the name in .png (or .{', .'.join(sorted(formats))})"
        )
    if x not in ("steps", "seconds") or smooth < 1:
        raise ResultsError(
            f"bad x={x!r} or smooth={smooth}; use x='steps' or 'seconds', smooth >= 1"
        )
    groups: dict[tuple[str, str], list[tuple[Array, Array]]] = {}
    seeds: dict[tuple[str, str], int | None] = {}
    episodes: set[int] = set()
    file = "evaluations.csv" if evaluations else "progress.csv"
    for d in run_dirs:
        c = read_curves(d, evaluations=evaluations)
        for player in _players(d, c, file) if by_agent else [None]:
            xs, ys = _series(c, x, evaluations, smooth, player)
            if not len(xs):
                logger.warning("%s: %s has no finished rows yet; leaving it out", d, file)
                continue
            key = (c.env, c.agent if player is None else f"{c.agent} {player}")
            groups.setdefault(key, []).append((xs, ys))
            seeds[key] = c.seed
        episodes.update(int(k) for k in c.eval_episodes if np.isfinite(k))
    if not groups:
        n, first = len(run_dirs), run_dirs[0]
        raise ResultsError(
            f"{first}: {file} has no rows yet; plot again once the run has recorded some"
            if n == 1
            else f"none of the {n} run directories has rows in {file} yet ({first}, ...); "
            "plot again later"
        )
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    for key, series in groups.items():
        seed = f" (seed {seeds[key]})" if len(series) == 1 and seeds[key] is not None else ""
        _draw(ax, f"{key[0]} {key[1]}{seed}", series, x, "o" if evaluations else None)
    ax.set_xlabel("environment steps" if x == "steps" else "wall-clock seconds")
    k = "–".join(str(e) for e in sorted({min(episodes), max(episodes)})) if episodes else "several"
    ax.set_ylabel(
        f"evaluation return (mean of {k} episodes)"
        if evaluations
        else f"episode return (smoothed over {smooth} episodes)"
    )
    ax.set_title(title if title is not None else ", ".join(dict.fromkeys(e for e, _ in groups)))
    ax.grid(True, alpha=0.3)
    ax.legend()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=150)
    except OSError as err:
        raise ResultsError(
            f"{out}: cannot write it ({err.strerror or err}); pick another path"
        ) from err
    finally:
        fig.clear()
    return out
