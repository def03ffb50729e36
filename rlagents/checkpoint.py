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
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import reprlib
import shutil
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeGuard

import numpy as np
from gymnasium import spaces

from rlagents.errors import CheckpointError, one_line

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
    "train a new one or pass the directory --save wrote"
)
Target = Literal["missing", "empty", "checkpoint", "other"]


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


def space_from_json(desc: Any) -> spaces.Space:
    """The space :func:`space_to_json` described (so a checkpoint's agent needs no env)."""
    if not isinstance(desc, Mapping):
        raise CheckpointError(f"a saved space is not a JSON object: {_show(desc)}")
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
    raise CheckpointError(f"a saved space of type {_show(kind)} cannot be rebuilt without its env")


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


# -------------------------------------------------------------------------------- messages
class _Bad(Exception):
    """What is wrong inside a checkpoint; :func:`_reading` adds the checkpoint's path and FIX."""


_DAMAGE = (  # what parsing crafted bytes raises (RecursionError is a RuntimeError)
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    MemoryError,
    RuntimeError,
    SyntaxError,
    NotImplementedError,
    zipfile.BadZipFile,
    zlib.error,
)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    try:
        yield
    except _Bad as err:
        raise CheckpointError(f"checkpoint {str(path)!r} {err}; {FIX}") from None
    except _DAMAGE as err:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is damaged: {one_line(err)}; {FIX}"
        ) from None


def _damaged(detail: str) -> _Bad:
    return _Bad(f"is damaged: {detail}")


def _mismatch(where: str, detail: str) -> _Bad:
    return _Bad(f"does not match this agent: {where or 'its state'} {detail}")


def _show(value: Any, limit: int = 60) -> str:
    """``value`` (a str as is, anything else as a short repr) fit for a one-line message."""
    text = value if isinstance(value, str) else reprlib.repr(value)
    text = text if len(text) <= limit else text[:limit] + "..."
    return text if text.isprintable() else ascii(text)


def _kind(node: Any) -> str:
    if isinstance(node, Mapping):
        return "a dict"
    if isinstance(node, (list, tuple)):
        return "a list"
    if isinstance(node, np.ndarray):
        return "an array"
    if _is_tensor(node):
        return "a tensor"
    if isinstance(node, np.generic):
        node = node.item()
    if node is None:
        return "None"
    if isinstance(node, bool):
        return "a bool"
    if isinstance(node, (int, float)):
        return "a number"
    if isinstance(node, str):
        return "a string"
    return f"a {type(node).__name__}"


# ---------------------------------------------------------------------------------- encoding
def _encode(node: Any, arrays: dict[str, np.ndarray], prefix: str = STATE_PREFIX) -> Any:
    if isinstance(node, Mapping):
        return {"dict": [[_key(k), _encode(v, arrays, prefix)] for k, v in node.items()]}
    if isinstance(node, (list, tuple)):
        return {type(node).__name__: [_encode(v, arrays, prefix) for v in node]}
    if isinstance(node, np.ndarray):
        key = f"{prefix}{len(arrays)}"
        arrays[key] = node
        return {"array": key}
    if _is_tensor(node):
        key = f"{prefix}{len(arrays)}"
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
    torch = sys.modules.get("torch")  # a tensor exists only if torch was imported
    return torch is not None and isinstance(node, torch.Tensor)


def _key(key: Any) -> Any:
    if isinstance(key, (str, int)) and not isinstance(key, bool):
        return key
    raise CheckpointError(f"state_dict() has a {type(key).__name__} key {key!r}; use str or int")


# ---------------------------------------------------------------------------------- decoding
_ANY: Any = object()  # "no reference here": everything below is accepted as it is
_MEMBER = re.compile(r"([ar][0-9]{1,12})\.npy")
_ARRAY_KINDS = "biufcUS"  # booleans, numbers, strings: never objects or structured records
_SCALAR = (bool, int, float, str)


@dataclass(frozen=True)
class _Header:
    shape: tuple[int, ...]
    dtype: np.dtype


