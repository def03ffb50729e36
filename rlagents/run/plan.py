"""A run resolved once, before anything is built: :func:`resolve` turns :class:`RunOptions` into
one immutable :class:`RunPlan`.

Every decision a run makes about itself lives in one function below, in the order they depend on
each other: the checkpoint being resumed, agent and env, seed, the env's keyword arguments, the
preset, the tuned set, the preset's options, the backend, the Config, the remote workers, the
env count, the spaces, and where it saves. The run (:mod:`rlagents.run.runner`), ``--show-config``,
:func:`rlagents.evaluate`, seed groups and sweeps read the plan; the start line and
``config.json`` are renderings of it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from rlagents import checkpoint as ckpt
from rlagents import registry
from rlagents.agent import Agent
from rlagents.config import build_config, config_to_dict
from rlagents.errors import (
    CheckpointError,
    ConfigError,
    SpaceMismatchError,
    option,
    python_name,
    render,
)
from rlagents.run import envs as envlib
from rlagents.run import paths
from rlagents.run.env_choice import EnvChoice, Resume, resolve_env
from rlagents.run.machine import describe_machine
from rlagents.run.options import RunOptions
from rlagents.run.plan_warnings import budget_warnings
from rlagents.run.tuned import TunedSet
from rlagents.version import __version__

DEFAULT_STEPS = 100_000
Names = tuple[str, ...]


@dataclass(frozen=True)
class RunPlan:
    """Everything a run will do, decided; building it makes no further choice."""

    options: RunOptions  # what was asked for
    agent_name: str
    agent_cls: type[Agent]
    config: Any  # the agent's Config instance
    env: envlib.EnvFactory  # the training envs' factory (evaluation: env.for_evaluation())
    tuned: TunedSet
    seed: int
    num_envs: int  # per worker, if any
    workers: int  # remote workers (0: this process plays)
    observation_space: spaces.Space
    action_space: spaces.Space
    run_dir: Path
    checkpoint_dir: Path
    move_aside: bool  # overwrite: move what is at checkpoint_dir aside before the first save
    resume: Resume | None
    rows_per_env: int = 1  # the agents of a Parallel env, each a row of the learner's batch
    agent_names: tuple[str, ...] = ()  # a Parallel env's agents (its rows, in order)
    players: tuple[str, ...] = ()  # whose returns the logs show one by one: agents, or seats
    policies: str = "shared"  # a Parallel env's agents: one policy, or one each

    @property
    def env_id(self) -> str:
        return self.env.env_id

    @property
    def preset(self) -> str | None:
        return self.env.preset

    @property
    def backend(self) -> str:
        return self.env.backend

    @property
    def learner_num_envs(self) -> int:
        """The rows of the learner's batch: each env's (each agent of a Parallel env), and every
        worker's for a rollout agent."""
        rows = self.num_envs * self.rows_per_env
        if self.workers and self.agent_cls.remote == "rollouts":
            return self.workers * rows
        return rows

    @property
    def budget(self) -> int | None:
        """The env steps this run trains for (None: until its episode budget is spent)."""
        opts = self.options
        if opts.eval_only:
            return 0
        if opts.steps or opts.episodes:
            return opts.steps
        return self.tuned.steps or DEFAULT_STEPS

    def warnings(self) -> list[str]:
        """What the plan allows but the user will not want (:mod:`rlagents.run.plan_warnings`)."""
        if self.resume or self.options.eval_only or not self.budget:
            return []
        return budget_warnings(self.config, self.budget)

    def start_line(self, name: Callable[[str, str], str] = python_name) -> str:
        """What the run is about to do: agent, env, tuned set, budget and the time it may take
        (run options named by ``name``: as Python arguments unless told otherwise)."""
        preset = f" (preset {self.preset})" if self.preset else ""
        if self.backend != "gymnasium":
            preset += f" on {self.backend}, evaluated on gymnasium"
        text = f"{self.agent_name} on {self.env_id}{preset}; {self.tuned.describe(self.env_id)}"
        budget = self.budget
        env_kwargs = self.options.env_kwargs or {}
        tuned_options = self.tuned.preset_kwargs
        overridden = {k: v for k, v in env_kwargs.items() if k in tuned_options}
        kept = {k: v for k, v in tuned_options.items() if k not in overridden}
        own_options = tuned_options and self.env.preset_kwargs != kept
        if budget:
            text += f"; this run: {budget:,} steps"
        if overridden:  # the user's word on one of the set's options (see _preset_kwargs)
            shown = ", ".join(f"{k}={v!r}" for k, v in overridden.items())
            text += f" with {shown} from {option('env_kwargs')}"
        if own_options:  # preset_kwargs replaced the set's: its measured speed does not hold
            shown = ", ".join(f"{k}={v!r}" for k, v in self.env.preset_kwargs.items())
            text += f" with preset options {shown or 'none'}"
        elif budget:
            expected = self.tuned.expected_time(budget)
            if expected:
                text += f", {expected}"
        return render(text, name)

    def __str__(self) -> str:
        """The plan in a few lines: what ``print(plan)`` shows."""
        record = self.record()
        lines = [self.start_line()]
        for key in ("seed", "num_envs", "workers", "backend", "env_kwargs", "preset_kwargs"):
            lines.append(f"  {key}: {record[key]}")
        lines.append(f"  observation: {self.observation_space}, action: {self.action_space}")
        lines.append(f"  run_dir: {self.run_dir}, checkpoint: {self.checkpoint_dir}")
        if self.resume:
            lines.append(f"  resumes: {self.resume.path} (step {self.resume.meta.get('steps')})")
        lines.append(f"  config: {record['config']}")
        return "\n".join(lines)

    def record(self) -> dict[str, Any]:
        """``config.json``: the plan as data."""
        return {
            "agent": self.agent_name,
            "env": self.env_id,
            "preset": self.preset,
            "preset_kwargs": self.env.preset_kwargs,
            "env_kwargs": self.env.make_kwargs,
            "seed": self.seed,
            "num_envs": self.num_envs,
            "workers": self.workers,
            "backend": self.backend,  # the training envs' (evaluation: always gymnasium)
            "steps": self.budget,  # this run's budget (None: episodes)
            "tuned_set": self.tuned.name,  # where the config's values came from
            "tuned_set_instead_of": self.tuned.instead_of,
            "config": config_to_dict(self.config),
            "options": dataclasses.asdict(self.options),
            "package_version": __version__,
            "machine": describe_machine(),
        }


