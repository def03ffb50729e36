"""Checkpoints: a directory that loads without unpickling anything, and refuses what does not fit.

::

    checkpoint/
      agent.json      agent name, package version, config, spaces, env id, steps done
      state.json      the structure of ``state_dict()``: nested dicts/lists, numbers, strings
      run_state.json  optional: the runner's own state (env snapshots, observations, counters)
      arrays.npz      the arrays and tensors of both, read back with ``allow_pickle=False``;
                      members ``a<N>`` belong to state.json, ``r<N>`` to run_state.json

Tensors are stored as numpy arrays and come back as CPU tensors (torch is imported only when the
checkpoint holds one), so a random or tabular agent's checkpoint never needs torch. Dict keys keep
their type (an optimizer's ``state`` is keyed by int).

A checkpoint is untrusted input. Reading it is bounded (JSON files of at most
``MAX_JSON_BYTES``, nesting of at most ``MAX_DEPTH`` levels, every array's ``.npy`` header checked
against the bytes the archive really holds before any array data is read), and
:func:`load_agent_state` compares what it read with the agent's own ``state_dict()`` (keys, kinds,
dtypes, shapes) before the agent sees it, then checks the optimizers' per-parameter state, which
torch does not check and which kills the interpreter at the next step when it has the wrong shape.
Every problem is a :class:`~rlagents.errors.CheckpointError` with a one-line message.

Writing is atomic: the new checkpoint is written beside the old one and swapped in with two
renames, so a crash or Ctrl-C mid-write never leaves a damaged checkpoint in place of a good one.
It never replaces anything but a checkpoint or an empty directory (:func:`describe_target`;
:func:`move_aside` renames anything else out of the way), and removes the temporary directories
that a killed save left behind.

The package, one idea a module: :mod:`~rlagents.checkpoint.format` (file names, format version,
bounds, spaces as JSON), :mod:`~rlagents.checkpoint.codec` (a state as a JSON tree plus arrays,
and the decoder that checks it), :mod:`~rlagents.checkpoint.untrusted` (bounded reading of
crafted files and the messages that refuse them), :mod:`~rlagents.checkpoint.optimizers`
(optimizer state torch does not check), :mod:`~rlagents.checkpoint.store` (paths and the atomic
save) and :mod:`~rlagents.checkpoint.versions` (the newer-version warning). This module holds
the reading API and names everything a caller uses.
"""

from __future__ import annotations

import os
import reprlib
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeGuard

from rlagents.checkpoint.codec import ANY, Decoder
from rlagents.checkpoint.format import (
    ARRAYS_FILE,
    CHECKPOINT_FILES,
    FIX,
    FORMAT_VERSION,
    MAX_DEPTH,
    MAX_JSON_BYTES,
    META_FILE,
    RUN_PREFIX,
    RUN_TREE_FILE,
    STATE_PREFIX,
    TREE_FILE,
    check_compatible,
    show,
    space_from_json,
    space_to_json,
)
from rlagents.checkpoint.optimizers import check_optimizer_states
from rlagents.checkpoint.store import Target, describe_target, move_aside, resolve, save_checkpoint
from rlagents.checkpoint.untrusted import (
    damaged,
    optional_file,
    read_headers,
    read_json,
    reading,
    required_file,
)
from rlagents.checkpoint.versions import newer_version_warning
from rlagents.errors import CheckpointError, one_line

__all__ = [
    "ARRAYS_FILE",
    "CHECKPOINT_FILES",
    "FIX",
    "FORMAT_VERSION",
    "MAX_DEPTH",
    "MAX_JSON_BYTES",
    "META_FILE",
    "RUN_PREFIX",
    "RUN_TREE_FILE",
    "STATE_PREFIX",
    "TREE_FILE",
    "CheckpointError",
    "Target",
    "check_compatible",
    "check_optimizer_states",
    "describe_target",
    "load_agent_state",
    "move_aside",
    "newer_version_warning",
    "read_meta",
    "read_run_state",
    "read_state",
    "save_checkpoint",
    "space_from_json",
    "space_to_json",
]


def _read_tree(
    ck: Path,
    tree_file: Path,
    prefix: str,
    ref: Any,
    num_envs: int | None,
    optional: frozenset[str] = frozenset(),
) -> Any:
    tree = read_json(tree_file)
    arrays_file = required_file(ck, ARRAYS_FILE)
    with zipfile.ZipFile(arrays_file) as zf:
        headers = read_headers(zf, arrays_file.stat().st_size)
        decoder = Decoder(zf, headers, prefix, num_envs, tree_file.name, optional)
        value = decoder.decode(tree, ref, "", 0)
        unnamed = sorted(
            k for k in decoder.headers if k.startswith(prefix) and k not in decoder.used
        )
    if unnamed:
        raise damaged(f"{ARRAYS_FILE} holds {unnamed[0]}, which {tree_file.name} does not name")
    if not isinstance(value, dict):
        raise damaged(f"{tree_file.name} does not hold a dict")
    return value


