"""One ``rlrun`` invocation from parsed options to summary: resolve, build, train, save."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

import rlagents
from cli import envs as envlib
from cli.logs import RunLog, write_json
from cli.steppers import SingleEnvStepper, VectorEnvStepper
from cli.training import LoopSettings, LoopState, evaluate, train
from rlagents import checkpoint as ckpt
from rlagents import registry
from rlagents.agent import Agent
from rlagents.config import build_config, config_to_dict
from rlagents.errors import CheckpointError, ConfigError, RLAgentsError, SpaceMismatchError

EXIT_INTERRUPTED = 130


@dataclass
class RunOptions:
    env_id: str | None
    agent: str | None
    steps: int | None
    episodes: int | None
    seed: int | None
    num_envs: int | None  # None: the number the agent's tuned set was made for, else 1
    set_pairs: tuple[str, ...]
    env_kwargs: tuple[str, ...]
    preset: str
    hyperparams: str
    run_dir: str | None
    eval_every: int
    eval_episodes: int
    stop_at_return: float | None
    save: str | None
    save_every: int
    load: str | None
    eval_only: bool
    render: bool
    quiet: bool


DEFAULT_STEPS = 100_000

# Evaluation scores whole games with their true rewards, whatever the training env does
# (life-loss terminals and clipped rewards are training aids, not the task).
EVALUATION_OVERRIDES = {"atari": {"terminal_on_life_loss": False, "clip_reward": False}}


class Run:
    """Everything one invocation builds, in the order it builds it; errors surface before step 1."""

    def __init__(self, opts: RunOptions) -> None:
        self.opts = opts
        self.meta = ckpt.read_meta(opts.load) if opts.load else None
        self.agent_name = opts.agent or (self.meta or {}).get("agent")
        self.env_id = opts.env_id or (self.meta or {}).get("env_id")
        if not self.agent_name:
            raise ConfigError("no agent given: pass --agent NAME (rlrun --list-agents shows them)")
        if not self.env_id:
            raise ConfigError("no env given: pass --env ID, e.g. --env CartPole-v1")
        if opts.render and not envlib.has_display():
            raise ConfigError("--render needs a display (DISPLAY is not set); run without --render")
        if self.meta and self.meta["agent"] != self.agent_name:
            raise CheckpointError(
                f"checkpoint {opts.load!r} belongs to agent {self.meta['agent']!r}, "
                f"not {self.agent_name!r}; "
                f"run with --agent {self.meta['agent']} or leave --agent out"
            )
        self.seed = opts.seed if opts.seed is not None else int.from_bytes(os.urandom(2), "little")
        self.agent_cls = registry.load(self.agent_name)

        envlib.register_env_namespace(self.env_id)
        envlib.check_env_id(self.env_id)
        make_kwargs = envlib.parse_env_kwargs(opts.env_kwargs)
        if self.meta and opts.preset == envlib.AUTO and "preset" in self.meta:
            self.preset = self.meta["preset"]  # resume with the wrappers it was trained with
        else:
            raw_obs = self._probe_observation_space(make_kwargs)
            self.preset = envlib.choose_preset(opts.preset, self.env_id, self.agent_cls, raw_obs)
        self.factory = envlib.EnvFactory(self.env_id, make_kwargs, self.preset)
        self.config = self._build_config()
        self.num_envs = opts.num_envs or self._recommended_num_envs()

        self.stepper = self._make_stepper()
        obs_space, act_space = self.observation_space, self.action_space
        self._check_spaces(obs_space, act_space)
        self.agent: Agent = self.agent_cls(
            obs_space, act_space, self.config, num_envs=self.num_envs, seed=self.seed
        )
        self.state = LoopState()
        if self.meta:
            self._load_checkpoint()
        self.run_dir = self._make_run_dir()
        self.checkpoint_dir = Path(opts.save) if opts.save else self.run_dir / "checkpoint"
        self.eval_env = None
        self.eval_seconds = 0.0
        self.train_wall = self.train_eval_seconds = 0.0

    # ------------------------------------------------------------------------------ building
    def _probe_observation_space(self, make_kwargs: dict[str, Any]) -> spaces.Space | None:
        if self.env_id.startswith("ALE/") or "CarRacing" in self.env_id:
            return None  # the preset follows from the id; skip loading a ROM or a Box2D world
        env = envlib.EnvFactory(self.env_id, make_kwargs).make()
        try:
            return env.observation_space
        finally:
            env.close()

    def _build_config(self) -> Any:
        overrides: dict[str, Any] = {}
        if self.meta:
            overrides.update(self.meta.get("config", {}))
        else:
            overrides.update(self.hyperparam_overrides())
        overrides.update(envlib.parse_key_values(self.opts.set_pairs, "--set"))
        return build_config(self.agent_cls.Config, overrides)

    def hyperparam_overrides(self) -> dict[str, Any]:
        """The agent's tuned values for this env (or the named set), as ``--hyperparams`` says."""
        table = self.agent_cls.hyperparams
        choice = self.opts.hyperparams
        if choice == envlib.NONE:
            return {}
        if choice != envlib.AUTO:
            if choice not in table:
                raise ConfigError(
                    f"agent {self.agent_name!r} has no hyper-parameter set {choice!r}; "
                    f"it has: {', '.join(table) or 'none'}"
                )
            return dict(table[choice])
        for key in (self.env_id, self.preset):
            if key and key in table:
                return dict(table[key])
        return {}

    def _recommended_num_envs(self) -> int:
        """On-policy presets are tuned for a number of envs (rl-zoo3's n_envs); use it."""
        if self.opts.hyperparams == envlib.NONE:
            return 1
        table = getattr(self.agent_cls, "recommended_num_envs", {})
        for key in (self.opts.hyperparams, self.env_id, self.preset):
            if key and key in table:
                return int(table[key])
        return 1

    def _make_stepper(self):
        if self.num_envs == 1:
            return SingleEnvStepper(self.factory.make())
        return VectorEnvStepper(self.factory.make_vector(self.num_envs))

    @property
    def observation_space(self) -> spaces.Space:
        return self.stepper.observation_space

    @property
    def action_space(self) -> spaces.Space:
        return self.stepper.action_space

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
        state = ckpt.read_state(self.opts.load)
        try:
            self.agent.load_state_dict(state)
        except (KeyError, ValueError, RuntimeError, TypeError) as err:
            raise CheckpointError(
                f"checkpoint {self.opts.load!r} does not fit agent {self.agent_name!r}: "
                f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"
            ) from None
        self.state.step = int(self.meta.get("steps", 0))
        self.state.episode = int(self.meta.get("episodes", 0))
        self.state.started_at_step = self.state.step

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
            env_part = self.env_id.replace("/", "-")
            agent_part = self.agent_name.replace(":", "-")
            name = f"{env_part}_{agent_part}_s{self.seed}_{stamp}"
            run_dir = Path("runs") / name
            suffix = 1
            while run_dir.exists():
                suffix += 1
                run_dir = Path("runs") / f"{name}-{suffix}"
        run_dir.mkdir(parents=True, exist_ok=True)
        return run_dir

    # ------------------------------------------------------------------------------ running
    def execute(self) -> int:
        """Train (or only evaluate), then save and summarise; return the exit status."""
        write_json(self.run_dir / "config.json", self.config_record())
        log = RunLog(self.run_dir)
        interrupted = False
        try:
            if not self.opts.eval_only:
                self._train(log)
        except KeyboardInterrupt:
            interrupted = True
        self.train_wall = self.state.wall if not self.opts.eval_only else 0.0
        self.train_eval_seconds = self.eval_seconds
        try:
            evaluated_here = self.state.last_eval_step == self.state.step
            if not interrupted and self.opts.eval_episodes > 0 and not evaluated_here:
                self.state.last_eval = self._evaluate()
                log.evaluation(self.state.step, self.state.wall, *self.state.last_eval)
            if not self.opts.eval_only:
                self.save()
        except KeyboardInterrupt:
            interrupted = True
            if not self.opts.eval_only:
                self.save()  # a second Ctrl-C during the final evaluation still keeps the work
        finally:
            log.close()
            self.stepper.close()
            if self.eval_env is not None:
                self.eval_env.close()
        summary = self.summary(interrupted)
        write_json(self.run_dir / "summary.json", summary)
        print(self.summary_line(summary), flush=True)
        return EXIT_INTERRUPTED if interrupted else 0

    def _train(self, log: RunLog) -> None:
        opts = self.opts
        steps = opts.steps if opts.steps or opts.episodes else DEFAULT_STEPS
        settings = LoopSettings(
            max_steps=steps,
            max_episodes=opts.episodes,
            eval_every=opts.eval_every,
            eval_episodes=opts.eval_episodes,
            save_every=opts.save_every,
            stop_at_return=opts.stop_at_return,
            seed=self.seed,
        )
        with Progress(total=steps, start=self.state.step, disable=opts.quiet) as progress:
            self.state.wall_start = time.perf_counter()
            train(
                self.agent,
                self.stepper,
                log,
                settings,
                self.state,
                self._evaluate,
                self.save,
                progress,
            )

    def _evaluate(self) -> tuple[float, float, int]:
        start = time.perf_counter()
        if self.eval_env is None:
            extra = dict(EVALUATION_OVERRIDES.get(self.preset or "", {}))
            if self.opts.render:
                extra["render_mode"] = "human"
            self.eval_env = self.factory.make(**extra)
        returns = evaluate(self.agent, self.eval_env, self.opts.eval_episodes, self.seed + 10_000)
        self.eval_seconds += time.perf_counter() - start
        return float(np.mean(returns)), float(np.std(returns)), len(returns)

    def save(self) -> None:
        meta = {
            "agent": self.agent_name,
            "package_version": rlagents.__version__,
            "agent_class": f"{type(self.agent).__module__}:{type(self.agent).__qualname__}",
            "config": config_to_dict(self.agent.config),
            "observation_space": ckpt.space_to_json(self.observation_space),
            "action_space": ckpt.space_to_json(self.action_space),
            "env_id": self.env_id,
            "env_kwargs": self.factory.make_kwargs,
            "preset": self.preset,
            "steps": self.state.step,
            "episodes": self.state.episode,
            "seed": self.seed,
        }
        ckpt.save_checkpoint(self.checkpoint_dir, meta, self.agent.state_dict())

    # ------------------------------------------------------------------------------ reporting
    def config_record(self) -> dict[str, Any]:
        return {
            "agent": self.agent_name,
            "env": self.env_id,
            "preset": self.preset,
            "env_kwargs": self.factory.make_kwargs,
            "seed": self.seed,
            "num_envs": self.num_envs,
            "config": config_to_dict(self.config),
            "options": dataclasses.asdict(self.opts),
            "package_version": rlagents.__version__,
        }

    def summary(self, interrupted: bool) -> dict[str, Any]:
        steps = self.state.step - self.state.started_at_step
        wall = self.train_wall  # training, with its periodic evaluations; not the final one
        train_seconds = max(wall - self.train_eval_seconds, 1e-9)
        mean, std, episodes = self.state.last_eval or (math.nan, math.nan, 0)
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
            "eval_mean_return": None if math.isnan(mean) else mean,
            "eval_std_return": None if math.isnan(std) else std,
            "eval_episodes": episodes,
            "reached_target": self.state.reached_target,
            "interrupted": interrupted,
            "run_dir": str(self.run_dir),
            "checkpoint": None if self.opts.eval_only else str(self.checkpoint_dir),
        }

    @staticmethod
    def summary_line(s: dict[str, Any]) -> str:
        ev = (
            f"eval {s['eval_mean_return']:.2f} ± {s['eval_std_return']:.2f} "
            f"over {s['eval_episodes']} episodes"
            if s["eval_episodes"]
            else "no evaluation"
        )
        head = "interrupted" if s["interrupted"] else "done"
        return (
            f"{head}: {s['agent']} on {s['env']} (seed {s['seed']}): {s['steps']} steps, "
            f"{s['episodes']} episodes, {s['wall_seconds']:.1f} s, "
            f"{s['steps_per_second']:.0f} steps/s; {ev}; run dir {s['run_dir']}"
        )


class Progress:
    """A tqdm bar of steps with steps/s and the mean return of the last 100 episodes."""

    def __init__(self, total: int | None, start: int, disable: bool) -> None:
        from tqdm import tqdm

        self.start = start
        self.bar = tqdm(
            total=total,
            unit="step",
            unit_scale=True,
            dynamic_ncols=True,
            disable=disable,
            file=sys.stderr,
            mininterval=0.5,
        )

    def show(self, state: LoopState) -> None:
        self.bar.update(state.step - self.start - self.bar.n)
        if state.recent_returns:
            self.bar.set_postfix(
                episodes=state.episode,
                ret=f"{np.mean(state.recent_returns):.1f}",
                refresh=False,
            )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def describe_spaces(agent_cls: type[Agent]) -> tuple[str, str]:
    def names(types: tuple[type, ...]) -> str:
        return "any" if spaces.Space in types else "|".join(t.__name__ for t in types)

    return names(agent_cls.observation_spaces), names(agent_cls.action_spaces)


__all__ = ["RLAgentsError", "Run", "RunOptions", "describe_spaces"]
