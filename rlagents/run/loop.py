"""The training loop and the evaluation of one run.

The loop is the hot path of every agent: per vector step it does one ``act``, one env step, one
``observe`` and one ``update``, and the episode bookkeeping. Everything else (evaluation,
checkpoints, logging, the progress bar) waits for ``next_event``, a single integer comparison;
episode ends go to the loggers as they happen (a callback may stop the run there).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from rlagents.agent import Agent, Transition
from rlagents.errors import RunFailure, one_line
from rlagents.run.guards import ActionCheck
from rlagents.run.logs import RunLog
from rlagents.run.outcome import signals_held
from rlagents.run.steppers import Finished, batch_of_one

PROGRESS_EVERY = 1_000  # steps between progress-bar and metrics updates


@dataclass
class LoopSettings:
    max_steps: int | None  # steps to train in this run (None: until max_episodes)
    max_episodes: int | None
    eval_every: int  # 0: only the final evaluation
    eval_episodes: int
    save_every: int  # 0: only the final checkpoint
    stop_at_return: float | None
    seed: int | None
    check_actions: ActionCheck | None = None  # None: actions go to the env unchecked


@dataclass
class LoopState:
    """Counters that survive a resume (steps and episodes continue from the checkpoint)."""

    step: int = 0
    episode: int = 0
    started_at_step: int = 0
    wall_start: float = field(default_factory=time.perf_counter)
    recent_returns: deque = field(default_factory=lambda: deque(maxlen=100))
    last_eval: tuple[float, float, int] | None = None
    last_eval_step: int | None = None  # the step of last_eval: the final one is not played twice
    reached_target: bool = False
    obs: np.ndarray | None = None  # the observation to act on next; set: resume without a reset
    episodes_at_start: int = 0  # state.episode when this run's loop began (the episode budget)

    @property
    def wall(self) -> float:
        return time.perf_counter() - self.wall_start


def train(agent: Agent, stepper, events: Events) -> None:
    """Run the loop until the step or episode budget is spent, or the target return is reached.

    KeyboardInterrupt propagates to the caller, which saves and closes; ``state`` is always
    consistent between steps, and ``state.obs`` holds the observation the next step acts on.
    A failure of the env or the agent raises :class:`RunFailure` naming the call and the step.
    """
    n = stepper.env_steps  # env steps per vector step (a Parallel env's copies, not its agents)
    log, settings, state = events.log, events.settings, events.state

    obs = state.obs if state.obs is not None else stepper.reset(settings.seed)
    state.obs = None
    act, observe, update, env_step = agent.act, agent.observe, agent.update, stepper.step
    check_actions = settings.check_actions
    # tuple.__new__(Transition, fields) is Transition(*fields) without the generated __new__'s
    # argument handling, which costs as much again, once per env step.
    make = tuple.__new__
    # try blocks cost nothing until they catch: each call's failure is named by its own.
    try:
        while True:
            try:
                actions = act(obs)
            except Exception as err:
                raise RunFailure("agent", f"act() raised {one_line(err)}") from err
            if check_actions is not None:
                check_actions(actions)
            next_obs, obs_after, reward, terminated, truncated, finished = env_step(actions)
            try:
                t = (obs, actions, reward, next_obs, terminated, truncated)
                observe(make(Transition, t))
                metrics = update()
            except Exception as err:
                raise RunFailure("agent", f"observe()/update() raised {one_line(err)}") from err
            if metrics:
                log.metrics(metrics)
            obs = obs_after
            state.step += n
            if finished and record_episodes(state, log, finished, settings):
                break
            if state.step >= events.next_event and events.handle(obs):
                break
    except RunFailure as failure:
        if failure.step is None:
            failure.step = state.step + n  # the step being played when it failed
        raise
    finally:
        state.obs = obs  # what the next step would act on: a checkpoint resumes from here
    log.interval(state.step, state.wall)


def record_episodes(
    state: LoopState, log: RunLog, finished: list[Finished], settings: LoopSettings
) -> bool:
    """Count and log the episodes that ended; return whether the run must stop (its episode
    budget is spent, or a callback asked for it)."""
    with signals_held():  # a signal between the count and the log would leave them apart
        for ret, length, *by_agent in finished:
            state.episode += 1
            state.recent_returns.append(ret)
            log.episode(state.step, state.episode, ret, length, state.wall, *by_agent)
    budget = settings.max_episodes
    if budget is not None and state.episode >= state.episodes_at_start + budget:
        return True
    return bool(log.stop_requested)


class Events:
    """What happens every so many steps — progress, checkpoints, evaluations — and the end of
    the budget, with what the run does then: ``log``, ``evaluate`` and ``save``. The loop asks
    :meth:`handle` only once ``state.step`` reaches ``next_event``, one integer comparison per
    step; a loop that advances by whole rollouts (the distributed one) asks it after each."""

    def __init__(
        self,
        settings: LoopSettings,
        state: LoopState,
        log: RunLog,
        evaluate: Callable[[], Evaluated],
        save: Callable[[], None],
    ) -> None:
        self.settings, self.state = settings, state
        self.log, self.evaluate, self.save = log, evaluate, save
        step = state.step
        state.episodes_at_start = state.episode
        self.end_step = step + settings.max_steps if settings.max_steps else None
        self.next_eval = _next_multiple(step, settings.eval_every)
        self.next_save = _next_multiple(step, settings.save_every)
        # On multiples, so that a resumed run logs its metrics over the same intervals.
        self.next_progress = (step // PROGRESS_EVERY + 1) * PROGRESS_EVERY
        self.next_event = self._earliest()

    def _earliest(self) -> int:
        due = (self.next_eval, self.next_save, self.next_progress, self.end_step)
        return min(x for x in due if x is not None)

    def handle(self, obs: np.ndarray | None) -> bool:
        """Do what is due at ``state.step``; return whether the run must stop. ``obs`` is what
        the next step acts on, kept in the checkpoint (None: the envs are not this process's)."""
        state, settings, step, log = self.state, self.settings, self.state.step, self.log
        if self.end_step is not None and step >= self.end_step:
            return True
        if step >= self.next_progress:
            self.next_progress = step + PROGRESS_EVERY - step % PROGRESS_EVERY
            log.interval(step, state.wall)
        if self.next_save is not None and step >= self.next_save:
            self.next_save = _next_multiple(step, settings.save_every)
            state.obs = obs
            try:
                self.save()
            except RunFailure as failure:
                failure.step = step
                raise
        if self.next_eval is not None and step >= self.next_eval:
            self.next_eval = _next_multiple(step, settings.eval_every)
            if _evaluate_and_check(state, log, self.evaluate, settings.stop_at_return):
                return True
        if log.stop_requested:
            return True
        self.next_event = self._earliest()
        return False


def _next_multiple(step: int, every: int) -> int | None:
    return (step // every + 1) * every if every > 0 else None


def _evaluate_and_check(state: LoopState, log: RunLog, evaluate_fn, stop_at: float | None) -> bool:
    try:
        mean, std, episodes, by_agent = evaluate_fn()
    except RunFailure as failure:
        failure.step = state.step
        raise
    state.last_eval, state.last_eval_step = (mean, std, episodes), state.step
    log.evaluation(state.step, state.wall, mean, std, episodes, by_agent)
    if stop_at is not None and mean >= stop_at:
        state.reached_target = True
        return True
    return False


# An evaluation's mean, std and count of returns, and a multi-agent env's return per agent ({}
# for one agent).
Evaluated = tuple[float, float, int, dict[str, float]]

EVALUATION_STREAM = 0xE7A1  # keeps a run's evaluation seeds apart from its training seeds


def evaluation_seed(seed: int) -> int:
    """The seed of a run's first evaluation episode (episode k is reset with it + k).

    Each run seed gets its own stream, far from the others: with ``seed + 10_000`` (as
    before), the evaluations of seeds s and s + 1 shared all but one episode, and a spread
    over seeds measured on them looked smaller than it is.

    >>> evaluation_seed(0) != evaluation_seed(1)
    True
    """
    state = np.random.SeedSequence([seed, EVALUATION_STREAM]).generate_state(1)
    return int(state[0]) % 2**31


def evaluate(
    agent: Agent, env: gym.Env, episodes: int, seed: int | None, max_steps: int | None = None
) -> list[float]:
    """Play ``episodes`` full episodes greedily (``explore=False``) on ``env``; return returns.

    Each episode runs to the env's own end (termination or its time limit), or is cut after
    ``max_steps`` steps, so that an env that never ends cannot hang the run.
    """
    returns = []
    for k in range(episodes):
        try:
            obs, _ = env.reset(seed=None if seed is None else seed + k)
        except Exception as err:
            raise RunFailure(
                "env", f"the evaluation env raised in reset(): {one_line(err)}"
            ) from err
        try:
            agent.begin_episodes()  # an agent with memory (lstm_td3) forgets the last episode
        except Exception as err:
            raise RunFailure("agent", f"begin_episodes() raised {one_line(err)}") from err
        total, done, length = 0.0, False, 0
        while not done:
            try:
                action = agent.act(batch_of_one(obs), explore=False)[0]
            except Exception as err:
                raise RunFailure("agent", f"act(explore=False) raised {one_line(err)}") from err
            try:
                obs, reward, terminated, truncated, _ = env.step(action)
            except Exception as err:
                raise RunFailure(
                    "env", f"the evaluation env raised in step(): {one_line(err)}"
                ) from err
            total += float(reward)
            length += 1
            done = terminated or truncated or (max_steps is not None and length >= max_steps)
        returns.append(total)
    return returns
