"""rlagents' TD3 and DDPG against Stable-Baselines3's on Pendulum-v1, side by side in one run.

Three measurements, every run single-threaded (torch threads 1, OMP/MKL threads 1) on both
sides, each run in a fresh subprocess, the two sides interleaved seed by seed so that drift in
the machine's load hits both alike:

* ``update`` — at rl-zoo3's Pendulum hyper-parameters (400-300 networks, batch 256), in one
  process holding both agents (their buffers filled with the same 2,000 random transitions),
  alternating blocks of 25: (a) the cost of one gradient step (``agent.update()`` with
  ``train_freq=1`` against ``model.train(gradient_steps=25)``) and (b) the cost of one env step
  while learning (the runner's act, env step, store, update, against ``model.learn(25)``
  continued); medians. Alternating blocks make these robust to a machine whose load drifts.
* ``speed`` — steps/s at identical hyper-parameters (rl-zoo3's Pendulum-v1 set for both, 20k
  steps, 10k of them random warm-up as the zoo says): ``rlrun --hyperparams none --set …
  --eval-episodes 0`` (the runner's training steps/s) against ``model.learn(20_000)`` timed
  around ``learn``.
* ``time`` — wall-clock time to reach −200: both sides evaluate every 1,000 steps (10
  deterministic episodes on a separate env, counted in the wall time on both sides) and stop at
  the first mean ≥ −200; SB3 with rl-zoo3's hyper-parameters, rlagents with its own
  ``Pendulum-v1`` preset (``--hyperparams auto``: smaller networks, 1k warm-up steps). The time
  reported is the wall clock at the end of the first evaluation that reached the target.

    python benchmarks/td3_ddpg_vs_sb3.py                    # all three, both agents, 3 seeds
    python benchmarks/td3_ddpg_vs_sb3.py --measure speed --agents td3
    python benchmarks/td3_ddpg_vs_sb3.py --quick            # a smoke test (tiny budgets)

SB3 is a benchmark-only dependency; rlagents never imports it.
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

ENV, TARGET = "Pendulum-v1", -200.0
# rl-zoo3 hyperparams/{td3,ddpg}.yml, Pendulum-v1 (the same for both); batch_size and tau are
# SB3's defaults (256, 0.005), as are TD3's policy_delay 2 and target noise 0.2 clipped at 0.5.
ZOO = {
    "n_timesteps": 20_000,
    "gamma": 0.98,
    "buffer_size": 200_000,
    "learning_starts": 10_000,
    "noise_std": 0.1,
    "gradient_steps": 1,
    "train_freq": 1,
    "learning_rate": 1e-3,
    "net_arch": [400, 300],
    "batch_size": 256,
    "tau": 0.005,
}
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def zoo_as_rlrun_sets(learning_starts: int) -> list[str]:
    """rlrun's --set flags for the zoo's values (same names as SB3's)."""
    values = {k: v for k, v in ZOO.items() if k not in ("n_timesteps", "net_arch")}
    values |= {"learning_starts": learning_starts, "action_noise": "normal", "num_threads": 1}
    values["net_arch"] = "({},{})".format(*ZOO["net_arch"])
    return [arg for k, v in values.items() for arg in ("--set", f"{k}={v}")]


# ------------------------------------------------------------------------------- SB3 side
def sb3_model(algo: str, seed: int, learning_starts: int):
    import gymnasium as gym
    import numpy as np
    import torch
    from stable_baselines3 import DDPG, TD3
    from stable_baselines3.common.noise import NormalActionNoise

    torch.set_num_threads(1)
    cls = {"td3": TD3, "ddpg": DDPG}[algo]
    env = gym.make(ENV)
    noise = NormalActionNoise(np.zeros(1), ZOO["noise_std"] * np.ones(1))
    kwargs = {k: ZOO[k] for k in ("gamma", "buffer_size", "gradient_steps", "train_freq")}
    kwargs |= {k: ZOO[k] for k in ("learning_rate", "batch_size", "tau")}
    return cls(
        "MlpPolicy",
        env,
        learning_starts=learning_starts,
        action_noise=noise,
        policy_kwargs={"net_arch": ZOO["net_arch"]},
        seed=seed,
        device="cpu",
        verbose=0,
        **kwargs,
    )


def sb3_worker(spec: dict) -> dict:
    """One SB3 run in this (fresh) process; returns what it measured."""
    import gymnasium as gym
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy

    model = sb3_model(spec["algo"], spec["seed"], spec["learning_starts"])
    if spec["mode"] == "speed":
        start, cpu = time.perf_counter(), time.process_time()
        model.learn(total_timesteps=spec["steps"])
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        n = model.num_timesteps
        return {"steps": n, "steps_per_second": n / seconds, "cpu_steps_per_second": n / cpu}

    eval_env = gym.make(ENV)
    evals: list[tuple[int, float, float]] = []

    class EvaluateAndStop(BaseCallback):
        """Like rlrun --eval-every E --eval-episodes K --stop-at-return R (wall includes evals)."""

        def _on_step(self) -> bool:
            if self.num_timesteps % spec["eval_every"]:
                return True
            eval_env.reset(seed=spec["seed"] + 10_000)
            mean, _ = evaluate_policy(
                self.model, eval_env, n_eval_episodes=spec["eval_episodes"], deterministic=True
            )
            evals.append((self.num_timesteps, time.perf_counter() - start, float(mean)))
            return mean < TARGET

    start = time.perf_counter()
    model.learn(total_timesteps=spec["steps"], callback=EvaluateAndStop())
    reached = next(((s, t) for s, t, m in evals if m >= TARGET), None)
    return {
        "steps": model.num_timesteps,
        "seconds": time.perf_counter() - start,
        "reached_step": reached[0] if reached else None,
        "reached_seconds": reached[1] if reached else None,
        "last_eval": evals[-1][2] if evals else None,
    }


def run_sb3(spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--sb3-worker", json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **THREAD_ENV},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------- our side
def ours_worker(args: list[str]) -> dict:
    """One rlrun in this (fresh) process, timed in wall-clock and CPU time."""
    import torch  # noqa: F401 - imported before the clock starts, as on the SB3 side

    from cli.main import rlrun

    start, cpu = time.perf_counter(), time.process_time()
    try:
        rlrun.main(args)
    except SystemExit as done:
        if done.code:
            raise
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}


def run_ours(algo: str, seed: int, steps: int, extra: list[str]) -> tuple[dict, list, str]:
    """rlrun in a fresh process; its summary (plus the CPU time of the whole rlrun call, setup
    and final checkpoint included) and evaluations."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        args = [
            *("--env", ENV, "--agent", algo, "--steps", str(steps), "--seed", str(seed)),
            *("--run-dir", str(run_dir), "--quiet", *extra),
        ]
        out = subprocess.run(
            [sys.executable, __file__, "--ours-worker", json.dumps(args)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, **THREAD_ENV},
        )
        timing = json.loads(out.stdout.strip().splitlines()[-1])
        summary = json.loads((run_dir / "summary.json").read_text())
        summary["cpu_steps_per_second"] = summary["steps_this_run"] / timing["cpu_seconds"]
        with open(run_dir / "evaluations.csv") as f:
            evals = [
                (int(r["step"]), float(r["wall_seconds"]), float(r["mean_return"]))
                for r in csv.DictReader(f)
            ]
    command = "rlrun " + " ".join(args).replace(str(run_dir), "RUN_DIR")
    return summary, evals, command


# --------------------------------------------------------------------------- measurements
def update_worker(spec: dict) -> dict:
    """Median ms per gradient step, ours and SB3's, alternating blocks in this process."""
    import gymnasium as gym
    import numpy as np

    from rlagents import registry
    from rlagents.agent import Transition

    algo, blocks, block = spec["algo"], spec["blocks"], 25
    model = sb3_model(algo, 0, learning_starts=2_000)
    model.learn(total_timesteps=2_000)  # fills its buffer with random transitions
    env = gym.make(ENV)
    cfg = {k: v for k, v in ZOO.items() if k != "n_timesteps"}
    cfg |= {"net_arch": tuple(ZOO["net_arch"]), "learning_starts": 0, "num_threads": 1}
    agent = registry.make(algo, env.observation_space, env.action_space, seed=0, **cfg)
    replay = model.replay_buffer
    for i in range(2_000):  # the same transitions SB3 stored
        agent.observe(
            Transition(
                replay.observations[i],
                model.policy.unscale_action(replay.actions[i]),
                replay.rewards[i],
                replay.next_observations[i],
                replay.dones[i].astype(bool),
                np.zeros(1, bool),
            )
        )
    ours, sb3 = [], []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(block):
            agent.update()
        ours.append((time.perf_counter() - start) / block * 1e3)
        start = time.perf_counter()
        model.train(gradient_steps=block, batch_size=ZOO["batch_size"])
        sb3.append((time.perf_counter() - start) / block * 1e3)
    result = {"ours_ms": statistics.median(ours), "sb3_ms": statistics.median(sb3)}

    # Whole env steps while learning (act, env step, store, one update), alternating blocks:
    # the runner's loop against SB3's learn() continued for `block` steps.
    obs = env.reset(seed=0)[0][None]
    ours, sb3 = [], []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(block):
            action = agent.act(obs)
            next_obs, reward, terminated, truncated, _ = env.step(action[0])
            next_obs = next_obs[None]
            flags = np.array([terminated]), np.array([truncated])
            agent.observe(Transition(obs, action, np.array([reward], np.float32), next_obs, *flags))
            agent.update()
            obs = env.reset()[0][None] if terminated or truncated else next_obs
        ours.append((time.perf_counter() - start) / block * 1e3)
        start = time.perf_counter()
        model.learn(total_timesteps=block, reset_num_timesteps=False)
        sb3.append((time.perf_counter() - start) / block * 1e3)
    return result | {"ours_step_ms": statistics.median(ours), "sb3_step_ms": statistics.median(sb3)}


def measure_update(algo: str, args: argparse.Namespace) -> str:
    spec = {"algo": algo, "blocks": 4 if args.quick else 40}
    out = subprocess.run(
        [sys.executable, __file__, "--update-worker", json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **THREAD_ENV},
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  {algo} update: rlagents {r['ours_ms']:.2f} ms, SB3 {r['sb3_ms']:.2f} ms")
    print(
        f"  {algo} env step + update: rlagents {r['ours_step_ms']:.2f} ms, "
        f"SB3 {r['sb3_step_ms']:.2f} ms"
    )
    return (
        f"| {algo} one update, 400-300, batch 256, 1 thread | {ENV} | – | "
        f"{r['ours_ms']:.2f} ms | {r['sb3_ms']:.2f} ms | "
        f"{r['sb3_ms'] / r['ours_ms']:.2f}× faster |\n"
        f"| {algo} one env step while learning (act, step, store, update), zoo hyper-parameters, "
        f"alternating blocks in one process | {ENV} | – | {r['ours_step_ms']:.2f} ms | "
        f"{r['sb3_step_ms']:.2f} ms | {r['sb3_step_ms'] / r['ours_step_ms']:.2f}× steps/s |"
    )


def measure_speed(algo: str, args: argparse.Namespace) -> str:
    steps = 1_500 if args.quick else ZOO["n_timesteps"]
    warm_up = 500 if args.quick else ZOO["learning_starts"]
    ours: list[dict] = []
    sb3: list[dict] = []
    for k, seed in enumerate(args.seeds):
        extra = ["--hyperparams", "none", "--eval-episodes", "0", *zoo_as_rlrun_sets(warm_up)]
        spec = {"algo": algo, "mode": "speed", "seed": seed, "steps": steps}
        for side in ("ours", "sb3") if k % 2 == 0 else ("sb3", "ours"):  # ABBA: load drift
            if side == "ours":  # hits both sides alike
                ours.append(run_ours(algo, seed, steps, extra)[0])
            else:
                sb3.append(run_sb3({**spec, "learning_starts": warm_up}))
        print(
            f"  {algo} speed seed {seed}: rlagents {ours[-1]['steps_per_second']:.1f} steps/s "
            f"({ours[-1]['cpu_steps_per_second']:.1f} per CPU-second), SB3 "
            f"{sb3[-1]['steps_per_second']:.1f} ({sb3[-1]['cpu_steps_per_second']:.1f})"
        )
    print(f"  rlagents command: {run_ours_command(algo, steps, extra)}")
    o, s = (statistics.median(r["steps_per_second"] for r in runs) for runs in (ours, sb3))
    oc, sc = (statistics.median(r["cpu_steps_per_second"] for r in runs) for runs in (ours, sb3))
    return (
        f"| {algo} steps/s, identical (zoo) hyper-parameters, {steps:,} steps | {ENV} | "
        f"{len(ours)} | {o:.1f} ({oc:.1f} per CPU-s) | {s:.1f} ({sc:.1f} per CPU-s) | "
        f"{o / s:.2f}× wall, {oc / sc:.2f}× CPU (goal 1.2×) |"
    )


def run_ours_command(algo: str, steps: int, extra: list[str]) -> str:
    args = ["--env", ENV, "--agent", algo, "--steps", str(steps), "--seed", "S", *extra]
    return "rlrun " + " ".join(args)


def measure_time(algo: str, args: argparse.Namespace) -> str:
    max_steps = 2_000 if args.quick else args.max_steps
    eval_every, episodes = (1_000, 2) if args.quick else (1_000, 10)
    ours, sb3 = [], []
    for seed in args.seeds:
        extra = ["--eval-every", str(eval_every), "--eval-episodes", str(episodes)]
        extra += ["--stop-at-return", str(TARGET), "--set", "num_threads=1"]
        _, evals, command = run_ours(algo, seed, max_steps, extra)
        hit = next(((s, t) for s, t, m in evals if m >= TARGET), None)
        ours.append(hit)
        spec = {"algo": algo, "mode": "time", "seed": seed, "steps": max_steps}
        spec |= {"eval_every": eval_every, "eval_episodes": episodes}
        s = run_sb3({**spec, "learning_starts": ZOO["learning_starts"]})
        sb3.append((s["reached_step"], s["reached_seconds"]) if s["reached_step"] else None)
        print(
            f"  {algo} time to {TARGET:g}, seed {seed}: rlagents {describe(hit)}, "
            f"SB3 {describe(sb3[-1])} (SB3 ran {s['seconds']:.1f} s)"
        )
    print(f"  rlagents command: {command}")
    o, s = median_seconds(ours), median_seconds(sb3)
    ratio = f"{o / s:.2f}× SB3's time (goal ≤ 0.5×)" if o and s else "–"
    return (
        f"| {algo} wall-clock to {TARGET:g}: preset vs zoo | {ENV} | {len(ours)} | "
        f"{', '.join(describe(h) for h in ours)} | {', '.join(describe(h) for h in sb3)} "
        f"| {ratio} |"
    )


def describe(hit: tuple[int, float] | None) -> str:
    return f"{hit[1]:.1f} s ({hit[0]:,} steps)" if hit else "not reached"


def median_seconds(hits: list) -> float | None:
    return statistics.median(h[1] for h in hits) if hits and all(hits) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", nargs="+", choices=["td3", "ddpg"], default=["td3", "ddpg"])
    parser.add_argument(
        "--measure",
        nargs="+",
        choices=["update", "speed", "time"],
        default=["update", "speed", "time"],
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-steps", type=int, default=30_000, help="time: step budget of a run")
    parser.add_argument("--quick", action="store_true", help="one seed, tiny budgets")
    parser.add_argument("--sb3-worker", help=argparse.SUPPRESS)
    parser.add_argument("--update-worker", help=argparse.SUPPRESS)
    parser.add_argument("--ours-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sb3_worker:
        print(json.dumps(sb3_worker(json.loads(args.sb3_worker))))
        return
    if args.ours_worker:
        print(json.dumps(ours_worker(json.loads(args.ours_worker))))
        return
    if args.update_worker:
        print(json.dumps(update_worker(json.loads(args.update_worker))))
        return
    if args.quick:
        args.seeds = args.seeds[:1]
    print(
        f"TD3/DDPG on {ENV}: rlagents vs SB3, one thread each, seeds {args.seeds}; "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start"
    )
    rows = []
    measures = {"update": measure_update, "speed": measure_speed, "time": measure_time}
    for what in args.measure:
        for algo in args.agents:
            rows.append(measures[what](algo, args))
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    print("| measure | env | seeds | rlagents | SB3 | ratio |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
