"""Discretize and the classic-control bounds."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import DiscretizeObservation

import wrappers
from wrappers import Discretize, classic_control_bounds


def test_cartpole_discretizes_without_user_bounds() -> None:
    env = wrappers.discretized("CartPole-v1")
    assert env.observation_space == gym.spaces.Discrete(10**4)
    obs, _ = env.reset(seed=0)
    assert obs in env.observation_space
    for _ in range(50):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert obs in env.observation_space
        if terminated or truncated:
            obs, _ = env.reset()


def test_infinite_bound_without_user_bound_names_the_dimension() -> None:
    with pytest.raises(ValueError, match=r"dimensions 1 \(low=-inf, high=inf\), 3 ") as err:
        Discretize(gym.make("CartPole-v1"))
    assert "classic_control_bounds('CartPole-v1')" in str(err.value)
    # Bounds for dimension 1 only: dimension 3 is still unbounded and named alone.
    with pytest.raises(ValueError, match=r"dimension 3 \(low=-inf, high=inf\)"):
        Discretize(gym.make("CartPole-v1"), low=[None, -3, None, None], high=[None, 3, None, None])


def test_per_dimension_bounds_fill_only_the_given_dimensions() -> None:
    env = Discretize(gym.make("CartPole-v1"), low=[None, -3, None, -3.5], high=[None, 3, None, 3.5])
    space = gym.make("CartPole-v1").observation_space
    np.testing.assert_allclose(env.low, [space.low[0], -3, space.low[2], -3.5])
    np.testing.assert_allclose(env.high, [space.high[0], 3, space.high[2], 3.5])


def test_values_outside_the_bounds_land_in_edge_bins() -> None:
    low, high = classic_control_bounds("CartPole-v1")  # type: ignore[misc]
    multi = Discretize(gym.make("CartPole-v1"), (3, 4, 5, 6), low=low, high=high, flatten=False)
    assert multi.observation_space == gym.spaces.MultiDiscrete([3, 4, 5, 6])
    np.testing.assert_array_equal(
        multi.observation(np.array([99.0, -99, 1e9, -np.inf])), [2, 0, 4, 0]
    )
    flat = Discretize(gym.make("CartPole-v1"), (3, 4, 5, 6), low=low, high=high)
    assert flat.observation(np.array([99.0, -99, 1e9, -np.inf])) == 2 * 4 * 5 * 6 + 4 * 6
    assert flat.observation(high * 10) == flat.observation_space.n - 1
    assert flat.observation(low * 10) == 0


def test_flat_index_agrees_with_the_per_dimension_bins() -> None:
    """The flat path (a plain loop, the tabular hot path) and the numpy path cut the same bins."""
    low, high = classic_control_bounds("CartPole-v1")  # type: ignore[misc]
    flat = Discretize(gym.make("CartPole-v1"), (3, 4, 5, 6), low=low, high=high)
    multi = Discretize(gym.make("CartPole-v1"), (3, 4, 5, 6), low=low, high=high, flatten=False)
    strides = np.array([4 * 5 * 6, 5 * 6, 6, 1])
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5000, 4)) * rng.choice([0.1, 1.0, 10.0], size=(5000, 1))
    specials = np.array([[np.nan, np.inf, -np.inf, 0.0], [np.inf, np.nan, 0.0, -np.inf]])
    for value in np.concatenate([values.astype(np.float32), specials.astype(np.float32)]):
        assert flat.observation(value) == multi.observation(value) @ strides, value
    np.testing.assert_array_equal(multi.observation(specials[0]), [0, 3, 0, 3])


@pytest.mark.parametrize("flatten", [True, False])
def test_inverse_maps_a_bin_to_a_value_inside_it(flatten: bool) -> None:
    env = wrappers.discretized("Acrobot-v1", bins=(2, 3, 4, 5, 6, 7), flatten=flatten)
    space = env.observation_space
    space.seed(0)
    for _ in range(200):
        index = space.sample()
        value = env.inverse(index)
        assert value.dtype == np.float32
        assert value in env.env.observation_space
        np.testing.assert_array_equal(env.observation(value), index)
        # Inside its bin: between the bin's edges.
        multi = np.unravel_index(index, tuple(env.bins)) if flatten else index
        width = (env.high - env.low) / env.bins
        assert np.all(env.low + np.asarray(multi) * width <= value + 1e-6)
        assert np.all(value <= env.low + (np.asarray(multi) + 1) * width + 1e-6)
    with pytest.raises(ValueError, match="out of range"):
        env.inverse(space.n if flatten else env.bins)  # type: ignore[attr-defined]


def test_same_flat_index_as_gymnasium_where_gymnasium_works() -> None:
    ours = Discretize(gym.make("MountainCar-v0"), bins=7)
    theirs = DiscretizeObservation(gym.make("MountainCar-v0"), bins=7)
    assert ours.observation_space == theirs.observation_space
    a, _ = ours.reset(seed=3)
    b, _ = theirs.reset(seed=3)
    assert a == b
    for action in np.random.default_rng(3).integers(0, 3, 200):
        a = ours.step(int(action))[0]
        b = theirs.step(int(action))[0]
        assert a == b


def test_non_uniform_edges() -> None:
    edges = [[-2.4, -0.5, 0.5, 2.4], [-2, 2], [-0.21, -0.02, 0.0, 0.02, 0.21], [-2, 0, 2]]
    env = Discretize(gym.make("CartPole-v1"), edges=edges, flatten=False)
    assert env.observation_space == gym.spaces.MultiDiscrete([3, 1, 4, 2])
    np.testing.assert_array_equal(env.observation(np.array([0.0, 5, 0.01, -0.1])), [1, 0, 2, 0])
    np.testing.assert_array_equal(env.observation(np.array([-9.0, -5, -9, 9])), [0, 0, 0, 1])
    np.testing.assert_allclose(env.inverse([1, 0, 2, 0]), [0.0, 0.0, 0.01, -1.0])
    with pytest.raises(ValueError, match="either edges= or bins="):
        Discretize(gym.make("CartPole-v1"), bins=3, edges=edges)
    with pytest.raises(ValueError, match=r"edges\[1\]"):
        Discretize(gym.make("CartPole-v1"), edges=[[0, 1], [1, 0], [0, 1], [0, 1]])


def test_errors_name_the_wrapper_the_need_and_the_input() -> None:
    with pytest.raises(TypeError, match=r"Discretize needs a Box observation space, got Discrete"):
        Discretize(gym.make("FrozenLake-v1"))
    with pytest.raises(ValueError, match=r"Discretize needs a 1-D Box .* got shape \(2, 3\)"):
        Discretize(_BoxEnv(gym.spaces.Box(0, 1, (2, 3))))
    with pytest.raises(ValueError, match=r"Discretize needs bins as a positive int or 2"):
        Discretize(gym.make("MountainCar-v0"), bins=(3, 0))
    with pytest.raises(ValueError, match=r"low < high .* \[0\]"):
        Discretize(gym.make("MountainCar-v0"), low=[1.0, None], high=[0.0, None])


def test_classic_control_bounds_cover_every_listed_env() -> None:
    for env_id in (
        "CartPole-v1",
        "MountainCar-v0",
        "MountainCarContinuous-v0",
        "Acrobot-v1",
        "Pendulum-v1",
    ):
        bounds = classic_control_bounds(env_id)
        assert bounds is not None
        low, high = bounds
        space = gym.make(env_id).observation_space
        assert low.shape == high.shape == space.shape
        assert np.all(low < high) and np.all(np.isfinite(low)) and np.all(np.isfinite(high))
        env = wrappers.discretized(env_id)
        assert env.observation_space == gym.spaces.Discrete(10 ** space.shape[0])
    assert classic_control_bounds("LunarLander-v3") is None
    # Fresh copies: changing them does not change the table.
    classic_control_bounds("CartPole-v1")[0][:] = 0  # type: ignore[index]
    assert classic_control_bounds("CartPole-v1")[0][0] == np.float32(-2.4)  # type: ignore[index]


def test_spec_rebuilds_the_wrapper() -> None:
    env = wrappers.discretized("CartPole-v1", bins=(2, 3, 4, 5))
    rebuilt = gym.make(env.spec)  # type: ignore[arg-type]
    assert rebuilt.observation_space == env.observation_space
    assert rebuilt.reset(seed=1)[0] == env.reset(seed=1)[0]


class _BoxEnv(gym.Env[np.ndarray, int]):
    """A minimal env with a given observation space, for space checks."""

    def __init__(self, space: gym.spaces.Box) -> None:
        self.observation_space = space
        self.action_space = gym.spaces.Discrete(2)
