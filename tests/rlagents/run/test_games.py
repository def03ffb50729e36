"""Two-player games through the run: rlrun --env classic/tictactoe-v3 --agent dqn trains by
self-play and reports wins, draws and losses per opponent and seat."""

import csv
import json

import pytest
from rlagents_test_plugin.runner import invoke

import rlagents

pytest.importorskip("pettingzoo", reason="the multiagent extra is not installed")


def _spread(tmp_path, agent, **options):
    """A short run on MPE's simple_spread: 1,000 joint steps of 2 copies, seed 0."""
    pytest.importorskip("mpe2")
    settings = {"steps": 1_000, "seed": 0, "num_envs": 2, "eval_episodes": 1, **options}
    settings.setdefault("tensorboard", False)
    return rlagents.train("mpe2:simple_spread_v3", agent, run_dir=tmp_path / "run", **settings)


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
    with open(tmp_path / "run" / "evaluations.csv") as f:  # each seat's return, against random
        (row,) = list(csv.DictReader(f))
    by_seat = [float(row[f"mean_return_player_{k}"]) for k in (1, 2)]
    assert by_seat == pytest.approx(list(summary["eval_mean_return_by_agent"].values()))
    resumed = invoke(
        *("--load", tmp_path / "run" / "checkpoint", "--steps", "256", "--eval-episodes", "2"),
        run_dir=tmp_path / "again",
    )
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads((tmp_path / "again" / "summary.json").read_text())["steps"] == 768


def test_a_parallel_env_trains_with_its_agents_as_rows_and_resumes(tmp_path):
    result = _spread(tmp_path, "ppo", eval_episodes=2, tensorboard=True)
    summary = result.summary
    _check_logs_per_agent(result.run_dir, summary["eval_mean_return_by_agent"])
    assert summary["preset"] == "agents"
    assert summary["steps"] == 1_000  # joint steps of the 2 copies, not agent steps
    assert summary["episodes"] == 1_000 // 25  # each copy's: its agents play it together
    assert set(summary["eval_mean_return_by_agent"]) == {"agent_0", "agent_1", "agent_2"}
    assert result.agent.num_envs == 6  # the learner's batch: 2 copies x 3 agents
    resumed = rlagents.train(
        load=result.checkpoint, steps=500, run_dir=tmp_path / "again", eval_episodes=1
    )
    assert 1_500 <= resumed.summary["steps"] < 1_500 + 8  # its tuned set's 8 copies a step


def test_a_saved_parallel_env_run_plays_again_and_records_videos(tmp_path):
    result = _spread(tmp_path, "ppo", steps=200)
    r = invoke(
        *("--load", result.checkpoint, "--eval-only", "--eval-episodes", "2", "--video"),
        *("--video-episodes", "1"),
        run_dir=tmp_path / "video",
    )
    assert r.exit_code == 0, r.stderr
    (video,) = (tmp_path / "video" / "videos").glob("*.mp4")
    assert video.name == "eval-step200-episode-0.mp4" and video.stat().st_size > 1_000
    summary = json.loads((tmp_path / "video" / "summary.json").read_text())
    assert summary["eval_episodes"] == 2 and len(summary["eval_mean_return_by_agent"]) == 3


def _check_logs_per_agent(run_dir, final_by_agent):
    """progress.csv, evaluations.csv and TensorBoard hold each agent's return."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    agents = sorted(final_by_agent)
    with open(run_dir / "progress.csv") as f:
        episodes = list(csv.DictReader(f))
    assert len(episodes) == 40
    for row in episodes:  # an episode's return is the mean of its agents'
        each = [float(row[f"return_{name}"]) for name in agents]
        assert float(row["return"]) == pytest.approx(sum(each) / 3, abs=1e-5)
    with open(run_dir / "evaluations.csv") as f:
        final = list(csv.DictReader(f))[-1]
    for name in agents:
        assert float(final[f"mean_return_{name}"]) == pytest.approx(final_by_agent[name])
    events = EventAccumulator(str(run_dir)).Reload()
    tags = set(events.Tags()["scalars"])
    assert {f"eval/mean_reward/{name}" for name in agents} <= tags
    assert {f"rollout/ep_rew_mean/{name}" for name in agents} <= tags


def test_ippo_improves_on_simple_spread(tmp_path):
    """One PPO policy shared by the three agents (their id an input), 40k joint steps: the mean
    return per agent climbs well above random play's (about -27)."""
    result = _spread(tmp_path, "ppo", steps=40_000, num_envs=None, eval_episodes=20)
    assert result.summary["eval_mean_return"] >= -23.0, result.summary


