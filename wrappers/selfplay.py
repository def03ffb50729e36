"""A two-player turn-based PettingZoo game (tic-tac-toe, connect four: an AEC env) as a
single-agent Gymnasium env, for self-play and for evaluation against fixed opponents.

The learner plays one seat per game, the seats alternating game by game (or one seat, fixed);
an opponent plays the other. A step is the learner's move followed by the opponent's moves up
to the learner's next turn, so a transition runs from the learner's turn to its next one (or to
the game's end) with the reward the game gave the learner in between: no transition is made of
the opponent's moves. Observations are PettingZoo's (the board from the learner's side and its
``action_mask``) and the learner's seat (``agent``), the extra input a policy shared by both
seats reads.

PettingZoo is imported only here, when such a game is made (``pip install 'rlagents[multiagent]'``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from wrappers.parallel import module_form

MASK_KEY = "action_mask"


class Position:
    """A game in progress, as an opponent sees it: the live ``game`` (a PettingZoo AEC env),
    the ``agent`` to move, and :meth:`after`, the game replayed with more moves (the classic
    games are deterministic; a replay is what a look-ahead needs, as PettingZoo's envs do not
    copy)."""

    def __init__(self, game: Any, agent: str, replay: Callable[[list[int]], Any]) -> None:
        self.game, self.agent, self._replay = game, agent, replay

    def legal(self, agent: str | None = None) -> np.ndarray:
        return legal_moves(self.game, agent or self.agent)

    def after(self, moves: list[int]) -> Any:
        return self._replay(moves)


class Opponent(Protocol):
    """Chooses the move of ``position.agent``."""

    def __call__(self, position: Position, rng: np.random.Generator) -> int: ...


def legal_moves(game: Any, agent: str) -> np.ndarray:
    """The moves ``agent``'s mask allows; none, for an agent to move, is the game's error."""
    moves = np.flatnonzero(np.asarray(game.observe(agent)[MASK_KEY]))
    if not len(moves):
        raise ValueError(no_move_message(agent))
    return moves


def no_move_message(agent: str) -> str:
    return f"{agent} is to move but its action_mask allows no move; the game should have ended"


def random_opponent(position: Position, rng: np.random.Generator) -> int:
    """A legal move, uniformly at random."""
    return int(rng.choice(position.legal()))


def one_ply_opponent(position: Position, rng: np.random.Generator) -> int:
    """A move that wins at once if there is one; else one after which the other player cannot
    win at once (a block, in tic-tac-toe and connect four); else a random legal move."""
    agent, moves = position.agent, position.legal()
    safe = []
    for move in moves:
        after = position.after([int(move)])
        if after.rewards[agent] > 0:
            return int(move)
        if not _other_can_win(position, int(move), after):
            safe.append(move)
    return int(rng.choice(safe if safe else moves))


def _other_can_win(position: Position, move: int, after: Any) -> bool:
    other = after.agent_selection
    if other == position.agent or after.terminations[other] or after.truncations[other]:
        return False
    for reply in legal_moves(after, other):
        if position.after([move, int(reply)]).rewards[other] > 0:
            return True
    return False


OPPONENTS: dict[str, Opponent] = {"random": random_opponent, "one_ply": one_ply_opponent}


def make_aec(env_id: str, **kwargs: Any) -> Any:
    """A PettingZoo AEC env: a PettingZoo registry id (``classic/tictactoe-v3``) or
    ``module:env_fn`` (``pettingzoo.classic:connect_four_v3``, whose ``env()`` is called)."""
    try:
        import pettingzoo
    except ImportError:
        raise ValueError(
            f"{env_id} is a PettingZoo env: pip install 'rlagents[multiagent]'"
        ) from None
    module, sep, name = env_id.rpartition(":")
    if sep:
        maker = _pettingzoo_maker(module, name)
        if maker is None:
            raise ValueError(f"{env_id}: {module} has no env {name!r}")
        with module_form():
            return maker(**kwargs)
    return pettingzoo.make("aec", env_id, **kwargs)


def _pettingzoo_maker(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name``'s AEC maker: the ``env`` of an env module (``mpe2:simple_spread_v3``,
    imported as a submodule where it is one), or a function that makes the env."""
    with module_form():
        target = getattr(importlib.import_module(module), name, None)
    if target is None:
        try:
            target = importlib.import_module(f"{module}.{name}")
        except ImportError:
            return None
    maker = getattr(target, "env", target)
    return maker if callable(maker) else None


def is_pettingzoo_id(env_id: str) -> bool:
    """Whether ``env_id`` names a PettingZoo env: an id of PettingZoo's registry, or
    ``module:name`` where the module has ``name`` (an env module or function) and does not
    register ``name`` as a Gymnasium id (Gymnasium's own ``module:EnvId`` form)."""
    module, sep, name = env_id.rpartition(":")
    if sep:
        try:
            importlib.import_module(module)
        except Exception:
            return False  # the Gymnasium side reports a module that does not import
        return name not in gym.registry and _pettingzoo_maker(module, name) is not None
    try:
        import pettingzoo
    except ImportError:
        return False
    try:
        pettingzoo.spec("aec", env_id)
    except Exception:
        return False
    return True


