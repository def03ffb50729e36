"""EnvPool against Gymnasium: speed on one core, and where their envs differ.

* ``speed``: steps/s of CarRacing-v3 raw and under the CarRacing preset (frame_skip 1 and 4),
  Gymnasium's Box2D env against EnvPool's C++ one, interleaved in chunks of the same uniform
  random actions; and BattleZone under the Atari preset (ale-py, ``wrappers.atari``) against
  EnvPool's Atari with the same preprocessing, and ale-py's own C++ vector env
  (``wrappers.atari_vector``) with 1 env.
* ``episodes``: the episode structure of CarRacing-v3 under a fixed policy on each engine over
  ``--episodes`` seeded episodes: lengths, returns, how episodes end (time limit, lap done, off
  the playfield) — EnvPool's tracks come from its own generator, so the two are compared as
  distributions.

    python benchmarks/envpool_backend.py speed episodes
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import wrappers
from wrappers.envpool_env import EnvPoolEnv


def _steps_per_second(make: Any, steps: int, chunks: int, seed: int = 0) -> list[float]:
    """Steps/s of each chunk of ``steps`` uniform random actions (one env, reset on ends)."""
    env = make()
    env.action_space.seed(seed)
    env.reset(seed=seed)
    rates = []
    for _ in range(chunks):
        actions = [env.action_space.sample() for _ in range(steps)]
        start = time.perf_counter()
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        rates.append(steps / (time.perf_counter() - start))
    env.close()
    return rates


def speed(args: argparse.Namespace) -> None:
    cases = {
        "CarRacing raw, gymnasium": lambda: __import__("gymnasium").make("CarRacing-v3"),
        "CarRacing raw, envpool": lambda: EnvPoolEnv("CarRacing-v3"),
        "CarRacing preset, gymnasium": lambda: wrappers.car_racing(),
        "CarRacing preset, envpool": lambda: wrappers.car_racing(backend="envpool"),
        "CarRacing preset skip 4, gymnasium": lambda: wrappers.car_racing(frame_skip=4),
        "CarRacing preset skip 4, envpool": lambda: wrappers.car_racing(
            frame_skip=4, backend="envpool"
        ),
        "BattleZone atari preset (ale-py)": lambda: wrappers.atari("ALE/BattleZone-v5"),
        "BattleZone envpool, same preprocessing": lambda: EnvPoolEnv(
            "BattleZone-v5", repeat_action_probability=0.25, use_inter_area_resize=False
        ),
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):  # interleaved: load hits every case alike
        for name, make in cases.items():
            results[name] += _steps_per_second(make, args.steps, args.chunks)
    vector = _vector_rates(args)
    print("| env | steps/s (median over chunks) | chunks |")
    print("|---|---:|---:|")
    for name, rates in results.items():
        print(f"| {name} | {np.median(rates):,.0f} | {len(rates)} |")
    print(
        f"| BattleZone ale-py vector env (atari_vector), 1 env | {np.median(vector):,.0f} | "
        f"{len(vector)} |"
    )


def _vector_rates(args: argparse.Namespace) -> list[float]:
    envs = wrappers.atari_vector("ALE/BattleZone-v5", 1)
    envs.action_space.seed(0)
    envs.reset(seed=0)
    rates = []
    for _ in range(args.repeats * args.chunks):
        actions = [envs.action_space.sample() for _ in range(args.steps)]
        start = time.perf_counter()
        for action in actions:
            envs.step(action)  # same-step autoreset
        rates.append(args.steps / (time.perf_counter() - start))
    envs.close()
    return rates


def _policy(rng: np.random.Generator) -> np.ndarray:
    """Uniform random steering, gas and brake: the car wanders on and off the track."""
    return rng.uniform([-1.0, 0.0, 0.0], [1.0, 1.0, 1.0]).astype(np.float32)


def episodes(args: argparse.Namespace) -> None:
    print(
        "| engine | episodes | length: mean (min–max) | return: mean ± std | "
        "ended: time limit / lap / off the playfield |"
    )
    print("|---|---:|---|---|---|")
    for engine in ("gymnasium", "envpool"):
        env = wrappers.car_racing(frame_skip=4, backend=engine)
        lengths, returns, ends = [], [], {"time": 0, "lap": 0, "off": 0}
        for k in range(args.episodes):
            rng = np.random.default_rng(k)
            env.reset(seed=1_000 + k)
            total, length = 0.0, 0
            while True:
                _, reward, terminated, truncated, _ = env.step(_policy(rng))
                total, length = total + float(reward), length + 1
                if terminated or truncated:
                    break
            lengths.append(length)
            returns.append(total)
            # CarRacing terminates with −100 off the playfield, and without it on a full lap
            ends["time" if truncated else "off" if reward <= -99 else "lap"] += 1
        env.close()
        print(
            f"| {engine} | {args.episodes} | {np.mean(lengths):.0f} ({min(lengths)}–"
            f"{max(lengths)}) | {np.mean(returns):.1f} ± {np.std(returns):.1f} | "
            f"{ends['time']} / {ends['lap']} / {ends['off']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="+", choices=["speed", "episodes"])
    parser.add_argument("--steps", type=int, default=500, help="steps per chunk")
    parser.add_argument("--chunks", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=30)
    args = parser.parse_args()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    for part in args.parts:
        {"speed": speed, "episodes": episodes}[part](args)


if __name__ == "__main__":
    main()
