"""RUN_DIR/best: the agent of the run's best evaluation, kept beside the last checkpoint, so a
run whose returns slide back after a peak still has its peak (rl-zoo3's ``best_model``)."""

import csv
import json
from pathlib import Path

import pytest
from rlagents_test_plugin.runner import invoke, run_summary

from rlagents import checkpoint as ckpt


def _evaluations(run_dir):
    with open(run_dir / "evaluations.csv") as f:
        return [(int(r["step"]), float(r["mean_return"])) for r in csv.DictReader(f)]


@pytest.mark.parametrize(
    ("env", "agent", "extra", "left_out"),
    [
        ("CartPole-v1", "ppo", ("--num-envs", "1", "--set", "n_steps=256"), "rollout"),
        ("CartPole-v1", "dqn", ("--set", "learning_starts=500"), "buffer"),
    ],
)
def test_the_best_evaluation_is_kept_and_reproduces(tmp_path, env, agent, extra, left_out):
    args = ("--env", env, "--agent", agent, "--seed", "0", "--steps", "6000", *extra)
    summary = run_summary(tmp_path, *args, "--eval-every", "1000", "--eval-episodes", "3")
    evaluations = _evaluations(tmp_path / "run")
    best_mean = max(mean for _, mean in evaluations)
    best_step = next(step for step, mean in evaluations if mean == best_mean)  # the first peak
    assert summary["best_eval_mean_return"] == pytest.approx(best_mean)
    assert summary["best_eval_step"] == best_step
    best = tmp_path / "run" / "best"
    assert summary["best_checkpoint"] == str(best)
    assert ckpt.read_meta(best)["steps"] == best_step
    # Acting and fine-tuning need no buffer or rollout, and the last checkpoint keeps them.
    assert left_out not in ckpt.read_state(best)
    assert left_out in ckpt.read_state(tmp_path / "run" / "checkpoint")

    again = run_summary(tmp_path, "--load", best, "--eval-only", "--eval-episodes", "3", name="e")
    assert again["eval_mean_return"] == pytest.approx(best_mean)  # the same episodes
    tuned = run_summary(
        tmp_path, "--load", best, "--steps", "500", "--eval-episodes", "1", name="t"
    )
    assert tuned["steps"] >= best_step + 500


def test_a_run_without_periodic_evaluations_keeps_its_final_one_as_best(tmp_path):
    summary = run_summary(
        tmp_path, "--env", "CartPole-v1", "--agent", "random", "--steps", "500", "--seed", "0"
    )
    assert summary["best_eval_step"] == summary["steps"] == 500
    assert summary["best_eval_mean_return"] == summary["eval_mean_return"]


def test_no_best_without_an_evaluation_or_when_only_evaluating(tmp_path):
    args = ("--env", "CartPole-v1", "--agent", "random", "--seed", "0")
    trained = run_summary(tmp_path, *args, "--steps", "500", "--eval-episodes", "0")
    assert trained["best_checkpoint"] is None and not (tmp_path / "run" / "best").exists()
    evaluated = invoke(
        "--load", tmp_path / "run" / "checkpoint", "--eval-only", run_dir=tmp_path / "e"
    )
    assert evaluated.exit_code == 0, evaluated.stderr
    assert json.loads((tmp_path / "e" / "summary.json").read_text())["best_checkpoint"] is None
    assert not (tmp_path / "e" / "best").exists()


def test_a_full_disk_while_keeping_the_best_is_one_line_and_keeps_the_checkpoint(
    tmp_path, monkeypatch
):
    from rlagents.run import saving

    real_save = saving.ckpt.save_checkpoint

    def save(path, *args, **kwargs):
        if Path(path).name == "best":
            raise OSError(28, "No space left on device")
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(saving.ckpt, "save_checkpoint", save)
    args = ("--env", "CartPole-v1", "--agent", "random", "--seed", "0", "--steps", "3000")
    r = invoke(*args, "--eval-every", "1000", "--save-every", "1000", run_dir=tmp_path / "run")
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "the disk failed" in lines[0] and "No space left" in lines[0]
    assert "Traceback" not in r.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["failed"] == "disk" and summary["best_checkpoint"] is None
    assert ckpt.read_meta(tmp_path / "run" / "checkpoint")["steps"] == 1000  # saved before it


def test_loading_a_run_directory_names_its_checkpoints_in_one_line(tmp_path):
    args = ("--env", "CartPole-v1", "--agent", "random", "--seed", "0", "--steps", "500")
    run_summary(tmp_path, *args)
    run_dir = tmp_path / "run"
    for more in (("--eval-only",), ("--steps", "100")):
        r = invoke("--load", run_dir, *more, run_dir=tmp_path / f"again{len(more)}")
        assert r.exit_code == 2 and "Traceback" not in r.stderr
        (line,) = r.stderr.strip().splitlines()
        assert "is a run directory, not a checkpoint" in line
        assert str(run_dir / "checkpoint") in line and str(run_dir / "best") in line
        assert not (tmp_path / f"again{len(more)}" / "summary.json").exists()
