"""Torch set-up shared by the deep agents: device, threads, seeding."""

from __future__ import annotations

import os

import numpy as np
import torch

from rlagents.errors import ConfigError


def select_device(preference: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else the CPU; anything else must name a torch device this
    machine has, or :class:`ConfigError` says what to use instead."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    setting = f"--set device={preference}"
    try:
        device = torch.device(preference)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(f"{setting}: not a torch device (use auto, cpu or cuda)") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"{setting}: this machine has no CUDA GPU; use device=cpu or auto")
        if device.index is not None and device.index >= count:
            raise ConfigError(
                f"{setting}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}; "
                "use one of them, cpu or auto"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{setting}: this machine has no MPS device; use device=cpu or auto")
    return device


def thread_count(num_threads: int = 0, *, images: bool = False) -> int:
    """The torch thread count ``configure_threads`` would set; 0 picks one for the network.

    Vector observations (``images=False``) mean small MLPs: one thread, because their
    matrices are too small to split and a second thread that has to wait for a busy core
    stalls each update many times over. Image observations mean CNNs, which gain from threads
    up to the cores this process may use (at most 4, past which thread overhead wins).
    """
    if num_threads > 0:
        return num_threads
    if not images:
        return 1
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(4, available))


def configure_threads(num_threads: int = 0, *, images: bool = False) -> int:
    """Set this thread's torch intra-op threads to ``thread_count(...)`` and return it."""
    num_threads = thread_count(num_threads, images=images)
    if torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)
    return num_threads


def seed_everything(seed: int | None) -> np.random.Generator:
    """Seed torch and return a numpy Generator for the agent's own randomness."""
    if seed is not None:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)
