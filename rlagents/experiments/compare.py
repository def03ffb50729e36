"""A table over run groups (``rlrun --seeds`` directories): final and best return, steps and
seconds to the target, steps/s — as aligned text or as Markdown for a README."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlagents.errors import ResultsError
from rlagents.experiments.seeds import AGGREGATE_FILE

COLUMNS = (
    "group",
    "agent",
    "seeds",
    "final: median [IQM] (95% CI)",
    "best: median",
    "steps to target: median [IQM] (95% CI)",
    "reached",
    "seeds that missed",
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


def _spread(stats: dict[str, Any], digits: int = 1) -> str:
    """``median [IQM] [low, high]`` of a summary (the last: bootstrap 95% interval of the mean)."""
    interval = (
        f"[{_number(stats['ci95'][0], digits)}, {_number(stats['ci95'][1], digits)}]"
        if stats["ci95"]
        else "n/a"
    )
    return f"{_number(stats['median'], digits)} [{_number(stats['iqm'], digits)}] {interval}"


def missed_seeds(group: dict[str, Any]) -> list[int]:
    """The seeds whose run did not reach the target (failed runs included)."""
    per_seed = group["per_seed"]
    return [
        s
        for s in group["seeds"]
        if str(s) not in per_seed or per_seed[str(s)]["steps_to_target"] is None
    ]


def _return_digits(group: dict[str, Any]) -> int:
    """Two decimals for returns of a small scale (FrozenLake's 0.74), else one."""
    values = [group["best"]["median"], group["final"]["median"]]
    return 2 if all(v is not None and abs(v) < 10 for v in values) else 1


def group_row(group: dict[str, Any]) -> list[str]:
    steps, total = group["steps_to_target"], len(group["seeds"])
    has_target = group.get("target") is not None
    missed = ", ".join(str(s) for s in missed_seeds(group)) or "none"
    digits = _return_digits(group)
    return [
        group["name"],
        str(group["agent"]),
        f"{total - len(group['failed'])}/{total}",
        _spread(group["final"], digits),
        _number(group["best"]["median"], digits),
        _spread(steps, 0) if has_target else "no target",
        f"{steps['n']}/{total}" if has_target else "-",
        missed if has_target else "-",
        _number(group["seconds_to_target"]["median"], 0) if has_target else "-",
        _number(group["steps_per_second"]["median"], 0),
    ]


def compare(paths: Sequence[str | os.PathLike[str]], *, markdown: bool = False) -> str:
    """The table over the groups at ``paths``; groups of different envs are refused."""
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
    by_agent = "".join(_by_agent_line(g) for g in groups)
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        return f"{head}\n\n" + "\n".join(lines) + (f"\n{by_agent}" if by_agent else "")
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return head + "\n" + "\n".join(line.rstrip() for line in lines) + by_agent


def _by_agent_line(group: dict[str, Any]) -> str:
    """A multi-agent group's final return per agent (or seat), the median over its seeds."""
    each = group.get("final_by_agent") or {}
    if not each:
        return ""
    cells = ", ".join(f"{name} {_number(s['median'], 2)}" for name, s in each.items())
    return f"\n{group['name']}, final return per agent (median over seeds): {cells}"
