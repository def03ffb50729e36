"""What Q-learning and SARSA share: the Q-table, ε-greedy exploration and its schedules.

The two differ only in the value they bootstrap from (``max_a' Q(S',a')`` against ``Q(S',A')``
with ``A'`` the action the ε-greedy policy takes next), so each subclass writes its own
``_target`` and everything else lives here.

The hot path is plain Python on scalars and one preallocated numpy table (no torch), so the
tabular agents run close to the speed of the env itself (benchmarks/RESULTS.md). Random numbers
are drawn in blocks and actions handed out as small read-only arrays made once
(:mod:`rlagents.common.random_blocks`); ``argmax`` is taken on one row.

:data:`HYPERPARAMS` are the tuned sets; both agents use them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from gymnasium import spaces

from rlagents.agent import Agent, Transition
from rlagents.common.random_blocks import RandomBlock, one_action_arrays
from rlagents.common.rng import rng_state, set_rng_state
from rlagents.common.schedules import Constant, Exponential, Inverse, Linear
from rlagents.config import NON_NEGATIVE, AgentConfig, Rule

HYPERPARAMS: dict[str, dict[str, Any]] = {
    # Chosen here (no source recorded): 7.5 within 200k steps on 10 of 10 seeds (qlearning,
    # evaluated with 1,000 episodes; benchmarks/RESULTS.md). SARSA's differs (sarsa.py).
    "Taxi-v4": {"n_timesteps": 200_000, "learning_rate": 0.5, "gamma": 0.99},
    # Chosen here (no source recorded): 0.70 within 300k steps on 10 of 10 seeds (qlearning),
    # 9 of 10 (sarsa) (benchmarks/RESULTS.md).
    "FrozenLake-v1": {
        "n_timesteps": 300_000,
        "cpu_steps_per_second": 90_000,
        "learning_rate": 0.05,
        "gamma": 0.99,
        "exploration_schedule": "linear",
        "exploration_episodes": 5000,
        "exploration_final_eps": 0.05,
    },
    # Chosen here (no source recorded): optimistic Q = 1/(1−γ), the most a +1-per-step return
    # can be: untried actions look best until tried (with Q = 0 the first action taken wins and
    # ε = 1/k stops exploring).
    "CartPole-v1": {
        "n_timesteps": 2_000_000,
        "learning_rate": 0.1,
        "gamma": 0.99,
        "initial_q": 100.0,
    },
    # Chosen here (no source recorded).
    "MountainCar-v0": {"n_timesteps": 2_000_000, "learning_rate": 0.1, "gamma": 0.99},
}
"""The tuned sets of Q-learning and SARSA, per env id (each agent's ``hyperparams``)."""


@dataclasses.dataclass
class TabularConfig(AgentConfig):
    """Hyper-parameters of the tabular agents (Q-learning and SARSA)."""

    learning_rate: float = 0.1
    """α, the step size of Q(S,A) ← Q(S,A) + α·(target − Q(S,A))."""
    gamma: float = 0.99
    """Discount factor γ."""
    exploration_schedule: Literal["inverse", "linear", "exponential", "constant"] = "inverse"
    """How ε changes over finished episodes k = 1, 2, …: inverse is the course's
    ε = initial/k; linear goes from initial to final over exploration_episodes; exponential is
    initial·exploration_decay^k; constant keeps initial. All are floored at
    exploration_final_eps."""
    exploration_initial_eps: float = 1.0
    """ε at the first episode."""
    exploration_final_eps: float = 0.0
    """The lowest ε (the floor of every schedule)."""
    exploration_episodes: int = 1000
    """Episodes over which the linear schedule decays."""
    exploration_decay: float = 0.99
    """Per-episode factor of the exponential schedule."""
    initial_q: float = 0.0
    """Initial value of every Q(s, a); optimistic values (above the best return) explore."""

    # Ranges of its own fields, and learning_rate's, stricter than config.RANGE_RULES's
    range_rules: ClassVar = {
        "learning_rate": Rule(lambda v: 0 < v <= 1, "in (0, 1]"),
        "exploration_episodes": NON_NEGATIVE,
        "exploration_decay": Rule(lambda v: 0 < v <= 1, "in (0, 1]"),
    }


class TabularAgent(Agent[TabularConfig]):
    """A Q-table over ``Discrete`` observations and actions, acting ε-greedily.

    Subclasses implement :meth:`_target` (the TD target is what differs).
    """

    Config: ClassVar[type] = TabularConfig
    observation_spaces: ClassVar = (spaces.Discrete,)
    action_spaces: ClassVar = (spaces.Discrete,)
    name: ClassVar[str] = "tabular"
    per_env_state: ClassVar[tuple[str, ...]] = ()
    """Per-env lists a subclass keeps from one step to the next (SARSA: the A' it chose in
    ``update`` for the next ``act``), saved in checkpoints with the table."""

    @classmethod
    def check_spaces(
        cls, observation_space: spaces.Space, action_space: spaces.Space
    ) -> str | None:
        if not isinstance(observation_space, spaces.Discrete):
            return (
                f"{cls.name} needs a Discrete observation space, got {observation_space}; "
                "on a Box observation use the discretized preset, or try dqn"
            )
        if not isinstance(action_space, spaces.Discrete):
            return f"{cls.name} needs a Discrete action space, got {action_space}; try ppo or td3"
        return None

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
        cfg = self.config
        assert isinstance(observation_space, spaces.Discrete)  # check_spaces made sure
        assert isinstance(action_space, spaces.Discrete)
        self.n_states = int(observation_space.n)
        self.n_actions = int(action_space.n)
        self._obs_start = int(observation_space.start)
        self._act_start = int(action_space.start)
        self.rng = np.random.default_rng(seed)
        # Tiny random offsets break ties between equal values at random (argmax would always pick
        # action 0, and on FrozenLake a greedy "left" from an all-zero table never finds the goal).
        self.q = cfg.initial_q + self.rng.uniform(0.0, 1e-6, (self.n_states, self.n_actions))
        self.schedule = _make_schedule(cfg)
        self.episodes = 0  # finished episodes, all envs together: k - 1 of the schedule
        self.epsilon = self.schedule(1)
        # Python scalars in the hot path: numpy scalar arithmetic costs several times more.
        self._alpha = float(cfg.learning_rate)
        self._gamma = float(cfg.gamma)
        # One read-only (1,)-array per action, handed out by act() with one env: no allocation.
        self._one_action = one_action_arrays(self.n_actions, self._act_start)
        self.draws = RandomBlock(self.rng, self.n_actions)
        self._last: Transition | None = None

    # ------------------------------------------------------------------------- acting
    def _choose(self, s: int) -> int:
        """ε-greedy action (0-based) in state ``s`` (0-based)."""
        draws = self.draws
        k = draws.next
        if k == draws.size:
            k = draws.refill()
        draws.next = k + 1
        if draws.uniform[k] < self.epsilon:
            return draws.integers[k]
        return self.q[s].argmax()  # np.intp indexes lists and arrays like an int

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        if not explore:
            states = np.asarray(obs, dtype=np.int64).reshape(-1) - self._obs_start
            return self.q[states].argmax(axis=1) + self._act_start
        if len(obs) == 1:
            return self._one_action[self._next_action(0, obs.item() - self._obs_start)]
        observed: list[int] = np.asarray(obs).reshape(-1).tolist()
        actions = [self._next_action(i, s - self._obs_start) for i, s in enumerate(observed)]
        return np.array(actions, dtype=np.int64) + self._act_start

    def _next_action(self, env: int, s: int) -> int:
        """The action to take now in env ``env`` (SARSA overrides it to reuse its A')."""
        return self._choose(s)

    # ------------------------------------------------------------------------- learning
    def observe(self, transition: Transition) -> None:
        self._last = transition

    def update(self) -> dict[str, float]:
        """One TD update per env of the last step: Q(S,A) ← Q(S,A) + α·(target − Q(S,A))."""
        t = self._last
        if t is None:
            return {}
        self._last = None
        if len(t.reward) == 1:  # .item() is the cheapest way from a 1-element array to a scalar
            rows: Any = ((t.obs.item(), t.action.item(), t.reward.item(), t.next_obs.item(),
                          t.terminated.item(), t.truncated.item()),)  # fmt: skip
        else:
            rows = zip(*(np.asarray(x).reshape(-1).tolist() for x in t), strict=True)
        q, alpha, s_off, a_off = self.q, self._alpha, self._obs_start, self._act_start
        ended = False
        for env, (s, a, r, s2, terminated, truncated) in enumerate(rows):
            s, a = s - s_off, a - a_off
            target = self._target(env, r, s2 - s_off, terminated, truncated)
            v = q.item(s, a)
            q[s, a] = v + alpha * (target - v)
            if terminated or truncated:
                self._episode_ended()
                ended = True
        return {"epsilon": self.epsilon} if ended else {}

    def _target(self, env: int, r: float, s2: int, terminated: bool, truncated: bool) -> float:
        """The TD target of one transition (the only thing Q-learning and SARSA do differently);
        ``terminated`` means no bootstrap, ``truncated`` still bootstraps from ``s2``."""
        raise NotImplementedError

    def _episode_ended(self) -> None:
        self.episodes += 1
        self.epsilon = self.schedule(self.episodes + 1)

    # ------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """The table, the episode count (ε), the generator with the unused rest of its drawn
        block, and :attr:`per_env_state`: a resumed run with its envs restored goes on
        exactly."""
        return {
            "q": self.q,
            "episodes": self.episodes,
            # The generator's state as plain numbers (the checkpoint format holds no pickles).
            "rng": rng_state(self.rng),
            "random_block": self.draws.state_dict(),
            "per_env": {name: list(getattr(self, name)) for name in self.per_env_state},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`; from an older checkpoint, without the drawn block, a
        new block is drawn."""
        q = np.asarray(state["q"], dtype=np.float64)
        if q.shape != self.q.shape:
            raise ValueError(f"saved Q-table has shape {q.shape}, this agent's is {self.q.shape}")
        self.q[...] = q
        self.episodes = int(state["episodes"])
        self.epsilon = self.schedule(self.episodes + 1)
        if "rng" in state:
            set_rng_state(self.rng, state["rng"])
            self.draws.load_state_dict(state.get("random_block"))
        for name, values in state.get("per_env", {}).items():
            if name in self.per_env_state and len(values) == self.num_envs:
                setattr(self, name, [int(v) for v in values])


def _make_schedule(cfg: TabularConfig) -> Callable[[int], float]:
    start, floor = cfg.exploration_initial_eps, cfg.exploration_final_eps
    if cfg.exploration_schedule == "inverse":
        return lambda k: max(floor, start * Inverse()(k))
    if cfg.exploration_schedule == "linear":
        linear = Linear(start, floor, cfg.exploration_episodes)
        return lambda k: linear(k - 1)
    if cfg.exploration_schedule == "exponential":
        exponential = Exponential(start, cfg.exploration_decay, floor)
        return lambda k: exponential(k - 1)
    return Constant(max(start, floor))
