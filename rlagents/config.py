"""Hyper-parameter configs: every agent's ``Config`` is a dataclass.

The runner builds a config from ``--set key=value`` strings; :func:`build_config` checks each key
against the dataclass fields and parses each value by the field's type, so a typo or a wrong type
fails before any env step with a message that names the field. Each value is then checked
(:func:`check_value`): floats must be finite, numbers must lie in the range that
:data:`RANGE_RULES` (or the Config's own ``range_rules``) gives their field's name, and a
``device`` must exist on this machine.

The built-in agents' Configs derive from :class:`AgentConfig`, which makes these checks whenever
one is made, by :func:`build_config` or in Python (``DQN.Config(learning_rate=-1)``); the torch
agents' from :class:`TorchConfig`, which declares the fields they share. A message names the
field and its Config, never a command-line flag, and the :class:`~rlagents.errors.ConfigError`
carries the field's name (``err.field``) for the command line to say how to set it.

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
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, ClassVar, Literal, NamedTuple, TypeVar, Union

from rlagents.errors import ConfigError, did_you_mean

C = TypeVar("C")


def build_config(config_cls: type[C], overrides: dict[str, Any] | None = None) -> C:
    """Return ``config_cls(**defaults)`` with ``overrides`` applied and checked.

    Values may be given as strings (from the command line) or as Python objects; strings are
    parsed according to the field's annotation. An :class:`AgentConfig` checks its values as it
    is made; the values of another dataclass (a plugin's) are checked here.
    """
    fields = {f.name: f for f in dataclasses.fields(config_cls)}  # type: ignore[arg-type]
    hints = _hints(config_cls)
    kwargs: dict[str, Any] = {}
    for key, raw in (overrides or {}).items():
        if key not in fields:
            known = f"its fields are: {', '.join(fields)}" if fields else "it has no fields"
            raise ConfigError(
                f"unknown hyper-parameter {key!r}{did_you_mean(key, fields)}: "
                f"{config_cls.__qualname__} has no such field; {known}"
            )
        kwargs[key] = parse_value(key, hints[key], raw, config_cls)
    if not issubclass(config_cls, AgentConfig):
        for key, value in kwargs.items():
            check_value(key, hints[key], value, config_cls)
    try:
        return config_cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:  # a __post_init__ check of a plugin's config
        raise ConfigError(f"{config_cls.__qualname__}: {err}") from None


def parse_value(name: str, annotation: Any, raw: Any, config_cls: type | None = None) -> Any:
    """Convert ``raw`` to ``annotation``; raise :class:`ConfigError` naming ``name`` if it fails."""
    try:
        return _convert(annotation, raw)
    except (ValueError, TypeError, SyntaxError):
        raise field_error(
            config_cls, name, f"must be {_type_name(annotation)}, got {raw!r}"
        ) from None


def field_error(config: Any, name: str, text: str) -> ConfigError:
    """The error of field ``name``: ``"{name} {text} ({Config})"``, ``config`` being the Config
    (a class or an instance; None leaves it out), and a hint in ``text`` after ``"; "`` after
    the Config's name: ``max_grad_norm must be >= 0 (0: no clipping), got -1.0 (PPOConfig); use
    None to turn it off``. ``err.field`` is ``name``, so that the command line can say how to
    set it; the message itself speaks of the field, as Python users set it.
    """
    cls = config if isinstance(config, type) or config is None else type(config)
    owner = f" ({cls.__qualname__})" if cls is not None else ""
    text, sep, hint = text.partition("; ")  # a hint after "; " follows the Config's name
    return ConfigError(f"{name} {text}{owner}{sep}{hint}", field=name)


class Rule(NamedTuple):
    """A range rule: ``ok`` tells whether a number is allowed, ``text`` ends "must be ..."."""

    ok: Callable[[float], bool]
    text: str


POSITIVE = Rule(lambda v: v > 0, "> 0")
NON_NEGATIVE = Rule(lambda v: v >= 0, ">= 0")
AT_LEAST_ONE = Rule(lambda v: v >= 1, ">= 1")
FRACTION = Rule(lambda v: 0 <= v <= 1, "in [0, 1]")

# Range rules by field name. Config fields are named as in Stable-Baselines3 wherever the concept
# is the same (the SB3 naming convention), so a name means the same thing in every agent, built
# in or plugin, and one rule per name checks them all. A rule applies to a number, or to each
# number of a tuple (net_arch); None, where a field allows it, is not checked. A Config's own
# ``range_rules`` (:class:`AgentConfig`) rule its own fields and may be stricter (tabular:
# learning_rate <= 1; dqn, ddpg, ppo: batch_size >= 1). Only names that some agent here has
# belong in this table.
RANGE_RULES: dict[str, Rule] = {
    "learning_rate": POSITIVE,
    "rms_prop_eps": POSITIVE,
    "gamma": FRACTION,
    "gae_lambda": FRACTION,
    "tau": Rule(lambda v: 0 < v <= 1, "in (0, 1] (1: copy the online network)"),
    "buffer_size": AT_LEAST_ONE,
    # cem reads 0 as "all the elite pairs in one step"; the agents without that refuse 0
    "batch_size": Rule(lambda v: v >= 0, ">= 1 (0 only where an agent reads it as all at once)"),
    "n_steps": AT_LEAST_ONE,
    "n_epochs": AT_LEAST_ONE,
    "n_episodes": AT_LEAST_ONE,
    "train_freq": AT_LEAST_ONE,
    "gradient_steps": Rule(lambda v: v >= 1 or v == -1, ">= 1, or -1 (one per env step)"),
    "target_update_interval": AT_LEAST_ONE,
    "policy_delay": AT_LEAST_ONE,
    "learning_starts": NON_NEGATIVE,
    "num_threads": Rule(lambda v: v >= 0, ">= 0 (0: automatic)"),
    "ent_coef": NON_NEGATIVE,
    "vf_coef": NON_NEGATIVE,
    "clip_range": POSITIVE,
    "clip_range_vf": POSITIVE,
    "max_grad_norm": Rule(lambda v: v >= 0, ">= 0 (0: no clipping)"),
    "noise_std": NON_NEGATIVE,
    "noise_final_std": NON_NEGATIVE,
    "target_policy_noise": NON_NEGATIVE,
    "target_noise_clip": NON_NEGATIVE,
    "exploration_initial_eps": FRACTION,
    "exploration_final_eps": FRACTION,
    "net_arch": Rule(lambda v: v >= 1, "layer widths >= 1 (one per hidden layer)"),
    "target_kl": POSITIVE,
    "cg_max_steps": AT_LEAST_ONE,
    "cg_damping": NON_NEGATIVE,
    "line_search_shrinking_factor": Rule(lambda v: 0 < v < 1, "in (0, 1)"),
    "line_search_max_iter": AT_LEAST_ONE,
    "n_critic_updates": AT_LEAST_ONE,
    "sub_sampling_factor": AT_LEAST_ONE,
    "num_workers": AT_LEAST_ONE,
}


@dataclasses.dataclass
class AgentConfig:
    """Base of the built-in agents' Configs: each field is checked (:func:`check_value`) when
    a Config is made, whether by :func:`build_config` or in Python, so a value is checked in one
    place. A subclass that checks more (a relation between fields) does it in its own
    ``__post_init__`` after this one's and raises :func:`field_error`."""

    range_rules: ClassVar[Mapping[str, Rule]] = {}
    """Rules of this Config's own fields by name, and rules stricter than :data:`RANGE_RULES`'s
    for a shared name; a subclass's add to (and override) its bases'."""

    def __post_init__(self) -> None:
        cls = type(self)
        hints = _hints(cls)
        for f in dataclasses.fields(self):
            check_value(f.name, hints[f.name], getattr(self, f.name), cls)


def config_fields(config_cls: type) -> list[dataclasses.Field]:
    """The fields of ``config_cls`` in the order they are shown (``--show-config``,
    ``config.json``): the agent's own, then those of bases marked ``fields_shown_last`` (the
    torch fields every torch agent shares), which dataclass inheritance would put first."""
    shared = {
        name
        for klass in config_cls.__mro__
        if vars(klass).get("fields_shown_last")
        for name in vars(klass).get("__annotations__", {})
    }
    fields = dataclasses.fields(config_cls)
    return sorted(fields, key=lambda f: f.name in shared)  # stable: else as declared


_HINTS: dict[type, dict[str, Any]] = {}  # functools.cache: mypy holds dataclass types unhashable


def _hints(config_cls: type) -> dict[str, Any]:
    """The fields' annotations, evaluated once per class (a Config checks its fields with them
    each time one is made)."""
    if config_cls not in _HINTS:
        _HINTS[config_cls] = typing.get_type_hints(config_cls)
    return _HINTS[config_cls]


@cache
def _rules(config_cls: type) -> dict[str, Rule]:
    rules = dict(RANGE_RULES)
    for klass in reversed(config_cls.__mro__):
        rules.update(vars(klass).get("range_rules", {}))
    return rules


def check_value(name: str, annotation: Any, value: Any, config_cls: type | None = None) -> None:
    """Refuse a parsed ``value`` of field ``name`` of ``config_cls`` that holds a non-finite
    float or breaks the field's range rule (:data:`RANGE_RULES`, or the Config's own
    ``range_rules``)."""
    off = "; use None to turn it off" if _allows_none(annotation) else ""
    found = _numbers(value)
    if any(not isinstance(x, numbers.Integral) and not math.isfinite(x) for x in found):
        raise field_error(config_cls, name, f"must be a finite number, got {_shown(value)}{off}")
    rules = _rules(config_cls) if config_cls is not None else RANGE_RULES
    rule = rules.get(name)
    if rule is not None and not all(rule.ok(x) for x in found):
        raise field_error(config_cls, name, f"must be {rule.text}, got {_shown(value)}{off}")


def _numbers(value: Any) -> list[Any]:
    """The real numbers (not bools) in ``value``: itself, or the items of a tuple or list."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    return [x for x in items if isinstance(x, numbers.Real) and not isinstance(x, bool)]


def _shown(value: Any) -> str:
    """``value`` as a message shows it: numpy numbers as Python's (``nan``, not
    ``np.float32(nan)``), tuples and lists as Python writes them."""
    if isinstance(value, (tuple, list)):
        return repr(type(value)(_plain(x) for x in value))
    return repr(_plain(value))


def _plain(x: Any) -> Any:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return x
    return int(x) if isinstance(x, numbers.Integral) else float(x)


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
    for f in config_fields(config_cls):
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
    """A JSON-friendly dict of a config instance (tuples become lists), in the order of
    :func:`config_fields`."""
    values = dataclasses.asdict(config)
    return {f.name: values[f.name] for f in config_fields(type(config))}
