"""Two-player games through the run: rlrun --env classic/tictactoe-v3 --agent dqn trains by
self-play and reports wins, draws and losses per opponent and seat."""

import json

import pytest
from rlagents_test_plugin.runner import invoke

import rlagents

pytest.importorskip("pettingzoo", reason="the multiagent extra is not installed")


def test_self_play_beats_random_play_at_tic_tac_toe(tmp_path):
    result = rlagents.train(
        "classic/tictactoe-v3",
        "dqn",
        steps=15_000,
        seed=0,
        eval_episodes=30,
        run_dir=tmp_path / "run",
        tensorboard=False,
    )
    games = result.summary["eval_games"]
    assert set(games) == {"random", "one_ply"} and set(games["random"]) == {"0", "1"}
    for seat in ("0", "1"):
        outcomes = games["random"][seat]
        assert outcomes["win"] + outcomes["draw"] + outcomes["loss"] == pytest.approx(1.0)
    # Random play against random play: the first mover wins about 60%, the second 30%.
    assert games["random"]["0"]["win"] >= 0.8
    assert games["random"]["1"]["win"] >= 0.45
    # The evaluation's return is the mean against random play over both seats.
    assert result.summary["eval_mean_return"] >= 0.4
    by_agent = result.summary["eval_mean_return_by_agent"]
    assert set(by_agent) == {"player_1", "player_2"}
    assert result.summary["eval_mean_return"] == pytest.approx(sum(by_agent.values()) / 2)


def test_the_command_line_names_the_preset_and_saves_the_games(tmp_path):
    r = invoke(
        *("--env", "classic/tictactoe-v3", "--agent", "ppo", "--steps", "512"),
        *("--eval-episodes", "2", "--no-tensorboard"),
        run_dir=tmp_path / "run",
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads((tmp_path / "run" / "config.json").read_text())["preset"] == "selfplay"
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert set(summary["eval_games"]["one_ply"]) == {"0", "1"}
    resumed = invoke(
        *("--load", tmp_path / "run" / "checkpoint", "--steps", "256", "--eval-episodes", "2"),
        run_dir=tmp_path / "again",
    )
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads((tmp_path / "again" / "summary.json").read_text())["steps"] == 768
