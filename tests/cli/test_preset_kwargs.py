"""``--preset-kwargs``: the preset's own options reach training, evaluation, config.json, the
checkpoint and a resumed run; every mistake in them is one line and exit status 2."""

import json

import pytest

import rlagents
from rlagents import checkpoint as ckpt
from rlagents.run.options import RunOptions
from rlagents.run.runner import Run

PENDULUM = ("--env", "Pendulum-v1", "--agent", "random", "--no-tensorboard")
TINY = ("--steps", "30", "--eval-episodes", "1", "--eval-max-steps", "5")
STACKED = ("--preset", "remove_velocity", "--preset-kwargs", "stack_size=4")


def _config(run_dir):
    return json.loads((run_dir / "config.json").read_text())


def test_a_stacked_velocity_free_pendulum_trains_and_resumes(run_cli):
    r = run_cli(*PENDULUM, *STACKED, *TINY, "--seed", "0")
    assert r.exit_code == 0, r.stderr
    config = _config(r.run_dir)
    assert config["preset"] == "remove_velocity" and config["preset_kwargs"] == {"stack_size": 4}
    meta = ckpt.read_meta(r.run_dir / "checkpoint")
    assert meta["observation_space"]["shape"] == [4, 2]  # 4 frames of (cos θ, sin θ)
    assert meta["preset_kwargs"] == {"stack_size": 4}

    resumed = run_cli("--load", r.run_dir / "checkpoint", "--no-tensorboard", *TINY)
    assert resumed.exit_code == 0, resumed.stderr
    assert _config(resumed.run_dir)["preset_kwargs"] == {"stack_size": 4}
    assert resumed.summary["steps"] == 60
    assert "starts new episodes" not in resumed.stderr  # the wrapped env was restored


def test_values_parse_like_env_kwargs(run_cli):
    r = run_cli(*PENDULUM, "--preset", "remove_velocity", "--preset-kwargs", "indices=(2,)", *TINY)
    assert r.exit_code == 0, r.stderr
    assert _config(r.run_dir)["preset_kwargs"] == {"indices": [2]}
    assert ckpt.read_meta(r.run_dir / "checkpoint")["observation_space"]["shape"] == [1]


def test_env_kwargs_false_reaches_the_env_as_false(run_cli):
    cartpole = ("--env", "CartPole-v1", "--agent", "random", "--no-tensorboard")
    r = run_cli(*cartpole, "--env-kwargs", "sutton_barto_reward=false", *TINY)
    assert r.exit_code == 0, r.stderr
    assert _config(r.run_dir)["env_kwargs"] == {"sutton_barto_reward": False}


def test_the_train_api_takes_preset_kwargs(tmp_path):
    result = rlagents.train(
        "Pendulum-v1",
        "random",
        steps=20,
        seed=0,
        preset="flicker",
        preset_kwargs={"p": 0.5, "stack_size": 2},
        eval_episodes=0,
        tensorboard=False,
        run_dir=tmp_path / "run",
    )
    assert result.summary["preset"] == "flicker"
    assert _config(result.run_dir)["preset_kwargs"] == {"p": 0.5, "stack_size": 2}
    assert result.agent.observation_space.shape == (2, 3)
    options = {"preset": "flicker", "preset_kwargs": {"p": 0.5, "stack_size": 2}}
    stats = rlagents.evaluate(result.agent, "Pendulum-v1", 1, 0, max_steps=5, **options)
    assert len(stats["returns"]) == 1
    with pytest.raises(rlagents.RLAgentsError, match="but preset auto picks no preset"):
        rlagents.evaluate(result.agent, "Pendulum-v1", 1, preset_kwargs={"stack_size": 2})


def test_training_and_evaluation_envs_both_get_the_options(tmp_path):
    opts = RunOptions(
        env_id="Pendulum-v1",
        agent="random",
        preset="remove_velocity",
        preset_kwargs={"stack_size": 3},
        run_dir=str(tmp_path / "run"),
        tensorboard=False,
    )
    run = Run(opts)
    try:
        assert run.plan.observation_space.shape == (3, 2)
        assert run.evaluation._env().observation_space.shape == (3, 2)
    finally:
        run.close()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ("--preset", "none", "--preset-kwargs", "stack_size=4"),
            ["--preset none turns presets off", "pass --preset NAME", "remove_velocity"],
        ),
        (
            ("--preset-kwargs", "stack_size=4"),
            ["--preset auto picks no preset for Pendulum-v1", "pass --preset NAME"],
        ),
        (
            ("--preset", "flicker", "--preset-kwargs", "std=0.1"),
            [
                "--preset-kwargs std",
                "preset flicker has no such option",
                "its options: p, stack_size",
            ],
        ),
        (
            ("--preset", "flicker", "--preset-kwargs", "p=1.5"),
            ["Flicker needs p to be a probability in [0, 1], got 1.5"],
        ),
        (
            ("--preset", "noise", "--preset-kwargs", "std=-1"),
            ["ObservationNoise needs std to be a finite number >= 0, got -1"],
        ),
        (
            ("--preset", "remove_velocity", "--preset-kwargs", "indices=(0,0)"),
            ["RemoveVelocity needs indices", "distinct"],
        ),
        (
            ("--preset", "dropout", "--preset-kwargs", "stack_size=0"),
            ["dropout() needs stack_size to be a positive integer, got 0"],
        ),
        (("--preset", "flicker", "--preset-kwargs", "p"), ["--preset-kwargs expects key=value"]),
    ],
)
def test_mistakes_are_one_line_and_exit_2_before_step_1(run_cli, args, fragments):
    r = run_cli(*PENDULUM, *args, *TINY)
    assert r.exit_code == 2, (r.stdout, r.stderr, r.exception)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rlrun: error: "), r.stderr
    assert "Traceback" not in r.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not r.run_dir.exists()  # refused before anything was written


def test_help_lists_preset_kwargs(run_cli):
    r = run_cli("--help")
    assert r.exit_code == 0
    assert "--preset-kwargs" in r.stdout and "remove_velocity" in r.stdout


def test_a_resumed_run_keeps_the_checkpoints_env_kwargs(run_cli):
    cartpole = ("--env", "CartPole-v1", "--agent", "random", "--no-tensorboard", *TINY)
    r = run_cli(*cartpole, "--env-kwargs", "max_episode_steps=7", "--seed", "0")
    assert r.exit_code == 0, r.stderr
    resumed = run_cli("--load", r.run_dir / "checkpoint", *cartpole)
    assert resumed.exit_code == 0, resumed.stderr
    assert _config(resumed.run_dir)["env_kwargs"] == {"max_episode_steps": 7}
    assert "starts new episodes" not in resumed.stderr  # the restored env is the same env
    other = run_cli(
        "--load", r.run_dir / "checkpoint", *cartpole, "--env-kwargs", "max_episode_steps=9"
    )
    assert other.exit_code == 0, other.stderr
    assert _config(other.run_dir)["env_kwargs"] == {"max_episode_steps": 9}  # given: it wins
