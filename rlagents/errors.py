"""User-facing errors.

Everything raised as an :class:`RLAgentsError` is a mistake a user can fix; its message is one
line that says what was wrong and what to do. The ``rlrun`` command prints such messages
without a traceback and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RLAgentsError(Exception):
    """Base class of the errors a user can fix (bad names, bad values, bad files)."""


class UnknownAgentError(RLAgentsError, LookupError):
    """No agent is registered under the requested name."""


class PluginImportError(RLAgentsError, ImportError):
    """A registered agent could not be imported."""


class DuplicateAgentError(RLAgentsError):
    """Two distributions register the same agent name."""


class ConfigError(RLAgentsError, ValueError):
    """A hyper-parameter name or value does not fit the agent's ``Config``."""


class SpaceMismatchError(RLAgentsError, TypeError):
    """The agent cannot handle the environment's observation or action space."""


class CheckpointError(RLAgentsError):
    """A checkpoint is missing, damaged, or belongs to another agent or other spaces."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
