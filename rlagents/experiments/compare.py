"""A table over run groups (``rlrun --seeds`` directories): final and best return, steps and
seconds to the target, steps/s — as aligned text or as Markdown for a README — with the
intervals of the IQM and the median, the probability that each group improves on the first, and
optionally the performance profiles of the final returns (:mod:`rlagents.common.stats`).

The statistics are computed here from each seed's values in ``aggregate.json``, so a group
written by an older version compares the same way."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlagents.common import stats
from rlagents.errors import ResultsError
from rlagents.experiments.seeds import AGGREGATE_FILE

PROFILE_POINTS = 200  # thresholds τ a profile is drawn at
HOLD_MARGIN = 0.1  # a final return "held" the target within this share of |target|

COLUMNS = (
    "group",
    "agent",
    "seeds",
    "final: IQM (95% CI)",
    "final: median (95% CI)",
    "best: median",
    "steps to target: median (95% CI)",
    "reached",
    "seeds that missed",
    "final ≥ target − 10%",
    "s to target: median",
    "steps/s",
)


def read_group(path: str | os.PathLike[str]) -> dict[str, Any]:
    file = Path(path) / AGGREGATE_FILE
    if not file.exists():
        raise ResultsError(
            f"{path} is not a run group (no {AGGREGATE_FILE}); pass directories made by "
            "rlrun --seeds"
        )
    try:
        group = json.loads(file.read_text())
    except (OSError, ValueError) as err:
        raise ResultsError(f"{file} cannot be read ({err}); run the group again") from None
    return {**group, "name": Path(path).name}


def _number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _values(group: dict[str, Any], key: str) -> list[float]:
    """Each seed's ``key`` (final, best, steps_to_target, ...) that exists and is finite."""
    values = [r.get(key) for r in group["per_seed"].values()]
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def _with_interval(values: list[float], statistic: str, digits: int = 1) -> str:
    """``value (low, high)``: the statistic and its bootstrap 95% interval; one seed says it
    has none."""
    if not values:
        return "n/a"
    point = stats.iqm(values) if statistic == "iqm" else float(np.median(values))
    band = stats.interval(values, statistic)
    if band is None:
        return f"{_number(point, digits)} ({stats.NO_INTERVAL})"
    return f"{_number(point, digits)} ({_number(band[0], digits)}, {_number(band[1], digits)})"


def missed_seeds(group: dict[str, Any]) -> list[int]:
    """The seeds whose run did not reach the target (failed runs included)."""
    per_seed = group["per_seed"]
    return [
        s
        for s in group["seeds"]
        if str(s) not in per_seed or per_seed[str(s)]["steps_to_target"] is None
    ]


def held_seeds(group: dict[str, Any]) -> int:
    """How many seeds' final return stayed within ``HOLD_MARGIN`` of the target (at or above
    ``target − 0.1·|target|``: 427.5 for CartPole's 475, −220 for Pendulum's −200): a run
    that reached the target and fell back does not count."""
    target = float(group["target"])
    floor = target - HOLD_MARGIN * abs(target)
    return sum(1 for final in _values(group, "final") if final >= floor)


def _return_digits(group: dict[str, Any]) -> int:
    """Two decimals for returns of a small scale (FrozenLake's 0.74), else one."""
    values = _values(group, "final") + _values(group, "best")
    return 2 if values and all(abs(v) < 10 for v in values) else 1


def group_row(group: dict[str, Any]) -> list[str]:
    total = len(group["seeds"])
    has_target = group.get("target") is not None
    missed = ", ".join(str(s) for s in missed_seeds(group)) or "none"
    digits = _return_digits(group)
    finals, steps = _values(group, "final"), _values(group, "steps_to_target")
    best, seconds, speed = (
        _values(group, k) for k in ("best", "seconds_to_target", "steps_per_second")
    )
    return [
        group["name"],
        str(group["agent"]),
        f"{total - len(group['failed'])}/{total}",
        _with_interval(finals, "iqm", digits),
        _with_interval(finals, "median", digits),
        _number(_median(best), digits),
        _with_interval(steps, "median", 0) if has_target else "no target",
        f"{len(steps)}/{total}" if has_target else "-",
        missed if has_target else "-",
        f"{held_seeds(group)}/{total}" if has_target else "-",
        _number(_median(seconds), 0) if has_target else "-",
        _number(_median(speed), 0),
    ]


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _improvements(groups: list[dict[str, Any]]) -> list[str]:
    """P(a seed of each other group ends above a seed of the first), with its interval."""
    first, lines = groups[0], []
    base = _values(first, "final")
    for other in groups[1:]:
        values = _values(other, "final")
        if not base or not values:
            continue
        point, band = stats.probability_of_improvement(values, base)
        text = f"({band[0]:.2f}, {band[1]:.2f})" if band else f"({stats.NO_INTERVAL})"
        lines.append(f"P({other['name']} > {first['name']}), final return: {point:.2f} {text}")
    return lines


