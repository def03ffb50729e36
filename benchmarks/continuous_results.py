"""Learning results of rlagents' ``td3`` and ``ddpg`` on Pendulum-v1, LunarLanderContinuous-v3
and CarRacing-v3, with the agents' own presets (``--hyperparams auto``).

Every run is ``rlrun --env ENV --agent AGENT --seed S --steps N --eval-every E --eval-episodes 10
--stop-at-return R --set num_threads=T`` in a fresh subprocess: evaluations play 10 full episodes
with ``explore=False`` on a separate env; the run stops at the first evaluation whose mean reaches
the target (CarRacing has none: it runs its whole budget). Per (agent, env) it prints, for each
seed, the step and the wall-clock time (evaluations included) of that first evaluation, the last
evaluation's mean, and the training steps/s (evaluations excluded), then a markdown row for
benchmarks/RESULTS.md.

    python benchmarks/continuous_results.py                          # Pendulum, LunarLander
    python benchmarks/continuous_results.py --envs CarRacing-v3 --steps 200000 --seeds 0
    python benchmarks/continuous_results.py --jobs 3                 # 3 runs at a time
    python benchmarks/continuous_results.py --quick                  # a smoke test
    python benchmarks/continuous_results.py --keep-runs runs/        # keep the run directories

Budgets and targets are the issue's: Pendulum-v1 ≥ −200 within 20k steps, LunarLanderContinuous-v3
≥ 200 within 300k steps (rl-zoo3 reports 230 for DDPG and 207 for TD3 at 300k).
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
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

# env: (target or None, step budget, eval every, quick-mode --set overrides)
TASKS: dict[str, tuple[float | None, int, int, list[str]]] = {
    "Pendulum-v1": (-200.0, 20_000, 1_000, []),
    "LunarLanderContinuous-v3": (200.0, 300_000, 10_000, ["learning_starts=500"]),
    "CarRacing-v3": (None, 100_000, 25_000, ["learning_starts=100", "buffer_size=2000"]),
}
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def run_one(agent: str, env_id: str, seed: int, args: argparse.Namespace) -> dict:
    target, budget, eval_every, quick_sets = TASKS[env_id]
    steps = args.steps or budget
    episodes = args.eval_episodes
    if args.quick:
        steps, eval_every, episodes = (300 if "CarRacing" in env_id else 1_500), 0, 1
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = (
            args.keep_runs / f"{agent}_{env_id}_s{seed}" if args.keep_runs else Path(tmp) / "run"
        )
        cmd = [
            *(sys.executable, "-m", "cli.main", "--env", env_id, "--agent", agent),
            *("--seed", str(seed), "--steps", str(steps), "--eval-every", str(eval_every)),
            *("--eval-episodes", str(episodes), "--run-dir", str(run_dir), "--quiet"),
            *("--set", f"num_threads={args.threads}"),
        ]
        if target is not None and eval_every:
            cmd += ["--stop-at-return", str(target)]
        for pair in (quick_sets if args.quick else []) + args.set:
            cmd += ["--set", pair]
        env = {**os.environ, **(THREAD_ENV if args.threads == 1 else {})}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
        summary = json.loads((run_dir / "summary.json").read_text())
        with open(run_dir / "evaluations.csv") as f:
            evals = [
                (int(r["step"]), float(r["wall_seconds"]), float(r["mean_return"]))
                for r in csv.DictReader(f)
            ]
    reached = None
    if target is not None:
        reached = next(((s, t) for s, t, m in evals if m >= target), None)
    return {
        "agent": agent,
        "env": env_id,
        "seed": seed,
        "reached": reached,
        "last_eval": evals[-1][2] if evals else None,
        "steps": summary["steps"],
        "wall": summary["wall_seconds"],
        "steps_per_second": summary["steps_per_second"],
        "command": "rlrun " + " ".join(cmd[3:]).replace(str(run_dir), "RUN_DIR"),
    }


def describe(r: dict) -> str:
    if r["reached"]:
        step, seconds = r["reached"]
        return f"{step:,} steps / {seconds:.0f} s"
    return f"not reached ({r['steps']:,} steps)"


def row(runs: list[dict]) -> str:
    agent, env_id = runs[0]["agent"], runs[0]["env"]
    target, budget, _, _ = TASKS[env_id]
    lasts = ", ".join(f"{r['last_eval']:.1f}" for r in runs if r["last_eval"] is not None)
    speed = statistics.median(r["steps_per_second"] for r in runs)
    goal = f"≥ {target:g} within {budget:,}" if target is not None else "runs; return at budget"
    reached = "; ".join(describe(r) for r in runs) if target is not None else "–"
    return f"| {agent} | {env_id} | {goal} | {len(runs)} | {reached} | {lasts} | {speed:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", nargs="+", choices=["td3", "ddpg"], default=["td3", "ddpg"])
    parser.add_argument(
        "--envs",
        nargs="+",
        choices=sorted(TASKS),
        default=["Pendulum-v1", "LunarLanderContinuous-v3"],
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="step budget per run [default: the env's]")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (one core each)")
    parser.add_argument("--set", action="append", default=[], help="extra --set KEY=VALUE")
    parser.add_argument("--quick", action="store_true", help="one seed, tiny budgets")
    parser.add_argument(
        "--keep-runs", type=Path, metavar="DIR", help="keep each run's directory under DIR"
    )
    args = parser.parse_args()
    if args.quick:
        args.seeds = args.seeds[:1]
    print(
        f"td3/ddpg presets on {', '.join(args.envs)}; seeds {args.seeds}, {args.threads} torch "
        f"thread(s) per run, {args.jobs} run(s) at a time; {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    jobs = [(a, e, s) for e in args.envs for a in args.agents for s in args.seeds]
    results = []
    with ThreadPoolExecutor(args.jobs) as pool:
        # Each run's lines as soon as it ends: a session cut short keeps what it measured.
        for future in as_completed([pool.submit(run_one, *job, args) for job in jobs]):
            r = future.result()
            results.append(r)
            print(
                f"  {r['agent']} {r['env']} seed {r['seed']}: {describe(r)}, last eval "
                f"{r['last_eval']}, {r['steps_per_second']:.1f} steps/s, {r['wall']:.0f} s\n"
                f"    {r['command']}",
                flush=True,
            )
    results.sort(key=lambda r: jobs.index((r["agent"], r["env"], r["seed"])))
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    print(
        "| agent | env | goal | seeds | first eval ≥ target (per seed) | last eval (per seed) "
        "| train steps/s (median) |"
    )
    print("|---|---|---|---|---|---|---|")
    for e in args.envs:
        for a in args.agents:
            print(row([r for r in results if (r["agent"], r["env"]) == (a, e)]))


if __name__ == "__main__":
    main()
