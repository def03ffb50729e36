"""Continuing a checkpoint's run: the agent's state, the counters and, where the envs can be
restored exactly, the episodes in progress."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from rlagents import checkpoint as ckpt
from rlagents import env_snapshot
from rlagents.agent import Agent
from rlagents.errors import CheckpointError, one_line, option
from rlagents.run.loop import LoopState
from rlagents.run.notes import note
from rlagents.run.plan import RunPlan
from rlagents.run.saving import Stepper, env_object


def resume(plan: RunPlan, agent: Agent, state: LoopState, stepper: Stepper | None) -> None:
    """Load ``plan.resume``'s checkpoint into ``agent`` and ``state``; continue its episodes
    where it can, else tell the user that new ones start."""
    assert plan.resume is not None
    meta = plan.resume.meta
    ckpt.load_agent_state(agent, plan.resume.path)
    state.step = int(meta.get("steps", 0))
    state.episode = int(meta.get("episodes", 0))
    state.started_at_step = state.step
    run_state = plan.resume.run_state
    why = _why_episodes_cannot_continue(plan, run_state, stepper)
    if why:
        note(f"note: the resumed run starts new episodes: {why}")
        agent.envs_restarted()
        return
    assert run_state is not None and stepper is not None
    try:
        env_snapshot.restore_env(env_object(stepper), run_state["env"])
        stepper.load_episode_state(run_state["episodes"])
    except (KeyError, ValueError, TypeError, IndexError) as err:
        raise CheckpointError(
            f"checkpoint {plan.resume.path!r}: its env snapshot does not fit {plan.env_id} "
            f"({one_line(err)}); pass {option('load')} a checkpoint of this env"
        ) from None
    state.obs = run_state["obs"]
    state.recent_returns.extend(float(r) for r in run_state.get("recent_returns", []))


def _why_episodes_cannot_continue(
    plan: RunPlan, run_state: Mapping[str, Any] | None, stepper: Stepper | None
) -> str | None:
    if stepper is None:
        return f"this run plays on {plan.workers} remote workers"
    if not run_state:
        return "the checkpoint holds no env state (it was written by an older rlagents)"
    if run_state.get("why_not"):
        return str(run_state["why_not"])
    if run_state.get("num_envs") != plan.num_envs:
        return f"the checkpoint ran {run_state.get('num_envs')} envs, this run {plan.num_envs}"
    if not _fits(run_state.get("obs"), plan.observation_space, plan.num_envs):
        return "its saved observations do not fit this env"
    return None


def _fits(obs: Any, space: spaces.Space, num_envs: int) -> bool:
    """Whether saved observations are a batch of ``num_envs`` of ``space`` (each key's, for a
    Dict space)."""
    if isinstance(space, spaces.Dict):
        return (
            isinstance(obs, Mapping)
            and set(obs) == set(space.spaces)
            and all(_fits(obs[k], sub, num_envs) for k, sub in space.spaces.items())
        )
    expected = (num_envs, *(space.shape or ()))
    return isinstance(obs, np.ndarray) and obs.shape == expected and obs.dtype == space.dtype
