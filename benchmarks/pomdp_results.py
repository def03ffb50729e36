"""Memory against no memory on partially observed control: ``lstm_td3`` against ``td3`` and
``td3`` on a 4-frame stack, each through ``rlrun`` with a POMDP preset, and the cost of one
update of ``lstm_td3`` against ``td3``'s.

Suites (each prints what it ran and markdown rows for benchmarks/RESULTS.md):

* ``pendulum_rv``   Pendulum-v1, ``--preset remove_velocity`` (cos θ, sin θ only): the first greedy
                    evaluation ≥ −200 within 50k steps.
* ``pendulum_flicker``  Pendulum-v1, ``--preset flicker`` (p = 0.2), at ``--steps``.
* ``lunar_rv``      LunarLanderContinuous-v3, ``--preset remove_velocity``, at ``--steps``.
* ``update_cost``   one gradient step of ``lstm_td3`` and of ``td3`` at the same batch size and
                    networks, in-process on a filled buffer, and steps/s of each while learning.

Agents: ``lstm_td3`` (its tuned set), ``td3`` (its tuned set), ``td3+stack4`` (``td3`` with
``--preset-kwargs stack_size=4``: the last 4 observations side by side, a memory without
learning). Evaluation: explore=False, ``--eval-episodes`` (10) full episodes on a separate env
with the same preset.

    python benchmarks/pomdp_results.py pendulum_rv
    python benchmarks/pomdp_results.py pendulum_flicker lunar_rv --seeds 0 --steps 30000
    python benchmarks/pomdp_results.py update_cost
    python benchmarks/pomdp_results.py pendulum_rv --quick
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from policy_gradient_results import curve_text, first_reaching, rlrun

AGENTS = {
    "lstm_td3": ("lstm_td3", ()),
    "td3": ("td3", ()),
    "td3+stack4": ("td3", ("--preset-kwargs", "stack_size=4")),
}
# suite: (env, preset, preset kwargs, target, default budget, eval every)
SUITES = {
    "pendulum_rv": ("Pendulum-v1", "remove_velocity", (), -200.0, 50_000, 5_000),
    "pendulum_flicker": ("Pendulum-v1", "flicker", ("p=0.2",), -200.0, 50_000, 5_000),
    "lunar_rv": ("LunarLanderContinuous-v3", "remove_velocity", (), 200.0, 100_000, 10_000),
}


def result_suite(name: str, args: argparse.Namespace) -> None:
    env, preset, preset_kwargs, target, budget, every = SUITES[name]
    budget = args.steps or budget
    if args.quick:
        budget, every = 2_000, 1_000
    extra_preset = [x for kv in preset_kwargs for x in ("--preset-kwargs", kv)]
    rows = {}
    for label, (agent, extra) in AGENTS.items():
        reached, finals, bests, speeds, command = [], [], [], [], ""
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                r = rlrun(
                    [
                        *("--env", env, "--agent", agent, "--preset", preset, *extra_preset),
                        *extra,
                        *("--seed", str(seed), "--steps", str(budget)),
                        *("--eval-every", str(every), "--eval-episodes", str(args.episodes)),
                    ],
                    Path(tmp) / "run",
                )
            command = r["command"]
            returns = [mean for _, mean in r["evals"]]
            reached.append(first_reaching(r["evals"], target))
            finals.append(returns[-1])
            bests.append(max(returns))
            speeds.append(r["summary"]["steps_per_second"])
            print(
                f"  {label} seed {seed}: first eval >= {target:g} at {reached[-1]}, final "
                f"{finals[-1]:.1f}, best {bests[-1]:.1f}, {speeds[-1]:,.0f} steps/s; curve "
                + curve_text(r["evals"]),
                flush=True,
            )
        print(f"  command: {command}")
        rows[label] = (reached, finals, bests, speeds)
    print(
        f"| {env}, {preset} {' '.join(preset_kwargs)} | agent | first eval ≥ {target:g} within "
        f"{budget:,} (seeds {', '.join(map(str, args.seeds))}) | final eval | best eval | steps/s |"
    )
    for label, (reached, finals, bests, speeds) in rows.items():
        print(
            f"| | {label} | {', '.join(str(s) for s in reached)} | "
            f"{', '.join(f'{f:.0f}' for f in finals)} | {', '.join(f'{b:.0f}' for b in bests)} "
            f"| {statistics.median(speeds):,.0f} |"
        )


def update_cost(args: argparse.Namespace) -> None:
    """One gradient step of each agent on a filled buffer, Pendulum's spaces with velocity
    removed, the same batch size and MLP widths."""
    import numpy as np
    import torch
    from gymnasium import spaces

    from rlagents.agent import Transition
    from rlagents.agents.lstm_td3 import LSTMTD3
    from rlagents.agents.td3 import TD3

    torch.set_num_threads(1)
    obs_space = spaces.Box(-1, 1, (2,), np.float32)
    act_space = spaces.Box(-2, 2, (1,), np.float32)
    common = {"batch_size": 100, "net_arch": (128, 128), "num_threads": 1, "learning_starts": 0}
    rng = np.random.default_rng(0)
    print("| agent | batch | one update (median), ms | relative to td3 |")
    results = {}
    for label, cls, cfg in (
        ("td3", TD3, common),
        ("lstm_td3 (history 5, 128 units)", LSTMTD3, common),
        ("lstm_td3 (history 5, 64 units)", LSTMTD3, {**common, "memory_units": 64}),
    ):
        agent = cls(obs_space, act_space, cfg, seed=0)
        for _ in range(2_000):
            obs = rng.uniform(-1, 1, (1, 2)).astype(np.float32)
            t = Transition(obs, rng.uniform(-2, 2, (1, 1)).astype(np.float32),
                           rng.normal(size=1).astype(np.float32), obs, rng.random(1) < 0.005,
                           np.zeros(1, bool))  # fmt: skip
            agent.observe(t)
        times = []
        for _ in range(args.update_repeats):
            start = time.perf_counter()
            agent.train_step(agent.sample())
            times.append(time.perf_counter() - start)
        results[label] = 1e3 * statistics.median(times)
        print(f"| {label} | 100 | {results[label]:.2f} | {results[label] / results['td3']:.1f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="+", choices=[*SUITES, "update_cost"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="budget [default: the suite's]")
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    parser.add_argument("--update-repeats", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="one seed, tiny budgets")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.episodes, args.update_repeats = args.seeds[:1], 2, 10
    print(
        f"pomdp results: {', '.join(args.suites)}; seeds {args.seeds}; {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    start = time.perf_counter()
    for suite in args.suites:
        print(f"[{suite}]", flush=True)
        if suite == "update_cost":
            update_cost(args)
        else:
            result_suite(suite, args)
    print(f"done in {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