def compare(
    paths: Sequence[str | os.PathLike[str]],
    *,
    markdown: bool = False,
    profile: str | os.PathLike[str] | None = None,
) -> str:
    """The table over the groups at ``paths``; groups of different envs are refused. With
    ``profile``, the performance profiles of their final returns are drawn into that image."""
    if not paths:
        raise ResultsError("no run groups given; pass directories made by rlrun --seeds")
    groups = [read_group(p) for p in paths]
    envs = sorted({str(g["env"]) for g in groups})
    if len(envs) > 1:
        by_env = "; ".join(
            f"{env}: {', '.join(g['name'] for g in groups if g['env'] == env)}" for env in envs
        )
        raise ResultsError(
            f"these groups ran on different envs ({by_env}); their returns do not compare — "
            "compare groups of one env at a time"
        )
    rows = [list(COLUMNS), *(group_row(g) for g in groups)]
    targets = {g.get("target") for g in groups}
    head = f"{envs[0]}, target {', '.join(_number(t) for t in targets if t is not None) or 'none'}"
    notes = [_machines_line(groups), stats.METHOD, *_improvements(groups)]
    if profile is not None:
        notes.append(f"performance profiles: {plot_profiles(groups, envs[0], Path(profile))}")
    notes += [line for g in groups if (line := _by_agent_line(g))]
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        return f"{head}\n\n" + "\n".join(lines) + "\n\n" + "\n".join(notes)
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join([head, *(line.rstrip() for line in lines), *notes])


def _machines_line(groups: list[dict[str, Any]]) -> str:
    """Where the groups ran: seeded results repeat on one kind of machine, times only there."""
    each = {g["name"]: g.get("machines") or ["not recorded"] for g in groups}
    kinds = sorted({m for machines in each.values() for m in machines})
    if len(kinds) == 1:
        return f"machine: {kinds[0]}"
    listed = "; ".join(f"{name}: {' / '.join(m)}" for name, m in each.items())
    return f"machines differ ({listed}): compare steps and returns, not times"


def _by_agent_line(group: dict[str, Any]) -> str:
    """A multi-agent group's final return per agent (or seat), the median over its seeds."""
    each = group.get("final_by_agent") or {}
    if not each:
        return ""
    cells = ", ".join(f"{name} {_number(s['median'], 2)}" for name, s in each.items())
    return f"{group['name']}, final return per agent (median over seeds): {cells}"


def plot_profiles(groups: list[dict[str, Any]], env: str, out: Path) -> Path:
    """Each group's performance profile (Agarwal et al. 2021, fig. 5): the fraction of its seeds
    whose final return exceeds τ, against τ, with the bootstrap 95% band; written to ``out``."""
    from matplotlib.figure import Figure

    finals = {g["name"]: _values(g, "final") for g in groups}
    every = [v for values in finals.values() for v in values]
    if not every:
        raise ResultsError("no group has a final evaluation to draw a profile of")
    low, high = min(every), max(every)
    margin = 0.05 * (high - low or 1.0)
    taus = np.linspace(low - margin, high + margin, PROFILE_POINTS)
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    for name, values in finals.items():
        if not values:
            continue
        fraction, band_low, band_high = stats.performance_profile(values, taus)
        (line,) = ax.step(taus, fraction, where="post", label=f"{name} ({len(values)} seeds)")
        ax.fill_between(taus, band_low, band_high, step="post", alpha=0.2, color=line.get_color())
    ax.set_xlabel("final evaluation return τ")
    ax.set_ylabel("fraction of seeds with return > τ")
    ax.set_title(f"{env}: performance profiles (bands: 95% bootstrap)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=150)
    except (OSError, ValueError) as err:
        raise ResultsError(f"{out}: cannot write it ({err}); pick another path (.png)") from err
    return out
