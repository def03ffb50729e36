"""FrameStack and VectorFrameStack against Gymnasium's FrameStackObservation."""

from __future__ import annotations

import copy
from typing import Any

import ale_py
import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers import FrameStackObservation

from wrappers import FrameStack, VectorFrameStack

PADDINGS: list[Any] = ["reset", "zero", np.array([1, -1, 0, 2], dtype=np.float32)]


@pytest.mark.parametrize("padding", PADDINGS, ids=["reset", "zero", "custom"])
@pytest.mark.parametrize("stack_size", [1, 3, 4])
def test_same_output_as_gymnasium_across_resets(padding: Any, stack_size: int) -> None:
    ours = FrameStack(gym.make("CartPole-v1"), stack_size, padding_type=padding)
    theirs = FrameStackObservation(gym.make("CartPole-v1"), stack_size, padding_type=padding)
    assert ours.observation_space == theirs.observation_space
    actions = np.random.default_rng(stack_size).integers(0, 2, 300)
    a, _ = ours.reset(seed=7)
    b, _ = theirs.reset(seed=7)
    np.testing.assert_array_equal(a, b)
    resets = 0
    for action in actions:
        a, ra, ta, ua, _ = ours.step(int(action))
        b, rb, tb, ub, _ = theirs.step(int(action))
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype and (ra, ta, ua) == (rb, tb, ub)
        if ta or ua:
            resets += 1
            a, _ = ours.reset()
            b, _ = theirs.reset()
            np.testing.assert_array_equal(a, b)
    assert resets >= 5  # the trajectory really crossed resets


class RandomObservations(gym.Env[Any, int]):
    """Observations sampled from its own copy of ``space`` (seeded by ``reset``); every
    episode ends after 5 steps, so a trajectory crosses resets."""

    def __init__(self, space: spaces.Space[Any]) -> None:
        self.observation_space = copy.deepcopy(space)
        self.action_space = spaces.Discrete(2)
        self._steps = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.observation_space.seed(seed)
        self._steps = 0
        return self.observation_space.sample(), {}

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self._steps += 1
        return self.observation_space.sample(), 0.0, self._steps >= 5, False, {}


class CustomSpace(spaces.Space[Any]):
    """A space Gymnasium knows nothing about (no zero observation)."""


# One of each kind FrameStackObservation stacks, nested ones included.
NON_BOX_SPACES: list[spaces.Space[Any]] = [
    spaces.Discrete(3, start=-1),
    spaces.MultiDiscrete([[2, 3], [3, 2]]),
    spaces.MultiBinary([2, 3]),
    spaces.Tuple((spaces.Discrete(5), spaces.Box(0.0, 1.0, (2,)))),
    spaces.Dict(
        a=spaces.Box(0, 1, (3, 3)),
        b=spaces.Dict(c=spaces.Discrete(4), d=spaces.MultiBinary(2)),
    ),
    spaces.Text(min_length=3, max_length=6),
    spaces.Graph(node_space=spaces.Box(-1, 1, (2,)), edge_space=spaces.Discrete(3)),
    spaces.Sequence(spaces.Discrete(4)),
    spaces.Sequence(spaces.Box(0.0, 1.0, (2,)), stack=True),
    spaces.OneOf([spaces.Discrete(3), spaces.Box(0.0, 1.0)]),
]


def _padding_of(space: spaces.Space[Any], kind: str) -> Any:
    if kind != "custom":
        return kind
    sample_space = copy.deepcopy(space)
    sample_space.seed(123)
    return sample_space.sample()  # an observation of the space, other than the trajectory's


@pytest.mark.parametrize("padding", ["reset", "zero", "custom"])
@pytest.mark.parametrize("space", NON_BOX_SPACES, ids=[type(s).__name__ for s in NON_BOX_SPACES])
def test_every_space_stacks_as_gymnasium_does(space: spaces.Space[Any], padding: str) -> None:
    stack_size = 3
    ours = FrameStack(
        RandomObservations(space), stack_size, padding_type=_padding_of(space, padding)
    )
    theirs = FrameStackObservation(
        RandomObservations(space), stack_size, padding_type=_padding_of(space, padding)
    )
    assert ours.observation_space == theirs.observation_space
    a, _ = ours.reset(seed=3)
    b, _ = theirs.reset(seed=3)
    assert data_equivalence(a, b) and a in ours.observation_space
    for step in range(12):  # two resets on the way
        a, _, ended, _, _ = ours.step(0)
        b, _, _, _, _ = theirs.step(0)
        assert data_equivalence(a, b), f"step {step}"
        assert a in ours.observation_space
        if ended:
            a, _ = ours.reset()
            b, _ = theirs.reset()
            assert data_equivalence(a, b), f"reset after step {step}"


