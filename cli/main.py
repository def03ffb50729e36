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
import time
import traceback
from pathlib import Path
from typing import Any

import click
from gymnasium import spaces

from cli.progress import ProgressBar
from rlagents import registry
from rlagents.agent import Agent
from rlagents.config import describe_config
from rlagents.errors import RLAgentsError, one_line
from rlagents.run import envs as envlib
from rlagents.run.options import RunOptions, TrainResult
from rlagents.run.outcome import Terminated
from rlagents.run.runner import Run

EXIT_FAILED = 1  # the env, the agent or the disk failed during the run
EXIT_USAGE = 2  # a mistake in what was typed, found before step 1
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C)
EXIT_TERMINATED = 143  # SIGTERM (what schedulers and `timeout` send)
HELP = {"help_option_names": ["-h", "--help"]}


class Rlrun(click.Group):
    """``rlrun COMMAND``, where a bare ``rlrun --env ...`` means ``rlrun train --env ...``; every
    user-facing error is one line on stderr and exit status 2, never a traceback."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["train", *args]
        return super().parse_args(ctx, args)

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:
        extra.pop("standalone_mode", None)
        _show_run_notes()
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
        click.echo(f"rlrun: {record.getMessage()}", err=True)


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
    "(a table over --seeds groups). "
    "`rlrun COMMAND --help` tells more; `rlrun --env ...` is `rlrun train --env ...`.",
)
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
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Collect on N remote workers on Ray, each with --num-envs envs (a2c, ppo, trpo); "
    "a3c's asynchronous workers (its num_workers).",
)
@click.option(
    "--ray-address",
    metavar="HOST:PORT",
    help="Run the workers on this Ray cluster. [default: a local Ray, started and stopped]",
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
    help="Env wrappers: atari, car_racing, discretized; POMDPs: remove_velocity, flicker, "
    "noise, dropout.",
)
@click.option(
    "--preset-kwargs",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the preset, e.g. stack_size=4 or p=0.3 (repeatable; needs --preset NAME).",
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "gymnasium", "envpool"]),
    default="auto",
    show_default=True,
    help="The training envs' engine: EnvPool's C++ twin where it has one (CarRacing-v3; "
    "pip install envpool), auto: EnvPool when installed. Evaluation is always on Gymnasium.",
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
@click.option(
    "--no-tensorboard",
    "no_tensorboard",
    is_flag=True,
    help="No TensorBoard event files in the run directory.",
)
@click.option(
    "--video",
    is_flag=True,
    help="Record the final evaluation's episodes as mp4s in RUN_DIR/videos.",
)
@click.option(
    "--video-episodes",
    type=click.IntRange(min=1),
    help="Record only the first N evaluation episodes. [default: all]",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--list-agents", is_flag=True, help="List every agent, built-in or plugin, and exit.")
@click.option("--show-config", is_flag=True, help="Show the agent's hyper-parameters and exit.")
@click.version_option(package_name="rlagents", prog_name="rlrun")
def train_command(
    list_agents: bool, show_config: bool, quiet: bool, no_tensorboard: bool, **options: Any
) -> int:
    """Train a reinforcement-learning agent on a Gymnasium environment."""
    if list_agents:
        print_agent_list()
        return 0
    if show_config:
        print_config(options["agent"], options["env_id"], options["hyperparams"], options["preset"])
        return 0
    options["config"] = envlib.parse_key_values(options.pop("set_pairs"), "--set")
    options["env_kwargs"] = envlib.parse_env_kwargs(options["env_kwargs"])
    options["preset_kwargs"] = envlib.parse_preset_kwargs(options["preset_kwargs"])
    seeds_text, target = options.pop("seeds_text"), options.pop("target")
    if seeds_text:
        opts = RunOptions(tensorboard=not no_tensorboard, **options)
        return train_seed_group(opts, seeds_text, target)
    if target is not None:
        raise click.UsageError(
            "--target is for --seeds groups; a single run stops with --stop-at-return"
        )
    run = Run(RunOptions(tensorboard=not no_tensorboard, **options))
    if not quiet and not run.opts.eval_only:
        click.echo(f"rlrun: {run.start_line()}", err=True)
    # An evaluation-only run trains no steps: a bar of them would only read "0.00step".
    bar = ProgressBar(run.budget, run.state.step, disable=quiet or run.opts.eval_only)
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
    text = (
        f"median {_fmt(final['median'])}, IQM {_fmt(final['iqm'])}, "
        f"95% interval of the mean [{_fmt(final['ci95'][0])}, {_fmt(final['ci95'][1])}]"
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
        click.echo(f"rlrun: error: {result.error}", err=True)
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


@rlrun.command("plot", context_settings=HELP)
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out",
    default="learning_curves.png",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The image to write (.png, .pdf, .svg).",
)
@click.option(
    "--x",
    "x_axis",
    type=click.Choice(["steps", "seconds"]),
    default="steps",
    show_default=True,
    help="Against env steps or wall-clock seconds.",
)
@click.option(
    "--eval",
    "evaluations",
    is_flag=True,
    help="Evaluation returns (evaluations.csv) instead of training episodes.",
)
@click.option(
    "--smooth",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Moving average over N training episodes.",
)
def plot_command(
    run_dirs: tuple[str, ...], out: str, x_axis: str, evaluations: bool, smooth: int
) -> int:
    """Learning curves of RUN_DIRS: one line per env and agent, a band over seeds."""
    from rlagents.experiments.seeds import expand_groups
    from rlagents.run.plot import plot_runs

    runs = expand_groups(run_dirs)
    path = plot_runs(runs, out, x=x_axis, evaluations=evaluations, smooth=smooth)  # type: ignore[arg-type]
    click.echo(f"wrote {path}")
    return 0


@rlrun.command("sweep", context_settings=HELP)
@click.option("--env", "env_id", required=True, metavar="ID", help="Gymnasium env id.")
@click.option("--agent", required=True, metavar="NAME", help="Registered agent name.")
@click.option(
    "--space",
    "space_path",
    required=True,
    type=click.Path(),
    help="YAML: Config field -> {choice|uniform|loguniform|int: [...]}.",
)
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--seeds",
    "seeds_text",
    default="3",
    show_default=True,
    metavar="K|A-B|A,B",
    help="Seeds each trial is scored over (K: seeds 0..K-1).",
)
@click.option("--steps", type=click.IntRange(min=1), required=True, help="Env steps per seed.")
@click.option(
    "--eval-every",
    type=click.IntRange(min=1),
    help="Evaluate (and report to the scheduler) every N steps. [default: --steps / 10]",
)
@click.option("--eval-episodes", type=click.IntRange(min=1), default=5, show_default=True)
@click.option(
    "--grace-rounds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Evaluation rounds every trial runs before ASHA may stop it (more for envs whose "
    "early returns say little about the last).",
)
@click.option("--num-envs", type=click.IntRange(min=1), help="Envs per run. [default: the set's]")
@click.option("--set", "set_pairs", multiple=True, metavar="KEY=VALUE", help="Fixed overrides.")
@click.option("--hyperparams", default="auto", show_default=True, help="The base tuned set.")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    help="The sweep's directory; an existing one resumes. "
    "[default: runs/sweep_<env>_<agent>_<time>]",
)
@click.option("--ray-address", metavar="HOST:PORT", help="Run the trials on this Ray cluster.")
def sweep_command(
    space_path: str,
    trials: int,
    seeds_text: str,
    grace_rounds: int,
    run_dir: str | None,
    set_pairs: tuple[str, ...],
    **options: Any,
) -> int:
    """Search hyper-parameters with Ray Tune (Optuna's TPE, ASHA), each trial over several
    seeds; write the best as a tuned set (RUN_DIR/best.yaml) for --hyperparams."""
    from rlagents.experiments.seeds import parse_seeds
    from rlagents.experiments.sweep import BEST_FILE, run_sweep

    seeds = list(range(int(seeds_text))) if seeds_text.isdigit() else parse_seeds(seeds_text)
    if not seeds:
        raise click.BadParameter("give at least one seed", param_hint="--seeds")
    options["eval_every"] = options["eval_every"] or max(1, options["steps"] // 10)
    opts = RunOptions(config=envlib.parse_key_values(set_pairs, "--set"), **options)
    if run_dir is None:
        env = opts.env_id.replace("/", "-") if opts.env_id else "env"
        run_dir = f"runs/sweep_{env}_{opts.agent}_{time.strftime('%Y%m%d-%H%M%S')}"
    found = run_sweep(
        opts, space_path, trials=trials, seeds=seeds, sweep_dir=Path(run_dir),
        grace_rounds=grace_rounds,
    )  # fmt: skip
    values = ", ".join(f"{k}={v}" for k, v in found["best"].items())
    click.echo(
        f"sweep: {found['trials']} trials × {len(seeds)} seeds; best score "
        f"{found['score']:.2f} with {values}; written to {run_dir}/{BEST_FILE} "
        f"(rlrun --env {opts.env_id} --agent {opts.agent} --hyperparams {run_dir}/{BEST_FILE})"
    )
    return 0


@rlrun.command("compare", context_settings=HELP)
@click.argument("groups", nargs=-1, required=True, type=click.Path())
@click.option("--markdown", is_flag=True, help="A Markdown table, to paste into a README.")
def compare_command(groups: tuple[str, ...], markdown: bool) -> int:
    """A table over run groups (rlrun --seeds directories) of one env: final and best return,
    steps and seconds to the target, steps/s."""
    from rlagents.experiments.compare import compare

    click.echo(compare(groups, markdown=markdown))
    return 0


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


def print_config(agent: str | None, env_id: str | None, hyperparams: str, preset: str) -> None:
    from rlagents.run.tuned import choose_tuned_set

    if not agent:
        raise click.UsageError("--show-config needs --agent NAME")
    cls = registry.load(agent)
    tuned: dict[str, Any] = {}
    tuned_line = tuned_name = None
    if env_id:
        envlib.register_env_namespace(env_id)
        envlib.check_env_id(env_id)
        chosen = envlib.choose_preset(preset, env_id, cls, envlib.probe_observation_space(env_id))
        tuned_set = choose_tuned_set(cls, agent, hyperparams, env_id, chosen)
        tuned, tuned_name = tuned_set.values, tuned_set.name
        tuned_line = tuned_set.describe(env_id)
        expected = tuned_set.expected_time(tuned_set.steps)
        if expected:
            tuned_line += f", {expected}"
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
            value += f" -> {tuned[name]!r} (tuned set {tuned_name!r})"
        click.echo(f"  {name}: {type_name} = {value}")
        if help_text:
            click.echo(f"      {help_text}")
    if tuned_line:
        click.echo(f"{env_id}: {tuned_line}")
    if cls.hyperparams:
        click.echo(f"tuned sets (--hyperparams NAME): {', '.join(cls.hyperparams)}")


def describe_spaces(agent_cls: type[Agent]) -> tuple[str, str]:
    def names(types: tuple[type, ...]) -> str:
        return "any" if spaces.Space in types else "|".join(t.__name__ for t in types)

    return names(agent_cls.observation_spaces), names(agent_cls.action_spaces)


def main() -> None:
    rlrun()


if __name__ == "__main__":
    main()
