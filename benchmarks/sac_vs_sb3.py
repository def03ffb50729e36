"""rlagents' SAC against Stable-Baselines3's on Pendulum-v1, side by side in one run, at
identical settings: SAC's tuned set ``Pendulum-v1`` (rl-zoo3's lr 1e-3 and 20k steps, 64-64
networks, SB3's other defaults: batch 256, 100 random warm-up steps, τ 0.005, γ 0.99, α learned
from 1 towards −dim(A)), one torch thread on both sides, each run in a fresh subprocess, the two
sides interleaved seed by seed.

* ``time`` — wall-clock time to −200: both sides evaluate every 1,000 steps (10 greedy
  episodes on a separate env, counted in the wall time on both sides) and stop at the first mean
  ≥ −200 (``rlrun --eval-every 1000 --eval-episodes 10 --stop-at-return -200``).
* ``speed`` — steps/s over the whole 20k-step budget, without evaluations (``rlrun
  --eval-episodes 0``: the runner's steps/s; SB3: ``model.learn(20_000)`` timed around it).

    python benchmarks/sac_vs_sb3.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from td3_ddpg_vs_sb3 import THREAD_ENV, run_ours

from rlagents.agents.sac_hyperparams import SAC_HYPERPARAMS
from rlagents.run.machine import cpu_model

ENV, TARGET, EVERY, EPISODES = "Pendulum-v1", -200.0, 1_000, 10
SET = SAC_HYPERPARAMS[ENV]


def sb3_worker(spec: dict) -> dict:
    """One SB3 SAC run in this (fresh) process, with our tuned set's values."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy

    torch.set_num_threads(1)
    model = SAC(
        "MlpPolicy", gym.make(ENV), learning_rate=SET["learning_rate"], seed=spec["seed"],
        policy_kwargs={"net_arch": list(SET["net_arch"])}, device="cpu", verbose=0,
    )  # fmt: skip
    start = time.perf_counter()
    if spec["mode"] == "speed":
        model.learn(total_timesteps=SET["n_timesteps"])
        return {"steps_per_second": model.num_timesteps / (time.perf_counter() - start)}
    eval_env, evals = gym.make(ENV), []

    class EvaluateAndStop(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % EVERY:
                return True
            eval_env.reset(seed=spec["seed"] + 10_000)
            mean, _ = evaluate_policy(self.model, eval_env, EPISODES, deterministic=True)
            evals.append((self.num_timesteps, time.perf_counter() - start, float(mean)))
            return mean < TARGET

    model.learn(total_timesteps=SET["n_timesteps"], callback=EvaluateAndStop())
    reached = next(((s, t) for s, t, m in evals if m >= TARGET), None)
    return {"reached_step": reached and reached[0], "reached_seconds": reached and reached[1]}


def run_sb3(mode: str, seed: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--sb3-worker", json.dumps({"mode": mode, "seed": seed})],
        check=True, capture_output=True, text=True, env={**os.environ, **THREAD_ENV},
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def ours(mode: str, seed: int) -> dict:
    if mode == "speed":
        quiet = ["--eval-episodes", "0", "--no-tensorboard"]
        summary, _, _ = run_ours("sac", seed, SET["n_timesteps"], quiet)
        return {"steps_per_second": summary["steps_per_second"]}
    extra = ["--eval-every", str(EVERY), "--eval-episodes", str(EPISODES)]
    extra += ["--stop-at-return", str(TARGET), "--no-tensorboard"]
    _, evals, _ = run_ours("sac", seed, SET["n_timesteps"], extra)
    reached = next(((s, t) for s, t, m in evals if m >= TARGET), None)
    return {"reached_step": reached and reached[0], "reached_seconds": reached and reached[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sb3-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sb3_worker:
        spec = json.loads(args.sb3_worker)
        print(json.dumps(sb3_worker(spec)))
        return
    print(
        f"SAC on {ENV}: rlagents vs SB3, one thread each, seeds {args.seeds}; "
        f"{os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )
    print("| seed | measure | rlagents | SB3 | ratio |\n|---|---|---|---|---|")
    ratios: dict[str, list[float]] = {"time": [], "speed": []}
    for seed in args.seeds:
        for mode in ("time", "speed"):
            a, b = ours(mode, seed), run_sb3(mode, seed)
            if mode == "speed":
                x, y = a["steps_per_second"], b["steps_per_second"]
                cells = f"{x:,.0f} steps/s | {y:,.0f} steps/s"
            else:
                x, y = a["reached_seconds"], b["reached_seconds"]
                cells = " | ".join(
                    f"{r['reached_seconds']:.1f} s ({r['reached_step']:,} steps)"
                    if r["reached_seconds"] is not None
                    else "not reached"
                    for r in (a, b)
                )
            ratio = x / y if x is not None and y else None
            if ratio is not None:
                ratios[mode].append(ratio)
            shown = f"{ratio:.2f}" if ratio is not None else "–"
            print(f"| {seed} | {mode} | {cells} | {shown} |", flush=True)
    for mode, values in ratios.items():
        if values:
            print(f"{mode}: rlagents ÷ SB3, median {statistics.median(values):.2f}")
    print(f"load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
