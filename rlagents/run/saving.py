"""What a run writes as checkpoints: the periodic and final one, ``RUN_DIR/best``, and the
emergency one beside the last good checkpoint when the run failed."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from rlagents import checkpoint as ckpt
from rlagents import env_snapshot
from rlagents.agent import Agent
from rlagents.config import config_to_dict
from rlagents.errors import RunFailure, one_line, option
from rlagents.run.logs import RunLog
from rlagents.run.loop import LoopState
from rlagents.run.notes import note
from rlagents.run.paths import free_checkpoint_path
from rlagents.run.plan import RunPlan
from rlagents.run.steppers import SingleEnvStepper, VectorEnvStepper, copy_obs
from rlagents.version import __version__

BEST_CHECKPOINT = "best"  # RUN_DIR/best: the agent of the run's best evaluation

Stepper = SingleEnvStepper | VectorEnvStepper


class Saver:
    """Writes a run's checkpoints; ``best`` is the best evaluation's (mean, step) and
    ``emergency`` where a failed run's state went."""

    def __init__(
        self, plan: RunPlan, agent: Agent, state: LoopState, stepper: Stepper | None
    ) -> None:
        self.plan = plan
        self.agent = agent
        self.state = state
        self.stepper = stepper
        self.checkpoint_dir = plan.checkpoint_dir
        self.move_aside_first = plan.move_aside
        self.log: RunLog | None = None  # told of each checkpoint once the run logs
        self.best: tuple[float, int] | None = None
        self.emergency: Path | None = None

    def save(self) -> None:
        """Write the checkpoint (agent and, where they can be snapshotted, the envs)."""
        if self.move_aside_first:
            moved = ckpt.move_aside(self.checkpoint_dir)
            note(
                f"note: {option('overwrite', True)}: moved {str(self.checkpoint_dir)!r} aside "
                f"to {str(moved)!r}"
            )
            self.move_aside_first = False
        try:
            ckpt.save_checkpoint(
                self.checkpoint_dir,
                self.meta(),
                self.agent.state_dict(),
                run_state=self.run_state(),
            )
        except OSError as err:
            raise RunFailure(
                "disk", f"cannot write the checkpoint {self.checkpoint_dir}: {one_line(err)}"
            ) from err
        if self.log is not None:
            self.log.checkpoint(self.state.step, self.checkpoint_dir)

    def keep_if_best(self, mean: float) -> None:
        """Save the agent to ``RUN_DIR/best`` when it evaluates better than every evaluation
        before it in this run (rl-zoo3's ``best_model``): a run whose returns slide back after a
        peak keeps its peak. The agent's ``kept_state`` (networks, counters and, for most
        agents, the optimiser; not the replay buffer, partial rollout or episodes in
        progress): it evaluates and fine-tunes, it does not resume exactly."""
        if self.plan.options.eval_only or not math.isfinite(mean):
            return
        if self.best is not None and mean <= self.best[0]:
            return
        path = self.plan.run_dir / BEST_CHECKPOINT
        state = type(self.agent).kept_state(self.agent.state_dict())
        why_not = f"it is the best evaluation's agent (step {self.state.step}), kept without them"
        try:
            ckpt.save_checkpoint(
                path,
                self.meta(),
                state,
                run_state={"num_envs": self.plan.num_envs, "why_not": why_not},
            )
        except OSError as err:
            raise RunFailure("disk", f"cannot write {path}: {one_line(err)}") from err
        self.best = (mean, self.state.step)

    def save_emergency(self) -> None:
        """The env, the agent or the disk failed: the last good checkpoint stays as it is, and
        the state reached is written beside it (or, if that place cannot be written, in the
        run directory or the temp folder), where the user can inspect or resume it."""
        problems = []
        folders = (self.checkpoint_dir.parent, self.plan.run_dir, Path(tempfile.gettempdir()))
        for folder in folders:
            path = free_checkpoint_path(folder / f"{self.checkpoint_dir.name}-emergency")
            try:
                ckpt.save_checkpoint(path, self.meta(), self.agent.state_dict())
            except Exception as err:
                problems.append(f"{path}: {one_line(err)}")
                continue
            self.emergency = path
            return
        note(f"note: no emergency checkpoint could be written ({'; '.join(problems)})")

    def last_good(self) -> str | None:
        """The checkpoint directory, if a complete checkpoint is there."""
        if self.plan.options.eval_only:
            return None
        kind = ckpt.describe_target(self.checkpoint_dir)
        return str(self.checkpoint_dir) if kind == "checkpoint" else None

    def meta(self) -> dict[str, Any]:
        """``agent.json``: what the checkpoint is and what it was trained on."""
        plan = self.plan
        return {
            "agent": plan.agent_name,
            "package_version": __version__,
            "agent_class": f"{type(self.agent).__module__}:{type(self.agent).__qualname__}",
            "config": config_to_dict(self.agent.config),
            "observation_space": ckpt.space_to_json(plan.observation_space),
            "action_space": ckpt.space_to_json(plan.action_space),
            "env_id": plan.env_id,
            "env_kwargs": plan.env.make_kwargs,
            "preset": plan.preset,
            "preset_kwargs": plan.env.preset_kwargs,
            "steps": self.state.step,
            "episodes": self.state.episode,
            "seed": plan.seed,
            # A Parallel env's agents, each a row of the learner's batch per env
            **(
                {"policies": plan.policies, "agent_names": list(plan.agent_names)}
                if plan.agent_names
                else {}
            ),
        }

    def run_state(self) -> dict[str, Any]:
        """The episodes in progress: the envs' snapshot, the next observation, the returns so
        far — what makes N/2 steps and N/2 resumed the same run as N steps."""
        state: dict[str, Any] = {"num_envs": self.plan.num_envs, "why_not": None}
        if self.stepper is None:
            state["why_not"] = f"its envs ran on {self.plan.workers} remote workers"
            return state
        if self.state.obs is None:
            state["why_not"] = "the run stopped before its first step"
            return state
        try:
            state["env"] = env_snapshot.snapshot_env(env_object(self.stepper))
        except ValueError as err:  # an emulator or a physics world: not plain data
            state["why_not"] = str(err)
            return state
        state["obs"] = copy_obs(self.state.obs)
        state["episodes"] = self.stepper.episode_state()
        state["recent_returns"] = list(self.state.recent_returns)
        return state


def env_object(stepper: Stepper) -> Any:
    """The env (or vector env) a stepper steps: what a snapshot captures and restores."""
    return stepper.env if isinstance(stepper, SingleEnvStepper) else stepper.envs
