"""``rlrun sweep``: a bad space is one line before Ray starts; a tiny sweep completes on the local
Ray, writes a best set that ``--hyperparams`` loads, and resumes from its directory."""

import json

import pytest
import yaml
from rlagents_test_plugin.runner import invoke

SWEEP = ("sweep", "--env", "CartPole-v1", "--agent", "ppo")


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ("learning_rat: {uniform: [0.1, 0.2]}", "PPOConfig has no field 'learning_rat' (did you"),
        ("n_epochs: {int: [5.5, 9]}", "n_epochs: 5.5 is not a value it takes"),
        ("gamma: {uniform: [0.99, 0.9]}", "gamma: the range [0.99, 0.9] is empty"),
        ("learning_rate: {loguniform: [0, 0.1]}", "is not a value it takes"),
        ("objective: {choice: []}", "choice takes a non-empty list"),
        ("gamma: {normal: [0, 1]}", "expected one of {choice: [...]}"),
        ("- just a list", "expected a mapping of Config fields"),
    ],
)
def test_a_bad_space_is_one_line_before_ray_starts(tmp_path, space, message):
    path = tmp_path / "space.yaml"
    path.write_text(space + "\n")
    result = invoke(*SWEEP, "--space", path, "--steps", "100", "--run-dir", tmp_path / "sweep")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"rlrun: error: --space {path}: ") and message in line
    assert not (tmp_path / "sweep").exists()


