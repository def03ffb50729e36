"""What a run is asked to do (:class:`RunOptions`) and what it leaves (:class:`TrainResult`).

Each run option is declared once, here: its name, type, default, range and help. ``rlrun``'s
flags, :func:`rlagents.train`'s keyword arguments and the README's option table are derived from
these declarations, and :meth:`RunOptions.check` is the one place a value's type and range are
checked (``rlrun`` parses a flag's text and leaves the checking to it).
"""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rlagents.agent import Agent
from rlagents.errors import ConfigError, did_you_mean, option, render

Kind = Literal["value", "flag", "pairs", "path"]


@dataclass(frozen=True)
class Option:
    """How a run option reads on the command line and in the docs (its name and Python type are
    the :class:`RunOptions` field's)."""

    help: str  # one sentence for --help
    flag: str | None = None  # the command line's spelling; None: "--" + the name with dashes
    metavar: str | None = None
    kind: Kind = "value"  # flag: on/off; pairs: repeated KEY=VALUE; path: a directory
    low: float | None = None  # the smallest value allowed
    high: float | None = None  # the largest value allowed
    choices: tuple[str, ...] = ()
    default_text: str | None = None  # what a default of None means, for --help
    details: str = ""  # more for the README's option table (Markdown)
    inverted: bool = False  # a flag that turns the option off (--no-tensorboard)

    def cli_flag(self, name: str) -> str:
        return self.flag or "--" + name.replace("_", "-")


def _option(default: Any = None, help: str = "", **how: Any) -> Any:
    """A :class:`RunOptions` field with its :class:`Option`; mutable defaults are copied."""
    spec = Option(help=help, **how)
    if isinstance(default, dict):
        return field(default_factory=dict, metadata={"option": spec})
    return field(default=default, metadata={"option": spec})


