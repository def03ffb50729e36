"""Seeded runs of every built-in agent, reduced to digests: does a change keep every run the same?

Each agent trains on a small env for a few thousand steps with a fixed seed (its tuned set, as a
user gets it), evaluates twice and saves. What it leaves is digested: ``progress.csv`` and
``evaluations.csv`` without their wall-clock columns, ``metrics.jsonl`` without its times, and
the checkpoint's arrays and state tree. Run it on two commits and compare the two files:

    python benchmarks/identical_runs.py --out before.json           # on the old commit
    python benchmarks/identical_runs.py --out after.json --compare before.json

The digests hold on one machine and torch build (float results depend on both). A resumed run
is checked too: half the steps, then ``load`` and the other half, against the whole run.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

import rlagents

# agent -> (env id, steps, extra train() arguments)
RUNS: dict[str, tuple[str, int, dict]] = {
    "random": ("CartPole-v1", 2_000, {}),
    "qlearning": ("FrozenLake-v1", 4_000, {}),
    "sarsa": ("Taxi-v4", 4_000, {}),
    "cem": ("CartPole-v1", 4_000, {}),
    "dqn": ("CartPole-v1", 4_000, {}),
    "reinforce": ("CartPole-v1", 4_000, {}),
    "a2c": ("CartPole-v1", 4_000, {}),
    "ppo": ("CartPole-v1", 4_096, {}),
    "trpo": ("CartPole-v1", 4_096, {}),
    "ddpg": ("Pendulum-v1", 1_500, {}),
    "td3": ("Pendulum-v1", 1_500, {}),
    "lstm_td3": ("Pendulum-v1", 1_200, {"config": {"learning_starts": 400}}),
}
TIME_COLUMNS = {"wall", "wall_seconds", "time", "seconds"}


def table_digest(path: Path) -> str:
    """The rows of a CSV file without its wall-clock columns."""
    if not path.exists():
        return "absent"
    with path.open() as f:
        rows = [{k: v for k, v in r.items() if k not in TIME_COLUMNS} for r in csv.DictReader(f)]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def jsonl_digest(path: Path) -> str:
    if not path.exists():
        return "absent"
    rows = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        rows.append({k: v for k, v in row.items() if k not in TIME_COLUMNS and "per_s" not in k})
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def checkpoint_digest(folder: Path) -> str:
    """The checkpoint's arrays (by name, dtype, shape and bytes) and its state tree."""
    h = hashlib.sha256()
    with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
        for name in sorted(arrays.files):
            a = arrays[name]
            h.update(f"{name}{a.dtype}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
    h.update((folder / "state.json").read_bytes())
    return h.hexdigest()[:16]


def one_run(agent: str, env: str, steps: int, extra: dict, root: Path) -> dict[str, str]:
    run_dir = root / agent
    common = dict(seed=0, eval_every=steps // 2, eval_episodes=2, tensorboard=False, **extra)
    rlagents.train(env, agent, steps=steps, run_dir=run_dir, **common)
    digest = {
        "progress": table_digest(run_dir / "progress.csv"),
        "evaluations": table_digest(run_dir / "evaluations.csv"),
        "metrics": jsonl_digest(run_dir / "metrics.jsonl"),
        "checkpoint": checkpoint_digest(run_dir / "checkpoint"),
    }
    half = root / f"{agent}-half"
    rlagents.train(env, agent, steps=steps // 2, run_dir=half, **common)
    rest = root / f"{agent}-rest"
    rlagents.train(env, agent, steps=steps, run_dir=rest, load=half / "checkpoint", **common)
    digest["resumed_checkpoint"] = checkpoint_digest(rest / "checkpoint")
    return digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--compare", help="a file this script wrote before")
    parser.add_argument("--agents", nargs="*", default=list(RUNS))
    args = parser.parse_args()
    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for agent in args.agents:
            env, steps, extra = RUNS[agent]
            results[agent] = one_run(agent, env, steps, extra, Path(tmp))
            print(agent, env, steps, results[agent], flush=True)
    record = {"machine": platform.processor() or platform.machine(), "runs": results}
    Path(args.out).write_text(json.dumps(record, indent=1))
    if args.compare:
        before = json.loads(Path(args.compare).read_text())["runs"]
        differ = {
            agent: [k for k, v in digest.items() if before.get(agent, {}).get(k) != v]
            for agent, digest in results.items()
        }
        differ = {agent: keys for agent, keys in differ.items() if keys}
        print("identical" if not differ else f"differ: {differ}")
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
