"""Result runs of TRPO through ``rlrun`` (its tuned set for each env, 2 envs), and the NPG
against TRPO comparison on CartPole.

Suites (each prints what it ran and markdown rows for benchmarks/RESULTS.md):

* ``CartPole-v1``               first greedy evaluation ≥ 475 within 50k steps.
* ``Pendulum-v1``               ≥ −200 within 100k steps.
* ``LunarLander-v3``            ≥ 200 within 300k steps.
* ``LunarLanderContinuous-v3``  ≥ 200 within 200k steps.
* ``npg``                       CartPole-v1 with ``line_search=false`` (the natural policy gradient,
                                unchecked) against TRPO at the same settings: how often the
                                applied step's KL exceeded δ, its largest KL, the fraction of
                                updates after which the greedy return fell, steps to 475.

Evaluation everywhere: explore=False, ``--eval-episodes`` (10) full episodes on a separate env.

    python benchmarks/trpo_results.py CartPole-v1 Pendulum-v1 LunarLanderContinuous-v3
    python benchmarks/trpo_results.py LunarLander-v3 npg
    python benchmarks/trpo_results.py CartPole-v1 npg --quick
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from policy_gradient_results import curve_text, first_reaching, rlrun

# env: (target, budget, eval every)
GOALS = {
    "CartPole-v1": (475.0, 50_000, 5_000),
    "Pendulum-v1": (-200.0, 100_000, 10_000),
    "LunarLander-v3": (200.0, 300_000, 20_000),
    "LunarLanderContinuous-v3": (200.0, 200_000, 20_000),
}


def trpo_run(env: str, seed: int, budget: int, every: int, args, *extra: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return rlrun(
            [
                *("--env", env, "--agent", "trpo", "--num-envs", "2", "--seed", str(seed)),
                *("--steps", str(budget), "--eval-every", str(every)),
                *("--eval-episodes", str(args.episodes), *extra),
            ],
            Path(tmp) / "run",
        )


def env_suite(env: str, args: argparse.Namespace) -> None:
    target, budget, every = GOALS[env]
    if args.quick:
        budget, every = 4_096, 2_048
    reached, finals, bests, speeds, command = [], [], [], [], ""
    for seed in args.seeds:
        r = trpo_run(env, seed, budget, every, args)
        command = r["command"]
        returns = [mean for _, mean in r["evals"]]
        reached.append(first_reaching(r["evals"], target))
        finals.append(returns[-1])
        bests.append(max(returns))
        speeds.append(r["summary"]["steps_per_second"])
        print(
            f"  seed {seed}: first eval >= {target:g} at {reached[-1]}, final {finals[-1]:.1f}, "
            f"best {bests[-1]:.1f}, {speeds[-1]:,.0f} steps/s; curve " + curve_text(r["evals"])
        )
    print(f"  command: {command}")
    ok = all(step is not None for step in reached)
    print(
        f"| {env} | ≥ {target:g} within {budget:,} | {', '.join(str(s) for s in reached)} | "
        f"{', '.join(f'{f:.1f}' for f in finals)} | {statistics.median(speeds):,.0f} | "
        f"{'yes' if ok else 'no'} |"
    )


def npg_suite(args: argparse.Namespace) -> None:
    target, budget, every = GOALS["CartPole-v1"]
    if args.quick:
        budget, every = 4_096, 2_048
    rows = {}
    for name, line_search in (("TRPO", "true"), ("NPG", "false")):
        exceeded, max_kl, drops, reached, finals = [], [], [], [], []
        for seed in args.seeds:
            r = trpo_run(
                "CartPole-v1", seed, budget, every, args, "--set", f"line_search={line_search}"
            )
            kls = [m["kl"] for m in r["metrics"] if "kl" in m]  # per 1000-step interval
            exceeded.append(statistics.mean(m["kl_exceeded"] for m in r["metrics"] if "kl" in m))
            max_kl.append(max(kls))
            returns = [mean for _, mean in r["evals"]]
            falls = sum(b < a - 50 for a, b in itertools.pairwise(returns))
            drops.append(falls / max(1, len(returns) - 1))
            reached.append(first_reaching(r["evals"], target))
            finals.append(returns[-1])
            print(
                f"  {name} seed {seed}: KL > δ in {exceeded[-1]:.0%} of updates, max KL "
                f"{max_kl[-1]:.4f}, eval drops > 50 in {drops[-1]:.0%} of intervals, first "
                f">= 475 at {reached[-1]}, final {finals[-1]:.1f}; curve " + curve_text(r["evals"])
            )
        rows[name] = (exceeded, max_kl, drops, reached, finals)
    print(
        "| CartPole-v1, 2 envs, δ = 0.01 | updates with KL > δ | largest KL | "
        "evaluations that fell by > 50 | first eval ≥ 475 at | final eval |"
    )
    for name, (exceeded, max_kl, drops, reached, finals) in rows.items():
        print(
            f"| {name} | {statistics.mean(exceeded):.0%} | {max(max_kl):.3f} | "
            f"{statistics.mean(drops):.0%} | {', '.join(str(s) for s in reached)} | "
            f"{', '.join(f'{f:.0f}' for f in finals)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="+", choices=[*GOALS, "npg"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    parser.add_argument("--quick", action="store_true", help="one seed, tiny budgets")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.episodes = args.seeds[:1], 2
    print(
        f"trpo results: {', '.join(args.suites)}; seeds {args.seeds}; "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    start = time.perf_counter()
    for suite in args.suites:
        print(f"[{suite}]")
        if suite == "npg":
            npg_suite(args)
        else:
            env_suite(suite, args)
    print(f"done in {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
