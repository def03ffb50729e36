"""A run's evaluations: greedy episodes on a separate env of the real game, the final one
recorded as videos on request."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlagents.agent import Agent
from rlagents.errors import RunFailure, one_line, option
from rlagents.run import envs as envlib
from rlagents.run.env_choice import EVALUATION_OVERRIDES
from rlagents.run.games import play_agents, play_games
from rlagents.run.loop import Evaluated, evaluate, evaluation_seed
from rlagents.run.plan import RunPlan

EVAL_MAX_STEPS = 100_000  # an evaluation episode of an env without a time limit is cut here


class Evaluation:
    """Plays a run's evaluations; ``seconds`` is the time they took."""

    def __init__(self, plan: RunPlan, run_dir: Path) -> None:
        self.plan = plan
        self.run_dir = run_dir
        self.factory = plan.env.for_evaluation()  # results are the real env's
        self.overrides: dict[str, Any] = dict(EVALUATION_OVERRIDES.get(plan.preset or "", {}))
        self.env: gym.Env | None = None  # made at the first evaluation, kept for the next
        self.seconds = 0.0
        self.games: dict[str, Any] = {}  # a multi-agent env's last results, for the summary

    def play(self, agent: Agent, step: int, *, final: bool = False) -> Evaluated:
        """Mean, std and count of the returns of greedy episodes, and a multi-agent env's mean
        return per agent (or seat); the final evaluation records them with ``video``."""
        start = time.perf_counter()
        self.games = {}
        returns = self._returns(agent, step, final)
        self.seconds += time.perf_counter() - start
        by_agent = dict(self.games.get("eval_mean_return_by_agent", {}))
        return float(np.mean(returns)), float(np.std(returns)), len(returns), by_agent

    def _returns(self, agent: Agent, step: int, final: bool) -> list[float]:
        opts = self.plan.options
        seed = evaluation_seed(self.plan.seed)
        if self.plan.preset == "agents":  # a Parallel env: the mean return per agent
            returns, self.games = play_agents(
                agent, self.factory, opts.eval_episodes, seed,
                render_mode="human" if opts.render else None,
                record=self._recorder(step) if final and opts.video else None,
            )  # fmt: skip
            return returns
        if self.plan.preset == "selfplay" and not (final and opts.video):
            returns, self.games = play_games(
                agent, self.factory, opts.eval_episodes, seed, opts.eval_max_steps
            )
            return returns
        env = self._video_env(step) if final and opts.video else self._env()
        try:
            return evaluate(agent, env, opts.eval_episodes, seed, max_steps=self._max_steps(env))
        finally:
            if env is not self.env:
                try:
                    env.close()  # RecordVideo writes the last file on close
                except OSError as err:
                    raise RunFailure("disk", f"cannot write the videos: {one_line(err)}") from err

    def close(self) -> None:
        if self.env is not None:
            with contextlib.suppress(Exception):  # a broken env must not hide the summary
                self.env.close()

    def _env(self) -> gym.Env:
        if self.env is None:
            extra = dict(self.overrides)
            if self.plan.options.render:
                extra["render_mode"] = "human"
            self.env = self.factory.make(**extra)
        return self.env

    def _video_env(self, step: int) -> gym.Env:
        """An evaluation env that renders frames (the real game's, for Atari: ``render``
        reaches the emulator beneath the preset's wrappers) and writes them as mp4s."""
        if not envlib.has_display():  # pygame-drawn envs render off-screen, without a word
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        env = self.factory.make(**self.overrides, render_mode="rgb_array")
        opts = self.plan.options
        episodes = opts.video_episodes or opts.eval_episodes
        try:
            return gym.wrappers.RecordVideo(
                env,
                video_folder=str(self.run_dir / "videos"),
                episode_trigger=lambda k: k < episodes,
                name_prefix=f"eval-step{step}",
                disable_logger=True,
            )
        except gym.error.DependencyNotInstalled as err:
            env.close()
            raise RunFailure(
                "rlrun", f"{option('video', True)} needs moviepy ({one_line(err)})"
            ) from err

    def _recorder(self, step: int) -> Callable[[list[Any], int, int], None]:
        """Writes an episode's frames as ``videos/eval-step<N>-episode-<k>.mp4`` (the names
        RecordVideo gives), the first ``video_episodes``."""
        opts = self.plan.options
        episodes = opts.video_episodes or opts.eval_episodes

        def record(frames: list[Any], episode: int, fps: int) -> None:
            if episode >= episodes:
                return
            try:
                from gymnasium.utils.save_video import save_video  # needs moviepy

                save_video(
                    frames, str(self.run_dir / "videos"), episode_trigger=lambda _: True,
                    name_prefix=f"eval-step{step}", episode_index=episode, fps=fps,
                )  # fmt: skip
            except gym.error.DependencyNotInstalled as err:
                raise RunFailure(
                    "rlrun", f"{option('video', True)} needs moviepy ({one_line(err)})"
                ) from err
            except OSError as err:
                raise RunFailure("disk", f"cannot write the videos: {one_line(err)}") from err

        return record

    def _max_steps(self, env: gym.Env) -> int | None:
        if self.plan.options.eval_max_steps:
            return self.plan.options.eval_max_steps
        has_limit = env.spec is not None and env.spec.max_episode_steps
        return None if has_limit else EVAL_MAX_STEPS
