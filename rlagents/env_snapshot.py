"""Snapshots of an env's state as plain data, so a checkpoint can carry the envs of a run and a
resumed run steps on from where it stopped instead of resetting them.

A snapshot is a nested dict of numpy arrays, numbers, strings, ``None``, lists and tuples —
what :mod:`rlagents.checkpoint` holds, no pickles. It is taken by walking the wrapper chain
(``env``, ``env.env``, … down to ``env.unwrapped``; for a ``SyncVectorEnv``, its own attributes
and then each sub-env) and keeping every attribute of each layer's ``__dict__`` whose value is
plain data: Python and numpy scalars, numpy arrays, lists, tuples, deques and dicts of them, and
numpy ``Generator``\\ s (as their state). The random generators of the layers' spaces are kept
too (a space seeded for ``sample()`` draws on from where it was).

Skipped as configuration, not state (the env is rebuilt from its id and options before a
restore, which sets them again):

* ``env`` — the next layer, which gets its own entry;
* spaces (only their generators are state), the ``EnvSpec`` (``spec``, a wrapper's cached
  copy), ``metadata`` and ``render_mode`` — a restore must not turn rendering on or off;
* recorded constructor arguments (``_saved_kwargs``, ``_ezpickle_*``), dtypes, enums (a vector
  env's autoreset mode) and functions (a ``SyncVectorEnv``'s ``env_fns``).

Anything else — a Box2D world, an ALE interface, a pygame surface that is not ``None`` — makes
the env not snapshotable: :func:`why_not_snapshotable` says which layer keeps what where, and
:func:`snapshot_env` raises a ``ValueError`` with that text. Such an env must be reset on resume.

>>> import gymnasium as gym
>>> env = gym.make("CartPole-v1")
>>> _ = env.reset(seed=0)
>>> saved = snapshot_env(env)
>>> first = env.step(0)[0]
>>> restore_env(env, saved)
>>> bool((env.step(0)[0] == first).all())
True
>>> why_not_snapshotable(gym.make("LunarLander-v3"))
"LunarLander keeps a Box2D b2World in 'world'"
"""

from __future__ import annotations

import collections
import enum
import functools
import types
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import EnvSpec

from rlagents.common.rng import rng_state, set_rng_state

SKIPPED_NAMES = frozenset(
    {"env", "metadata", "_metadata", "render_mode", "_saved_kwargs"}
    | {"_ezpickle_args", "_ezpickle_kwargs"}
)
"""Attributes that are configuration (see the module docstring)."""
SKIPPED_TYPES = (
    spaces.Space,
    EnvSpec,
    np.dtype,
    enum.Enum,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
)
"""Values that are configuration or code; a space's generator is saved on its own."""


class NotSnapshotable(ValueError):
    """An env holds state that is not plain data."""


def why_not_snapshotable(env: Any) -> str | None:
    """Why :func:`snapshot_env` cannot snapshot ``env`` (which layer keeps what, where), or
    ``None`` if it can."""
    try:
        snapshot_env(env)
    except NotSnapshotable as err:
        return str(err)
    return None


def snapshot_env(env: Any) -> dict[str, Any]:
    """The state of ``env`` (a ``gymnasium.Env`` with its wrappers, or a ``SyncVectorEnv``
    with its vector wrappers) as plain data; ``ValueError`` if it holds other objects."""
    layers = _layers(env)
    snapshot: dict[str, Any] = {"layers": [_snapshot_layer(layer) for layer in layers]}
    base = layers[-1]
    if isinstance(base, gym.vector.SyncVectorEnv):
        envs = []
        for i, sub_env in enumerate(base.envs):
            try:
                envs.append(snapshot_env(sub_env))
            except NotSnapshotable as err:
                raise NotSnapshotable(f"{type(base).__name__} env {i}: {err}") from None
        snapshot["envs"] = envs
    return snapshot


def restore_env(env: Any, snapshot: Mapping[str, Any]) -> None:
    """Put ``env`` back into the state of ``snapshot``; ``env`` must be made like the one the
    snapshot was taken of (same wrappers, same options), and need not have been reset.

    Arrays are written in place where the env has one of the same shape and dtype (so views
    of them stay views) and generators get their state set in place (so a generator shared by
    two attributes stays shared); other values are replaced by copies, so the snapshot can be
    restored again.
    """
    layers = _layers(env)
    saved = snapshot["layers"]
    names = [type(layer).__name__ for layer in layers]
    saved_names = [layer["class"] for layer in saved]
    if names != saved_names:
        raise ValueError(
            f"the snapshot is of an env {' > '.join(saved_names)}, this one is {' > '.join(names)}"
        )
    for layer, layer_state in zip(layers, saved, strict=True):
        _restore_layer(layer, layer_state)
    base = layers[-1]
    if isinstance(base, gym.vector.SyncVectorEnv):
        if len(snapshot["envs"]) != len(base.envs):
            raise ValueError(
                f"the snapshot is of {len(snapshot['envs'])} envs, this one has {len(base.envs)}"
            )
        for sub_env, sub_snapshot in zip(base.envs, snapshot["envs"], strict=True):
            restore_env(sub_env, sub_snapshot)


# ----------------------------------------------------------------------------------- layers
def _layers(env: Any) -> list[Any]:
    """``env``, ``env.env``, … down to the unwrapped env (or vector env)."""
    layers = [env]
    while isinstance(layers[-1], (gym.Wrapper, gym.vector.VectorWrapper)):
        layers.append(layers[-1].env)
    return layers