_MetaCheck = tuple[Callable[[Any], bool], str]


def _printable(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 200 and value.isprintable()


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_META_FIELDS: dict[str, _MetaCheck] = {
    "agent": (_printable, "an agent name"),
    "package_version": (_printable, "a version string"),
    "config": (lambda v: isinstance(v, dict), "a JSON object"),
    "env_id": (_printable, "an env id"),
    "env_kwargs": (lambda v: isinstance(v, dict), "a JSON object"),
    "preset": (lambda v: v is None or _printable(v), "a preset name or null"),
    "preset_kwargs": (lambda v: isinstance(v, dict), "a JSON object"),
    "steps": (_count, "a non-negative integer"),
    "episodes": (_count, "a non-negative integer"),
    "seed": (
        lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
        "an integer or null",
    ),
}


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``agent.json`` of the checkpoint at ``path``.

    Refuses a file over ``MAX_JSON_BYTES``, one that is not a JSON object, a ``format`` newer
    than ``FORMAT_VERSION`` (or no format), a missing ``agent`` and a field of the wrong type.
    """
    ck = resolve(path)
    with reading(ck):
        meta = read_json(required_file(ck, META_FILE))
        if not isinstance(meta, dict):
            raise damaged(f"{META_FILE} does not hold a JSON object")
        fmt = meta.get("format")
        if _count(fmt) and fmt > FORMAT_VERSION:
            raise CheckpointError(
                f"checkpoint {str(ck)!r} was written by a newer rlagents (format {fmt}); "
                "upgrade rlagents"
            )
        if not _count(fmt) or fmt != FORMAT_VERSION or "agent" not in meta:
            raise damaged(f"{META_FILE} is of an unknown format (format {show(fmt)})")
        for name, (check, what) in _META_FIELDS.items():
            if name in meta and not check(meta[name]):
                raise damaged(
                    f"{META_FILE}: {name!r} must be {what}, not {show(reprlib.repr(meta[name]))}"
                )
    return meta


def read_state(
    path: str | os.PathLike,
    reference: Mapping[str, Any] | None = None,
    *,
    num_envs: int | None = None,
    optional: Iterable[str] = (),
) -> dict[str, Any]:
    """Read the ``state_dict()`` saved at ``path``.

    With ``reference`` (a fresh agent's ``state_dict()``), refuse a state whose layout differs:
    dict keys, list lengths, array and tensor kinds, dtypes and shapes, scalar kinds. An empty
    dict or list in the reference accepts anything and an empty axis of an array or tensor any
    length. Per-env state may come from a run with another number of envs, which the agent
    handles: an array's axis of length ``num_envs`` takes any length, and so does a list of
    ``num_envs`` entries (each checked against the reference's first). A top-level key named
    in ``optional`` (the agent's ``optional_state``) may be missing, and one the reference lacks
    is dropped: a checkpoint saved with or without its replay buffer loads either way.
    """
    ck = resolve(path)
    with reading(ck):
        ref = ANY if reference is None else reference
        tree = required_file(ck, TREE_FILE)
        state: dict[str, Any] = _read_tree(
            ck, tree, STATE_PREFIX, ref, num_envs, frozenset(optional)
        )
    return state


def read_run_state(path: str | os.PathLike) -> dict[str, Any] | None:
    """The run state saved beside the agent state at ``path``, or ``None`` if it has none."""
    ck = resolve(path)
    tree_file = optional_file(ck, RUN_TREE_FILE)
    if tree_file is None:
        return None
    with reading(ck):
        run_state: dict[str, Any] = _read_tree(ck, tree_file, RUN_PREFIX, ANY, None)
    return run_state


def load_agent_state(agent: Any, path: str | os.PathLike) -> None:
    """Restore ``agent`` from the checkpoint at ``path``, refusing what does not fit it.

    The state is checked against ``agent.state_dict()`` before the agent sees it
    (:func:`read_state`), and its optimizers' per-parameter state after
    (:func:`check_optimizer_states`).
    """
    reference = agent.state_dict()
    num_envs, optional = getattr(agent, "num_envs", None), getattr(agent, "optional_state", ())
    state = read_state(path, reference, num_envs=num_envs, optional=optional)
    try:
        agent.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError, TypeError, IndexError, AttributeError) as err:
        raise CheckpointError(
            f"checkpoint {str(path)!r} does not fit this {type(agent).__name__} agent: "
            f"{one_line(err)}; {FIX}"
        ) from None
    check_optimizer_states(agent, path)
