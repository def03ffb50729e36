"""Find agents through the ``rlagents.agents`` entry-point group.

Built-in agents and third-party plugins take one path: each distribution declares
``name = module:Class`` in the group, listing reads only that metadata, and a module is imported
when its agent is asked for. ``package.module:Class`` also names an agent no distribution
registers.
"""

from __future__ import annotations

import dataclasses
import importlib
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from gymnasium import spaces

from rlagents.agent import Agent
from rlagents.errors import (
    DuplicateAgentError,
    PluginImportError,
    RLAgentsError,
    UnknownAgentError,
    did_you_mean,
)

GROUP = "rlagents.agents"


@dataclasses.dataclass(frozen=True)
class AgentSpec:
    """Where an agent comes from, read from packaging metadata without importing it."""

    name: str
    target: str  # "module:Class"
    distribution: str  # the distribution that registers it ("" for a module:Class path)
    version: str = ""


def _specs_by_name() -> dict[str, list[AgentSpec]]:
    found: dict[str, list[AgentSpec]] = {}
    for ep in entry_points(group=GROUP):
        spec = _spec_of(ep)
        same_name = found.setdefault(spec.name, [])
        # An editable install can expose one distribution twice; that is not a conflict.
        if all((s.target, s.distribution) != (spec.target, spec.distribution) for s in same_name):
            same_name.append(spec)
    return found


def _spec_of(ep: EntryPoint) -> AgentSpec:
    dist = getattr(ep, "dist", None)
    return AgentSpec(
        name=ep.name,
        target=ep.value,
        distribution=dist.name if dist is not None else "?",
        version=dist.version if dist is not None else "",
    )


def list_agents() -> list[AgentSpec]:
    """Every registered agent, sorted by name; imports nothing.

    A name registered by two distributions appears once per distribution.
    """
    return sorted(
        (spec for specs in _specs_by_name().values() for spec in specs),
        key=lambda s: (s.name, s.distribution),
    )


def find_spec(name: str) -> AgentSpec:
    """The registration of ``name``, or a ``module:Class`` path taken as is."""
    if ":" in name:
        return AgentSpec(name=name, target=name, distribution="")
    specs = _specs_by_name()
    if name not in specs:
        known = sorted(specs)
        raise UnknownAgentError(
            f"unknown agent {name!r}{did_you_mean(name, known)}; "
            f"registered agents: {', '.join(known) or 'none'} "
            "(or give a module:Class path)"
        )
    if len(specs[name]) > 1:
        owners = " and ".join(f"{s.distribution} ({s.target})" for s in specs[name])
        raise DuplicateAgentError(
            f"agent {name!r} is registered by two distributions: {owners}; "
            "uninstall one of them or name the class as module:Class"
        )
    return specs[name][0]


def load(name: str) -> type[Agent]:
    """Import and return the agent class registered as ``name`` (or at ``module:Class``)."""
    spec = find_spec(name)
    return load_spec(spec)


def load_spec(spec: AgentSpec) -> type[Agent]:
    module_name, _, attr = spec.target.partition(":")
    where = (
        f"entry point {spec.name} = {spec.target} of distribution {spec.distribution}"
        if spec.distribution
        else spec.target
    )
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as err:  # a broken plugin must never take the runner down with a traceback
        raise PluginImportError(
            f"agent {spec.name!r} could not be loaded from {where}: {type(err).__name__}: {err}"
        ) from err
    if not (isinstance(obj, type) and issubclass(obj, Agent)):
        raise PluginImportError(
            f"agent {spec.name!r} ({where}) is not a subclass of rlagents.Agent: {obj!r}"
        )
    return obj


def make(
    name: str,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    *,
    num_envs: int = 1,
    seed: int | None = None,
    **config: Any,
) -> Agent:
    """Build the agent ``name`` for these spaces; ``config`` overrides fields of its ``Config``.

    >>> import gymnasium as gym
    >>> env = gym.make("CartPole-v1")
    >>> agent = make("random", env.observation_space, env.action_space, seed=0)
    >>> agent.act(env.observation_space.sample()[None]).shape
    (1,)
    """
    cls = load(name)  # its constructor refuses spaces it cannot handle (SpaceMismatchError)
    return cls(observation_space, action_space, config or None, num_envs=num_envs, seed=seed)


def agents_accepting(observation_space: spaces.Space, action_space: spaces.Space) -> list[str]:
    """Names of the registered agents that can handle these spaces (those that import)."""
    names = []
    for spec in list_agents():
        try:
            cls = load_spec(spec)
        except RLAgentsError:
            continue
        if spec.name != "random" and cls.check_spaces(observation_space, action_space) is None:
            names.append(spec.name)
    return sorted(set(names))


def agents_with_remote(mode: str) -> list[str]:
    """Names of the registered agents whose ``remote`` is ``mode`` (those that import)."""
    names = []
    for spec in list_agents():
        try:
            if load_spec(spec).remote == mode:
                names.append(spec.name)
        except RLAgentsError:
            continue
    return sorted(set(names))