def _skipped(layer: Any, name: str, value: Any) -> bool:
    if name in SKIPPED_NAMES or isinstance(value, SKIPPED_TYPES):
        return True
    # A SyncVectorEnv's sub-envs get their own entries; their constructors are code.
    return isinstance(layer, gym.vector.SyncVectorEnv) and name in ("envs", "env_fns")


def _snapshot_layer(layer: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    space_rngs: dict[str, list[Any]] = {}
    for name, value in vars(layer).items():
        if isinstance(value, spaces.Space):
            space_rngs[name] = [_generator_state(g) for g in _space_generators(value)]
        if _skipped(layer, name, value):
            continue
        try:
            state[name] = _encode(value)
        except _NotPlain as err:
            kind = _type_text(err.value)
            article = "an" if kind[0].lower() in "aeiou" else "a"
            raise NotSnapshotable(
                f"{type(layer).__name__} keeps {article} {kind} in {name!r}"
            ) from None
    return {"class": type(layer).__name__, "state": state, "space_rngs": space_rngs}


def _restore_layer(layer: Any, saved: Mapping[str, Any]) -> None:
    attributes = vars(layer)
    for name, node in saved["state"].items():
        current = attributes.get(name)
        if (
            isinstance(node, np.ndarray)
            and isinstance(current, np.ndarray)
            and current.shape == node.shape
            and current.dtype == node.dtype
            and current.flags.writeable
        ):
            current[...] = node
        elif _is_generator_node(node) and isinstance(current, np.random.Generator):
            set_rng_state(current, node["generator"])
        else:
            attributes[name] = _decode(node)
    for name, states in saved["space_rngs"].items():
        space = attributes.get(name)
        if isinstance(space, spaces.Space):
            for sub_space, state in zip(_spaces_of(space), states, strict=True):
                # None where it was not seeded yet (seeded from the OS on first use)
                vars(sub_space)["_np_random"] = _decode_generator(state, sub_space._np_random)


def _type_text(value: Any) -> str:
    """``Box2D b2World`` for a ``Box2D.Box2D.b2World``; the bare name for builtins."""
    cls = type(value)
    package = cls.__module__.split(".")[0]
    return cls.__name__ if package == "builtins" else f"{package} {cls.__name__}"


# ------------------------------------------------------------------------------------ spaces
def _spaces_of(space: spaces.Space) -> list[spaces.Space]:
    """The space and its sub-spaces (of Tuple, Dict, OneOf), depth first: each has its own
    generator."""
    children = getattr(space, "spaces", ())
    if isinstance(children, Mapping):
        children = children.values()
    found = [space]
    for child in children:
        if isinstance(child, spaces.Space):
            found.extend(_spaces_of(child))
    return found


def _space_generators(space: spaces.Space) -> list[np.random.Generator | None]:
    return [s._np_random for s in _spaces_of(space)]


def _generator_state(rng: np.random.Generator | None) -> dict[str, Any] | None:
    return None if rng is None else rng_state(rng)


def _decode_generator(
    state: Mapping[str, Any] | None, current: np.random.Generator | None
) -> np.random.Generator | None:
    """A generator in ``state`` (the current one, set in place, if it is of the same kind);
    ``None`` stays ``None`` (a space not seeded yet)."""
    if state is None:
        return None
    if current is None or current.bit_generator.state["bit_generator"] != state["bit_generator"]:
        current = np.random.Generator(getattr(np.random, state["bit_generator"])())
    set_rng_state(current, state)
    return current


# ------------------------------------------------------------------------------------ values
class _NotPlain(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__(type(value).__name__)
        self.value = value


_SCALARS = (type(None), bool, int, float, str)


def _encode(value: Any) -> Any:
    """A plain value as a checkpoint stores it. Python scalars, arrays, lists and tuples stay
    what they are; every other kind becomes a one-key dict naming it, so a dict in a snapshot
    is never ambiguous: ``{"scalar": 0-d array}`` keeps a numpy scalar's dtype,
    ``{"dict": [[key, value], ...]}`` keeps keys of any plain type."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is np.ndarray:
        if value.dtype.hasobject:
            raise _NotPlain(value)
        return value.copy()
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        return {"scalar": np.array(value)}
    if kind is list:
        return [_encode(v) for v in value]
    if kind is tuple:
        return tuple(_encode(v) for v in value)
    if kind is dict:
        return {"dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if kind is collections.deque:
        return {"deque": [_encode(v) for v in value], "maxlen": value.maxlen}
    if kind is np.random.Generator:
        return {"generator": rng_state(value)}
    raise _NotPlain(value)


def _is_generator_node(node: Any) -> bool:
    return isinstance(node, Mapping) and "generator" in node


def _decode(node: Any) -> Any:
    """The value :func:`_encode` encoded, as a fresh copy."""
    if isinstance(node, np.ndarray):
        return node.copy()
    if isinstance(node, list):
        return [_decode(v) for v in node]
    if isinstance(node, tuple):
        return tuple(_decode(v) for v in node)
    if not isinstance(node, Mapping):
        return node
    if "scalar" in node:
        return np.asarray(node["scalar"])[()]
    if "dict" in node:
        return {_decode(k): _decode(v) for k, v in node["dict"]}
    if "deque" in node:
        maxlen = node["maxlen"]
        return collections.deque((_decode(v) for v in node["deque"]), maxlen=maxlen)
    if "generator" in node:
        return _decode_generator(node["generator"], None)
    raise ValueError(f"not an env snapshot value: {sorted(node)}")
