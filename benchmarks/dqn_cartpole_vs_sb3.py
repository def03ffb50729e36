"""Time to solve CartPole-v1 with `rlrun --agent dqn` against Stable-Baselines3's DQN (rl-zoo3).

Both sides, per seed, in one run of this script (interleaved, so load drift hits both alike):

* ours: ``rlrun --env CartPole-v1 --agent dqn --seed S --steps 50000 --eval-every N
  --stop-at-return 475`` in a subprocess, with the agent's own tuned CartPole preset;
* SB3: ``DQN("MlpPolicy", ...)`` with rl-zoo3's CartPole-v1 hyper-parameters (net_arch [256, 256],
  learning_rate 2.3e-3, batch_size 64, buffer_size 100000, learning_starts 1000, gamma 0.99,
  target_update_interval 10, train_freq 256, gradient_steps 128, exploration_fraction 0.16,
  exploration_final_eps 0.04, n_timesteps 5e4), in a subprocess.

Evaluation is the same on both sides: every N env steps, 10 greedy episodes (explore=False /
deterministic=True) on a separate env seeded seed+10000+k; training stops at the first
evaluation whose mean is >= 475. Time to threshold is reported twice: training time only
(evaluation excluded, on both sides) and wall time including evaluations. Both sides run with
one torch thread (`--threads`), our MLP agent's default.

    python benchmarks/dqn_cartpole_vs_sb3.py                 # full: 3 seeds, ~5-10 minutes
    python benchmarks/dqn_cartpole_vs_sb3.py --quick         # 1 seed, 3000 steps: a smoke test
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

TARGET = 475.0
ZOO = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
}


def run_ours(seed: int, steps: int, eval_every: int, threads: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [sys.executable, "-c", "from cli.main import main; main()"]  # rlrun, same Python
        cmd += ["--env", "CartPole-v1", "--agent", "dqn", "--seed", str(seed)]
        cmd += ["--steps", str(steps), "--eval-every", str(eval_every), "--eval-episodes", "10"]
        cmd += ["--stop-at-return", str(TARGET), "--run-dir", str(run_dir), "-q"]
        cmd += ["--set", f"num_threads={threads}", *extra]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        summary = json.loads((run_dir / "summary.json").read_text())
        with open(run_dir / "evaluations.csv") as f:
            evals = list(csv.DictReader(f))
    reached = next((e for e in evals if float(e["mean_return"]) >= TARGET), None)
    train_seconds = summary["steps_this_run"] / max(summary["steps_per_second"], 1e-9)
    return {
        "reached": reached is not None,
        "steps": int(reached["step"]) if reached else summary["steps"],
        "train_seconds": train_seconds,
        "wall_seconds": float(reached["wall_seconds"]) if reached else summary["wall_seconds"],
        "steps_per_second": summary["steps_per_second"],
        "best": max(float(e["mean_return"]) for e in evals),
    }


SB3_CHILD = r"""
import json, sys, time
import gymnasium as gym, numpy as np, torch
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback

seed, steps, eval_every, threads, target = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                            int(sys.argv[4]), float(sys.argv[5]))
zoo = json.loads(sys.argv[6])
torch.set_num_threads(threads)
eval_env = gym.make("CartPole-v1")

class Evaluate(BaseCallback):
    def __init__(self):
        super().__init__()
        self.eval_seconds, self.result, self.best = 0.0, None, -np.inf
    def _on_step(self):
        if self.num_timesteps % eval_every:
            return True
        start = time.perf_counter()
        returns = []
        for k in range(10):
            obs, _ = eval_env.reset(seed=seed + 10_000 + k)
            done, total = False, 0.0
            while not done:
                action, _ = self.model.predict(obs, deterministic=True)
                obs, r, term, trunc, _ = eval_env.step(action)
                total += r
                done = term or trunc
            returns.append(total)
        now = time.perf_counter()
        self.eval_seconds += now - start
        mean = float(np.mean(returns))
        self.best = max(self.best, mean)
        if mean >= target:
            wall = now - t0
            self.result = (self.num_timesteps, wall - self.eval_seconds, wall)
            return False
        return True

