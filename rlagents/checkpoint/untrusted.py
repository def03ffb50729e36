"""Reading what may be crafted: a checkpoint's files, bounded, and the messages that refuse them.

JSON files are read only up to ``MAX_JSON_BYTES`` and ``MAX_DEPTH`` levels, every array's
``.npy`` header in ``arrays.npz`` is checked against the bytes the archive really holds before
any array data is read, and a file that is a symbolic link leading outside the checkpoint is not
read. What is wrong is raised as :func:`damaged` or :func:`mismatch` inside :func:`reading`,
which turns it, and whatever parsing crafted bytes raises, into one
:class:`~rlagents.errors.CheckpointError` line that names the checkpoint and says what to do.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlagents.checkpoint.format import ARRAYS_FILE, FIX, MAX_DEPTH, MAX_JSON_BYTES, show
from rlagents.errors import CheckpointError, one_line


class _Bad(Exception):
    """What is wrong inside a checkpoint; :func:`reading` adds the checkpoint's path and FIX."""


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
def reading(path: Path) -> Iterator[None]:
    try:
        yield
    except _Bad as err:
        raise CheckpointError(f"checkpoint {str(path)!r} {err}; {FIX}") from None
    except _DAMAGE as err:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is damaged: {one_line(err)}; {FIX}"
        ) from None


def damaged(detail: str) -> _Bad:
    return _Bad(f"is damaged: {detail}")


def mismatch(where: str, detail: str) -> _Bad:
    return _Bad(f"does not match this agent: {where or 'its state'} {detail}")


_MEMBER = re.compile(r"([ar][0-9]{1,12})\.npy")
_ARRAY_KINDS = "biufcUS"  # booleans, numbers, strings: never objects or structured records


@dataclass(frozen=True)
class Header:
    shape: tuple[int, ...]
    dtype: np.dtype


def read_headers(zf: zipfile.ZipFile, disk_size: int) -> dict[str, Header]:
    """Every member's shape and dtype from its ``.npy`` header, before any array data is read;
    refuses members that claim more bytes than the archive holds."""
    headers: dict[str, Header] = {}
    total = 0
    for info in zf.infolist():
        match = _MEMBER.fullmatch(info.filename)
        if match is None:
            raise damaged(f"{ARRAYS_FILE} holds an unknown member {show(info.filename)}")
        key = match.group(1)
        if key in headers:
            raise damaged(f"{ARRAYS_FILE} holds {key} twice")
        total += info.file_size  # np.savez stores members uncompressed
        if total > disk_size:
            raise damaged(f"{ARRAYS_FILE} unpacks to more than its {disk_size} bytes")
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise damaged(f"{ARRAYS_FILE}: {key} is a .npy file of version {version}")
        if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.itemsize == 0:
            raise damaged(f"{ARRAYS_FILE}: {key} has dtype {show(str(dtype))}")
        if len(shape) > 32 or any(n < 0 for n in shape):
            raise damaged(f"{ARRAYS_FILE}: {key} has shape {show(shape)}")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > info.file_size:
            raise damaged(
                f"{ARRAYS_FILE}: {key} claims shape {show(tuple(shape))} ({nbytes} bytes) "
                f"but holds {info.file_size} bytes"
            )
        headers[key] = Header(tuple(shape), dtype)
    return headers


def read_json(file: Path) -> Any:
    too_large = damaged(f"{file.name} is larger than {MAX_JSON_BYTES / 2**20:g} MiB")
    if file.stat().st_size > MAX_JSON_BYTES:
        raise too_large
    with open(file, "rb") as f:
        data = f.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise too_large
    try:
        return json.loads(data)
    except RecursionError:
        raise damaged(f"{file.name} nests deeper than {MAX_DEPTH} levels") from None


def optional_file(ck: Path, name: str) -> Path | None:
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
                f"pass the checkpoint directory a run wrote"
            )
    if not file.is_file():
        raise CheckpointError(
            f"checkpoint {str(ck)!r}: {name} is not a regular file; pass the checkpoint "
            "directory a run wrote"
        )
    return file


def required_file(ck: Path, name: str) -> Path:
    file = optional_file(ck, name)
    if file is None:
        raise CheckpointError(f"checkpoint {str(ck)!r} is damaged: it has no {name}; {FIX}")
    return file
