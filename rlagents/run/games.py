"""Multi-agent envs: two-player games (the ``selfplay`` preset) — the opponent a learner trains
against, and the evaluation against fixed opponents from each seat — and Parallel envs whose
agents are rows (the ``agents`` preset), evaluated per agent.

Training: the other seat is played by a frozen snapshot of the learner (:class:`Snapshots`),
taken every ``refresh_every`` env steps — self-play against its own past, as in the PettingZoo
and Tianshou tutorials' opponent pools — or at random before the first snapshot.

Evaluation: greedy games against ``random`` (legal moves at random) and ``one_ply`` (a win if it
has one, else a move that leaves no win to the other, else random) from each seat; the fractions
of wins, draws and losses per opponent and seat go to ``summary.json`` (``eval_games``), and
the mean return against ``random`` over both seats is the evaluation's return.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

from rlagents.agent import Agent
from rlagents.run import envs as envlib
from rlagents.run.logs import Logger
from rlagents.run.loop import evaluate
from rlagents.run.steppers import batch_of_one

OPPONENT_NAMES = ("random", "one_ply")
SEATS = (0, 1)
REFRESH_EVERY = 5_000  # env steps between snapshots of the learner for its opponent


def play_games(
    agent: Agent,
    factory: envlib.EnvFactory,
    episodes: int,
    seed: int,
    max_steps: int | None,
) -> tuple[list[float], dict[str, Any]]:
    """``episodes`` greedy games per opponent and seat: the returns against ``random`` (both
    seats), and for ``summary.json`` ``eval_games`` — ``{opponent: {seat: {"win", "draw",
    "loss"}}}``, fractions of the games — and ``eval_mean_return_by_agent``, the mean return
    against ``random`` playing each player (PettingZoo's agent ids, seat 0 first)."""
    from wrappers.selfplay import OPPONENTS

    table: dict[str, dict[str, dict[str, float]]] = {}
    by_agent: dict[str, float] = {}
    headline: list[float] = []
    for name in OPPONENT_NAMES:
        table[name] = {}
        for seat in SEATS:
            env = factory.make(seat=seat)
            cast(Any, env.unwrapped).set_opponent(OPPONENTS[name])
            try:
                returns = evaluate(agent, env, episodes, seed + 1_000 * seat, max_steps=max_steps)
            finally:
                env.close()
            table[name][str(seat)] = _outcomes(returns)
            if name == "random":
                headline.extend(returns)
                by_agent[cast(Any, env.unwrapped).seats[seat]] = float(np.mean(returns))
    return headline, {"eval_games": table, "eval_mean_return_by_agent": by_agent}


def play_agents(
    agent: Agent,
    factory: envlib.EnvFactory,
    episodes: int,
    seed: int,
    *,
    render_mode: str | None = None,
    record: Callable[[list[Any], int, int], None] | None = None,
) -> tuple[list[float], dict[str, Any]]:
    """``episodes`` greedy episodes of a Parallel env (its agents as rows, the ``agents``
    preset): each episode's mean return per agent, and ``eval_mean_return_by_agent``.
    ``render_mode`` "human" shows them; with ``record``, they are drawn (``rgb_array``) and each
    episode's frames handed to ``record(frames, episode, fps)``."""
    if record is not None:
        render_mode = "rgb_array"
    envs = cast(
        Any, factory.make(num_copies=1, **({"render_mode": render_mode} if render_mode else {}))
    )
    per_agent: list[np.ndarray] = []
    try:
        for k in range(episodes):
            agent.begin_episodes()
            obs, _ = envs.reset(seed=seed + k)
            frames = [envs.render()] if record is not None else []
            total = np.zeros(envs.num_envs)
            while True:
                obs, reward, _, _, info = envs.step(agent.act(obs, explore=False))
                total += reward
                if "final_obs" in info:
                    break  # the copy has reset: its frame now is the next episode's
                if record is not None:
                    frames.append(envs.render())
            per_agent.append(total)
            if record is not None:
                record(frames, k, int(envs.metadata["render_fps"]))
    finally:
        envs.close()
    returns = [float(np.mean(t)) for t in per_agent]
    means = np.mean(per_agent, axis=0) if per_agent else np.zeros(len(envs.agents))
    by_agent = {name: float(m) for name, m in zip(envs.agents, means, strict=True)}
    return returns, {"eval_mean_return_by_agent": by_agent}


def _outcomes(returns: list[float]) -> dict[str, float]:
    r = np.sign(np.asarray(returns, dtype=np.float64))
    n = max(len(r), 1)
    return {
        "win": float((r > 0).sum() / n),
        "draw": float((r == 0).sum() / n),
        "loss": float((r < 0).sum() / n),
    }


class Snapshots:
    """The learner's opponent: a pool of frozen copies of the learner, one taken every
    ``refresh_every`` env steps (the last ``size`` kept), one of them chosen for each game; it
    plays greedily but for a ``random_moves`` share of random legal moves, and at random before
    the first copy. A pool rather than the latest copy alone keeps the learner from fitting
    one opponent's habits (the opponent pools of PettingZoo's and Tianshou's self-play)."""

    def __init__(
        self,
        learner: Agent,
        make_copy: Any,
        refresh_every: int = REFRESH_EVERY,
        size: int = 3,
        random_moves: float = 0.1,
    ) -> None:
        self.learner = learner
        self.make_copy = make_copy  # () -> a fresh agent like the learner, one env
        self.refresh_every = refresh_every
        self.size = size
        self.random_moves = random_moves
        self.copies: list[Agent] = []
        self.taken = 0  # snapshots taken
        self.taken_at: int | None = None
        self.current: Agent | None = None

    def refresh(self, step: int) -> None:
        """Take a new snapshot if ``refresh_every`` steps passed since the last one."""
        last = self.taken_at if self.taken_at is not None else 0
        if step - last < self.refresh_every:
            return
        if len(self.copies) < self.size:
            self.copies.append(self.make_copy())
        copy = self.copies[self.taken % self.size]  # the oldest is replaced
        copy.load_state_dict(type(self.learner).kept_state(self.learner.state_dict()))
        self.taken += 1
        self.taken_at = step

    def new_game(self, rng: np.random.Generator) -> None:
        """A game begins: choose the snapshot that plays it."""
        self.current = self.copies[int(rng.integers(len(self.copies)))] if self.copies else None

    def __call__(self, position: Any, rng: np.random.Generator) -> int:
        if self.current is None or rng.random() < self.random_moves:
            return int(rng.choice(position.legal()))
        obs = dict(position.game.observe(position.agent))
        obs["agent"] = np.int64(position.game.possible_agents.index(position.agent))
        return int(self.current.act(batch_of_one(obs), explore=False)[0])


class RefreshSnapshots(Logger):
    """Refreshes the opponent's snapshot at the run's intervals (every 1,000 env steps)."""

    def __init__(self, snapshots: Snapshots) -> None:
        self.snapshots = snapshots

    def interval(self, step: int, wall: float, metrics: Any) -> None:
        self.snapshots.refresh(step)


def attach_snapshots(learner: Agent, make_copy: Any, envs: list[Any]) -> Logger:
    """Make the learner's snapshots the opponent in ``envs`` (the training games); return the
    logger that refreshes them."""
    snapshots = Snapshots(learner, make_copy)
    for env in envs:
        env.unwrapped.set_opponent(snapshots)
    return RefreshSnapshots(snapshots)
