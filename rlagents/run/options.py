"""What a run is asked to do (:class:`RunOptions`) and what it leaves (:class:`TrainResult`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rlagents.agent import Agent
from rlagents.errors import ConfigError


@dataclass
class RunOptions:
    """Everything a run is asked to do; :func:`rlagents.train` and ``rlrun train`` fill it."""

    env_id: str | None = None  # None: the checkpoint's (with load)
    agent: str | None = None  # a registered name or module:Class; None: the checkpoint's
    steps: int | None = None  # None: DEFAULT_STEPS, unless episodes is given
    episodes: int | None = None
    seed: int | None = None  # None: the checkpoint's (with load), else random and recorded
    num_envs: int | None = None  # None: the number the agent's tuned set was made for, else 1
    config: Mapping[str, Any] = field(default_factory=dict)  # Config overrides (str or values)
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)  # for gymnasium.make
    preset: str = "auto"
    preset_kwargs: Mapping[str, Any] = field(default_factory=dict)  # the preset's own options
    backend: str = "auto"  # the training envs' engine: auto, gymnasium or envpool
    hyperparams: str = "auto"
    run_dir: str | None = None  # None: runs/<env>_<agent>_s<seed>_<time>
    eval_every: int = 0
    eval_episodes: int = 10
    eval_max_steps: int | None = None  # cut evaluation episodes (None: the env's limit, else 100k)
    stop_at_return: float | None = None
    save: str | None = None  # None: RUN_DIR/checkpoint
    save_every: int = 0
    load: str | None = None
    overwrite: bool = False  # save onto something else than this run's checkpoint: move it aside
    eval_only: bool = False
    render: bool = False
    allow_nonfinite: bool = False  # NaN/inf rewards, observations and actions do not stop the run
    tensorboard: bool = True  # TensorBoard event files in the run directory
    video: bool = False  # mp4s of the final evaluation's episodes in RUN_DIR/videos
    video_episodes: int | None = None  # None: every episode of the final evaluation
    workers: int | None = None  # remote rollout workers on Ray (None: this process plays)
    ray_address: str | None = None  # a Ray cluster's HOST:PORT (None: a local Ray)

    def check(self) -> None:
        """Refuse values no run can use, with the option's name (the CLI's spelling)."""
        positive = {"steps": self.steps, "episodes": self.episodes, "num_envs": self.num_envs}
        positive |= {"eval_max_steps": self.eval_max_steps, "video_episodes": self.video_episodes}
        positive |= {"workers": self.workers}
        for name, value in positive.items():
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value!r}")
        for name in ("eval_every", "eval_episodes", "save_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be 0 or more, got {value!r}")
        if self.seed is not None and not (isinstance(self.seed, int) and 0 <= self.seed < 2**32):
            raise ConfigError(f"--seed must be an integer from 0 to 2**32-1, got {self.seed!r}")
        if not isinstance(self.preset_kwargs, Mapping) or not all(
            isinstance(key, str) for key in self.preset_kwargs
        ):
            raise ConfigError(
                f"preset_kwargs must map option names to values, got {self.preset_kwargs!r}"
            )
        if self.eval_only and not self.load:
            raise ConfigError("--eval-only needs --load CHECKPOINT")
        if self.stop_at_return is not None and not self.eval_every:
            raise ConfigError("--stop-at-return needs --eval-every N (it checks evaluations)")


@dataclass
class TrainResult:
    """What a run leaves: the trained agent, ``summary.json``'s contents, where its files are."""

    agent: Agent
    summary: dict[str, Any]
    run_dir: Path
    checkpoint: Path | None  # the last good checkpoint (None with eval_only)
    status: Literal["done", "interrupted", "failed"]
    error: str | None = None  # one line: who failed, at which step, why, what was kept
    signal: str | None = None  # "SIGINT" or "SIGTERM" when interrupted
