"""The reliability catalogue: bad input, faults of the env, the agent and the disk, crafted
checkpoints, signals. Each case asserts the exit status (2: the user's input, refused before step
1; 1: a failure during the run; 130/143: SIGINT/SIGTERM), one ``rlrun: error:`` line on stderr
and no traceback, and what is on disk afterwards: the user's files untouched, the last good
checkpoint loadable, logs flushed and a summary that says what happened.

The faults come from ``rlagents_test_plugin.faults`` (an env registered through the
``rlagents.envs`` entry points and an agent that fails on request).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rlagents import checkpoint as ckpt

CARTPOLE = ("--env", "CartPole-v1")
FAULTY_ENV = ("--env", "FaultyEnv-v0")
FAULTY_AGENT = ("--agent", "rlagents_test_plugin.faults:FaultyAgent")


def _error_line(result, code: int, *fragments: str) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("rlrun: error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def _usage_error(result, *fragments: str) -> str:
    line = _error_line(result, 2, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return line


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as f:
        return list(csv.DictReader(f))


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


# ------------------------------------------------------------------------ --save never destroys
@pytest.fixture
def precious(tmp_path):
    d = tmp_path / "mine"
    (d / "sub").mkdir(parents=True)
    (d / "notes.txt").write_text("precious")
    (d / "sub" / "data.bin").write_bytes(b"\x00\x01")
    return d


def test_save_onto_a_users_directory_is_refused(run_cli, precious):
    before = _tree(precious)
    r = run_cli("--agent", "random", *CARTPOLE, "--steps", "100", "--save", precious)
    _usage_error(r, "--save", "not a checkpoint", "--overwrite")
    assert _tree(precious) == before and not r.run_dir.exists()


def test_overwrite_moves_the_users_directory_aside(run_cli, precious):
    before = _tree(precious)
    r = run_cli("--agent", "random", *CARTPOLE, "--steps", "100", "--save", precious, "--overwrite")
    assert r.exit_code == 0, r.stderr
    assert ckpt.read_meta(precious)["agent"] == "random"
    moved = [p for p in precious.parent.iterdir() if p.name.startswith("mine.replaced-")]
    assert len(moved) == 1 and _tree(moved[0]) == before
    assert "moved" in r.stderr


def test_save_onto_a_file_is_refused(run_cli, tmp_path):
    f = tmp_path / "ck"
    f.write_text("keep me")
    _usage_error(run_cli("--agent", "random", *CARTPOLE, "--save", f), "--save")
    assert f.read_text() == "keep me"


@pytest.fixture
def constant_checkpoint(run_cli, tmp_path):
    path = tmp_path / "ck"
    r = run_cli("--agent", "constant", *CARTPOLE, "--steps", "200", "--save", path)
    assert r.exit_code == 0, r.stderr
    return path


def test_save_onto_another_agents_checkpoint_is_refused(run_cli, constant_checkpoint):
    before = _tree(constant_checkpoint)
    r = run_cli("--agent", "random", *CARTPOLE, "--steps", "100", "--save", constant_checkpoint)
    _usage_error(r, "checkpoint of 'constant'", "--overwrite")
    assert _tree(constant_checkpoint) == before


def test_save_onto_a_checkpoint_of_another_env_is_refused(run_cli, constant_checkpoint):
    before = _tree(constant_checkpoint)
    r = run_cli("--agent", "constant", "--env", "Acrobot-v1", "--save", constant_checkpoint)
    _usage_error(r, "CartPole-v1", "Acrobot-v1")
    assert _tree(constant_checkpoint) == before


def test_save_onto_this_runs_own_kind_of_checkpoint_replaces_it(run_cli, constant_checkpoint):
    r = run_cli("--agent", "constant", *CARTPOLE, "--steps", "300", "--save", constant_checkpoint)
    assert r.exit_code == 0, r.stderr
    assert ckpt.read_meta(constant_checkpoint)["steps"] == 300


def test_resume_saving_in_place(run_cli, constant_checkpoint):
    r = run_cli("--load", constant_checkpoint, "--steps", "100", "--save", constant_checkpoint)
    assert r.exit_code == 0, r.stderr
    assert ckpt.read_meta(constant_checkpoint)["steps"] == 300


def test_symlinked_save_directory_is_refused(run_cli, tmp_path, precious):
    link = tmp_path / "link"
    link.symlink_to(precious)
    before = _tree(precious)
    _usage_error(run_cli("--agent", "random", *CARTPOLE, "--save", link), "symbolic link")
    assert _tree(precious) == before


def test_save_below_a_file_is_refused_before_training(run_cli, tmp_path):
    (tmp_path / "f").write_text("x")
    r = run_cli("--agent", "random", *CARTPOLE, "--save", tmp_path / "f" / "ck")
    _usage_error(r, "is a file")
    assert not r.run_dir.exists()


def test_run_dir_below_a_file_is_refused(run_cli, tmp_path):
    (tmp_path / "f").write_text("x")
    _usage_error(
        run_cli("--agent", "random", *CARTPOLE, "--run-dir", tmp_path / "f" / "run"), "is a file"
    )


def test_run_dir_that_is_a_file_is_refused(run_cli, tmp_path):
    (tmp_path / "f").write_text("x")
    _usage_error(run_cli("--agent", "random", *CARTPOLE, "--run-dir", tmp_path / "f"))
    assert (tmp_path / "f").read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_save_parent_is_refused_before_training(run_cli, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        _usage_error(run_cli("--agent", "random", *CARTPOLE, "--save", ro / "ck"), "not writable")
    finally:
        ro.chmod(0o700)


def test_unwritable_save_parent_is_refused_before_training(run_cli, tmp_path, monkeypatch):
    target = tmp_path / "ro"
    target.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if Path(p) == target else real_access(p, mode)
    )
    r = run_cli("--agent", "random", *CARTPOLE, "--save", target / "ck")
    _usage_error(r, "not writable")


# ------------------------------------------------------------------------ values checked first
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--set", "learning_rate=inf"), ["learning_rate", "finite"]),
        (("--set", "learning_rate=nan"), ["learning_rate", "finite"]),
        (("--set", "max_grad_norm=nan"), ["max_grad_norm"]),
        (("--set", "num_threads=-1"), ["num_threads"]),
        (("--set", "learning_rate=-0.1"), ["learning_rate"]),
        (("--set", "gamma=1.5"), ["gamma"]),
        (("--set", "batch_size=0"), ["batch_size"]),
        (("--set", "device=garbage"), ["device"]),
        (("--set", "buffer_size=10**12"), ["buffer_size"]),
        (("--set", "buffer_size=1000000000000"), ["buffer_size", "available"]),
    ],
)
def test_bad_values_are_refused_before_step_1(run_cli, args, fragments):
    r = run_cli("--agent", "dqn", *CARTPOLE, "--steps", "100", *args)
    _usage_error(r, *fragments)
    assert not r.run_dir.exists()


def test_cuda_without_a_gpu_is_one_line(run_cli):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    _usage_error(
        run_cli("--agent", "dqn", *CARTPOLE, "--set", "device=cuda"),
        "device 'cuda' needs a CUDA GPU",
        "--set device=VALUE",
    )


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--seed", "-1"), ["--seed"]),
        (("--seed", str(2**40)), ["--seed"]),
        (("--num-envs", "5000"), ["--num-envs 5000"]),
        (("--env-kwargs", "render_mode=bogus"), ["render_mode=bogus", "rgb_array"]),
        (("--eval-max-steps", "0"), ["--eval-max-steps"]),
    ],
)
def test_bad_run_options_are_refused(run_cli, args, fragments):
    _usage_error(run_cli("--agent", "random", *CARTPOLE, "--steps", "10", *args), *fragments)


def test_thousands_of_atari_envs_are_refused_at_once(run_cli):
    start = time.perf_counter()
    r = run_cli("--agent", "random", "--env", "ALE/Pong-v5", "--num-envs", "10000")
    _usage_error(r, "--num-envs 10000", "emulator")
    assert time.perf_counter() - start < 30


def test_human_rendering_without_a_display(run_cli, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    r = run_cli("--agent", "random", *CARTPOLE, "--env-kwargs", "render_mode=human")
    _usage_error(r, "display")


# ------------------------------------------------------------------------------- custom envs
def test_env_registered_through_entry_points(run_cli):
    r = run_cli("--agent", "random", *FAULTY_ENV, "--steps", "300", "--eval-episodes", "2")
    assert r.exit_code == 0, r.stderr
    assert r.summary["eval_mean_return"] == 50.0


def test_env_by_gymnasium_module_form(run_cli):
    r = run_cli(
        "--agent", "random", "--env", "rlagents_test_plugin.faults:Registered-v0", "--steps", "90"
    )
    assert r.exit_code == 0, r.stderr
    assert r.summary["eval_mean_return"] == 30.0  # its registered time limit


def test_env_module_that_does_not_import(run_cli):
    r = run_cli("--agent", "random", "--env", "no_such_pkg.envs:MyEnv-v0")
    _usage_error(r, "cannot import 'no_such_pkg.envs'")


def test_env_module_that_raises_on_import(run_cli, tmp_path, monkeypatch):
    (tmp_path / "broken_envs.py").write_text("raise RuntimeError('my bug')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    r = run_cli("--agent", "random", "--env", "broken_envs:MyEnv-v0")
    _usage_error(r, "broken_envs", "my bug")


# ------------------------------------------------------------------------ faults after step 1
def _failed(r, who: str, *fragments: str) -> dict:
    _error_line(r, 1, f"the {who} failed", *fragments)
    summary = r.summary
    assert summary["failed"] == who and summary["error"]
    return summary


def test_env_raising_after_2000_steps_keeps_the_work(run_cli, tmp_path):
    r = run_cli(
        "--agent",
        "random",
        *FAULTY_ENV,
        "--env-kwargs",
        "raise_at=2001",
        "--steps",
        "5000",
        "--save-every",
        "1000",
        "--save",
        tmp_path / "ck",
    )
    s = _failed(r, "env", "at step 2001", "simulated fault", "last good checkpoint")
    assert s["steps"] == 2000
    episodes = _rows(r.run_dir / "progress.csv")
    assert len(episodes) == 40 == s["episodes"]  # flushed although the run crashed
    assert ckpt.read_meta(tmp_path / "ck")["steps"] == 2000
    assert ckpt.read_meta(s["emergency_checkpoint"])["steps"] == 2000
    assert s["checkpoint"] == str(tmp_path / "ck")


def test_env_raising_in_reset(run_cli):
    r = run_cli("--agent", "random", *FAULTY_ENV, "--env-kwargs", "raise_in_reset_at=120")
    _failed(r, "env", "reset()")


@pytest.mark.parametrize(
    ("kwarg", "fragments"),
    [
        ("nan_reward_at=77", ["NaN reward", "step 77", "--allow-nonfinite"]),
        ("inf_reward_at=5", ["infinite reward", "step 5"]),
        ("nan_obs_at=300", ["NaN observation", "step 300"]),
    ],
)
def test_nonfinite_values_from_the_env_stop_the_run(run_cli, kwarg, fragments):
    r = run_cli(*FAULTY_AGENT, *FAULTY_ENV, "--env-kwargs", kwarg, "--steps", "1000")
    s = _failed(r, "env", *fragments)
    state = ckpt.read_state(s["emergency_checkpoint"])
    assert np.isfinite(state["weights"]).all()  # the agent never saw the bad value


def test_nonfinite_values_from_vector_envs(run_cli):
    r = run_cli(*FAULTY_AGENT, *FAULTY_ENV, "--num-envs", "3", "--env-kwargs", "nan_obs_at=30")
    _failed(r, "env", "NaN observation", "(env 0)")


def test_allow_nonfinite_trains_on(run_cli):
    r = run_cli(
        "--agent",
        "random",
        *FAULTY_ENV,
        "--env-kwargs",
        "nan_reward_at=10",
        "--steps",
        "200",
        "--allow-nonfinite",
        "--eval-episodes",
        "0",
    )
    assert r.exit_code == 0, r.stderr
    returns = [e["return"] for e in _rows(r.run_dir / "progress.csv")]
    assert returns[0] == "" and returns[1] == "50.0"  # the NaN is an empty cell


@pytest.mark.parametrize(
    ("setting", "fragments"),
    [
        ("raise_in_act_at=150", ["act() raised ValueError", "step 150"]),
        ("bad_shape_at=10", ["shape (2,)", "expected (1,)"]),
        ("bad_dtype_at=10", ["dtype float64", "integers"]),
        ("out_of_bounds_at=10", ["outside Discrete(2)"]),
        ("raise_in_update_at=400", ["update() raised RuntimeError"]),
        ("text_metric_at=20", ["metric 'loss'", "not a number"]),
    ],
)
def test_agent_faults_end_the_run_with_its_work_kept(run_cli, setting, fragments):
    r = run_cli(*FAULTY_AGENT, *FAULTY_ENV, "--set", setting, "--steps", "1000")
    s = _failed(r, "agent", *fragments)
    assert json.loads((r.run_dir / "config.json").read_text())["agent"].endswith("FaultyAgent")
    assert len(_rows(r.run_dir / "progress.csv")) == s["episodes"]
    assert ckpt.read_meta(s["emergency_checkpoint"])["steps"] == s["steps"]


@pytest.mark.parametrize(
    ("setting", "fragments"),
    [
        ("nan_action_at=10", ["NaN action for env 0", "[nan]"]),
        ("out_of_bounds_at=10", ["outside Box"]),
        ("bad_shape_at=3", ["shape (3, 1)", "expected (2, 1)"]),
    ],
)
def test_bad_continuous_actions(run_cli, setting, fragments):
    r = run_cli(
        *FAULTY_AGENT,
        *FAULTY_ENV,
        "--env-kwargs",
        "box_actions=True",
        "--num-envs",
        "2",
        "--set",
        setting,
    )
    _failed(r, "agent", *fragments)


def test_nonfinite_metrics_are_json_null(run_cli):
    r = run_cli(*FAULTY_AGENT, *FAULTY_ENV, "--set", "nan_metric_at=1500", "--steps", "3000")
    assert r.exit_code == 0, r.stderr
    rows = [json.loads(line) for line in (r.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["loss"] == 1.0 and rows[-1]["loss"] is None and rows[-1]["q"] is None


def test_evaluation_env_failing(run_cli):
    r = run_cli("--agent", "random", *FAULTY_ENV, "--env-kwargs", "raise_at=60", "--steps", "40")
    s = _failed(r, "env", "evaluation env", "step 40")
    assert ckpt.read_meta(s["emergency_checkpoint"])["steps"] == 40


def test_evaluation_of_an_env_that_never_ends_is_cut(run_cli):
    r = run_cli(
        "--agent",
        "random",
        *FAULTY_ENV,
        "--env-kwargs",
        "never_ends=True",
        "--steps",
        "100",
        "--eval-episodes",
        "2",
        "--eval-max-steps",
        "500",
    )
    assert r.exit_code == 0, r.stderr
    assert r.summary["eval_mean_return"] == 500.0


def test_full_disk_during_a_periodic_save(run_cli, tmp_path, monkeypatch):
    real_savez = np.savez
    calls = []

    def savez(*args, **kwargs):
        calls.append(1)
        if len(calls) >= 3:
            raise OSError(28, "No space left on device")
        return real_savez(*args, **kwargs)

    monkeypatch.setattr(np, "savez", savez)
    r = run_cli(
        "--agent",
        "random",
        *CARTPOLE,
        "--steps",
        "5000",
        "--save-every",
        "1000",
        "--save",
        tmp_path / "ck",
    )
    s = _failed(r, "disk", "No space left on device", "step 3000")
    assert ckpt.read_meta(tmp_path / "ck")["steps"] == 2000  # the last good one, intact
    assert ckpt.read_state(tmp_path / "ck") is not None
    assert s["steps"] == 3000
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_emergency_checkpoint_goes_where_it_can_be_written(run_cli, tmp_path, monkeypatch):
    real_savez = np.savez
    broken = tmp_path / "broken_disk"

    def savez(file, *args, **kwargs):
        if str(getattr(file, "name", "")).startswith(str(broken)):
            raise OSError(5, "Input/output error")
        return real_savez(file, *args, **kwargs)

    monkeypatch.setattr(np, "savez", savez)
    r = run_cli(
        "--agent", "random", *CARTPOLE, "--steps", "3000", "--save-every", "1000",
        "--save", broken / "ck",
    )  # fmt: skip
    s = _failed(r, "disk", "Input/output error", "step 1000")
    assert Path(s["emergency_checkpoint"]).parent == r.run_dir
    assert ckpt.read_meta(s["emergency_checkpoint"])["steps"] == 1000


def test_full_disk_while_writing_the_logs(run_cli, monkeypatch):
    import rlagents.run.logs

    class FillingFile:
        """A log file on a disk that fills up after 2,000 bytes."""

        def __init__(self, f):
            self.f, self.written = f, 0

        def write(self, text):
            self.written += len(text)
            if self.written > 2000:
                raise OSError(28, "No space left on device")
            return self.f.write(text)

        def __getattr__(self, name):
            return getattr(self.f, name)

    def filling_open(*args, **kwargs):
        return FillingFile(open(*args, **kwargs))

    monkeypatch.setattr(rlagents.run.logs, "open", filling_open, raising=False)
    monkeypatch.setattr(rlagents.run.logs, "FLUSH_SECONDS", 0.0)
    r = run_cli("--agent", "random", *CARTPOLE, "--steps", "20000")
    s = _failed(r, "disk", "No space left on device", "progress.csv")
    assert ckpt.read_meta(s["emergency_checkpoint"])["steps"] == s["steps"]


def test_internal_error_is_one_line_and_keeps_the_work(run_cli, monkeypatch):
    import rlagents.run.loop

    def broken(*args, **kwargs):
        raise AssertionError("a bug")

    monkeypatch.setattr(rlagents.run.loop, "_evaluate_and_check", broken)
    r = run_cli("--agent", "random", *CARTPOLE, "--steps", "3000", "--eval-every", "1000")
    s = _failed(r, "rlrun", "a bug", "please report it")
    assert ckpt.read_meta(s["emergency_checkpoint"])["steps"] == 1000


# ------------------------------------------------------------------------- crafted checkpoints
# What a crafted or damaged checkpoint holds is refused by rlagents.checkpoint and tested there,
# case by case (tests/rlagents/checkpoint/). Here: rlrun --load turns each kind of refusal (of
# agent.json, of arrays.npz, of the state against the agent, of the run state) into one line and
# exit status 2, in an interpreter of its own (an Adam state of the wrong shape once crashed it).
@pytest.fixture(scope="module")
def dqn_checkpoint(tmp_path_factory):
    """A real DQN checkpoint with Adam state (made once; tests copy it)."""
    base = tmp_path_factory.mktemp("dqn")
    proc = _rlrun(
        *CARTPOLE,
        "--agent",
        "dqn",
        "--steps",
        "1500",
        "--seed",
        "0",
        "--set",
        "learning_starts=500",
        "--eval-episodes",
        "0",
        "--run-dir",
        base / "run",
        "--save",
        base / "ck",
    )
    assert proc.returncode == 0, proc.stderr
    return base / "ck"


def _rlrun(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    """rlrun in its own interpreter: a crash (segfault) shows as a return code, not a dead
    test process."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *map(str, args), "--quiet"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _leaf(tree, *path):
    node = tree
    for key in path:
        node = dict(node["dict"])[key]
    return node


