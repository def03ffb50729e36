"""One seat of a two-player PettingZoo game as a Gymnasium env: seats alternate, a step runs to
the learner's next turn, and the built-in opponents play as they say."""

import numpy as np
import pytest

pytest.importorskip("pettingzoo", reason="the multiagent extra is not installed")

from wrappers.selfplay import (
    is_pettingzoo_id,
    make_aec,
    one_ply_opponent,
    random_opponent,
    selfplay,
)


def _play(env, rng, games):
    """Random legal moves for the learner; outcome counts per seat: [wins, draws, losses]."""
    counts = {0: [0, 0, 0], 1: [0, 0, 0]}
    for _ in range(games):
        obs, info = env.reset()
        done, ret = False, 0.0
        while not done:
            legal = np.flatnonzero(obs["action_mask"])
            assert obs["agent"] == info["seat"]
            obs, reward, terminated, truncated, info = env.step(rng.choice(legal))
            ret += reward
            done = terminated or truncated
        counts[info["seat"]][0 if ret > 0 else 1 if ret == 0 else 2] += 1
    return counts


def test_the_learner_alternates_seats_and_moves_only_on_its_turns():
    env = selfplay("classic/tictactoe-v3")
    seats = [env.reset(seed=0)[1]["seat"]] + [env.reset()[1]["seat"] for _ in range(3)]
    assert seats == [0, 1, 0, 1]
    obs, info = env.reset(seed=1)
    assert info["seat"] == 0 and obs["action_mask"].sum() == 9  # the first move is the learner's
    obs, reward, terminated, _, _ = env.step(4)
    assert (reward, terminated) == (0.0, False)
    assert obs["action_mask"].sum() == 7  # the opponent has answered: two squares taken
    obs, info = env.reset()
    assert info["seat"] == 1 and obs["action_mask"].sum() == 8  # the opponent opened


def test_the_one_ply_player_beats_random_play_from_both_seats():
    rng = np.random.default_rng(0)
    env = selfplay("classic/tictactoe-v3")
    env.reset(seed=0)
    env.set_opponent(random_opponent)
    random_counts = _play(env, rng, 100)
    env.set_opponent(one_ply_opponent)
    one_ply_counts = _play(env, rng, 100)
    # Random play wins about 60% moving first; against the one-ply player far less.
    assert random_counts[0][0] > 2 * one_ply_counts[0][0]
    assert one_ply_counts[1][2] > 0.7 * sum(one_ply_counts[1])  # the learner loses moving second


def test_ids_of_pettingzoo_and_of_gymnasium_are_told_apart():
    assert is_pettingzoo_id("classic/tictactoe-v3")
    assert is_pettingzoo_id("pettingzoo.classic:connect_four_v3")
    assert not is_pettingzoo_id("CartPole-v1")
    assert not is_pettingzoo_id("nosuchmodule:Thing-v0")
    assert make_aec("pettingzoo.classic:tictactoe_v3").possible_agents == ["player_1", "player_2"]


def test_a_game_that_is_not_for_two_is_refused():
    pytest.importorskip("mpe2")
    with pytest.raises(ValueError, match="two-player game"):
        selfplay("mpe2:simple_spread_v3")


def test_a_turn_with_no_legal_move_is_one_clear_error(monkeypatch):
    env = selfplay("classic/tictactoe-v3")
    env.reset(seed=0)
    real = env.game.observe

    def no_moves(agent):
        obs = dict(real(agent))
        obs["action_mask"] = np.zeros_like(obs["action_mask"])
        return obs

    monkeypatch.setattr(env.game, "observe", no_moves)
    with pytest.raises(ValueError, match="allows no move; the game should have ended"):
        env.step(4)


# PettingZoo's own test suite reaches its deprecated env modules, and warns of an empty board's
# all-zero observation (advice, not a failure)
@pytest.mark.filterwarnings("ignore:The old environment creation API")
@pytest.mark.filterwarnings("ignore:Observation numpy array is all zeros")
@pytest.mark.parametrize("env_id", ["classic/tictactoe-v3", "classic/connect_four-v3"])
def test_the_games_we_wrap_pass_pettingzoos_api_test(env_id):
    from pettingzoo.test import api_test

    api_test(make_aec(env_id), num_cycles=50)
