"""What an agent's updates did between evaluations, and whether it differs where the greedy
return fell: the evidence for "why does this recipe fall back?" (issue 39).

Reads a ``rlrun --seeds`` group (each seed's ``metrics.jsonl`` and ``evaluations.csv``) and
prints, for each interval between two evaluations, the mean of the named update metrics, pooled
over seeds by what the greedy return did over that interval: fell by at least ``--drop``, rose
by at least ``--drop``, or neither. Then one row per seed over the run's second half.

    python benchmarks/update_diagnostics.py bench-groups/LunarLander-v3_trpo_seeds0-9 \\
        --metrics kl step_rejected line_search_steps explained_variance entropy --drop 100
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import statistics
from pathlib import Path


def read_seed(run: Path) -> tuple[list[tuple[int, float]], list[dict]]:
    with (run / "evaluations.csv").open() as f:
        evaluations = [(int(r["step"]), float(r["mean_return"])) for r in csv.DictReader(f)]
    with (run / "metrics.jsonl").open() as f:
        metrics = [json.loads(line) for line in f if line.strip()]
    return evaluations, metrics


def interval_means(metrics: list[dict], start: int, end: int, names: list[str]) -> list[float]:
    rows = [m for m in metrics if start < m["step"] <= end]
    return [statistics.fmean(m[n] for m in rows if n in m) if rows else float("nan") for n in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("group", type=Path)
    parser.add_argument("--metrics", nargs="+", required=True)
    parser.add_argument("--drop", type=float, default=100.0, help="a fall or rise this large")
    args = parser.parse_args()
    names = args.metrics
    pooled: dict[str, list[list[float]]] = {"fell": [], "rose": [], "neither": []}
    per_seed = []
    for run in sorted(p for p in args.group.iterdir() if (p / "metrics.jsonl").exists()):
        evaluations, metrics = read_seed(run)
        for (start, before), (end, after) in itertools.pairwise(evaluations):
            kind = "fell" if after <= before - args.drop else "neither"
            kind = "rose" if after >= before + args.drop else kind
            pooled[kind].append(interval_means(metrics, start, end, names))
        last = evaluations[-1][0]
        second_half = interval_means(metrics, last // 2, last, names)
        best = max(r for _, r in evaluations)
        per_seed.append((run.name, best, evaluations[-1][1], second_half))

    print(f"Intervals between evaluations, by what the greedy return did (±{args.drop:g}):\n")
    print("| interval | n | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for kind, rows in pooled.items():
        means = [statistics.fmean(r[i] for r in rows) for i in range(len(names))] if rows else []
        print(f"| {kind} | {len(rows)} | " + " | ".join(f"{m:.4g}" for m in means) + " |")
    print("\nPer seed, the means over the second half of the run:\n")
    print("| seed | best | final | " + " | ".join(names) + " |")
    print("|---|---:|---:|" + "---:|" * len(names))
    for name, best, final, means in per_seed:
        values = " | ".join(f"{m:.4g}" for m in means)
        print(f"| {name} | {best:.0f} | {final:.0f} | {values} |")


if __name__ == "__main__":
    main()
