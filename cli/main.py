"""``rlrun``: the command line of the run in :mod:`rlagents.run` — parsing, help, the progress
bar and exit statuses, nothing a Python user would need.

rlrun --env CartPole-v1 --agent dqn --steps 50000 --seed 0     (= rlrun train ...)
rlrun plot runs/CartPole-v1_dqn_* --out dqn.png
rlrun --list-agents
rlrun --agent dqn --show-config

Exit statuses: 0 done, 1 the env/agent/disk failed during the run, 2 a mistake in what was typed
(found before step 1), 130 Ctrl-C, 143 SIGTERM.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import traceback
import typing
from collections.abc import Sequence
from typing import Any, NoReturn

import click
from gymnasium import spaces

from cli import experiments, export
from cli.options import (
    HELP,
    flag_name,
    message,
    note_text,
    options_from_flags,
    run_options,
)
from rlagents import registry
from rlagents.agent import Agent
from rlagents.config import describe_config, parse_value
from rlagents.errors import RLAgentsError, one_line
from rlagents.run.options import RunOptions, TrainResult
from rlagents.run.outcome import Terminated
from rlagents.run.progress import ProgressBar
from rlagents.run.runner import Run

EXIT_FAILED = 1  # the env, the agent or the disk failed during the run
EXIT_USAGE = 2  # a mistake in what was typed, found before step 1
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C)
EXIT_TERMINATED = 143  # SIGTERM (what schedulers and `timeout` send)


class Rlrun(click.Group):
    """``rlrun COMMAND``, where a bare ``rlrun --env ...`` means ``rlrun train --env ...``; every
    user-facing error is one line on stderr and exit status 2, never a traceback."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["train", *args]
        return super().parse_args(ctx, args)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,  # always: rlrun exits with its own statuses
        **extra: Any,
    ) -> NoReturn:
        _show_run_notes()
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as err:
            _fail(f"{err.format_message()} (see rlrun --help)", err.exit_code)
        except RLAgentsError as err:
            _fail(message(err), EXIT_USAGE)
        except (click.exceptions.Abort, KeyboardInterrupt) as err:
            # Ctrl-C or SIGTERM outside a run's loop (while building, or stopping a seed group),
            # which click hands on as Abort
            if isinstance(err, Terminated) or isinstance(err.__cause__, Terminated):
                click.echo("rlrun: terminated", err=True)
                sys.exit(EXIT_TERMINATED)
            click.echo("rlrun: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except MemoryError:
            _fail("out of memory while building the run; lower --num-envs or buffer sizes", 1)
        except Exception as err:  # a bug, ours or a plugin's: one line, the traceback on request
            if os.environ.get("RLRUN_TRACEBACK"):
                traceback.print_exc()
            _fail(
                f"internal error: {one_line(err)} (set RLRUN_TRACEBACK=1 to see where; "
                "please report it)",
                EXIT_FAILED,
            )
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    click.echo(f"rlrun: error: {message}", err=True)
    sys.exit(code)


class _RunNotes(logging.Handler):
    """The run's notes and warnings (a resumed run starting new episodes, …) as ``rlrun: ...``
    on the stderr of the moment (click's test runner swaps it per invocation)."""

    def emit(self, record: logging.LogRecord) -> None:
        template = getattr(record, "template", None)
        text = note_text(template) if template else record.getMessage()
        click.echo(f"rlrun: {text}", err=True)


def _show_run_notes() -> None:
    logger = logging.getLogger("rlagents.run")
    if not any(isinstance(h, _RunNotes) for h in logger.handlers):
        logger.addHandler(_RunNotes())
        logger.propagate = False


@click.group(cls=Rlrun, context_settings=HELP)
def rlrun() -> None:
    """Train, evaluate and plot reinforcement-learning agents on Gymnasium environments."""


@rlrun.command(
    "train",
    context_settings=HELP,
    epilog="Other commands: rlrun plot RUN_DIR... (learning curves), rlrun compare GROUP... "
    "(a table over --seeds groups), rlrun sweep, rlrun export CKPT (ONNX), rlrun play "
    "POLICY.onnx. "
    "`rlrun COMMAND --help` tells more; `rlrun --env ...` is `rlrun train --env ...`.",
)
@run_options()
@click.option(
    "--seeds",
    "seeds_text",
    metavar="A-B|A,B,C",
    help="One run per seed, in parallel on Ray, and their aggregate (RUN_DIR/aggregate.json).",
)
@click.option(
    "--target",
    type=float,
    metavar="R",
    help="With --seeds: the return the aggregate counts steps to (the runs go on).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--list-agents", is_flag=True, help="List every agent, built-in or plugin, and exit.")
@click.option("--show-config", is_flag=True, help="Show the agent's hyper-parameters and exit.")
@click.version_option(package_name="rlagents", prog_name="rlrun")
def train_command(
    list_agents: bool,
    show_config: bool,
    quiet: bool,
    seeds_text: str | None,
    target: float | None,
    **flags: Any,
) -> int:
    """Train a reinforcement-learning agent on a Gymnasium environment."""
    if list_agents:
        print_agent_list()
        return 0
    opts = options_from_flags(flags)
    if show_config:
        print_config(opts)
        return 0
    if seeds_text:
        return train_seed_group(opts, seeds_text, target)
    if target is not None:
        raise click.UsageError(
            "--target is for --seeds groups; a single run stops with --stop-at-return"
        )
    run = Run(opts)
    eval_only = run.plan.options.eval_only
    if not quiet and not eval_only:
        click.echo(f"rlrun: {run.plan.start_line(flag_name)}", err=True)
    # An evaluation-only run trains no steps: a bar of them would only read "0.00step".
    bar = ProgressBar(run.plan.budget, run.state.step, disable=quiet or eval_only)
    run.extra_loggers.append(bar)
    result = run.execute()
    print(summary_line(result.summary), flush=True)
    return exit_status(result)


def train_seed_group(opts: RunOptions, seeds_text: str, target: float | None) -> int:
    """``--seeds``: a line per seed as it ends, then the group's; 1 if a seed failed."""
    from rlagents.experiments.seeds import parse_seeds, train_seeds

    def report(outcome: dict[str, Any]) -> None:
        if outcome.get("summary"):
            click.echo(summary_line(outcome["summary"]), err=False)
        if outcome.get("error"):
            click.echo(f"rlrun: error: seed {outcome['seed']}: {outcome['error']}", err=True)

    seeds = parse_seeds(seeds_text)
    result = train_seeds(opts, seeds, seeds_text, target=target, report=report)
    final, count = result["final"], len(result["seeds"])
    band = final.get("iqm_ci95")
    interval = (
        f"95% interval of the IQM [{_fmt(band[0])}, {_fmt(band[1])}], percentile bootstrap"
        if band
        else "no interval: 1 seed"
    )
    text = (
        f"median {_fmt(final['median'])}, IQM {_fmt(final['iqm'])} ({interval})"
        if final["n"]
        else "no evaluation"
    )
    click.echo(
        f"seeds {seeds_text}: {count - len(result['failed'])}/{count} runs done; final evaluation "
        f"{text}; aggregate in {result['group_dir']}/aggregate.json"
    )
    return EXIT_FAILED if result["failed"] else 0


def exit_status(result: TrainResult) -> int:
    if result.status == "failed":
        click.echo(f"rlrun: error: {note_text(result.error_template or '')}", err=True)
        return EXIT_FAILED
    if result.status == "interrupted":
        return EXIT_TERMINATED if result.signal == "SIGTERM" else EXIT_INTERRUPTED
    return 0


def summary_line(s: dict[str, Any]) -> str:
    if s["eval_episodes"]:
        mean, std = _fmt(s["eval_mean_return"]), _fmt(s["eval_std_return"])
        ev = f"eval {mean} ± {std} over {s['eval_episodes']} episodes"
    else:
        ev = "no evaluation"
    if s.get("best_eval_step") is not None and s["best_eval_step"] != s["steps"]:
        ev += f"; best eval {_fmt(s['best_eval_mean_return'])} at step {s['best_eval_step']}, kept"
        ev += f" in {s['best_checkpoint']}"
    head = "failed" if s.get("error") else "interrupted" if s["interrupted"] else "done"
    return (
        f"{head}: {s['agent']} on {s['env']} (seed {s['seed']}): {s['steps']} steps, "
        f"{s['episodes']} episodes, {_fmt(s['wall_seconds'], 1)} s, "
        f"{_fmt(s['steps_per_second'], 0)} steps/s; {ev}; run dir {s['run_dir']}"
    )


def _fmt(value: Any, digits: int = 2) -> str:
    """Any summary value as text: numbers with ``digits`` decimals, None and NaN as n/a."""
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f"{value:.{digits}f}"
    return "n/a"


def print_agent_list() -> None:
    rows = [("AGENT", "DISTRIBUTION", "OBSERVATION", "ACTION", "CLASS")]
    problems = []
    for spec in registry.list_agents():
        dist = f"{spec.distribution} {spec.version}".strip()
        try:
            cls = registry.load_spec(spec)
        except RLAgentsError as err:
            rows.append((spec.name, dist, "-", "-", spec.target))
            problems.append(str(err))
            continue
        rows.append((spec.name, dist, *describe_spaces(cls), spec.target))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)


