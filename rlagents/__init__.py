"""rlagents: the agent contract, the plugin registry and the built-in agents.

Importing this package is cheap: agent modules (and torch) load only when an agent is asked for.
"""

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

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentSpec",
    "CheckpointError",
    "ConfigError",
    "DuplicateAgentError",
    "EmptyConfig",
    "PluginImportError",
    "RLAgentsError",
    "SpaceMismatchError",
    "Transition",
    "UnknownAgentError",
    "list_agents",
    "load",
    "make",
]
