"""Turn a fully observed env into a POMDP, as in the LSTM-TD3 paper's benchmark.

Meng, Gorbet and Kulić, "Memory-based Deep Reinforcement Learning for POMDPs" (IROS 2021)
hide part of the state from the agent in four ways; each is a wrapper here:

* :class:`RemoveVelocity` keeps the positional part of the observation (POMDP-RV);
* :class:`Flicker` blanks the whole observation with probability ``p`` (POMDP-FLK);
* :class:`ObservationNoise` adds Gaussian noise of standard deviation ``std`` (POMDP-RN);
* :class:`SensorDropout` zeroes each dimension with probability ``p`` (POMDP-RSM).

Every wrapper transforms every observation, the reset one included (the paper perturbs the
observation "at each time step"; ``gymnasium.ObservationWrapper`` does the same). The random
ones draw from their own generator, ``rng``, not the env's ``np_random``: it is seeded from
the seed given to ``reset(seed=...)`` through its own ``np.random.SeedSequence`` branch (so
its numbers are independent of the env's, and of the other wrappers'), and from a fixed
default before any seeded reset, so that a seeded run is reproducible. As a numpy Generator
in the wrapper's ``__dict__``, it is saved and restored with the env's state by
``rlagents.env_snapshot``. Numpy and Gymnasium only.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from wrappers._validate import non_negative, probability, require_float_vector

POSITION_INDICES: Mapping[str, tuple[int, ...]] = {
    "CartPole-v1": (0, 2),  # cart position x, pole angle θ
    "Pendulum-v1": (0, 1),  # cos θ, sin θ
    "LunarLander-v3": (0, 1, 4, 6, 7),  # x, y, angle, both leg contacts
    "LunarLanderContinuous-v3": (0, 1, 4, 6, 7),
    "MountainCar-v0": (0,),  # position
    "MountainCarContinuous-v0": (0,),
    "Acrobot-v1": (0, 1, 2, 3),  # cos θ1, sin θ1, cos θ2, sin θ2
}
"""The observation dimensions :class:`RemoveVelocity` keeps, by exact env id."""

DEFAULT_SEED = 0
"""Seeds a wrapper's generator until the first ``reset(seed=...)``."""


def wrapper_generator(seed: int, owner: str) -> np.random.Generator:
    """A generator for wrapper ``owner``, independent of the env's stream for the same seed.

    Gymnasium seeds the env from ``SeedSequence(seed)``; a ``spawn_key`` of our own (from the
    wrapper's name) gives another branch of the same seed, so neither stream shadows the other
    and two different wrappers on one env draw different numbers.
    """
    key = zlib.crc32(owner.encode())
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key,))))


def _name(env: gym.Env[Any, Any]) -> str:
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


def _box_with_zero(box: spaces.Box) -> spaces.Box:
    """``box`` widened, where needed, to contain 0 (the value a blanked sensor reads)."""
    low, high = np.minimum(box.low, 0), np.maximum(box.high, 0)
    if np.array_equal(low, box.low) and np.array_equal(high, box.high):
        return box
    return spaces.Box(low, high, box.shape, box.dtype)


def _kept_indices(env: gym.Env[Any, Any], size: int, indices: Any) -> tuple[int, ...]:
    """The user's indices, checked, or the table's for this env id."""
    if indices is None:
        indices = POSITION_INDICES.get(env.spec.id if env.spec is not None else "")
        if indices is None:
            raise ValueError(
                f"RemoveVelocity knows which dimensions to keep for {', '.join(POSITION_INDICES)}"
                f", not for {_name(env)}; pass indices= (the observation dimensions to keep)"
            )
    wanted = f"a non-empty sequence of distinct ints from 0 to {size - 1}"
    try:
        items = list(indices)
    except TypeError:
        raise ValueError(f"RemoveVelocity needs indices as {wanted}, got {indices!r}") from None
    valid = bool(items) and all(
        not isinstance(i, bool) and isinstance(i, int | np.integer) and 0 <= i < size for i in items
    )
    if not valid or len(set(items)) != len(items):
        raise ValueError(f"RemoveVelocity needs indices as {wanted}, got {indices!r}")
    return tuple(int(i) for i in items)


