"""The image agents' update time with the Nature CNN in float32 and in bfloat16
(``--set cnn_precision=...``), side by side in one run, on random frames.

* ``dqn``: one gradient step of the atari100k set (batch 32 of (4, 84, 84) stacks, 10-step
  double dueling targets), on the runner's thread;
* ``ppo``: one PPO update of a CarRacing recipe (8 envs × 256 steps of (4, S, S) stacks,
  10 epochs of minibatches of 128, a Beta policy over 3 actions), S = 84 and 64.

    python benchmarks/cnn_precision_speed.py --threads 1 2 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch
from gymnasium import spaces

from rlagents.agent import Transition
from rlagents.agents.dqn import DQN
from rlagents.agents.dqn_hyperparams import HYPERPARAMS
from rlagents.agents.ppo import PPO
from rlagents.common.torch_utils import native_bfloat16
from rlagents.run.tuned import config_values

PRECISIONS = ("float32", "bfloat16")


def frames(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    return rng.integers(0, 256, (n, 4, size, size), dtype=np.uint8)


def dqn_step_ms(precision: str, threads: int, steps: int) -> float:
    cfg = {
        **config_values(HYPERPARAMS["atari100k"]),
        "cnn_precision": precision,
        "num_threads": threads,
        "background_training": "off",
        "frame_dedup": False,
        "buffer_size": 2_000,
    }
    space = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    agent = DQN(space, spaces.Discrete(18), cfg, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        obs = frames(rng, 1, 84)
        agent.buffer.add(
            Transition(
                obs,
                np.array([0]),
                np.zeros(1, np.float32),
                frames(rng, 1, 84),
                np.zeros(1, bool),
                np.zeros(1, bool),
            )
        )
    c = agent.config
    batches = [
        agent.buffer.sample_n_step(c.batch_size, agent.rng, c.n_steps, c.gamma)
        for _ in range(steps + 5)
    ]
    for b in batches[:5]:  # warm-up: oneDNN picks its kernels
        agent.gradient_step(b)
    start = time.perf_counter()
    for b in batches[5:]:
        agent.gradient_step(b)
    return (time.perf_counter() - start) / steps * 1000


def ppo_update_s(precision: str, threads: int, size: int) -> float:
    cfg = {
        "cnn_precision": precision,
        "num_threads": threads,
        "box_actions": "beta",
        "n_steps": 256,
        "batch_size": 128,
        "n_epochs": 10,
        "activation": "relu",
        "net_arch": (256,),
    }
    space = spaces.Box(0, 255, (4, size, size), np.uint8)
    agent = PPO(space, spaces.Box(-1.0, 1.0, (3,), np.float32), cfg, num_envs=8, seed=0)
    rng = np.random.default_rng(0)
    times = []
    for _update in range(2):  # the first update warms oneDNN up
        for _ in range(cfg["n_steps"]):
            obs = frames(rng, 8, size)
            action = agent.act(obs)
            agent.observe(
                Transition(
                    obs,
                    action,
                    rng.normal(size=8).astype(np.float32),
                    frames(rng, 8, size),
                    np.zeros(8, bool),
                    np.zeros(8, bool),
                )
            )
        start = time.perf_counter()
        agent.update()
        times.append(time.perf_counter() - start)
    return times[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dqn-steps", type=int, default=40)
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, "
        f"native bfloat16: {native_bfloat16(torch.device('cpu'))}, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    for threads in args.threads:
        rows: dict[str, dict[str, list[float]]] = {}
        for _ in range(args.repeats):  # interleaved, so drift hits both precisions alike
            for precision in PRECISIONS:
                row = rows.setdefault(precision, {})
                for key, value in (
                    ("dqn gradient step, ms", dqn_step_ms(precision, threads, args.dqn_steps)),
                    ("ppo update 84px, s", ppo_update_s(precision, threads, 84)),
                    ("ppo update 64px, s", ppo_update_s(precision, threads, 64)),
                ):
                    row.setdefault(key, []).append(value)
        print(f"\n{threads} torch thread(s), median of {args.repeats}:")
        for key in rows["float32"]:
            fp32 = statistics.median(rows["float32"][key])
            bf16 = statistics.median(rows["bfloat16"][key])
            print(
                f"  {key:24s} float32 {fp32:8.3f}   bfloat16 {bf16:8.3f}   ratio {fp32 / bf16:.2f}x"
            )
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