@pytest.mark.parametrize("stack_size", [1, 2, 5])
def test_stack_size_of_other_spaces_matches_gymnasium(stack_size: int) -> None:
    space = spaces.Dict(x=spaces.Discrete(7), y=spaces.Text(4))
    ours = FrameStack(RandomObservations(space), stack_size)
    theirs = FrameStackObservation(RandomObservations(space), stack_size)
    assert ours.observation_space == theirs.observation_space
    assert data_equivalence(ours.reset(seed=0)[0], theirs.reset(seed=0)[0])
    for _ in range(4):
        assert data_equivalence(ours.step(0)[0], theirs.step(0)[0])


def test_stacks_of_other_spaces_belong_to_the_caller() -> None:
    space = spaces.Dict(a=spaces.Box(0, 1, (2,)), g=spaces.Discrete(3))
    env = FrameStack(RandomObservations(space), 3)
    first, _ = env.reset(seed=0)
    kept = copy.deepcopy(first)
    second = env.step(0)[0]
    assert data_equivalence(first, kept)  # the next step did not write into it
    second["a"][:] = 99.0  # nor do the caller's writes reach the next stack
    third = env.step(0)[0]
    assert not np.any(third["a"] == 99.0)


def test_returned_stacks_belong_to_the_caller() -> None:
    env = FrameStack(gym.make("CartPole-v1"), 3)
    first, _ = env.reset(seed=0)
    kept = first.copy()
    second = env.step(0)[0]
    np.testing.assert_array_equal(first, kept)  # later steps do not write into it
    second_kept = second.copy()
    second[:] = 99  # nor do the caller's writes reach the next stack
    third = env.step(0)[0]
    np.testing.assert_array_equal(third[:2], second_kept[1:])
    assert not np.shares_memory(second, third)


def test_image_frames_give_channel_first_uint8_stacks() -> None:
    gym.register_envs(ale_py)
    env = FrameStack(gym.make("ALE/Pong-v5", obs_type="grayscale"), 4)
    assert env.observation_space == gym.spaces.Box(0, 255, (4, 210, 160), np.uint8)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 210, 160) and obs.dtype == np.uint8 and obs.flags.c_contiguous


def test_errors_name_the_wrapper() -> None:
    with pytest.raises(
        ValueError, match=r"FrameStack cannot pad a CustomSpace observation with 'reset'"
    ):
        FrameStack(RandomObservations(CustomSpace()), 4)
    with pytest.raises(ValueError, match=r"Unexpected `padding_type`.*not an observation of"):
        FrameStack(RandomObservations(spaces.Discrete(3)), 2, padding_type=np.int64(5))
    with pytest.raises(
        ValueError, match=r"The stack_size needs to be greater than zero, actual value: 0"
    ):
        FrameStack(gym.make("CartPole-v1"), 0)
    with pytest.raises(ValueError, match=r"Unexpected `padding_type`, expected 'reset', 'zero'"):
        FrameStack(gym.make("CartPole-v1"), 2, padding_type="first")


def _cartpoles(n: int, mode: AutoresetMode, stack: int | None = None) -> SyncVectorEnv:
    def make() -> gym.Env[Any, Any]:
        env = gym.make("CartPole-v1")
        return env if stack is None else FrameStackObservation(env, stack)

    return SyncVectorEnv([make for _ in range(n)], autoreset_mode=mode)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_equals_per_env_stacking_through_autoresets(mode: AutoresetMode) -> None:
    n, k = 3, 4
    ours = VectorFrameStack(_cartpoles(n, mode), k)
    theirs = _cartpoles(n, mode, stack=k)
    assert ours.single_observation_space == theirs.single_observation_space
    assert ours.observation_space == theirs.observation_space
    a, _ = ours.reset(seed=11)
    b, _ = theirs.reset(seed=11)
    np.testing.assert_array_equal(a, b)
    ended = 0
    for actions in np.random.default_rng(0).integers(0, 2, (150, n)):
        a, ra, ta, ua, ia = ours.step(actions)
        b, rb, tb, ub, ib = theirs.step(actions)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ra, rb)
        np.testing.assert_array_equal(ta | ua, tb | ub)
        if mode == AutoresetMode.SAME_STEP and (tb | ub).any():
            np.testing.assert_array_equal(ia["_final_obs"], ib["_final_obs"])
            for j in np.flatnonzero(ib["_final_obs"]):
                np.testing.assert_array_equal(ia["final_obs"][j], ib["final_obs"][j])
                assert ia["final_obs"][j].shape == (k, 4)
        ended += int((tb | ub).sum())
    assert ended >= 10  # autoresets really happened


