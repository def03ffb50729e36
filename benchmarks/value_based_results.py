"""The result figures of the value-based agents (qlearning, sarsa, cem, dqn), through `rlrun`.

Each task runs `rlrun --env ENV --agent AGENT --steps BUDGET --seed S --eval-every N
--eval-episodes 10 --stop-at-return TARGET` in a subprocess for each seed, with the agent's tuned
preset for the env (nothing else set), and reports whether and when the target was reached.
Evaluation is the runner's: explore=False, 10 full episodes on a separate env. The `tabular_speed`
task compares the runner with `qlearning` on CartPole-v1 (discretized) against a bare CartPole
loop, in the same run. The `atari100k` task trains `dqn --hyperparams atari100k` on
ALE/BattleZone-v5 for 100k agent steps (400k frames, sticky actions on) and evaluates 10 episodes.

    python benchmarks/value_based_results.py                    # every task but atari100k
    python benchmarks/value_based_results.py --tasks dqn_mountaincar dqn_lunarlander
    python benchmarks/value_based_results.py --tasks atari100k --seeds 0
    python benchmarks/value_based_results.py --quick            # smoke test: tiny budgets
    python benchmarks/value_based_results.py --keep-runs runs/  # keep the run directories
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RLRUN = [sys.executable, "-c", "from cli.main import main; main()"]


@dataclass(frozen=True)
class Task:
    agent: str
    env: str
    steps: int
    eval_every: int
    target: float | None  # None: no stopping, report the evaluations
    extra: tuple[str, ...] = ()


TASKS = {
    "dqn_cartpole": Task("dqn", "CartPole-v1", 50_000, 1_000, 475.0),
    "dqn_mountaincar": Task("dqn", "MountainCar-v0", 150_000, 5_000, -110.0),
    "dqn_lunarlander": Task("dqn", "LunarLander-v3", 500_000, 10_000, 200.0),
    "cem_cartpole": Task("cem", "CartPole-v1", 100_000, 5_000, 475.0),
    "cem_lunarlander": Task("cem", "LunarLander-v3", 500_000, 50_000, None),
    "cem_mountaincar_continuous": Task("cem", "MountainCarContinuous-v0", 300_000, 20_000, 90.0),
    "qlearning_taxi": Task("qlearning", "Taxi-v4", 200_000, 10_000, 7.5),
    "sarsa_taxi": Task("sarsa", "Taxi-v4", 200_000, 10_000, 7.5),
    "qlearning_cartpole": Task("qlearning", "CartPole-v1", 2_000_000, 50_000, 195.0),
    "sarsa_cartpole": Task("sarsa", "CartPole-v1", 2_000_000, 50_000, 195.0),
    "atari100k": Task("dqn", "ALE/BattleZone-v5", 100_000, 0, None, ("--hyperparams", "atari100k")),
}
DEFAULT = [name for name in TASKS if name != "atari100k"] + ["tabular_speed"]


def run_task(name: str, task: Task, seed: int, quick: bool, keep: Path | None) -> dict:
    steps = min(task.steps, 2_000) if quick else task.steps
    eval_every = min(task.eval_every, 1_000) if quick and task.eval_every else task.eval_every
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = keep / f"{name}_s{seed}" if keep else Path(tmp) / "run"
        cmd = [*RLRUN, "--env", task.env, "--agent", task.agent, "--seed", str(seed)]
        cmd += ["--steps", str(steps), "--eval-episodes", "2" if quick else "10"]
        cmd += ["--run-dir", str(run_dir), "-q", *task.extra]
        if eval_every:
            cmd += ["--eval-every", str(eval_every)]
            if task.target is not None:
                cmd += ["--stop-at-return", str(task.target)]
        if quick and task.env.startswith("ALE/"):
            cmd += ["--set", "buffer_size=5000", "--set", "learning_starts=500"]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        summary = json.loads((run_dir / "summary.json").read_text())
        with open(run_dir / "evaluations.csv") as f:
            evals = [(int(r["step"]), float(r["mean_return"])) for r in csv.DictReader(f)]
    reached = next((s for s, m in evals if task.target is not None and m >= task.target), None)
    return {
        "seed": seed,
        "reached_at": reached,
        "best": max(m for _, m in evals),
        "final": evals[-1][1],
        "steps": summary["steps"],
        "steps_per_second": summary["steps_per_second"],
        "seconds": seconds,
        "preset": summary["preset"],
    }


def report(name: str, task: Task, results: list[dict], quick: bool) -> None:
    for r in results:
        what = (
            f"reached {task.target:g} at {r['reached_at']} steps"
            if r["reached_at"] is not None
            else (f"NOT reached {task.target:g}" if task.target is not None else "no target")
        )
        print(
            f"  seed {r['seed']}: {what}; best eval {r['best']:.1f}, last {r['final']:.1f}; "
            f"{r['steps']} steps, {r['steps_per_second']:.0f} steps/s, {r['seconds']:.0f} s",
            flush=True,
        )
    budget = min(task.steps, 2_000) if quick else task.steps
    if task.target is not None:
        ok = all(r["reached_at"] is not None for r in results)
        cell = ", ".join(str(r["reached_at"] or "-") for r in results)
        verdict = f"{'yes' if ok else 'NO'} ({cell} steps)"
    else:
        verdict = "last " + ", ".join(f"{r['final']:.1f}" for r in results)
    extra = "".join(f" {x}" for x in task.extra)
    bests = ", ".join(f"{r['best']:.1f}" for r in results)
    target = "-" if task.target is None else f"{task.target:g}"
    print(
        f"| {task.agent} {task.env} | {target} within {budget:,} steps | {verdict} | "
        f"best eval {bests} | `rlrun --env {task.env} --agent {task.agent}{extra} "
        f"--steps {budget} --seed S` |"
    )


# ------------------------------------------------------------------------------ tabular speed
def tabular_speed(quick: bool) -> None:
    """Bare CartPole-v1 steps/s against rlrun with qlearning (discretized), same run."""
    import gymnasium as gym

    steps = 20_000 if quick else 300_000

    def bare() -> float:
        env = gym.make("CartPole-v1")
        env.reset(seed=0)
        env.action_space.seed(0)
        start = time.perf_counter()
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        return steps / (time.perf_counter() - start)

    def runner(agent: str) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [*RLRUN, "--env", "CartPole-v1", "--agent", agent, "--steps", str(steps)]
            cmd += ["--seed", "0", "--eval-episodes", "0", "--preset", "discretized"]
            cmd += ["--run-dir", f"{tmp}/run", "-q"]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            return json.loads(Path(f"{tmp}/run/summary.json").read_text())["steps_per_second"]

    rates: dict[str, list[float]] = {"bare": [], "qlearning": [], "random": []}
    for _ in range(1 if quick else 3):  # interleaved against load drift
        rates["bare"].append(bare())
        rates["qlearning"].append(runner("qlearning"))
        rates["random"].append(runner("random"))
    med = {k: sorted(v)[len(v) // 2] for k, v in rates.items()}
    print(
        f"  bare CartPole-v1 {med['bare']:,.0f} steps/s; rlrun qlearning (discretized) "
        f"{med['qlearning']:,.0f}; rlrun random (discretized) {med['random']:,.0f}; "
        f"qlearning / bare = {med['qlearning'] / med['bare']:.2f} (goal >= 0.5)"
    )
    print(
        f"| rlrun qlearning CartPole-v1 (discretized) speed | {med['qlearning']:,.0f} steps/s | "
        f"bare env {med['bare']:,.0f} | {med['qlearning'] / med['bare']:.2f} | "
        f"random agent on the same preset {med['random']:,.0f} |"
    )


def main() -> None:
    # Each seed's line as soon as it is known: a long run cut short keeps what it measured.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=DEFAULT, choices=[*TASKS, "tabular_speed"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="tiny budgets, one seed")
    parser.add_argument(
        "--keep-runs", type=Path, metavar="DIR", help="keep each run's directory under DIR"
    )
    args = parser.parse_args()
    if args.quick:
        args.seeds = args.seeds[:1]
    print(
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}"
        + (" — QUICK smoke test, budgets cut: not results" if args.quick else "")
    )
    for name in args.tasks:
        print(f"\n{name}", flush=True)
        if name == "tabular_speed":
            tabular_speed(args.quick)
            continue
        task = TASKS[name]
        results = [run_task(name, task, seed, args.quick, args.keep_runs) for seed in args.seeds]
        report(name, task, results, args.quick)
    print(f"\nload avg at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