def _read_headers(zf: zipfile.ZipFile, disk_size: int) -> dict[str, _Header]:
    """Every member's shape and dtype from its ``.npy`` header, before any array data is read;
    refuses members that claim more bytes than the archive holds."""
    headers: dict[str, _Header] = {}
    total = 0
    for info in zf.infolist():
        match = _MEMBER.fullmatch(info.filename)
        if match is None:
            raise _damaged(f"{ARRAYS_FILE} holds an unknown member {_show(info.filename)}")
        key = match.group(1)
        if key in headers:
            raise _damaged(f"{ARRAYS_FILE} holds {key} twice")
        total += info.file_size  # np.savez stores members uncompressed
        if total > disk_size:
            raise _damaged(f"{ARRAYS_FILE} unpacks to more than its {disk_size} bytes")
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise _damaged(f"{ARRAYS_FILE}: {key} is a .npy file of version {version}")
        if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.itemsize == 0:
            raise _damaged(f"{ARRAYS_FILE}: {key} has dtype {_show(str(dtype))}")
        if len(shape) > 32 or any(n < 0 for n in shape):
            raise _damaged(f"{ARRAYS_FILE}: {key} has shape {_show(shape)}")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > info.file_size:
            raise _damaged(
                f"{ARRAYS_FILE}: {key} claims shape {_show(tuple(shape))} ({nbytes} bytes) "
                f"but holds {info.file_size} bytes"
            )
        headers[key] = _Header(tuple(shape), dtype)
    return headers


