"""The POMDP wrappers on seeded trajectories: what each hides, with which statistics, its own
reproducible generator, its recorded arguments, its input checks and its snapshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import wrappers
from rlagents.env_snapshot import restore_env, snapshot_env
from wrappers import Flicker, ObservationNoise, RemoveVelocity, SensorDropout
from wrappers.pomdp import POSITION_INDICES

WrapperMaker = Callable[[gym.Env[Any, Any]], gym.Env[Any, Any]]
RANDOM_WRAPPERS: dict[str, WrapperMaker] = {
    "Flicker": lambda env: Flicker(env, p=0.3),
    "ObservationNoise": lambda env: ObservationNoise(env, std=0.2),
    "SensorDropout": lambda env: SensorDropout(env, p=0.3),
}


class RawObservation(gym.Wrapper[Any, Any, Any, Any]):
    """Keeps the last observation of the env below the wrapper under test."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.last, info = self.env.reset(**kwargs)
        return self.last, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        self.last, *rest = self.env.step(action)
        return (self.last, *rest)  # type: ignore[return-value]


class Stub(gym.Env[Any, int]):
    """An env of the given observation space, made without gymnasium.make (no spec)."""

    action_space = spaces.Discrete(2)

    def __init__(self, space: spaces.Space[Any]) -> None:
        self.observation_space = space


