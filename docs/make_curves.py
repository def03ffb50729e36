"""The learning curves on the algorithm pages: seeds 0-2 of each agent's tuned set on its
reference env, run with ``rlrun`` and drawn with ``rlrun plot --eval`` into ``docs/img/``.

    python docs/make_curves.py [NAME...] [--runs runs/docs]

Runs that finished already are kept and only plotted again; each run is an ordinary run
directory (``--load`` resumes it). One run at a time: on a 2-core machine that is what keeps
the figures' wall times meaningful. The runs' budgets are those of the results each page
quotes, so a curve shows the run behind its page's figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

IMG = Path(__file__).parent / "img"
SEEDS = (0, 1, 2)
# image name: (env, agent, steps, eval every, extra rlrun arguments)
CURVES: dict[str, tuple[str, str, int, int, tuple[str, ...]]] = {
    "qlearning_taxi": ("Taxi-v4", "qlearning", 200_000, 10_000, ()),
    "sarsa_taxi": ("Taxi-v4", "sarsa", 200_000, 10_000, ()),
    "cem_cartpole": ("CartPole-v1", "cem", 100_000, 5_000, ()),
    "dqn_cartpole": ("CartPole-v1", "dqn", 50_000, 2_500, ()),
    "reinforce_cartpole": ("CartPole-v1", "reinforce", 100_000, 5_000, ()),
    "a2c_cartpole": ("CartPole-v1", "a2c", 100_000, 5_000, ()),
    "ppo_cartpole": ("CartPole-v1", "ppo", 100_000, 5_000, ()),
    "trpo_cartpole": ("CartPole-v1", "trpo", 50_000, 2_500, ("--num-envs", "2")),
    "ddpg_pendulum": ("Pendulum-v1", "ddpg", 20_000, 1_000, ()),
    "td3_pendulum": ("Pendulum-v1", "td3", 20_000, 1_000, ()),
    "sac_pendulum": ("Pendulum-v1", "sac", 20_000, 1_000, ()),
    "sac_mountaincar": ("MountainCarContinuous-v0", "sac", 50_000, 5_000, ()),
    "lstm_td3_pendulum_no_velocity": (
        "Pendulum-v1", "lstm_td3", 50_000, 5_000, ("--preset", "remove_velocity"),
    ),
}  # fmt: skip


def finished(run_dir: Path, steps: int) -> bool:
    summary = run_dir / "summary.json"
    return summary.exists() and json.loads(summary.read_text()).get("steps", 0) >= steps


def make(name: str, runs: Path) -> Path:
    env, agent, steps, every, extra = CURVES[name]
    dirs = []
    for seed in SEEDS:
        run_dir = runs / name / f"s{seed}"
        if not finished(run_dir, steps):
            if run_dir.exists():
                raise SystemExit(f"{run_dir} holds an unfinished run: resume it or remove it")
            command = [
                *("rlrun", "--env", env, "--agent", agent, "--seed", str(seed)),
                *("--steps", str(steps), "--eval-every", str(every), "--eval-episodes", "10"),
                *("--run-dir", str(run_dir), "--no-tensorboard", "--quiet", *extra),
            ]
            print(" ".join(command), flush=True)
            subprocess.run(command, check=True)
        dirs.append(str(run_dir))
    out = IMG / f"{name}.png"
    subprocess.run(["rlrun", "plot", *dirs, "--eval", "--out", str(out)], check=True)
    print(f"{name}: {out}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of: {', '.join(CURVES)}")
    parser.add_argument("--runs", type=Path, default=Path("runs/docs"))
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(CURVES))
    if unknown:
        parser.error(f"no curve named {', '.join(unknown)}; curves: {', '.join(CURVES)}")
    IMG.mkdir(exist_ok=True)
    for name in args.names or list(CURVES):
        make(name, args.runs)


if __name__ == "__main__":
    sys.exit(main())
