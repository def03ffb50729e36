"""rlrun end to end: outputs, evaluation, save/load/resume, Ctrl-C, listing and help."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

from rlagents_test_plugin.processes import default_sigint
from rlagents_test_plugin.runner import invoke

from rlagents import checkpoint as ckpt
from rlagents.run.env_choice import EVALUATION_OVERRIDES

CARTPOLE = ("--env", "CartPole-v1")


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_random_agent_run_writes_every_output(run_cli):
    r = run_cli(
        *CARTPOLE, "--agent", "random", "--steps", "3000", "--seed", "0", "--eval-every", "1000"
    )
    assert r.exit_code == 0, r.stderr
    s = r.summary
    assert s["agent"] == "random" and s["env"] == "CartPole-v1" and s["seed"] == 0
    assert s["steps"] == 3000 and s["steps_per_second"] > 0 and s["wall_seconds"] > 0
    assert s["eval_episodes"] == 10 and 8 <= s["eval_mean_return"] <= 60
    episodes = _rows(r.run_dir / "progress.csv")
    assert len(episodes) == s["episodes"] > 50
    assert sum(int(e["length"]) for e in episodes) <= 3000
    assert [int(e["episode"]) for e in episodes] == list(range(1, len(episodes) + 1))
    evaluations = _rows(r.run_dir / "evaluations.csv")
    assert [int(e["step"]) for e in evaluations] == [
        1000,
        2000,
        3000,
    ]  # the last is the final evaluation
    assert set(evaluations[0]) == {"step", "wall_seconds", "mean_return", "std_return", "episodes"}
    config = json.loads((r.run_dir / "config.json").read_text())
    assert config["agent"] == "random" and config["seed"] == 0
    assert config["machine"]["cpu_model"] and config["machine"]["cpus"] >= 1  # where it ran
    assert ckpt.read_meta(r.run_dir / "checkpoint")["steps"] == 3000
    assert "done: random on CartPole-v1" in r.stdout


def test_same_seed_same_run(run_cli):
    a = run_cli(*CARTPOLE, "--agent", "random", "--steps", "500", "--seed", "3")
    b = run_cli(*CARTPOLE, "--agent", "random", "--steps", "500", "--seed", "3")
    strip = lambda rows: [(r["step"], r["return"]) for r in rows]  # noqa: E731
    assert strip(_rows(a.run_dir / "progress.csv")) == strip(_rows(b.run_dir / "progress.csv"))


def test_episodes_budget(run_cli):
    r = run_cli(*CARTPOLE, "--agent", "random", "--episodes", "7", "--eval-episodes", "0")
    assert r.exit_code == 0, r.stderr
    assert r.summary["episodes"] == 7 and len(_rows(r.run_dir / "progress.csv")) == 7


def test_stop_at_return_stops_early(run_cli):
    r = run_cli(
        *CARTPOLE,
        "--agent",
        "constant",
        "--steps",
        "5000",
        "--eval-every",
        "500",
        "--stop-at-return",
        "5",
    )
    assert r.exit_code == 0, r.stderr
    assert r.summary["reached_target"] and r.summary["steps"] == 500
    # the evaluation that reached the target is the final one: it is not played a second time
    assert [int(e["step"]) for e in _rows(r.run_dir / "evaluations.csv")] == [500]


def test_set_and_plugin_agent(run_cli):
    r = run_cli(*CARTPOLE, "--agent", "constant", "--set", "action=1", "--steps", "200")
    assert r.exit_code == 0, r.stderr
    config = json.loads((r.run_dir / "config.json").read_text())
    assert config["config"] == {"action": 1, "scale": 1.0}


def test_save_load_resumes_the_step_count_and_the_agent_state(run_cli, tmp_path):
    first = run_cli(*CARTPOLE, "--agent", "constant", "--steps", "300", "--save", tmp_path / "ck")
    assert first.exit_code == 0, first.stderr
    meta = ckpt.read_meta(tmp_path / "ck")
    assert meta["steps"] == 300 and meta["config"]["action"] == 0
    second = run_cli("--load", tmp_path / "ck", "--steps", "200", "--save", tmp_path / "ck2")
    assert second.exit_code == 0, second.stderr
    assert second.summary["steps"] == 500 and second.summary["steps_this_run"] == 200
    assert ckpt.read_state(tmp_path / "ck2")["steps_seen"] == 500  # the agent's own state
    assert ckpt.read_meta(tmp_path / "ck2")["episodes"] > meta["episodes"]


def test_eval_only_loads_and_evaluates_without_training(run_cli, tmp_path):
    run_cli(*CARTPOLE, "--agent", "constant", "--steps", "100", "--save", tmp_path / "ck")
    r = run_cli("--load", tmp_path / "ck", "--eval-only", "--eval-episodes", "3")
    assert r.exit_code == 0, r.stderr
    assert r.summary["steps_this_run"] == 0 and r.summary["eval_episodes"] == 3
    assert ckpt.read_meta(tmp_path / "ck")["steps"] == 100  # untouched


def test_the_progress_bar_shows_the_time_left_and_no_bar_when_only_evaluating(tmp_path):
    train = invoke(
        *CARTPOLE,
        "--agent",
        "constant",
        "--steps",
        "3000",
        "--save",
        tmp_path / "ck",
        "--run-dir",
        tmp_path / "train",
    )
    assert train.exit_code == 0, train.stderr
    bar = train.stderr.replace("\r", "\n").splitlines()[-1]
    assert "3.00k/3.00k" in bar and re.search(r"\[\d\d:\d\d<\d\d:\d\d", bar), bar  # [spent<left
    evaluate = invoke(
        "--load",
        tmp_path / "ck",
        "--eval-only",
        "--eval-episodes",
        "1",
        "--run-dir",
        tmp_path / "eval",
    )
    assert evaluate.exit_code == 0, evaluate.stderr
    assert "step" not in evaluate.stderr, evaluate.stderr


def test_ctrl_c_saves_flushes_and_exits_130(run_cli):
    r = run_cli(
        *CARTPOLE,
        "--agent",
        "rlagents_test_plugin:InterruptingAgent",
        "--steps",
        "10000",
        "--set",
        "after=700",
    )
    assert r.exit_code == 130, (r.stdout, r.stderr)
    assert r.summary["interrupted"] and r.summary["steps"] == 700
    assert ckpt.read_meta(r.run_dir / "checkpoint")["steps"] == 700
    episodes = _rows(r.run_dir / "progress.csv")
    assert episodes and int(episodes[-1]["step"]) <= 700


def test_list_agents_shows_distribution_and_spaces(run_cli):
    r = run_cli("--list-agents")
    assert r.exit_code == 0
    line = next(x for x in r.stdout.splitlines() if x.startswith("constant "))
    assert "rlagents-test-plugin 1.0.0" in line and "Box|Discrete" in line and "Discrete" in line
    assert any(x.startswith("random ") and "any" in x for x in r.stdout.splitlines())


def test_show_config_lists_fields_defaults_and_help(run_cli):
    r = run_cli("--agent", "constant", "--show-config")
    assert r.exit_code == 0
    assert "action: int = 0" in r.stdout and "The action taken in every state." in r.stdout


def test_show_config_shows_what_set_gives_after_the_tuned_set(run_cli):
    r = run_cli("--env", "CartPole-v1", "--agent", "dqn", "--set", "learning_rate=1e-3",
                "--set", "double_q=false", "--show-config")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    lines = {line.split(":")[0].strip(): line for line in r.stdout.splitlines()}
    assert "(tuned set 'CartPole-v1') -> 0.001 (--set)" in lines["learning_rate"]
    assert lines["double_q"].endswith("-> False (--set)")


def test_help(run_cli):
    r = run_cli("--help")
    assert r.exit_code == 0
    for option in ("--env", "--agent", "--steps", "--set", "--preset", "--load", "--eval-every"):
        assert option in r.stdout


def test_real_subprocess_run(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [
            "rlrun",
            "--env",
            "CartPole-v1",
            "--agent",
            "random",
            "--steps",
            "2000",
            "--seed",
            "1",
            "--run-dir",
            str(run_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "steps/s" in proc.stdout
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 2000


def test_real_sigint_keeps_the_work(tmp_path, reap):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "--env",
            "CartPole-v1",
            "--agent",
            "random",
            "--steps",
            "100000000",
            "--run-dir",
            str(run_dir),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    reap(proc)
    deadline = time.time() + 60
    while not (run_dir / "config.json").exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["interrupted"] and summary["steps"] > 0
    assert ckpt.read_meta(run_dir / "checkpoint")["steps"] == summary["steps"]
    assert len(_rows(run_dir / "progress.csv")) == summary["episodes"]
    assert not [p for p in os.listdir(run_dir) if p.startswith(".")]  # no temp files left


def test_atari_evaluation_plays_whole_games_with_true_rewards(tmp_path):
    from rlagents.run.options import RunOptions
    from rlagents.run.runner import Run

    opts = RunOptions(
        env_id="ALE/Pong-v5",
        agent="random",
        steps=10,
        seed=0,
        num_envs=1,
        env_kwargs={"clip_reward": True, "terminal_on_life_loss": True},
        run_dir=str(tmp_path / "run"),
        eval_episodes=0,
    )
    run = Run(opts)
    train_env = run.stepper.env
    assert train_env.get_wrapper_attr("clip_reward") is True
    assert train_env.get_wrapper_attr("terminal_on_life_loss") is True
    eval_env = run.plan.env.for_evaluation().make(**EVALUATION_OVERRIDES["atari"])
    assert eval_env.get_wrapper_attr("clip_reward") is False
    assert eval_env.get_wrapper_attr("terminal_on_life_loss") is False
    run.stepper.close()


def test_num_envs_defaults_to_what_the_tuned_set_expects(run_cli):
    r = run_cli(*CARTPOLE, "--agent", "ppo", "--steps", "256", "--eval-episodes", "1")
    assert r.exit_code == 0, r.stderr
    assert json.loads((r.run_dir / "config.json").read_text())["num_envs"] == 8
    r = run_cli(
        *CARTPOLE,
        "--agent",
        "ppo",
        "--steps",
        "256",
        "--eval-episodes",
        "1",
        "--hyperparams",
        "none",
    )
    assert json.loads((r.run_dir / "config.json").read_text())["num_envs"] == 1


def test_train_subcommand_is_the_default(run_cli):
    a = run_cli("train", *CARTPOLE, "--agent", "random", "--steps", "500", "--seed", "3")
    b = run_cli(*CARTPOLE, "--agent", "random", "--steps", "500", "--seed", "3")
    assert a.exit_code == b.exit_code == 0, (a.stderr, b.stderr)
    strip = lambda rows: [(r["step"], r["return"]) for r in rows]  # noqa: E731
    assert strip(_rows(a.run_dir / "progress.csv")) == strip(_rows(b.run_dir / "progress.csv"))


def test_plot_subcommand(run_cli, tmp_path):
    runs = [
        run_cli(*CARTPOLE, "--agent", "random", "--steps", "3000", "--seed", str(s)) for s in (1, 2)
    ]
    out = tmp_path / "curves.png"
    r = run_cli("plot", *(x.run_dir for x in runs), "--out", out)
    assert r.exit_code == 0, r.stderr
    assert out.stat().st_size > 10_000 and f"wrote {out}" in r.stdout


def test_plot_of_a_directory_that_is_not_a_run(run_cli, tmp_path):
    r = run_cli("plot", tmp_path, "--out", tmp_path / "x.png")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "no progress.csv" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("plot", tmp_path / "nope")
    assert r.exit_code == 2 and "no such directory" in r.stderr


def test_video_of_a_trained_agent(run_cli, tmp_path):
    first = run_cli(*CARTPOLE, "--agent", "constant", "--steps", "100", "--save", tmp_path / "ck")
    assert first.exit_code == 0, first.stderr
    r = run_cli("--load", tmp_path / "ck", "--eval-only", "--eval-episodes", "2", "--video",
                "--video-episodes", "1")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert len(list((r.run_dir / "videos").glob("*.mp4"))) == 1
