"""One ``rlrun`` invocation from parsed options to summary: resolve, build, train, save."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import rlagents
from rlagents import checkpoint as ckpt
from rlagents import env_snapshot, registry
from rlagents.agent import Agent
from rlagents.config import build_config, config_to_dict
from rlagents.errors import CheckpointError, ConfigError, RunFailure, SpaceMismatchError, one_line
from rlagents.run import envs as envlib
from rlagents.run.callbacks import Callback, CallbackLogger
from rlagents.run.guards import action_check
from rlagents.run.logs import FileLogger, Logger, RunLog, write_json
from rlagents.run.loop import LoopSettings, LoopState, evaluate, evaluation_seed, train
from rlagents.run.options import RunOptions, TrainResult
from rlagents.run.outcome import Outcome, signals_as_interrupts, signals_deferred
from rlagents.run.paths import check_writable, free_checkpoint_path
from rlagents.run.steppers import SingleEnvStepper, VectorEnvStepper
from rlagents.run.tuned import TunedSet, choose_tuned_set

DEFAULT_STEPS = 100_000
EVAL_MAX_STEPS = 100_000  # an evaluation episode of an env without a time limit is cut here

# Evaluation scores whole games with their true rewards, whatever the training env does
# (life-loss terminals and clipped rewards are training aids, not the task).
EVALUATION_OVERRIDES = {"atari": {"terminal_on_life_loss": False, "clip_reward": False}}


class Run:
    """Everything one invocation builds, in the order it builds it; errors surface before step 1."""

    def __init__(
        self,
        opts: RunOptions,
        *,
        loggers: Sequence[Logger] = (),
        callbacks: Sequence[Callback] = (),
    ) -> None:
        opts.check()
        self.opts = opts
        self.extra_loggers = list(loggers)  # e.g. the CLI's progress bar
        self.callbacks = list(callbacks)
        self.meta = ckpt.read_meta(opts.load) if opts.load else None
        if self.meta:
            warning = ckpt.newer_version_warning(self.meta)
            if warning:
                _note(f"warning: {warning}")
        agent_name = opts.agent or (self.meta or {}).get("agent")
        env_id = opts.env_id or (self.meta or {}).get("env_id")
        if not agent_name:
            raise ConfigError("no agent given: pass --agent NAME (rlrun --list-agents shows them)")
        if not env_id:
            raise ConfigError("no env given: pass --env ID, e.g. --env CartPole-v1")
        self.agent_name: str = agent_name
        self.env_id: str = env_id
        if opts.render and not envlib.has_display():
            raise ConfigError("--render needs a display (DISPLAY is not set); run without --render")
        if self.meta and self.meta["agent"] != self.agent_name:
            raise CheckpointError(
                f"checkpoint {opts.load!r} belongs to agent {self.meta['agent']!r}, "
                f"not {self.agent_name!r}; "
                f"run with --agent {self.meta['agent']} or leave --agent out"
            )
        self.seed = self._choose_seed()
        self.agent_cls = registry.load(self.agent_name)

        envlib.register_env_namespace(self.env_id)
        envlib.check_env_id(self.env_id)
        make_kwargs = self._choose_env_kwargs()
        envlib.check_render_mode(self.env_id, make_kwargs)
        if self.meta and opts.preset == envlib.AUTO and "preset" in self.meta:
            self.preset = self.meta["preset"]  # resume with the wrappers it was trained with
        else:
            raw_obs = envlib.probe_observation_space(self.env_id, make_kwargs)
            self.preset = envlib.choose_preset(opts.preset, self.env_id, self.agent_cls, raw_obs)
        self.tuned = self._choose_tuned_set()
        preset_kwargs = self._choose_preset_kwargs()
        envlib.check_preset_kwargs(
            self.preset,
            preset_kwargs,
            requested=opts.preset,
            env_id=self.env_id,
            make_kwargs=make_kwargs,
        )
        self.backend = envlib.choose_backend(
            opts.backend, self.env_id, self.preset, preset_kwargs, make_kwargs
        )
        self.factory = envlib.EnvFactory(
            self.env_id, make_kwargs, self.preset, preset_kwargs, backend=self.backend
        )
        self.eval_factory = self.factory.for_evaluation()  # results are the real env's
        self.config = self._build_config()
        self.workers = self._choose_workers()
        self.num_envs = (  # per worker, if any
            opts.num_envs or self._checkpoint_num_envs() or self._default_num_envs()
        )
        envlib.check_num_envs(self.env_id, self.num_envs)
        self.checkpoint_dir = Path(opts.save) if opts.save else None
        self._move_aside_before_saving = self._check_save_target() if opts.save else False

        self.stepper = self._make_stepper()
        obs_space, act_space = self.observation_space, self.action_space
        self._check_spaces(obs_space, act_space)
        self.agent: Agent = self.agent_cls(
            obs_space, act_space, self.config, num_envs=self.learner_num_envs, seed=self.seed
        )
        self.state = LoopState()
        if self.meta:
            self._load_checkpoint()
        self.run_dir = self._make_run_dir()
        if self.checkpoint_dir is None:
            self.checkpoint_dir = self.run_dir / "checkpoint"
        self.emergency_checkpoint: Path | None = None
        self.best: tuple[float, int] | None = None  # the best evaluation's mean and step
        self.log: RunLog | None = None
        self.eval_env: gym.Env | None = None
        self.eval_seconds = 0.0
        self.train_wall = self.train_eval_seconds = 0.0

    def _warn_if_it_never_learns(self) -> None:
        """An off-policy agent that starts learning after the budget plays at random throughout."""
        starts, budget = getattr(self.config, "learning_starts", 0), self.budget
        if self.meta or self.opts.eval_only or not budget or not isinstance(starts, int):
            return
        if starts < budget:
            return
        _note(
            f"warning: learning_starts {starts:,} is not below this run's {budget:,} steps: "
            f"it never learns; lower it (--set learning_starts={budget // 10}) or train longer"
        )

    def _choose_workers(self) -> int:
        """Remote workers: ``--workers`` for an agent that learns from workers' rollouts, its
        ``num_workers`` for one that learns from their gradients (A3C); 0: this process plays."""
        opts, remote = self.opts, self.agent_cls.remote
        if remote == "gradients":
            workers = int(self.config.num_workers)
        elif opts.workers:
            if remote != "rollouts":
                able = registry.agents_with_remote("rollouts")
                raise ConfigError(
                    f"agent {self.agent_name!r} learns in one process and cannot use --workers; "
                    f"agents that collect on workers: {', '.join(able) or 'none'}"
                )
            workers = opts.workers
        else:
            workers = 0
        if opts.ray_address and not workers:
            raise ConfigError(
                "--ray-address is where remote workers run: add --workers N "
                f"(agent {self.agent_name!r} runs in this process otherwise)"
            )
        if workers:
            from rlagents import distributed

            distributed.import_ray(f"agent {self.agent_name!r} with {workers} workers")
            if opts.ray_address:
                distributed.check_ray_address(opts.ray_address)
        return workers

    @property
    def learner_num_envs(self) -> int:
        """The envs whose steps one update learns from: every worker's for a rollout agent."""
        if self.workers and self.agent_cls.remote == "rollouts":
            return self.workers * self.num_envs
        return self.num_envs

    def _choose_seed(self) -> int:
        """The seed given; when resuming, the checkpoint's; else a random one (recorded)."""
        if self.opts.seed is not None:
            return self.opts.seed
        if self.meta and self.meta.get("seed") is not None:
            return int(self.meta["seed"])
        return int.from_bytes(os.urandom(2), "little")

    def _choose_env_kwargs(self) -> dict[str, Any]:
        """The ``--env-kwargs`` given; when resuming the same env without any, the checkpoint's
        (a time limit, say, is part of the episodes the run restores)."""
        if self.opts.env_kwargs:
            return dict(self.opts.env_kwargs)
        if self.meta and self.meta.get("env_id") == self.env_id:
            return dict(self.meta.get("env_kwargs") or {})
        return {}

    def _choose_preset_kwargs(self) -> dict[str, Any]:
        """The options given; when resuming with the checkpoint's preset, its options too (a
        stack size, say, shapes the observations the agent was trained on); else the tuned
        set's (an action repeat, say, is part of a recipe)."""
        if self.opts.preset_kwargs:
            return dict(self.opts.preset_kwargs)
        if self.meta and self.preset is not None and self.preset == self.meta.get("preset"):
            return dict(self.meta.get("preset_kwargs") or {})
        if self.preset is not None and self.tuned.preset_kwargs:
            # An option --env-kwargs names too (terminal_on_life_loss=false, say) is the user's.
            given = self.opts.env_kwargs or {}
            return {k: v for k, v in self.tuned.preset_kwargs.items() if k not in given}
        return {}

    # ------------------------------------------------------------------------------ building
    def _build_config(self) -> Any:
        overrides: dict[str, Any] = {}
        if self.meta:
            overrides.update(self.meta.get("config", {}))
        else:
            overrides.update(self.hyperparam_overrides())
        overrides.update(self.opts.config)
        if self.opts.workers and self.agent_cls.remote == "gradients":
            given = self.opts.config.get("num_workers")
            if given is not None and str(given) != str(self.opts.workers):
                raise ConfigError(
                    f"--workers {self.opts.workers} and --set num_workers={given} disagree; "
                    "give one of them"
                )
            overrides["num_workers"] = self.opts.workers  # an A3C's workers are its num_workers
        return build_config(self.agent_cls.Config, overrides)

    def _choose_tuned_set(self) -> TunedSet:
        """The tuned set ``--hyperparams`` names (a resumed run keeps its checkpoint's
        config: none)."""
        if self.meta:
            return TunedSet(None)
        return choose_tuned_set(
            self.agent_cls, self.agent_name, self.opts.hyperparams, self.env_id, self.preset
        )

    def hyperparam_overrides(self) -> dict[str, Any]:
        """The tuned set's Config values, as ``--hyperparams`` chose them."""
        return dict(self.tuned.values)

    def _checkpoint_num_envs(self) -> int | None:
        """A resumed run of the same env plays as many envs as its checkpoint, where that
        holds episodes to continue: with another number they would start anew."""
        if not self.meta or self.workers or self.meta.get("env_id") != self.env_id:
            return None
        run_state = self._loaded_run_state
        if not run_state or "env" not in run_state:
            return None
        n = run_state.get("num_envs")
        return n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else None

    def _default_num_envs(self) -> int:
        """The tuned set's envs; on rollout workers, split among them (rounded up), so that
        ``--workers N`` keeps the batch the set was tuned with."""
        recommended = self._recommended_num_envs()
        if self.workers and self.agent_cls.remote == "rollouts":
            return -(-recommended // self.workers)
        return recommended

    def _recommended_num_envs(self) -> int:
        """A tuned set is made for a number of envs (rl-zoo3's n_envs); use it."""
        if self.opts.hyperparams == envlib.NONE:
            return 1
        table = self.agent_cls.recommended_num_envs
        for key in (self.tuned.name, self.env_id, self.preset):
            if key and key in table:
                return int(table[key])
        return 1

    def _make_stepper(self) -> SingleEnvStepper | VectorEnvStepper | None:
        if self.workers:  # the workers build their own envs; one here tells the spaces
            env = self.factory.make()
            self._spaces = (env.observation_space, env.action_space)
            env.close()
            return None
        check = not self.opts.allow_nonfinite
        if self.num_envs == 1:
            return SingleEnvStepper(self.factory.make(), check_finite=check, name=self.env_id)
        envs = self.factory.make_vector(self.num_envs)
        return VectorEnvStepper(envs, check_finite=check, name=self.env_id)

    @property
    def observation_space(self) -> spaces.Space:
        return self.stepper.observation_space if self.stepper else self._spaces[0]

    @property
    def action_space(self) -> spaces.Space:
        return self.stepper.action_space if self.stepper else self._spaces[1]

    def _check_spaces(self, obs_space: spaces.Space, act_space: spaces.Space) -> None:
        problem = self.agent_cls.check_spaces(obs_space, act_space)
        if not problem:
            return
        fits = [n for n in registry.agents_accepting(obs_space, act_space) if n != self.agent_name]
        hint = f"; agents that fit {self.env_id}: {', '.join(fits)}" if fits else ""
        preset_hint = ""
        if (
            self.preset is None
            and isinstance(obs_space, spaces.Box)
            and not envlib._accepts(self.agent_cls.observation_spaces, spaces.Box)
        ):
            preset_hint = "; or try --preset discretized"
        raise SpaceMismatchError(
            f"agent {self.agent_name!r} cannot run on {self.env_id} "
            f"(observation {obs_space}, action {act_space}): {problem}{hint}{preset_hint}"
        )

    def _load_checkpoint(self) -> None:
        assert self.meta is not None and self.opts.load is not None
        ckpt.check_compatible(
            self.meta, self.opts.load, self.agent_name, self.observation_space, self.action_space
        )
        ckpt.load_agent_state(self.agent, self.opts.load)
        self.state.step = int(self.meta.get("steps", 0))
        self.state.episode = int(self.meta.get("episodes", 0))
        self.state.started_at_step = self.state.step
        self._resume_episodes(self._loaded_run_state)

    @functools.cached_property
    def _loaded_run_state(self) -> dict[str, Any] | None:
        """The run state of ``--load``'s checkpoint, read once (the envs' count and episodes)."""
        assert self.opts.load is not None
        return ckpt.read_run_state(self.opts.load)

    def _resume_episodes(self, run_state: dict[str, Any] | None) -> None:
        """Continue the checkpoint's episodes where the envs can be restored exactly."""
        why = self._why_episodes_cannot_continue(run_state)
        if why:
            _note(f"note: the resumed run starts new episodes: {why}")
            self.agent.envs_restarted()
            return
        assert run_state is not None and self.stepper is not None
        try:
            env_snapshot.restore_env(self._env_object(), run_state["env"])
            self.stepper.load_episode_state(run_state["episodes"])
        except (KeyError, ValueError, TypeError, IndexError) as err:
            raise CheckpointError(
                f"checkpoint {self.opts.load!r}: its env snapshot does not fit {self.env_id} "
                f"({one_line(err)}); pass --load a checkpoint of this env"
            ) from None
        self.state.obs = run_state["obs"]
        self.state.recent_returns.extend(float(r) for r in run_state.get("recent_returns", []))

    def _why_episodes_cannot_continue(self, run_state: dict[str, Any] | None) -> str | None:
        if self.stepper is None:
            return f"this run plays on {self.workers} remote workers"
        if not run_state:
            return "the checkpoint holds no env state (it was written by an older rlagents)"
        if run_state.get("why_not"):
            return str(run_state["why_not"])
        if run_state.get("num_envs") != self.num_envs:
            return f"the checkpoint ran {run_state.get('num_envs')} envs, this run {self.num_envs}"
        obs = run_state.get("obs")
        space = self.observation_space
        expected = (self.num_envs, *(space.shape or ()))
        if not isinstance(obs, np.ndarray) or obs.shape != expected or obs.dtype != space.dtype:
            return "its saved observations do not fit this env"
        return None

    def _env_object(self) -> Any:
        stepper = self.stepper
        assert stepper is not None
        return stepper.env if isinstance(stepper, SingleEnvStepper) else stepper.envs

    def _check_save_target(self) -> bool:
        """Refuse a --save that would replace something else than this run's own checkpoint;
        return whether it is to be moved aside (``--overwrite``) before the first save."""
        path = self.checkpoint_dir
        assert path is not None
        if path.is_symlink():
            raise ConfigError(
                f"--save {str(path)!r} is a symbolic link; pass the directory it points to "
                f"({os.path.realpath(path)!r}) or another one"
            )
        kind = ckpt.describe_target(path)
        problem = None
        if kind == "other":
            problem = (
                "is not empty and is not a checkpoint"
                if path.is_dir()
                else "is a file, not a directory"
            )
        elif kind == "checkpoint" and not self._is_own_checkpoint(path):
            problem = self._foreign_checkpoint_text(path)
        if problem and not self.opts.overwrite:
            raise ConfigError(
                f"--save {str(path)!r} {problem}; choose a new or empty directory, or add "
                "--overwrite to move it aside (nothing is deleted)"
            )
        check_writable(path, "--save")
        return problem is not None

    def _is_own_checkpoint(self, path: Path) -> bool:
        if self.opts.load and os.path.realpath(self.opts.load) == os.path.realpath(path):
            return True
        try:
            meta = ckpt.read_meta(path)
        except CheckpointError:
            return False
        return meta.get("agent") == self.agent_name and meta.get("env_id") == self.env_id

    def _foreign_checkpoint_text(self, path: Path) -> str:
        try:
            meta = ckpt.read_meta(path)
        except CheckpointError:
            return "holds a damaged checkpoint"
        return (
            f"holds a checkpoint of {meta.get('agent')!r} on {meta.get('env_id')} "
            f"(step {meta.get('steps')}), not of {self.agent_name!r} on {self.env_id}"
        )

    def _make_run_dir(self) -> Path:
        if self.opts.run_dir:
            run_dir = Path(self.opts.run_dir)
            if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
                raise ConfigError(
                    f"run directory {str(run_dir)!r} already exists and is not empty; "
                    "choose a new --run-dir (nothing in it was touched)"
                )
        else:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            env_part = self.env_id.replace("/", "-").replace(":", "-")
            agent_part = self.agent_name.replace(":", "-")
            name = f"{env_part}_{agent_part}_s{self.seed}_{stamp}"
            run_dir = Path("runs") / name
            suffix = 1
            while run_dir.exists():
                suffix += 1
                run_dir = Path("runs") / f"{name}-{suffix}"
        check_writable(run_dir, "--run-dir")
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(
                f"cannot create the run directory {str(run_dir)!r}: {one_line(err)}; "
                "choose another --run-dir"
            ) from None
        return run_dir

    # ------------------------------------------------------------------------------ running
    @property
    def budget(self) -> int | None:
        """The env steps this run trains for (None: until its episode budget is spent)."""
        if self.opts.eval_only:
            return 0
        if self.opts.steps or self.opts.episodes:
            return self.opts.steps
        return self.tuned.steps or DEFAULT_STEPS

    def start_line(self) -> str:
        """What the run is about to do: agent, env, tuned set, budget and the time it may take."""
        preset = f" (preset {self.preset})" if self.preset else ""
        if self.backend != "gymnasium":
            preset += f" on {self.backend}, evaluated on gymnasium"
        text = f"{self.agent_name} on {self.env_id}{preset}; {self.tuned.describe(self.env_id)}"
        budget = self.budget
        env_kwargs = self.opts.env_kwargs or {}
        overridden = {k: v for k, v in env_kwargs.items() if k in self.tuned.preset_kwargs}
        kept = {k: v for k, v in self.tuned.preset_kwargs.items() if k not in overridden}
        own_options = self.tuned.preset_kwargs and self.factory.preset_kwargs != kept
        if budget:
            text += f"; this run: {budget:,} steps"
        if overridden:  # the user's word on one of the set's options (see _choose_preset_kwargs)
            options = ", ".join(f"{k}={v!r}" for k, v in overridden.items())
            text += f" with {options} from --env-kwargs"
        if own_options:  # --preset-kwargs replaced the set's: its measured speed does not hold
            options = ", ".join(f"{k}={v!r}" for k, v in self.factory.preset_kwargs.items())
            text += f" with preset options {options or 'none'}"
        elif budget:
            expected = self.tuned.expected_time(budget)
            if expected:
                text += f", {expected}"
        return text

    def execute(self) -> TrainResult:
        """Train (or only evaluate), then save and summarise.

        Whatever happens after step 1 — Ctrl-C, SIGTERM, the env, the agent or the disk
        failing — the logs are flushed, a summary is written and the last good checkpoint is
        kept; a failure also writes an emergency checkpoint beside it where it can.
        """
        outcome = Outcome()
        self._warn_if_it_never_learns()  # here, not at build time: a bad option is one line
        with signals_as_interrupts():
            log = self._start_log(outcome)
            if log is not None:
                self._run(log, outcome)
        summary = self.summary(outcome)
        with contextlib.suppress(RunFailure):  # a full disk: the result still tells it all
            write_json(self.run_dir / "summary.json", summary)
        status: Literal["done", "interrupted", "failed"] = (
            "failed" if outcome.failure else "interrupted" if outcome.interrupted else "done"
        )
        return TrainResult(
            agent=self.agent,
            summary=summary,
            run_dir=self.run_dir,
            checkpoint=Path(summary["checkpoint"]) if summary["checkpoint"] else None,
            status=status,
            error=self.failure_line(outcome) if outcome.failure else None,
            signal=outcome.interrupted,
        )

    def _start_log(self, outcome: Outcome) -> RunLog | None:
        try:
            write_json(self.run_dir / "config.json", self.config_record())
            loggers: list[Logger] = [FileLogger(self.run_dir)]
            if self.opts.tensorboard and not self.opts.eval_only:
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
        try:
            with outcome.catching():
                if not self.opts.eval_only:
                    self._train(log)
            self.train_wall = self.state.wall if not self.opts.eval_only else 0.0
            self.train_eval_seconds = self.eval_seconds
            with outcome.catching():
                evaluated_here = self.state.last_eval_step == self.state.step
                wanted = self.opts.eval_episodes > 0 and (not evaluated_here or self.opts.video)
                if outcome.ok and wanted:
                    self.state.last_eval = self._evaluate(final=True)
                    log.evaluation(self.state.step, self.state.wall, *self.state.last_eval)
            if not self.opts.eval_only:
                # A second Ctrl-C while saving must not cost the work: signals wait for the save.
                with signals_deferred(outcome), outcome.catching():
                    self._final_save(outcome)
        finally:
            with outcome.catching():
                log.close()
            self._close_envs()

    def _final_save(self, outcome: Outcome) -> None:
        if outcome.failure is None:
            self.save()
            return
        # The env, the agent or the disk failed: the last good checkpoint stays as it is, and
        # the state reached is written beside it (or, if that place cannot be written, in the
        # run directory or the temp folder), where the user can inspect or resume it.
        assert self.checkpoint_dir is not None
        problems = []
        for folder in (self.checkpoint_dir.parent, self.run_dir, Path(tempfile.gettempdir())):
            path = free_checkpoint_path(folder / f"{self.checkpoint_dir.name}-emergency")
            try:
                ckpt.save_checkpoint(path, self.checkpoint_meta(), self.agent.state_dict())
            except Exception as err:
                problems.append(f"{path}: {one_line(err)}")
                continue
            self.emergency_checkpoint = path
            return
        _note(f"note: no emergency checkpoint could be written ({'; '.join(problems)})")

    def close(self) -> None:
        """Release the envs of a run that will not be executed (``execute`` closes its own)."""
        self._close_envs()

    def _close_envs(self) -> None:
        for env in (self.stepper, self.eval_env):
            if env is not None:
                with contextlib.suppress(Exception):  # a broken env must not hide the summary
                    env.close()

    def _train(self, log: RunLog) -> None:
        opts = self.opts
        settings = LoopSettings(
            max_steps=self.budget,
            max_episodes=opts.episodes,
            eval_every=opts.eval_every,
            eval_episodes=opts.eval_episodes,
            save_every=opts.save_every,
            stop_at_return=opts.stop_at_return,
            seed=self.seed,
            check_actions=action_check(
                self.action_space, self.learner_num_envs, allow_nonfinite=opts.allow_nonfinite
            ),
        )
        self.state.wall_start = time.perf_counter()
        self.log = log
        if self.stepper is not None:
            train(self.agent, self.stepper, log, settings, self.state, self._evaluate, self.save)
            return
        from rlagents import distributed

        spec = distributed.WorkerSpec(
            self.agent_name, self.config, self.factory, self.num_envs, opts.allow_nonfinite
        )
        distributed.train_on_workers(
            self.agent,
            spec,
            self.workers,
            opts.ray_address,
            log,
            settings,
            self.state,
            self._evaluate,
            self.save,
        )

    def _evaluate(self, final: bool = False) -> tuple[float, float, int]:
        """Greedy episodes on the evaluation env; the final evaluation records them with
        ``video``."""
        start = time.perf_counter()
        env = self._video_env() if final and self.opts.video else self._eval_env()
        try:
            returns = evaluate(
                self.agent,
                env,
                self.opts.eval_episodes,
                evaluation_seed(self.seed),
                max_steps=self._eval_max_steps(env),
            )
        finally:
            if env is not self.eval_env:
                try:
                    env.close()  # RecordVideo writes the last file on close
                except OSError as err:
                    raise RunFailure("disk", f"cannot write the videos: {one_line(err)}") from err
        self.eval_seconds += time.perf_counter() - start
        mean = float(np.mean(returns))
        self._keep_if_best(mean)
        return mean, float(np.std(returns)), len(returns)

    def _keep_if_best(self, mean: float) -> None:
        """Save the agent to ``RUN_DIR/best`` when it evaluates better than every evaluation
        before it in this run (rl-zoo3's ``best_model``): a run whose returns slide back after a
        peak keeps its peak. The agent's ``kept_state`` (networks, counters and, for most
        agents, the optimiser; not the replay buffer, partial rollout or episodes in
        progress): it evaluates and fine-tunes, it does not resume exactly."""
        if self.opts.eval_only or not math.isfinite(mean):
            return
        if self.best is not None and mean <= self.best[0]:
            return
        path = self.run_dir / BEST_CHECKPOINT
        state = type(self.agent).kept_state(self.agent.state_dict())
        why_not = f"it is the best evaluation's agent (step {self.state.step}), kept without them"
        try:
            ckpt.save_checkpoint(
                path,
                self.checkpoint_meta(),
                state,
                run_state={"num_envs": self.num_envs, "why_not": why_not},
            )
        except OSError as err:
            raise RunFailure("disk", f"cannot write {path}: {one_line(err)}") from err
        self.best = (mean, self.state.step)

    def _eval_env(self) -> gym.Env:
        if self.eval_env is None:
            extra: dict[str, Any] = dict(EVALUATION_OVERRIDES.get(self.preset or "", {}))
            if self.opts.render:
                extra["render_mode"] = "human"
            self.eval_env = self.eval_factory.make(**extra)
        return self.eval_env

    def _video_env(self) -> gym.Env:
        """An evaluation env that renders frames (the real game's, for Atari: ``render``
        reaches the emulator beneath the preset's wrappers) and writes them as mp4s."""
        if not envlib.has_display():  # pygame-drawn envs render off-screen, without a word
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        extra = dict(EVALUATION_OVERRIDES.get(self.preset or "", {}), render_mode="rgb_array")
        env = self.eval_factory.make(**extra)
        episodes = self.opts.video_episodes or self.opts.eval_episodes
        try:
            return gym.wrappers.RecordVideo(
                env,
                video_folder=str(self.run_dir / "videos"),
                episode_trigger=lambda k: k < episodes,
                name_prefix=f"eval-step{self.state.step}",
                disable_logger=True,
            )
        except gym.error.DependencyNotInstalled as err:
            env.close()
            raise RunFailure("rlrun", f"--video needs moviepy ({one_line(err)})") from err

    def _eval_max_steps(self, env: gym.Env) -> int | None:
        if self.opts.eval_max_steps:
            return self.opts.eval_max_steps
        has_limit = env.spec is not None and env.spec.max_episode_steps
        return None if has_limit else EVAL_MAX_STEPS

    def save(self) -> None:
        """Write the checkpoint (agent and, where they can be snapshotted, the envs)."""
        assert self.checkpoint_dir is not None
        if self._move_aside_before_saving:
            moved = ckpt.move_aside(self.checkpoint_dir)
            _note(f"note: --overwrite: moved {str(self.checkpoint_dir)!r} aside to {str(moved)!r}")
            self._move_aside_before_saving = False
        try:
            ckpt.save_checkpoint(
                self.checkpoint_dir,
                self.checkpoint_meta(),
                self.agent.state_dict(),
                run_state=self.run_state(),
            )
        except OSError as err:
            raise RunFailure(
                "disk", f"cannot write the checkpoint {self.checkpoint_dir}: {one_line(err)}"
            ) from err
        if self.log is not None:
            self.log.checkpoint(self.state.step, self.checkpoint_dir)

    def checkpoint_meta(self) -> dict[str, Any]:
        return {
            "agent": self.agent_name,
            "package_version": rlagents.__version__,
            "agent_class": f"{type(self.agent).__module__}:{type(self.agent).__qualname__}",
            "config": config_to_dict(self.agent.config),
            "observation_space": ckpt.space_to_json(self.observation_space),
            "action_space": ckpt.space_to_json(self.action_space),
            "env_id": self.env_id,
            "env_kwargs": self.factory.make_kwargs,
            "preset": self.preset,
            "preset_kwargs": self.factory.preset_kwargs,
            "steps": self.state.step,
            "episodes": self.state.episode,
            "seed": self.seed,
        }

    def run_state(self) -> dict[str, Any]:
        """The episodes in progress: the envs' snapshot, the next observation, the returns so
        far — what makes N/2 steps and N/2 resumed the same run as N steps."""
        state: dict[str, Any] = {"num_envs": self.num_envs, "why_not": None}
        if self.stepper is None:
            state["why_not"] = f"its envs ran on {self.workers} remote workers"
            return state
        if self.state.obs is None:
            state["why_not"] = "the run stopped before its first step"
            return state
        try:
            state["env"] = env_snapshot.snapshot_env(self._env_object())
        except ValueError as err:  # an emulator or a physics world: not plain data
            state["why_not"] = str(err)
            return state
        state["obs"] = np.array(self.state.obs, copy=True)
        state["episodes"] = self.stepper.episode_state()
        state["recent_returns"] = list(self.state.recent_returns)
        return state

    # ------------------------------------------------------------------------------ reporting
    def config_record(self) -> dict[str, Any]:
        return {
            "agent": self.agent_name,
            "env": self.env_id,
            "preset": self.preset,
            "preset_kwargs": self.factory.preset_kwargs,
            "env_kwargs": self.factory.make_kwargs,
            "seed": self.seed,
            "num_envs": self.num_envs,
            "workers": self.workers,
            "backend": self.backend,  # the training envs' (evaluation: always gymnasium)
            "steps": self.budget,  # this run's budget (None: --episodes)
            "tuned_set": self.tuned.name,  # where the config's values came from
            "tuned_set_instead_of": self.tuned.instead_of,
            "config": config_to_dict(self.config),
            "options": dataclasses.asdict(self.opts),
            "package_version": rlagents.__version__,
        }

    def summary(self, outcome: Outcome) -> dict[str, Any]:
        steps = self.state.step - self.state.started_at_step
        wall = self.train_wall or (self.state.wall if outcome.failure else 0.0)
        train_seconds = max(wall - self.train_eval_seconds, 1e-9)
        mean, std, episodes = self.state.last_eval or (math.nan, math.nan, 0)
        failure = outcome.failure
        return {
            "agent": self.agent_name,
            "env": self.env_id,
            "preset": self.preset,
            "seed": self.seed,
            "steps": self.state.step,
            "steps_this_run": steps,
            "episodes": self.state.episode,
            "wall_seconds": round(wall, 3),
            "steps_per_second": round(steps / train_seconds, 1) if steps else 0.0,
            "eval_mean_return": _finite_or_none(mean),
            "eval_std_return": _finite_or_none(std),
            "eval_episodes": episodes,
            "eval_seed": evaluation_seed(self.seed),  # episode k: this + k
            "reached_target": self.state.reached_target,
            "interrupted": bool(outcome.interrupted),
            "signal": outcome.interrupted,
            "error": str(failure) if failure else None,
            "failed": failure.who if failure else None,
            "run_dir": str(self.run_dir),
            "checkpoint": self._last_good_checkpoint(),
            "best_checkpoint": str(self.run_dir / BEST_CHECKPOINT) if self.best else None,
            "best_eval_mean_return": self.best[0] if self.best else None,
            "best_eval_step": self.best[1] if self.best else None,
            "emergency_checkpoint": str(self.emergency_checkpoint)
            if self.emergency_checkpoint
            else None,
        }

    def _last_good_checkpoint(self) -> str | None:
        if self.opts.eval_only or self.checkpoint_dir is None:
            return None
        kind = ckpt.describe_target(self.checkpoint_dir)
        return str(self.checkpoint_dir) if kind == "checkpoint" else None

    def failure_line(self, outcome: Outcome) -> str:
        assert outcome.failure is not None
        parts = [f"{self.agent_name} on {self.env_id}: {outcome.failure}"]
        parts.append(f"logs and summary in {self.run_dir}")
        good = self._last_good_checkpoint()
        if good and ckpt.describe_target(Path(good)) == "checkpoint":
            meta = ckpt.read_meta(good)
            parts.append(f"last good checkpoint {good} (step {meta.get('steps')})")
        if self.emergency_checkpoint:
            parts.append(
                f"the state at step {self.state.step} is in {self.emergency_checkpoint} "
                "(--load it to inspect or resume)"
            )
        return "; ".join(parts)


BEST_CHECKPOINT = "best"  # RUN_DIR/best: the agent of the run's best evaluation

log = logging.getLogger("rlagents.run")  # notes and warnings; rlrun prints them as "rlrun: ..."


def _note(text: str) -> None:
    log.warning(text)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