@dataclass
class _Decoder:
    """Turns the JSON tree back into values, checking it against a reference ``state_dict()``."""

    zf: zipfile.ZipFile
    headers: dict[str, _Header]
    prefix: str
    num_envs: int | None
    source: str  # the JSON file, for messages
    optional: frozenset[str] = frozenset()  # top-level keys that may be missing or left over
    used: set[str] = field(default_factory=set)

    def decode(self, node: Any, ref: Any, where: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _damaged(f"{self.source} nests deeper than {MAX_DEPTH} levels")
        tags = set(node) if isinstance(node, dict) else set()
        if tags == {"dict"}:
            return self._dict(node["dict"], ref, where, depth)
        if tags in ({"list"}, {"tuple"}):
            (tag,) = tags
            values = self._sequence(node[tag], ref, where, depth)
            return tuple(values) if tag == "tuple" else values
        if tags == {"array"}:
            return self._array(node["array"], ref, where)
        if tags == {"tensor", "dtype"}:
            return self._tensor(node["tensor"], node["dtype"], ref, where)
        if tags == {"value"} and (node["value"] is None or isinstance(node["value"], _SCALAR)):
            return self._value(node["value"], ref, where)
        raise _damaged(f"{where or 'its state'} is not an entry of a checkpoint")

    def _dict(self, items: Any, ref: Any, where: str, depth: int) -> dict[Any, Any]:
        if not isinstance(items, list) or not all(
            isinstance(i, list) and len(i) == 2 and _valid_key(i[0]) for i in items
        ):
            raise _damaged(f"{where or 'its state'} is not a valid dict")
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            raise _damaged(f"{where or 'its state'} holds a key twice")
        if ref is not _ANY:
            if not isinstance(ref, Mapping):
                raise _mismatch(where, f"is a dict, the agent's is {_kind(ref)}")
            if not ref:
                ref = _ANY  # e.g. an optimizer's state before its first step: anything goes
            else:
                optional = self.optional if depth == 0 else frozenset()
                present = set(keys)
                missing = [k for k in ref if k not in present and k not in optional]
                if missing:
                    raise _mismatch(_join(where, missing[0]), "is missing")
                extra = [k for k in keys if k not in ref and k not in optional]
                if extra:
                    raise _mismatch(_join(where, extra[0]), "is not part of the agent's state")
        decoded = {
            k: self.decode(
                v, _ANY if ref is _ANY or k not in ref else ref[k], _join(where, k), depth + 1
            )
            for k, v in items
        }
        # An optional part this agent does not keep (a replay buffer a run saved, loaded with
        # save_replay_buffer=false) is read, so that its arrays count as named, and dropped.
        return {k: v for k, v in decoded.items() if ref is _ANY or k in ref}

    def _sequence(self, items: Any, ref: Any, where: str, depth: int) -> list[Any]:
        """A list of the reference's length, entry by entry; an empty reference accepts any
        list, and one of ``num_envs`` entries (one per env) a list of any length, each entry
        checked against the reference's first."""
        if not isinstance(items, list):
            raise _damaged(f"{where or 'its state'} is not a valid list")
        refs = [_ANY] * len(items)
        if ref is not _ANY:
            if not isinstance(ref, (list, tuple)):
                raise _mismatch(where, f"is a list, the agent's is {_kind(ref)}")
            if len(ref) == len(items):
                refs = list(ref)
            elif ref and len(ref) == self.num_envs:
                refs = [ref[0]] * len(items)
            elif ref:
                raise _mismatch(where, f"has {len(items)} entries, the agent's has {len(ref)}")
        return [
            self.decode(v, r, f"{where}[{i}]", depth + 1)
            for i, (v, r) in enumerate(zip(items, refs, strict=True))
        ]

    def _header(self, key: Any, where: str) -> _Header:
        if not isinstance(key, str) or not key.startswith(self.prefix) or key not in self.headers:
            raise _damaged(f"{where or 'its state'} names an array {ARRAYS_FILE} does not hold")
        self.used.add(key)
        return self.headers[key]

    def _load(self, key: str) -> np.ndarray:
        with self.zf.open(f"{key}.npy") as f:
            array = np.lib.format.read_array(f, allow_pickle=False)
        return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))

    def _array(self, key: Any, ref: Any, where: str) -> np.ndarray:
        header = self._header(key, where)
        if ref is _ANY or _untyped_empty(ref):
            return self._load(key)
        if header.shape == () and header.dtype.kind in "iuf" and _number(ref):
            return self._load(key)  # a running statistic, held as a number or a 0-d array
        if not isinstance(ref, np.ndarray):
            raise _mismatch(where, f"is an array, the agent's is {_kind(ref)}")
        if header.dtype.newbyteorder("=") != ref.dtype.newbyteorder("="):
            raise _mismatch(where, f"has dtype {header.dtype.name}, the agent's {ref.dtype.name}")
        self._shape(header.shape, ref.shape, where, per_env=True)
        return self._load(key)

    def _tensor(self, key: Any, dtype: Any, ref: Any, where: str) -> Any:
        header = self._header(key, where)
        if not isinstance(dtype, str) or not re.fullmatch(r"torch\.[a-z0-9]{1,20}", dtype):
            raise _damaged(f"{where} is a tensor of an unknown dtype {_show(dtype)}")
        name = dtype.removeprefix("torch.")
        if header.dtype.name != ("float32" if name == "bfloat16" else name):
            raise _damaged(f"{where} is a {dtype} tensor stored as {header.dtype.name}")
        if ref is not _ANY:
            if not _is_tensor(ref):
                raise _mismatch(where, f"is a tensor, the agent's is {_kind(ref)}")
            if str(ref.dtype) != dtype:
                raise _mismatch(where, f"has dtype {dtype}, the agent's {ref.dtype}")
            self._shape(header.shape, tuple(ref.shape), where, per_env=False)
        import torch  # only a checkpoint that holds tensors needs torch

        torch_dtype = getattr(torch, name, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise _damaged(f"{where} is a tensor of an unknown dtype {_show(dtype)}")
        return torch.from_numpy(np.array(self._load(key))).to(torch_dtype)

    def _shape(
        self, found: tuple[int, ...], expected: tuple[int, ...], where: str, *, per_env: bool
    ) -> None:
        """Equal shapes, except that an axis the agent has empty (an empty replay buffer's
        ``obs[:0]``) takes any length, and so does an array's axis of ``num_envs`` (``per_env``:
        a resume with another number of envs, which the agent handles; numpy refuses, and never
        crashes on, arrays that do not fit)."""
        fits = len(found) == len(expected) and all(
            f == e or e == 0 or (per_env and e == self.num_envs)
            for f, e in zip(found, expected, strict=True)
        )
        if not fits:
            raise _mismatch(where, f"has shape {found}, the agent's {tuple(expected)}")

    def _value(self, value: Any, ref: Any, where: str) -> Any:
        """A scalar of the reference's kind (bool, number, string); None matches any scalar."""
        if ref is _ANY or (_number(ref) and (value is None or _number(value))):
            return value
        if isinstance(ref, str) and ref.isdigit() and isinstance(value, int):
            return value  # a generator's 128-bit state as a raw int (older checkpoints)
        scalar = ref.item() if isinstance(ref, np.generic) else ref
        if not (scalar is None or isinstance(scalar, _SCALAR)) or (
            value is not None and scalar is not None and _kind(value) != _kind(scalar)
        ):
            raise _mismatch(where, f"is {_kind(value)}, the agent's is {_kind(ref)}")
        return value


def _untyped_empty(node: Any) -> bool:
    """``np.asarray([])``: what an agent saves for a list it has no entries in yet."""
    return isinstance(node, np.ndarray) and node.shape == (0,) and node.dtype == np.float64


def _number(node: Any) -> bool:
    """A number, or a 0-d numeric array: agents hold running statistics as either."""
    if (isinstance(node, np.ndarray) and node.ndim == 0) or isinstance(node, np.generic):
        return node.dtype.kind in "iuf"
    return isinstance(node, (int, float)) and not isinstance(node, bool)


def _valid_key(key: Any) -> bool:
    return isinstance(key, (str, int)) and not isinstance(key, bool)


def _join(where: str, key: Any) -> str:
    return f"{where}.{_show(key)}" if where else _show(key)


# ------------------------------------------------------------------------------------ reading
def _resolve(path: str | os.PathLike) -> Path:
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
            "pass the directory that --save wrote"
        )
    return path


