"""What a run's plan allows but its user will not want, said as warnings before it starts.

Each check reads the resolved Config and the run's step budget; none stops the run (the user
may mean it), each says what to change.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rlagents.common.schedules import TO_ZERO_FIELDS


def budget_warnings(config: Any, budget: int) -> list[str]:
    """Warnings about ``config`` for a run of ``budget`` env steps."""
    found = [_never_learns(config, budget), _schedule_ends_early(config, budget)]
    return [warning for warning in found if warning]


def _never_learns(config: Any, budget: int) -> str | None:
    """An off-policy agent that starts learning after its budget plays at random throughout."""
    starts = getattr(config, "learning_starts", 0)
    if not isinstance(starts, int) or starts < budget:
        return None
    return (
        f"learning_starts {starts:,} is not below this run's {budget:,} steps: it never "
        f"learns; lower it (learning_starts={budget // 10}) or train longer"
    )


def _schedule_ends_early(config: Any, budget: int) -> str | None:
    """A linear schedule (learning rate, clip range, trust region) that reaches 0 before the
    run ends leaves the rest of the run learning nothing: a tuned set's ``schedule_steps`` is
    its own budget, and ``--steps`` trains longer without moving it."""
    steps = getattr(config, "schedule_steps", None)
    if not dataclasses.is_dataclass(config) or not isinstance(steps, int) or steps >= budget:
        return None
    names = {field.name for field in dataclasses.fields(config)}
    linear = [
        f"{name}=linear"
        for name in TO_ZERO_FIELDS
        if name in names and getattr(config, name) == "linear"
    ]
    if not linear:
        return None
    reach = "reaches" if len(linear) == 1 else "reach"
    return (
        f"{' and '.join(linear)} {reach} 0 at step {steps:,} (schedule_steps), before this "
        f"run's {budget:,} steps end: nothing is learned after it; decay over the whole run "
        f"with --set schedule_steps={budget}"
    )
