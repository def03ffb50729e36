"""The progress bar of ``rlrun train`` and of :func:`rlagents.train` in interactive use: a run
logger, updated every 1,000 env steps (``tqdm.auto``: a widget in a notebook, text elsewhere)."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Mapping

import numpy as np

from rlagents.run.logs import Logger


class ProgressBar(Logger):
    """A tqdm bar of env steps with steps/s, the episodes done and the mean return of the last
    100 (with a remaining-time estimate when the budget is in steps)."""

    def __init__(self, total: int | None, start: int, *, disable: bool) -> None:
        from tqdm.auto import tqdm

        self.start = start
        self.episodes = 0
        self.returns: deque[float] = deque(maxlen=100)
        self.bar = tqdm(
            total=total,
            unit="step",
            unit_scale=True,
            dynamic_ncols=True,
            disable=disable,
            file=sys.stderr,
            mininterval=0.5,
        )

    def episode(self, step: int, episode: int, ret: float, length: int, wall: float) -> None:
        self.episodes = episode
        self.returns.append(ret)

    def interval(self, step: int, wall: float, metrics: Mapping[str, float | None]) -> None:
        self.bar.update(step - self.start - self.bar.n)
        if self.returns:
            mean = f"{np.mean(self.returns):.1f}"
            self.bar.set_postfix(episodes=self.episodes, ret=mean, refresh=False)

    def close(self) -> None:
        self.bar.close()


def interactive() -> bool:
    """A person is watching: a notebook or an interactive interpreter, or stderr is a terminal."""
    if hasattr(sys, "ps1") or "ipykernel" in sys.modules:
        return True
    return sys.stderr is not None and sys.stderr.isatty()
