"""Hyper-parameter configs: every agent's ``Config`` is a dataclass.

The runner builds a config from ``--set key=value`` strings; :func:`build_config` checks each key
against the dataclass fields and parses each value by the field's type, so a typo or a wrong type
fails before any env step with a message that names the field. Each value is then checked
(:func:`check_value`): floats must be finite, numbers must lie in the range that
:data:`RANGE_RULES` gives their field's name, and a ``device`` must exist on this machine.

Each field is documented by an attribute docstring, the string literal right below it (as in
tyro and CleanRL); :func:`field_help` reads them back for ``rlrun --show-config``.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import numbers
import textwrap
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, Literal, NamedTuple, TypeVar, Union

from rlagents.errors import ConfigError, did_you_mean

C = TypeVar("C")


def build_config(config_cls: type[C], overrides: dict[str, Any] | None = None) -> C:
    """Return ``config_cls(**defaults)`` with ``overrides`` applied and checked.

    Values may be given as strings (from the command line) or as Python objects; strings are
    parsed according to the field's annotation.
    """
    fields = {f.name: f for f in dataclasses.fields(config_cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(config_cls)
    kwargs: dict[str, Any] = {}
    for key, raw in (overrides or {}).items():
        if key not in fields:
            known = f"its fields are: {', '.join(fields)}" if fields else "it has no fields"
            raise ConfigError(
                f"unknown hyper-parameter {key!r}{did_you_mean(key, fields)}: "
                f"{config_cls.__qualname__} has no such field; {known}"
            )
        value = parse_value(key, hints[key], raw)
        check_value(key, hints[key], raw, value)
        kwargs[key] = value
    try:
        return config_cls(**kwargs)
    except (TypeError, ValueError) as err:  # a __post_init__ check of the config itself
        raise ConfigError(f"{config_cls.__qualname__}: {err}") from None


def parse_value(name: str, annotation: Any, raw: Any) -> Any:
    """Convert ``raw`` to ``annotation``; raise :class:`ConfigError` naming ``name`` if it fails."""
    try:
        return _convert(annotation, raw)
    except (ValueError, TypeError, SyntaxError):
        shown = _type_name(annotation)
        raise ConfigError(f"--set {name}={raw}: expected {shown}, got {raw!r}") from None


class Rule(NamedTuple):
    """A range rule: ``ok`` tells whether a number is allowed, ``text`` ends "must be ..."."""

    ok: Callable[[float], bool]
    text: str


_POSITIVE = Rule(lambda v: v > 0, "> 0")
_NON_NEGATIVE = Rule(lambda v: v >= 0, ">= 0")
_AT_LEAST_ONE = Rule(lambda v: v >= 1, ">= 1")
_FRACTION = Rule(lambda v: 0 <= v <= 1, "in [0, 1]")

# Range rules by field name. Config fields are named as in Stable-Baselines3 wherever the concept
# is the same (the SB3 naming convention), so a name means the same thing in every agent, built
# in or plugin, and one rule per name checks them all. A rule applies to a number, or to each
# number of a tuple (net_arch); None, where a field allows it, is not checked. An agent's
# ``__post_init__`` may be stricter (tabular: learning_rate <= 1; dqn, ppo: batch_size >= 1).
# Only names that some agent here has belong in this table.
RANGE_RULES: dict[str, Rule] = {
    "learning_rate": _POSITIVE,
    "rms_prop_eps": _POSITIVE,
    "gamma": _FRACTION,
    "gae_lambda": _FRACTION,
    "tau": Rule(lambda v: 0 < v <= 1, "in (0, 1] (1: copy the online network)"),
    "buffer_size": _AT_LEAST_ONE,
    # cem reads 0 as "all the elite pairs in one step"; the agents without that refuse 0
    "batch_size": Rule(lambda v: v >= 0, ">= 1 (0 only where an agent reads it as all at once)"),
    "n_steps": _AT_LEAST_ONE,
    "n_epochs": _AT_LEAST_ONE,
    "train_freq": _AT_LEAST_ONE,
    "gradient_steps": Rule(lambda v: v >= 1 or v == -1, ">= 1, or -1 (one per env step)"),
    "target_update_interval": _AT_LEAST_ONE,
    "policy_delay": _AT_LEAST_ONE,
    "learning_starts": _NON_NEGATIVE,
    "num_threads": Rule(lambda v: v >= 0, ">= 0 (0: automatic)"),
    "ent_coef": _NON_NEGATIVE,
    "vf_coef": _NON_NEGATIVE,
    "clip_range": _POSITIVE,
    "clip_range_vf": _POSITIVE,
    "max_grad_norm": Rule(lambda v: v >= 0, ">= 0 (0: no clipping)"),
    "target_policy_noise": _NON_NEGATIVE,
    "target_noise_clip": _NON_NEGATIVE,
    "exploration_initial_eps": _FRACTION,
    "exploration_final_eps": _FRACTION,
    "net_arch": Rule(lambda v: v >= 1, "layer widths >= 1 (one per hidden layer)"),
    "target_kl": _POSITIVE,
    "cg_max_steps": _AT_LEAST_ONE,
    "cg_damping": _NON_NEGATIVE,
    "line_search_shrinking_factor": Rule(lambda v: 0 < v < 1, "in (0, 1)"),
    "line_search_max_iter": _AT_LEAST_ONE,
    "n_critic_updates": _AT_LEAST_ONE,
    "sub_sampling_factor": _AT_LEAST_ONE,
    "num_workers": _AT_LEAST_ONE,
}


def check_value(name: str, annotation: Any, raw: Any, value: Any) -> None:
    """Refuse a parsed ``value`` of field ``name`` that holds a non-finite float, breaks the
    field's :data:`RANGE_RULES` entry, or names a ``device`` this machine does not have."""
    off = "; use None to turn it off" if _allows_none(annotation) else ""
    found = _numbers(value)
    if any(not isinstance(x, numbers.Integral) and not math.isfinite(x) for x in found):
        raise ConfigError(f"--set {name}={raw}: must be a finite number{off}")
    rule = RANGE_RULES.get(name)
    if rule is not None and not all(rule.ok(x) for x in found):
        raise ConfigError(f"--set {name}={raw}: must be {rule.text}{off}")
    if name == "device" and isinstance(value, str) and value != "auto":
        # Only torch agents have a device field, so importing torch here costs the others nothing.
        from rlagents.common.torch_utils import select_device

        select_device(value)  # raises ConfigError for a device this machine does not have


