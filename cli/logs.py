"""The files a run leaves in its run directory.

progress.csv      one row per finished episode: step, episode, return, length, wall seconds
evaluations.csv   one row per evaluation: step, wall seconds, mean and std of return, episodes
metrics.jsonl     the agent's update() metrics, averaged over each logging interval
config.json       the agent, env, preset, seed and every hyper-parameter the run used
summary.json      the run's totals and its final evaluation

Rows are buffered and flushed every few seconds and at exit, so logging stays off the hot loop.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

FLUSH_SECONDS = 5.0


class RunLog:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._progress = _CsvFile(
            run_dir / "progress.csv", ["step", "episode", "return", "length", "wall_seconds"]
        )
        self._evaluations = _CsvFile(
            run_dir / "evaluations.csv",
            ["step", "wall_seconds", "mean_return", "std_return", "episodes"],
        )
        self._metrics_file = open(run_dir / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._metric_sums: dict[str, float] = defaultdict(float)
        self._metric_counts: dict[str, int] = defaultdict(int)
        self._last_flush = time.monotonic()

    def episode(self, step: int, episode: int, ret: float, length: int, wall: float) -> None:
        self._progress.rows.append((step, episode, _num(ret), length, round(wall, 3)))

    def evaluation(self, step: int, wall: float, mean: float, std: float, episodes: int) -> None:
        self._evaluations.rows.append((step, round(wall, 3), _num(mean), _num(std), episodes))
        self.flush()

    def metrics(self, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self._metric_sums[key] += float(value)
            self._metric_counts[key] += 1

    def write_metrics(self, step: int) -> None:
        """Write the mean of each metric since the last call (no line if there were none)."""
        if not self._metric_counts:
            return
        row = {"step": step}
        row.update({k: self._metric_sums[k] / n for k, n in self._metric_counts.items()})
        self._metrics_file.write(json.dumps(row) + "\n")
        self._metric_sums.clear()
        self._metric_counts.clear()

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._progress.flush()
        self._evaluations.flush()
        self._metrics_file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush()
        self._progress.close()
        self._evaluations.close()
        self._metrics_file.close()


class _CsvFile:
    def __init__(self, path: Path, header: list[str]) -> None:
        new = not path.exists() or path.stat().st_size == 0
        self._file = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        if new:
            self._writer.writerow(header)
        self.rows: list[tuple[Any, ...]] = []

    def flush(self) -> None:
        if self.rows:
            self._writer.writerows(self.rows)
            self.rows.clear()
        self._file.flush()

    def close(self) -> None:
        self.flush()
        self._file.close()


def _num(value: float) -> float:
    return round(float(value), 6) if math.isfinite(value) else value


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (a crash never leaves half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