def _optional_file(ck: Path, name: str) -> Path | None:
    """``ck / name`` if it is there: a regular file, or a link to one inside the checkpoint."""
    file = ck / name
    if not os.path.lexists(file):
        return None
    if file.is_symlink():
        try:
            inside = file.resolve(strict=True).is_relative_to(ck.resolve(strict=True))
        except (OSError, RuntimeError):
            inside = False
        if not inside:
            raise CheckpointError(
                f"checkpoint {str(ck)!r}: {name} is a symbolic link that leads outside the "
                "checkpoint directory (or nowhere); refusing to read it; "
                "pass the directory --save wrote"
            )
    if not file.is_file():
        raise CheckpointError(
            f"checkpoint {str(ck)!r}: {name} is not a regular file; pass the directory --save wrote"
        )
    return file


def _file(ck: Path, name: str) -> Path:
    file = _optional_file(ck, name)
    if file is None:
        raise CheckpointError(f"checkpoint {str(ck)!r} is damaged: it has no {name}; {FIX}")
    return file


def _read_json(file: Path) -> Any:
    too_large = _damaged(f"{file.name} is larger than {MAX_JSON_BYTES / 2**20:g} MiB")
    if file.stat().st_size > MAX_JSON_BYTES:
        raise too_large
    with open(file, "rb") as f:
        data = f.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise too_large
    try:
        return json.loads(data)
    except RecursionError:
        raise _damaged(f"{file.name} nests deeper than {MAX_DEPTH} levels") from None


