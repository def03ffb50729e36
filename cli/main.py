"""``rlrun``: train, evaluate, save and resume any registered agent on any Gymnasium env.

rlrun --env CartPole-v1 --agent dqn --steps 50000 --seed 0
rlrun --list-agents
rlrun --agent dqn --show-config
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from cli.failures import describe
from cli.run import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Run,
    RunOptions,
    Terminated,
    describe_spaces,
)
from rlagents import registry
from rlagents.config import describe_config
from rlagents.errors import RLAgentsError

EXIT_USAGE = 2


class OneLineErrors(click.Command):
    """Every user-facing error is one line on stderr and exit status 2, never a traceback."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.ClickException as err:
            _fail(f"{err.format_message()} (see rlrun --help)", err.exit_code)
        except RLAgentsError as err:
            _fail(str(err), EXIT_USAGE)
        except Terminated:  # SIGTERM outside the training loop, e.g. while building
            click.echo("rlrun: terminated", err=True)
            sys.exit(EXIT_TERMINATED)
        except (click.exceptions.Abort, KeyboardInterrupt):  # Ctrl-C while building
            click.echo("rlrun: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except MemoryError:
            _fail("out of memory while building the run; lower --num-envs or buffer sizes", 1)
        except Exception as err:  # a bug, ours or a plugin's: one line, the traceback on request
            if os.environ.get("RLRUN_TRACEBACK"):
                traceback.print_exc()
            _fail(
                f"internal error: {describe(err)} (set RLRUN_TRACEBACK=1 to see where; "
                "please report it)",
                EXIT_FAILED,
            )
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    click.echo(f"rlrun: error: {message}", err=True)
    sys.exit(code)


@click.command(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--env", "env_id", metavar="ID", help="Gymnasium env id, e.g. CartPole-v1 or ALE/BattleZone-v5."
)
@click.option(
    "--agent", metavar="NAME", help="Registered agent name or module:Class (see --list-agents)."
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    help="Env steps to train (all envs together). [default: 100000]",
)
@click.option(
    "--episodes", type=click.IntRange(min=1), help="Train until this many episodes have finished."
)
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=2**32 - 1),
    help="Seed of envs and agent. [default: the checkpoint's with --load, else random, recorded]",
)
@click.option(
    "--num-envs",
    type=click.IntRange(min=1),
    help="Envs stepped together. [default: what the agent's tuned set was made for, else 1]",
)
@click.option(
    "--set",
    "set_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override an agent hyper-parameter (repeatable).",
)
@click.option(
    "--env-kwargs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Keyword for gymnasium.make (repeatable).",
)
@click.option(
    "--preset",
    default="auto",
    show_default=True,
    metavar="auto|none|NAME",
    help="Env wrappers: atari, car_racing, discretized.",
)
@click.option(
    "--hyperparams",
    default="auto",
    show_default=True,
    metavar="auto|none|NAME",
    help="The agent's tuned hyper-parameter set.",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    help="Where logs and checkpoints go. [default: runs/<env>_<agent>_s<seed>_<time>]",
)
@click.option(
    "--eval-every",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Evaluate every N steps (0: at the end only).",
)
@click.option(
    "--eval-episodes",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Full greedy episodes per evaluation.",
)
@click.option(
    "--stop-at-return",
    type=float,
    metavar="R",
    help="Stop once an evaluation's mean return reaches R.",
)
@click.option(
    "--save",
    type=click.Path(file_okay=False),
    help="Checkpoint directory. [default: RUN_DIR/checkpoint]",
)
@click.option(
    "--save-every",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also checkpoint every N steps.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Let --save replace a directory that is not this run's checkpoint (moved aside).",
)
@click.option("--load", type=click.Path(), help="Resume from this checkpoint directory.")
@click.option("--eval-only", is_flag=True, help="With --load: only evaluate the checkpoint.")
@click.option(
    "--render", is_flag=True, help="Show evaluation episodes in a window (needs a display)."
)
@click.option(
    "--eval-max-steps",
    type=click.IntRange(min=1),
    help="Cut evaluation episodes after N steps. [default: the env's limit, else 100000]",
)
@click.option(
    "--allow-nonfinite",
    is_flag=True,
    help="Train on NaN/inf rewards, observations and actions instead of stopping.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--list-agents", is_flag=True, help="List every agent, built-in or plugin, and exit.")
@click.option("--show-config", is_flag=True, help="Show the agent's hyper-parameters and exit.")
@click.version_option(package_name="rlagents", prog_name="rlrun")
def rlrun(list_agents: bool, show_config: bool, **options: Any) -> int:
    """Train a reinforcement-learning agent on a Gymnasium environment."""
    if list_agents:
        print_agent_list()
        return 0
    if show_config:
        print_config(options["agent"], options["env_id"], options["hyperparams"])
        return 0
    if options["eval_only"] and not options["load"]:
        raise click.UsageError("--eval-only needs --load CHECKPOINT")
    if options["stop_at_return"] is not None and not options["eval_every"]:
        raise click.UsageError("--stop-at-return needs --eval-every N (it checks evaluations)")
    return Run(RunOptions(**options)).execute()


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


def print_config(agent: str | None, env_id: str | None, hyperparams: str) -> None:
    if not agent:
        raise click.UsageError("--show-config needs --agent NAME")
    cls = registry.load(agent)
    tuned: dict[str, Any] = {}
    if env_id and hyperparams not in ("none",):
        tuned = dict(cls.hyperparams.get(env_id if hyperparams == "auto" else hyperparams, {}))
    obs, act = describe_spaces(cls)
    click.echo(f"{agent} ({cls.__module__}:{cls.__qualname__}): observation {obs}, action {act}")
    if cls.__doc__:
        click.echo("  " + cls.__doc__.strip().splitlines()[0])
    rows = describe_config(cls.Config)
    if not rows:
        click.echo("no hyper-parameters")
    for name, type_name, default, help_text in rows:
        value = f"{default!r}"
        if name in tuned:
            value += f" -> {tuned[name]!r} (tuned for {env_id})"
        click.echo(f"  {name}: {type_name} = {value}")
        if help_text:
            click.echo(f"      {help_text}")
    if cls.hyperparams:
        click.echo(f"tuned sets (--hyperparams NAME): {', '.join(cls.hyperparams)}")


def main() -> None:
    rlrun()


if __name__ == "__main__":
    main()
