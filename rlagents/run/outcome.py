"""How a run ended — normally, by a signal, or by a failure — and the signal handling that
makes SIGTERM stop a run the way Ctrl-C does."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
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
        self.received: str | None = None  # "SIGINT" or "SIGTERM"

    def reraise(self) -> None:
        """Raise the interrupt again, as :class:`Terminated` if SIGTERM caused it."""
        raise _interrupt(self.received or "SIGINT") from None


def _interrupt(name: str) -> KeyboardInterrupt:
    return Terminated() if name == "SIGTERM" else KeyboardInterrupt()


class _Held:
    """The held blocks open now, and the first signal that came during them. Python runs signal
    handlers in the main thread whichever thread the signal was delivered to, so holding them is
    a flag our handlers read: masking them in the main thread (``pthread_sigmask``) does not hold
    a ``kill`` aimed at the process, which the kernel then hands to another thread (TensorBoard's
    writer, tqdm's monitor, Ray's)."""

    depth = 0
    pending: str | None = None


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[Interrupts]:
    """Within the block, SIGTERM raises :class:`Terminated` like SIGINT raises KeyboardInterrupt
    (unless :func:`signals_held` holds them)."""
    interrupts = Interrupts()

    def on_signal(signum: int, frame: Any) -> None:
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        interrupts.received = name
        if _Held.depth:
            _Held.pending = _Held.pending or name
            return
        raise _interrupt(name)

    try:
        previous_term: Any = signal.signal(signal.SIGTERM, on_signal)
    except ValueError:  # not the main thread (a worker): leave signals to the host
        yield interrupts
        return
    # Ctrl-C too, where it raises KeyboardInterrupt (an ignored SIGINT stays ignored)
    previous_int: Any = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_signal)
    try:
        yield interrupts
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        if previous_int is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous_int)


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
    logged, a checkpoint begun is a checkpoint written). Holds what
    :func:`signals_as_interrupts` raises; costs no system call."""
    if threading.current_thread() is not threading.main_thread():  # its signals are not ours
        yield
        return
    _Held.depth += 1
    try:
        yield
    finally:
        _Held.depth -= 1
        if _Held.depth == 0 and _Held.pending:
            name, _Held.pending = _Held.pending, None
            with release or contextlib.nullcontext():
                raise _interrupt(name)


def signals_deferred(outcome: Outcome) -> contextlib.AbstractContextManager[None]:
    """Hold SIGINT and SIGTERM until the block is done; one that came is recorded as such."""
    return signals_held(outcome.catching())
