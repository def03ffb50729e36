"""The learning curves on the algorithm pages: seeds 0-2 of each agent's tuned set on its
reference env, run with ``rlrun`` and drawn with ``rlrun plot --eval`` into ``docs/img/``.

    python docs/make_curves.py [NAME...] [--runs runs/docs]

Runs that finished already are kept and only plotted again; each run is an ordinary run
directory (``--load`` resumes it). Each algorithm page's "Learning curves" section is then
written to show the images that exist. One run at a time: on a 2-core machine that is what keeps
the figures' wall times meaningful. The runs' budgets are those of the results each page
quotes, so a curve shows the run behind its page's figures.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

IMG = Path(__file__).parent / "img"
SEEDS = (0, 1, 2)
# image name: (env, agent, steps, eval every, extra rlrun arguments)
CURVES: dict[str, tuple[str, str, int, int, tuple[str, ...]]] = {
    "qlearning_taxi": ("Taxi-v4", "qlearning", 200_000, 10_000, ()),
    "sarsa_taxi": ("Taxi-v4", "sarsa", 200_000, 10_000, ()),
    "cem_cartpole": ("CartPole-v1", "cem", 200_000, 10_000, ()),
    "dqn_cartpole": ("CartPole-v1", "dqn", 50_000, 2_500, ()),
    "reinforce_cartpole": ("CartPole-v1", "reinforce", 100_000, 5_000, ()),
    "a2c_cartpole": ("CartPole-v1", "a2c", 500_000, 25_000, ()),
    "ppo_cartpole": ("CartPole-v1", "ppo", 100_000, 5_000, ()),
    "trpo_cartpole": ("CartPole-v1", "trpo", 100_000, 5_000, ("--num-envs", "2")),
    "ddpg_pendulum": ("Pendulum-v1", "ddpg", 20_000, 1_000, ()),
    "td3_pendulum": ("Pendulum-v1", "td3", 20_000, 1_000, ()),
    "sac_pendulum": ("Pendulum-v1", "sac", 20_000, 1_000, ()),
    "sac_mountaincar": ("MountainCarContinuous-v0", "sac", 50_000, 5_000, ()),
    "lstm_td3_pendulum_no_velocity": (
        "Pendulum-v1", "lstm_td3", 50_000, 5_000, ("--preset", "remove_velocity"),
    ),
    "a3c_cartpole": ("CartPole-v1", "a3c", 500_000, 25_000, ()),  # on a local Ray
    "mappo_simple_spread": (  # about 13 min a seed on 2 cores
        "mpe2:simple_spread_v3", "mappo", 2_000_000, 250_000, ("--eval-episodes", "20"),
    ),
}  # fmt: skip


# algorithm page: the curves it shows
PAGES = {
    "tabular": ["qlearning_taxi", "sarsa_taxi"], "cem": ["cem_cartpole"], "dqn": ["dqn_cartpole"],
    "reinforce": ["reinforce_cartpole"], "a2c": ["a2c_cartpole"], "a3c": ["a3c_cartpole"],
    "ppo": ["ppo_cartpole"], "trpo": ["trpo_cartpole"], "ddpg": ["ddpg_pendulum"],
    "td3": ["td3_pendulum"], "sac": ["sac_pendulum", "sac_mountaincar"],
    "lstm_td3": ["lstm_td3_pendulum_no_velocity"], "mappo": ["mappo_simple_spread"],
}  # fmt: skip


# what a reader must know about a page's curves
NOTES = {
    "a3c": "A3C's workers apply their gradients in the order they arrive, so a seed's run does not "
    "repeat: these runs are not the ones in the table above.",
}


def update_pages() -> None:
    """Each algorithm page's "Learning curves" section, before its Config, showing the images
    that exist."""
    for page, names in PAGES.items():
        names = [n for n in names if (IMG / f"{n}.png").exists()]
        if not names:
            continue
        path = Path(__file__).parent / "algorithms" / f"{page}.md"
        lines = [
            "## Learning curves", "",
            "Greedy evaluation during training, seeds 0–2 of the tuned set: the mean over seeds "
            "and its 95% bootstrap interval, drawn by `rlrun plot --eval`. Made with "
            f"`python docs/make_curves.py {' '.join(names)}`, which prints each run's command.", "",
        ]  # fmt: skip
        for name in names:
            env, agent = CURVES[name][:2]
            lines += [f"![{agent} on {env}, seeds 0–2](../img/{name}.png)", ""]
        if page in NOTES:
            lines += [NOTES[page], ""]
        block, text = "\n".join(lines), path.read_text()
        if "## Learning curves" in text:
            text = re.sub(
                r"## Learning curves\n.*?(?=\n## )", block.rstrip() + "\n", text, flags=re.S
            )
        else:
            text = text.replace("\n## Config", "\n" + block + "\n## Config", 1)
        path.write_text(text)


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
            episodes = () if "--eval-episodes" in extra else ("--eval-episodes", "10")
            command = [
                *("rlrun", "--env", env, "--agent", agent, "--seed", str(seed)),
                *("--steps", str(steps), "--eval-every", str(every), *episodes),
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
    update_pages()


if __name__ == "__main__":
    sys.exit(main())