def test_a_sweep_completes_writes_a_best_set_that_loads_and_resumes(local_ray, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {loguniform: [1.0e-4, 3.0e-3]}\nn_epochs: {int: [2, 8]}\n")
    sweep_dir = tmp_path / "sweep"
    args = (*SWEEP, "--space", space, "--trials", "4", "--seeds", "2", "--steps", "1024")
    args += ("--eval-every", "512", "--eval-episodes", "2", "--run-dir", sweep_dir)
    args += ("--grace-rounds", "2")  # both rounds: ASHA stops no trial
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    assert "sweep: 4 trials × 2 seeds; best score" in result.stdout
    best = yaml.safe_load((sweep_dir / "best.yaml").read_text())
    assert 1e-4 <= best["learning_rate"] <= 3e-3 and 2 <= best["n_epochs"] <= 8
    assert best["n_steps"] == 32  # the CartPole set the trials started from is in it
    assert best["n_timesteps"] == 1024  # the budget it was tuned for
    trials = (sweep_dir / "trials.csv").read_text().splitlines()
    assert len(trials) == 5  # a header and four trials
    rounds = trials[0].split(",").index("training_iteration")
    assert [row.split(",")[rounds] for row in trials[1:]] == ["2"] * 4
    run = invoke(
        "--env", "CartPole-v1", "--agent", "ppo", "--hyperparams", sweep_dir / "best.yaml",
        "--steps", "256", "--eval-episodes", "1", "--run-dir", tmp_path / "run", "--quiet",
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert config["learning_rate"] == best["learning_rate"]
    assert config["n_epochs"] == best["n_epochs"]
    # The best trial's seed 0 is the single run of seed 0 with the best set: the trial's seeds,
    # trained side by side in threads, did not draw each other's initial weights.
    best_trial = min(trials[1:], key=lambda row: -float(row.split(",")[0])).split(",")
    trial_id = best_trial[trials[0].split(",").index("trial_id")]
    (trial_dir,) = (sweep_dir / "tune").glob(f"*{trial_id}*")
    single = invoke(
        "--env", "CartPole-v1", "--agent", "ppo", "--hyperparams", sweep_dir / "best.yaml",
        "--seed", "0", "--steps", "1024", "--eval-every", "512", "--eval-episodes", "2",
        "--run-dir", tmp_path / "single", "--quiet", "--no-tensorboard",
    )  # fmt: skip
    assert single.exit_code == 0, single.stderr
    in_trial = _episodes(trial_dir / "s0" / "progress.csv")
    alone = _episodes(tmp_path / "single" / "progress.csv")
    assert len(in_trial) > 5 and in_trial == alone[: len(in_trial)]
    again = invoke(*args)  # the same directory: Tune restores the finished sweep
    assert again.exit_code == 0, again.stderr
    assert yaml.safe_load((sweep_dir / "best.yaml").read_text()) == best


def test_a_grace_period_longer_than_the_trials_is_one_line_before_ray_starts(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {loguniform: [1.0e-4, 3.0e-3]}\n")
    result = invoke(
        *SWEEP, "--space", space, "--steps", "1024", "--eval-every", "512",
        "--grace-rounds", "3", "--run-dir", tmp_path / "sweep",
    )  # fmt: skip
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        "rlrun: error: --grace-rounds 3: a trial has 2 evaluation rounds (--steps / --eval-every); "
        "give 1 to 2"
    )
    assert not (tmp_path / "sweep").exists()


def test_a_tuned_set_file_that_is_not_a_mapping_is_one_line(tmp_path):
    path = tmp_path / "best.yaml"
    path.write_text("- 1\n- 2\n")
    result = invoke(
        "--env", "CartPole-v1", "--agent", "ppo", "--hyperparams", path, run_dir=tmp_path / "r"
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"rlrun: error: --hyperparams {path}: expected a mapping of Config fields to values"
    )


def test_a_missing_space_or_tuned_set_file_is_one_line(tmp_path):
    missing = tmp_path / "nope.yaml"
    sweep = invoke(*SWEEP, "--space", missing, "--steps", "100", "--run-dir", tmp_path / "s")
    assert sweep.exit_code == 2
    assert sweep.stderr.strip().startswith(f"rlrun: error: --space {missing}: cannot read it")
    run = invoke("--env", "CartPole-v1", "--agent", "ppo", "--hyperparams", missing,
                 run_dir=tmp_path / "r")  # fmt: skip
    assert run.exit_code == 2
    assert run.stderr.strip().startswith(f"rlrun: error: --hyperparams {missing}: cannot read")


def test_a_sweep_of_an_agent_on_workers_is_refused_in_one_line(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("learning_rate: {loguniform: [1e-4, 1e-3]}\n")  # 1e-4: YAML 1.1 says str
    result = invoke(
        *("sweep", "--env", "CartPole-v1", "--agent", "a3c", "--space", path, "--steps", "100"),
        *("--run-dir", tmp_path / "sweep"),
    )
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "trains on remote workers" in line and "a2c" in line
    assert not (tmp_path / "sweep").exists()


def _episodes(progress_csv) -> list[tuple[str, str, str]]:
    """(step, episode, return) of each training episode a run's progress.csv logged."""
    rows = progress_csv.read_text().splitlines()[1:]
    return [tuple(row.split(",")[:3]) for row in rows]


def test_a_sweep_of_a_two_player_game_scores_its_trials(local_ray, tmp_path):
    """Self-play at tic-tac-toe: each trial's score is its evaluation against random play."""
    pytest.importorskip("pettingzoo", reason="the multiagent extra is not installed")
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {loguniform: [1.0e-4, 3.0e-3]}\n")
    result = invoke(
        *("sweep", "--env", "classic/tictactoe-v3", "--agent", "dqn", "--space", space),
        *("--trials", "2", "--seeds", "1", "--steps", "1000", "--eval-every", "500"),
        *("--eval-episodes", "2", "--grace-rounds", "2", "--run-dir", tmp_path / "sweep"),
    )
    assert result.exit_code == 0, result.stderr
    assert "sweep: 2 trials × 1 seeds; best score" in result.stdout
    best = yaml.safe_load((tmp_path / "sweep" / "best.yaml").read_text())
    assert 1e-4 <= best["learning_rate"] <= 3e-3
    # Tune stops a trial at its last round; the trial's runs were finished before that
    summaries = list((tmp_path / "sweep" / "tune").glob("*/s0/summary.json"))
    assert len(summaries) == 2
    for summary in summaries:
        assert set(json.loads(summary.read_text())["eval_games"]) == {"random", "one_ply"}
