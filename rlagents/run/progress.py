"""The progress bar of ``rlrun train`` and of :func:`rlagents.train` in interactive use: a run
logger, updated every 1,000 env steps (``tqdm.auto``: a widget in a notebook, text elsewhere)."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from rlagents.run.logs import Logger


class ProgressBar(Logger):
    """A tqdm bar of env steps with steps/s, the episodes done and the mean return of the last
    100 (with a remaining-time estimate when the budget is in steps)."""

    def __init__(self, total: int | None, start: int, *, disable: bool) -> None:
        self.total, self.start, self.disable = total, start, disable
        self.episodes = 0
        self.returns: deque[float] = deque(maxlen=100)
        self.bar: Any = None

    def _draw(self, done: int) -> Any:
        # Drawn at the first interval, not when the run is built: the plan's warnings are
        # printed as the run starts, and a bar drawn before them would sit above them at 0%.
        # The steps already done are its `initial`, which tqdm leaves out of the rate.
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=self.total,
                initial=done,
                unit="step",
                unit_scale=True,
                dynamic_ncols=True,
                disable=self.disable,
                file=sys.stderr,
                mininterval=0.5,
            )
        return self.bar

    def episode(self, step: int, episode: int, ret: float, length: int, wall: float) -> None:
        self.episodes = episode
        self.returns.append(ret)

    def interval(self, step: int, wall: float, metrics: Mapping[str, float | None]) -> None:
        bar = self._draw(step - self.start)
        bar.update(step - self.start - bar.n)
        if self.returns:
            mean = f"{np.mean(self.returns):.1f}"
            bar.set_postfix(episodes=self.episodes, ret=mean, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def interactive() -> bool:
    """A person is watching: a notebook or an interactive interpreter, or stderr is a terminal."""
    if hasattr(sys, "ps1") or "ipykernel" in sys.modules:
        return True
    return sys.stderr is not None and sys.stderr.isatty()
