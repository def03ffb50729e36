"""The processes a test started, read from /proc: to check that none is left, and to end any
that a failing test would leave running (and loading the tests after it)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (Ray's raylet and gcs_server, its workers below the
    raylet), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":  # a zombie has ended; only its parent's wait is missing
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every process below it (found first: killing orphans them)."""
    for target in [*descendants(pid), pid]:
        with contextlib.suppress(OSError):  # it ended meanwhile
            os.kill(target, signal.SIGKILL)


def default_sigint() -> None:
    """``preexec_fn`` for a child that a test sends SIGINT: a background job (``cmd &`` in a
    script, nohup) starts with SIGINT ignored, and Python then leaves it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
