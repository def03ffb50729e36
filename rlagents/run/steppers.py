"""Step a batch of envs and return what the agent's :class:`~rlagents.Transition` needs.

Both steppers give the same contract: ``step(actions)`` returns a :class:`StepResult`
``(next_obs, obs, reward, terminated, truncated, finished)``, where ``next_obs`` holds the true
final observation of every episode that ended this step, ``obs`` the observation to act on next
(the reset observation there), and ``finished`` a list of ``(return, length)`` of the episodes
that ended (usually empty; a Parallel env's episodes add their return per agent as a third item).

They are also where the env's output enters the run, so they check it there: an exception from
the env, or a NaN/inf in a reward or a float observation, raises
:class:`~rlagents.run.failures.RunFailure` before the agent sees it (``check_finite=False`` lets
it through).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlagents.errors import RunFailure, one_line, option

# (return, length) of an episode; a Parallel env's adds {agent: return}
Finished = tuple[float, int] | tuple[float, int, dict[str, float]]
NO_EPISODES: list[Finished] = []


class StepResult(NamedTuple):
    """One vector step of the envs, as the loop needs it (leading axis: env index)."""

    next_obs: np.ndarray  # the true last observation where an episode ended
    obs: np.ndarray  # the observation to act on next (the reset one where an episode ended)
    reward: np.ndarray  # float32
    terminated: np.ndarray
    truncated: np.ndarray
    finished: list[Finished]  # (return, length[, return per agent]) of the episodes that ended


# ``tuple.__new__(StepResult, values)`` makes the same object as ``StepResult(*values)`` without
# the generated __new__'s argument handling, which costs as much again; the loop makes one per
# env step (benchmarks/RESULTS.md, runner overhead).
_make_step = tuple.__new__


def _flag(value: bool) -> np.ndarray:
    array = np.array((value,))
    array.flags.writeable = False
    return array


# One env's terminated/truncated flags, shared and read-only: two fresh arrays per step are a
# measurable part of a cheap env's step. An agent reads Transition fields, never writes them.
_FLAGS = {False: _flag(False), True: _flag(True)}
SMALL_OBS = 64  # up to this many numbers, a Python sum is cheaper than a numpy reduction


def _float_box(space: spaces.Space) -> bool:
    return isinstance(space, spaces.Box) and np.issubdtype(space.dtype, np.floating)


def _nonfinite_failure(what: str, obs: Any, reward: Any, env_index: int | None) -> RunFailure:
    where = f" (env {env_index})" if env_index is not None else ""
    rewards = np.asarray(reward, dtype=np.float64)
    field = "reward" if not np.isfinite(rewards).all() else "observation"
    values = rewards if field == "reward" else np.asarray(obs, dtype=np.float64)
    kind = "NaN" if np.isnan(values).any() else "infinite"
    return RunFailure(
        "env",
        f"{what} returned a {kind} {field}{where}; "
        f"pass {option('allow_nonfinite', True)} to train on non-finite values anyway",
    )


def batch_of_one(obs: Any) -> Any:
    """One env's observation as a batch of one (a Dict observation: each key's)."""
    if isinstance(obs, dict):
        return {k: np.expand_dims(v, 0) for k, v in obs.items()}
    return np.expand_dims(obs, 0)


def copy_obs(obs: Any) -> Any:
    """A copy of a batch of observations (a Dict observation: each key's array)."""
    if isinstance(obs, dict):
        return {k: np.array(v, copy=True) for k, v in obs.items()}
    return np.array(obs, copy=True)


def _with_final_obs(obs: Any, ended: np.ndarray, final_obs: Any) -> Any:
    """``obs`` with the rows of the envs that ended replaced by their true last observations."""
    out = copy_obs(obs)
    for i in ended:
        if isinstance(out, dict):
            for key in out:
                out[key][i] = final_obs[i][key]
        else:
            out[i] = final_obs[i]
    return out


class SingleEnvStepper:
    """One env, stepped directly: a SyncVectorEnv of one env runs CartPole at about 0.4x a bare
    loop, so here the episode bookkeeping stays in plain Python numbers and views."""

    num_envs = 1
    env_steps = 1  # env steps a step() makes (what --steps counts)

    def __init__(self, env: gym.Env, *, check_finite: bool = True, name: str = "the env") -> None:
        self.env = env
        self.name = name
        self.observation_space = env.observation_space
        self.action_space = env.action_space
        self.check_obs = check_finite and _float_box(env.observation_space)
        self.check_reward = check_finite
        shape = env.observation_space.shape or ()
        # The common case (a short float vector) is checked by one Python sum with the reward.
        self.quick_check = self.check_obs and len(shape) == 1 and shape[0] <= SMALL_OBS
        self._return = 0.0
        self._length = 0

    def reset(self, seed: int | None) -> np.ndarray:
        self._return, self._length = 0.0, 0
        return self._reset(seed)[None]

    def _reset(self, seed: int | None = None) -> np.ndarray:
        try:
            obs, _ = self.env.reset(seed=seed)
        except Exception as err:
            raise RunFailure("env", f"{self.name} raised in reset(): {one_line(err)}") from err
        obs = np.asarray(obs)
        if self.check_obs and not self._finite(obs):
            raise _nonfinite_failure(f"{self.name}.reset()", obs, 0.0, None)
        return obs

    @staticmethod
    def _finite(obs: np.ndarray) -> bool:
        # A sum of large finite numbers can overflow; look at each number before failing.
        return math.isfinite(float(obs.sum())) or bool(np.isfinite(obs).all())

    def _check_step(self, obs: np.ndarray, reward: Any) -> None:
        finite = math.isfinite(reward) and (not self.check_obs or self._finite(obs))
        if not finite:
            raise _nonfinite_failure(f"{self.name}.step()", obs, reward, None)

    def step(self, actions: np.ndarray) -> StepResult:
        try:
            obs, reward, terminated, truncated, _ = self.env.step(actions[0])
        except Exception as err:
            raise RunFailure("env", f"{self.name} raised in step(): {one_line(err)}") from err
        next_obs = np.asarray(obs)
        if self.quick_check:
            if not math.isfinite(reward + sum(next_obs.tolist())):
                self._check_step(next_obs, reward)
        elif self.check_reward:
            self._check_step(next_obs, reward)
        self._return += reward  # type: ignore[operator]
        self._length += 1
        next_obs = next_obs[None]
        obs_after, finished = next_obs, NO_EPISODES
        if terminated or truncated:
            finished = [(float(self._return), self._length)]
            self._return, self._length = 0.0, 0
            obs_after = self._reset()[None]
        return _make_step(
            StepResult,
            (
                next_obs,
                obs_after,
                np.array((reward,), dtype=np.float32),
                _FLAGS[bool(terminated)],
                _FLAGS[bool(truncated)],
                finished,
            ),
        )

    def episode_state(self) -> dict[str, Any]:
        """The episode in progress (its return and length so far), for a checkpoint."""
        return {"returns": [float(self._return)], "lengths": [int(self._length)]}

    def load_episode_state(self, state: dict[str, Any]) -> None:
        self._return = float(state["returns"][0])
        self._length = int(state["lengths"][0])

    def close(self) -> None:
        self.env.close()


class VectorEnvStepper:
    """A Gymnasium vector env in same-step autoreset mode: where a sub-env's episode ended, the
    returned obs is already the reset one and ``info["final_obs"]`` holds the true last one."""

    def __init__(
        self, envs: gym.vector.VectorEnv, *, check_finite: bool = True, name: str = "the env"
    ) -> None:
        mode = envs.metadata.get("autoreset_mode")
        if mode is not gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError(f"VectorEnvStepper needs same-step autoreset, the env has {mode}")
        self.envs = envs
        self.name = name
        self.num_envs = envs.num_envs
        # Env steps a step() makes (what --steps counts): one per env, or one joint step per
        # copy of a Parallel env whose agents are the rows.
        self.env_steps = int(getattr(envs, "env_steps_per_step", envs.num_envs))
        # Rows that play one episode together (a Parallel env's agents): one episode, its
        # return the mean of theirs (the return per agent).
        self.rows_per_episode = int(getattr(envs, "rows_per_episode", 1))
        self.agents = list(getattr(envs, "agents", ()))[: self.rows_per_episode]
        self.observation_space = envs.single_observation_space
        self.action_space = envs.single_action_space
        self.check_obs = check_finite and _float_box(envs.single_observation_space)
        self.check_reward = check_finite
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)

    def reset(self, seed: int | None) -> np.ndarray:
        try:
            obs, _ = self.envs.reset(seed=seed)
        except Exception as err:
            raise RunFailure("env", f"{self.name} raised in reset(): {one_line(err)}") from err
        if self.check_obs and not np.isfinite(obs).all():
            raise _nonfinite_failure(f"{self.name}.reset()", obs, 0.0, self._first_bad(obs))
        self._returns[:] = 0.0
        self._lengths[:] = 0
        return obs

    def step(self, actions: np.ndarray) -> StepResult:
        try:
            obs, reward, terminated, truncated, info = self.envs.step(actions)
        except Exception as err:
            raise RunFailure("env", f"{self.name} raised in step(): {one_line(err)}") from err
        ended = np.flatnonzero(terminated | truncated)
        final_obs = info["final_obs"] if len(ended) else None
        if self.check_reward or self.check_obs:
            self._check(obs, reward, final_obs, ended)
        self._returns += reward
        self._lengths += 1
        next_obs, finished = obs, NO_EPISODES
        if len(ended):
            finished = self._finished(ended)
            self._returns[ended] = 0.0
            self._lengths[ended] = 0
            next_obs = _with_final_obs(obs, ended, final_obs)
        reward = reward.astype(np.float32, copy=False)
        return _make_step(StepResult, (next_obs, obs, reward, terminated, truncated, finished))

    def _finished(self, ended: np.ndarray) -> list[Finished]:
        """(return, length) of each episode that ended in the rows ``ended``; a Parallel env's
        return is the mean of its agents', each agent's given as well."""
        k = self.rows_per_episode
        if k == 1:
            return [(float(self._returns[i]), int(self._lengths[i])) for i in ended]
        firsts = [i for i in ended if i % k == 0]  # a copy's agents end together
        return [self._agents_episode(i, k) for i in firsts]

    def _agents_episode(self, first: int, k: int) -> Finished:
        returns = self._returns[first : first + k]
        by_agent = {name: float(r) for name, r in zip(self.agents, returns, strict=True)}
        return float(returns.mean()), int(self._lengths[first]), by_agent

    def _check(self, obs: Any, reward: np.ndarray, final_obs: Any, ended: np.ndarray) -> None:
        what = f"{self.name}.step()"
        if self.check_reward and not np.isfinite(reward).all():
            bad = int(np.flatnonzero(~np.isfinite(reward))[0])
            raise _nonfinite_failure(what, obs, reward, bad)
        if not self.check_obs:
            return
        if not np.isfinite(obs).all():
            raise _nonfinite_failure(what, obs, 0.0, self._first_bad(obs))
        for i in ended:
            if not np.isfinite(final_obs[i]).all():
                raise _nonfinite_failure(what, final_obs[i], 0.0, int(i))

    @staticmethod
    def _first_bad(obs: np.ndarray) -> int:
        rows = ~np.isfinite(obs).reshape(len(obs), -1).all(axis=1)
        return int(np.flatnonzero(rows)[0])

    def episode_state(self) -> dict[str, Any]:
        """The episodes in progress (their returns and lengths so far), for a checkpoint."""
        return {"returns": self._returns.tolist(), "lengths": self._lengths.tolist()}

    def load_episode_state(self, state: dict[str, Any]) -> None:
        self._returns[:] = np.asarray(state["returns"], dtype=np.float64)
        self._lengths[:] = np.asarray(state["lengths"], dtype=np.int64)

    def close(self) -> None:
        self.envs.close()
