"""The files a run leaves in its run directory.

progress.csv      one row per finished episode: step, episode, return, length, wall seconds
                  (a multi-agent env's: the mean return per agent, then ``return_<agent>`` each)
evaluations.csv   one row per evaluation: step, wall seconds, mean and std of return, episodes
                  (a multi-agent env's: then ``mean_return_<agent>`` for each agent or seat)
metrics.jsonl     the agent's update() metrics, averaged over each logging interval
config.json       the agent, env, preset, seed and every hyper-parameter the run used
summary.json      the run's totals and its final evaluation

Each destination is a :class:`Logger` (these files, TensorBoard, the CLI's progress bar, a user's
callbacks); :class:`RunLog` fans the loop's events out to them. Rows are buffered and flushed
every few seconds and at exit, so logging stays off the hot loop.
A non-finite number is written as an empty CSV cell and as ``null`` in JSON (``NaN`` is not JSON);
a write that fails (a full disk) raises :class:`~rlagents.run.failures.RunFailure`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rlagents.errors import RunFailure, one_line

FLUSH_SECONDS = 5.0


class Logger:
    """What a run reports, to its files, TensorBoard, a progress bar or a user's callback.

    Every method is called rarely — per finished episode at most, never per env step — so an
    implementation may do a little work in each. The defaults do nothing.
    """

    def episode(self, step: int, episode: int, ret: float, length: int, wall: float) -> None:
        """One finished training episode; ``step`` counts env steps over all envs."""

    def interval(self, step: int, wall: float, metrics: Mapping[str, float | None]) -> None:
        """Every 1,000 env steps and at the end of training: the means of the agent's
        ``update()`` metrics since the last interval (None where a mean is not finite)."""

    def evaluation(self, step: int, wall: float, mean: float, std: float, episodes: int) -> None:
        """One greedy evaluation."""

    def agent_returns(self, step: int, kind: str, returns: Mapping[str, float]) -> None:
        """A multi-agent env's return per agent (or per seat of a game) for the ``"episode"`` or
        ``"evaluation"`` (``kind``) reported just before; with one shared policy that is also
        the policy's, with independent policies each agent's is its policy's."""

    def checkpoint(self, step: int, path: Path) -> None:
        """A checkpoint was written."""

    def flush(self) -> None:
        """Write what is buffered."""

    def close(self) -> None:
        """Flush and release the files."""


class RunLog:
    """The loop's one reporting object: averages the agent's metrics over each interval and
    hands every event to each logger; the first failure to write (a full disk) stops the run."""

    def __init__(self, loggers: Sequence[Logger]) -> None:
        self.loggers = list(loggers)
        self._metric_sums: dict[str, float] = defaultdict(float)
        self._metric_counts: dict[str, int] = defaultdict(int)
        self._last_flush = time.monotonic()
        self.stop_requested: str | None = None  # set by a callback that asks the run to stop

    def request_stop(self, reason: str) -> None:
        self.stop_requested = self.stop_requested or reason

    def _each(self, event: str, *args: Any) -> None:
        """Hand ``event`` to every logger; a write that fails (OSError: a full disk, a folder
        gone) is the disk's failure, whichever logger met it, and a user's logger raising is
        reported as that logger's."""
        for logger in self.loggers:
            try:
                getattr(logger, event)(*args)
            except RunFailure:
                raise
            except OSError as err:
                name = type(logger).__name__
                raise RunFailure("disk", f"{name} cannot write: {one_line(err)}") from err
            except Exception as err:
                if type(logger).__module__.startswith(("rlagents.", "cli.")):
                    raise  # a bug of ours: reported as such by the run
                name = type(logger).__name__
                raise RunFailure("callback", f"{name}.{event}() raised {one_line(err)}") from err

    def episode(
        self,
        step: int,
        episode: int,
        ret: float,
        length: int,
        wall: float,
        by_agent: Mapping[str, float] | None = None,
    ) -> None:
        self._each("episode", step, episode, ret, length, wall)
        if by_agent:
            self._each("agent_returns", step, "episode", by_agent)

    def evaluation(
        self,
        step: int,
        wall: float,
        mean: float,
        std: float,
        episodes: int,
        by_agent: Mapping[str, float] | None = None,
    ) -> None:
        self._each("evaluation", step, wall, mean, std, episodes)
        if by_agent:
            self._each("agent_returns", step, "evaluation", by_agent)
        self.flush()

    def checkpoint(self, step: int, path: Path) -> None:
        self._each("checkpoint", step, path)

    def metrics(self, metrics: Mapping[str, Any]) -> None:
        for key, value in metrics.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise RunFailure(
                    "agent", f"update() returned metric {key!r} = {value!r}, not a number"
                ) from None
            self._metric_sums[key] += number
            self._metric_counts[key] += 1

    def interval(self, step: int, wall: float) -> None:
        """Report the means of the metrics since the last interval, and flush now and then."""
        means = {k: _num(self._metric_sums[k] / n) for k, n in self._metric_counts.items()}
        self._metric_sums.clear()
        self._metric_counts.clear()
        self._each("interval", step, wall, means)
        if time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        self._each("flush")

    def close(self) -> None:
        """Close every logger, even when one fails; the first failure is raised afterwards."""
        failure: BaseException | None = None
        for logger in self.loggers:
            try:
                RunLog([logger])._each("close")
            except Exception as err:
                failure = failure or err
        if failure is not None:
            raise failure


