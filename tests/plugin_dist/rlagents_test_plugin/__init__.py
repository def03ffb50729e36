"""A plugin agent, plus instrumented agents that the rlagents test suite drives by module:Class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from rlagents import Agent, Transition


@dataclass
class ConstantConfig:
    action: int = 0
    """The action taken in every state."""
    scale: float = 1.0
    """Unused; shows a float field in --show-config."""


class ConstantAgent(Agent):
    """Always takes the same discrete action, and counts the steps it has seen."""

    Config = ConstantConfig
    observation_spaces: ClassVar = (spaces.Box, spaces.Discrete)
    action_spaces: ClassVar = (spaces.Discrete,)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.steps_seen = 0

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        return np.full(len(obs), self.config.action, dtype=np.int64)

    def observe(self, t: Transition) -> None:
        self.steps_seen += len(t.reward)

    def state_dict(self) -> dict[str, Any]:
        return {"steps_seen": self.steps_seen, "table": np.arange(3.0)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps_seen = int(state["steps_seen"])


class RecordingAgent(Agent):
    """Random actions; keeps every Transition in ``RecordingAgent.log`` for the tests to read."""

    log: ClassVar[list[Transition]] = []
    act_shapes: ClassVar[list[tuple[int, ...]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rng = np.random.default_rng(self.seed)
        RecordingAgent.log.clear()
        RecordingAgent.act_shapes.clear()

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        if explore:
            RecordingAgent.act_shapes.append(obs.shape)
        return self.rng.integers(0, self.action_space.n, size=len(obs))

    def observe(self, t: Transition) -> None:
        RecordingAgent.log.append(Transition(*(np.array(x, copy=True) for x in t)))


@dataclass
class InterruptConfig:
    after: int = 500
    """Raise KeyboardInterrupt (as Ctrl-C would) after this many vector steps."""


class InterruptingAgent(ConstantAgent):
    """Acts like ConstantAgent, then simulates the user pressing Ctrl-C."""

    Config = InterruptConfig  # type: ignore[assignment]

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        if explore and self.steps_seen >= self.config.after:
            raise KeyboardInterrupt
        return np.zeros(len(obs), dtype=np.int64)


class NotAnAgent:
    """Named by a test to check that rlrun refuses classes that are not rlagents.Agent."""
