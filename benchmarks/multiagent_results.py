"""Tic-tac-toe by self-play: the out-of-the-box `rlrun --env classic/tictactoe-v3 --agent dqn`
(its tuned set, 100k moves) per seed, then greedy games against random play and the one-ply
player from each seat, and illegal moves counted over 10,000 games against random play.

    python benchmarks/multiagent_results.py --seeds 0 1 2 --games 100

Goals (issue 35): against random, ≥ 97% non-losses over both seats and a mean reward ≥ 0.75
moving second; against the one-ply player ≥ 90% non-losses from each seat; 0 illegal moves.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np

import rlagents
from rlagents.run.steppers import batch_of_one
from wrappers.selfplay import OPPONENTS, selfplay

ENV = "classic/tictactoe-v3"


def play(agent, opponent: str, seat: int, games: int, seed: int) -> tuple[list[float], int]:
    """Greedy games: the learner's returns and its illegal moves."""
    env = selfplay(ENV, seat=seat)
    env.set_opponent(OPPONENTS[opponent])
    returns = []
    for k in range(games):
        obs, _ = env.reset(seed=seed + k)
        done, ret = False, 0.0
        while not done:
            action = agent.act(batch_of_one(obs), explore=False)[0]
            obs, reward, terminated, truncated, _ = env.step(action)
            ret += float(reward)
            done = terminated or truncated
        returns.append(ret)
    return returns, env.illegal_moves


def one_seed(seed: int, games: int, steps: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = rlagents.train(
            ENV, "dqn", seed=seed, steps=steps, eval_episodes=0, run_dir=os.path.join(tmp, "r"),
            tensorboard=False,
        )  # fmt: skip
        wall = time.perf_counter() - start
    agent, row = result.agent, {"seed": seed, "wall_s": wall}
    row["steps_per_s"] = result.summary["steps_per_second"]
    for opponent in OPPONENTS:
        for seat in (0, 1):
            returns, _ = play(agent, opponent, seat, games, 10_000 + seed * 1_000)
            r = np.sign(returns)
            row[f"{opponent}_{seat}_nonloss"] = float((r >= 0).mean())
            row[f"{opponent}_{seat}_mean"] = float(np.mean(returns))
    illegal = sum(play(agent, "random", seat, 5_000, 50_000)[1] for seat in (0, 1))
    row["illegal_in_10k"] = illegal
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--games", type=int, default=100, help="per opponent and seat")
    parser.add_argument("--steps", type=int, help="[default: the tuned set's budget]")
    args = parser.parse_args()
    print(
        f"{ENV}, dqn (tuned set), seeds {args.seeds}, {args.games} greedy games per opponent "
        f"and seat; {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    head = "| seed | random: non-loss first / second | random: mean second | one-ply: non-loss "
    head += "first / second | illegal in 10k games | train s | steps/s |"
    rows = []
    for seed in args.seeds:
        row = one_seed(seed, args.games, args.steps)
        rows.append(row)
        print(row, flush=True)
    print(head)
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['seed']} | {r['random_0_nonloss']:.2f} / {r['random_1_nonloss']:.2f} | "
            f"{r['random_1_mean']:.2f} | {r['one_ply_0_nonloss']:.2f} / "
            f"{r['one_ply_1_nonloss']:.2f} | {r['illegal_in_10k']} | {r['wall_s']:.0f} | "
            f"{r['steps_per_s']:.0f} |"
        )
    both = [(r["random_0_nonloss"] + r["random_1_nonloss"]) / 2 for r in rows]
    print(f"random, non-loss over both seats: median {statistics.median(both):.3f}")
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