class FileLogger(Logger):
    """``progress.csv``, ``evaluations.csv`` and ``metrics.jsonl`` in the run directory; a
    column per agent for the ``agents`` whose episodes are logged (a Parallel env's) and the
    ``players`` whose evaluation returns are (a Parallel env's agents, a game's seats)."""

    def __init__(self, run_dir: Path, agents: Sequence[str] = (), players: Sequence[str] = ()):
        self.run_dir = run_dir
        self._columns = {
            "episode": list(agents),
            "evaluation": list(players),
        }
        self._progress = _CsvFile(
            run_dir / "progress.csv",
            ["step", "episode", "return", "length", "wall_seconds"]
            + [f"return_{name}" for name in agents],
        )
        self._evaluations = _CsvFile(
            run_dir / "evaluations.csv",
            ["step", "wall_seconds", "mean_return", "std_return", "episodes"]
            + [f"mean_return_{name}" for name in players],
        )
        self._metrics_file = open(run_dir / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115

    def episode(self, step: int, episode: int, ret: float, length: int, wall: float) -> None:
        row = (step, episode, _num(ret), length, round(wall, 3))
        self._progress.rows.append(row + (None,) * len(self._columns["episode"]))

    def evaluation(self, step: int, wall: float, mean: float, std: float, episodes: int) -> None:
        row = (step, round(wall, 3), _num(mean), _num(std), episodes)
        self._evaluations.rows.append(row + (None,) * len(self._columns["evaluation"]))

    def agent_returns(self, step: int, kind: str, returns: Mapping[str, float]) -> None:
        """Fill the agents' cells of the row just added (still buffered: nothing flushes
        between an episode or evaluation and its returns per agent)."""
        rows = (self._progress if kind == "episode" else self._evaluations).rows
        names = self._columns[kind]
        if rows and names:
            rows[-1] = rows[-1][:5] + tuple(_num(returns.get(name)) for name in names)

    def interval(self, step: int, wall: float, metrics: Mapping[str, float | None]) -> None:
        if not metrics:
            return
        with _disk_errors(self.run_dir / "metrics.jsonl"):
            self._metrics_file.write(json.dumps({"step": step, **metrics}) + "\n")

    def flush(self) -> None:
        self._progress.flush()
        self._evaluations.flush()
        with _disk_errors(self.run_dir / "metrics.jsonl"):
            self._metrics_file.flush()

    def close(self) -> None:
        """Flush and close every file; closes them all even when a flush fails."""
        try:
            self.flush()
        finally:
            for f in (self._progress, self._evaluations):
                f.close()
            with contextlib.suppress(OSError):  # already reported by the flush
                self._metrics_file.close()


@contextlib.contextmanager
def _disk_errors(path: Path) -> Iterator[None]:
    """Turn an OSError while writing ``path`` into a RunFailure of the disk."""
    try:
        yield
    except OSError as err:
        raise RunFailure("disk", f"cannot write {path}: {one_line(err)}") from err


class _CsvFile:
    def __init__(self, path: Path, header: list[str]) -> None:
        self.path = path
        new = not path.exists() or path.stat().st_size == 0
        self._file = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        if new:
            self._writer.writerow(header)
        self.rows: list[tuple[Any, ...]] = []

    def flush(self) -> None:
        with _disk_errors(self.path):
            if self.rows:
                rows, self.rows = self.rows, []
                self._writer.writerows(rows)
            self._file.flush()

    def close(self) -> None:
        try:
            self.flush()
        except RunFailure:
            pass  # the caller's flush has reported it
        finally:
            with contextlib.suppress(OSError):
                self._file.close()


def _num(value: Any) -> float | None:
    """A number rounded for the logs; None (empty cell, JSON null) where it is not finite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 6) if math.isfinite(number) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (a crash never leaves half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    text = json.dumps(_finite_json(data), indent=2, default=str, allow_nan=False)
    try:
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise RunFailure("disk", f"cannot write {path}: {one_line(err)}") from err


def _finite_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None, so the JSON stays standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(v) for v in value]
    return value