def _read_tree(
    ck: Path,
    tree_file: Path,
    prefix: str,
    ref: Any,
    num_envs: int | None,
    optional: frozenset[str] = frozenset(),
) -> Any:
    tree = _read_json(tree_file)
    arrays_file = _file(ck, ARRAYS_FILE)
    with zipfile.ZipFile(arrays_file) as zf:
        headers = _read_headers(zf, arrays_file.stat().st_size)
        decoder = _Decoder(zf, headers, prefix, num_envs, tree_file.name, optional)
        value = decoder.decode(tree, ref, "", 0)
        unnamed = sorted(
            k for k in decoder.headers if k.startswith(prefix) and k not in decoder.used
        )
    if unnamed:
        raise _damaged(f"{ARRAYS_FILE} holds {unnamed[0]}, which {tree_file.name} does not name")
    if not isinstance(value, dict):
        raise _damaged(f"{tree_file.name} does not hold a dict")
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
    ck = _resolve(path)
    with _reading(ck):
        meta = _read_json(_file(ck, META_FILE))
        if not isinstance(meta, dict):
            raise _damaged(f"{META_FILE} does not hold a JSON object")
        fmt = meta.get("format")
        if _count(fmt) and fmt > FORMAT_VERSION:
            raise CheckpointError(
                f"checkpoint {str(ck)!r} was written by a newer rlagents (format {fmt}); "
                "upgrade rlagents"
            )
        if not _count(fmt) or fmt != FORMAT_VERSION or "agent" not in meta:
            raise _damaged(f"{META_FILE} is of an unknown format (format {_show(fmt)})")
        for name, (check, what) in _META_FIELDS.items():
            if name in meta and not check(meta[name]):
                raise _damaged(
                    f"{META_FILE}: {name!r} must be {what}, not {_show(reprlib.repr(meta[name]))}"
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
    ck = _resolve(path)
    with _reading(ck):
        ref = _ANY if reference is None else reference
        tree = _file(ck, TREE_FILE)
        state: dict[str, Any] = _read_tree(
            ck, tree, STATE_PREFIX, ref, num_envs, frozenset(optional)
        )
    return state


def read_run_state(path: str | os.PathLike) -> dict[str, Any] | None:
    """The run state saved beside the agent state at ``path``, or ``None`` if it has none."""
    ck = _resolve(path)
    tree_file = _optional_file(ck, RUN_TREE_FILE)
    if tree_file is None:
        return None
    with _reading(ck):
        run_state: dict[str, Any] = _read_tree(ck, tree_file, RUN_PREFIX, _ANY, None)
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


# --------------------------------------------------------------------------------- optimizers
def check_optimizer_states(agent: Any, path: str | os.PathLike | None = None) -> None:
    """Refuse optimizer state that torch's ``load_state_dict`` took without checking.

    Every ``torch.optim.Optimizer`` among the agent's attributes (and theirs, one level down;
    also inside lists, tuples and dicts) must hold, for each parameter, tensors of that
    parameter's shape (scalars only for counters such as ``step``) and, for Adam, AdamW and
    RMSprop, exactly the entries their ``step()`` reads. Torch is not imported here: without it
    no agent has an optimizer.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return
    for name, optimizer in _optimizers(agent, torch.optim.Optimizer):
        problem = _optimizer_problem(optimizer, torch)
        if problem:
            where = f"checkpoint {str(path)!r}" if path is not None else "the loaded checkpoint"
            raise CheckpointError(
                f"{where} does not fit {type(agent).__name__}.{name}: {problem}; {FIX}"
            )


def _attrs(obj: Any) -> list[tuple[str, Any]]:
    attrs = getattr(obj, "__dict__", None)
    return list(attrs.items()) if isinstance(attrs, dict) else []


def _members(name: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, (list, tuple)):
        return [(f"{name}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return [(f"{name}[{_show(k)}]", v) for k, v in value.items()]
    return [(name, value)]


def _optimizers(agent: Any, cls: type) -> Iterator[tuple[str, Any]]:
    """``(name, optimizer)`` for each optimizer among the agent's attributes and theirs."""
    seen: set[int] = set()
    for attr, value in _attrs(agent):
        for name, obj in _members(attr, value):
            below = [pair for sub, v in _attrs(obj) for pair in _members(f"{name}.{sub}", v)]
            for found_name, found in [(name, obj)] if isinstance(obj, cls) else below:
                if isinstance(found, cls) and id(found) not in seen:
                    seen.add(id(found))
                    yield found_name, found


_SCALAR_SLOTS = {"step", "eta", "mu", "mu_product"}  # per-parameter counters, 0-dim tensors


def _expected_slots(optimizer: Any, group: Mapping[str, Any], torch: Any) -> set[str] | None:
    """The entries ``step()`` reads from a parameter's state, for the optimizers agents use."""
    if type(optimizer) in (torch.optim.Adam, torch.optim.AdamW):
        slots = {"step", "exp_avg", "exp_avg_sq"}
        if group.get("amsgrad"):
            slots.add("max_exp_avg_sq")
        return slots
    if type(optimizer) is torch.optim.RMSprop:
        slots = {"step", "square_avg"}
        momentum = group.get("momentum", 0)
        if isinstance(momentum, (int, float)) and momentum > 0:
            slots.add("momentum_buffer")
        if group.get("centered"):
            slots.add("grad_avg")
        return slots
    return None


def _optimizer_problem(optimizer: Any, torch: Any) -> str | None:
    params: set[int] = set()
    for g, group in enumerate(optimizer.param_groups):
        expected = _expected_slots(optimizer, group, torch)
        for i, param in enumerate(group["params"]):
            params.add(id(param))
            slots = optimizer.state.get(param)
            if not slots:
                continue  # no gradient reached it yet: step() initialises it
            label = f"parameter {i} of group {g}"
            if not isinstance(slots, Mapping):
                return f"the state of {label} is {_kind(slots)}, not a dict"
            if expected is not None and set(slots) != expected:
                return (
                    f"the state of {label} holds {sorted(map(str, slots))}, not {sorted(expected)}"
                )
            for key, value in slots.items():
                shape = tuple(param.shape)
                if torch.is_tensor(value):
                    if value.ndim == 0 and param.ndim > 0 and key not in _SCALAR_SLOTS:
                        return (
                            f"{_show(key)} of {label} is a scalar, the parameter has shape {shape}"
                        )
                    if value.ndim > 0 and tuple(value.shape) != shape:
                        found = tuple(value.shape)
                        return f"{_show(key)} of {label} has shape {found}, the parameter {shape}"
                    if value.ndim > 0 and not (value.is_floating_point() or value.is_complex()):
                        return f"{_show(key)} of {label} is a {value.dtype} tensor"
                elif expected is not None or not (value is None or isinstance(value, (int, float))):
                    return f"{_show(key)} of {label} is {_kind(value)}, not a tensor"
    strays = [k for k in optimizer.state if id(k) not in params]
    if strays:
        return "it holds state for a parameter the optimizer does not have"
    return None


# ------------------------------------------------------------------------------------ writing
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
            "move it yourself or choose another --save directory"
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
            "pass a real directory to --save"
        )
    if describe_target(path) == "other":
        raise CheckpointError(
            f"{str(path)!r} exists and is not a checkpoint directory; refusing to replace it "
            "(nothing was touched); choose another --save directory or move it aside (--overwrite)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(state, arrays, STATE_PREFIX)
    run_arrays: dict[str, np.ndarray] = {}
    run_tree = None if run_state is None else _encode(run_state, run_arrays, RUN_PREFIX)
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


# ----------------------------------------------------------------------------- compatibility
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
            f"run with --agent {_show(meta['agent'])}"
        )
    for role, space in (("observation", observation_space), ("action", action_space)):
        saved = meta.get(f"{role}_space")
        if saved != space_to_json(space):
            raise CheckpointError(
                f"checkpoint {str(path)!r} was trained on a different {role} space "
                f"({_space_text(saved)}) than this env's ({_space_text(space_to_json(space))}); "
                f"use the env (--env {_show(meta.get('env_id'))}) and preset it was trained with"
            )