model = DQN("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [256, 256]}, seed=seed,
            device="cpu", verbose=0, **zoo)
callback = Evaluate()
t0 = time.perf_counter()
model.learn(total_timesteps=steps, callback=callback)
wall = time.perf_counter() - t0
n = model.num_timesteps
reached = callback.result is not None
step, train_s, wall_s = callback.result or (n, wall - callback.eval_seconds, wall)
print(json.dumps({"reached": reached, "steps": step, "train_seconds": train_s,
                  "wall_seconds": wall_s, "steps_per_second": n / (wall - callback.eval_seconds),
                  "best": callback.best}))
"""


def run_sb3(seed: int, steps: int, eval_every: int, threads: int) -> dict:
    args = [str(x) for x in (seed, steps, eval_every, threads, TARGET)]
    out = subprocess.run(
        [sys.executable, "-c", SB3_CHILD, *args, json.dumps(ZOO)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--eval-every", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both sides")
    parser.add_argument(
        "--set",
        dest="extra",
        action="append",
        default=[],
        metavar="K=V",
        help="extra --set for our agent (default: its CartPole preset)",
    )
    parser.add_argument("--quick", action="store_true", help="1 seed, 3000 steps (smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps = args.seeds[:1], 3_000
    extra = [x for pair in args.extra for x in ("--set", pair)]

    rows = []
    for seed in args.seeds:
        sb3 = run_sb3(seed, args.steps, args.eval_every, args.threads)
        ours = run_ours(seed, args.steps, args.eval_every, args.threads, extra)
        rows.append((seed, ours, sb3))
        for name, r in (("rlagents dqn", ours), ("SB3 DQN (zoo)", sb3)):
            print(
                f"seed {seed} {name:14s}: {'reached' if r['reached'] else 'NOT reached'} "
                f"{TARGET:.0f} at {r['steps']} steps, train {r['train_seconds']:.1f} s, "
                f"wall incl. eval {r['wall_seconds']:.1f} s, {r['steps_per_second']:.0f} steps/s "
                f"(best eval {r['best']:.1f})",
                flush=True,
            )

    def mean(side: int, key: str) -> float:
        return statistics.mean(r[side][key] for r in rows)

    all_ours = all(r[1]["reached"] for r in rows)
    all_sb3 = all(r[2]["reached"] for r in rows)
    ratio_train = mean(1, "train_seconds") / mean(2, "train_seconds")
    ratio_wall = mean(1, "wall_seconds") / mean(2, "wall_seconds")
    print(
        f"\nCartPole-v1, eval every {args.eval_every} steps (10 greedy episodes), target "
        f"{TARGET:.0f}, budget {args.steps} steps, seeds {args.seeds}, torch threads "
        f"{args.threads}; {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"load avg {os.getloadavg()[0]:.2f} at the end, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(f"ours reached on all seeds: {all_ours}; SB3 on all seeds: {all_sb3}")
    print(
        f"mean time to {TARGET:.0f}, training only: ours {mean(1, 'train_seconds'):.1f} s, "
        f"SB3 {mean(2, 'train_seconds'):.1f} s, ratio {ratio_train:.2f} (goal <= 0.33); "
        f"including evaluation: ratio {ratio_wall:.2f}"
    )
    print(
        "| dqn CartPole-v1 vs SB3 (zoo) | "
        + ", ".join(f"{r[1]['steps']}" for r in rows)
        + " steps | "
        + f"{mean(1, 'train_seconds'):.1f} s vs {mean(2, 'train_seconds'):.1f} s | "
        + f"{ratio_train:.2f} (train only), {ratio_wall:.2f} (incl. eval) | "
        + f"`python benchmarks/dqn_cartpole_vs_sb3.py --seeds {' '.join(map(str, args.seeds))}` |"
    )


if __name__ == "__main__":
    main()
