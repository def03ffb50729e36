"""Checks of the paths a run writes to, made before step 1."""

from __future__ import annotations

import os
from pathlib import Path

from rlagents import checkpoint as ckpt
from rlagents.errors import ConfigError


def free_checkpoint_path(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3``…: the first that is not something else than ours."""
    path, k = base, 1
    while ckpt.describe_target(path) == "other" or path.is_symlink():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def check_writable(path: Path, option: str) -> None:
    """``path`` (or the nearest folder above it that exists) must be a writable directory."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ConfigError(
            f"{option} {str(path)!r}: {str(existing)!r} is a file, not a directory; "
            f"choose another {option}"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{option} {str(path)!r}: {str(existing)!r} is not writable; choose another {option}"
        )
