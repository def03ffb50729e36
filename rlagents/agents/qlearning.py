"""Tabular Q-learning (Watkins 1989; Sutton & Barto, *Reinforcement Learning*, §6.5).

    Q(S,A) ← Q(S,A) + α·(R + γ·max_a' Q(S',a') − Q(S,A))

Off-policy: the target bootstraps from the greedy action in S', whatever the ε-greedy policy
does next. A terminated step has target R; a truncated one (a time limit) still bootstraps from
the true last observation S'. On a Box observation (CartPole, MountainCar) ``rlrun`` applies the
discretization preset, which turns the observation into a Discrete index of its grid cell.

    rlrun --env Taxi-v4 --agent qlearning --steps 200000
    rlrun --env CartPole-v1 --agent qlearning --steps 2000000   # through --preset discretized
"""

from __future__ import annotations

from typing import Any, ClassVar

from rlagents.agents.tabular import HYPERPARAMS, TabularAgent


class QLearning(TabularAgent):
    """Q-learning on a Q-table with ε-greedy exploration (the course's ε = 1/k by default)."""

    name: ClassVar[str] = "qlearning"
    # The tuned sets: HYPERPARAMS in tabular.py, both tabular agents'
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = HYPERPARAMS

    def _target(self, env: int, r: float, s2: int, terminated: bool, truncated: bool) -> float:
        if terminated:
            return r
        row = self.q[s2]
        return r + self._gamma * row.item(row.argmax())  # max_a' Q(S',a'), cheaper than .max()