def resolve(opts: RunOptions) -> RunPlan:
    """Decide everything about a run; raise :class:`~rlagents.RLAgentsError` on anything that
    cannot work, before any env step (one env is made and closed to learn the spaces)."""
    opts.check()
    resume = _resume(opts.load)
    agent_name, env_id = _agent_and_env(opts, resume)
    if opts.render and not envlib.has_display():
        raise ConfigError(
            f"{option('render', True)} needs a display (DISPLAY is not set); run without it"
        )
    agent_cls = registry.load(agent_name)
    choice = resolve_env(
        agent_cls,
        agent_name,
        env_id,
        preset=opts.preset,
        hyperparams=opts.hyperparams,
        env_kwargs=opts.env_kwargs,
        preset_kwargs=opts.preset_kwargs,
        backend=opts.backend,
        resume=resume,
    )
    config = _config(agent_cls, opts, choice.tuned, resume)
    workers = _workers(agent_cls, agent_name, opts, config)
    if workers and choice.env.preset == "selfplay":  # its opponent pool is the learner's
        raise ConfigError(
            f"remote workers do not play two-player games ({env_id}): the opponent snapshots "
            f"live in the learner's process; leave {option('workers')} out"
        )
    num_envs = opts.num_envs or _resumed_num_envs(resume, env_id, workers)
    num_envs = num_envs or _default_num_envs(agent_cls, opts, choice, workers)
    envlib.check_num_envs(env_id, num_envs)
    policies = _policies(opts, resume, choice)
    if workers and policies == "independent":
        raise ConfigError(
            f"remote workers play one shared policy; leave {option('workers')} out, or use "
            f"{option('policies')} shared"
        )
    choice = _joint_view(agent_cls, agent_name, choice)
    if policies == "independent" and "agent_id" not in choice.env.preset_kwargs:
        # one policy per agent needs no agent id as an input
        options = {**choice.env.preset_kwargs, "agent_id": False}
        choice = dataclasses.replace(
            choice, env=dataclasses.replace(choice.env, preset_kwargs=options)
        )
    observation_space, action_space, agent_names, players = _spaces(choice.env)
    rows_per_env = max(len(agent_names), 1)
    _check_spaces(agent_cls, agent_name, choice.env, observation_space, action_space)
    if resume:
        ckpt.check_compatible(resume.meta, resume.path, agent_name, observation_space, action_space)
    seed = _seed(opts, resume)
    checkpoint_dir = Path(opts.save) if opts.save else None
    move_aside = False
    if checkpoint_dir is not None:
        move_aside = paths.check_save_target(
            checkpoint_dir, opts.overwrite, agent_name, env_id, opts.load
        )
    run_dir = paths.choose_run_dir(opts.run_dir, env_id, agent_name, seed)
    return RunPlan(
        options=opts,
        agent_name=agent_name,
        agent_cls=agent_cls,
        config=config,
        env=choice.env,
        tuned=choice.tuned,
        seed=seed,
        num_envs=num_envs,
        workers=workers,
        observation_space=observation_space,
        action_space=action_space,
        run_dir=run_dir,
        checkpoint_dir=checkpoint_dir or run_dir / "checkpoint",
        move_aside=move_aside,
        resume=resume,
        rows_per_env=rows_per_env,
        agent_names=agent_names,
        players=players,
        policies=policies,
    )


