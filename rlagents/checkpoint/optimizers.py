"""Optimizer state that torch's ``Optimizer.load_state_dict`` takes without checking.

Torch does not check an optimizer's per-parameter state, and state of the wrong shape kills the
interpreter at the next ``step()``; :func:`check_optimizer_states` checks it once the agent has
loaded its state.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from rlagents.checkpoint.codec import kind
from rlagents.checkpoint.format import FIX, show
from rlagents.errors import CheckpointError


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
        return [(f"{name}[{show(k)}]", v) for k, v in value.items()]
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
                return f"the state of {label} is {kind(slots)}, not a dict"
            if expected is not None and set(slots) != expected:
                return (
                    f"the state of {label} holds {sorted(map(str, slots))}, not {sorted(expected)}"
                )
            for key, value in slots.items():
                shape = tuple(param.shape)
                if torch.is_tensor(value):
                    if value.ndim == 0 and param.ndim > 0 and key not in _SCALAR_SLOTS:
                        return (
                            f"{show(key)} of {label} is a scalar, the parameter has shape {shape}"
                        )
                    if value.ndim > 0 and tuple(value.shape) != shape:
                        found = tuple(value.shape)
                        return f"{show(key)} of {label} has shape {found}, the parameter {shape}"
                    if value.ndim > 0 and not (value.is_floating_point() or value.is_complex()):
                        return f"{show(key)} of {label} is a {value.dtype} tensor"
                elif expected is not None or not (value is None or isinstance(value, (int, float))):
                    return f"{show(key)} of {label} is {kind(value)}, not a tensor"
    strays = [k for k in optimizer.state if id(k) not in params]
    if strays:
        return "it holds state for a parameter the optimizer does not have"
    return None
