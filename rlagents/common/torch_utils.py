"""Torch set-up shared by the deep agents: device, threads, seeding, observations to tensors."""

from __future__ import annotations

import os

import numpy as np
import torch


def select_device(preference: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else the CPU."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def configure_threads(num_threads: int = 0) -> int:
    """Set torch's intra-op threads; 0 picks a sensible count for small-batch RL.

    Small networks gain little past a few threads and lose to thread overhead beyond the
    physical cores, so the default is the number of CPUs this process may use, at most 4.
    """
    if num_threads <= 0:
        try:
            available = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            available = os.cpu_count() or 1
        num_threads = max(1, min(4, available))
    if torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)
    return num_threads


def seed_everything(seed: int | None) -> np.random.Generator:
    """Seed torch and return a numpy Generator for the agent's own randomness."""
    if seed is not None:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


def as_tensor(obs: np.ndarray, device: torch.device) -> torch.Tensor:
    """Observations to a tensor without changing dtype: uint8 images stay uint8 (four times
    fewer bytes to move) until the network's first layer scales them."""
    return torch.as_tensor(np.asarray(obs), device=device)
