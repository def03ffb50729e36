"""rlagents' TRPO against sb3-contrib's TRPO, side by side in one run, at identical
hyper-parameters (rl-zoo3's CartPole-v1 set: 2 envs, n_steps 512, batch_size 512, cg_damping
1e-3, gae_lambda 0.98, n_critic_updates 20, learning_rate 1e-3; both sides' other defaults are
the same numbers: cg_max_steps 15, target_kl 0.01, line search 0.8 × 10, MLP 64-64 tanh for the
policy and for the value function, orthogonal init), one torch thread each.

Two measurements, each side in a fresh subprocess, the sides alternated repeat by repeat so that
drift in the machine's load hits both alike:

* **steps/s** of training: rlagents ``rlrun --env CartPole-v1 --agent trpo --num-envs 2 --steps N
  --eval-episodes 0 --set num_threads=1`` (the runner's training time); sb3-contrib
  ``TRPO("MlpPolicy", make_vec_env(env, 2), **zoo).learn(N)`` timed around ``learn``.
* **the cost of one update** on the same full rollout, the policy's parameters restored before
  each repeat so that every repeat does the same work: the policy step alone (gradient, conjugate
  gradient on Fisher-vector products, step size, line search; sb3-contrib's ``train()`` with
  ``n_critic_updates = 0``), and the whole update (with the 20 epochs of value regression).

    python benchmarks/trpo_vs_sb3_contrib.py                  # 3 repeats, 50k steps
    python benchmarks/trpo_vs_sb3_contrib.py --quick          # a smoke test

sb3-contrib is a benchmark-only dependency (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = "CartPole-v1"
N_ENVS = 2
ZOO = {
    "n_steps": 512,
    "batch_size": 512,
    "cg_damping": 1e-3,
    "gae_lambda": 0.98,
    "gamma": 0.99,
    "learning_rate": 1e-3,
    "n_critic_updates": 20,
}


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


# ------------------------------------------------------------------------------- workers
def sb3_worker(spec: dict) -> dict:
    import torch
    from sb3_contrib import TRPO
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    env = make_vec_env(ENV, n_envs=N_ENVS, seed=spec["seed"])
    model = TRPO("MlpPolicy", env, seed=spec["seed"], device="cpu", verbose=0, **ZOO)
    if spec["what"] == "speed":
        start = time.perf_counter()
        model.learn(total_timesteps=spec["steps"])
        seconds = time.perf_counter() - start
        return {"steps_per_second": model.num_timesteps / seconds}
    model.learn(total_timesteps=ZOO["n_steps"] * N_ENVS)  # one rollout, still in the buffer
    saved = copy.deepcopy(model.policy.state_dict())

    def update(n_critic_updates: int) -> None:
        model.policy.load_state_dict(saved)
        model.n_critic_updates = n_critic_updates
        model.train()

    return {
        "policy_step_ms": _median_ms(lambda: update(0), spec["repeats"]),
        "update_ms": _median_ms(lambda: update(ZOO["n_critic_updates"]), spec["repeats"]),
    }


def ours_worker(spec: dict) -> dict:
    import gymnasium as gym
    import numpy as np

    from rlagents.agent import Transition
    from rlagents.agents.trpo import TRPO

    env = gym.make_vec(ENV, num_envs=N_ENVS, vectorization_mode="sync")
    agent = TRPO(
        env.single_observation_space,
        env.single_action_space,
        {**ZOO, "num_threads": 1},
        num_envs=N_ENVS,
        seed=spec["seed"],
    )
    obs, _ = env.reset(seed=spec["seed"])
    while not agent.buffer.full:  # one rollout (autoreset's extra step is harmless here)
        action = agent.act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.observe(
            Transition(obs, action, reward.astype(np.float32), next_obs, terminated, truncated)
        )
        obs = next_obs
    saved = copy.deepcopy(agent.policy.state_dict())
    saved_optimizer = copy.deepcopy(agent.optimizer.state_dict())

    def restore() -> None:
        agent.policy.load_state_dict(saved)
        agent.optimizer.load_state_dict(saved_optimizer)

    def policy_step() -> None:
        restore()
        agent.policy_step(agent.rollout_batch()[0])

    def update() -> None:
        restore()
        agent.learn()

    return {
        "policy_step_ms": _median_ms(policy_step, spec["repeats"]),
        "update_ms": _median_ms(update, spec["repeats"]),
    }


def ours_speed(seed: int, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [
            *(sys.executable, "-m", "cli.main", "--env", ENV, "--agent", "trpo"),
            *("--num-envs", str(N_ENVS), "--steps", str(steps), "--seed", str(seed)),
            *("--eval-episodes", "0", "--set", "num_threads=1"),
            *("--run-dir", str(run_dir), "--quiet"),
        ]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        summary = json.loads((run_dir / "summary.json").read_text())
    return {"steps_per_second": summary["steps_per_second"], "command": " ".join(cmd[2:-3])}


def in_subprocess(side: str, spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", side, json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="alternated runs per side")
    parser.add_argument("--steps", type=int, default=50_000, help="env steps per speed run")
    parser.add_argument("--update-repeats", type=int, default=20, help="timed updates per run")
    parser.add_argument("--quick", action="store_true", help="one repeat, small budgets")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        side, spec = args.worker[0], json.loads(args.worker[1])
        print(json.dumps((sb3_worker if side == "sb3" else ours_worker)(spec)))
        return
    if args.quick:
        args.repeats, args.steps, args.update_repeats = 1, 4_096, 3
    print(
        f"TRPO on {ENV}: rlagents vs sb3-contrib, rl-zoo3's set, {N_ENVS} envs, {args.steps} "
        f"steps, {args.repeats} repeats, 1 torch thread; {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    rows: dict[str, dict[str, list[float]]] = {"rlagents": {}, "sb3-contrib": {}}
    command = ""
    for seed in range(args.repeats):
        for side in ("rlagents", "sb3-contrib"):
            if side == "rlagents":
                speed = ours_speed(seed, args.steps)
                command = speed.pop("command")
                cost = in_subprocess("ours", {"seed": seed, "repeats": args.update_repeats})
            else:
                spec = {"seed": seed, "steps": args.steps, "what": "speed"}
                speed = in_subprocess("sb3", spec)
                spec = {"seed": seed, "what": "cost", "repeats": args.update_repeats}
                cost = in_subprocess("sb3", spec)
            for key, value in {**speed, **cost}.items():
                rows[side].setdefault(key, []).append(value)
            print(
                f"  {side} repeat {seed}: {speed['steps_per_second']:,.0f} steps/s, policy step "
                f"{cost['policy_step_ms']:.1f} ms, whole update {cost['update_ms']:.1f} ms"
            )
    print(f"rlagents command: {command}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    ours, theirs = rows["rlagents"], rows["sb3-contrib"]
    print("| measure | rlagents (median) | sb3-contrib (median) | ratio (per repeat, median) |")
    for key, label, higher in (
        ("steps_per_second", "training steps/s", True),
        ("policy_step_ms", "one policy step (CG + line search), ms", False),
        ("update_ms", "one whole update (policy step + 20 value epochs), ms", False),
    ):
        pairs = zip(ours[key], theirs[key], strict=True)
        ratio = statistics.median((a / b) if higher else (b / a) for a, b in pairs)
        print(
            f"| {label} | {statistics.median(ours[key]):,.1f} | "
            f"{statistics.median(theirs[key]):,.1f} | {ratio:.2f}× |"
        )


if __name__ == "__main__":
    main()
