"""Refuse an allocation the machine cannot hold, before numpy tries it.

``np.zeros`` of a replay buffer larger than the free memory usually succeeds (untouched pages
cost nothing) and the process is killed hours later when the buffer fills; one too large to
address raises numpy's bare ``ValueError: array is too big``. :func:`check_allocation` turns
both into a :class:`~rlagents.errors.ConfigError` that names the size and the setting to lower.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import numpy as np

from rlagents.errors import ConfigError

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB", "EB")


def available_memory_bytes() -> int | None:
    """Memory available to new allocations: MemAvailable of /proc/meminfo (Linux), else the
    free physical pages ``os.sysconf`` reports, else None (unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows) or no such name
        return None


def array_bytes(shape: tuple[int, ...], dtype: Any) -> int:
    """Bytes of an array of this shape and dtype, in Python ints (no overflow, however large).

    >>> array_bytes((4, 84, 84), np.uint8), array_bytes((), np.float32)
    (28224, 4)
    """
    return math.prod(shape) * np.dtype(dtype).itemsize


def format_bytes(nbytes: float) -> str:
    """``nbytes`` in the largest unit of 1024 that keeps it at or above 1.

    >>> format_bytes(32 * 10**12), format_bytes(512)
    ('29.1 TB', '512 B')
    """
    value, unit = float(nbytes), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{value:.0f} B" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"


def check_allocation(
    nbytes: int, what: str, setting: str, *, count: int | None = None, unit: str = "transitions"
) -> None:
    """Raise :class:`ConfigError` if ``nbytes`` exceed the available memory (or, when that is
    unknown, what a process can address).

    ``what`` names the allocation ("the replay buffer"), ``setting`` the field that sizes it
    ("buffer_size"); with ``count`` (how many ``unit`` it holds) the message gives the size of
    one and suggests a ``--set`` value that would take at most half the available memory.
    """
    available = available_memory_bytes()
    limit = sys.maxsize if available is None else min(available, sys.maxsize)
    if nbytes <= limit:
        return
    size = format_bytes(nbytes)
    if count:
        size += f" ({count} {unit} of {format_bytes(nbytes / count)})"
    has = (
        f"the machine has {format_bytes(available)} available"
        if available is not None
        else "that is more than a process can address"
    )
    advice = f"lower {setting}"
    if count:
        advice = f"lower it, e.g. {setting}={_round_down(limit // 2 * count // nbytes)}"
    raise ConfigError(f"{what} needs {size} but {has}; {advice}", field=setting)


def _round_down(n: int) -> int:
    """The largest 1, 2 or 5 times a power of ten at or below ``n`` (at least 1)."""
    if n < 1:
        return 1
    power = 10 ** (len(str(n)) - 1)
    return max(m * power for m in (1, 2, 5) if m * power <= n)
