"""A ``state_dict()`` as a JSON tree plus arrays, and back.

:func:`encode` turns nested dicts, lists and tuples of tensors, arrays, numbers and strings into
a tree of tagged JSON nodes (``{"dict": [[key, node], ...]}``, ``{"list": [...]}``,
``{"array": "a0"}``, ``{"tensor": "a1", "dtype": "torch.float32"}``, ``{"value": 1}``) and collects
the arrays under the names the tree gives them. :class:`Decoder` reads such a tree back, checking
it against a reference ``state_dict()`` as it goes, so that nothing that does not fit the agent
reaches it.
"""

from __future__ import annotations

import re
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlagents.checkpoint.format import ARRAYS_FILE, MAX_DEPTH, STATE_PREFIX, show
from rlagents.checkpoint.untrusted import Header, damaged, mismatch
from rlagents.errors import CheckpointError


def is_tensor(node: Any) -> bool:
    torch = sys.modules.get("torch")  # a tensor exists only if torch was imported
    return torch is not None and isinstance(node, torch.Tensor)


def kind(node: Any) -> str:
    if isinstance(node, Mapping):
        return "a dict"
    if isinstance(node, (list, tuple)):
        return "a list"
    if isinstance(node, np.ndarray):
        return "an array"
    if is_tensor(node):
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


def encode(node: Any, arrays: dict[str, np.ndarray], prefix: str = STATE_PREFIX) -> Any:
    if isinstance(node, Mapping):
        return {"dict": [[_key(k), encode(v, arrays, prefix)] for k, v in node.items()]}
    if isinstance(node, (list, tuple)):
        return {type(node).__name__: [encode(v, arrays, prefix) for v in node]}
    if isinstance(node, np.ndarray):
        key = f"{prefix}{len(arrays)}"
        arrays[key] = node
        return {"array": key}
    if is_tensor(node):
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


def _key(key: Any) -> Any:
    if isinstance(key, (str, int)) and not isinstance(key, bool):
        return key
    raise CheckpointError(f"state_dict() has a {type(key).__name__} key {key!r}; use str or int")


ANY: Any = object()  # "no reference here": everything below is accepted as it is
_SCALAR = (bool, int, float, str)


