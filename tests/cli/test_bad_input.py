"""Every bad input: one line on stderr, exit status 2, no traceback, nothing of the user's lost."""

import pytest

from rlagents import checkpoint as ckpt

CARTPOLE = ("--env", "CartPole-v1")


def _fails(result, *fragments):
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rlrun: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--agent", "randm", *CARTPOLE), ["unknown agent 'randm'", "did you mean 'random'"]),
        (("--agent", "random", "--env", "CartPol-v1"), ["CartPol", "Did you mean: `CartPole`"]),
        (("--agent", "random", "--env", "ALE/BattleZon-v5"), ["Did you mean: `BattleZone`"]),
        (
            ("--agent", "constant", *CARTPOLE, "--set", "acton=1"),
            ["'acton'", "did you mean 'action'"],
        ),
        (
            ("--agent", "constant", *CARTPOLE, "--set", "action=left"),
            ["action must be an integer, got 'left'", "--set action=VALUE"],
        ),
        (("--agent", "constant", *CARTPOLE, "--set", "action"), ["key=value"]),
        (("--agent", "random", *CARTPOLE, "--steps", "0"), ["--steps", "0"]),
        (("--agent", "random", *CARTPOLE, "--steps", "-5"), ["--steps"]),
        (("--agent", "random", *CARTPOLE, "--steps", "ten"), ["--steps", "ten"]),
        (("--agent", "random", *CARTPOLE, "--num-envs", "0"), ["--num-envs"]),
        (
            ("--agent", "constant", "--env", "Pendulum-v1"),
            ["cannot run on Pendulum-v1", "Discrete action"],
        ),
        (
            ("--agent", "random", *CARTPOLE, "--env-kwargs", "gravity=1"),
            ["gravity", "--env-kwargs"],
        ),
        (("--agent", "random", *CARTPOLE, "--preset", "bogus"), ["unknown preset 'bogus'"]),
        (
            ("--agent", "random", *CARTPOLE, "--hyperparams", "bogus"),
            ["no hyper-parameter set 'bogus'"],
        ),
        (("--agent", "no_such_pkg.mod:Agent", *CARTPOLE), ["could not be loaded", "no_such_pkg"]),
        (("--agent", "rlagents_test_plugin:NotAnAgent", *CARTPOLE), ["not a subclass"]),
        (("--agent", "random"), ["no env given"]),
        ((*CARTPOLE,), ["no agent given"]),
        (("--agent", "random", *CARTPOLE, "--eval-only"), ["--eval-only needs --load"]),
        (("--agent", "random", *CARTPOLE, "--stop-at-return", "5"), ["needs --eval-every"]),
        (("--agent", "random", *CARTPOLE, "--load", "/no/such/dir"), ["does not exist"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_cli, args, fragments):
    _fails(run_cli(*args), *fragments)


def test_incompatible_spaces_suggest_agents_that_fit(run_cli):
    r = run_cli("--agent", "constant", "--env", "Pendulum-v1", "--preset", "none")
    _fails(r, "agents that fit Pendulum-v1")


def test_existing_run_dir_is_never_overwritten(run_cli, tmp_path):
    run_dir = tmp_path / "mine"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("precious")
    _fails(run_cli("--agent", "random", *CARTPOLE, "--run-dir", run_dir), "not empty")
    assert (run_dir / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in run_dir.iterdir()) == ["notes.txt"]


@pytest.fixture
def saved(run_cli, tmp_path):
    r = run_cli(*CARTPOLE, "--agent", "constant", "--steps", "100", "--save", tmp_path / "ck")
    assert r.exit_code == 0, r.stderr
    return tmp_path / "ck"


def test_checkpoint_of_another_agent(run_cli, saved):
    _fails(run_cli("--load", saved, "--agent", "random", *CARTPOLE), "belongs to agent 'constant'")


def test_checkpoint_of_other_spaces(run_cli, saved):
    _fails(run_cli("--load", saved, "--env", "Acrobot-v1"), "different observation space")


@pytest.mark.parametrize("name", [ckpt.META_FILE, ckpt.ARRAYS_FILE])
def test_damaged_checkpoint(run_cli, saved, name):
    (saved / name).write_bytes(b"\x00\x01 not what was saved")
    _fails(run_cli("--load", saved, "--steps", "10"), "damaged")


def test_file_instead_of_checkpoint_directory(run_cli, tmp_path):
    (tmp_path / "f").write_text("x")
    _fails(run_cli("--load", tmp_path / "f", *CARTPOLE, "--agent", "random"), "not a checkpoint")


def test_render_without_a_display(run_cli, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    _fails(run_cli("--agent", "random", *CARTPOLE, "--render"), "--render needs a display")
