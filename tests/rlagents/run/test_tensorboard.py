"""TensorBoardLogger writes SB3-named scalars that tensorboard's own reader reads back."""

import math
import os
import subprocess
import sys
import time
from collections import deque

import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (
    EventAccumulator,
)

from rlagents.errors import RLAgentsError
from rlagents.run.tensorboard import TensorBoardLogger

TAGS = {
    "rollout/ep_rew_mean",
    "rollout/ep_len_mean",
    "time/fps",
    "train/loss",
    "eval/mean_reward",
    "eval/std_reward",
}


def _drive(logger, start, total, seconds_per_step=0.001):
    """Feed ``logger`` as a training loop would, from env step ``start`` to ``total``.

    Episode 0 lasts 1,200 steps (so the first interval has no finished episode), the rest
    10-16 steps; an interval every 1,000 steps and at the end. Returns what the logger should
    have written: {tag: {step: value}}.
    """
    expected = {tag: {} for tag in TAGS}
    returns, lengths = deque(maxlen=100), deque(maxlen=100)
    episode, length, end = 0, 0, start + 1200
    for step in range(start + 1, total + 1):
        length += 1
        wall = (step - start) * seconds_per_step
        if step == end:
            ret = 0.5 * episode - 3.0
            logger.episode(step, episode, ret, length, wall)
            returns.append(ret)
            lengths.append(length)
            episode, length = episode + 1, 0
            end = step + 10 + episode % 7
        if step % 1000 == 0 or step == total:
            loss = step / 10_000
            logger.interval(step, wall, {"loss": loss, "q": None})
            expected["time/fps"][step] = (step - start) / wall
            expected["train/loss"][step] = loss
            if returns:
                expected["rollout/ep_rew_mean"][step] = sum(returns) / len(returns)
                expected["rollout/ep_len_mean"][step] = sum(lengths) / len(lengths)
    return expected, episode


def _read(log_dir):
    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return acc, {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}


def _event_files(log_dir):
    return sorted(p for p in os.listdir(log_dir) if p.startswith("events.out.tfevents."))


def test_scalars_read_back_with_sb3_tags_steps_and_values(tmp_path):
    run_dir = tmp_path / "runs" / "dqn-cartpole-1"
    logger = TensorBoardLogger(run_dir)
    expected, episodes = _drive(logger, 0, 5500)
    assert episodes > 300
    logger.evaluation(2000, 2.0, 1.5, 0.5, 10)
    logger.evaluation(4000, 4.0, 7.25, math.nan, 10)  # a NaN is left out
    expected["eval/mean_reward"] = {2000: 1.5, 4000: 7.25}
    expected["eval/std_reward"] = {2000: 0.5}
    logger.close()
    logger.close()  # idempotent

    assert len(_event_files(run_dir)) == 1  # in the run directory itself
    acc, scalars = _read(run_dir)
    assert set(acc.Tags()["scalars"]) == TAGS  # no train/q: None is skipped
    intervals = [1000, 2000, 3000, 4000, 5000, 5500]
    assert [e.step for e in acc.Scalars("time/fps")] == intervals
    assert [e.step for e in acc.Scalars("train/loss")] == intervals
    assert [e.step for e in acc.Scalars("rollout/ep_rew_mean")] == intervals[1:]
    assert [e.step for e in acc.Scalars("eval/mean_reward")] == [2000, 4000]
    for tag in TAGS:
        assert scalars[tag] == pytest.approx(expected[tag], rel=1e-6), tag
    assert scalars["time/fps"][3000] == pytest.approx(1000.0)
    # the mean of the last 100 returns: episodes episodes-100 .. episodes-1 by the end
    last = [0.5 * i - 3.0 for i in range(episodes - 100, episodes)]
    assert scalars["rollout/ep_rew_mean"][5500] == pytest.approx(sum(last) / 100)


def test_resumed_run_adds_a_second_event_file_and_both_read_back(tmp_path):
    first = TensorBoardLogger(tmp_path)
    _drive(first, 0, 3000)
    first.close()
    second = TensorBoardLogger(tmp_path, steps_at_start=3000)
    expected, _ = _drive(second, 3000, 5000, seconds_per_step=0.002)
    second.evaluation(5000, 4.0, 2.0, 1.0, 5)
    second.close()

    assert len(_event_files(tmp_path)) == 2
    _, scalars = _read(tmp_path)
    assert sorted(scalars["time/fps"]) == [1000, 2000, 3000, 4000, 5000]
    # fps counts only the resumed run's steps, over its own wall seconds
    assert scalars["time/fps"][5000] == pytest.approx(2000 / 4.0)
    assert scalars["time/fps"][4000] == pytest.approx(expected["time/fps"][4000])
    assert scalars["eval/mean_reward"] == {5000: 2.0}


def test_flush_makes_scalars_readable_before_close(tmp_path):
    logger = TensorBoardLogger(tmp_path)
    logger.episode(7, 0, 3.0, 7, 0.5)
    logger.interval(1000, 2.0, {})
    logger.flush()
    _, scalars = _read(tmp_path)
    assert scalars == {
        "rollout/ep_rew_mean": {1000: 3.0},
        "rollout/ep_len_mean": {1000: 7.0},
        "time/fps": {1000: 500.0},
    }
    logger.close()
    logger.flush()  # a no-op once closed
    with pytest.raises(ValueError, match="closed"):
        logger.interval(2000, 3.0, {})


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_full_disk_raises_oserror(tmp_path):
    logger = TensorBoardLogger(tmp_path)
    (name,) = _event_files(tmp_path)
    os.remove(tmp_path / name)
    os.symlink("/dev/full", tmp_path / name)  # every write now fails with ENOSPC
    logger.interval(1000, 1.0, {"loss": 1.0})
    # The writer's thread meets the error; the next flush (or close) raises it.
    deadline = time.monotonic() + 10
    with pytest.raises(OSError) as err:
        while time.monotonic() < deadline:
            logger.flush()
            time.sleep(0.01)
    assert err.value.errno == 28  # ENOSPC
    with pytest.raises(OSError):
        logger.close()
    logger.close()  # closed despite the error


def test_missing_tensorboard_is_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard.compat.proto", None)
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    with pytest.raises(RLAgentsError, match=r"pip install tensorboard, or pass tensorboard=False"):
        TensorBoardLogger(tmp_path)
    assert not os.listdir(tmp_path)


def test_import_does_not_import_torch():
    code = "import rlagents.run.tensorboard, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_writing_does_not_import_torch(tmp_path):
    code = (
        "import sys; from rlagents.run.tensorboard import TensorBoardLogger; "
        f"lg = TensorBoardLogger({str(tmp_path)!r}); lg.episode(5, 0, 1.0, 5, 0.1); "
        "lg.interval(5, 0.1, {'loss': 0.5}); lg.evaluation(5, 0.2, 1.0, 0.0, 1); lg.close(); "
        "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert len(_event_files(tmp_path)) == 1