def print_config(opts: RunOptions) -> None:
    """``--show-config``: the agent's Config fields with their defaults and help, and with
    ``--env`` the tuned set a run would use (the plan's own choice of preset and set)."""
    from rlagents.run.env_choice import resolve_env

    agent = opts.agent
    if not agent:
        raise click.UsageError("--show-config needs --agent NAME")
    cls = registry.load(agent)
    tuned: dict[str, Any] = {}
    tuned_line = tuned_name = None
    if opts.env_id:
        choice = resolve_env(
            cls,
            agent,
            opts.env_id,
            preset=opts.preset,
            hyperparams=opts.hyperparams,
            env_kwargs=opts.env_kwargs,
            preset_kwargs=opts.preset_kwargs,
        )
        tuned, tuned_name = choice.tuned.values, choice.tuned.name
        tuned_line = choice.tuned.describe(opts.env_id)
        expected = choice.tuned.expected_time(choice.tuned.steps)
        if expected:
            tuned_line += f", {expected}"
    obs, act = describe_spaces(cls)
    click.echo(f"{agent} ({cls.__module__}:{cls.__qualname__}): observation {obs}, action {act}")
    if cls.__doc__:
        click.echo("  " + cls.__doc__.strip().splitlines()[0])
    rows = describe_config(cls.Config)
    hints = typing.get_type_hints(cls.Config)
    if not rows:
        click.echo("no hyper-parameters")
    for name, type_name, default, help_text in rows:
        value = f"{default!r}"
        if name in tuned:
            value += f" -> {tuned[name]!r} (tuned set {tuned_name!r})"
        if name in opts.config:  # what the run would take: --set wins over the tuned set
            given = parse_value(name, hints[name], opts.config[name], cls.Config)
            value += f" -> {given!r} (--set)"
        click.echo(f"  {name}: {type_name} = {value}")
        if help_text:
            click.echo(f"      {help_text}")
    if tuned_line:
        click.echo(f"{opts.env_id}: {tuned_line}")
    if cls.hyperparams:
        click.echo(f"tuned sets (--hyperparams NAME): {', '.join(cls.hyperparams)}")


def describe_spaces(agent_cls: type[Agent]) -> tuple[str, str]:
    def names(types: tuple[type, ...]) -> str:
        return "any" if spaces.Space in types else "|".join(t.__name__ for t in types)

    return names(agent_cls.observation_spaces), names(agent_cls.action_spaces)


for _command in (
    experiments.plot_command,
    experiments.sweep_command,
    experiments.compare_command,
    export.export_command,
    export.play_command,
):
    rlrun.add_command(_command)


def main() -> None:
    rlrun()


if __name__ == "__main__":
    main()
