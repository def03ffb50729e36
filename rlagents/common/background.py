"""Training in a worker thread while the caller's thread steps the env and acts.

torch releases the GIL inside its kernels, so a round of gradient steps in a worker thread runs
beside the env stepping and acting on the caller's thread. To stay deterministic for a seed:

* one round at most is in flight, and the caller waits for it before the next (the ratio of
  gradient steps to env steps stays what the config says);
* everything the round needs (batches, anything computed from networks the worker does not
  change) is prepared on the caller's thread, which alone touches the replay buffer and the
  random generator;
* the caller acts with :attr:`BackgroundTrainer.snapshot`, a copy of the trained network
  refreshed in place when a round finishes, so nothing reads weights mid-update. The copy runs
  one round behind the trained network.

OpenMP thread counts are per thread: the worker gets its own (:func:`worker_threads`), and the
caller's thread keeps one, as acting on a batch of one gains nothing from threads.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import torch
from torch import nn

T = TypeVar("T")
Net = TypeVar("Net", bound=nn.Module)


def worker_threads(num_threads: int, threads: int) -> int:
    """Torch threads of the worker: ``num_threads`` when set, else ``threads`` less one left
    to the acting thread (two threads fighting over one core lose more than they gain)."""
    return threads if num_threads else max(1, threads - 1)


class BackgroundTrainer(Generic[Net]):
    """Runs training rounds of ``network`` in one worker thread with ``threads`` torch threads.

    Call it as ``run_round(train, *args, report=...)``: it waits for the round in flight,
    refreshes :attr:`snapshot`, calls ``report()`` while no round runs (reading metrics the
    rounds summed), starts ``train(*args)`` in the worker and returns what ``report`` returned.
    """

    def __init__(self, network: Net, threads: int, name: str = "train") -> None:
        torch.get_num_threads()  # fixes this thread's count before the worker sets its own
        self._executor = ThreadPoolExecutor(
            1, name, initializer=torch.set_num_threads, initargs=(threads,)
        )
        self.network = network
        self.snapshot = copy.deepcopy(network).requires_grad_(False)
        """The network as of the last finished round: what the caller's thread may read."""
        self._job: Future[Any] | None = None

    def run_round(self, train: Callable[..., Any], *args: Any, report: Callable[[], T]) -> T:
        """Finish the round in flight, ``report()``, and start ``train(*args)`` in the worker."""
        self.wait()
        result = report()
        self._job = self._executor.submit(train, *args)
        return result

    def wait(self) -> None:
        """Finish the round in flight, if any (re-raising its error here), and refresh the
        snapshot: after this, nothing runs in the worker and the snapshot is current."""
        if self._job is None:
            return
        job, self._job = self._job, None
        job.result()
        with torch.no_grad():
            for s, p in zip(self.snapshot.parameters(), self.network.parameters(), strict=True):
                s.copy_(p)  # in place: views of the snapshot's weights stay valid

    def worker_threads(self) -> int:
        """The torch thread count the rounds run with (asked in the worker itself)."""
        return self._executor.submit(torch.get_num_threads).result()

    def state_dict(self) -> dict[str, Any]:
        """The snapshot and whether its refresh is due. The round in flight finishes first, but
        the snapshot keeps the weights acting used until the next :meth:`wait`, as it would have
        without the checkpoint."""
        if self._job is not None:
            self._job.result()
        return {"snapshot": self.snapshot.state_dict(), "refresh_due": self._job is not None}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (after a :meth:`wait` and loading the network)."""
        self.wait()
        self.snapshot.load_state_dict(state["snapshot"])
        if state["refresh_due"]:  # the next wait() refreshes it, as after a round
            done: Future[Any] = Future()
            done.set_result(None)
            self._job = done
