"""``rlrun export`` (a checkpoint's greedy policy as ONNX) and ``rlrun play`` (an exported policy
played with onnxruntime alone, as ``--eval-only`` plays a checkpoint)."""

from __future__ import annotations

import click
import numpy as np

from cli.options import HELP


@click.command("export", context_settings=HELP)
@click.argument("checkpoint", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True)
@click.option(
    "--out",
    default="policy.onnx",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The graph to write; its metadata goes beside it (policy.json).",
)
@click.option("--overwrite", is_flag=True, help="Replace files already at --out.")
def export_command(checkpoint: str, fmt: str, out: str, overwrite: bool) -> int:
    """Write the greedy policy of CHECKPOINT (dqn, ppo, a2c, a3c, trpo, reinforce, ddpg, td3,
    sac) as an ONNX graph with what acting needs inside it: observation normalisation, the
    network, the action's scaling to the env's bounds."""
    from rlagents.export import export, metadata_path

    path = export(checkpoint, out, format=fmt, overwrite=overwrite)
    click.echo(f"wrote {path} and {metadata_path(path)}")
    return 0


@click.command("play", context_settings=HELP)
@click.argument("policy", type=click.Path())
@click.option("--episodes", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="As --eval-only's --seed: the same episodes.",
)
def play_command(policy: str, episodes: int, seed: int) -> int:
    """Play the exported POLICY (policy.onnx and its policy.json) greedily with onnxruntime,
    numpy and the env presets (no torch): the mean return, as --eval-only prints it."""
    from rlagents.export.player import play

    returns = play(policy, episodes=episodes, seed=seed)
    mean, std = float(np.mean(returns)), float(np.std(returns))
    click.echo(
        f"played {policy} (seed {seed}): eval {mean:.2f} ± {std:.2f} over {len(returns)} episodes"
    )
    return 0
