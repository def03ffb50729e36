"""One experiment over many seeds: a run per seed, in parallel on Ray, and their aggregate.

A group directory holds ``group.json`` (what was asked), one run directory per seed (``s0/``,
``s1/``, … — each an ordinary run directory: logs, summary, checkpoint) and ``aggregate.json``:
per seed the final and the best evaluation and the steps (and seconds) to the target; over the
seeds their mean, std, median, interquartile mean and a bootstrap 95% interval
(:mod:`rlagents.common.stats`). A seed's run that fails is reported in the aggregate and the
others go on.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlagents.common.stats import summarize
from rlagents.errors import ConfigError, RLAgentsError, option
from rlagents.run.logs import write_json
from rlagents.run.machine import machine_label
from rlagents.run.options import RunOptions
from rlagents.run.outcome import Terminated, interruptible_by_ray, signals_as_interrupts
from rlagents.run.paths import make_run_dir

if TYPE_CHECKING:
    from rlagents.run.plan import RunPlan

GROUP_FILE, AGGREGATE_FILE = "group.json", "aggregate.json"
STOP_WAIT_S = 60.0  # after Ctrl-C, how long the seeds' runs get to save


def parse_seeds(text: str) -> list[int]:
    """``"0-9"``, ``"1,5,9"`` or both (``"0-4,10"``) → the seeds, in order, each once.

    >>> parse_seeds("0-3,7")
    [0, 1, 2, 3, 7]
    """
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise ConfigError(
                f"{option('seeds')} expects A-B or A,B,C (e.g. 0-9 or 1,5,9), got {text!r}"
            )
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first:
            raise ConfigError(f"{option('seeds')} {text!r}: the range {part.strip()} is empty")
        seeds += [s for s in range(first, last + 1) if s not in seeds]
    if any(s >= 2**32 for s in seeds):
        raise ConfigError(f"{option('seeds')} {text!r}: seeds go from 0 to 2**32-1")
    return seeds


def group_dir_for(opts: RunOptions, seeds_text: str) -> Path:
    """``--run-dir`` if given, else ``runs/<env>_<agent>_seeds<A-B>_<time>``."""
    if opts.run_dir:
        path = Path(opts.run_dir)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ConfigError(
                f"run directory {str(path)!r} already exists and is not empty; choose a new "
                f"{option('run_dir')} (nothing in it was touched)"
            )
        return path
    env = (opts.env_id or "env").replace("/", "-").replace(":", "-")
    agent = (opts.agent or "agent").replace(":", "-")
    name = f"{env}_{agent}_seeds{seeds_text.replace(',', '.')}_{time.strftime('%Y%m%d-%H%M%S')}"
    path, suffix = Path("runs") / name, 1
    while path.exists():
        suffix += 1
        path = Path("runs") / f"{name}-{suffix}"
    return path


def seed_options(opts: RunOptions, seed: int, group_dir: Path) -> RunOptions:
    """One seed's run: the group's options, its seed, its own directory; one torch thread
    (the seeds run side by side, a CPU each) unless ``--set num_threads`` says otherwise."""
    config = dict(opts.config)
    if opts.agent and _has_field(opts.agent, "num_threads"):
        config.setdefault("num_threads", 1)
    return dataclasses.replace(
        opts, seed=seed, run_dir=str(group_dir / f"s{seed}"), config=config, ray_address=None
    )


def _has_field(agent: str, name: str) -> bool:
    from rlagents import registry

    config_cls = registry.load(agent).Config
    return any(f.name == name for f in dataclasses.fields(config_cls))


def _train_one(opts: RunOptions) -> dict[str, Any]:
    """One seed's run, inside a Ray task: its summary, or why it could not start."""
    from rlagents.run.runner import Run

    try:
        with interruptible_by_ray():
            result = Run(opts).execute()
    except RLAgentsError as err:
        return {"seed": opts.seed, "status": "failed", "error": str(err)}
    return {
        "seed": opts.seed,
        "status": result.status,
        "error": result.error,
        "signal": result.signal,  # what interrupted it (SIGINT, SIGTERM), if anything did
        "summary": result.summary,
    }


