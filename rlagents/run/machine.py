"""The machine a run ran on, as ``config.json`` records it and result tables print it.

Seeded results repeat on one kind of machine, not across kinds (another CPU, BLAS or GPU rounds
differently), and times depend on it entirely: a reader must be able to tell which one it was.
"""

from __future__ import annotations

import functools
import os
import platform
from typing import Any


@functools.cache
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def describe_machine() -> dict[str, Any]:
    """CPU model and count, GPU (None without one), Python, torch and OS."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "gpu": gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "os": platform.platform(terse=True),
    }


def machine_label(machine: dict[str, Any] | None) -> str:
    """One line for a table: ``2 CPUs, AMD EPYC 7B13, no GPU``."""
    if not machine:
        return "not recorded"
    gpu = machine.get("gpu") or "no GPU"
    return f"{machine.get('cpus')} CPUs, {machine.get('cpu_model')}, {gpu}"
