"""What a run reports when it ends: ``summary.json`` and, when it failed, the one line that says
who failed and what was kept."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlagents import checkpoint as ckpt
from rlagents.run.loop import LoopState, evaluation_seed
from rlagents.run.outcome import Outcome
from rlagents.run.plan import RunPlan
from rlagents.run.saving import BEST_CHECKPOINT, Saver


@dataclass
class Timing:
    """Seconds a run spent: training (evaluations included) and evaluating during training."""

    train_wall: float = 0.0
    train_eval_seconds: float = 0.0


def summary(
    plan: RunPlan,
    state: LoopState,
    saver: Saver,
    outcome: Outcome,
    timing: Timing,
    games: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``summary.json`` (with a two-player game's last results per opponent, seat and
    player)."""
    steps = state.step - state.started_at_step
    wall = timing.train_wall or (state.wall if outcome.failure else 0.0)
    train_seconds = max(wall - timing.train_eval_seconds, 1e-9)
    mean, std, episodes = state.last_eval or (math.nan, math.nan, 0)
    failure, best = outcome.failure, saver.best
    return {
        "agent": plan.agent_name,
        "env": plan.env_id,
        "preset": plan.preset,
        "seed": plan.seed,
        "steps": state.step,
        "steps_this_run": steps,
        "episodes": state.episode,
        "wall_seconds": round(wall, 3),
        "steps_per_second": round(steps / train_seconds, 1) if steps else 0.0,
        "eval_mean_return": _finite_or_none(mean),
        "eval_std_return": _finite_or_none(std),
        "eval_episodes": episodes,
        "eval_seed": evaluation_seed(plan.seed),  # episode k: this + k
        "reached_target": state.reached_target,
        "interrupted": bool(outcome.interrupted),
        "signal": outcome.interrupted,
        "error": str(failure) if failure else None,
        "failed": failure.who if failure else None,
        "run_dir": str(plan.run_dir),
        "checkpoint": saver.last_good(),
        "best_checkpoint": str(plan.run_dir / BEST_CHECKPOINT) if best else None,
        "best_eval_mean_return": best[0] if best else None,
        "best_eval_step": best[1] if best else None,
        "emergency_checkpoint": str(saver.emergency) if saver.emergency else None,
        **(games or {}),
    }


def failure_line(plan: RunPlan, state: LoopState, saver: Saver, outcome: Outcome) -> str:
    """Who failed and why, where the logs are, and which checkpoints were kept (run options
    marked: :func:`rlagents.errors.render` names them)."""
    assert outcome.failure is not None
    parts = [f"{plan.agent_name} on {plan.env_id}: {outcome.failure.template()}"]
    parts.append(f"logs and summary in {plan.run_dir}")
    good = saver.last_good()
    if good and ckpt.describe_target(Path(good)) == "checkpoint":
        meta = ckpt.read_meta(good)
        parts.append(f"last good checkpoint {good} (step {meta.get('steps')})")
    if saver.emergency:
        parts.append(
            f"the state at step {state.step} is in {saver.emergency}, a checkpoint to inspect "
            "or resume"
        )
    return "; ".join(parts)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
