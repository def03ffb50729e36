"""The checkpoint format: its files, its version, the bounds a reader keeps, and spaces as JSON.

:func:`space_to_json` is what ``agent.json`` holds of the agent's spaces, :func:`space_from_json`
rebuilds them (so a checkpoint's agent needs no env), and :func:`check_compatible` refuses a
checkpoint of another agent or of other spaces.
"""

from __future__ import annotations

import os
import reprlib
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from rlagents.errors import CheckpointError, one_line, option

FORMAT_VERSION = 1
META_FILE, TREE_FILE, ARRAYS_FILE = "agent.json", "state.json", "arrays.npz"
RUN_TREE_FILE = "run_state.json"
CHECKPOINT_FILES = (META_FILE, TREE_FILE, RUN_TREE_FILE, ARRAYS_FILE)
STATE_PREFIX, RUN_PREFIX = "a", "r"  # array names in arrays.npz: a0, a1, … and r0, r1, …
MAX_JSON_BYTES = 64 * 2**20
"""The largest agent.json, state.json or run_state.json read."""
MAX_DEPTH = 100
"""The deepest nesting of dicts and lists a state may have."""
FIX = (
    "the checkpoint was not written by this agent's version or was modified; "
    "train a new one or pass the checkpoint directory a run wrote"
)


def show(value: Any, limit: int = 60) -> str:
    """``value`` (a str as is, anything else as a short repr) fit for a one-line message."""
    text = value if isinstance(value, str) else reprlib.repr(value)
    text = text if len(text) <= limit else text[:limit] + "..."
    return text if text.isprintable() else ascii(text)


def space_to_json(space: spaces.Space) -> dict[str, Any]:
    """A JSON description of a space, precise enough to tell two spaces apart."""
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": _compact(space.low),
            "high": _compact(space.high),
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist()}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, spaces.Tuple):
        return {"type": "Tuple", "spaces": [space_to_json(s) for s in space.spaces]}
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {k: space_to_json(s) for k, s in space.spaces.items()}}
    return {"type": type(space).__name__, "repr": repr(space)}


def space_from_json(desc: Any) -> spaces.Space:
    """The space :func:`space_to_json` described (so a checkpoint's agent needs no env)."""
    if not isinstance(desc, Mapping):
        raise CheckpointError(f"a saved space is not a JSON object: {show(desc)}")
    kind = desc.get("type")
    try:
        if kind == "Box":
            shape = tuple(int(n) for n in desc["shape"])
            dtype = np.dtype(desc["dtype"])
            low = np.broadcast_to(np.asarray(_from_json_number(desc["low"]), np.float64), shape)
            high = np.broadcast_to(np.asarray(_from_json_number(desc["high"]), np.float64), shape)
            return spaces.Box(low.astype(dtype), high.astype(dtype), shape, dtype)
        if kind == "Discrete":
            return spaces.Discrete(int(desc["n"]), start=int(desc.get("start", 0)))
        if kind == "MultiDiscrete":
            return spaces.MultiDiscrete(np.asarray(desc["nvec"], np.int64))
        if kind == "MultiBinary":
            return spaces.MultiBinary(desc["n"])
        if kind == "Tuple":
            return spaces.Tuple([space_from_json(d) for d in desc["spaces"]])
        if kind == "Dict":
            return spaces.Dict({k: space_from_json(d) for k, d in desc["spaces"].items()})
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"a saved {kind} space is damaged: {one_line(err)}") from None
    raise CheckpointError(f"a saved space of type {show(kind)} cannot be rebuilt without its env")


def _from_json_number(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_json_number(v) for v in value]
    return float(value) if isinstance(value, str) else value


def _compact(bound: np.ndarray) -> Any:
    """One number where all bounds are equal (an image's 0..255), else the nested list;
    infinities become the strings "inf"/"-inf" so the JSON stays standard."""
    flat = bound.reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        return _json_number(flat[0].item())
    return _json_number(bound.tolist())


def _json_number(value: Any) -> Any:
    if isinstance(value, list):
        return [_json_number(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def check_compatible(
    meta: Mapping[str, Any],
    path: str | os.PathLike,
    agent_name: str,
    observation_space: spaces.Space,
    action_space: spaces.Space,
) -> None:
    """Raise :class:`CheckpointError` unless the checkpoint fits this agent and these spaces."""
    if meta["agent"] != agent_name:
        raise CheckpointError(
            f"checkpoint {str(path)!r} belongs to agent {meta['agent']!r}, not {agent_name!r}; "
            f"run with {option('agent')} {show(meta['agent'])}"
        )
    for role, space in (("observation", observation_space), ("action", action_space)):
        saved = meta.get(f"{role}_space")
        if saved != space_to_json(space):
            raise CheckpointError(
                f"checkpoint {str(path)!r} was trained on a different {role} space "
                f"({_space_text(saved)}) than this env's ({_space_text(space_to_json(space))}); "
                f"use the env ({option('env_id')} {show(meta.get('env_id'))}) and preset it was "
                "trained with"
            )


def _space_text(desc: Any) -> str:
    try:
        if desc.get("type") == "Box":
            return show(f"Box{tuple(desc['shape'])} {desc['dtype']}")
        if desc.get("type") == "Discrete":
            return show(f"Discrete({desc['n']})")
        return show(str(desc.get("type")))
    except (AttributeError, KeyError, TypeError):
        return "unknown"
