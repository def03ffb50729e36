"""The learner's side of a run on workers: Ray actors that collect, the learner that learns.

Both ways an agent learns from workers are one loop (the Ray-core parameter-server pattern):
every worker is handed the learner's weights (``ray.put`` once per update) and plays until its
part is ready; ``ray.wait`` takes whichever part comes first.

* ``remote = "rollouts"`` (``--workers N`` for A2C, PPO, TRPO): the learner waits for every
  worker's part and learns from them as one rollout of all their envs — the batch of a
  single-process run with N × num_envs envs — then hands everyone the new weights.
* ``remote = "gradients"`` (A3C): the learner applies each part as it comes and hands that worker
  the new weights at once; the others go on with the weights they have (``staleness``: how many
  updates older than the learner's they were).

A worker whose process dies is replaced by a new one (its episodes in progress are lost) and
the death is logged; training goes on. Ctrl-C, the end of the budget or a failure end every
worker before the run saves.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from rlagents.agent import Agent
from rlagents.errors import RunFailure, one_line
from rlagents.run.distributed.cluster import cluster_cpus, ray_session
from rlagents.run.distributed.worker import Worker, WorkerSpec
from rlagents.run.loop import Events, LoopState, record_episodes

log = logging.getLogger("rlagents.run")
MAX_REPLACEMENTS = 10  # worker deaths in one run before it is the run's failure
SEED_STRIDE_PER_RESTART = 7_919  # a replacement worker plays other episodes than the dead one


class WorkerPool:
    """The run's Ray actors, by index; replaces those that die."""

    def __init__(self, ray: Any, spec: WorkerSpec, count: int, seed: int) -> None:
        self.ray, self.spec, self.seed = ray, spec, seed
        # Each worker asks for one CPU, or its share where there are fewer CPUs than workers
        # (2 workers on one core still run, slower).
        cpus = min(1.0, cluster_cpus(ray) / count)
        self.actor = ray.remote(num_cpus=cpus, max_restarts=0)(Worker)
        self.replacements = 0
        self.restarts = [0] * count
        self.workers = [self._start(k) for k in range(count)]
        self._check_started()

    def _start(self, k: int) -> Any:
        # Worker k's envs are those of sub-envs k·E … (k+1)·E − 1 of a single-process run.
        seed = self.seed + k * self.spec.num_envs + SEED_STRIDE_PER_RESTART * self.restarts[k]
        return self.actor.remote(self.spec, k, seed)

    def _check_started(self) -> None:
        """Building a worker's envs and agent can fail (an env that needs what the worker's
        machine lacks): say so before training starts."""
        try:
            self.ray.get([w.pid.remote() for w in self.workers])
        except self.ray.exceptions.RayActorError as err:
            raise RunFailure("ray", f"a worker could not start: {_cause(err)}") from None

    def submit(self, k: int, weights: Any, version: int) -> Any:
        return self.workers[k].collect.remote(weights, version)

    def result(self, k: int, ref: Any, step: int) -> dict[str, Any] | None:
        """Worker ``k``'s result, or None when its process died (it is replaced)."""
        try:
            result = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as err:
            self._replace(k, err, step)
            return None
        if "failure" in result:
            who, message = result["failure"]
            raise RunFailure(who, message)
        return result

    def _replace(self, k: int, err: Exception, step: int) -> None:
        self.replacements += 1
        if self.replacements > MAX_REPLACEMENTS:
            raise RunFailure(
                "ray", f"{self.replacements} worker processes died; the last: {_cause(err)}"
            )
        self.restarts[k] += 1
        log.warning(
            f"note: worker {k} died at step {step} ({_cause(err)}); "
            f"replaced it ({self.replacements} so far)"
        )
        self.workers[k] = self._start(k)

    def close(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(Exception):  # already gone
                self.ray.kill(worker)


def _cause(err: Exception) -> str:
    """Ray's first sentence: the rest of its message is a page of troubleshooting."""
    return one_line(err).split(". ")[0]


def train_on_workers(
    agent: Agent, spec: WorkerSpec, workers: int, ray_address: str | None, events: Events
) -> None:
    """Train ``agent`` (the learner) on ``workers`` remote workers until the budget is spent,
    the target is reached or a callback stops the run; counters as :func:`rlagents.run.loop.
    train` keeps them. KeyboardInterrupt propagates after every worker is ended."""
    seed = events.settings.seed if events.settings.seed is not None else 0
    try:
        with ray_session(ray_address) as ray:
            pool = WorkerPool(ray, spec, workers, seed)
            try:
                _learn(ray, pool, agent, events)
            finally:
                pool.close()
    except RunFailure:
        raise
    except (ConnectionError, RuntimeError) as err:  # Ray could not start or lost its cluster
        raise RunFailure("ray", one_line(err)) from err
    events.log.interval(events.state.step, events.state.wall)


def _learn(ray: Any, pool: WorkerPool, agent: Agent, events: Events) -> None:
    """The parameter-server loop: gather parts, learn, log, hand out the new weights."""
    everyone = agent.remote == "rollouts"
    count = len(pool.workers)
    state, settings, log_ = events.state, events.settings, events.log
    version = 0
    weights = ray.put(agent.get_weights())
    pending = {pool.submit(k, weights, version): k for k in range(count)}
    while True:
        parts = _gather(ray, pool, pending, weights, version, count if everyone else 1, state)
        try:
            metrics = agent.learn_from([result["part"] for result in parts])
        except Exception as err:
            raise RunFailure("agent", f"learn_from() raised {one_line(err)}") from err
        metrics["staleness"] = float(sum(version - r["version"] for r in parts) / len(parts))
        version += 1
        log_.metrics(metrics)
        stop = False
        for result in parts:
            state.step += result["steps"]
            if result["episodes"]:
                stop = record_episodes(state, log_, result["episodes"], settings) or stop
        if stop or (state.step >= events.next_event and events.handle(None)):
            return
        weights = ray.put(agent.get_weights())
        for result in parts:
            k = result["index"]
            pending[pool.submit(k, weights, version)] = k


def _gather(
    ray: Any,
    pool: WorkerPool,
    pending: dict[Any, int],
    weights: Any,
    version: int,
    wanted: int,
    state: LoopState,
) -> list[dict[str, Any]]:
    """The next ``wanted`` parts (in worker order); a worker that died is replaced and asked
    again, with the weights it had been given."""
    done: dict[int, dict[str, Any]] = {}
    while len(done) < wanted:
        ready, _ = ray.wait(list(pending), num_returns=1)
        k = pending.pop(ready[0])
        result = pool.result(k, ready[0], state.step)
        if result is None:
            pending[pool.submit(k, weights, version)] = k
        else:
            done[k] = result
    return [done[k] for k in sorted(done)]
