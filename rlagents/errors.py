"""Every error rlagents raises on purpose, and the one way they are written.

Two kinds, told apart by who can fix them:

- :class:`RLAgentsError` and its subclasses: a mistake in what was asked for (a name, a value, a
  file), found before the run's first step. Its message is one line that says what was wrong and
  what to do. ``rlrun`` prints it without a traceback and exits with status 2.
- :class:`RunFailure`: the env, the agent, the disk, a callback or Ray failed *during* a run. The
  run keeps its logs and checkpoints, then :func:`rlagents.train` raises :class:`RunFailed`
  (``rlrun`` exits with status 1).

A message names a run option with :func:`option`, so that a Python user reads the argument
(``save``, ``overwrite=True``) and ``rlrun``'s user reads the flag (``--save``, ``--overwrite``):
``str(err)`` is the Python wording, :meth:`RLAgentsError.render` the command line's.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

_MARK = "\x1f"  # ASCII unit separator around an option's name: never in a user's text
_OPTION = re.compile(f"{_MARK}([a-z_]+)(=True|=False)?{_MARK}")


def option(name: str, flag: bool | None = None) -> str:
    """A run option's name inside a message: ``save`` for Python users, ``--save`` on the
    command line; an on/off option with the value that a flag sets: ``option("overwrite",
    True)`` reads ``overwrite=True`` and ``--overwrite``, ``option("tensorboard", False)``
    ``tensorboard=False`` and ``--no-tensorboard``."""
    value = "" if flag is None else f"={flag}"
    return f"{_MARK}{name}{value}{_MARK}"


def python_name(name: str, value: str) -> str:
    """An option as a Python user passes it: ``save``, ``overwrite=True``."""
    return name + value


def render(text: str, name: Callable[[str, str], str] = python_name) -> str:
    """``text`` with each :func:`option` in it written by ``name(option, value)`` (value:
    ``""``, ``"=True"`` or ``"=False"``)."""
    return _OPTION.sub(lambda m: name(m.group(1), m.group(2) or ""), text)


class RLAgentsError(Exception):
    """Base class of the errors a user can fix (bad names, bad values, bad files)."""

    def __str__(self) -> str:
        return self.render(python_name)

    def render(self, name: Callable[[str, str], str]) -> str:
        """The message with each option written by ``name(option, value)``."""
        return render(super().__str__(), name)


class UnknownAgentError(RLAgentsError, LookupError):
    """No agent is registered under the requested name."""


class PluginImportError(RLAgentsError, ImportError):
    """A registered agent could not be imported."""


class DuplicateAgentError(RLAgentsError):
    """Two distributions register the same agent name."""


class ConfigError(RLAgentsError, ValueError):
    """A run option, a hyper-parameter name or a value that does not fit.

    ``field`` names the agent's ``Config`` field where the value was one (the command line adds
    how to set it: ``--set FIELD=VALUE``).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SpaceMismatchError(RLAgentsError, TypeError):
    """The agent cannot handle the environment's observation or action space."""


class CheckpointError(RLAgentsError):
    """A checkpoint is missing, damaged, or belongs to another agent or other spaces."""


class EnvError(RLAgentsError):
    """An env id, its keyword arguments or a preset's options that cannot make an env."""


class ExportError(RLAgentsError):
    """An agent or a checkpoint that cannot be exported, or an exported policy that cannot be
    played, and why."""


class ResultsError(RLAgentsError):
    """Run directories or groups that cannot be plotted or compared, or an output path that
    cannot be written."""


# What failed during a run. "rlrun": a bug of ours, to be reported; "callback": a user callback
# raised; "ray": the remote workers' engine (it could not start, lost its cluster, or workers
# kept dying).
Who = Literal["env", "agent", "disk", "callback", "rlrun", "ray"]


class RunFailure(Exception):
    """The env, the agent or the disk failed during the run; ``str()`` is one line."""

    def __init__(self, who: Who, message: str, step: int | None = None) -> None:
        super().__init__(message)
        self.who = who
        self.message = message
        self.step = step

    def __str__(self) -> str:
        return render(self.template())

    def template(self) -> str:
        """The line with its run options marked (:func:`option`)."""
        where = f" at step {self.step}" if self.step is not None else ""
        return f"the {self.who} failed{where}: {self.message}"


class RunFailed(RuntimeError):
    """Raised by :func:`rlagents.train` when the env, the agent or the disk failed during the
    run; ``result`` holds what was kept (summary, run directory, checkpoints)."""

    def __init__(self, result: Any) -> None:
        super().__init__(result.error)
        self.result = result


def one_line(err: BaseException, limit: int = 300) -> str:
    """Any exception as ``TypeName: message`` on one printable line of at most ``limit``
    characters: what a message built from someone else's exception quotes of it."""
    text = " ".join(str(err).split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