def trajectory(
    env_id: str, wrap: WrapperMaker, steps: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(raw, wrapped) observations of a seeded run with seeded random actions, across resets."""
    raw_env = RawObservation(gym.make(env_id))
    env = wrap(raw_env)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    raws, seen = [raw_env.last], [obs]
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()
        raws.append(raw_env.last)
        seen.append(obs)
        assert obs in env.observation_space
    return np.array(raws), np.array(seen)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1", "LunarLander-v3"])
def test_remove_velocity_keeps_exactly_the_tables_indices(env_id: str) -> None:
    kept = list(POSITION_INDICES[env_id])
    raw, seen = trajectory(env_id, RemoveVelocity, 300)
    np.testing.assert_array_equal(seen, raw[:, kept])
    assert seen.dtype == np.float32


@pytest.mark.parametrize("env_id", sorted(POSITION_INDICES))
def test_remove_velocity_slices_the_bounds(env_id: str) -> None:
    env = gym.make(env_id)
    box = env.observation_space
    kept = list(POSITION_INDICES[env_id])
    space = RemoveVelocity(env).observation_space
    assert space == spaces.Box(box.low[kept], box.high[kept], (len(kept),), box.dtype)


def test_remove_velocity_table_matches_the_velocity_free_layouts() -> None:
    assert POSITION_INDICES == {
        "CartPole-v1": (0, 2),
        "Pendulum-v1": (0, 1),
        "LunarLander-v3": (0, 1, 4, 6, 7),
        "LunarLanderContinuous-v3": (0, 1, 4, 6, 7),
        "MountainCar-v0": (0,),
        "MountainCarContinuous-v0": (0,),
        "Acrobot-v1": (0, 1, 2, 3),
    }


def test_remove_velocity_refuses_ids_outside_its_table_without_indices() -> None:
    with pytest.warns(DeprecationWarning, match="out of date"):
        old = gym.make("CartPole-v0")  # laid out as v1, but the table matches exact ids only
    with pytest.raises(
        ValueError, match=r"knows .*CartPole-v1.*not for CartPole-v0; pass indices="
    ):
        RemoveVelocity(old)
    assert RemoveVelocity(old, indices=[0, 2]).observation_space.shape == (2,)
    with pytest.raises(ValueError, match=r"^RemoveVelocity knows .*, not for Stub; pass indices"):
        RemoveVelocity(Stub(spaces.Box(-1, 1, (5,))))


def test_remove_velocity_indices_override_the_table_in_the_order_given() -> None:
    raw, seen = trajectory("CartPole-v1", lambda env: RemoveVelocity(env, indices=[3, 1]), 50)
    np.testing.assert_array_equal(seen, raw[:, [3, 1]])


def test_flicker_blanks_about_p_of_the_steps_and_nothing_else() -> None:
    raw, seen = trajectory("Pendulum-v1", lambda env: Flicker(env, p=0.3), 3000)
    blank = ~seen.any(axis=1)
    assert abs(blank.mean() - 0.3) < 0.03
    np.testing.assert_array_equal(seen[~blank], raw[~blank])  # the others pass unchanged
    assert raw[blank].any(axis=1).all()  # the blanks are the wrapper's, not the env's


def test_observation_noise_has_the_asked_standard_deviation() -> None:
    raw, seen = trajectory("Pendulum-v1", lambda env: ObservationNoise(env, std=0.2), 3000)
    noise = seen.astype(np.float64) - raw
    assert abs(noise.std() - 0.2) < 0.01 and abs(noise.mean()) < 0.01
    assert np.abs(np.corrcoef(noise.T) - np.eye(3)).max() < 0.1  # independent per dimension
    assert (np.abs(seen[:, :2]) > 1).any()  # unclipped: cos and sin leave [-1, 1]


def test_observation_noise_space_is_unbounded_and_std_zero_changes_nothing() -> None:
    env = ObservationNoise(gym.make("Pendulum-v1"), std=0.5)
    assert env.observation_space == spaces.Box(-np.inf, np.inf, (3,), np.float32)
    quiet = ObservationNoise(gym.make("Pendulum-v1"), std=0)
    assert quiet.observation_space == gym.make("Pendulum-v1").observation_space
    raw, seen = trajectory("Pendulum-v1", lambda env: ObservationNoise(env, std=0.0), 50)
    np.testing.assert_array_equal(seen, raw)


def test_sensor_dropout_zeroes_about_p_of_the_entries() -> None:
    raw, seen = trajectory("CartPole-v1", lambda env: SensorDropout(env, p=0.3), 3000)
    assert (raw != 0).all()  # so that every 0 seen is a dropped entry
    dropped = seen == 0
    assert abs(dropped.mean() - 0.3) < 0.02
    assert all(abs(column.mean() - 0.3) < 0.05 for column in dropped.T)  # in every dimension
    np.testing.assert_array_equal(seen[~dropped], raw[~dropped])


def test_zero_is_added_to_bounds_that_exclude_it() -> None:
    class Positive(gym.Env[np.ndarray, int]):
        observation_space = spaces.Box(1.0, 2.0, (3,), np.float32)
        action_space = spaces.Discrete(2)

    for wrapper in (Flicker, SensorDropout):
        assert wrapper(Positive()).observation_space == spaces.Box(0.0, 2.0, (3,), np.float32)
    assert (
        Flicker(gym.make("CartPole-v1")).observation_space
        == gym.make("CartPole-v1").observation_space
    )


@pytest.mark.parametrize("name", sorted(RANDOM_WRAPPERS))
def test_a_seeded_reset_makes_the_wrapper_reproducible(name: str) -> None:
    wrap = RANDOM_WRAPPERS[name]
    _, first = trajectory("CartPole-v1", wrap, 200, seed=5)
    _, again = trajectory("CartPole-v1", wrap, 200, seed=5)
    _, other = trajectory("CartPole-v1", wrap, 200, seed=6)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    env = wrap(gym.make("CartPole-v1"))
    a = [env.reset(seed=5)[0]] + [env.step(0)[0] for _ in range(5)]
    b = [env.reset(seed=5)[0]] + [env.step(0)[0] for _ in range(5)]
    np.testing.assert_array_equal(a, b)  # a seeded reset restarts the wrapper's stream too


@pytest.mark.parametrize("name", sorted(RANDOM_WRAPPERS))
def test_unseeded_wrappers_start_from_a_fixed_default(name: str) -> None:
    a, b = (RANDOM_WRAPPERS[name](gym.make("CartPole-v1")) for _ in range(2))
    np.testing.assert_array_equal(a.rng.random(8), b.rng.random(8))  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(RANDOM_WRAPPERS))
def test_the_wrappers_generator_is_not_the_envs(name: str) -> None:
    env = RANDOM_WRAPPERS[name](gym.make("CartPole-v1"))
    env.reset(seed=3)
    assert isinstance(env.rng, np.random.Generator)  # type: ignore[attr-defined]
    assert env.rng is not env.unwrapped.np_random  # type: ignore[attr-defined]
    ours = env.rng.random(16)  # type: ignore[attr-defined]
    assert not np.isin(ours, np.random.default_rng(3).random(64)).any()  # the env's stream
    # The wrapper draws from its own stream only: the env sees the same run as unwrapped.
    raw, _ = trajectory("CartPole-v1", RANDOM_WRAPPERS[name], 100, seed=3)
    plain, _ = trajectory("CartPole-v1", lambda env: env, 100, seed=3)
    np.testing.assert_array_equal(raw, plain)


def test_two_wrappers_on_one_seed_draw_different_numbers() -> None:
    flicker = Flicker(gym.make("CartPole-v1"))
    dropout = SensorDropout(gym.make("CartPole-v1"))
    flicker.reset(seed=0)
    dropout.reset(seed=0)
    assert not np.array_equal(flicker.rng.random(8), dropout.rng.random(8))


@pytest.mark.parametrize(
    ("wrap", "kwargs"),
    [
        (lambda env: RemoveVelocity(env, indices=(0, 2)), {"indices": (0, 2)}),
        (lambda env: RemoveVelocity(env), {"indices": None}),
        (lambda env: Flicker(env, p=0.4), {"p": 0.4}),
        (lambda env: ObservationNoise(env, std=0.3), {"std": 0.3}),
        (lambda env: SensorDropout(env, p=0.2), {"p": 0.2}),
    ],
)
def test_constructor_arguments_are_recorded(wrap: WrapperMaker, kwargs: dict[str, Any]) -> None:
    env = wrap(gym.make("CartPole-v1"))
    assert env._saved_kwargs == kwargs  # type: ignore[attr-defined]
    assert env.spec is not None and env.spec.additional_wrappers[-1].kwargs == kwargs
    rebuilt = gym.make(env.spec)
    assert rebuilt.observation_space == env.observation_space
    a = [env.reset(seed=1)[0]] + [env.step(i % 2)[0] for i in range(10)]
    b = [rebuilt.reset(seed=1)[0]] + [rebuilt.step(i % 2)[0] for i in range(10)]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "space",
    [
        spaces.Discrete(4),
        spaces.Box(0, 1, (2, 3), np.float32),
        spaces.Box(0, 10, (3,), np.int64),
        spaces.Dict(x=spaces.Box(0, 1, (3,))),
    ],
    ids=["discrete", "2-D", "int", "dict"],
)
@pytest.mark.parametrize("wrapper", [RemoveVelocity, Flicker, ObservationNoise, SensorDropout])
def test_input_spaces_other_than_1d_float_boxes_are_refused(
    wrapper: type[gym.Wrapper[Any, Any, Any, Any]], space: spaces.Space[Any]
) -> None:
    name = wrapper.__name__
    with pytest.raises(ValueError, match=rf"^{name} needs a 1-D float Box observation space, got"):
        wrapper(Stub(space))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda e: Flicker(e, p=1.5),
            r"^Flicker needs p to be a probability in \[0, 1\], got 1.5$",
        ),
        (lambda e: Flicker(e, p=-0.1), r"Flicker needs p to be a probability"),
        (lambda e: Flicker(e, p=True), r"Flicker needs p to be a probability"),
        (lambda e: SensorDropout(e, p="0.1"), r"SensorDropout needs p to be a probability"),
        (lambda e: SensorDropout(e, p=float("nan")), r"SensorDropout needs p to be a probability"),
        (lambda e: ObservationNoise(e, std=-1), r"^ObservationNoise needs std to be a finite"),
        (lambda e: ObservationNoise(e, std=float("inf")), r"ObservationNoise needs std"),
        (
            lambda e: RemoveVelocity(e, indices=[0, 0]),
            r"^RemoveVelocity needs indices as .*distinct",
        ),
        (lambda e: RemoveVelocity(e, indices=[4]), r"ints from 0 to 3, got \[4\]$"),
        (lambda e: RemoveVelocity(e, indices=[-1]), r"RemoveVelocity needs indices"),
        (lambda e: RemoveVelocity(e, indices=[]), r"RemoveVelocity needs indices"),
        (lambda e: RemoveVelocity(e, indices=[True]), r"RemoveVelocity needs indices"),
        (lambda e: RemoveVelocity(e, indices=2), r"RemoveVelocity needs indices"),
    ],
)
def test_bad_options_are_one_line_value_errors(make: WrapperMaker, message: str) -> None:
    with pytest.raises(ValueError, match=message) as e:
        make(gym.make("CartPole-v1"))
    assert "\n" not in str(e.value)


def test_a_snapshot_continues_the_same_noise() -> None:
    def make() -> gym.Env[Any, Any]:
        return SensorDropout(ObservationNoise(Flicker(gym.make("CartPole-v1"), 0.3), 0.1), 0.3)

    env = make()
    env.reset(seed=0)
    for i in range(5):
        env.step(i % 2)
    saved = snapshot_env(env)
    ahead = [env.step(i % 2)[0] for i in range(8)]
    restore_env(env, saved)
    np.testing.assert_array_equal([env.step(i % 2)[0] for i in range(8)], ahead)
    fresh = make()  # a rebuilt env, as a resumed run has, need not even be reset
    restore_env(fresh, saved)
    np.testing.assert_array_equal([fresh.step(i % 2)[0] for i in range(8)], ahead)


@pytest.mark.parametrize(
    ("preset", "options", "wrapper", "attribute", "value"),
    [
        ("remove_velocity", {}, RemoveVelocity, "indices", (0, 1)),
        ("remove_velocity", {"indices": [2]}, RemoveVelocity, "indices", (2,)),
        ("flicker", {}, Flicker, "p", 0.2),
        ("noise", {"std": 0.05}, ObservationNoise, "std", 0.05),
        ("dropout", {}, SensorDropout, "p", 0.1),
    ],
)
@pytest.mark.parametrize("stack_size", [1, 4])
def test_presets_wrap_then_stack(
    preset: str, options: dict[str, Any], wrapper: type, attribute: str, value: Any, stack_size: int
) -> None:
    env = wrappers.PRESETS[preset](
        "Pendulum-v1", stack_size=stack_size, max_episode_steps=7, **options
    )
    assert env.spec is not None and env.spec.max_episode_steps == 7  # make kwargs pass through
    inner = env.env if stack_size > 1 else env
    assert isinstance(inner, wrapper) and getattr(inner, attribute) == value
    if stack_size > 1:
        assert isinstance(env, wrappers.FrameStack) and env.stack_size == stack_size
        assert env.observation_space.shape == (stack_size, *inner.observation_space.shape)
    else:
        assert not isinstance(env, wrappers.FrameStack)
    obs, _ = env.reset(seed=0)
    assert obs in env.observation_space


def test_presets_refuse_what_they_cannot_do() -> None:
    with pytest.raises(ValueError, match=r"^flicker\(\) needs stack_size to be a positive integer"):
        wrappers.flicker("CartPole-v1", stack_size=0)
    with pytest.raises(ValueError, match=r"^noise\(\) cannot make 'NoSuchEnv-v0'"):
        wrappers.noise("NoSuchEnv-v0")
    with pytest.raises(ValueError, match=r"^Flicker needs p"):
        wrappers.flicker("CartPole-v1", p=2)
