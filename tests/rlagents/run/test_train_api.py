"""The run as a library: train, evaluate, load_checkpoint, callbacks, TensorBoard, video."""

from __future__ import annotations

import csv
import glob
import subprocess
import sys

import numpy as np
import pytest

import rlagents
from rlagents import checkpoint as ckpt


def _episodes(run_dir):
    with open(run_dir / "progress.csv") as f:
        return [(r["step"], r["return"], r["length"]) for r in csv.DictReader(f)]


def test_train_returns_the_agent_the_summary_and_the_run_dir(tmp_path):
    result = rlagents.train(
        "CartPole-v1", "dqn", steps=3_000, seed=0, config={"learning_starts": 500},
        run_dir=tmp_path / "run", eval_episodes=3,
    )  # fmt: skip
    assert result.status == "done" and result.error is None
    assert isinstance(result.agent, rlagents.Agent) and result.agent.config.learning_starts == 500
    assert result.summary["steps"] == 3_000 and result.summary["eval_episodes"] == 3
    assert result.run_dir == tmp_path / "run" and result.checkpoint == tmp_path / "run/checkpoint"
    assert ckpt.read_meta(result.checkpoint)["steps"] == 3_000


def test_one_seed_gives_one_run(tmp_path):
    runs = [
        rlagents.train("CartPole-v1", "ppo", steps=2_048, seed=4, run_dir=tmp_path / f"r{k}",
                       eval_episodes=0, tensorboard=False)
        for k in range(2)
    ]  # fmt: skip
    assert _episodes(runs[0].run_dir) == _episodes(runs[1].run_dir) != []


class Recorder(rlagents.Callback):
    def __init__(self, stop_after_evaluations: int) -> None:
        self.episodes: list[tuple[int, float]] = []
        self.evaluations: list[int] = []
        self.checkpoints: list[int] = []
        self.stop_after = stop_after_evaluations

    def on_episode_end(self, step, episode, ret, length):
        self.episodes.append((step, ret))

    def on_evaluation(self, step, mean, std, episodes):
        self.evaluations.append(step)
        return len(self.evaluations) < self.stop_after  # False: stop

    def on_checkpoint(self, step, path):
        self.checkpoints.append(step)


def test_a_callback_sees_the_run_and_stops_it(tmp_path):
    recorder = Recorder(stop_after_evaluations=2)
    result = rlagents.train(
        "CartPole-v1", "random", steps=50_000, seed=0, run_dir=tmp_path / "run",
        eval_every=1_000, eval_episodes=2, save_every=500, callbacks=[recorder],
    )  # fmt: skip
    assert result.status == "done" and result.summary["steps"] == 2_000
    assert recorder.evaluations == [1_000, 2_000]
    assert recorder.checkpoints[:4] == [500, 1_000, 1_500, 2_000]
    assert [s for s, _ in recorder.episodes] == [int(s) for s, _, _ in _episodes(result.run_dir)]


def test_a_failing_run_raises_with_what_was_kept(tmp_path):
    with pytest.raises(rlagents.RunFailed) as caught:
        rlagents.train(
            "FaultyEnv-v0", "random", steps=5_000, seed=0, env_kwargs={"raise_at": 1_201},
            run_dir=tmp_path / "run",
        )  # fmt: skip
    result = caught.value.result
    assert result.status == "failed" and "the env failed at step 1201" in str(caught.value)
    assert result.summary["steps"] == 1_200 and len(_episodes(result.run_dir)) == 24


def test_bad_options_are_rlagents_errors(tmp_path):
    with pytest.raises(rlagents.ConfigError, match=r"^steps must be at least 1"):
        rlagents.train("CartPole-v1", "random", steps=0, run_dir=tmp_path / "run")
    with pytest.raises(rlagents.ConfigError, match="learning_rate"):
        rlagents.train("CartPole-v1", "dqn", config={"learning_rate": float("nan")})