def train_seeds(
    opts: RunOptions,
    seeds: list[int],
    seeds_text: str,
    *,
    target: float | None = None,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train one run per seed, in parallel on Ray (a local one, or ``opts.ray_address``'s
    cluster), and write the group's aggregate; return it. ``report`` gets each seed's outcome
    as it ends; ``target`` (default: ``--stop-at-return``'s) is the return the aggregate counts
    the steps to, without stopping the runs. What is wrong with the options is found before Ray
    starts."""
    from rlagents.run.distributed.cluster import check_ray_address, import_ray, ray_session

    if opts.seed is not None:
        raise ConfigError(f"give {option('seed')} or {option('seeds')}, not both")
    if opts.load or opts.eval_only:
        raise ConfigError(
            f"{option('seeds')} starts new runs; {option('load')} resumes one (give one seed's "
            "checkpoint)"
        )
    if opts.save:
        raise ConfigError(
            f"{option('seeds')} writes each seed's checkpoint in its run directory; drop "
            f"{option('save')}"
        )
    import_ray(f"{option('seeds')} {seeds_text}")
    if opts.ray_address:
        check_ray_address(opts.ray_address)
    group_dir = group_dir_for(opts, seeds_text)
    checked = check_options(seed_options(opts, seeds[0], group_dir))
    make_run_dir(group_dir)
    write_json(group_dir / GROUP_FILE, {"seeds": seeds, "options": dataclasses.asdict(opts)})
    group = _Group(opts, seeds, group_dir, report)
    # SIGTERM (a scheduler's, `timeout`'s) stops the group as Ctrl-C does: each seed saves.
    with signals_as_interrupts() as interrupts, ray_session(opts.ray_address) as ray:
        try:
            if checked.workers:
                group.train_in_turn()
            else:
                group.train_side_by_side(ray)
        except KeyboardInterrupt as err:
            write_json(
                group_dir / AGGREGATE_FILE, aggregate(group_dir, opts, group.outcomes, target)
            )
            if isinstance(err, Terminated):
                raise
            interrupts.reraise()
    result = aggregate(group_dir, opts, group.outcomes, target)
    write_json(group_dir / AGGREGATE_FILE, result)
    return result


Report = Callable[[dict[str, Any]], None] | None


@dataclasses.dataclass
class _Group:
    """A seed group's runs as they are trained: each seed's outcome, reported as it ends."""

    opts: RunOptions
    seeds: list[int]
    group_dir: Path
    report: Report
    outcomes: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def record(self, seed: int, outcome: dict[str, Any]) -> None:
        self.outcomes[seed] = outcome
        if self.report is not None:
            self.report(outcome)

    def train_side_by_side(self, ray: Any) -> None:
        """Each seed's run in its own Ray task with one CPU, as many at once as the CPUs
        allow."""
        task = ray.remote(num_cpus=1, max_retries=0)(_train_one)
        pending = {task.remote(seed_options(self.opts, s, self.group_dir)): s for s in self.seeds}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                seed = pending.pop(ready[0])
                self.record(seed, _outcome(ray, ready[0], seed))
        except KeyboardInterrupt:
            for ref in pending:  # each run gets a KeyboardInterrupt: it saves and stops
                ray.cancel(ref)
            done = []
            if pending:
                done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=STOP_WAIT_S)
            for ref, seed in pending.items():
                self.outcomes[seed] = (
                    _outcome(ray, ref, seed)
                    if ref in done
                    else {"seed": seed, "status": "failed", "error": "interrupted before it ended"}
                )
            raise

    def train_in_turn(self) -> None:
        """A run on remote workers (A3C, ``--workers``) already fills the CPUs with its
        workers: its seeds run one after another, from this process, each on its own workers.
        (A seed's task holding a CPU while its workers wait for theirs would deadlock a small
        machine.)"""
        opts = self.opts
        for k, seed in enumerate(self.seeds):
            one = seed_options(opts, seed, self.group_dir)
            self.record(seed, _train_one(dataclasses.replace(one, ray_address=opts.ray_address)))
            if self.outcomes[seed]["status"] == "interrupted":
                for later in self.seeds[k + 1 :]:
                    self.outcomes[later] = {
                        "seed": later,
                        "status": "failed",
                        "error": "interrupted before it started",
                    }
                stopped_by = self.outcomes[seed].get("signal")
                raise Terminated if stopped_by == "SIGTERM" else KeyboardInterrupt


def check_options(opts: RunOptions) -> RunPlan:
    """Resolve ``opts``'s run without building it, so that a bad option fails once, in one
    line, before Ray starts; the plan says what the run would use."""
    from rlagents.run.plan import resolve

    return resolve(dataclasses.replace(opts, run_dir=None))


def _outcome(ray: Any, ref: Any, seed: int) -> dict[str, Any]:
    try:
        return ray.get(ref)
    except Exception as err:  # the task's process died, or it was cancelled
        return {"seed": seed, "status": "failed", "error": str(err).split("\n")[0]}


def read_evaluations(run_dir: Path) -> list[tuple[int, float, float]]:
    """(step, wall seconds, mean return) of each evaluation of a run."""
    path = run_dir / "evaluations.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return [
            (int(r["step"]), float(r["wall_seconds"]), float(r["mean_return"] or "nan"))
            for r in csv.DictReader(f)
        ]


def seed_result(run_dir: Path, target: float | None) -> dict[str, Any]:
    """A seed's final and best evaluation, and the steps and seconds to ``target``."""
    evals = read_evaluations(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    config_file = run_dir / "config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    reached = next(((s, w) for s, w, mean in evals if target is not None and mean >= target), None)
    means = [mean for _, _, mean in evals]
    return {
        "final": means[-1] if means else None,
        "best": max(means) if means else None,
        "steps_to_target": reached[0] if reached else None,
        "seconds_to_target": reached[1] if reached else None,
        "steps": summary.get("steps"),
        "wall_seconds": summary.get("wall_seconds"),
        "steps_per_second": summary.get("steps_per_second"),
        "final_by_agent": summary.get("eval_mean_return_by_agent") or {},
        "machine": machine_label(config.get("machine")),
    }


def aggregate(
    group_dir: Path,
    opts: RunOptions,
    outcomes: dict[int, dict[str, Any]],
    target: float | None = None,
) -> dict[str, Any]:
    """``aggregate.json``'s contents, from the seeds' run directories."""
    target = target if target is not None else opts.stop_at_return
    per_seed, failed = {}, {}
    for seed in sorted(outcomes):
        outcome, run_dir = outcomes[seed], group_dir / f"s{seed}"
        if outcome.get("status") == "failed" or not (run_dir / "summary.json").exists():
            failed[str(seed)] = outcome.get("error") or "no summary was written"
            continue
        per_seed[str(seed)] = {
            **seed_result(run_dir, target),
            "status": outcome["status"],
        }
    rows = list(per_seed.values())
    return {
        "group_dir": str(group_dir),
        "env": opts.env_id,
        "agent": opts.agent,
        "target": target,
        "seeds": sorted(outcomes),
        "per_seed": per_seed,
        "failed": failed,
        "machines": sorted({r["machine"] for r in rows}),
        "final": summarize([r["final"] for r in rows]),
        "best": summarize([r["best"] for r in rows]),
        "steps_to_target": summarize([r["steps_to_target"] for r in rows]),
        "seconds_to_target": summarize([r["seconds_to_target"] for r in rows]),
        "steps_per_second": summarize([r["steps_per_second"] for r in rows]),
        "final_by_agent": {  # a multi-agent env's: each agent's (or seat's) final return
            name: summarize([r["final_by_agent"].get(name) for r in rows])
            for name in dict.fromkeys(n for r in rows for n in r["final_by_agent"])
        },
    }


def expand_groups(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Run directories, with each group directory replaced by its seeds' runs (``rlrun plot
    GROUP`` draws their mean and band)."""
    runs: list[str] = []
    for path in paths:
        group = Path(path)
        if (group / GROUP_FILE).exists():
            runs += sorted(
                str(d) for d in group.iterdir() if d.is_dir() and (d / "config.json").exists()
            )
        else:
            runs.append(str(path))
    return runs
