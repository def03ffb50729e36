"""What ends a run after its first step: the env, the agent or the disk failed.

A :class:`RunFailure` is not a user's typing mistake (those are ``RLAgentsError``, exit status 2,
raised before step 1); it is a fault found while training. The runner catches it, flushes the
logs, writes the summary with the error, keeps the last good checkpoint, writes an emergency one
where it can, prints one line and exits with status 1.
"""

from __future__ import annotations

from typing import Any, Literal

# "rlrun": a bug of ours, to be reported; "callback": a user callback raised; "ray": the
# remote workers' engine (it could not start, lost its cluster, or workers kept dying)
Who = Literal["env", "agent", "disk", "callback", "rlrun", "ray"]


class RunFailure(Exception):
    """The env, the agent or the disk failed during the run; ``str()`` is one line."""

    def __init__(self, who: Who, message: str, step: int | None = None) -> None:
        super().__init__(message)
        self.who = who
        self.message = message
        self.step = step

    def __str__(self) -> str:
        where = f" at step {self.step}" if self.step is not None else ""
        return f"the {self.who} failed{where}: {self.message}"


def describe(err: BaseException) -> str:
    """``TypeName: message`` on one line, at most 300 characters."""
    text = " ".join(str(err).split())
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class RunFailed(RuntimeError):
    """Raised by :func:`rlagents.train` when the env, the agent or the disk failed during the
    run; ``result`` holds what was kept (summary, run directory, checkpoints)."""

    def __init__(self, result: Any) -> None:
        super().__init__(result.error)
        self.result = result
