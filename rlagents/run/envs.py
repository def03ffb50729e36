"""Build the environments of a run: the env id, its ``gymnasium.make`` kwargs and a preset
with its own options (``--preset-kwargs``).

A preset is one of ``wrappers.PRESETS`` (``atari``, ``car_racing``, ``discretized``, and the
POMDP presets ``remove_velocity``, ``flicker``, ``noise``, ``dropout``); ``auto`` picks one of
the first three from the env id and from what the agent accepts.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, cast

import gymnasium as gym
from gymnasium import spaces
from gymnasium.envs.registration import load_env_creator

from rlagents.agent import Agent
from rlagents.errors import ConfigError, EnvError, one_line, option

AUTO, NONE = "auto", "none"
AGENTS = "agents"  # the preset whose envs are vector envs: a Parallel env's agents as rows


ENV_ENTRY_POINTS = "rlagents.envs"  # entry-point group: ``EnvId = module:EnvClassOrFactory``


def register_env_namespace(env_id: str) -> None:
    """Make the id resolvable: ``ALE/...`` without the user importing ale_py, ``module:EnvId``
    by importing ``module`` (Gymnasium's own form), and ids that a distribution registers
    through the ``rlagents.envs`` entry-point group."""
    module, _, _name = env_id.rpartition(":")
    if module:
        _import_env_module(module, env_id)
    if env_id.startswith("ALE/"):
        try:
            import ale_py
        except ImportError:
            raise EnvError(f"{env_id} needs ale-py: pip install 'gymnasium[atari]'") from None
        gym.register_envs(ale_py)
        # ALE prints its emulator banner on every ROM load; keep the terminal to our own output.
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    register_plugin_envs()


def _import_env_module(module: str, env_id: str) -> None:
    try:
        importlib.import_module(module)
    except Exception as err:  # a plugin's own bug must read as one line too
        raise EnvError(
            f"{option('env_id')} {env_id}: cannot import {module!r} ({one_line(err)}); "
            "check the module name and that its package is installed"
        ) from None


def register_plugin_envs() -> None:
    """Register every env id of the ``rlagents.envs`` entry points (without importing them)."""
    for entry in metadata.entry_points(group=ENV_ENTRY_POINTS):
        if entry.name not in gym.registry:
            gym.register(id=entry.name, entry_point=entry.value)


def is_multiagent(env_id: str) -> bool:
    """Whether ``env_id`` names a PettingZoo env (played through the ``selfplay`` preset)."""
    from wrappers.selfplay import is_pettingzoo_id

    return is_pettingzoo_id(env_id)


# PettingZoo's registry namespaces (pettingzoo.make("classic/tictactoe-v3"))
PETTINGZOO_FAMILIES = ("classic", "mpe", "butterfly", "sisl", "atari")


def check_env_id(env_id: str) -> None:
    """Fail early on an unknown id, with Gymnasium's did-you-mean."""
    if is_multiagent(env_id):
        return
    name = env_id.rpartition(":")[2]
    try:
        gym.spec(name)
    except gym.error.Error as err:
        family = env_id.partition("/")[0] if "/" in env_id else None
        if family in PETTINGZOO_FAMILIES and importlib.util.find_spec("pettingzoo") is None:
            raise EnvError(
                f"{env_id} looks like a PettingZoo env, and PettingZoo is not installed: "
                "pip install 'rlagents[multiagent]'"
            ) from None
        raise EnvError(one_line(err)) from None


def check_render_mode(env_id: str, make_kwargs: dict[str, Any]) -> None:
    """A ``render_mode`` the env does not offer is refused (Gymnasium only warns)."""
    mode = make_kwargs.get("render_mode")
    if mode is None or is_multiagent(env_id):
        return
    spec = gym.spec(env_id.rpartition(":")[2])
    modes: Any = None
    if isinstance(spec.entry_point, str):
        try:
            creator = load_env_creator(spec.entry_point)
        except Exception:
            return  # make() reports a broken entry point in its own words
        modes = getattr(creator, "metadata", {}).get("render_modes")
    elif callable(spec.entry_point):
        modes = getattr(spec.entry_point, "metadata", {}).get("render_modes")
    if not isinstance(mode, str) or (modes is not None and mode not in modes):
        offered = ", ".join(map(str, modes)) if modes else "none"
        raise EnvError(
            f"{option('env_kwargs')} render_mode={mode}: {env_id} renders as {offered}; "
            f"or use {option('render', True)} to watch the evaluation episodes"
        )
    if mode == "human" and not has_display():
        raise EnvError("render_mode=human needs a display (DISPLAY is not set)")


# Building an env of these ids loads an emulator or a physics world (megabytes, tens of ms each).
HEAVY_ENV_PREFIXES = ("ALE/", "CarRacing", "LunarLander", "BipedalWalker")
MAX_ENVS = 1024
MAX_HEAVY_ENVS_PER_CPU = 32


def check_num_envs(env_id: str, num_envs: int) -> None:
    """Refuse an env count that would take minutes and gigabytes to build before step 1."""
    name = env_id.rpartition(":")[2]
    heavy = name.startswith(HEAVY_ENV_PREFIXES)
    limit = max(64, MAX_HEAVY_ENVS_PER_CPU * (os.cpu_count() or 1)) if heavy else MAX_ENVS
    if num_envs > limit:
        why = " (each one loads an emulator or a physics world)" if heavy else ""
        raise EnvError(
            f"{option('num_envs')} {num_envs} is more than {limit}, the most rlrun builds for "
            f"{name}{why}; "
            f"use a smaller {option('num_envs')}"
        )


BACKENDS = ("auto", "gymnasium", "envpool")
# Presets that can build on EnvPool's C++ twin of an env (their ``backend`` option), and the ids
# they have one for (benchmarks/envpool_backend.py measures where EnvPool's env differs).
ENVPOOL_TWINS: dict[str, tuple[str, ...]] = {"car_racing": ("CarRacing-v3",)}


def choose_backend(
    requested: str,
    env_id: str,
    preset: str | None,
    preset_kwargs: dict[str, Any],
    make_kwargs: dict[str, Any],
) -> str:
    """The training envs' engine: ``gymnasium``, or ``envpool`` where asked for (or, with
    ``auto``, where EnvPool is installed and has the env with these options)."""
    if requested == "gymnasium":
        return requested
    twins = ", ".join(f"{i} (preset {p})" for p, ids in ENVPOOL_TWINS.items() for i in ids)
    has_twin = preset in ENVPOOL_TWINS and env_id in ENVPOOL_TWINS[preset]
    from wrappers.envpool_env import has_envpool

    if requested == "envpool":
        if not has_twin:
            raise ConfigError(
                f"{option('backend')} envpool: EnvPool backs {twins}, not {env_id}"
                + (f" with preset {preset}" if preset else " without a preset")
                + f"; use {option('backend')} gymnasium"
            )
        if not has_envpool():
            raise ConfigError(f"{option('backend')} envpool needs EnvPool: pip install envpool")
        return requested
    from wrappers.presets import ENVPOOL_CAR_RACING_KWARGS

    supported = preset_kwargs.get("continuous", True) and set(make_kwargs) <= set(
        ENVPOOL_CAR_RACING_KWARGS
    )
    return "envpool" if has_twin and supported and has_envpool() else "gymnasium"


@dataclass(frozen=True)
class EnvFactory:
    """Makes single envs of one id, kwargs and preset; used for training and evaluation envs
    (the latter always on Gymnasium's env: :meth:`for_evaluation`)."""

    env_id: str
    make_kwargs: dict[str, Any] = field(default_factory=dict)
    preset: str | None = None
    preset_kwargs: dict[str, Any] = field(default_factory=dict)  # the preset's own options
    backend: str = "gymnasium"  # or "envpool", for a preset in ENVPOOL_TWINS
    # what makes a user's env (rlagents.run.user_envs), carried to the Ray workers
    maker: Callable[..., gym.Env] | None = field(default=None, compare=False, repr=False)

    def for_evaluation(self) -> EnvFactory:
        """This factory on Gymnasium's env: a result is measured on the real one."""
        return dataclasses.replace(self, backend="gymnasium")

    def make(self, **extra_kwargs: Any) -> gym.Env:
        """One env; ``extra_kwargs`` (evaluation's overrides) win over the factory's kwargs."""
        kwargs = {**self.make_kwargs, **extra_kwargs}
        if self.maker is not None:
            from rlagents.run.user_envs import ensure_registered

            ensure_registered(self.env_id, self.maker)
        try:
            if self.preset is None:
                return gym.make(self.env_id, **kwargs)
            options = {**self.preset_kwargs, **kwargs}
            if self.backend != "gymnasium":
                options["backend"] = self.backend
            return preset_function(self.preset)(self.env_id, **options)
        except gym.error.Error as err:
            raise EnvError(one_line(err)) from None
        except TypeError as err:  # an unknown keyword for the env's constructor
            given, check = f"{kwargs}", f"{option('env_kwargs')}"
            if self.preset_kwargs:
                given += f" and preset options {self.preset_kwargs}"
                check += f" and {option('preset_kwargs')}"
            raise EnvError(
                f"cannot make {self.env_id} with {given}: {one_line(err)}; check {check}"
            ) from None
        except (ValueError, ImportError) as err:
            raise EnvError(f"cannot make {self.env_id}: {one_line(err)}") from None

    def make_vector(self, num_envs: int) -> gym.vector.VectorEnv:
        """``num_envs`` copies in a SyncVectorEnv with same-step autoreset (rlagents.run.loop);
        with the ``agents`` preset, ``num_envs`` copies of a Parallel env, its agents as rows."""
        if self.preset == AGENTS:
            return cast(gym.vector.VectorEnv, self.make(num_copies=num_envs))
        envs = [self.make() for _ in range(num_envs)]  # made here, so errors surface here
        return gym.vector.SyncVectorEnv(
            [functools.partial(_same, e) for e in envs],
            autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        )


def _same(env: gym.Env) -> gym.Env:
    return env


def preset_function(name: str) -> Callable[..., gym.Env]:
    try:
        import wrappers
    except ImportError as err:
        raise EnvError(f"the env presets cannot be loaded: {one_line(err)}") from None

    presets: dict[str, Callable[..., gym.Env]] = getattr(wrappers, "PRESETS", {})
    if name not in presets:
        known = ", ".join(sorted(presets)) or "none"
        raise EnvError(f"unknown preset {name!r}; presets: {AUTO}, {NONE}, {known}")
    if name == "car_racing":
        return lambda env_id, **kw: presets[name](env_id=env_id, **kw)
    return presets[name]


def preset_options(name: str) -> tuple[str, ...]:
    """The preset's own options: the keyword-only parameters of its function."""
    preset_function(name)  # validates the name
    import wrappers

    parameters = inspect.signature(wrappers.PRESETS[name]).parameters.values()
    return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def check_preset_kwargs(
    preset: str | None,
    preset_kwargs: Mapping[str, Any],
    *,
    requested: str,
    env_id: str,
    make_kwargs: Mapping[str, Any],
) -> None:
    """Refuse ``--preset-kwargs`` without a preset, with a key the preset does not take, or with
    a key ``--env-kwargs`` sets too; ``requested`` is what ``--preset`` said."""
    if not preset_kwargs:
        return
    if preset is None:
        import wrappers

        why = "turns presets off" if requested == NONE else f"picks no preset for {env_id}"
        raise EnvError(
            f"{option('preset_kwargs')} sets a preset's options, but {option('preset')} "
            f"{requested} {why}; "
            f"pass {option('preset')} NAME ({', '.join(sorted(wrappers.PRESETS))})"
        )
    accepted = preset_options(preset)
    unknown = [key for key in preset_kwargs if key not in accepted]
    if unknown:
        raise EnvError(
            f"{option('preset_kwargs')} {', '.join(unknown)}: preset {preset} has no such option; "
            f"its options: {', '.join(accepted)}"
        )
    both = [key for key in preset_kwargs if key in make_kwargs]
    if both:
        raise EnvError(
            f"{', '.join(both)} is given by both {option('preset_kwargs')} and "
            f"{option('env_kwargs')}; give it once, "
            f"in {option('preset_kwargs')}"
        )


def probe_observation_space(
    env_id: str, make_kwargs: dict[str, Any] | None = None
) -> spaces.Space | None:
    """The raw env's observation space, which tells :func:`choose_preset` what ``auto`` means."""
    if env_id.startswith("ALE/") or "CarRacing" in env_id or is_multiagent(env_id):
        return None  # the preset follows from the id; skip loading a ROM or a Box2D world
    env = EnvFactory(env_id, dict(make_kwargs or {})).make()
    try:
        return env.observation_space
    finally:
        env.close()


def choose_preset(
    option: str, env_id: str, agent_cls: type[Agent], raw_obs: spaces.Space | None
) -> str | None:
    """The preset a run uses: the one named, none, or (``auto``) the one the env and agent need."""
    if option == NONE:
        return None
    if option != AUTO:
        preset_function(option)  # validates the name
        return option
    if env_id.startswith("ALE/"):
        return "atari"
    if is_multiagent(env_id):
        from wrappers.parallel import is_parallel_id

        # every agent acting every step: agents as rows; a two-player game: one seat at a time
        return "agents" if is_parallel_id(env_id) else "selfplay"
    if env_id.split("/")[-1].startswith("CarRacing"):
        return "car_racing"
    wants_discrete = not accepts(agent_cls.observation_spaces, spaces.Box) and accepts(
        agent_cls.observation_spaces, spaces.Discrete
    )
    if isinstance(raw_obs, spaces.Box) and wants_discrete:
        return "discretized"
    return None


def accepts(accepted: tuple[type, ...], space_type: type) -> bool:
    return any(issubclass(space_type, t) for t in accepted)


def has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
