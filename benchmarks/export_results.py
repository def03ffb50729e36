"""Exported agents against the agents themselves: the two kept agents in benchmarks/agents/
(BattleZone DQN, CarRacing PPO) exported, played through onnxruntime (``rlrun play``) and
evaluated with ``rlrun --eval-only`` on the same seed and episodes; then the latency of acting on
one observation, onnxruntime against the agent's own ``act`` (torch, or its numpy path), medians
over 1,000 calls after 100 warm-up calls, one thread each.

    python benchmarks/export_results.py --episodes 3 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
KEPT = ["ALE_BattleZone-v5_dqn", "CarRacing-v3_ppo"]


def rlrun(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, check=True,
        cwd=ROOT.parent,
    )  # fmt: skip
    return out.stdout


def parity(name: str, episodes: int, seed: int, tmp: Path) -> str:
    checkpoint = ROOT / "agents" / name
    policy = tmp / f"{name}.onnx"
    rlrun("export", str(checkpoint), "--out", str(policy))
    start = time.perf_counter()
    played = rlrun("play", str(policy), "--episodes", str(episodes), "--seed", str(seed))
    play_s = time.perf_counter() - start
    run_dir = tmp / f"{name}_eval"
    start = time.perf_counter()
    rlrun("--load", str(checkpoint), "--eval-only", "--eval-episodes", str(episodes),
          "--seed", str(seed), "--run-dir", str(run_dir), "--quiet")  # fmt: skip
    eval_s = time.perf_counter() - start
    summary = json.loads((run_dir / "summary.json").read_text())
    mean = played.split("eval ")[1].split(" over")[0]
    return (
        f"| {name} | {mean} ({play_s:.0f} s) | {summary['eval_mean_return']:.2f} ± "
        f"{summary['eval_std_return']:.2f} ({eval_s:.0f} s) |"
    )


def latency(name: str, checkpoint: Path, tmp: Path) -> str:
    import onnxruntime
    import torch

    import rlagents
    from rlagents.export import export

    torch.set_num_threads(1)
    agent, _ = rlagents.load_checkpoint(checkpoint)
    policy = export(checkpoint, tmp / f"lat_{name}.onnx")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(policy), options, providers=["CPUExecutionProvider"])
    space = agent.observation_space
    space.seed(0)
    obs = np.asarray(space.sample())[None]

    def timed(call) -> float:
        for _ in range(100):
            call()
        times = []
        for _ in range(1_000):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e6

    ours = timed(lambda: agent.act(obs, explore=False))
    onnx = timed(lambda: session.run(None, {"obs": obs}))
    return f"| {name} | {ours:,.0f} µs | {onnx:,.0f} µs | {onnx / ours:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mlp", help="a checkpoint of an MLP agent to time as well")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at the start", flush=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print("| kept agent | rlrun play (onnxruntime) | rlrun --eval-only (torch) |")
        print("|---|---|---|")
        for name in KEPT:
            print(parity(name, args.episodes, args.seed, tmp), flush=True)
        print("\n| agent | act(explore=False) | onnxruntime | ratio |\n|---|---|---|---|")
        checkpoints = {name: ROOT / "agents" / name for name in KEPT}
        if args.mlp:
            checkpoints["mlp: " + Path(args.mlp).parent.name] = Path(args.mlp)
        for name, checkpoint in checkpoints.items():
            print(latency(name.replace("/", "_").replace(": ", "_"), checkpoint, tmp), flush=True)
    print(f"load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
