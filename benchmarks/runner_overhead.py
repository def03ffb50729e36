"""How much rlrun's loop costs over a bare Gymnasium loop, on CartPole-v1 with one env.

Both sides sample random actions from the env's action space and reset at episode ends; the
runner side is the real `rlrun` code path (`rlagents.train` with the built-in `random` agent:
act, env step, Transition, observe, update, episode logging with TensorBoard on), without
evaluation. A
SyncVectorEnv of one env is measured too, as the reference point the runner avoids.

    python benchmarks/runner_overhead.py --steps 200000 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import gymnasium as gym
import numpy as np

import rlagents


def bare_loop(steps: int, seed: int) -> float:
    env = gym.make("CartPole-v1")
    env.reset(seed=seed)
    env.action_space.seed(seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def sync_vector_loop(steps: int, seed: int) -> float:
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")])
    envs.reset(seed=seed)
    envs.action_space.seed(seed)
    start = time.perf_counter()
    for _ in range(steps):
        envs.step(envs.action_space.sample())
    return steps / (time.perf_counter() - start)


def rlrun_loop(steps: int, seed: int, tensorboard: bool = True) -> float:
    """The library's run (what `rlrun` calls), its files and TensorBoard logging on."""
    with tempfile.TemporaryDirectory() as tmp:
        result = rlagents.train(
            "CartPole-v1",
            "random",
            steps=steps,
            seed=seed,
            num_envs=1,
            preset="none",
            run_dir=os.path.join(tmp, "run"),
            eval_episodes=0,
            tensorboard=tensorboard,
        )
        return result.summary["steps_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"bare": [], "sync_vector_1": [], "rlrun": []}
    # Interleave the three so that drift in machine load hits all of them alike.
    for r in range(args.repeats):
        results["bare"].append(bare_loop(args.steps, r))
        results["sync_vector_1"].append(sync_vector_loop(args.steps, r))
        results["rlrun"].append(rlrun_loop(args.steps, r))
    median = {k: statistics.median(v) for k, v in results.items()}
    print(
        f"CartPole-v1, 1 env, random actions, {args.steps} steps x {args.repeats} repeats "
        f"(interleaved); {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, gymnasium {gym.__version__}"
    )
    for name, values in results.items():
        print(
            f"  {name:14s} median {median[name]:9,.0f} steps/s  "
            f"(runs: {', '.join(f'{v:,.0f}' for v in values)})"
        )
    ratio = median["rlrun"] / median["bare"]
    # Each repeat runs the loops back to back: the median of the per-repeat ratios cancels
    # most of the host's drift between repeats, which the ratio of medians does not.
    paired = statistics.median(
        r / b for r, b in zip(results["rlrun"], results["bare"], strict=True)
    )
    print(f"rlrun / bare, median of per-repeat ratios = {paired:.2f}")
    print(
        f"rlrun / bare = {ratio:.2f}  (goal >= 0.9); "
        f"SyncVectorEnv(1) / bare = {median['sync_vector_1'] / median['bare']:.2f}"
    )
    print(
        f"| runner overhead | {median['bare']:,.0f} | {median['rlrun']:,.0f} | "
        f"{median['sync_vector_1']:,.0f} | {ratio:.2f} |"
    )


if __name__ == "__main__":
    main()