class RemoveVelocity(
    gym.ObservationWrapper[NDArray[Any], Any, NDArray[Any]],
    gym.utils.RecordConstructorArgs,
):
    """Keep only some dimensions of a 1-D Box observation: by default, the positional ones.

    For the ids in ``POSITION_INDICES`` the velocities are known: CartPole-v1 keeps x and
    θ (0, 2), Pendulum-v1 cos θ and sin θ (0, 1), LunarLander-v3 and LunarLanderContinuous-v3
    x, y, the angle and both leg contacts (0, 1, 4, 6, 7), MountainCar-v0 and
    MountainCarContinuous-v0 the position (0), Acrobot-v1 the four cos/sin (0-3). The ids must
    match exactly (a CartPole-v0 is not assumed to be laid out as v1); for any other env, pass
    ``indices``, which also overrides the table. The observation space is the Box of the kept
    dimensions, in the order given.

    Example:
        >>> import gymnasium as gym
        >>> from wrappers import RemoveVelocity
        >>> env = RemoveVelocity(gym.make("CartPole-v1"))
        >>> env.observation_space
        Box([-4.8         -0.41887903], [4.8        0.41887903], (2,), float32)
        >>> env.reset(seed=0)[0]
        array([ 0.01369617, -0.04590265], dtype=float32)
        >>> RemoveVelocity(gym.make("MountainCar-v0"), indices=[1]).observation_space
        Box(-0.07, 0.07, (1,), float32)
    """

    def __init__(self, env: gym.Env[NDArray[Any], Any], indices: Any = None) -> None:
        """Keep the dimensions ``indices`` of ``env``'s observations.

        Args:
            env: An env with a 1-D float Box observation space.
            indices: The dimensions to keep (distinct, in range); None: the table's for
                ``env.spec.id``.
        """
        gym.utils.RecordConstructorArgs.__init__(self, indices=indices)
        gym.ObservationWrapper.__init__(self, env)
        box = require_float_vector("RemoveVelocity", env.observation_space)
        self.indices = _kept_indices(env, box.shape[0], indices)
        self._take = np.array(self.indices, dtype=np.intp)
        self.observation_space = spaces.Box(
            box.low[self._take], box.high[self._take], (len(self.indices),), box.dtype
        )

    def observation(self, observation: NDArray[Any]) -> NDArray[Any]:
        """The kept dimensions (a new array)."""
        return np.asarray(observation)[self._take]


class _RandomObservation(
    gym.ObservationWrapper[NDArray[Any], Any, NDArray[Any]],
    gym.utils.RecordConstructorArgs,
):
    """A 1-D float Box observation changed at random, from the wrapper's own generator."""

    def __init__(self, env: gym.Env[NDArray[Any], Any], **options: Any) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, **options)
        gym.ObservationWrapper.__init__(self, env)
        self.input_space = require_float_vector(type(self).__name__, env.observation_space)
        self.rng = wrapper_generator(DEFAULT_SEED, type(self).__name__)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        """Reset the env; a ``seed`` also reseeds the wrapper's generator (its own branch)."""
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            self.rng = wrapper_generator(seed, type(self).__name__)
        return self.observation(obs), info