@dataclass
class Decoder:
    """Turns the JSON tree back into values, checking it against a reference ``state_dict()``."""

    zf: zipfile.ZipFile
    headers: dict[str, Header]
    prefix: str
    num_envs: int | None
    source: str  # the JSON file, for messages
    optional: frozenset[str] = frozenset()  # top-level keys that may be missing or left over
    used: set[str] = field(default_factory=set)

    def decode(self, node: Any, ref: Any, where: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise damaged(f"{self.source} nests deeper than {MAX_DEPTH} levels")
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
        raise damaged(f"{where or 'its state'} is not an entry of a checkpoint")

    def _dict(self, items: Any, ref: Any, where: str, depth: int) -> dict[Any, Any]:
        if not isinstance(items, list) or not all(
            isinstance(i, list) and len(i) == 2 and _valid_key(i[0]) for i in items
        ):
            raise damaged(f"{where or 'its state'} is not a valid dict")
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            raise damaged(f"{where or 'its state'} holds a key twice")
        if ref is not ANY:
            if not isinstance(ref, Mapping):
                raise mismatch(where, f"is a dict, the agent's is {kind(ref)}")
            if not ref:
                ref = ANY  # e.g. an optimizer's state before its first step: anything goes
            else:
                optional = self.optional if depth == 0 else frozenset()
                present = set(keys)
                missing = [k for k in ref if k not in present and k not in optional]
                if missing:
                    raise mismatch(_join(where, missing[0]), "is missing")
                extra = [k for k in keys if k not in ref and k not in optional]
                if extra:
                    raise mismatch(_join(where, extra[0]), "is not part of the agent's state")
        decoded = {
            k: self.decode(
                v, ANY if ref is ANY or k not in ref else ref[k], _join(where, k), depth + 1
            )
            for k, v in items
        }
        # An optional part this agent does not keep (a replay buffer a run saved, loaded with
        # save_replay_buffer=false) is read, so that its arrays count as named, and dropped.
        return {k: v for k, v in decoded.items() if ref is ANY or k in ref}

    def _sequence(self, items: Any, ref: Any, where: str, depth: int) -> list[Any]:
        """A list of the reference's length, entry by entry; an empty reference accepts any
        list, and one of ``num_envs`` entries (one per env) a list of any length, each entry
        checked against the reference's first."""
        if not isinstance(items, list):
            raise damaged(f"{where or 'its state'} is not a valid list")
        refs = [ANY] * len(items)
        if ref is not ANY:
            if not isinstance(ref, (list, tuple)):
                raise mismatch(where, f"is a list, the agent's is {kind(ref)}")
            if len(ref) == len(items):
                refs = list(ref)
            elif ref and len(ref) == self.num_envs:
                refs = [ref[0]] * len(items)
            elif ref:
                raise mismatch(where, f"has {len(items)} entries, the agent's has {len(ref)}")
        return [
            self.decode(v, r, f"{where}[{i}]", depth + 1)
            for i, (v, r) in enumerate(zip(items, refs, strict=True))
        ]

    def _header(self, key: Any, where: str) -> Header:
        if not isinstance(key, str) or not key.startswith(self.prefix) or key not in self.headers:
            raise damaged(f"{where or 'its state'} names an array {ARRAYS_FILE} does not hold")
        self.used.add(key)
        return self.headers[key]

    def _load(self, key: str) -> np.ndarray:
        with self.zf.open(f"{key}.npy") as f:
            array = np.lib.format.read_array(f, allow_pickle=False)
        return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))

    def _array(self, key: Any, ref: Any, where: str) -> np.ndarray:
        header = self._header(key, where)
        if ref is ANY or _untyped_empty(ref):
            return self._load(key)
        if header.shape == () and header.dtype.kind in "iuf" and _number(ref):
            return self._load(key)  # a running statistic, held as a number or a 0-d array
        if not isinstance(ref, np.ndarray):
            raise mismatch(where, f"is an array, the agent's is {kind(ref)}")
        if header.dtype.newbyteorder("=") != ref.dtype.newbyteorder("="):
            raise mismatch(where, f"has dtype {header.dtype.name}, the agent's {ref.dtype.name}")
        self._shape(header.shape, ref.shape, where, per_env=True)
        return self._load(key)

    def _tensor(self, key: Any, dtype: Any, ref: Any, where: str) -> Any:
        header = self._header(key, where)
        if not isinstance(dtype, str) or not re.fullmatch(r"torch\.[a-z0-9]{1,20}", dtype):
            raise damaged(f"{where} is a tensor of an unknown dtype {show(dtype)}")
        name = dtype.removeprefix("torch.")
        if header.dtype.name != ("float32" if name == "bfloat16" else name):
            raise damaged(f"{where} is a {dtype} tensor stored as {header.dtype.name}")
        if ref is not ANY:
            if not is_tensor(ref):
                raise mismatch(where, f"is a tensor, the agent's is {kind(ref)}")
            if str(ref.dtype) != dtype:
                raise mismatch(where, f"has dtype {dtype}, the agent's {ref.dtype}")
            self._shape(header.shape, tuple(ref.shape), where, per_env=False)
        import torch  # only a checkpoint that holds tensors needs torch

        torch_dtype = getattr(torch, name, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise damaged(f"{where} is a tensor of an unknown dtype {show(dtype)}")
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
            raise mismatch(where, f"has shape {found}, the agent's {tuple(expected)}")

    def _value(self, value: Any, ref: Any, where: str) -> Any:
        """A scalar of the reference's kind (bool, number, string); None matches any scalar."""
        if ref is ANY or (_number(ref) and (value is None or _number(value))):
            return value
        if isinstance(ref, str) and ref.isdigit() and isinstance(value, int):
            return value  # a generator's 128-bit state as a raw int (older checkpoints)
        scalar = ref.item() if isinstance(ref, np.generic) else ref
        if not (scalar is None or isinstance(scalar, _SCALAR)) or (
            value is not None and scalar is not None and kind(value) != kind(scalar)
        ):
            raise mismatch(where, f"is {kind(value)}, the agent's is {kind(ref)}")
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
    return f"{where}.{show(key)}" if where else show(key)
