"""Which env an agent trains on, and with which tuned set: the part of a run's plan that
``--show-config`` and :func:`rlagents.evaluate` need too (:func:`resolve_env`).

In the order the decisions depend on each other: the env's keyword arguments, the preset, the
tuned set, the preset's options, the backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlagents.agent import Agent
from rlagents.run import envs as envlib
from rlagents.run import user_envs
from rlagents.run.tuned import TunedSet, choose_tuned_set

# Evaluation scores whole games with their true rewards, whatever the training env does
# (life-loss terminals and clipped rewards are training aids, not the task).
EVALUATION_OVERRIDES = {"atari": {"terminal_on_life_loss": False, "clip_reward": False}}


@dataclass(frozen=True)
class Resume:
    """The checkpoint a run continues (``load``): its record and its episodes in progress."""

    path: str
    meta: Mapping[str, Any]  # agent.json
    run_state: Mapping[str, Any] | None  # run_state.json (None: an older checkpoint)


@dataclass(frozen=True)
class EnvChoice:
    """What a run trains on: the env factory (id, kwargs, preset, its options, backend) and
    the agent's tuned set for it."""

    env: envlib.EnvFactory
    tuned: TunedSet


def resolve_env(
    agent_cls: type[Agent],
    agent_name: str,
    env_id: str,
    *,
    preset: str = envlib.AUTO,
    hyperparams: str = envlib.AUTO,
    env_kwargs: Mapping[str, Any] | None = None,
    preset_kwargs: Mapping[str, Any] | None = None,
    backend: str = "auto",
    resume: Resume | None = None,
) -> EnvChoice:
    """The env (id, kwargs, preset and its options, backend) and the tuned set an agent gets:
    what a run, ``--show-config`` and :func:`rlagents.evaluate` agree on."""
    envlib.register_env_namespace(env_id)
    envlib.check_env_id(env_id)
    make_kwargs = _env_kwargs(env_id, env_kwargs, resume)
    envlib.check_render_mode(env_id, make_kwargs)
    chosen_preset = _preset(preset, env_id, agent_cls, make_kwargs, resume)
    # A resumed run keeps its checkpoint's config: no tuned set.
    tuned = TunedSet(None) if resume else choose_tuned_set(
        agent_cls, agent_name, hyperparams, user_envs.wrapped_id(env_id), chosen_preset
    )  # fmt: skip
    options = _preset_kwargs(preset_kwargs, env_kwargs, chosen_preset, tuned, resume)
    envlib.check_preset_kwargs(
        chosen_preset, options, requested=preset, env_id=env_id, make_kwargs=make_kwargs
    )
    chosen_backend = envlib.choose_backend(backend, env_id, chosen_preset, options, make_kwargs)
    factory = envlib.EnvFactory(
        env_id, make_kwargs, chosen_preset, options, chosen_backend, user_envs.maker(env_id)
    )
    return EnvChoice(factory, tuned)


def _env_kwargs(
    env_id: str, given: Mapping[str, Any] | None, resume: Resume | None
) -> dict[str, Any]:
    """The env kwargs given; when resuming the same env without any, the checkpoint's (a time
    limit, say, is part of the episodes the run restores)."""
    if given:
        return dict(given)
    if resume and resume.meta.get("env_id") == env_id:
        return dict(resume.meta.get("env_kwargs") or {})
    return {}


def _preset(
    requested: str,
    env_id: str,
    agent_cls: type[Agent],
    make_kwargs: dict[str, Any],
    resume: Resume | None,
) -> str | None:
    """The preset named; with ``auto``, the checkpoint's when resuming (the wrappers it was
    trained with), else the one the env and the agent need."""
    if resume and requested == envlib.AUTO and "preset" in resume.meta:
        return resume.meta["preset"]
    raw_obs = None
    if requested == envlib.AUTO:
        raw_obs = envlib.probe_observation_space(env_id, make_kwargs)
    return envlib.choose_preset(requested, env_id, agent_cls, raw_obs)


def _preset_kwargs(
    given: Mapping[str, Any] | None,
    env_kwargs: Mapping[str, Any] | None,
    preset: str | None,
    tuned: TunedSet,
    resume: Resume | None,
) -> dict[str, Any]:
    """The options given; when resuming with the checkpoint's preset, its options too (a stack
    size, say, shapes the observations the agent was trained on); else the tuned set's (an
    action repeat, say, is part of a recipe)."""
    if given:
        return dict(given)
    if resume and preset is not None and preset == resume.meta.get("preset"):
        return dict(resume.meta.get("preset_kwargs") or {})
    if preset is not None and tuned.preset_kwargs:
        # An option env_kwargs names too (terminal_on_life_loss=false, say) is the user's.
        return {k: v for k, v in tuned.preset_kwargs.items() if k not in (env_kwargs or {})}
    return {}
