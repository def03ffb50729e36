"""Checkpoints: a directory that loads without unpickling anything.

::

    checkpoint/
      agent.json    agent name, package version, config, spaces, env id, steps done
      state.json    the structure of ``state_dict()``: nested dicts/lists, numbers, strings
      arrays.npz    its arrays and tensors, read back with ``allow_pickle=False``

Tensors are stored as numpy arrays and come back as CPU tensors (torch is imported only when the
checkpoint holds one), so a random or tabular agent's checkpoint never needs torch. Dict keys keep
their type (an optimizer's ``state`` is keyed by int).

Writing is atomic: the new checkpoint is written beside the old one and swapped in with two
renames, so a crash or Ctrl-C mid-write never leaves a damaged checkpoint in place of a good one.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from rlagents.errors import CheckpointError

FORMAT_VERSION = 1
META_FILE, TREE_FILE, ARRAYS_FILE = "agent.json", "state.json", "arrays.npz"


# --------------------------------------------------------------------------------------- spaces
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


# ---------------------------------------------------------------------------------------- state
def _encode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(node, Mapping):
        return {"dict": [[_key(k), _encode(v, arrays)] for k, v in node.items()]}
    if isinstance(node, (list, tuple)):
        return {type(node).__name__: [_encode(v, arrays) for v in node]}
    if isinstance(node, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = node
        return {"array": key}
    if (type(node).__module__ == "torch" and type(node).__name__ == "Tensor") or _is_tensor(node):
        key = f"a{len(arrays)}"
        tensor = node.detach().cpu()
        dtype = str(tensor.dtype)
        if dtype == "torch.bfloat16":  # numpy has no bfloat16
            tensor = tensor.float()
        arrays[key] = tensor.numpy()
        return {"tensor": key, "dtype": dtype}
    if isinstance(node, np.generic):
        node = node.item()
    if node is None or isinstance(node, (bool, int, float, str)):
        return {"value": node}
    raise CheckpointError(
        f"state_dict() holds a {type(node).__name__}; a checkpoint holds only tensors, arrays, "
        "numbers, strings and nested dicts/lists of them"
    )


def _is_tensor(node: Any) -> bool:
    torch = _torch_if_loaded()
    return torch is not None and isinstance(node, torch.Tensor)


def _torch_if_loaded() -> Any:
    import sys

    return sys.modules.get("torch")


def _key(key: Any) -> Any:
    if isinstance(key, (str, int)) and not isinstance(key, bool):
        return key
    raise CheckpointError(f"state_dict() has a {type(key).__name__} key {key!r}; use str or int")


def _decode(node: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if "dict" in node:
        return {k: _decode(v, arrays) for k, v in node["dict"]}
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    if "array" in node:
        return arrays[node["array"]]
    if "tensor" in node:
        import torch

        tensor = torch.from_numpy(np.array(arrays[node["tensor"]]))
        return tensor.to(getattr(torch, node["dtype"].removeprefix("torch.")))
    return node["value"]


# ----------------------------------------------------------------------------------------- I/O
def save_checkpoint(
    path: str | os.PathLike, meta: Mapping[str, Any], state: Mapping[str, Any]
) -> Path:
    """Write ``meta`` and ``state`` to the directory ``path``, replacing it atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(state, arrays)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write(tmp / ARRAYS_FILE, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
        _write(tmp / TREE_FILE, lambda f: f.write(json.dumps(tree).encode()))
        full_meta = {"format": FORMAT_VERSION, **meta}
        _write(tmp / META_FILE, lambda f: f.write(json.dumps(full_meta, indent=2).encode()))
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _write(file: Path, writer: Any) -> None:
    with open(file, "wb") as f:
        writer(f)
        f.flush()
        os.fsync(f.fileno())


def _resolve(path: str | os.PathLike) -> Path:
    path = Path(path)
    old = path.with_name(f".{path.name}.old")
    if not path.exists() and old.exists():
        return old  # a crash fell between the two renames of save_checkpoint: the old one is whole
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if not path.is_dir() or not (path / META_FILE).is_file():
        raise CheckpointError(
            f"{str(path)!r} is not a checkpoint directory (it has no {META_FILE}); "
            "pass the directory that --save wrote"
        )
    return path


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``agent.json`` of the checkpoint at ``path``."""
    path = _resolve(path)
    try:
        meta = json.loads((path / META_FILE).read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r} is damaged: {META_FILE}: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION or "agent" not in meta:
        raise CheckpointError(f"checkpoint {str(path)!r} is damaged or of an unknown format")
    return meta


def read_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read the ``state_dict()`` saved at ``path``."""
    path = _resolve(path)
    try:
        tree = json.loads((path / TREE_FILE).read_text())
        with np.load(path / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        state = _decode(tree, arrays)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is damaged: {type(err).__name__}: {err}"
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {str(path)!r} is damaged: its state is not a dict")
    return state


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
            f"run with --agent {meta['agent']}"
        )
    for role, space in (("observation", observation_space), ("action", action_space)):
        saved = meta.get(f"{role}_space")
        if saved != space_to_json(space):
            raise CheckpointError(
                f"checkpoint {str(path)!r} was trained on a different {role} space "
                f"({_space_text(saved)}) than this env's ({_space_text(space_to_json(space))}); "
                f"use the env (--env {meta.get('env_id')}) and preset it was trained with"
            )


def _space_text(desc: Any) -> str:
    if not isinstance(desc, dict):
        return "unknown"
    if desc.get("type") == "Box":
        return f"Box{tuple(desc['shape'])} {desc['dtype']}"
    if desc.get("type") == "Discrete":
        return f"Discrete({desc['n']})"
    return str(desc.get("type"))
