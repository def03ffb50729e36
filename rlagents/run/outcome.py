"""How a run ended — normally, by a signal, or by a failure — and the signal handling that
makes SIGTERM stop a run the way Ctrl-C does."""

from __future__ import annotations

import contextlib
import os
import signal
import traceback
from collections.abc import Iterator
from typing import Any

from rlagents.errors import RunFailure, one_line


class Outcome:
    """How the run ended: normally, interrupted by a signal, or by a failure."""

    def __init__(self) -> None:
        self.interrupted: str | None = None  # "SIGINT" or "SIGTERM"
        self.failure: RunFailure | None = None

    @property
    def ok(self) -> bool:
        return self.interrupted is None and self.failure is None

    @contextlib.contextmanager
    def catching(self) -> Iterator[None]:
        """Record an interrupt or a failure (the first failure wins) and carry on."""
        try:
            yield
        except KeyboardInterrupt as err:
            self.interrupted = self.interrupted or getattr(err, "signal_name", "SIGINT")
        except RunFailure as failure:
            self.failure = self.failure or failure
        except Exception as err:  # a bug of ours: the run still ends with its work kept
            if os.environ.get("RLRUN_TRACEBACK"):
                traceback.print_exc()
            self.failure = self.failure or RunFailure(
                "rlrun", f"{one_line(err)} (a bug in rlrun: please report it)"
            )


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so that both stop the run the same way."""

    signal_name = "SIGTERM"


class Interrupts:
    """Which signal interrupted a block, where a library in between (Ray's ``wait``) turns the
    exception raised for it into a plain KeyboardInterrupt."""

    def __init__(self) -> None:
        self.received: str | None = None  # "SIGTERM"; Ctrl-C is not recorded

    def reraise(self) -> None:
        """Raise the interrupt again, as :class:`Terminated` if SIGTERM caused it."""
        if self.received == "SIGTERM":
            raise Terminated from None
        raise KeyboardInterrupt from None


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[Interrupts]:
    """Within the block, SIGTERM raises :class:`Terminated` like SIGINT raises KeyboardInterrupt."""
    interrupts = Interrupts()

    def on_sigterm(signum: int, frame: Any) -> None:
        interrupts.received = "SIGTERM"
        raise Terminated

    try:
        previous: Any = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (a worker): leave signals to the host
        yield interrupts
        return
    try:
        yield interrupts
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interruptible_by_ray() -> Iterator[None]:
    """Let ``ray.cancel`` stop the task running in this block. Ray cancels a running task by
    simulating Ctrl-C (``_thread.interrupt_main``), which does nothing where SIGINT is ignored,
    as it is in the workers of a driver started with it ignored (``nohup``, ``&`` in a script):
    Python's own handler goes back in for the block."""
    try:
        ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        if ignored:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: Ray could not interrupt it either way
        ignored = False
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def signals_held(
    release: contextlib.AbstractContextManager[Any] | None = None,
) -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done, then let them act (within ``release``,
    where given): what the block changes, it changes whole (an episode counted is an episode
    logged, a checkpoint begun is a checkpoint written)."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (ValueError, AttributeError, OSError):  # not the main thread, or no sigmask
        yield
        return
    try:
        yield
    finally:
        with release or contextlib.nullcontext():
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def signals_deferred(outcome: Outcome) -> contextlib.AbstractContextManager[None]:
    """Hold SIGINT and SIGTERM until the block is done; one that came is recorded as such."""
    return signals_held(outcome.catching())
