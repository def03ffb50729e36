"""A3C's learning results, and what remote workers on Ray cost and scale to.

Suites (each prints what it ran and the rows for benchmarks/RESULTS.md):

* ``a3c_cartpole``  a3c on CartPole-v1 (its tuned set: 2 workers × 4 envs): first greedy
                    evaluation ≥ 475 within 200k steps, and the final one; seeds 0 1 2.
* ``a3c_lunar``     a3c on LunarLander-v3: ≥ 200 within 1M steps; seeds 0 1 2.
* ``scaling``       env steps/s of a3c and of ``ppo --workers`` with 1 and 2 workers, and of
                    plain ppo with the same envs (Ray's overhead); rates are measured between
                    the first and the last logged episode, so Ray's start is left out (it is
                    printed apart).
* ``costs``         in one process, no Ray: the time a worker takes to produce its part, the
                    learner's time to learn from it, the bytes of the weights and of a part —
                    from which the number of workers one learner can feed follows.

    python benchmarks/distributed_results.py a3c_cartpole a3c_lunar
    python benchmarks/distributed_results.py scaling costs --env CartPole-v1
"""

from __future__ import annotations

import argparse
import csv
import os
import pickle
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from policy_gradient_results import curve_text, first_reaching, rlrun


def learning_suite(env: str, budget: int, target: float, every: int, args) -> None:
    reached, finals, command = [], [], ""
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            r = rlrun(
                [
                    *("--env", env, "--agent", "a3c", "--seed", str(seed)),
                    *("--steps", str(budget), "--eval-every", str(every)),
                    *("--eval-episodes", str(args.episodes), "--no-tensorboard"),
                ],
                Path(tmp) / "run",
            )
        command = r["command"]
        reached.append(first_reaching(r["evals"], target))
        finals.append(r["evals"][-1][1])
        stale = [m["staleness"] for m in r["metrics"] if m.get("staleness") is not None]
        print(
            f"{env} seed {seed}: first ≥ {target:g} at {reached[-1]}, final {finals[-1]:.1f}, "
            f"{r['summary']['steps_per_second']:.0f} steps/s (Ray's start included), "
            f"mean staleness {statistics.mean(stale):.2f} updates; curve {curve_text(r['evals'])}",
            flush=True,
        )
    met = all(x is not None and x <= budget for x in reached)
    print(f"command: {command}")
    print(
        f"| a3c | {env} | ≥ {target:g} within {budget // 1000}k | "
        f"{', '.join(str(x) if x else 'never' for x in reached)} | "
        f"{' / '.join(f'{x:.0f}' for x in finals)} | {'yes' if met else 'no'} |"
    )


def steady_rate(run_dir: Path) -> tuple[float, float]:
    """Steps/s between the first and the last logged episode, and the wall second of the first
    (how long the run took to start playing: Ray's start and the workers' construction)."""
    with open(run_dir / "progress.csv") as f:
        rows = [(int(r["step"]), float(r["wall_seconds"])) for r in csv.DictReader(f)]
    (s0, w0), (s1, w1) = rows[0], rows[-1]
    return (s1 - s0) / (w1 - w0), w0