class TurnBasedSelfPlay(gym.Env[dict[str, Any], np.int64]):
    """One seat of a two-player turn-based PettingZoo game, the other played by ``opponent``
    (default: random legal moves; :meth:`set_opponent` changes it).

    Example:
        >>> env = TurnBasedSelfPlay(lambda: make_aec("classic/tictactoe-v3"))
        >>> env.observation_space["observation"].shape, env.action_space
        ((3, 3, 2), Discrete(9))
        >>> obs, info = env.reset(seed=0)
        >>> info["seat"], int(obs["action_mask"].sum())
        (0, 9)
    """

    metadata = {"render_modes": ["human", "rgb_array"]}  # noqa: RUF012 (Gymnasium's form)

    def __init__(
        self,
        make_game: Callable[[], Any],
        *,
        seat: int | None = None,
        opponent: Opponent = random_opponent,
        render_mode: str | None = None,
    ) -> None:
        self.make_game = make_game
        self.game = make_game()
        self.game.reset()
        self.moves: list[int] = []  # this game's moves, both players'
        self.game_seed: int | None = None
        if len(self.game.possible_agents) != 2:
            raise ValueError(
                f"self-play needs a two-player game, got {len(self.game.possible_agents)} "
                f"players ({', '.join(self.game.possible_agents)})"
            )
        self.seats = list(self.game.possible_agents)
        first = self.game.observation_space(self.seats[0])
        if not isinstance(first, spaces.Dict) or MASK_KEY not in first.spaces:
            raise ValueError(f"self-play needs observations with an {MASK_KEY!r}, got {first}")
        self.observation_space = spaces.Dict({**first.spaces, "agent": spaces.Discrete(2)})
        self.action_space = self.game.action_space(self.seats[0])
        self.fixed_seat = seat
        self.opponent = opponent
        self.render_mode = render_mode
        self.games = 0
        self.illegal_moves = 0  # the learner's moves that its mask did not allow
        self.learner = self.seats[0]
        self.rng = np.random.default_rng()

    def set_opponent(self, opponent: Opponent) -> None:
        """Who plays the other seat from the next move on (a snapshot of the learner, say)."""
        self.opponent = opponent

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.rng = np.random.default_rng(seed)
            self.games = 0
        seat = self.fixed_seat if self.fixed_seat is not None else self.games % 2
        self.games += 1
        self.learner = self.seats[seat]
        self.game_seed = int(self.rng.integers(2**31))
        new_game = getattr(self.opponent, "new_game", None)
        if new_game is not None:  # an opponent that changes between games (a pool)
            new_game(self.rng)
        self.game.reset(seed=self.game_seed)
        self.moves = []
        reward = self._opponent_moves()
        assert reward == 0.0, "the game ended before the learner's first move"
        return self._obs(), {"seat": seat}

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        learner = self.learner
        if not self.game.observe(learner)[MASK_KEY][int(action)]:
            self.illegal_moves += 1  # PettingZoo ends the game, the mover losing
        self._play(int(action))
        reward = float(self.game.rewards[learner])
        if not self._over():
            reward += self._opponent_moves()
        terminated = bool(self.game.terminations[learner])
        truncated = bool(self.game.truncations[learner]) and not terminated
        return self._obs(), reward, terminated, truncated, {"seat": self.seats.index(learner)}

    def _opponent_moves(self) -> float:
        """The opponent's moves up to the learner's turn or the game's end; the learner's
        reward from them."""
        reward = 0.0
        while not self._over() and self.game.agent_selection != self.learner:
            position = Position(self.game, self.game.agent_selection, self._replay)
            self._play(self.opponent(position, self.rng))
            reward += float(self.game.rewards[self.learner])
        return reward

    def _play(self, move: int) -> None:
        self.game.step(move)
        self.moves.append(move)

    def _replay(self, more: list[int]) -> Any:
        game = self.make_game()
        game.reset(seed=self.game_seed)
        for move in [*self.moves, *more]:
            game.step(move)
        return game

    def _over(self) -> bool:
        learner = self.learner
        return bool(self.game.terminations[learner] or self.game.truncations[learner])

    def _obs(self) -> dict[str, Any]:
        obs = dict(self.game.observe(self.learner))
        if not self._over() and not np.any(obs[MASK_KEY]):
            raise ValueError(no_move_message(self.learner))
        obs["agent"] = np.int64(self.seats.index(self.learner))
        return obs

    def render(self) -> Any:
        return self.game.render()

    def close(self) -> None:
        self.game.close()


def selfplay(env_id: str, *, seat: int | None = None, **make_kwargs: Any) -> TurnBasedSelfPlay:
    """The ``selfplay`` preset: PettingZoo game ``env_id`` as one seat's Gymnasium env
    (:class:`TurnBasedSelfPlay`); ``seat`` 0 or 1 fixes the learner's seat, else it alternates
    game by game. Other keywords make the game."""
    if seat not in (None, 0, 1):
        raise ValueError(f"selfplay() needs seat 0, 1 or None, got {seat!r}")
    render_mode = make_kwargs.get("render_mode")
    return TurnBasedSelfPlay(
        lambda: make_aec(env_id, **make_kwargs), seat=seat, render_mode=render_mode
    )
