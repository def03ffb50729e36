"""Hyper-parameter configs: every agent's ``Config`` is a dataclass.

The runner builds a config from ``--set key=value`` strings; :func:`build_config` checks each key
against the dataclass fields and parses each value by the field's type, so a typo or a wrong type
fails before any env step with a message that names the field.

Each field is documented by an attribute docstring, the string literal right below it (as in
tyro and CleanRL); :func:`field_help` reads them back for ``rlrun --show-config``.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
import types
import typing
from functools import cache
from typing import Any, Literal, TypeVar, Union

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
        kwargs[key] = parse_value(key, hints[key], raw)
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


def _convert(annotation: Any, raw: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return _literal(raw) if isinstance(raw, str) else raw
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
        items = _literal(raw) if isinstance(raw, str) else raw
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
        value = _literal(raw) if isinstance(raw, str) else raw
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


def _literal(text: str) -> Any:
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
