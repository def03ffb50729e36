"""Agents that leave the lab: a checkpoint's greedy policy as an ONNX graph, and a player that
runs it with onnxruntime and numpy alone (:mod:`rlagents.export.player`, no torch).

:func:`export` writes two files: ``policy.onnx`` — input ``obs`` (a batch of observations as
the env and its preset give them), output ``action`` (a batch of env actions), everything acting
needs inside (:mod:`rlagents.export.graphs`) — and ``policy.json`` beside it: the env id and
kwargs, the preset and its options, the spaces, what the input and output are, and the run it
came from, so that a player can rebuild the env it was trained on. Needs the ``export`` extra
(``pip install 'rlagents[export]'``: onnx, onnxruntime, onnxscript).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlagents.errors import ExportError, one_line, option
from rlagents.version import __version__

FORMATS = ("onnx",)


OPSET = 18
METADATA_FORMAT = 1


def metadata_path(onnx_path: str | os.PathLike[str]) -> Path:
    """``policy.json`` for ``policy.onnx``."""
    return Path(onnx_path).with_suffix(".json")


def export(
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: str = "onnx",
    overwrite: bool = False,
) -> Path:
    """Write the greedy policy of the agent saved at ``checkpoint`` to ``out`` (and its
    metadata beside it); return ``out``. An existing file is kept unless ``overwrite``."""
    _check_target(out, format, overwrite)
    from rlagents.run import load_checkpoint

    agent, meta = load_checkpoint(checkpoint)
    return export_agent(agent, out, meta=meta, overwrite=overwrite)


def export_agent(
    agent: Any,
    out: str | os.PathLike[str],
    *,
    meta: Mapping[str, Any],
    overwrite: bool = False,
) -> Path:
    """Write ``agent``'s greedy policy to ``out``; ``meta`` is its checkpoint's record (at
    least ``agent``, the registry name, and ``env_id``), what the player rebuilds the env from."""
    out = _check_target(out, "onnx", overwrite)
    try:
        import onnx
        import torch
    except ImportError:
        raise ExportError("export needs the export extra: pip install 'rlagents[export]'") from None
    from rlagents.checkpoint import space_to_json
    from rlagents.export.graphs import greedy_module

    module = greedy_module(agent, str(meta["agent"]))
    layout = getattr(agent, "layout", None)  # a masked Dict observation: its flat rows
    example = _example(agent.observation_space, layout)
    with torch.no_grad():
        action = module(torch.as_tensor(example))
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        program = _to_onnx(module, torch.as_tensor(example))
        if program is None:  # only the TorchScript exporter returns nothing
            raise ExportError("torch.onnx.export returned no program; update torch")
        program.save(str(tmp), external_data=False)
        onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)
        describe = _metadata(meta, agent, example, action.numpy(), space_to_json)
        metadata_path(tmp).write_text(json.dumps(describe, indent=2) + "\n", encoding="utf-8")
        os.replace(metadata_path(tmp), metadata_path(out))
        os.replace(tmp, out)
    except OSError as err:  # a read-only folder, a full disk: what was at out is untouched
        raise ExportError(f"cannot write {out}: {one_line(err)}; pick another path") from None
    finally:
        for leftover in (tmp, metadata_path(tmp)):
            with contextlib.suppress(OSError):  # not there, or its folder cannot be written
                leftover.unlink(missing_ok=True)
    return out


def _to_onnx(module: Any, example: Any) -> Any:
    """torch's ONNX exporter (``torch.export`` then onnxscript), with a batch axis of any size.
    Its own deprecation warnings and notes (torchvision's operators skipped) are torch's
    business, not the user's: they are kept out of the output."""
    import torch

    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.onnx.export(
                module, (example,), input_names=["obs"], output_names=["action"],
                dynamic_shapes=({0: torch.export.Dim("batch", min=1)},), opset_version=OPSET,
                dynamo=True, verbose=False, external_data=False,
            )  # fmt: skip
    finally:
        exporter_log.setLevel(level)


def _check_target(out: str | os.PathLike[str], format: str, overwrite: bool) -> Path:
    """The path to write, checked before anything is built: format, suffix, no overwrite."""
    if format not in FORMATS:
        raise ExportError(f"format {format!r} is not one of {', '.join(FORMATS)}")
    path = Path(out)
    if path.suffix != ".onnx":
        raise ExportError(f"{path}: name the file *.onnx (its metadata goes beside it as .json)")
    for existing in (path, metadata_path(path)):
        if existing.exists() and not overwrite:
            raise ExportError(
                f"{existing} exists; pick another name or pass {option('overwrite', True)}"
            )
    return path


def _example(space: Any, layout: Any) -> Any:
    """A batch of two observations of ``space`` (seeded), the graph's example input; a masked
    Dict observation's as the agent's flat rows."""
    import numpy as np

    space.seed(0)
    samples = [space.sample() for _ in range(2)]
    if layout is not None:
        return layout.flatten({k: np.stack([s[k] for s in samples]) for k in space.spaces})
    return np.stack([np.asarray(s) for s in samples])


def _metadata(meta: Any, agent: Any, obs: Any, action: Any, space_to_json: Any) -> dict[str, Any]:
    return {
        "format": METADATA_FORMAT,
        "exported_by": f"rlagents {__version__}",
        "agent": meta["agent"],
        "env_id": meta.get("env_id"),
        "env_kwargs": meta.get("env_kwargs") or {},
        "preset": meta.get("preset"),
        "preset_kwargs": meta.get("preset_kwargs") or {},
        "seed": meta.get("seed"),
        "steps": meta.get("steps"),
        "observation_space": space_to_json(agent.observation_space),
        "action_space": space_to_json(agent.action_space),
        "input": {
            "name": "obs",
            "dtype": str(obs.dtype),
            "shape": ["batch", *obs.shape[1:]],
            "masked": getattr(agent, "layout", None) is not None,  # Dict → flat row, then mask
        },
        "output": {
            "name": "action",
            "dtype": str(action.dtype),
            "shape": ["batch", *action.shape[1:]],
            "what": "the greedy action, as the env takes it (within the action space)",
        },
    }


__all__ = ["ExportError", "export", "export_agent", "metadata_path"]
