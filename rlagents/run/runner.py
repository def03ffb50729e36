"""One run from its plan to its summary: build, train (or only evaluate), save, report.

:func:`rlagents.run.plan.resolve` has decided everything before a :class:`Run` is made; the run
builds what the plan says (the envs, the agent, the resumed state, the run directory), plays it,
and hands its evaluations to :mod:`~rlagents.run.evaluation`, its checkpoints to
:mod:`~rlagents.run.saving` and its summary to :mod:`~rlagents.run.report`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from gymnasium import spaces

from rlagents.agent import Agent
from rlagents.common.policy_map import policy_map_class
from rlagents.errors import RunFailure, one_line
from rlagents.run.callbacks import Callback, CallbackLogger
from rlagents.run.evaluation import Evaluation
from rlagents.run.games import attach_snapshots
from rlagents.run.guards import action_check
from rlagents.run.logs import FileLogger, Logger, RunLog, write_json
from rlagents.run.loop import Evaluated, Events, LoopSettings, LoopState, train
from rlagents.run.notes import note
from rlagents.run.options import RunOptions, TrainResult
from rlagents.run.outcome import Outcome, signals_as_interrupts, signals_deferred
from rlagents.run.paths import make_run_dir
from rlagents.run.plan import RunPlan, resolve
from rlagents.run.report import Timing, failure_line, summary
from rlagents.run.resume import resume
from rlagents.run.saving import Saver, Stepper
from rlagents.run.steppers import SingleEnvStepper, VectorEnvStepper


def make_learner(plan: RunPlan) -> Agent:
    """The run's agent: the agent class's, or one per agent of a Parallel env (a policy map)."""
    cls: type[Agent] = plan.agent_cls
    extra: dict[str, Any] = {}
    if plan.policies == "independent":
        cls, extra = policy_map_class(plan.agent_cls), {"agent_names": plan.agent_names}
    return cls(
        plan.observation_space,
        plan.action_space,
        plan.config,
        num_envs=plan.learner_num_envs,
        seed=plan.seed,
        **extra,
    )


class Run:
    """What a plan builds, in the order it builds it; errors surface before step 1."""

    def __init__(
        self,
        plan: RunPlan | RunOptions,
        *,
        loggers: Sequence[Logger] = (),
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.plan = plan if isinstance(plan, RunPlan) else resolve(plan)
        plan = self.plan
        self.extra_loggers = list(loggers)  # e.g. the CLI's progress bar
        self.callbacks = list(callbacks)
        self.stepper = self._make_stepper()
        self.state = LoopState()
        try:
            self.agent: Agent = make_learner(plan)
            if plan.resume:
                resume(plan, self.agent, self.state, self.stepper)
            make_run_dir(plan.run_dir)
        except BaseException:
            if self.stepper is not None:
                self.stepper.close()
            raise
        self.run_dir = plan.run_dir
        self.saver = Saver(plan, self.agent, self.state, self.stepper)
        self.evaluation = Evaluation(plan, self.run_dir)
        if plan.preset == "selfplay" and self.stepper is not None:
            self.extra_loggers.append(attach_snapshots(self.agent, self._copy, self._games()))
        self.timing = Timing()

    def _games(self) -> list[Any]:
        """The training envs (a two-player game's seats, each with its opponent)."""
        stepper = self.stepper
        if isinstance(stepper, SingleEnvStepper):
            return [stepper.env]
        assert isinstance(stepper, VectorEnvStepper)
        return list(stepper.envs.envs)  # type: ignore[attr-defined]

    def _copy(self) -> Agent:
        """A fresh agent like this run's, with one env: what an opponent snapshot loads into."""
        plan = self.plan
        return plan.agent_cls(
            plan.observation_space, plan.action_space, plan.config, num_envs=1, seed=plan.seed
        )

    def _make_stepper(self) -> Stepper | None:
        plan = self.plan
        if plan.workers:  # the workers build their own envs
            return None
        check = not plan.options.allow_nonfinite
        # One env is stepped directly; a Dict observation goes through a vector env of one,
        # which batches its keys.
        single = plan.num_envs == 1 and plan.rows_per_env == 1
        if single and not isinstance(plan.observation_space, spaces.Dict):
            return SingleEnvStepper(plan.env.make(), check_finite=check, name=plan.env_id)
        envs = plan.env.make_vector(plan.num_envs)
        return VectorEnvStepper(envs, check_finite=check, name=plan.env_id)

    def execute(self) -> TrainResult:
        """Train (or only evaluate), then save and summarise.

        Whatever happens after step 1 — Ctrl-C, SIGTERM, the env, the agent or the disk
        failing — the logs are flushed, a summary is written and the last good checkpoint is
        kept; a failure also writes an emergency checkpoint beside it where it can.
        """
        for warning in self.plan.warnings():  # here, not at build time: a bad option is one line
            note(f"warning: {warning}")
        outcome = Outcome()
        with signals_as_interrupts():
            log = self._start_log(outcome)
            if log is not None:
                self._run(log, outcome)
        games = self.evaluation.games
        result = summary(self.plan, self.state, self.saver, outcome, self.timing, games)
        with contextlib.suppress(RunFailure):  # a full disk: the result still tells it all
            write_json(self.run_dir / "summary.json", result)
        status: Literal["done", "interrupted", "failed"] = (
            "failed" if outcome.failure else "interrupted" if outcome.interrupted else "done"
        )
        failed = outcome.failure is not None
        return TrainResult(
            agent=self.agent,
            summary=result,
            run_dir=self.run_dir,
            checkpoint=Path(result["checkpoint"]) if result["checkpoint"] else None,
            status=status,
            error_template=failure_line(self.plan, self.state, self.saver, outcome)
            if failed
            else None,
            signal=outcome.interrupted,
        )

    def close(self) -> None:
        """Release the envs of a run that will not be executed (``execute`` closes its own)."""
        self._close_envs()

    def _start_log(self, outcome: Outcome) -> RunLog | None:
        plan, opts = self.plan, self.plan.options
        try:
            write_json(self.run_dir / "config.json", self.plan.record())
            loggers: list[Logger] = [FileLogger(self.run_dir, plan.agent_names, plan.players)]
            if opts.tensorboard and not opts.eval_only:
                from rlagents.run.tensorboard import TensorBoardLogger

                loggers.append(TensorBoardLogger(self.run_dir, steps_at_start=self.state.step))
            log = RunLog([*loggers, *self.extra_loggers])
            if self.callbacks:
                log.loggers.append(CallbackLogger(self.callbacks, log.request_stop))
            return log
        except RunFailure as failure:
            outcome.failure = failure
        except OSError as err:
            outcome.failure = RunFailure("disk", f"cannot write to {self.run_dir}: {one_line(err)}")
        self._close_envs()
        return None

    def _run(self, log: RunLog, outcome: Outcome) -> None:
        opts, state = self.plan.options, self.state
        try:
            with outcome.catching():
                if not opts.eval_only:
                    self._train(log)
            self.timing.train_wall = state.wall if not opts.eval_only else 0.0
            self.timing.train_eval_seconds = self.evaluation.seconds
            with outcome.catching():
                evaluated_here = state.last_eval_step == state.step
                wanted = opts.eval_episodes > 0 and (not evaluated_here or opts.video)
                if outcome.ok and wanted:
                    mean, std, episodes, by_agent = self._evaluate(final=True)
                    state.last_eval = mean, std, episodes
                    log.evaluation(state.step, state.wall, mean, std, episodes, by_agent)
            if not opts.eval_only:
                # A second Ctrl-C while saving must not cost the work: signals wait for the save.
                with signals_deferred(outcome), outcome.catching():
                    if outcome.failure is None:
                        self.saver.save()
                    else:
                        self.saver.save_emergency()
        finally:
            with outcome.catching():
                log.close()
            self._close_envs()

    def _close_envs(self) -> None:
        if self.stepper is not None:
            with contextlib.suppress(Exception):  # a broken env must not hide the summary
                self.stepper.close()
        self.evaluation.close()

    def _train(self, log: RunLog) -> None:
        plan, opts = self.plan, self.plan.options
        settings = LoopSettings(
            max_steps=plan.budget,
            max_episodes=opts.episodes,
            eval_every=opts.eval_every,
            eval_episodes=opts.eval_episodes,
            save_every=opts.save_every,
            stop_at_return=opts.stop_at_return,
            seed=plan.seed,
            check_actions=action_check(
                plan.action_space, plan.learner_num_envs, allow_nonfinite=opts.allow_nonfinite
            ),
        )
        self.state.wall_start = time.perf_counter()
        self.saver.log = log
        events = Events(settings, self.state, log, self._evaluate, self.save)
        if self.stepper is not None:
            train(self.agent, self.stepper, events)
            return
        from rlagents.run import distributed

        spec = distributed.WorkerSpec(
            plan.agent_name, plan.config, plan.env, plan.num_envs, opts.allow_nonfinite
        )
        distributed.train_on_workers(self.agent, spec, plan.workers, opts.ray_address, events)

    def _evaluate(self, final: bool = False) -> Evaluated:
        result = self.evaluation.play(self.agent, self.state.step, final=final)
        self.saver.keep_if_best(result[0])
        return result

    def save(self) -> None:
        """Write the checkpoint now (the loop's periodic saves)."""
        self.saver.save()