def test_vector_disabled_autoreset_repads_only_masked_envs() -> None:
    n, k = 3, 3
    ours = VectorFrameStack(_cartpoles(n, AutoresetMode.DISABLED), k)
    theirs = _cartpoles(n, AutoresetMode.DISABLED, stack=k)
    ours.reset(seed=5)
    theirs.reset(seed=5)
    resets = 0
    for actions in np.random.default_rng(1).integers(0, 2, (120, n)):
        a, _, ta, ua, _ = ours.step(actions)
        b, _, tb, ub, _ = theirs.step(actions)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ta | ua, tb | ub)
        done = tb | ub
        if done.any():
            resets += 1
            a, _ = ours.reset(options={"reset_mask": done.copy()})
            b, _ = theirs.reset(options={"reset_mask": done.copy()})
            np.testing.assert_array_equal(a, b)
    assert resets >= 3


def test_vector_same_step_matches_ale_native_stacking() -> None:
    """ale-py's C++ vector env stacks (zero-padded) and returns a dense final_obs array.

    Stacking its single frames with VectorFrameStack(padding_type="zero") must give the
    same observations and final observations, autoresets included.
    """
    gym.register_envs(ale_py)
    kwargs: dict[str, Any] = dict(
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
        max_num_frames_per_episode=160,  # short episodes: truncation every ~40 steps
        noop_max=0,
        use_fire_reset=False,
    )
    native = gym.make_vec("ALE/Pong-v5", 2, stack_num=4, **kwargs)
    single = gym.make_vec("ALE/Pong-v5", 2, stack_num=1, **kwargs)
    ours = VectorFrameStack(single, 4, padding_type="zero")
    try:
        a, _ = ours.reset(seed=3)
        b, _ = native.reset(seed=3)
        np.testing.assert_array_equal(a[:, :, 0], b)
        ended = 0
        for actions in np.random.default_rng(2).integers(0, 6, (100, 2)):
            a, _, ta, ua, ia = ours.step(actions)
            b, _, tb, ub, ib = native.step(actions)
            np.testing.assert_array_equal(a[:, :, 0], b)
            done = tb | ub
            np.testing.assert_array_equal(ta | ua, done)
            for j in np.flatnonzero(done):
                np.testing.assert_array_equal(ia["final_obs"][j][:, 0], ib["final_obs"][j])
            ended += int(done.sum())
        assert ended >= 2
    finally:
        ours.close()
        native.close()


def test_vector_errors_name_the_wrapper() -> None:
    envs = gym.make_vec("FrozenLake-v1", 2, vectorization_mode="sync")
    with pytest.raises(TypeError, match=r"VectorFrameStack needs a Box observation space"):
        VectorFrameStack(envs, 4)


@pytest.mark.filterwarnings("ignore:.*Casting input x to numpy array")  # Gymnasium's, for [1..5]
def test_bad_arguments_fail_as_gymnasiums_wrapper_fails() -> None:
    """A drop-in for FrameStackObservation: the same exception types and messages."""
    env = gym.make("CartPole-v1")
    for wrapper in (FrameStack, gym.wrappers.FrameStackObservation):
        with pytest.raises(TypeError, match=r"The stack_size is expected to be an integer"):
            wrapper(env, stack_size=1.0)
        with pytest.raises(ValueError, match=r"The stack_size needs to be greater than zero"):
            wrapper(env, stack_size=0)
        with pytest.raises(ValueError, match=r"Unexpected `padding_type`, expected 'reset'"):
            wrapper(env, stack_size=3, padding_type="unknown")
        with pytest.raises(ValueError, match=r"actual value: array\(\[1, 2, 3, 4, 5\]\)"):
            wrapper(env, stack_size=3, padding_type=np.array([1, 2, 3, 4, 5]))