def _space_text(desc: Any) -> str:
    try:
        if desc.get("type") == "Box":
            return _show(f"Box{tuple(desc['shape'])} {desc['dtype']}")
        if desc.get("type") == "Discrete":
            return _show(f"Discrete({desc['n']})")
        return _show(str(desc.get("type")))
    except (AttributeError, KeyError, TypeError):
        return "unknown"


def newer_version_warning(meta: Mapping[str, Any]) -> str | None:
    """A one-line warning when the checkpoint was written by a newer rlagents, else ``None``."""
    from rlagents import __version__

    saved = meta.get("package_version")
    newer = isinstance(saved, str) and _is_newer(saved, __version__)
    if not newer:
        return None
    return (
        f"the checkpoint was written by rlagents {_show(saved)}, newer than this one "
        f"({__version__}); if it does not load or behaves oddly, upgrade rlagents"
    )


def _is_newer(saved: str, current: str) -> bool:
    try:
        from packaging.version import Version

        return Version(saved) > Version(current)
    except (ImportError, ValueError):  # no packaging, or an InvalidVersion: compare the numbers
        pass
    try:
        return _version_tuple(saved) > _version_tuple(current)
    except ValueError:  # digit strings too long for int()
        return False


def _version_tuple(version: str) -> tuple[int, ...]:
    match = re.match(r"[0-9]+(\.[0-9]+)*", version.strip().removeprefix("v"))
    return tuple(int(p) for p in match.group().split(".")) if match else ()
