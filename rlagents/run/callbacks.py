"""User callbacks: see what a run does, and stop it.

A callback gets the run's events (the same ones its log files and TensorBoard get) and stops the
run by returning ``False`` from any hook, as a Stable-Baselines3 callback does from ``_on_step``::

    class StopAt(rlagents.Callback):
        def on_evaluation(self, step, mean, std, episodes):
            return mean < 475  # False: good enough, stop

    rlagents.train("CartPole-v1", "ppo", eval_every=5_000, callbacks=[StopAt()])

Hooks are called per finished episode at most, never per env step. The run stops at the end of
the env step where the request came, saves and evaluates as when its budget is spent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rlagents.errors import RunFailure, one_line
from rlagents.run.logs import Logger


class Callback:
    """Override the hooks you need; return ``False`` from one to stop the run."""

    def on_episode_end(self, step: int, episode: int, ret: float, length: int) -> bool | None:
        """A training episode ended at env step ``step`` with return ``ret``."""
        return None

    def on_metrics(self, step: int, metrics: Mapping[str, float | None]) -> bool | None:
        """Every 1,000 env steps: the means of the agent's learning metrics since the last call."""
        return None

    def on_evaluation(self, step: int, mean: float, std: float, episodes: int) -> bool | None:
        """A greedy evaluation of ``episodes`` episodes ended."""
        return None

    def on_checkpoint(self, step: int, path: Path) -> bool | None:
        """A checkpoint was written to ``path``."""
        return None


class CallbackLogger(Logger):
    """Hands the run's events to the user's callbacks; records the first request to stop."""

    def __init__(self, callbacks: Sequence[Callback], on_stop: Callable[[str], None]) -> None:
        for cb in callbacks:
            if not isinstance(cb, Callback):
                from rlagents.errors import ConfigError

                raise ConfigError(
                    f"callbacks must be rlagents.Callback instances, got {type(cb).__name__}"
                )
        self.callbacks = list(callbacks)
        self.on_stop = on_stop

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            try:
                answer = getattr(cb, hook)(*args)
            except Exception as err:
                name = type(cb).__name__
                raise RunFailure("callback", f"{name}.{hook}() raised {one_line(err)}") from err
            if answer is False:
                self.on_stop(f"{type(cb).__name__}.{hook}() returned False")

    def episode(self, step: int, episode: int, ret: float, length: int, wall: float) -> None:
        self._call("on_episode_end", step, episode, ret, length)

    def interval(self, step: int, wall: float, metrics: Mapping[str, float | None]) -> None:
        self._call("on_metrics", step, metrics)

    def evaluation(self, step: int, wall: float, mean: float, std: float, episodes: int) -> None:
        self._call("on_evaluation", step, mean, std, episodes)

    def checkpoint(self, step: int, path: Path) -> None:
        self._call("on_checkpoint", step, path)
