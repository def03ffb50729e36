"""Checks of the paths a run writes to, made before step 1."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rlagents import checkpoint as ckpt
from rlagents.errors import CheckpointError, ConfigError, one_line, option


def free_checkpoint_path(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3``…: the first that is not something else than ours."""
    path, k = base, 1
    while ckpt.describe_target(path) == "other" or path.is_symlink():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def check_writable(path: Path, name: str) -> None:
    """``path`` (or the nearest folder above it that exists) must be a writable directory;
    ``name``: the run option that gave it."""
    shown = option(name)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ConfigError(
            f"{shown} {str(path)!r}: {str(existing)!r} is a file, not a directory; "
            f"choose another {shown}"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{shown} {str(path)!r}: {str(existing)!r} is not writable; choose another {shown}"
        )


def check_save_target(
    path: Path, overwrite: bool, agent_name: str, env_id: str, load: str | None
) -> bool:
    """Refuse a ``save`` that would replace something else than this run's own checkpoint;
    return whether it is to be moved aside (``overwrite``) before the first save."""
    if path.is_symlink():
        raise ConfigError(
            f"{option('save')} {str(path)!r} is a symbolic link; pass the directory it points "
            f"to ({os.path.realpath(path)!r}) or another one"
        )
    kind = ckpt.describe_target(path)
    problem = None
    if kind == "other":
        is_dir = path.is_dir()
        problem = "is not empty and is not a checkpoint" if is_dir else "is a file, not a directory"
    elif kind == "checkpoint" and not _is_own_checkpoint(path, agent_name, env_id, load):
        problem = _foreign_checkpoint_text(path, agent_name, env_id)
    if problem and not overwrite:
        raise ConfigError(
            f"{option('save')} {str(path)!r} {problem}; choose a new or empty directory, or "
            f"add {option('overwrite', True)} to move it aside (nothing is deleted)"
        )
    check_writable(path, "save")
    return problem is not None


def _is_own_checkpoint(path: Path, agent_name: str, env_id: str, load: str | None) -> bool:
    if load and os.path.realpath(load) == os.path.realpath(path):
        return True
    try:
        meta = ckpt.read_meta(path)
    except CheckpointError:
        return False
    return meta.get("agent") == agent_name and meta.get("env_id") == env_id


def _foreign_checkpoint_text(path: Path, agent_name: str, env_id: str) -> str:
    try:
        meta = ckpt.read_meta(path)
    except CheckpointError:
        return "holds a damaged checkpoint"
    return (
        f"holds a checkpoint of {meta.get('agent')!r} on {meta.get('env_id')} "
        f"(step {meta.get('steps')}), not of {agent_name!r} on {env_id}"
    )


def choose_run_dir(given: str | None, env_id: str, agent_name: str, seed: int) -> Path:
    """The directory given (new or empty), else ``runs/<env>_<agent>_s<seed>_<time>``."""
    if given:
        run_dir = Path(given)
        if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            raise ConfigError(
                f"run directory {str(run_dir)!r} already exists and is not empty; choose a new "
                f"{option('run_dir')} (nothing in it was touched)"
            )
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        env_part = env_id.replace("/", "-").replace(":", "-")
        name = f"{env_part}_{agent_name.replace(':', '-')}_s{seed}_{stamp}"
        run_dir = Path("runs") / name
        suffix = 1
        while run_dir.exists():
            suffix += 1
            run_dir = Path("runs") / f"{name}-{suffix}"
    check_writable(run_dir, "run_dir")
    return run_dir


def make_run_dir(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"cannot create the run directory {str(run_dir)!r}: {one_line(err)}; "
            f"choose another {option('run_dir')}"
        ) from None
