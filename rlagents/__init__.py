"""rlagents: the agent contract, the plugin registry, the built-in agents and the run itself.

Importing this package is cheap: agent modules (and torch) load only when an agent is asked for,
the run (``train``, ``evaluate``, ``load_checkpoint``) when one of them is first used.
"""

from typing import Any

from rlagents.agent import Agent, EmptyConfig, Transition
from rlagents.errors import (
    CheckpointError,
    ConfigError,
    DuplicateAgentError,
    PluginImportError,
    RLAgentsError,
    SpaceMismatchError,
    UnknownAgentError,
)
from rlagents.registry import AgentSpec, list_agents, load, make
from rlagents.version import __version__ as __version__

_RUN_EXPORTS = (
    "Callback",
    "RunFailed",
    "TrainResult",
    "evaluate",
    "evaluation_seed",
    "load_checkpoint",
    "train",
)


def __getattr__(name: str) -> Any:
    if name in _RUN_EXPORTS:
        import rlagents.run

        return getattr(rlagents.run, name)
    raise AttributeError(f"module 'rlagents' has no attribute {name!r}")


__all__ = [
    "Agent",
    "AgentSpec",
    "Callback",
    "CheckpointError",
    "ConfigError",
    "DuplicateAgentError",
    "EmptyConfig",
    "PluginImportError",
    "RLAgentsError",
    "RunFailed",
    "SpaceMismatchError",
    "TrainResult",
    "Transition",
    "UnknownAgentError",
    "evaluate",
    "evaluation_seed",
    "list_agents",
    "load",
    "load_checkpoint",
    "make",
    "train",
]