@dataclass
class RunOptions:
    """Everything a run is asked to do; :func:`rlagents.train` and ``rlrun train`` fill it."""

    env_id: str | None = _option(
        help="Gymnasium env id, e.g. CartPole-v1 or ALE/BattleZone-v5.",
        flag="--env",
        metavar="ID",
        default_text="the checkpoint's, with --load",
        details="`ALE/...` ids work without importing `ale_py`; Gymnasium's `module:EnvId` form "
        "imports the module first (your own env); ids a distribution registers through the "
        "`rlagents.envs` entry points work too.",
    )
    agent: str | None = _option(
        help="Registered agent name or module:Class (see --list-agents).",
        metavar="NAME",
        default_text="the checkpoint's, with --load",
    )
    steps: int | None = _option(
        help="Env steps to train (all envs together).",
        metavar="N",
        low=1,
        default_text="the tuned set's budget, else 100000",
        details="The tuned set's budget is its `n_timesteps`, as in rl-zoo3 (PPO on CartPole "
        "100,000). With `--load`, N more steps; the step count continues.",
    )
    episodes: int | None = _option(
        help="Train until this many episodes have finished.", metavar="N", low=1
    )
    seed: int | None = _option(
        help="Seed of envs and agent.",
        metavar="S",
        low=0,
        high=2**32 - 1,
        default_text="the checkpoint's with --load, else random, recorded",
    )
    num_envs: int | None = _option(
        help="Envs stepped together.",
        metavar="K",
        low=1,
        default_text="what the agent's tuned set was made for, else 1",
        details="A `SyncVectorEnv` with same-step autoreset; one env is stepped directly, which "
        "is cheaper.",
    )
    workers: int | None = _option(
        help="Collect on N remote workers on Ray, each with --num-envs envs (a2c, ppo, trpo); "
        "a3c's asynchronous workers (its num_workers).",
        metavar="N",
        low=1,
    )
    ray_address: str | None = _option(
        help="Run the workers on this Ray cluster.",
        metavar="HOST:PORT",
        default_text="a local Ray, started and stopped",
    )
    config: Mapping[str, Any] = _option(
        {},
        help="Override an agent hyper-parameter (repeatable).",
        flag="--set",
        metavar="KEY=VALUE",
        kind="pairs",
        details="Keys and values are checked against the agent's `Config` (did-you-mean on typos).",
    )
    env_kwargs: Mapping[str, Any] = _option(
        {},
        help="Keyword for gymnasium.make (repeatable).",
        metavar="KEY=VALUE",
        kind="pairs",
        details="Each value a Python literal (`10`, `(1, 2)`), `true`/`false`/`null` in any "
        "case, or else a string; recorded in the checkpoint (`--load` reuses them).",
    )
    preset: str = _option(
        "auto",
        help="Env wrappers: atari, car_racing, discretized; POMDPs: remove_velocity, flicker, "
        "noise, dropout.",
        metavar="auto|none|NAME",
        details="`auto`: Atari preprocessing for `ALE/...`, the CarRacing preset for "
        "`CarRacing`, discretization when a tabular agent meets a Box observation.",
    )
    preset_kwargs: Mapping[str, Any] = _option(
        {},
        help="An option of the preset, e.g. stack_size=4 or p=0.3 (repeatable; needs --preset).",
        metavar="KEY=VALUE",
        kind="pairs",
        details="Parsed like `--env-kwargs`; without it, the tuned set's own preset options. "
        "Recorded in `config.json` and the checkpoint (`--load` reuses them).",
    )
    policies: str = _option(
        "shared",
        help="A PettingZoo Parallel env's agents: one policy they share (their id an input), "
        "or one each.",
        choices=("shared", "independent"),
        details="`shared`: parameter sharing, the agents rows of one batch (IPPO with PPO); "
        "`independent`: a policy per agent, each learning from its own rows. Other envs: "
        "`shared`.",
    )
    backend: str = _option(
        "auto",
        help="The training envs' engine: EnvPool's C++ twin where it has one (CarRacing-v3; "
        "pip install envpool), auto: EnvPool when installed. Evaluation is always on Gymnasium.",
        choices=("auto", "gymnasium", "envpool"),
        details="EnvPool's CarRacing-v3 is about 10× Gymnasium's speed; `config.json` records "
        "the backend.",
    )
    hyperparams: str = _option(
        "auto",
        help="The agent's tuned hyper-parameter set.",
        metavar="auto|none|NAME|FILE.yaml",
        details="`auto`: the set for the env id (or its preset; without a GPU, a set only a GPU "
        "gets through in hours is replaced by its CPU alternative); `FILE.yaml`: a set "
        "`rlrun sweep` wrote. The start line names the set, its budget and its measured speed.",
    )
    run_dir: str | None = _option(
        help="Where logs and checkpoints go; an existing non-empty directory is refused.",
        metavar="DIR",
        kind="path",
        default_text="runs/<env>_<agent>_s<seed>_<time>",
    )
    eval_every: int = _option(
        0,
        help="Evaluate every N steps (0: at the end only).",
        metavar="N",
        low=0,
        details="Greedy (`explore=False`) full episodes on a separate env with true rewards; a "
        "final evaluation always runs (`--eval-episodes 0` turns it off).",
    )
    eval_episodes: int = _option(
        10,
        help="Full greedy episodes per evaluation (0: none).",
        metavar="K",
        low=0,
        details="Episode k is reset with `rlagents.evaluation_seed(seed) + k`.",
    )
    eval_max_steps: int | None = _option(
        help="Cut evaluation episodes after N steps.",
        metavar="N",
        low=1,
        details="So that an env that never ends cannot hang the run.",
        default_text="the env's limit, else 100000",
    )
    stop_at_return: float | None = _option(
        help="Stop once an evaluation's mean return reaches R (needs --eval-every).",
        metavar="R",
    )
    save: str | None = _option(
        help="Checkpoint directory.",
        metavar="DIR",
        kind="path",
        default_text="RUN_DIR/checkpoint",
    )
    save_every: int = _option(0, help="Also checkpoint every N steps.", metavar="N", low=0)
    load: str | None = _option(
        help="Resume from this checkpoint directory.", metavar="DIR", kind="path"
    )
    overwrite: bool = _option(
        False,
        help="Let --save replace a directory that is not this run's checkpoint (moved aside, "
        "never deleted).",
        kind="flag",
        details="It is moved to `DIR.replaced-<time>`.",
    )
    eval_only: bool = _option(False, help="With --load: only evaluate the checkpoint.", kind="flag")
    render: bool = _option(
        False, help="Show evaluation episodes in a window (needs a display).", kind="flag"
    )
    allow_nonfinite: bool = _option(
        False,
        help="Train on NaN/inf rewards, observations and actions instead of stopping.",
        kind="flag",
    )
    tensorboard: bool = _option(
        True,
        help="No TensorBoard event files in the run directory.",
        flag="--no-tensorboard",
        kind="flag",
        inverted=True,
    )
    video: bool = _option(
        False,
        help="Record the final evaluation's episodes as mp4s in RUN_DIR/videos.",
        kind="flag",
        details="Gymnasium's `RecordVideo`, headless; Atari videos show the real game, not the "
        "84×84 stack. `--load CKPT --eval-only --video` records a trained agent.",
    )
    video_episodes: int | None = _option(
        help="Record only the first N evaluation episodes.",
        metavar="N",
        low=1,
        default_text="all",
    )

    def __post_init__(self) -> None:
        for name, spec in run_option_specs().items():  # a pathlib.Path is a path too
            value = getattr(self, name)
            if spec.kind == "path" and isinstance(value, os.PathLike):
                setattr(self, name, os.fspath(value))

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> RunOptions:
        """Options from keyword arguments; an unknown name fails with did-you-mean."""
        names = [f.name for f in dataclasses.fields(cls)]
        for key in kwargs:
            if key not in names:
                raise ConfigError(
                    f"unknown run option {key!r}{did_you_mean(key, names)}; "
                    f"the options are: {', '.join(names)}"
                )
        return cls(**kwargs)

    def check(self) -> None:
        """Refuse values no run can use, naming the option; the one place they are checked."""
        for f in dataclasses.fields(self):
            _check_value(f.name, f.metadata["option"], str(f.type), getattr(self, f.name))
        if self.eval_only and not self.load:
            raise ConfigError(f"{option('eval_only', True)} needs {option('load')} CHECKPOINT")
        if self.stop_at_return is not None and not self.eval_every:
            raise ConfigError(
                f"{option('stop_at_return')} needs {option('eval_every')} N (it checks evaluations)"
            )