class Flicker(_RandomObservation):
    """Blank the whole observation (all zeros) with probability ``p`` at every step.

    One draw per observation, reset observations included: ``p`` of them, on average, read
    all zeros and the others pass unchanged. The observation space is the env's, widened to
    contain 0 where a bound excludes it (the classic-control and Box2D envs' contain it).

    Example:
        >>> import gymnasium as gym
        >>> import numpy as np
        >>> from wrappers import Flicker
        >>> env = Flicker(gym.make("Pendulum-v1"), p=0.5)
        >>> _ = env.reset(seed=1)
        >>> [bool(env.step(np.zeros(1, np.float32))[0].any()) for _ in range(8)]  # False: blank
        [True, True, True, False, True, True, False, False]
    """

    def __init__(self, env: gym.Env[NDArray[Any], Any], p: float = 0.2) -> None:
        """Blank ``env``'s observations with probability ``p``.

        Args:
            env: An env with a 1-D float Box observation space.
            p: The probability that an observation is all zeros, in [0, 1].
        """
        super().__init__(env, p=p)
        self.p = probability("Flicker", "p", p)
        self.observation_space = _box_with_zero(self.input_space)

    def observation(self, observation: NDArray[Any]) -> NDArray[Any]:
        """All zeros with probability ``p``, else the observation itself."""
        observation = np.asarray(observation)
        if self.rng.random() < self.p:
            return np.zeros_like(observation)
        return observation


class ObservationNoise(_RandomObservation):
    """Add Gaussian noise N(0, std²), independent in every dimension and step, unclipped.

    Not clipped, as in the paper (POMDP-RN adds the noise and nothing else): clipping to the
    env's bounds would make the noise depend on the state. Gaussian noise has no bound, so
    with ``std > 0`` the observation space is the env's Box with infinite bounds: no finite
    bound would contain every noisy observation, and ``observation_space.contains(obs)``
    must hold for every one (Gymnasium's env checker asserts it). ``std=0`` keeps the env's
    space and its observations.

    Example:
        >>> import gymnasium as gym
        >>> from wrappers import ObservationNoise
        >>> env = ObservationNoise(gym.make("Pendulum-v1"), std=0.1)
        >>> env.observation_space
        Box(-inf, inf, (3,), float32)
        >>> noisy, _ = env.reset(seed=0)
        >>> noisy - env.unwrapped._get_obs()  # the noise
        array([0.105..., 0.108..., 0.029...], dtype=float32)
    """

    def __init__(self, env: gym.Env[NDArray[Any], Any], std: float = 0.1) -> None:
        """Add noise of standard deviation ``std`` to ``env``'s observations.

        Args:
            env: An env with a 1-D float Box observation space.
            std: The noise's standard deviation, a finite number >= 0.
        """
        super().__init__(env, std=std)
        self.std = non_negative("ObservationNoise", "std", std)
        box = self.input_space
        self.observation_space = (
            spaces.Box(-np.inf, np.inf, box.shape, box.dtype) if self.std > 0 else box
        )

    def observation(self, observation: NDArray[Any]) -> NDArray[Any]:
        """The observation plus fresh noise, in the observation's dtype."""
        observation = np.asarray(observation)
        noise = self.rng.normal(0.0, self.std, observation.shape)
        return (observation + noise).astype(observation.dtype, copy=False)


class SensorDropout(_RandomObservation):
    """Zero each dimension of the observation independently with probability ``p``.

    A dimension reads 0 as a missing sensor reading; ``p`` of all entries, on average, and
    the others pass unchanged. The observation space is the env's, widened to contain 0 where
    a bound excludes it.

    Example:
        >>> import gymnasium as gym
        >>> from wrappers import SensorDropout
        >>> env = SensorDropout(gym.make("CartPole-v1"), p=0.5)
        >>> env.reset(seed=0)[0]
        array([ 0.        , -0.02302133,  0.        , -0.04834723], dtype=float32)
    """

    def __init__(self, env: gym.Env[NDArray[Any], Any], p: float = 0.1) -> None:
        """Zero each dimension of ``env``'s observations with probability ``p``.

        Args:
            env: An env with a 1-D float Box observation space.
            p: The probability that a dimension reads 0, in [0, 1].
        """
        super().__init__(env, p=p)
        self.p = probability("SensorDropout", "p", p)
        self.observation_space = _box_with_zero(self.input_space)

    def observation(self, observation: NDArray[Any]) -> NDArray[Any]:
        """The observation with each entry zeroed with probability ``p`` (a new array)."""
        observation = np.asarray(observation)
        dropped = self.rng.random(observation.shape) < self.p
        return np.where(dropped, 0, observation).astype(observation.dtype, copy=False)
