"""TensorBoard event files for a run, with the scalar tags Stable-Baselines3 uses.

At each logging interval: ``rollout/ep_rew_mean`` and ``rollout/ep_len_mean`` (over the last
100 finished episodes, once there is one), ``time/fps`` and ``train/<metric>`` for each of the
agent's update() metrics; at each evaluation: ``eval/mean_reward`` and ``eval/std_reward``.
A multi-agent env adds each agent's (or seat's) own: ``rollout/ep_rew_mean/<agent>`` and
``eval/mean_reward/<agent>``, so TensorBoard's tag filter shows them side by side.
The step of every scalar is the env step. Values that are missing or not finite are left out.

The files are written by tensorboard's own ``EventFileWriter`` (no torch, no TensorFlow), into
the run directory itself, so ``tensorboard --logdir runs`` shows each run as its own line; a
resumed run adds a second event file to the same directory.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from rlagents.errors import RLAgentsError, option
from rlagents.run.logs import Logger

WINDOW = 100  # episodes in rollout/ep_rew_mean and rollout/ep_len_mean, as in SB3


class TensorBoardLogger(Logger):
    """A run logger that writes TensorBoard scalars into ``log_dir``.

    ``steps_at_start`` is the env step the run starts from (non-zero when it resumes), so that
    ``time/fps`` counts only this run's steps. An OSError while writing (a full disk) is raised
    as an OSError by the call that writes, flushes or closes.
    """

    def __init__(self, log_dir: str | os.PathLike[str], *, steps_at_start: int = 0) -> None:
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError:
            raise RLAgentsError(
                "TensorBoard logging needs the tensorboard package: "
                f"pip install tensorboard, or pass {option('tensorboard', False)}"
            ) from None
        self.log_dir = os.fspath(log_dir)
        self.steps_at_start = steps_at_start
        self._event_pb2: Any = event_pb2
        self._summary_pb2: Any = summary_pb2
        self._writer: Any = EventFileWriter(self.log_dir, flush_secs=5)
        self._returns: deque[float] = deque(maxlen=WINDOW)
        self._lengths: deque[int] = deque(maxlen=WINDOW)
        self._agent_returns: dict[str, deque[float]] = {}
        self._closed = False

    def episode(self, step: int, episode: int, ret: float, length: int, wall: float) -> None:
        self._returns.append(float(ret))
        self._lengths.append(int(length))

    def interval(self, step: int, wall: float, metrics: Mapping[str, float | None]) -> None:
        scalars: dict[str, float | None] = {}
        if self._returns:
            scalars["rollout/ep_rew_mean"] = sum(self._returns) / len(self._returns)
            scalars["rollout/ep_len_mean"] = sum(self._lengths) / len(self._lengths)
        for name, returns in self._agent_returns.items():
            scalars[f"rollout/ep_rew_mean/{name}"] = sum(returns) / len(returns)
        if wall > 0:
            scalars["time/fps"] = (step - self.steps_at_start) / wall
        for name, value in metrics.items():
            scalars[f"train/{name}"] = value
        self._write(step, scalars)

    def evaluation(self, step: int, wall: float, mean: float, std: float, episodes: int) -> None:
        self._write(step, {"eval/mean_reward": mean, "eval/std_reward": std})

    def agent_returns(self, step: int, kind: str, returns: Mapping[str, float]) -> None:
        if kind == "evaluation":
            self._write(step, {f"eval/mean_reward/{name}": r for name, r in returns.items()})
            return
        for name, ret in returns.items():
            self._agent_returns.setdefault(name, deque(maxlen=WINDOW)).append(float(ret))

    def checkpoint(self, step: int, path: str | os.PathLike[str]) -> None:
        """Checkpoints are not shown in TensorBoard."""

    def flush(self) -> None:
        if not self._closed:
            self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file; closes it even when the flush fails. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._writer.flush()  # raises a write error the writer's thread met; close() would not
        finally:
            self._writer.close()

    def _write(self, step: int, scalars: Mapping[str, float | None]) -> None:
        """Add one event holding every finite value of ``scalars`` at ``step``."""
        if self._closed:
            raise ValueError(f"TensorBoardLogger for {self.log_dir} is closed")
        summary = self._summary_pb2.Summary
        values = [
            summary.Value(tag=tag, simple_value=number)
            for tag, value in scalars.items()
            if value is not None and math.isfinite(number := float(value))
        ]
        if values:
            event = self._event_pb2.Event(
                wall_time=time.time(), step=int(step), summary=summary(value=values)
            )
            self._writer.add_event(event)
