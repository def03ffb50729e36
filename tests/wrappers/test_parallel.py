"""A PettingZoo Parallel env's agents as the rows of a vector env."""

import numpy as np
import pytest

pytest.importorskip("mpe2", reason="the multiagent extra is not installed")

from wrappers.parallel import AgentsAsRows, is_parallel_id, make_parallel

SPREAD = "mpe2:simple_spread_v3"


def test_each_agent_of_each_copy_is_a_row_with_its_id():
    envs = AgentsAsRows(lambda: make_parallel(SPREAD), num_copies=2)
    assert (envs.num_envs, envs.env_steps_per_step) == (6, 2)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (6, 18 + 3)
    np.testing.assert_array_equal(obs[:3, -3:], np.eye(3))  # agent ids, copy 0
    np.testing.assert_array_equal(obs[3:, -3:], np.eye(3))  # copy 1


def test_an_episode_ends_for_every_agent_at_once_with_its_true_last_observation():
    envs = AgentsAsRows(lambda: make_parallel(SPREAD, max_cycles=5), num_copies=1)
    envs.reset(seed=0)
    for _ in range(5):
        obs, reward, terminated, truncated, info = envs.step(np.zeros(3, dtype=np.int64))
        assert reward.shape == (3,)
    assert truncated.all() and not terminated.any()
    assert info["_final_obs"].all() and info["final_obs"][0].shape == (21,)
    assert not np.array_equal(info["final_obs"][0], obs[0])  # obs is the next episode's first


def test_random_play_scores_what_the_issue_measured():
    """Random actions on simple_spread (N=3, defaults): about -27 per agent and episode."""
    envs = AgentsAsRows(lambda: make_parallel(SPREAD), num_copies=4)
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    totals, episodes = np.zeros(12), []
    for _ in range(25 * 10):
        _, reward, _, _, info = envs.step(rng.integers(0, 5, 12))
        totals += reward
        if "final_obs" in info:
            episodes.append(totals.mean())
            totals[:] = 0
    assert len(episodes) == 10
    assert -32 < np.mean(episodes) < -22


def test_only_parallel_envs_are_taken_for_rows():
    assert is_parallel_id(SPREAD)
    assert not is_parallel_id("pettingzoo.classic:tictactoe_v3")  # turn-based: selfplay
    assert not is_parallel_id("CartPole-v1")


# PettingZoo's own test suite reaches its deprecated env modules
@pytest.mark.filterwarnings("ignore:The old environment creation API")
def test_the_parallel_env_we_wrap_passes_pettingzoos_parallel_api_test():
    from pettingzoo.test import parallel_api_test

    parallel_api_test(make_parallel(SPREAD), num_cycles=50)
