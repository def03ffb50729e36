"""Schedules of a value over steps (exploration ε, learning rate, noise scale).

Each is a small callable ``schedule(t) -> float`` where ``t`` counts steps or episodes, as the
agent chooses, so a resumed run continues the schedule from its restored counter.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Constant:
    value: float

    def __call__(self, t: float) -> float:
        return self.value


@dataclass(frozen=True)
class Linear:
    """From ``start`` to ``end`` over ``duration`` steps, then ``end`` (SB3's exploration_fraction).

    >>> Linear(1.0, 0.1, 100)(50)
    0.55
    """

    start: float
    end: float
    duration: float

    def __call__(self, t: float) -> float:
        if self.duration <= 0 or t >= self.duration:
            return self.end
        return self.start + (self.end - self.start) * (t / self.duration)


@dataclass(frozen=True)
class Inverse:
    """The course's ε = 1/k (k counts from 1), floored at ``minimum``.

    >>> [Inverse()(k) for k in (1, 2, 4)]
    [1.0, 0.5, 0.25]
    """

    minimum: float = 0.0

    def __call__(self, t: float) -> float:
        return max(self.minimum, 1.0 / max(t, 1.0))


@dataclass(frozen=True)
class Exponential:
    """``start · decay^t``, floored at ``minimum``."""

    start: float
    decay: float
    minimum: float = 0.0

    def __call__(self, t: float) -> float:
        return max(self.minimum, self.start * self.decay**t)


#: The Config fields whose ``"linear"`` value means :func:`to_zero` over ``schedule_steps``:
#: the run's plan reads this to warn when such a schedule ends before the run does.
TO_ZERO_FIELDS = ("lr_schedule", "clip_range_schedule", "target_kl_schedule")


def to_zero(kind: str, value: float, steps: float) -> Constant | Linear:
    """``value`` throughout (``"constant"``) or decayed linearly to 0 over ``steps``
    (``"linear"``, rl-zoo3's ``lin_``): the learning-rate and clip-range schedules' one rule."""
    return Linear(value, 0.0, steps) if kind == "linear" else Constant(value)
