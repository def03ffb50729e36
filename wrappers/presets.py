"""One-call env presets: ``atari``, ``atari_vector``, ``car_racing``, ``discretized`` and the
POMDP presets (:data:`wrappers.PRESETS` names every preset). Each takes its own options as
keywords and passes the others to ``gymnasium.make`` (or ``gymnasium.make_vec``), e.g.
``render_mode``, ``max_episode_steps`` or ``repeat_action_probability``.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import gymnasium as gym
from gymnasium.vector import AutoresetMode, VectorEnv

from wrappers._validate import positive_int
from wrappers.atari import AtariPreprocess
from wrappers.bounds import classic_control_bounds, known_ids
from wrappers.discretize import Discretize
from wrappers.frame_skip import FrameSkip
from wrappers.frame_stack import FrameStack
from wrappers.image import Crop, Grayscale, Resize
from wrappers.pomdp import Flicker, ObservationNoise, RemoveVelocity, SensorDropout

_ATARI_ID = re.compile(r"^ALE/[A-Za-z0-9]+-v5$")
_ATARI_ACCEPTS = "atari() accepts ALE/<Game>-v5 ids such as 'ALE/Breakout-v5'"
_DISCRETIZED_ACCEPTS = (
    "discretized() accepts an env id or env with a 1-D Box observation, e.g. "
    + ", ".join(known_ids())
)


def _register_ale() -> None:
    """Register the ALE/* ids so that users need not ``import ale_py`` themselves."""
    try:
        import ale_py
    except ImportError as e:  # pragma: no cover - ale-py is a dependency of gymnasium[atari]
        raise gym.error.DependencyNotInstalled(
            'ale-py is not installed; run `pip install "gymnasium[atari]"`'
        ) from e
    gym.register_envs(ale_py)


def _import_box2d() -> None:
    """Import Box2D (CarRacing's physics) with its SWIG import-time warnings silenced.

    SWIG-built Box2D emits "builtin type SwigPyPacked has no __module__ attribute"
    DeprecationWarnings while its C module initialises; where warnings are errors (pytest's
    ``filterwarnings = error``, ``python -W error``) that exception inside the C init
    crashes the interpreter with a segfault instead of raising. Once imported, it is cached.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", r"builtin type \w+ has no __module__ attribute", DeprecationWarning
        )
        # If Box2D is missing, gymnasium.make reports the missing dependency itself.
        with contextlib.suppress(ImportError):
            import Box2D  # noqa: F401


def _atari_id(env_id: Any, preset: str) -> str:
    accepts = _ATARI_ACCEPTS.replace("atari()", f"{preset}()")
    if not isinstance(env_id, str) or not _ATARI_ID.match(env_id):
        raise ValueError(f"{accepts}; got {env_id!r}")
    _register_ale()
    if env_id not in gym.registry:
        raise ValueError(f"{accepts}; {env_id!r} is not a registered ALE game")
    return env_id


def atari(
    env_id: str,
    *,
    noop_max: int = 30,
    frame_skip: int = 4,
    screen_size: int = 84,
    stack_size: int = 4,
    terminal_on_life_loss: bool = False,
    clip_reward: bool = False,
    fire_reset: bool = True,
    interpolation: int = cv2.INTER_LINEAR,
    **make_kwargs: Any,
) -> gym.Env[Any, Any]:
    """Make an ``ALE/*-v5`` env with the DQN-paper preprocessing, ready to train on.

    Up to 30 no-op starts, ``frame_skip`` frames per step with the max over the last two,
    84×84 grayscale straight from ALE, and a stack of the last 4 frames, channel first:
    ``Box(0, 255, (4, 84, 84), uint8)``. Options: ``terminal_on_life_loss`` (episodes end
    at each lost life; ``reset()`` then continues the game), ``clip_reward`` (sign of the
    reward), ``fire_reset`` (press FIRE after reset where the game has it; on by default as
    Breakout and others wait for it). v5's sticky actions (``repeat_action_probability=0.25``)
    stay unless you pass another value. ``max_episode_steps`` counts agent steps (of
    ``frame_skip`` frames each). The stack is padded with the reset frame, as
    ``gymnasium.wrappers.FrameStackObservation`` does. Other keywords go to
    ``gymnasium.make``; ``frameskip=`` is taken as ``frame_skip``. See
    ``wrappers.atari.AtariPreprocess`` for why this is faster than Gymnasium's
    ``AtariPreprocessing`` + ``FrameStackObservation``.

    The resize is bilinear (``cv2.INTER_LINEAR``, the DQN paper's choice) because
    ``cv2.INTER_AREA`` costs 5-6 times as much per frame and holds the preset at 0.81-0.83x
    of raw ALE speed instead of 0.91-0.93x (``benchmarks/wrappers_throughput.py``). Pass
    ``interpolation=cv2.INTER_AREA`` for frames identical to Gymnasium's
    ``AtariPreprocessing``, SB3's ``WarpFrame`` and :func:`atari_vector` (e.g. to evaluate
    a policy trained on :func:`atari_vector`).

    Example:
        >>> import wrappers
        >>> env = wrappers.atari("ALE/Breakout-v5")
        >>> env.observation_space
        Box(0, 255, (4, 84, 84), uint8)
        >>> env.action_space
        Discrete(4)
    """
    env_id = _atari_id(env_id, "atari")
    if "frameskip" in make_kwargs:
        frame_skip = make_kwargs.pop("frameskip")
    if make_kwargs.get("obs_type", "grayscale") != "grayscale":
        raise ValueError("atari() observes grayscale screens; drop obs_type or pass 'grayscale'")
    if make_kwargs.get("continuous"):
        raise ValueError("atari() supports discrete actions only; drop continuous=True")
    # AtariPreprocess steps ALE itself: frameskip=1 keeps the env's spec truthful (the skip
    # is the wrapper's), and grayscale makes the env's own reset observation cheap.
    make_kwargs.update(obs_type="grayscale", frameskip=1)
    env: gym.Env[Any, Any] = gym.make(env_id, **make_kwargs)
    env = AtariPreprocess(
        env,
        noop_max=noop_max,
        frame_skip=frame_skip,
        screen_size=screen_size,
        terminal_on_life_loss=terminal_on_life_loss,
        clip_reward=clip_reward,
        fire_reset=fire_reset,
        interpolation=interpolation,
    )
    return FrameStack(env, stack_size)


def atari_vector(
    env_id: str,
    num_envs: int,
    *,
    noop_max: int = 30,
    frame_skip: int = 4,
    screen_size: int = 84,
    stack_size: int = 4,
    terminal_on_life_loss: bool = False,
    clip_reward: bool = False,
    fire_reset: bool = True,
    autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    **make_vec_kwargs: Any,
) -> VectorEnv[Any, Any, Any]:
    """Make ``num_envs`` copies of an ``ALE/*-v5`` game, preprocessed in ale-py's C++ vector env.

    Same preprocessing and options as :func:`atari`, done by ale-py's ``AtariVectorEnv``
    in C++ threads (observations ``(num_envs, 4, 84, 84)`` uint8), with v5's sticky actions
    (0.25) kept though ale-py's vector default is 0. Autoreset is SAME_STEP by default: a
    sub-env that ends returns its next episode's first observation at once, and
    ``info["final_obs"]`` (a dense ``(num_envs, 4, 84, 84)`` array, valid where
    ``terminated | truncated``) holds its final stacked observation; pass
    ``autoreset_mode="NextStep"`` for Gymnasium's default. Other keywords go to
    ``gymnasium.make_vec`` (e.g. ``num_threads``, ``repeat_action_probability``);
    ``max_episode_steps`` is converted to ale-py's frame count.

    Where ale-py differs from :func:`atari`: it resizes with ``cv2.INTER_AREA``
    (``atari(..., interpolation=cv2.INTER_AREA)`` gives the same frames), zero-pads the
    stack after a reset, and with ``terminal_on_life_loss`` (ale-py's ``life_loss_info``)
    the game simply goes on after the ``terminated=True`` step, with no reset, no FIRE and
    the stack carried over. (ale-py's ``episodic_life=True`` would instead restart the
    whole game at every lost life.)

    Example:
        >>> import wrappers
        >>> envs = wrappers.atari_vector("ALE/Pong-v5", num_envs=2)
        >>> envs.observation_space
        Box(0, 255, (2, 4, 84, 84), uint8)
        >>> envs.metadata["autoreset_mode"]
        <AutoresetMode.SAME_STEP: 'SameStep'>
        >>> envs.close()
    """
    env_id = _atari_id(env_id, "atari_vector")
    if "frameskip" in make_vec_kwargs:
        frame_skip = make_vec_kwargs.pop("frameskip")
    if "max_episode_steps" in make_vec_kwargs:
        # ale-py counts frames; keep the agent-step meaning of the single-env preset.
        make_vec_kwargs["max_num_frames_per_episode"] = (
            make_vec_kwargs.pop("max_episode_steps") * frame_skip
        )
    if make_vec_kwargs.pop("render_mode", None) is not None:
        raise ValueError("atari_vector() cannot render (ale-py's vector env has no render_mode)")
    make_vec_kwargs.setdefault("repeat_action_probability", 0.25)
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        noop_max=noop_max,
        frameskip=frame_skip,
        img_height=screen_size,
        img_width=screen_size,
        stack_num=stack_size,
        life_loss_info=terminal_on_life_loss,
        reward_clipping=clip_reward,
        use_fire_reset=fire_reset,
        autoreset_mode=autoreset_mode,
        **make_vec_kwargs,
    )


def car_racing(
    env_id: str = "CarRacing-v3",
    *,
    continuous: bool = True,
    grayscale: bool = True,
    crop_dashboard: bool = True,
    screen_size: int = 84,
    stack_size: int = 4,
    frame_skip: int = 1,
    backend: str = "gymnasium",
    **make_kwargs: Any,
) -> gym.Env[Any, Any]:
    """Make CarRacing with grayscale, dashboard crop, resize and a channel-first frame stack.

    ``frame_skip`` repeats each action and sums the rewards; the bottom 12 of 96 rows (the
    dashboard) are cut off when ``crop_dashboard``; ``screen_size`` is the side of the
    square frame (84 or 64 are usual). ``continuous`` is passed to ``gymnasium.make``
    (False gives CarRacing's 5 discrete actions), as is every other keyword.

    ``backend="envpool"`` steps EnvPool's C++ CarRacing-v3 (``pip install envpool``; about ten
    times as fast) under the same wrappers: the same spaces and episode ends (1,000 frames, or
    off the playfield). It has continuous actions only, renders nothing and takes
    ``max_episode_steps`` and ``lap_complete_percent`` of the keywords; its tracks are its own.

    Example:
        >>> import wrappers
        >>> env = wrappers.car_racing(continuous=False, screen_size=64)
        >>> env.observation_space
        Box(0, 255, (4, 64, 64), uint8)
        >>> env.action_space
        Discrete(5)
    """
    accepts = "car_racing() accepts CarRacing ids such as 'CarRacing-v3'"
    if not isinstance(env_id, str) or not env_id.startswith("CarRacing-"):
        raise ValueError(f"{accepts}; got {env_id!r}")
    if env_id not in gym.registry:
        raise ValueError(f"{accepts}; {env_id!r} is not registered")
    env: gym.Env[Any, Any]
    if backend == "envpool":
        env = _envpool_car_racing(env_id, continuous, make_kwargs)
    elif backend == "gymnasium":
        _import_box2d()
        env = gym.make(env_id, continuous=continuous, **make_kwargs)
    else:
        raise ValueError(f"car_racing() backend is 'gymnasium' or 'envpool', got {backend!r}")
    if frame_skip > 1:
        env = FrameSkip(env, frame_skip)
    if grayscale:
        env = Grayscale(env)
    if crop_dashboard:
        env = Crop(env, bottom=12)
    env = Resize(env, screen_size)
    return FrameStack(env, stack_size)


ENVPOOL_CAR_RACING_KWARGS = ("max_episode_steps", "lap_complete_percent")


def _envpool_car_racing(
    env_id: str, continuous: bool, make_kwargs: dict[str, Any]
) -> gym.Env[Any, Any]:
    if env_id != "CarRacing-v3":
        raise ValueError(f"EnvPool has CarRacing-v3 only, not {env_id!r}")
    if not continuous:
        raise ValueError(
            "EnvPool's CarRacing has continuous actions only; use the gymnasium backend for "
            "continuous=False"
        )
    unknown = sorted(set(make_kwargs) - set(ENVPOOL_CAR_RACING_KWARGS))
    if unknown:
        raise ValueError(
            f"EnvPool's CarRacing takes {', '.join(ENVPOOL_CAR_RACING_KWARGS)}, not "
            f"{', '.join(unknown)}; use the gymnasium backend for those"
        )
    from wrappers.envpool_env import EnvPoolEnv

    return EnvPoolEnv("CarRacing-v3", **make_kwargs)


def discretized(
    env_or_id: str | gym.Env[Any, Any],
    *,
    bins: int | Sequence[int] = 10,
    low: Any = None,
    high: Any = None,
    flatten: bool = True,
    **make_kwargs: Any,
) -> gym.Env[Any, Any]:
    """Make (or wrap) a classic-control env with a discretized observation for tabular agents.

    Bounds default to :func:`wrappers.classic_control_bounds` for CartPole, MountainCar,
    MountainCarContinuous, Acrobot and Pendulum, so CartPole-v1 works without looking
    anything up; ``low``/``high`` override them. ``bins`` per dimension (default 10); the
    observation is a ``Discrete`` flat index, or ``MultiDiscrete`` with ``flatten=False``.

    Example:
        >>> import wrappers
        >>> env = wrappers.discretized("CartPole-v1")
        >>> env.observation_space
        Discrete(10000)
        >>> env.reset(seed=0)[0]
        np.int64(5434)
    """
    if isinstance(env_or_id, gym.Env):
        if make_kwargs:
            raise ValueError(
                f"discretized() got an env, so it cannot apply make kwargs {sorted(make_kwargs)}"
            )
        env = env_or_id
    elif isinstance(env_or_id, str):
        try:
            env = gym.make(env_or_id, **make_kwargs)
        except gym.error.Error as e:
            first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ValueError(
                f"{_DISCRETIZED_ACCEPTS}; cannot make {env_or_id!r}: {first_line}"
            ) from e
    else:
        raise ValueError(f"{_DISCRETIZED_ACCEPTS}; got {env_or_id!r}")
    space = env.observation_space
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise ValueError(f"{_DISCRETIZED_ACCEPTS}; got {_name(env)} with {space}")
    defaults = classic_control_bounds(env.spec.id) if env.spec is not None else None
    if defaults is not None:
        low = defaults[0] if low is None else low
        high = defaults[1] if high is None else high
    return Discretize(env, bins, low=low, high=high, flatten=flatten)


def _name(env: gym.Env[Any, Any]) -> str:
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


def _partially_observed(
    preset: str,
    env_id: str,
    wrap: Callable[[gym.Env[Any, Any]], gym.Env[Any, Any]],
    stack_size: int,
    make_kwargs: dict[str, Any],
) -> gym.Env[Any, Any]:
    """``gymnasium.make(env_id)``, wrapped by ``wrap``, then a FrameStack if ``stack_size > 1``.

    The stack comes after the POMDP wrapper, so it stacks what the agent sees: a memoryless
    agent given the last few (perturbed) observations, against an agent with a memory.
    """
    stack_size = positive_int(f"{preset}()", "stack_size", stack_size)
    try:
        env = gym.make(env_id, **make_kwargs)
    except gym.error.Error as e:
        first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{preset}() cannot make {env_id!r}: {first_line}") from e
    env = wrap(env)
    return FrameStack(env, stack_size) if stack_size > 1 else env


def remove_velocity(
    env_id: str, *, indices: Sequence[int] | None = None, stack_size: int = 1, **make_kwargs: Any
) -> gym.Env[Any, Any]:
    """Make ``env_id`` with only its positions observed (:class:`wrappers.RemoveVelocity`).

    ``indices`` defaults to the wrapper's table for the classic-control and LunarLander ids;
    ``stack_size > 1`` stacks the last observations (:class:`wrappers.FrameStack`), so that
    a memoryless agent can estimate the velocities from them.

    Example:
        >>> import wrappers
        >>> wrappers.remove_velocity("Pendulum-v1").observation_space
        Box(-1.0, 1.0, (2,), float32)
        >>> wrappers.remove_velocity("Pendulum-v1", stack_size=4).observation_space
        Box(-1.0, 1.0, (4, 2), float32)
    """
    return _partially_observed(
        "remove_velocity",
        env_id,
        lambda env: RemoveVelocity(env, indices),
        stack_size,
        make_kwargs,
    )


def flicker(
    env_id: str, *, p: float = 0.2, stack_size: int = 1, **make_kwargs: Any
) -> gym.Env[Any, Any]:
    """Make ``env_id`` with each observation blanked with probability ``p``
    (:class:`wrappers.Flicker`), then stacked if ``stack_size > 1``.

    Example:
        >>> import wrappers
        >>> wrappers.flicker("CartPole-v1", p=0.5, stack_size=2).observation_space.shape
        (2, 4)
    """
    return _partially_observed(
        "flicker", env_id, lambda env: Flicker(env, p), stack_size, make_kwargs
    )


def noise(
    env_id: str, *, std: float = 0.1, stack_size: int = 1, **make_kwargs: Any
) -> gym.Env[Any, Any]:
    """Make ``env_id`` with Gaussian noise of standard deviation ``std`` on its observations
    (:class:`wrappers.ObservationNoise`), then stacked if ``stack_size > 1``.

    Example:
        >>> import wrappers
        >>> wrappers.noise("Pendulum-v1", std=0.05).observation_space
        Box(-inf, inf, (3,), float32)
    """
    return _partially_observed(
        "noise", env_id, lambda env: ObservationNoise(env, std), stack_size, make_kwargs
    )


def dropout(
    env_id: str, *, p: float = 0.1, stack_size: int = 1, **make_kwargs: Any
) -> gym.Env[Any, Any]:
    """Make ``env_id`` with each observation dimension zeroed with probability ``p``
    (:class:`wrappers.SensorDropout`), then stacked if ``stack_size > 1``.

    Example:
        >>> import wrappers
        >>> wrappers.dropout("LunarLander-v3", p=0.2, stack_size=3).observation_space.shape
        (3, 8)
    """
    return _partially_observed(
        "dropout", env_id, lambda env: SensorDropout(env, p), stack_size, make_kwargs
    )
