"""rlagents' PPO against Stable-Baselines3's PPO, side by side, on CartPole-v1 or LunarLander-v3.

Both sides run rl-zoo3's hyper-parameters for the env (rlagents' ``ppo`` presets for these two
envs are the same numbers) with the same number of envs, the same env steps and the same torch
thread count, each in a fresh subprocess, the runs interleaved seed by seed so that drift in the
machine's load hits both alike:

* rlagents: ``rlrun --env ENV --agent ppo --num-envs K --steps N --eval-every E
  --eval-episodes 10 --set num_threads=T [--set objective=kl]``; its steps/s is the runner's
  (training time only: the periodic greedy evaluations on a separate env are not counted), its
  result the first evaluation (explore=False, 10 episodes) that reaches the target.
* SB3: ``PPO("MlpPolicy", DummyVecEnv of K envs, **zoo)`` learning N steps (with the zoo's
  linear schedules over its n_timesteps), timed around ``learn`` only; then 10 deterministic
  episodes on a separate env.

    python benchmarks/ppo_vs_sb3.py --env CartPole-v1                  # 3 seeds, 50k steps
    python benchmarks/ppo_vs_sb3.py --env LunarLander-v3               # 3 seeds, 1M steps
    python benchmarks/ppo_vs_sb3.py --env CartPole-v1 --quick          # a smoke test

SB3 is a benchmark-only dependency (``pip install -e .[bench]``); rlagents never imports it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ZOO = {  # rl-zoo3's hyperparams/ppo.yml
    "CartPole-v1": {
        "n_envs": 8,
        "n_timesteps": 100_000,
        "ppo": {
            "n_steps": 32,
            "batch_size": 256,
            "gae_lambda": 0.8,
            "gamma": 0.98,
            "n_epochs": 20,
            "ent_coef": 0.0,
            "learning_rate": "lin_1e-3",
            "clip_range": "lin_0.2",
        },
    },
    "LunarLander-v3": {
        "n_envs": 16,
        "n_timesteps": 1_000_000,
        "ppo": {
            "n_steps": 1024,
            "batch_size": 64,
            "gae_lambda": 0.98,
            "gamma": 0.999,
            "n_epochs": 4,
            "ent_coef": 0.01,
        },
    },
}
# env: (target return, step budget, eval every, speed goal over SB3, objectives by default)
GOALS = {
    "CartPole-v1": (475.0, 50_000, 5_000, 2.0, ("clip", "kl")),
    "LunarLander-v3": (200.0, 1_000_000, 50_000, 1.5, ("clip",)),
}


# ------------------------------------------------------------------------------- SB3 side
def sb3_worker(spec: dict) -> dict:
    """One SB3 run in this (fresh) process; returns what it measured."""
    import gymnasium as gym
    import numpy as np
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(spec["threads"])
    zoo = ZOO[spec["env"]]
    kwargs = {}
    for key, value in zoo["ppo"].items():
        if isinstance(value, str) and value.startswith("lin_"):
            start = float(value[4:])
            value = (lambda s: lambda progress_remaining: progress_remaining * s)(start)
        kwargs[key] = value

    class StopAt(BaseCallback):
        def _on_step(self) -> bool:
            return self.num_timesteps < spec["steps"]

    env = make_vec_env(spec["env"], n_envs=zoo["n_envs"], seed=spec["seed"])
    model = PPO("MlpPolicy", env, seed=spec["seed"], device="cpu", verbose=0, **kwargs)
    horizon = max(zoo["n_timesteps"], spec["steps"])  # the zoo's schedules run over its budget
    start = time.perf_counter()
    model.learn(total_timesteps=horizon, callback=StopAt())
    seconds = time.perf_counter() - start

    eval_env = gym.make(spec["env"])
    returns = []
    for k in range(spec["eval_episodes"]):
        obs, _ = eval_env.reset(seed=spec["seed"] + 10_000 + k)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = eval_env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return {
        "steps": int(model.num_timesteps),
        "seconds": seconds,
        "steps_per_second": model.num_timesteps / seconds,
        "eval_mean": float(np.mean(returns)) if returns else None,
    }


def run_sb3(env_id: str, seed: int, steps: int, threads: int, eval_episodes: int) -> dict:
    spec = {"env": env_id, "seed": seed, "steps": steps, "threads": threads}
    spec["eval_episodes"] = eval_episodes
    out = subprocess.run(
        [sys.executable, __file__, "--sb3-worker", json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------- our side
def run_ours(
    env_id: str, seed: int, steps: int, threads: int, objective: str, args: argparse.Namespace
) -> dict:
    target = GOALS[env_id][0]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [
            *(sys.executable, "-m", "cli.main", "--env", env_id, "--agent", "ppo"),
            *("--num-envs", str(ZOO[env_id]["n_envs"]), "--steps", str(steps)),
            *("--seed", str(seed), "--eval-every", str(args.eval_every)),
            *("--eval-episodes", str(args.eval_episodes), "--run-dir", str(run_dir), "--quiet"),
            *("--set", f"num_threads={threads}", "--set", f"objective={objective}"),
        ]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        summary = json.loads((run_dir / "summary.json").read_text())
        with open(run_dir / "evaluations.csv") as f:
            evals = [(int(r["step"]), float(r["mean_return"])) for r in csv.DictReader(f)]
    reached = next((step for step, mean in evals if mean >= target), None)
    return {
        "steps": summary["steps"],
        "seconds": summary["wall_seconds"],
        "steps_per_second": summary["steps_per_second"],
        "eval_mean": summary["eval_mean_return"],
        "first_reached": reached,
        "command": " ".join(cmd[2:]).replace(str(run_dir), "RUN_DIR"),
    }


# ------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", choices=sorted(ZOO), default="CartPole-v1")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="env steps per run [default: the goal budget]")
    parser.add_argument("--eval-every", type=int, help="[default: 5000 CartPole, 50000 Lunar]")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both sides")
    parser.add_argument("--objectives", nargs="+", choices=["clip", "kl"])
    parser.add_argument("--skip-sb3", action="store_true")
    parser.add_argument("--quick", action="store_true", help="one seed, a tiny budget")
    parser.add_argument("--sb3-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sb3_worker:
        print(json.dumps(sb3_worker(json.loads(args.sb3_worker))))
        return

    target, budget, eval_every, goal, objectives = GOALS[args.env]
    if args.quick:
        args.seeds, budget, eval_every, args.eval_episodes = args.seeds[:1], 4_096, 2_048, 2
    steps = args.steps or budget
    args.eval_every = args.eval_every or eval_every
    objectives = tuple(args.objectives or objectives)
    print(
        f"PPO on {args.env}: rlagents vs SB3, rl-zoo3 hyper-parameters, {ZOO[args.env]['n_envs']}"
        f" envs, {steps} steps, seeds {args.seeds}, torch threads {args.threads}; "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start"
    )
    ours: dict[str, list[dict]] = {o: [] for o in objectives}
    sb3: list[dict] = []
    for seed in args.seeds:  # interleaved, so that load drift hits both sides alike
        for objective in objectives:
            r = run_ours(args.env, seed, steps, args.threads, objective, args)
            ours[objective].append(r)
            print(
                f"  rlagents ppo ({objective}) seed {seed}: {r['steps_per_second']:,.0f} steps/s, "
                f"first eval >= {target:g} at {r['first_reached']}, final eval {r['eval_mean']}"
            )
        if not args.skip_sb3:
            s = run_sb3(args.env, seed, steps, args.threads, args.eval_episodes)
            sb3.append(s)
            print(
                f"  SB3 ppo seed {seed}: {s['steps_per_second']:,.0f} steps/s over {s['steps']} "
                f"steps, final eval {s['eval_mean']}"
            )
    print(f"rlagents command: {ours[objectives[0]][0]['command']}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    sb3_speed = statistics.median(s["steps_per_second"] for s in sb3) if sb3 else None
    print(
        "| agent | env | seeds | steps | first eval ≥ target at (per seed) | final eval "
        "(per seed) | steps/s (median) | SB3 steps/s (median) | ratio (goal) |"
    )
    for objective, runs in ours.items():
        speed = statistics.median(r["steps_per_second"] for r in runs)
        ratio = f"{speed / sb3_speed:.2f}× ({goal:g}×)" if sb3_speed else "–"
        reached = ", ".join(str(r["first_reached"]) for r in runs)
        finals = ", ".join(f"{r['eval_mean']:.1f}" for r in runs)
        sb3_text = f"{sb3_speed:,.0f}" if sb3_speed else "–"
        print(
            f"| ppo ({objective}) | {args.env} | {len(runs)} | {steps:,} | {reached} | {finals} "
            f"| {speed:,.0f} | {sb3_text} | {ratio} |"
        )
    if sb3:
        finals = ", ".join(f"{s['eval_mean']:.1f}" for s in sb3)
        print(
            f"| SB3 ppo | {args.env} | {len(sb3)} | {steps:,} | – | {finals} | {sb3_speed:,.0f} |"
        )


if __name__ == "__main__":
    main()