def _adam_moment_of_the_wrong_shape(ck: Path) -> None:
    tree = json.loads((ck / ckpt.TREE_FILE).read_text())
    key = _leaf(tree, "optimizer", "state", 0, "exp_avg")["tensor"]
    with np.load(ck / ckpt.ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays[key] = np.zeros(3, np.float32)
    np.savez(ck / ckpt.ARRAYS_FILE, **arrays)


def _cut_in_half(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


def _env_snapshot_of_another_env(ck: Path) -> None:
    run_state = ck / ckpt.RUN_TREE_FILE
    text = run_state.read_text().replace("CartPoleEnv", "MountainCarEnv")
    assert "MountainCarEnv" in text
    run_state.write_text(text)


@pytest.mark.parametrize(
    ("source", "damage", "fragment"),
    [
        (
            "constant_checkpoint",
            lambda ck: (ck / ckpt.META_FILE).write_text("{not json"),
            "damaged",
        ),
        ("dqn_checkpoint", lambda ck: _cut_in_half(ck / ckpt.ARRAYS_FILE), "damaged"),
        ("dqn_checkpoint", _adam_moment_of_the_wrong_shape, "optimizer"),
        ("constant_checkpoint", _env_snapshot_of_another_env, "env snapshot does not fit"),
    ],
    ids=[
        "agent.json-not-json",
        "arrays.npz-cut-in-half",
        "adam-moment-wrong-shape",
        "env-snapshot",
    ],
)
def test_a_damaged_checkpoint_is_one_line_and_exit_status_2(
    request, tmp_path, source, damage, fragment
):
    ck = shutil.copytree(request.getfixturevalue(source), tmp_path / "crafted")
    damage(ck)
    proc = _rlrun("--load", ck, "--steps", "200", "--run-dir", tmp_path / "resumed")
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rlrun: error: "), proc.stderr
    assert fragment in lines[0], lines[0]


def test_checkpoint_of_a_future_package_version_warns(run_cli, constant_checkpoint):
    meta = json.loads((constant_checkpoint / ckpt.META_FILE).read_text())
    meta["package_version"] = "99.0.0"
    (constant_checkpoint / ckpt.META_FILE).write_text(json.dumps(meta))
    r = run_cli("--load", constant_checkpoint, "--steps", "100", "--eval-episodes", "0")
    assert r.exit_code == 0, r.stderr
    assert "warning" in r.stderr and "99.0.0" in r.stderr


# --------------------------------------------------------------------------------- resuming
def test_resume_without_seed_keeps_the_checkpoints_seed(run_cli, tmp_path):
    first = run_cli("--agent", "random", *CARTPOLE, "--steps", "100", "--seed", "1234")
    assert first.exit_code == 0, first.stderr
    r = run_cli("--load", first.run_dir / "checkpoint", "--steps", "100")
    assert r.exit_code == 0, r.stderr
    assert r.summary["seed"] == 1234


def _resumed_equals_uninterrupted(run_cli, tmp_path, agent, steps, *extra, not_resumed=()):
    """Half the steps, resumed for the rest, is the whole run; ``not_resumed`` are options the
    resuming command leaves out (it takes them from the checkpoint)."""
    common = ("--agent", agent, *CARTPOLE, "--seed", "3", "--eval-episodes", "3", *extra)
    first = (*common, *not_resumed)
    whole = run_cli(*first, "--steps", str(steps), "--save", tmp_path / "whole")
    half = run_cli(*first, "--steps", str(steps // 2), "--save", tmp_path / "half")
    assert whole.exit_code == half.exit_code == 0, (whole.stderr, half.stderr)
    rest = run_cli(
        "--load",
        tmp_path / "half",
        "--steps",
        str(steps - steps // 2),
        "--eval-episodes",
        "3",
        "--save",
        tmp_path / "rest",
    )
    assert rest.exit_code == 0, rest.stderr
    assert "new episodes" not in rest.stderr

    def episodes(*runs):
        rows = [row for r in runs for row in _rows(r.run_dir / "progress.csv")]
        return [(row["step"], row["episode"], row["return"], row["length"]) for row in rows]

    def metrics(*runs):
        text = "".join((r.run_dir / "metrics.jsonl").read_text() for r in runs)
        return [json.loads(line) for line in text.splitlines()]

    assert episodes(whole) == episodes(half, rest)
    assert metrics(whole) == metrics(half, rest)
    assert whole.summary["eval_mean_return"] == rest.summary["eval_mean_return"]
    a, b = ckpt.read_state(tmp_path / "whole"), ckpt.read_state(tmp_path / "rest")
    _assert_same_state(a, b)
    return rest


def _assert_same_state(a, b, path="state"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _assert_same_state(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_state(x, y, f"{path}[{i}]")
    elif hasattr(a, "shape"):
        assert np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True), path
    else:
        assert a == b, path


def test_ppo_resumed_equals_uninterrupted(run_cli, tmp_path):
    # 8 envs, a rollout of 8 x 32: the split at 4,000 steps falls inside a rollout
    _resumed_equals_uninterrupted(run_cli, tmp_path, "ppo", 8000, "--set", "n_steps=32")


def test_dqn_resumed_equals_uninterrupted(run_cli, tmp_path):
    # metrics.jsonl averages per 1,000 steps: a split on that grid keeps its rows the same
    _resumed_equals_uninterrupted(
        run_cli, tmp_path, "dqn", 4000, "--set", "learning_starts=500", "--set", "n_steps=3"
    )


def test_a_resume_plays_as_many_envs_as_its_checkpoint(run_cli, tmp_path):
    # PPO's CartPole set is made for 8 envs; without --num-envs the resume keeps the 2
    rest = _resumed_equals_uninterrupted(
        run_cli, tmp_path, "ppo", 4000, "--set", "n_steps=32", not_resumed=("--num-envs", "2")
    )
    assert json.loads((rest.run_dir / "config.json").read_text())["num_envs"] == 2


def test_resume_where_the_env_cannot_be_snapshotted_says_so(run_cli, tmp_path):
    first = run_cli("--agent", "random", "--env", "LunarLander-v3", "--steps", "50")
    assert first.exit_code == 0, first.stderr
    r = run_cli("--load", first.run_dir / "checkpoint", "--steps", "50", "--eval-episodes", "0")
    assert r.exit_code == 0, r.stderr
    assert "new episodes" in r.stderr and "LunarLander" in r.stderr


# ----------------------------------------------------------------------------------- signals
def _start(run_dir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "--agent",
            "random",
            *CARTPOLE,
            "--run-dir",
            str(run_dir),
            "--quiet",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not path.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert path.exists(), path


def test_sigterm_is_handled_like_ctrl_c(tmp_path, reap):
    run_dir = tmp_path / "run"
    proc = _start(run_dir, "--steps", "100000000")
    reap(proc)
    _wait_for(run_dir / "config.json")
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["interrupted"] and summary["signal"] == "SIGTERM"
    assert ckpt.read_meta(run_dir / "checkpoint")["steps"] == summary["steps"] > 0
    assert len(_rows(run_dir / "progress.csv")) == summary["episodes"]


def test_kill_9_during_saves_never_damages_the_checkpoint(tmp_path, reap):
    """Killed at random moments while it saves every 200 steps (with a replay buffer of DQN,
    so a save takes a while): the checkpoint on disk always loads, and the next save removes
    the temporary directories the killed ones left."""
    rng = np.random.default_rng(0)
    save = tmp_path / "ck"
    for k in range(4):
        run_dir = tmp_path / f"run{k}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.main",
                "--agent",
                "dqn",
                *CARTPOLE,
                "--steps",
                "100000000",
                "--save-every",
                "200",
                "--set",
                "learning_starts=100000000",
                "--save",
                str(save),
                "--run-dir",
                str(run_dir),
                "--quiet",
                "--seed",
                "0",
                *(("--load", str(save)) if k else ()),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        reap(proc)
        _wait_for(run_dir / "config.json")
        time.sleep(float(rng.uniform(0.5, 2.0)))
        proc.kill()
        proc.wait(timeout=30)
        assert (save / ckpt.META_FILE).exists() or (save.parent / ".ck.old").exists()
        ckpt.read_state(save)  # whole, whatever moment the kill came
    proc = _rlrun("--load", save, "--steps", "200", "--save", save, "--run-dir", tmp_path / "last")
    assert proc.returncode == 0, proc.stderr
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or p.name.endswith(".old")]


def test_full_disk_while_writing_tensorboard(run_cli, monkeypatch):
    from rlagents.run.tensorboard import TensorBoardLogger

    calls = []

    def interval(self, step, wall, metrics):
        calls.append(step)
        if len(calls) >= 3:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(TensorBoardLogger, "interval", interval)
    r = run_cli("--agent", "random", *CARTPOLE, "--steps", "10000")
    s = _failed(r, "disk", "TensorBoardLogger cannot write", "No space left on device")
    assert s["steps"] == 3000 and len(_rows(r.run_dir / "progress.csv")) == s["episodes"]
    assert ckpt.read_meta(s["emergency_checkpoint"])["steps"] == 3000


def test_full_disk_while_writing_the_videos(run_cli, monkeypatch):
    pytest.importorskip("moviepy")
    import gymnasium as gym

    real_close = gym.wrappers.RecordVideo.close

    def close(self):
        real_close(self)  # the wrapper releases what it holds, then the write "fails"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gym.wrappers.RecordVideo, "close", close)
    r = run_cli("--agent", "random", *CARTPOLE, "--steps", "500", "--video")
    s = _failed(r, "disk", "cannot write the videos")
    assert ckpt.read_meta(s["emergency_checkpoint"])["steps"] == 500
