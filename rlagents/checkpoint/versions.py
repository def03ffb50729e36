"""Which rlagents wrote a checkpoint: a warning when it was a newer one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rlagents.checkpoint.format import show
from rlagents.version import __version__


def newer_version_warning(meta: Mapping[str, Any]) -> str | None:
    """A one-line warning when the checkpoint was written by a newer rlagents, else ``None``."""
    saved = meta.get("package_version")
    newer = isinstance(saved, str) and _is_newer(saved, __version__)
    if not newer:
        return None
    return (
        f"the checkpoint was written by rlagents {show(saved)}, newer than this one "
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
