"""Result runs of the policy-gradient agents (REINFORCE, A2C, PPO on CarRacing) and the
REINFORCE baseline comparison, each through ``rlrun`` in a subprocess.

Suites (each prints what it ran and a markdown row for benchmarks/RESULTS.md):

* ``a2c``        a2c on CartPole-v1, 8 envs, its preset: first greedy evaluation ≥ 475 within
                 200k steps, seeds 0 1 2.
* ``reinforce``  reinforce on CartPole-v1, 8 envs, its preset: the same within 300k steps.
* ``baselines``  reinforce on CartPole-v1 with ``baseline=none``, ``mean`` and ``value``: steps to
                 475, and the variance of the per-episode gradient estimates with the baseline
                 over that without it, on the same episodes, averaged over the run — the
                 course's variance-reduction argument, measured.
* ``car_racing`` ppo on CarRacing-v3 with the car_racing preset (84×84 grey, 4 frames) and
                 8 envs: the final greedy return and the steps/s after ``--steps``.

Evaluation everywhere: explore=False, ``--eval-episodes`` (10) full episodes on a separate env.

    python benchmarks/policy_gradient_results.py a2c reinforce baselines
    python benchmarks/policy_gradient_results.py car_racing --steps 200000
    python benchmarks/policy_gradient_results.py a2c reinforce baselines car_racing --quick
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

CARTPOLE_TARGET = 475.0


def rlrun(args: list[str], run_dir: Path) -> dict:
    """Run ``rlrun`` with ``args``; return its summary, evaluations and metrics rows."""
    cmd = [sys.executable, "-m", "cli.main", *args, "--run-dir", str(run_dir), "--quiet"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    with open(run_dir / "evaluations.csv") as f:
        evals = [(int(r["step"]), float(r["mean_return"])) for r in csv.DictReader(f)]
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {
        "summary": json.loads((run_dir / "summary.json").read_text()),
        "evals": evals,
        "metrics": metrics,
        "command": "rlrun " + " ".join(args),
    }


def first_reaching(evals: list[tuple[int, float]], target: float) -> int | None:
    return next((step for step, mean in evals if mean >= target), None)


def curve_text(evals: list[tuple[int, float]]) -> str:
    """A learning curve in one line: ``10k:-165 20k:-130 …``."""
    return " ".join(f"{step // 1000}k:{mean:.0f}" for step, mean in evals)


def cartpole_suite(agent: str, budget: int, args: argparse.Namespace) -> None:
    reached, speeds, command = [], [], ""
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            r = rlrun(
                [
                    *("--env", "CartPole-v1", "--agent", agent, "--num-envs", "8"),
                    *("--seed", str(seed), "--steps", str(budget)),
                    *("--eval-every", str(args.eval_every), "--eval-episodes", str(args.episodes)),
                    *("--stop-at-return", str(CARTPOLE_TARGET)),
                ],
                Path(tmp) / "run",
            )
        command = r["command"]
        reached.append(first_reaching(r["evals"], CARTPOLE_TARGET))
        speeds.append(r["summary"]["steps_per_second"])
        print(
            f"  {agent} seed {seed}: first eval ≥ 475 at {reached[-1]}, {speeds[-1]:,.0f} steps/s"
        )
    print(f"  command: {command}")
    ok = all(step is not None and step <= budget for step in reached)
    print(
        f"| {agent} | CartPole-v1 (8 envs) | ≥ 475 within {budget:,} | "
        f"{', '.join(str(s) for s in reached)} | {statistics.median(speeds):,.0f} | "
        f"{'yes' if ok else 'no'} |"
    )


def baselines_suite(args: argparse.Namespace) -> None:
    """Each update logs the variance of the per-episode gradient estimates with the run's
    baseline and without any, on the same episodes: their ratio is the variance reduction."""
    print("  baseline | seed | steps to 475 | Var[g] with / without baseline | rms(G−b) / rms(G)")
    rows = {}
    for baseline in ("none", "mean", "value"):
        reached, var_ratio, rms_ratio = [], [], []
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                r = rlrun(
                    [
                        *("--env", "CartPole-v1", "--agent", "reinforce", "--num-envs", "8"),
                        *("--seed", str(seed), "--steps", str(args.baseline_steps)),
                        *("--eval-every", str(args.eval_every)),
                        *("--eval-episodes", str(args.episodes)),
                        *("--set", f"baseline={baseline}", "--set", "log_grad_variance=true"),
                    ],
                    Path(tmp) / "run",
                )
            rows_ = [m for m in r["metrics"] if "grad_variance" in m]  # means over 1000 steps
            reached.append(first_reaching(r["evals"], CARTPOLE_TARGET))
            var_ratio.append(
                statistics.mean(m["grad_variance"] / m["grad_variance_no_baseline"] for m in rows_)
            )
            rms_ratio.append(statistics.mean(m["advantage_rms"] / m["return_rms"] for m in rows_))
            print(
                f"  {baseline:8s} | {seed} | {reached[-1]} | {var_ratio[-1]:.3f} | "
                f"{rms_ratio[-1]:.3f}"
            )
        rows[baseline] = (reached, statistics.mean(var_ratio), statistics.mean(rms_ratio))
    print(
        "| reinforce, CartPole-v1, 8 envs | first eval ≥ 475 at | Var[g] with / without "
        "baseline (mean over updates) | rms(G−b) / rms(G) |"
    )
    for baseline, (reached, var, rms) in rows.items():
        print(
            f"| baseline={baseline} | {', '.join(str(s) for s in reached)} | {var:.3f} | "
            f"{rms:.3f} |"
        )


def car_racing_suite(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        r = rlrun(
            [
                *("--env", "CarRacing-v3", "--agent", "ppo", "--num-envs", "8"),
                *("--seed", "0", "--steps", str(args.steps), "--eval-episodes", str(args.episodes)),
            ],
            Path(tmp) / "run",
        )
    s = r["summary"]
    print(f"  command: {r['command']}")
    print(
        f"| ppo | CarRacing-v3 (car_racing preset, 8 envs) | {s['steps']:,} steps | "
        f"{s['eval_mean_return']:.1f} ± {s['eval_std_return']:.1f} ({s['eval_episodes']} ep.) | "
        f"{s['steps_per_second']:,.1f} steps/s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "suites", nargs="+", choices=["a2c", "reinforce", "baselines", "car_racing"]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=200_000, help="CarRacing budget")
    parser.add_argument("--baseline-steps", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="one seed, tiny budgets")
    args = parser.parse_args()
    budgets = {"a2c": 200_000, "reinforce": 300_000}
    if args.quick:
        args.seeds, args.episodes, args.eval_every = args.seeds[:1], 2, 2_000
        args.steps, args.baseline_steps = 1_024, 4_000
        budgets = {"a2c": 4_000, "reinforce": 4_000}
    print(
        f"policy-gradient results: {', '.join(args.suites)}; seeds {args.seeds}; "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    start = time.perf_counter()
    for suite in args.suites:
        print(f"[{suite}]")
        if suite in budgets:
            cartpole_suite(suite, budgets[suite], args)
        elif suite == "baselines":
            baselines_suite(args)
        else:
            car_racing_suite(args)
    print(f"done in {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
