"""The training run as a library: what ``rlrun train`` does, callable from Python.

::

    import rlagents
    result = rlagents.train("CartPole-v1", "ppo", steps=50_000, seed=0)
    rlagents.train(lambda: MyEnv(), "ppo")  # your own env: a callable that makes one (or an env)
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

import dataclasses
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rlagents.agent import Agent
from rlagents.errors import RunFailed
from rlagents.run import user_envs
from rlagents.run.callbacks import Callback
from rlagents.run.logs import Logger
from rlagents.run.loop import evaluation_seed
from rlagents.run.options import RunOptions, TrainResult, run_option_specs
from rlagents.run.progress import ProgressBar, interactive

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
    env: str | gym.Env | Callable[[], gym.Env] | None = None,
    agent: str | type[Agent] | None = None,
    *,
    callbacks: Sequence[Callback] = (),
    loggers: Sequence[Logger] = (),
    progress_bar: bool | None = None,
    **options: Any,
) -> TrainResult:
    """Train ``agent`` on ``env`` with the same defaults as ``rlrun``.

    ``env`` is an env id (``"CartPole-v1"``, ``"ALE/Pong-v5"``, a PettingZoo id), a callable
    that makes a new env each time it is called (what vector envs, evaluation envs and Ray
    workers need), or a Gymnasium env instance (one env: it trains, and is evaluated once
    training is over; options that need a second env ask for a callable). An env made by
    ``gym.make`` gets the tuned sets of its id.
    ``agent`` is a registered name, ``"module:Class"`` or an :class:`~rlagents.Agent` subclass.
    The other keyword arguments are the run options (:class:`~rlagents.run.RunOptions`, listed
    below; each is an ``rlrun`` flag too): ``config`` overrides fields of the agent's
    ``Config`` (after its tuned set for the env), ``preset_kwargs`` are the preset's own
    options, ``env_kwargs``
    ``gymnasium.make``'s; ``workers`` collect on remote Ray workers, started on a local Ray, the
    cluster at ``ray_address``, or the Ray this program started. ``callbacks`` and ``loggers``
    see the run as it goes; ``progress_bar`` (default: on where a person watches — a notebook,
    an interactive interpreter, a terminal) shows its steps. Returns a :class:`TrainResult`;
    raises :class:`RunFailed` if the env, the agent or the disk failed.
    """
    if isinstance(agent, type):
        agent = f"{agent.__module__}:{agent.__qualname__}"
    bar = interactive() if progress_bar is None else progress_bar
    if env is None or isinstance(env, str):
        options.setdefault("env_id", env)
        result = _execute({"agent": agent, **options}, loggers, callbacks, bar)
    else:
        if isinstance(env, gym.Env):
            options.setdefault("num_envs", 1)  # an instance is one env
        with user_envs.registered(env, options) as env_id:
            options["env_id"] = env_id
            result = _execute({"agent": agent, **options}, loggers, callbacks, bar)
    if result.status == "failed":
        raise RunFailed(result)
    return result


def _execute(
    options: dict[str, Any],
    loggers: Sequence[Logger],
    callbacks: Sequence[Callback],
    progress_bar: bool,
) -> TrainResult:
    from rlagents.run.runner import Run

    run = Run(RunOptions.from_kwargs(options), loggers=loggers, callbacks=callbacks)
    if progress_bar and not run.plan.options.eval_only:
        run.extra_loggers.append(ProgressBar(run.plan.budget, run.state.step, disable=False))
    return run.execute()


def _train_signature() -> inspect.Signature:
    """``train``'s signature with every run option as a keyword (for help() and notebooks)."""
    head = list(inspect.signature(train).parameters.values())[:5]
    keyword = inspect.Parameter.KEYWORD_ONLY
    named = {p.name for p in head} | {"env_id"}  # env_id=: the older name of env, still taken
    options = [
        inspect.Parameter(f.name, keyword, default=_default(f), annotation=f.type)
        for f in dataclasses.fields(RunOptions)
        if f.name not in named
    ]
    return inspect.Signature([*head, *options], return_annotation="TrainResult")


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _options_doc() -> str:
    lines = ["", "    Run options (keyword arguments; ``rlrun`` flag in brackets):", ""]
    for name, spec in run_option_specs().items():
        if name in ("env_id", "agent"):
            continue
        lines.append(f"    - ``{name}`` ({spec.cli_flag(name)}): {spec.help}")
    return "\n".join(lines) + "\n"


train.__signature__ = _train_signature()  # type: ignore[attr-defined]
train.__doc__ = (train.__doc__ or "") + _options_doc()


def load_checkpoint(path: str | os.PathLike) -> tuple[Agent, dict[str, Any]]:
    """The agent a checkpoint holds, built from its own record of the spaces (no env needed),
    and the checkpoint's metadata (``agent.json``: env id, preset, steps, config, …)."""
    from rlagents import checkpoint as ckpt
    from rlagents import registry

    meta = ckpt.read_meta(path)
    cls = registry.load(meta["agent"])
    extra: dict[str, Any] = {}
    if meta.get("policies") == "independent":  # one policy per agent of a Parallel env
        from rlagents.common.policy_map import policy_map_class

        cls, extra = policy_map_class(cls), {"agent_names": tuple(meta["agent_names"])}
    observation_space = ckpt.space_from_json(meta.get("observation_space"))
    action_space = ckpt.space_from_json(meta.get("action_space"))
    run_state = ckpt.read_run_state(path) or {}
    # A Parallel env's agents are rows of the batch: each env brings one per agent.
    num_envs = int(run_state.get("num_envs") or 1) * max(len(meta.get("agent_names") or ()), 1)
    agent = cls(
        observation_space,
        action_space,
        meta["config"],
        num_envs=num_envs,
        seed=meta.get("seed"),
        **extra,
    )
    ckpt.load_agent_state(agent, path)
    return agent, meta


def evaluate(
    agent: Agent,
    env: str | gym.Env | Callable[[], gym.Env],
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
    true rewards; ``preset_kwargs`` as the run had them, e.g. its ``stack_size``), an env you
    made, or a callable that makes one (called once, closed after). Episode ``k`` is reset
    with ``seed + k``; a run's evaluations used ``seed=rlagents.evaluation_seed(run_seed)``.
    """
    from rlagents.run.env_choice import EVALUATION_OVERRIDES, resolve_env
    from rlagents.run.loop import evaluate as play

    made = not isinstance(env, gym.Env)  # made here: closed here
    played: gym.Env
    if isinstance(env, str):
        choice = resolve_env(
            type(agent),
            type(agent).__name__,
            env,
            preset=preset,
            hyperparams="none",
            env_kwargs=env_kwargs,
            preset_kwargs=dict(preset_kwargs or {}),
            backend="gymnasium",
        )
        factory = choice.env.for_evaluation()
        played = factory.make(**EVALUATION_OVERRIDES.get(factory.preset or "", {}))
    else:
        played = env if isinstance(env, gym.Env) else user_envs.make_one(env)
    try:
        returns = play(agent, played, episodes, seed, max_steps=max_steps)
    finally:
        if made:
            played.close()
    return {"mean": float(np.mean(returns)), "std": float(np.std(returns)), "returns": returns}
