"""The signal handling a run and a seed group rely on: SIGTERM raised like Ctrl-C and told apart
from it afterwards, a Ray task that ``ray.cancel`` can interrupt where SIGINT is ignored, and an
episode's count and log line that a signal cannot split."""

import _thread
import os
import signal

import pytest

from rlagents.run.outcome import Terminated, interruptible_by_ray, signals_as_interrupts


def test_sigterm_raises_terminated_and_is_remembered_through_a_plain_interrupt():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), signals_as_interrupts() as interrupts:
        try:
            try:
                os.kill(os.getpid(), signal.SIGTERM)  # its handler runs at once
                pytest.fail("the handler did not run")
            except Terminated:
                raise KeyboardInterrupt from None  # what Ray's wait hands on, of either
        except KeyboardInterrupt:
            interrupts.reraise()
    assert interrupts.received == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == before


def test_ctrl_c_is_reraised_as_ctrl_c():
    with signals_as_interrupts() as interrupts, pytest.raises(KeyboardInterrupt) as raised:
        interrupts.reraise()
    assert type(raised.value) is KeyboardInterrupt


def test_a_task_is_interruptible_where_sigint_is_ignored():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _thread.interrupt_main()  # what ray.cancel does: nothing, with SIGINT ignored
        with pytest.raises(KeyboardInterrupt), interruptible_by_ray():
            _thread.interrupt_main()
            pytest.fail("the task was not interrupted")
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # ignored again after
    finally:
        signal.signal(signal.SIGINT, before)


def test_an_episode_counted_is_an_episode_logged_wherever_sigterm_lands(tmp_path, monkeypatch):
    # SIGTERM sent between an episode's count and its line in progress.csv (once five returns
    # are kept): it acts only once both are done, so the summary and the log agree.
    import collections
    import csv

    import rlagents
    from rlagents.run import loop

    class SignalOnFifthReturn(collections.deque):
        def append(self, value):
            super().append(value)
            if len(self) == 5:
                os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(loop, "deque", SignalOnFifthReturn)
    result = rlagents.train(
        "CartPole-v1", "random", steps=100_000, seed=0, run_dir=tmp_path / "run",
        eval_episodes=0, tensorboard=False,
    )  # fmt: skip
    assert result.status == "interrupted" and result.signal == "SIGTERM"
    with open(tmp_path / "run" / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert result.summary["episodes"] == len(rows) == 5
