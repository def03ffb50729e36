"""One remote worker: its envs and a copy of the agent, playing until the copy's part is ready.

The class is plain Python; :mod:`rlagents.run.distributed.training` makes it a Ray actor. It plays
as the run's loop does — ``act``, the action check, the env step, ``observe`` — and never calls
``update``: the learner learns. Its failures come back as values (who failed and why, in one
line), so that the learner reports them as the run's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlagents import registry
from rlagents.agent import Transition
from rlagents.errors import RunFailure, one_line
from rlagents.run import envs as envlib
from rlagents.run.guards import action_check
from rlagents.run.steppers import Finished, SingleEnvStepper, VectorEnvStepper


@dataclass
class WorkerSpec:
    """What every worker of a run is built from (sent to each worker once)."""

    agent_name: str
    config: Any  # the agent's Config instance
    factory: envlib.EnvFactory
    num_envs: int  # envs per worker
    allow_nonfinite: bool = False


class Worker:
    """Envs and an agent copy; ``collect`` plays until the copy's part is ready."""

    def __init__(self, spec: WorkerSpec, index: int, seed: int) -> None:
        self.index, self.seed = index, seed
        envlib.register_env_namespace(spec.factory.env_id)
        check = not spec.allow_nonfinite
        name = f"{spec.factory.env_id} (worker {index})"
        if spec.num_envs == 1 and spec.factory.preset != envlib.AGENTS:
            self.stepper: Any = SingleEnvStepper(spec.factory.make(), check_finite=check, name=name)
        else:  # a Parallel env's copies are a vector env, its agents the rows
            envs = spec.factory.make_vector(spec.num_envs)
            self.stepper = VectorEnvStepper(envs, check_finite=check, name=name)
        rows = self.stepper.num_envs
        agent_cls = registry.load(spec.agent_name)
        self.agent = agent_cls(
            self.stepper.observation_space,
            self.stepper.action_space,
            spec.config,
            num_envs=rows,
            seed=seed,
        )
        self.check_actions = action_check(
            self.stepper.action_space, rows, allow_nonfinite=spec.allow_nonfinite
        )
        self.obs: Any = None

    def pid(self) -> int:
        import os

        return os.getpid()

    def collect(self, weights: dict[str, Any], version: int) -> dict[str, Any]:
        """Take the learner's ``weights`` (of update ``version``), play until the agent's part
        is ready; return it with the steps played and the episodes that ended."""
        episodes: list[Finished] = []
        steps = 0
        try:
            self.agent.set_weights(weights)
            if self.obs is None:
                self.obs = self.stepper.reset(self.seed)
            agent, stepper, n = self.agent, self.stepper, self.stepper.env_steps
            while True:
                obs = self.obs
                try:
                    actions = agent.act(obs)
                except Exception as err:
                    raise RunFailure("agent", f"act() raised {one_line(err)}") from err
                self.check_actions(actions)
                next_obs, self.obs, reward, terminated, truncated, finished = stepper.step(actions)
                steps += n
                episodes.extend(finished)
                try:
                    agent.observe(Transition(obs, actions, reward, next_obs, terminated, truncated))
                    part = agent.collected()
                except Exception as err:
                    raise RunFailure(
                        "agent", f"observe()/collected() raised {one_line(err)}"
                    ) from err
                if part is not None:
                    break
        except RunFailure as failure:
            return {"failure": (failure.who, f"worker {self.index}: {failure.message}")}
        except Exception as err:  # a bug, ours or a plugin's: still one line
            return {"failure": ("rlrun", f"worker {self.index}: {one_line(err)}")}
        return {
            "part": part,
            "steps": steps,
            "episodes": episodes,
            "version": version,
            "index": self.index,
        }

    def close(self) -> None:
        self.stepper.close()