def _numbers(value: Any) -> list[Any]:
    """The real numbers (not bools) in ``value``: itself, or the items of a tuple or list."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    return [x for x in items if isinstance(x, numbers.Real) and not isinstance(x, bool)]


def _allows_none(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin in (Union, types.UnionType) and type(None) in typing.get_args(annotation)


def _convert(annotation: Any, raw: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return literal_value(raw) if isinstance(raw, str) else raw
    if origin in (Union, types.UnionType):
        is_none = raw is None or (isinstance(raw, str) and raw.lower() in ("none", "null"))
        if is_none and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(arg, raw)
            except (ValueError, TypeError, SyntaxError):
                continue
        raise ValueError(raw)
    if origin is Literal:
        for choice in args:
            if raw == choice or (isinstance(raw, str) and str(choice) == raw):
                return choice
        raise ValueError(raw)
    if origin in (tuple, list):
        items = literal_value(raw) if isinstance(raw, str) else raw
        if isinstance(items, (int, float, str)):
            items = (items,)
        if not isinstance(items, (tuple, list)):
            raise TypeError(raw)
        item_types = args if origin is tuple and args and args[-1] is not Ellipsis else None
        inner = args[0] if args else Any
        converted = [
            _convert(item_types[i] if item_types else inner, item) for i, item in enumerate(items)
        ]
        if item_types and len(converted) != len(item_types):
            raise ValueError(raw)
        return origin(converted)
    if origin is dict:
        value = literal_value(raw) if isinstance(raw, str) else raw
        if not isinstance(value, dict):
            raise TypeError(raw)
        return value
    if annotation is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(raw)
    if annotation is int:
        if isinstance(raw, bool):
            raise TypeError(raw)
        if isinstance(raw, int):
            return raw
        value = float(str(raw).replace("_", ""))  # accept 1e6 and 1_000_000
        if not value.is_integer():
            raise ValueError(raw)
        return int(value)
    if annotation is float:
        if isinstance(raw, bool):
            raise TypeError(raw)
        return float(raw)
    if annotation is str:
        return str(raw)
    raise TypeError(f"unsupported annotation {annotation!r}")


# The words YAML and JSON write for these, which Python's literals spell True, False, None: a
# user typing ``terminal_on_life_loss=false`` must not get the (truthy) string "false".
_WORD_LITERALS = {"true": True, "false": False, "null": None, "none": None}


def literal_value(text: str) -> Any:
    """``text`` as a Python literal (``10``, ``False``, ``(1, 2)``), ``true``/``false``/``null``
    in any case as YAML reads them, else the string itself."""
    word = text.strip().lower()
    if word in _WORD_LITERALS:
        return _WORD_LITERALS[word]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if isinstance(annotation, type):
        return {"int": "an integer", "float": "a number", "bool": "true or false"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation).replace("typing.", "")


def describe_config(config_cls: type) -> list[tuple[str, str, Any, str]]:
    """Rows of (name, type, default, help) for every field of ``config_cls``."""
    hints = typing.get_type_hints(config_cls)
    helps = field_help(config_cls)
    rows = []
    instance = config_cls()
    for f in dataclasses.fields(config_cls):
        rows.append(
            (
                f.name,
                _annotation_text(hints[f.name]),
                getattr(instance, f.name),
                helps.get(f.name, ""),
            )
        )
    return rows


def _annotation_text(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


@cache
def field_help(config_cls: type) -> dict[str, str]:
    """Map field name → help text, from ``metadata["help"]`` or the attribute docstring."""
    helps: dict[str, str] = {}
    for klass in reversed(config_cls.__mro__):
        if klass is object or not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):  # no source shipped (zipapp, .pyc only): no help, no failure
            continue
        body = ast.parse(source).body[0]
        if not isinstance(body, ast.ClassDef):
            continue
        statements = body.body
        for stmt, following in zip(statements, [*statements[1:], None], strict=True):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                helps[stmt.target.id] = " ".join(following.value.value.split())
    for f in dataclasses.fields(config_cls):
        if "help" in f.metadata:
            helps[f.name] = f.metadata["help"]
    return helps


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-friendly dict of a config instance (tuples become lists)."""
    return dataclasses.asdict(config)
