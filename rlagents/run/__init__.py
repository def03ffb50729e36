"""The training run as a library: what ``rlrun train`` does, callable from Python.

::

    import rlagents
    result = rlagents.train("CartPole-v1", "ppo", steps=50_000, seed=0)
    result.summary["eval_mean_return"], result.run_dir, result.agent
    agent, meta = rlagents.load_checkpoint(result.checkpoint)     # no env needed
    rlagents.evaluate(agent, "CartPole-v1", episodes=10, seed=0)  # {"mean", "std", "returns"}

A run: options → env factory and preset → agent (its tuned set for the env) → loop → loggers
(CSV/JSONL files, TensorBoard, callbacks) → checkpoint. Errors in what was asked for raise
:class:`~rlagents.RLAgentsError` before step 1; a failure of the env, the agent or the disk after
step 1 raises :class:`RunFailed` once the logs, the summary and the checkpoints are written;
Ctrl-C or SIGTERM end the run early, with its work saved, and ``result.status`` says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rlagents.agent import Agent
from rlagents.errors import RunFailed
from rlagents.run.callbacks import Callback
from rlagents.run.logs import Logger
from rlagents.run.loop import evaluation_seed
from rlagents.run.options import RunOptions, TrainResult
from rlagents.run.runner import EVALUATION_OVERRIDES

__all__ = [
    "Callback",
    "Logger",
    "RunFailed",
    "RunOptions",
    "TrainResult",
    "evaluate",
    "evaluation_seed",
    "load_checkpoint",
    "train",
]


def train(
    env_id: str | None = None,
    agent: str | type[Agent] | None = None,
    *,
    steps: int | None = None,
    episodes: int | None = None,
    seed: int | None = None,
    config: Mapping[str, Any] | None = None,
    num_envs: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    preset: str = "auto",
    preset_kwargs: Mapping[str, Any] | None = None,
    hyperparams: str = "auto",
    run_dir: str | os.PathLike | None = None,
    eval_every: int = 0,
    eval_episodes: int = 10,
    eval_max_steps: int | None = None,
    stop_at_return: float | None = None,
    save: str | os.PathLike | None = None,
    save_every: int = 0,
    load: str | os.PathLike | None = None,
    overwrite: bool = False,
    eval_only: bool = False,
    allow_nonfinite: bool = False,
    tensorboard: bool = True,
    video: bool = False,
    video_episodes: int | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    callbacks: Sequence[Callback] = (),
    loggers: Sequence[Logger] = (),
) -> TrainResult:
    """Train ``agent`` on ``env_id`` with the same defaults as ``rlrun``; see its options.

    ``agent`` is a registered name, ``"module:Class"`` or an :class:`~rlagents.Agent` subclass;
    ``config`` overrides fields of its ``Config`` (after its tuned set for the env);
    ``preset_kwargs`` are the preset's own options (``rlrun --preset-kwargs``), ``env_kwargs``
    ``gymnasium.make``'s; ``workers`` collect on remote Ray workers (``rlrun --workers``),
    started on a local Ray, the cluster at ``ray_address``, or the Ray this program started.
    Returns a
    :class:`TrainResult`; raises :class:`RunFailed` if the env, the agent or the disk failed.
    """
    from rlagents.run.runner import Run

    if isinstance(agent, type):
        agent = f"{agent.__module__}:{agent.__qualname__}"
    opts = RunOptions(
        env_id=env_id,
        agent=agent,
        steps=steps,
        episodes=episodes,
        seed=seed,
        num_envs=num_envs,
        config=dict(config or {}),
        env_kwargs=dict(env_kwargs or {}),
        preset=preset,
        preset_kwargs=dict(preset_kwargs or {}),
        hyperparams=hyperparams,
        run_dir=_text(run_dir),
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        eval_max_steps=eval_max_steps,
        stop_at_return=stop_at_return,
        save=_text(save),
        save_every=save_every,
        load=_text(load),
        overwrite=overwrite,
        eval_only=eval_only,
        allow_nonfinite=allow_nonfinite,
        tensorboard=tensorboard,
        video=video,
        video_episodes=video_episodes,
        workers=workers,
        ray_address=ray_address,
    )
    result = Run(opts, loggers=loggers, callbacks=callbacks).execute()
    if result.status == "failed":
        raise RunFailed(result)
    return result


def load_checkpoint(path: str | os.PathLike) -> tuple[Agent, dict[str, Any]]:
    """The agent a checkpoint holds, built from its own record of the spaces (no env needed),
    and the checkpoint's metadata (``agent.json``: env id, preset, steps, config, …)."""
    from rlagents import checkpoint as ckpt
    from rlagents import registry

    meta = ckpt.read_meta(path)
    cls = registry.load(meta["agent"])
    observation_space = ckpt.space_from_json(meta.get("observation_space"))
    action_space = ckpt.space_from_json(meta.get("action_space"))
    run_state = ckpt.read_run_state(path) or {}
    num_envs = int(run_state.get("num_envs") or 1)
    agent = cls(
        observation_space, action_space, meta["config"], num_envs=num_envs, seed=meta.get("seed")
    )
    ckpt.load_agent_state(agent, path)
    return agent, meta


def evaluate(
    agent: Agent,
    env: str | gym.Env,
    episodes: int = 10,
    seed: int | None = None,
    *,
    preset: str = "auto",
    env_kwargs: Mapping[str, Any] | None = None,
    preset_kwargs: Mapping[str, Any] | None = None,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """Play ``episodes`` greedy (``explore=False``) episodes; ``{"mean", "std", "returns"}``.

    ``env`` is an env id (made with the preset a run would use, scoring whole games with their
    true rewards; ``preset_kwargs`` as the run had them, e.g. its ``stack_size``) or an env you
    made. Episode ``k`` is reset with ``seed + k``; a run's evaluations used
    ``seed=rlagents.evaluation_seed(run_seed)``.
    """
    from rlagents.run import envs as envlib
    from rlagents.run.loop import evaluate as play

    made = isinstance(env, str)
    if isinstance(env, str):
        envlib.register_env_namespace(env)
        envlib.check_env_id(env)
        raw = None
        if not env.startswith("ALE/"):
            probe = gym.make(env)
            raw = probe.observation_space
            probe.close()
        chosen = envlib.choose_preset(preset, env, type(agent), raw)
        options = dict(preset_kwargs or {})
        envlib.check_preset_kwargs(
            chosen, options, requested=preset, env_id=env, make_kwargs=env_kwargs or {}
        )
        overrides = {**EVALUATION_OVERRIDES.get(chosen or "", {}), **(env_kwargs or {})}
        env = envlib.EnvFactory(env, {}, chosen, options).make(**overrides)
    try:
        returns = play(agent, env, episodes, seed, max_steps=max_steps)
    finally:
        if made:
            env.close()
    return {"mean": float(np.mean(returns)), "std": float(np.std(returns)), "returns": returns}


def _text(path: str | os.PathLike | None) -> str | None:
    return None if path is None else os.fspath(path)