def scaling_suite(args) -> None:
    env, steps, envs = args.env, args.steps, args.num_envs
    cases = [
        ("a3c, 1 worker", ["--agent", "a3c", "--set", "num_workers=1", "--num-envs", str(envs)]),
        ("a3c, 2 workers", ["--agent", "a3c", "--set", "num_workers=2", "--num-envs", str(envs)]),
        ("ppo, one process", ["--agent", "ppo", "--num-envs", str(envs)]),
        ("ppo --workers 1", ["--agent", "ppo", "--workers", "1", "--num-envs", str(envs)]),
        ("ppo --workers 2", ["--agent", "ppo", "--workers", "2", "--num-envs", str(envs)]),
        ("ppo, one process, 2× envs", ["--agent", "ppo", "--num-envs", str(2 * envs)]),
    ]
    rates: dict[str, list[float]] = {name: [] for name, _ in cases}
    for repeat in range(args.repeats):
        for name, extra in cases:
            with tempfile.TemporaryDirectory() as tmp:
                run_dir = Path(tmp) / "run"
                rlrun(
                    [
                        *("--env", env, *extra, "--steps", str(steps), "--seed", "0"),
                        *("--eval-episodes", "0", "--no-tensorboard"),
                    ],
                    run_dir,
                )
                rate, start = steady_rate(run_dir)
            rates[name].append(rate)
            print(f"repeat {repeat}: {name}: {rate:.0f} steps/s (started in {start:.1f} s)")
    best = {name: statistics.median(r) for name, r in rates.items()}
    print(f"\n{env}, {envs} envs per worker, {steps} steps, median of {args.repeats}:")
    for name, rate in best.items():
        print(f"| {name} | {rate:,.0f} |")
    for agent, one, two in (
        ("a3c", "a3c, 1 worker", "a3c, 2 workers"),
        ("ppo", "ppo --workers 1", "ppo --workers 2"),
    ):
        print(f"{agent}: parallel efficiency {best[two] / (2 * best[one]):.2f}")
    overhead = best["ppo --workers 1"] / best["ppo, one process"]
    print(f"ppo --workers 1 / plain ppo (same envs): {overhead:.2f}")


def costs_suite(args) -> None:
    """Per-part times and sizes, in this process (the Worker class without Ray)."""
    import rlagents.run.envs as envlib
    from rlagents import registry
    from rlagents.config import build_config
    from rlagents.run.distributed.worker import Worker, WorkerSpec

    for agent_name in ("a3c", "ppo"):
        cls = registry.load(agent_name)
        config = build_config(cls.Config, dict(cls.hyperparams.get(args.env, {})))
        factory = envlib.EnvFactory(args.env)
        spec = WorkerSpec(agent_name, config, factory, args.num_envs)
        worker = Worker(spec, 0, seed=0)
        learner = cls(
            worker.stepper.observation_space,
            worker.stepper.action_space,
            config,
            num_envs=args.num_envs,
            seed=1,
        )
        weights = learner.get_weights()
        worker.collect(weights, 0)  # warm up
        collect_times, learn_times, put_times, part_bytes = [], [], [], []
        steps = 0
        for _ in range(args.parts):
            start = time.perf_counter()
            weights = learner.get_weights()
            blob = pickle.dumps(weights, protocol=5)
            put_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = worker.collect(weights, 0)
            collect_times.append(time.perf_counter() - start)
            part_bytes.append(len(pickle.dumps(result, protocol=5)))
            steps = result["steps"]
            start = time.perf_counter()
            learner.learn_from([result["part"]])
            learn_times.append(time.perf_counter() - start)
        collect, learn = statistics.median(collect_times), statistics.median(learn_times)
        put = statistics.median(put_times)
        print(
            f"{agent_name} on {args.env}, {args.num_envs} envs, {steps} steps per part: "
            f"worker {collect * 1e3:.2f} ms per part ({steps / collect:,.0f} steps/s), "
            f"learner {learn * 1e3:.2f} ms per part, weights {len(blob):,} B "
            f"(serialised in {put * 1e3:.2f} ms), part {statistics.median(part_bytes):,.0f} B"
        )
        if agent_name == "a3c":
            feeds = collect / (learn + put)
            print(
                f"  one learner applies a part every {(learn + put) * 1e3:.2f} ms: it feeds "
                f"about {feeds:.0f} workers before they wait for it"
            )
        else:
            print(
                f"  per round, every worker collects in parallel ({collect * 1e3:.1f} ms) then "
                f"the learner learns from N parts (≈ N × {learn * 1e3:.1f} ms / N-part batch)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "suites", nargs="+", choices=["a3c_cartpole", "a3c_lunar", "scaling", "costs"]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", type=int, default=200)
    args = parser.parse_args()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )
    for suite in args.suites:
        if suite == "a3c_cartpole":
            learning_suite("CartPole-v1", 200_000, 475, 10_000, args)
        elif suite == "a3c_lunar":
            learning_suite("LunarLander-v3", 1_000_000, 200, 50_000, args)
        elif suite == "scaling":
            scaling_suite(args)
        else:
            costs_suite(args)


if __name__ == "__main__":
    main()