def test_independent_policies_each_learn_from_their_own_agents_rows(tmp_path):
    import numpy as np

    result = _spread(tmp_path, "ppo", policies="independent")
    learner = result.agent
    assert [p.num_envs for p in learner.policies] == [2, 2, 2]  # each agent's rows of 2 copies
    assert learner.observation_space.shape == (18,)  # one policy per agent: no id input
    weights = [p.policy.pi_head.weight.detach().numpy() for p in learner.policies]
    assert not np.array_equal(weights[0], weights[1])  # separate parameters, separate updates
    agent, meta = rlagents.load_checkpoint(result.checkpoint)
    assert meta["policies"] == "independent" and meta["agent_names"] == [
        "agent_0",
        "agent_1",
        "agent_2",
    ]
    obs = np.random.default_rng(0).normal(size=(6, 18)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs, explore=False), learner.act(obs, explore=False))


def test_independent_policies_need_a_parallel_env(tmp_path):
    r = invoke(
        *("--env", "CartPole-v1", "--agent", "ppo", "--policies", "independent"),
        run_dir=tmp_path / "run",
    )
    assert r.exit_code == 2
    assert "--policies independent gives each agent of a PettingZoo Parallel env" in r.stderr


def test_mappo_acts_on_its_own_observation_and_criticises_with_the_state(tmp_path):
    """MAPPO gets the joint view ({observation, agent, state}); its actor reads only the
    agent's own observation and id, so changing the state leaves its actions as they are."""
    import numpy as np
    import torch

    result = _spread(tmp_path, "mappo")
    agent = result.agent
    assert set(agent.observation_space.spaces) == {"observation", "agent", "state"}
    assert agent.observation_space["state"].shape == (54,)  # simple_spread's state()
    rng = np.random.default_rng(0)
    obs = {
        "observation": rng.normal(size=(6, 18)).astype(np.float32),
        "agent": np.tile(np.eye(3, dtype=np.float32), (2, 1)),
        "state": rng.normal(size=(6, 54)).astype(np.float32),
    }
    other = dict(obs, state=rng.normal(size=(6, 54)).astype(np.float32))
    np.testing.assert_array_equal(agent.act(obs, explore=False), agent.act(other, explore=False))
    rows = torch.as_tensor(agent.layout.flatten(obs))
    other_rows = torch.as_tensor(agent.layout.flatten(other))
    assert not torch.equal(agent.policy.value(rows), agent.policy.value(other_rows))
    resumed = rlagents.train(
        load=result.checkpoint, steps=500, run_dir=tmp_path / "again", eval_episodes=1
    )
    assert resumed.status == "done"


def test_mappo_needs_a_parallel_env(tmp_path):
    r = invoke("--env", "CartPole-v1", "--agent", "mappo", run_dir=tmp_path / "run")
    assert r.exit_code == 2
    assert "reads the joint view of a PettingZoo Parallel env" in r.stderr


def test_a_bad_policies_value_is_one_line_before_step_1(tmp_path):
    r = invoke(
        "--env", "CartPole-v1", "--agent", "ppo", "--policies", "each", run_dir=tmp_path / "r"
    )
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--policies is one of shared, independent, got 'each'" in lines[0]
    assert not (tmp_path / "r").exists()


def test_ippo_collects_on_remote_workers(local_ray, tmp_path):
    """Two Ray workers, each with 2 copies of simple_spread (6 rows): the learner learns from
    their 12 rows as one rollout, and the episodes and each agent's return come back."""
    result = _spread(tmp_path, "ppo", workers=2, num_envs=2, steps=1_024)
    assert result.status == "done", result.summary.get("error")
    assert result.agent.num_envs == 12  # 2 workers x 2 copies x 3 agents
    assert result.summary["steps"] == 1_024  # joint steps: 2 workers x 2 copies x 128 x 2
    assert result.summary["episodes"] == 1_024 // 25
    with open(result.run_dir / "progress.csv") as f:
        assert "return_agent_2" in next(csv.reader(f))


@pytest.mark.parametrize(
    ("env", "extra", "message"),
    [
        ("classic/tictactoe-v3", (), "remote workers do not play two-player games"),
        ("mpe2:simple_spread_v3", ("--policies", "independent"), "one shared policy"),
    ],
)
def test_what_remote_workers_cannot_play_is_one_line(tmp_path, env, extra, message):
    r = invoke("--env", env, "--agent", "ppo", "--workers", "2", *extra, run_dir=tmp_path / "r")
    assert r.exit_code == 2 and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