def _resume(load: str | None) -> Resume | None:
    """The checkpoint to continue, read once (its record and its episodes in progress)."""
    if not load:
        return None
    meta = ckpt.read_meta(load)
    warning = ckpt.newer_version_warning(meta)
    if warning:
        _note(f"warning: {warning}")
    return Resume(load, meta, ckpt.read_run_state(load))


def _agent_and_env(opts: RunOptions, resume: Resume | None) -> tuple[str, str]:
    """The agent and env asked for; when resuming, the checkpoint's where not given."""
    meta = resume.meta if resume else {}
    agent_name = opts.agent or meta.get("agent")
    env_id = opts.env_id or meta.get("env_id")
    if not agent_name:
        raise ConfigError(
            f"no agent given: pass {option('agent')} NAME (rlrun --list-agents shows them)"
        )
    if not env_id:
        raise ConfigError(f"no env given: pass {option('env_id')} ID, e.g. CartPole-v1")
    if resume and meta["agent"] != agent_name:
        raise CheckpointError(
            f"checkpoint {resume.path!r} belongs to agent {meta['agent']!r}, not "
            f"{agent_name!r}; pass {option('agent')} {meta['agent']} or leave it out"
        )
    return agent_name, env_id


def _seed(opts: RunOptions, resume: Resume | None) -> int:
    """The seed given; when resuming, the checkpoint's; else a random one (recorded)."""
    if opts.seed is not None:
        return opts.seed
    if resume and resume.meta.get("seed") is not None:
        return int(resume.meta["seed"])
    return int.from_bytes(os.urandom(2), "little")


def _config(
    agent_cls: type[Agent], opts: RunOptions, tuned: TunedSet, resume: Resume | None
) -> Any:
    """The agent's Config: the checkpoint's or the tuned set's values, then the user's."""
    overrides: dict[str, Any] = dict(resume.meta.get("config", {})) if resume else {}
    if not resume:
        overrides.update(tuned.values)
    overrides.update(opts.config)
    if opts.workers and agent_cls.remote == "gradients":
        given = opts.config.get("num_workers")
        if given is not None and str(given) != str(opts.workers):
            raise ConfigError(
                f"{option('workers')} {opts.workers} and num_workers={given} in "
                f"{option('config')} disagree; give one of them"
            )
        overrides["num_workers"] = opts.workers  # an A3C's workers are its num_workers
    return build_config(agent_cls.Config, overrides)


def _workers(agent_cls: type[Agent], agent_name: str, opts: RunOptions, config: Any) -> int:
    """Remote workers: ``workers`` for an agent that learns from workers' rollouts, its
    ``num_workers`` for one that learns from their gradients (A3C); 0: this process plays."""
    remote = agent_cls.remote
    if remote == "gradients":
        workers = int(config.num_workers)
    elif opts.workers:
        if remote != "rollouts":
            able = registry.agents_with_remote("rollouts")
            raise ConfigError(
                f"agent {agent_name!r} learns in one process and cannot use "
                f"{option('workers')}; agents that collect on workers: {', '.join(able) or 'none'}"
            )
        workers = opts.workers
    else:
        workers = 0
    if opts.ray_address and not workers:
        raise ConfigError(
            f"{option('ray_address')} is where remote workers run: add {option('workers')} N "
            f"(agent {agent_name!r} runs in this process otherwise)"
        )
    if workers:
        from rlagents.run.distributed import cluster

        cluster.import_ray(f"agent {agent_name!r} with {workers} workers")
        if opts.ray_address:
            cluster.check_ray_address(opts.ray_address)
    return workers


