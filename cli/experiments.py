"""``rlrun plot``, ``rlrun compare`` and ``rlrun sweep``: the commands that read, compare and
search over runs rather than train one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import click

from cli.options import HELP, options_from_flags, run_option


@click.command("plot", context_settings=HELP)
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
@click.option(
    "--by-agent",
    is_flag=True,
    help="A multi-agent run's agents (a game's seats, with --eval) one line each.",
)
def plot_command(
    run_dirs: tuple[str, ...], out: str, x_axis: str, evaluations: bool, smooth: int, by_agent: bool
) -> int:
    """Learning curves of RUN_DIRS: one line per env and agent, a band over seeds."""
    from rlagents.experiments.seeds import expand_groups
    from rlagents.run.plot import plot_runs

    runs = expand_groups(run_dirs)
    x: Literal["steps", "seconds"] = "seconds" if x_axis == "seconds" else "steps"
    path = plot_runs(runs, out, x=x, evaluations=evaluations, smooth=smooth, by_agent=by_agent)
    click.echo(f"wrote {path}")
    return 0


@click.command("sweep", context_settings=HELP)
@run_option("env_id", required=True)
@run_option("agent", required=True)
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
@run_option("steps", required=True, help="Env steps per seed.")
@run_option(
    "eval_every",
    default=None,
    show_default=False,
    help="Evaluate (and report to the scheduler) every N steps. [default: --steps / 10]",
)
@run_option("eval_episodes", default=5)
@click.option(
    "--grace-rounds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Evaluation rounds every trial runs before ASHA may stop it (more for envs whose "
    "early returns say little about the last).",
)
@run_option("num_envs", help="Envs per run. [default: the set's]")
@run_option("config", help="Fixed overrides (repeatable).")
@run_option("hyperparams", help="The base tuned set.")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    help="The sweep's directory; an existing one resumes. "
    "[default: runs/sweep_<env>_<agent>_<time>]",
)
@run_option("ray_address", help="Run the trials on this Ray cluster.")
def sweep_command(
    space_path: str,
    trials: int,
    seeds_text: str,
    grace_rounds: int,
    run_dir: str | None,
    **flags: Any,
) -> int:
    """Search hyper-parameters with Ray Tune (Optuna's TPE, ASHA), each trial over several
    seeds; write the best as a tuned set (RUN_DIR/best.yaml) for --hyperparams."""
    from rlagents.experiments.seeds import parse_seeds
    from rlagents.experiments.sweep import BEST_FILE, run_sweep

    seeds = list(range(int(seeds_text))) if seeds_text.isdigit() else parse_seeds(seeds_text)
    if not seeds:
        raise click.BadParameter("give at least one seed", param_hint="--seeds")
    flags["eval_every"] = flags["eval_every"] or max(1, flags["steps"] // 10)
    opts = options_from_flags(flags)
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


@click.command("compare", context_settings=HELP)
@click.argument("groups", nargs=-1, required=True, type=click.Path())
@click.option("--markdown", is_flag=True, help="A Markdown table, to paste into a README.")
@click.option(
    "--profile",
    type=click.Path(dir_okay=False),
    help="Also draw the groups' performance profiles (final returns) into this image.",
)
def compare_command(groups: tuple[str, ...], markdown: bool, profile: str | None) -> int:
    """A table over run groups (rlrun --seeds directories) of one env: final and best return
    with bootstrap intervals of the IQM and median, steps and seconds to the target, steps/s,
    and the probability that each group improves on the first."""
    from rlagents.experiments.compare import compare

    click.echo(compare(groups, markdown=markdown, profile=profile))
    return 0
