"""Tabular SARSA (Rummery & Niranjan 1994; Sutton & Barto, *Reinforcement Learning*, §6.4).

    Q(S,A) ← Q(S,A) + α·(R + γ·Q(S',A') − Q(S,A)),   A' ~ ε-greedy(Q)(S')

On-policy: A' is the action the ε-greedy policy *will actually take* in S'. The runner calls
``act(S) → env.step → observe → update``, so :meth:`SARSA.update` draws A' while it learns and
the next :meth:`SARSA.act` returns that same A' (unless the episode ended, or the observation is
not S'). A terminated step has target R; a truncated one bootstraps from Q(S',A') with A' drawn
from the policy, although the episode does not go on to take it.

    rlrun --env Taxi-v4 --agent sarsa --steps 200000
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from gymnasium import spaces

from rlagents.agents.tabular import HYPERPARAMS, TabularAgent, TabularConfig

NO_STATE = -1


class SARSA(TabularAgent):
    """SARSA on a Q-table with ε-greedy exploration (the course's ε = 1/k by default)."""

    name: ClassVar[str] = "sarsa"
    # The action chosen for s' in update() is the one act() takes next: a resume keeps it.
    per_env_state: ClassVar[tuple[str, ...]] = ("_next_state", "_next_act")
    # The tuned sets: HYPERPARAMS in tabular.py, both tabular agents', but for SARSA on Taxi a
    # step of 0.1, not 0.5: SARSA's targets carry the exploring next action, and at 0.5 the
    # greedy policy stayed wrong in some start states on 3 seeds of 10 (RESULTS.md, "Recipes
    # that hold"); Q-learning's max is not moved by exploration.
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = {
        **HYPERPARAMS,
        "Taxi-v4": {**HYPERPARAMS["Taxi-v4"], "learning_rate": 0.1},
    }

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: TabularConfig | Mapping[str, Any] | None = None,
        *,
        num_envs: int = 1,
        seed: int | None = None,
    ) -> None:
        super().__init__(observation_space, action_space, config, num_envs=num_envs, seed=seed)
        # Per env: the state S' of the last update and the action A' chosen for it.
        self._next_state = [NO_STATE] * num_envs
        self._next_act = [0] * num_envs

    def _next_action(self, env: int, s: int) -> int:
        if self._next_state[env] == s:
            self._next_state[env] = NO_STATE
            return self._next_act[env]
        return self._choose(s)  # first step, a new episode, or an observation we did not expect

    def _target(self, env: int, r: float, s2: int, terminated: bool, truncated: bool) -> float:
        if terminated:
            return r
        a2 = self._choose(s2)  # A' from the policy as it is before this update (S&B, §6.4)
        if not truncated:  # the episode goes on: act() in S' must take this A'
            self._next_state[env], self._next_act[env] = s2, a2
        return r + self._gamma * self.q.item(s2, a2)