def _resumed_num_envs(resume: Resume | None, env_id: str, workers: int) -> int | None:
    """A resumed run of the same env plays as many envs as its checkpoint, where that holds
    episodes to continue: with another number they would start anew."""
    if not resume or workers or resume.meta.get("env_id") != env_id:
        return None
    run_state = resume.run_state
    # A Parallel env's policies keep their rows (each agent's own envs), episodes or not.
    keep_rows = bool(resume.meta.get("agent_names"))
    if not run_state or ("env" not in run_state and not keep_rows):
        return None
    n = run_state.get("num_envs")
    return n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else None


def _default_num_envs(
    agent_cls: type[Agent], opts: RunOptions, choice: EnvChoice, workers: int
) -> int:
    """The envs the tuned set was made for (rl-zoo3's n_envs); on rollout workers, split among
    them (rounded up), so that ``workers`` keeps the batch the set was tuned with."""
    recommended = 1
    if opts.hyperparams != envlib.NONE:
        table = agent_cls.recommended_num_envs
        for key in (choice.tuned.name, choice.env.env_id, choice.env.preset):
            if key and key in table:
                recommended = int(table[key])
                break
    if workers and agent_cls.remote == "rollouts":
        return -(-recommended // workers)
    return recommended


def _spaces(factory: envlib.EnvFactory) -> tuple[spaces.Space, spaces.Space, Names, Names]:
    """The training env's spaces, a Parallel env's agents (each a row of the batch), and the
    players whose returns are logged one by one (those agents, or a game's seats), from one env
    made and closed."""
    env: Any = factory.make()
    try:
        if isinstance(env, gym.vector.VectorEnv):  # the agents preset
            names = tuple(getattr(env, "agents", ()))
            return env.single_observation_space, env.single_action_space, names, names
        seats = tuple(env.unwrapped.seats) if factory.preset == "selfplay" else ()
        return env.observation_space, env.action_space, (), seats
    finally:
        env.close()


def _joint_view(agent_cls: type[Agent], agent_name: str, choice: EnvChoice) -> EnvChoice:
    """An agent that reads the joint view (MAPPO) gets the global state from the env."""
    if not agent_cls.joint_view:
        return choice
    if choice.env.preset != envlib.AGENTS:
        raise SpaceMismatchError(
            f"agent {agent_name!r} reads the joint view of a PettingZoo Parallel env (its "
            f"global state); {choice.env.env_id} is not one: try ppo"
        )
    options = {**choice.env.preset_kwargs, "global_state": True}
    return dataclasses.replace(choice, env=dataclasses.replace(choice.env, preset_kwargs=options))


def _policies(opts: RunOptions, resume: Resume | None, choice: EnvChoice) -> str:
    """One policy shared by a Parallel env's agents, or one each (a resumed run: its
    checkpoint's)."""
    policies = opts.policies
    if resume and resume.meta.get("policies"):
        policies = str(resume.meta["policies"])
    if policies == "independent" and choice.env.preset != envlib.AGENTS:
        raise ConfigError(
            f"{option('policies')} independent gives each agent of a PettingZoo Parallel env "
            f"its own policy; {choice.env.env_id} has one learner (preset "
            f"{choice.env.preset}); leave {option('policies')} out"
        )
    return policies


def _check_spaces(
    agent_cls: type[Agent],
    agent_name: str,
    factory: envlib.EnvFactory,
    obs_space: spaces.Space,
    act_space: spaces.Space,
) -> None:
    problem = agent_cls.check_spaces(obs_space, act_space)
    if not problem:
        return
    fits = [n for n in registry.agents_accepting(obs_space, act_space) if n != agent_name]
    hint = f"; agents that fit {factory.env_id}: {', '.join(fits)}" if fits else ""
    box_for_tabular = (
        factory.preset is None
        and isinstance(obs_space, spaces.Box)
        and not envlib.accepts(agent_cls.observation_spaces, spaces.Box)
    )
    preset_hint = f"; or try {option('preset')} discretized" if box_for_tabular else ""
    raise SpaceMismatchError(
        f"agent {agent_name!r} cannot run on {factory.env_id} "
        f"(observation {obs_space}, action {act_space}): {problem}{hint}{preset_hint}"
    )


def _note(text: str) -> None:
    from rlagents.run.notes import note

    note(text)
