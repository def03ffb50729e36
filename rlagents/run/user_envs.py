"""Envs given to :func:`rlagents.train` and :func:`rlagents.evaluate` as objects: a Gymnasium env
instance, or a callable that makes one.

Each is registered in Gymnasium's registry under an id of its own (``rlagents_user/<its id>``),
so that the rest of a run — presets, vector envs, evaluation envs, the run's records — treats it
as any env id, and its tuned sets are those of the env it wraps (``CartPole-v1`` for
``gym.make("CartPole-v1")``). The env factory carries the callable (:func:`maker`), so Ray
workers, which do not share this process's registry, register it where they make envs.

A callable makes as many envs as a run needs. An instance is one env: it trains, and it is
evaluated once training is over (it is reset then, which is safe); anything that needs a second
env at the same time is refused with the way out, a callable.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym

from rlagents.errors import ConfigError

NAMESPACE = "rlagents_user"
# what needs more than the one env an instance is, and so a callable
NEEDS_MORE_ENVS = {
    "num_envs": lambda v: v not in (None, 1),
    "workers": bool,
    "eval_every": bool,
    "render": bool,
    "video": bool,
}

_makers: dict[str, Callable[..., gym.Env]] = {}  # user id → what makes its envs
_wrapped: dict[str, str | None] = {}  # user id → the id of the env it wraps (its tuned sets)


class _Lent(gym.Wrapper):
    """The user's instance, lent to a run: closing it is the user's business, not the run's."""

    def close(self) -> None:
        pass


@contextlib.contextmanager
def registered(env: Any, options: dict[str, Any]) -> Iterator[str]:
    """:func:`register` for the length of a run; an instance gets its own spec back after
    (``gym.make`` writes the id it was made under into ``env.unwrapped.spec``)."""
    spec = env.unwrapped.spec if isinstance(env, gym.Env) else None
    env_id = register(env, options)
    try:
        yield env_id
    finally:
        if isinstance(env, gym.Env):
            env.unwrapped.spec = spec


def register(env: Any, options: dict[str, Any]) -> str:
    """Register ``env`` (an instance or a callable) and return its id; ``options`` are the run's
    (an instance refuses those that need a second env). A wrong type is one line."""
    if isinstance(env, gym.Env):
        refused = [name for name, needs in NEEDS_MORE_ENVS.items() if needs(options.get(name))]
        if refused:
            raise ConfigError(
                f"an env instance is one env, and {', '.join(refused)} needs more: pass a "
                "callable that makes the env instead, e.g. env=lambda: gym.make(...)"
            )
        wrapped = env.spec.id if env.spec is not None else None
        label = wrapped or type(env.unwrapped).__name__
        instance = env
        make: Callable[..., gym.Env] = lambda **_: _Lent(instance)  # noqa: E731
    elif callable(env):
        probe = make_one(env)
        wrapped = probe.spec.id if probe.spec is not None else None
        label = wrapped or type(probe.unwrapped).__name__
        probe.close()
        make = env
    else:
        raise not_an_env(env)
    env_id = f"{NAMESPACE}/{re.sub(r'[^A-Za-z0-9_.-]', '.', label)}"
    if env_id.count("-v") > 1 or not re.fullmatch(r".*-v\d+", env_id):
        env_id = f"{env_id}-v0"
    _makers[env_id], _wrapped[env_id] = make, wrapped
    ensure_registered(env_id, make)
    return env_id


def not_an_env(env: Any) -> ConfigError:
    return ConfigError(
        f"env is an env id (str), a gymnasium.Env or a callable that returns one; got "
        f"{type(env).__name__}"
    )


def make_one(make: Any) -> gym.Env:
    """An env from a callable that makes one; anything else is one line."""
    if not callable(make):
        raise not_an_env(make)
    try:
        env = make()
    except Exception as err:  # the user's code: one line that says whose it was
        raise ConfigError(
            f"the env callable raised {type(err).__name__}: {err}; check it makes an env "
            "with no arguments"
        ) from None
    if not isinstance(env, gym.Env):
        raise ConfigError(
            f"the env callable returned {type(env).__name__}, not a gymnasium.Env; it must "
            "return a new env each time it is called"
        )
    return env


def ensure_registered(env_id: str, make: Callable[..., gym.Env]) -> None:
    """Gymnasium's registry knows ``env_id`` as ``make`` (here, or in a Ray worker)."""
    spec = gym.registry.get(env_id)
    if spec is None or spec.entry_point is not make:
        gym.registry.pop(env_id, None)
        gym.register(env_id, entry_point=make, disable_env_checker=True)
        _makers.setdefault(env_id, make)


def is_user_id(env_id: str) -> bool:
    return env_id.startswith(f"{NAMESPACE}/")


def maker(env_id: str) -> Callable[..., gym.Env] | None:
    """What makes a user env's envs (None for an ordinary id)."""
    return _makers.get(env_id)


def wrapped_id(env_id: str) -> str:
    """The id whose tuned sets a run uses: the wrapped env's for a user env, else ``env_id``."""
    return _wrapped.get(env_id) or env_id