def run_option_specs() -> dict[str, Option]:
    """Every run option's :class:`Option`, by name, in declaration order."""
    return {f.name: f.metadata["option"] for f in dataclasses.fields(RunOptions)}


def _check_value(name: str, spec: Option, annotation: str, value: Any) -> None:
    """``value``'s type and range against its declaration (``annotation``: the field's type)."""
    if value is None:
        return
    shown = option(name)
    if spec.kind == "flag":
        if not isinstance(value, bool):
            raise ConfigError(f"{shown} is True or False, got {value!r}")
    elif spec.kind == "pairs":
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{shown} maps names to values, got {value!r}")
    elif annotation.startswith(("int", "float")):
        number = numbers.Integral if annotation.startswith("int") else numbers.Real
        if isinstance(value, bool) or not isinstance(value, number):
            kind = "an integer" if number is numbers.Integral else "a number"
            raise ConfigError(f"{shown} must be {kind}, got {value!r}")
        number_value = float(value)
        if (spec.low is not None and number_value < spec.low) or (
            spec.high is not None and number_value > spec.high
        ):
            raise ConfigError(f"{shown} must be {_range_text(spec)}, got {value!r}")
    elif not isinstance(value, str):
        raise ConfigError(f"{shown} must be a string, got {value!r}")
    elif spec.choices and value not in spec.choices:
        raise ConfigError(f"{shown} is one of {', '.join(spec.choices)}, got {value!r}")


def _range_text(spec: Option) -> str:
    """``at least 1``, ``0 or more``, ``from 0 to 4294967295``."""
    if spec.high is not None:
        return f"from {spec.low:g} to {spec.high:.0f}"
    return "at least 1" if spec.low == 1 else f"{spec.low:g} or more"


@dataclass
class TrainResult:
    """What a run leaves: the trained agent, ``summary.json``'s contents, where its files are."""

    agent: Agent
    summary: dict[str, Any]
    run_dir: Path
    checkpoint: Path | None  # the last good checkpoint (None with eval_only)
    status: Literal["done", "interrupted", "failed"]
    # One line: who failed, at which step, why, what was kept; its run options marked
    # (rlagents.errors.option), so that rlrun can name its flags.
    error_template: str | None = None
    signal: str | None = None  # "SIGINT" or "SIGTERM" when interrupted

    @property
    def error(self) -> str | None:
        """Why the run failed, in one line (None: it did not)."""
        return render(self.error_template) if self.error_template else None