def test_load_checkpoint_needs_no_env_and_evaluate_plays_it(tmp_path):
    trained = rlagents.train(
        "CartPole-v1", "ppo", steps=4_096, seed=1, run_dir=tmp_path / "run", eval_episodes=5
    )
    agent, meta = rlagents.load_checkpoint(trained.checkpoint)
    assert meta["env_id"] == "CartPole-v1" and meta["steps"] == 4_096
    for a, b in zip(agent.policy.parameters(), trained.agent.policy.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    stats = rlagents.evaluate(
        agent, "CartPole-v1", episodes=5, seed=rlagents.evaluation_seed(trained.summary["seed"])
    )
    assert set(stats) == {"mean", "std", "returns"} and len(stats["returns"]) == 5
    assert stats["mean"] == pytest.approx(trained.summary["eval_mean_return"])


def test_tensorboard_event_files_have_sb3s_tags(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = rlagents.train(
        "CartPole-v1", "dqn", steps=3_000, seed=0, config={"learning_starts": 500},
        run_dir=tmp_path / "run", eval_every=1_500, eval_episodes=2,
    )  # fmt: skip
    events = EventAccumulator(str(result.run_dir))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    expected = {"rollout/ep_rew_mean", "rollout/ep_len_mean", "time/fps", "eval/mean_reward"}
    assert expected <= tags and {"train/loss", "train/q", "train/epsilon"} <= tags
    assert [e.step for e in events.Scalars("time/fps")] == [1_000, 2_000, 3_000]
    assert [e.step for e in events.Scalars("eval/mean_reward")] == [1_500, 3_000]
    assert next(e.step for e in events.Scalars("train/loss")) == 1_000


def test_no_tensorboard(tmp_path):
    result = rlagents.train(
        "CartPole-v1", "random", steps=500, run_dir=tmp_path / "run", tensorboard=False
    )
    assert not glob.glob(str(result.run_dir / "events.out.tfevents.*"))


def test_video_of_the_final_evaluation(tmp_path):
    cv2 = pytest.importorskip("cv2")
    pytest.importorskip("moviepy")
    result = rlagents.train(
        "CartPole-v1", "random", steps=300, seed=2, run_dir=tmp_path / "run", eval_episodes=2,
        video=True,
    )  # fmt: skip
    files = sorted((result.run_dir / "videos").glob("*.mp4"))
    assert len(files) == 2
    lengths = []
    for f in files:
        capture = cv2.VideoCapture(str(f))
        frames = 0
        while capture.read()[0]:
            frames += 1
        lengths.append(frames - 1)  # the first frame is the reset one
    returns = result.summary["eval_mean_return"] * 2
    assert sum(lengths) == returns  # CartPole: one reward per step


def test_import_rlagents_stays_torch_free():
    code = (
        "import sys, rlagents, rlagents.run\n"
        "assert rlagents.train and rlagents.load_checkpoint\n"
        "assert 'torch' not in sys.modules and 'tensorboard' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_atari_video_shows_the_real_game(tmp_path):
    cv2 = pytest.importorskip("cv2")
    pytest.importorskip("moviepy")
    result = rlagents.train(
        "ALE/Pong-v5", "random", steps=20, seed=0, run_dir=tmp_path / "run", eval_episodes=1,
        eval_max_steps=40, video=True, tensorboard=False,
    )  # fmt: skip
    (video,) = (result.run_dir / "videos").glob("*.mp4")
    ok, frame = cv2.VideoCapture(str(video)).read()
    assert ok and frame.shape == (210, 160, 3)  # the emulator's screen, not the 84x84 stack


def test_a_users_logger_that_raises_is_named(tmp_path):
    class Broken(rlagents.run.Logger):
        def episode(self, step, episode, ret, length, wall):
            raise KeyError("oops")

    with pytest.raises(rlagents.RunFailed, match=r"the callback failed.*Broken\.episode\(\)"):
        rlagents.train("CartPole-v1", "random", steps=500, run_dir=tmp_path / "run",
                       loggers=[Broken()], tensorboard=False)  # fmt: skip
