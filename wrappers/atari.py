"""DQN-style Atari preprocessing that drives the ALE emulator directly."""

from __future__ import annotations

from typing import Any, SupportsFloat

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit
from numpy.typing import NDArray

from wrappers._validate import positive_int
from wrappers.image import INTERPOLATIONS

# Wrappers that gymnasium.make adds; TimeLimit's limit is applied by AtariPreprocess.
_TRANSPARENT = (OrderEnforcing, PassiveEnvChecker, TimeLimit)


class AtariPreprocess(
    gym.Wrapper[NDArray[np.uint8], int, Any, int],
    gym.utils.RecordConstructorArgs,
):
    """No-op starts, frame skip with max-pool, grayscale 84×84, optional life-loss/clip/FIRE.

    The DQN-paper preprocessing (Mnih et al. 2015; Machado et al. 2018 for sticky actions)
    for an ale-py ``AtariEnv``, without the frame stack (``wrappers.atari`` adds it).

    Why not ``gymnasium.wrappers.AtariPreprocessing``: it needs the env made with
    ``frameskip=1`` and then calls that env's ``step`` once per frame, and every such call
    renders and returns a full screen and an info dict that are thrown away; with frame
    stacking it runs at 0.63x the speed of the raw ``ALE/*-v5`` env (2-core CPU, see
    ``benchmarks/wrappers_throughput.py``), ``wrappers.atari`` at 0.91-0.93x. This wrapper
    calls ``ale.act`` ``frame_skip`` times and reads the grayscale screen (straight from
    ALE, no colour conversion) only for the last two frames, into preallocated buffers,
    so the wrapped env's own ``frameskip`` and ``obs_type`` do not matter. Sticky actions
    (``repeat_action_probability``) are applied by ALE on every ``act``, as in ``AtariEnv``.
    The resize is bilinear by default (see ``interpolation``). It also adds what Gymnasium's
    lacks: FIRE on reset, reward clipping, and life-loss
    episodes that continue the game on the next ``reset()`` (the DQN convention) instead
    of restarting it.

    Because it steps the emulator itself, the wrappers between it and the ``AtariEnv`` never
    see a step. Only those that ``gymnasium.make`` adds may sit there: ``OrderEnforcing``,
    ``PassiveEnvChecker`` and ``TimeLimit``, whose limit this wrapper then applies itself,
    counting its own (agent) steps; that keeps ``gymnasium.make(env.spec)`` rebuilding the
    same env. Put any other wrapper outside.

    Example:
        >>> import ale_py
        >>> import gymnasium as gym
        >>> from wrappers.atari import AtariPreprocess
        >>> gym.register_envs(ale_py)
        >>> env = gym.make("ALE/Breakout-v5", frameskip=1)
        >>> env.observation_space
        Box(0, 255, (210, 160, 3), uint8)
        >>> env = AtariPreprocess(env, clip_reward=True)
        >>> env.observation_space
        Box(0, 255, (84, 84), uint8)
    """

    def __init__(
        self,
        env: gym.Env[Any, int],
        *,
        noop_max: int = 30,
        frame_skip: int = 4,
        screen_size: int = 84,
        terminal_on_life_loss: bool = False,
        clip_reward: bool = False,
        fire_reset: bool = True,
        interpolation: int = cv2.INTER_LINEAR,
    ) -> None:
        """Preprocess an ale-py ``AtariEnv`` (made by ``gymnasium.make("ALE/...")``).

        Args:
            env: An ale-py ``AtariEnv`` with discrete actions, optionally inside
                ``OrderEnforcing``/``PassiveEnvChecker`` (what ``gymnasium.make`` adds).
            noop_max: Up to this many single-frame NOOPs (uniform in 1..noop_max) after a
                reset, as Gymnasium's ``AtariPreprocessing``; 0 disables them.
            frame_skip: Emulator frames per step; the observation is the max of the last two.
            screen_size: Side of the square grayscale observation.
            terminal_on_life_loss: End the episode (``terminated=True``) when a life is
                lost; the next ``reset()`` without seed/options continues the same game.
            clip_reward: Return the sign of the reward (-1, 0 or 1).
            fire_reset: Press FIRE for one step after each reset in games that have a
                FIRE action (Breakout and others wait for it; harmless elsewhere).
            interpolation: OpenCV flag for the 210×160 → screen_size resize. Default
                ``cv2.INTER_LINEAR`` (bilinear, as the DQN paper's code), several times
                cheaper than ``cv2.INTER_AREA``, which alone costs a noticeable part of a raw
                ``ALE/*-v5`` step (``benchmarks/RESULTS.md``). ``cv2.INTER_AREA`` gives the
                frames of Gymnasium's ``AtariPreprocessing``, SB3's ``WarpFrame`` and
                ale-py's vector env (``wrappers.atari_vector``) exactly.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self,
            noop_max=noop_max,
            frame_skip=frame_skip,
            screen_size=screen_size,
            terminal_on_life_loss=terminal_on_life_loss,
            clip_reward=clip_reward,
            fire_reset=fire_reset,
            interpolation=interpolation,
        )
        gym.Wrapper.__init__(self, env)
        base = _check_atari_env(env)
        self.frame_skip = positive_int("AtariPreprocess", "frame_skip", frame_skip)
        self.screen_size = positive_int("AtariPreprocess", "screen_size", screen_size)
        if isinstance(noop_max, bool) or not isinstance(noop_max, int) or noop_max < 0:
            raise ValueError(f"AtariPreprocess needs noop_max >= 0, got {noop_max!r}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"AtariPreprocess needs an OpenCV interpolation flag, got {interpolation!r}"
            )
        self.noop_max = noop_max
        self.terminal_on_life_loss = terminal_on_life_loss
        self.clip_reward = clip_reward
        self.interpolation = int(interpolation)
        self._max_steps = _step_limit(env)
        self._steps = 0
        self._ale = base.ale
        self._actions = list(base._action_set)
        meanings = base.get_action_meanings()
        if noop_max > 0 and meanings[0] != "NOOP":
            raise ValueError(
                f"AtariPreprocess needs action 0 to be NOOP for noop_max > 0, got {meanings}"
            )
        self._fire = (
            self._actions[meanings.index("FIRE")] if fire_reset and "FIRE" in meanings else None
        )
        height, width = self._ale.getScreenDims()
        # Screens of the last two frames of a step, written by ALE in place.
        self._screens = np.zeros((2, height, width), dtype=np.uint8)
        self._second_last, self._last = self._screens[0], self._screens[1]
        self._dsize = (self.screen_size, self.screen_size)
        self._lives = 0
        self._life_lost = False  # the last episode ended on a life loss, not a game over
        self.observation_space = spaces.Box(0, 255, (self.screen_size, self.screen_size), np.uint8)
        self.action_space = env.action_space

    def step(
        self, action: int
    ) -> tuple[NDArray[np.uint8], SupportsFloat, bool, bool, dict[str, Any]]:
        """Act for ``frame_skip`` frames; observe the max of the last two."""
        # Runs once per agent step: kept flat, each ALE query made once.
        ale = self._ale
        reward = self._act(self._actions[action])
        terminated = ale.game_over(with_truncation=False)
        self._steps += 1
        truncated = ale.game_truncated() or self._steps == self._max_steps
        lives = ale.lives()
        if lives < self._lives and self.terminal_on_life_loss and not terminated:
            terminated = self._life_lost = True
        self._lives = lives
        if self.clip_reward:
            reward = float((reward > 0) - (reward < 0))
        obs = cv2.resize(self._last, self._dsize, interpolation=self.interpolation)
        info = {
            "lives": lives,
            "episode_frame_number": ale.getEpisodeFrameNumber(),
            "frame_number": ale.getFrameNumber(),
        }
        return obs, reward, terminated, truncated, info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.uint8], dict[str, Any]]:
        """Start a game with no-ops (and FIRE), or go on after a life-loss episode."""
        ale = self._ale
        if self._life_lost and seed is None and options is None and not ale.game_over():
            # A life was lost, not the game: carry on from there with one NOOP step,
            # as the DQN setup (and SB3's EpisodicLifeEnv) does.
            self._act(self._actions[0])
            info: dict[str, Any] = {}
        else:
            _, info = self.env.reset(seed=seed, options=options)
            noops = (
                int(self.unwrapped.np_random.integers(1, self.noop_max + 1)) if self.noop_max else 0
            )
            for _ in range(noops):
                ale.act(self._actions[0])
                if ale.game_over():
                    _, info = self.env.reset()
        if self._fire is not None:
            self._act(self._fire)
        if ale.game_over():  # a game that ends within its reset actions: start afresh
            _, info = self.env.reset()
        self._life_lost = False
        self._steps = 0
        self._lives = ale.lives()
        ale.getScreenGrayscale(self._last)
        obs = cv2.resize(self._last, self._dsize, interpolation=self.interpolation)
        return obs, {**info, **self._info()}

    def _act(self, ale_action: Any) -> float:
        """Emulate ``frame_skip`` frames (fewer if the game ends), keep the last two screens."""
        ale = self._ale
        skip = self.frame_skip
        reward = 0.0
        for frame in range(1, skip + 1):
            reward += ale.act(ale_action)
            if frame == skip - 1:
                ale.getScreenGrayscale(self._second_last)
            elif frame == skip:
                ale.getScreenGrayscale(self._last)
            elif ale.game_over():
                break
        else:
            if skip > 1:
                # Max over the last two frames: sprites drawn on alternate frames show.
                np.maximum(self._second_last, self._last, out=self._last)
            return reward
        # The game ended before the last two frames: observe the final screen as is.
        ale.getScreenGrayscale(self._last)
        return reward

    def _info(self) -> dict[str, Any]:
        ale = self._ale
        return {
            "lives": ale.lives(),
            "episode_frame_number": ale.getEpisodeFrameNumber(),
            "frame_number": ale.getFrameNumber(),
        }


def _step_limit(env: gym.Env[Any, Any]) -> int | None:
    """The ``max_episode_steps`` of a ``TimeLimit`` under this wrapper, if there is one."""
    layer: gym.Env[Any, Any] = env
    while isinstance(layer, gym.Wrapper):
        if isinstance(layer, TimeLimit):
            return int(layer._max_episode_steps)
        layer = layer.env
    return None


def _check_atari_env(env: gym.Env[Any, Any]) -> Any:
    """Return the ale-py AtariEnv under ``env``, or raise naming what is wrong."""
    base = env.unwrapped
    if not (hasattr(base, "ale") and hasattr(base, "_action_set")):
        raise TypeError(f"AtariPreprocess needs an ale-py AtariEnv (ALE/*-v5), got {base}")
    if getattr(base, "continuous", False):
        raise ValueError(
            "AtariPreprocess needs discrete actions, got an env made with continuous=True"
        )
    layer: gym.Env[Any, Any] = env
    while isinstance(layer, gym.Wrapper):
        if not isinstance(layer, _TRANSPARENT):
            raise ValueError(
                "AtariPreprocess steps the emulator itself, so it must wrap the AtariEnv "
                f"directly (OrderEnforcing/PassiveEnvChecker/TimeLimit allowed), got {env}; "
                "apply other wrappers outside it"
            )
        layer = layer.env
    return base
