"""Where checkpoints live on disk: finding one to read, and putting one in place atomically.

:func:`resolve` finds the checkpoint a path names (or the old copy, when a crash fell between the
two renames of :func:`save_checkpoint`). :func:`save_checkpoint` writes beside the old one and
swaps the new one in, replacing only a checkpoint or an empty directory
(:func:`describe_target`); :func:`move_aside` renames anything else out of the way.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rlagents.checkpoint.codec import encode
from rlagents.checkpoint.format import (
    ARRAYS_FILE,
    CHECKPOINT_FILES,
    FORMAT_VERSION,
    META_FILE,
    RUN_PREFIX,
    RUN_TREE_FILE,
    STATE_PREFIX,
    TREE_FILE,
)
from rlagents.errors import CheckpointError, one_line, option

Target = Literal["missing", "empty", "checkpoint", "other"]


def resolve(path: str | os.PathLike) -> Path:
    path = Path(path)
    old = path.with_name(f".{path.name}.old")
    if not path.exists() and old.exists():
        return old  # a crash fell between the two renames of save_checkpoint: the old one is whole
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if (path / "checkpoint" / META_FILE).is_file():  # a run directory: name what it holds
        choices = f"its last checkpoint, {str(path / 'checkpoint')!r}"
        if (path / "best" / META_FILE).is_file():
            choices += f", or its best-evaluated one, {str(path / 'best')!r}"
        raise CheckpointError(f"{str(path)!r} is a run directory, not a checkpoint: pass {choices}")
    if not path.is_dir() or not (path / META_FILE).is_file():
        raise CheckpointError(
            f"{str(path)!r} is not a checkpoint directory (it has no {META_FILE}); "
            f"pass the checkpoint directory a run wrote"
        )
    return path


def describe_target(path: str | os.PathLike) -> Target:
    """What is at ``path``: nothing, an empty directory, a checkpoint, or something else.

    A checkpoint is a directory holding ``agent.json`` and nothing but checkpoint files; a
    symbolic link, a file, or a directory with anything else in it is ``"other"``.
    """
    path = Path(path)
    if path.is_symlink():
        return "other"
    if not path.exists():
        return "missing"
    if not path.is_dir():
        return "other"
    try:
        entries = list(os.scandir(path))
    except OSError:
        return "other"
    if not entries:
        return "empty"
    names = {e.name for e in entries}
    if (
        META_FILE in names
        and names <= set(CHECKPOINT_FILES)
        and all(e.is_symlink() or e.is_file(follow_symlinks=False) for e in entries)
    ):
        return "checkpoint"
    return "other"


def move_aside(path: str | os.PathLike) -> Path:
    """Rename ``path`` to a free sibling ``NAME.replaced-YYYYmmdd-HHMMSS[-k]``; never deletes."""
    path = Path(os.path.abspath(path))
    if not os.path.lexists(path):
        raise CheckpointError(f"{str(path)!r} does not exist; there is nothing to move aside")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in itertools.count():
        aside = path.with_name(f"{path.name}.replaced-{stamp}{f'-{k}' if k else ''}")
        if not os.path.lexists(aside):
            break
    try:
        os.rename(path, aside)
    except OSError as err:
        raise CheckpointError(
            f"could not move {str(path)!r} aside: {one_line(err)}; "
            f"move it yourself or choose another {option('save')} directory"
        ) from None
    return aside


def save_checkpoint(
    path: str | os.PathLike,
    meta: Mapping[str, Any],
    state: Mapping[str, Any],
    run_state: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``meta``, ``state`` and optionally ``run_state`` to the directory ``path``,
    replacing it atomically.

    Refuses to write through a symbolic link and to replace anything but a checkpoint or an
    empty directory (see :func:`describe_target`, :func:`move_aside`). Temporary directories
    left by a save that was killed are removed first.
    """
    path = Path(path)
    if path.is_symlink():
        raise CheckpointError(
            f"{str(path)!r} is a symbolic link; refusing to write a checkpoint through it; "
            f"pass a real directory to {option('save')}"
        )
    if describe_target(path) == "other":
        raise CheckpointError(
            f"{str(path)!r} exists and is not a checkpoint directory; refusing to replace it "
            f"(nothing was touched); choose another {option('save')} directory or move it aside "
            f"({option('overwrite', True)})"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    tree = encode(state, arrays, STATE_PREFIX)
    run_arrays: dict[str, np.ndarray] = {}
    run_tree = None if run_state is None else encode(run_state, run_arrays, RUN_PREFIX)
    _remove_stale_temps(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    old = path.with_name(f".{path.name}.old")
    tmp.mkdir()
    try:
        _write(tmp / ARRAYS_FILE, lambda f: np.savez(f, **arrays, **run_arrays))  # type: ignore[arg-type]
        _write(tmp / TREE_FILE, lambda f: f.write(json.dumps(tree).encode()))
        if run_tree is not None:
            _write(tmp / RUN_TREE_FILE, lambda f: f.write(json.dumps(run_tree).encode()))
        full_meta = {"format": FORMAT_VERSION, **meta}
        _write(tmp / META_FILE, lambda f: f.write(json.dumps(full_meta, indent=2).encode()))
        if os.path.lexists(path):
            _remove(old)
            os.replace(path, old)
        os.replace(tmp, path)
        _remove(old)
    except BaseException:
        _remove(tmp)
        raise
    return path


def _write(file: Path, writer: Any) -> None:
    with open(file, "wb") as f:
        writer(f)
        f.flush()
        os.fsync(f.fileno())


def _remove(path: Path) -> None:
    """Delete ``path``; a symbolic link is unlinked, never followed."""
    if path.is_symlink() or (os.path.lexists(path) and not path.is_dir()):
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _remove_stale_temps(path: Path) -> None:
    """Remove ``.NAME.tmp-PID`` directories of saves that died (or of this process)."""
    prefix = f".{path.name}.tmp-"
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(prefix) :]
        if not entry.name.startswith(prefix) or not re.fullmatch(r"[0-9]{1,10}", pid):
            continue
        if int(pid) == os.getpid() or not _alive(int(pid)):
            _remove(entry)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OverflowError:
        return False
    except OSError:  # it exists, but belongs to someone else
        return True
    return True
