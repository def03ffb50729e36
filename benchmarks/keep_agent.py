"""Copy a checkpoint without what only an exact resume needs, as `benchmarks/agents/` keeps them.

The agent's ``kept_state`` says what stays: by default all but its ``optional_state`` (TD3's
replay buffer, PPO's partial rollout), so networks, optimiser, normalisers and counters stay;
DQN keeps only the network it acts with. The episodes in progress are left out. The copy
evaluates exactly as the source (``rlrun --load DST --eval-only``) and fine-tunes (a fresh
rollout, an empty buffer refilled first). A run's ``RUN_DIR/best`` is such a copy already; this
makes one of any checkpoint (e.g. one a run saved at an evaluation step).

    python benchmarks/keep_agent.py RUN_DIR/checkpoint benchmarks/agents/CarRacing-v3_ppo
"""

from __future__ import annotations

import argparse
import sys

from rlagents import checkpoint as ckpt
from rlagents import registry
from rlagents.errors import CheckpointError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a checkpoint directory")
    parser.add_argument("target", help="a new (or empty) directory for the copy")
    args = parser.parse_args()
    meta = ckpt.read_meta(args.source)
    state = ckpt.read_state(args.source)
    kept = registry.load(meta["agent"]).kept_state(state)
    run_state = ckpt.read_run_state(args.source) or {}
    why_not = "it is a kept agent, saved without its episodes"
    ckpt.save_checkpoint(
        args.target,
        meta,
        kept,
        run_state={"num_envs": run_state.get("num_envs", 1), "why_not": why_not},
    )
    left_out = ", ".join(sorted(set(state) - set(kept))) or "nothing"
    where = f"{meta['agent']} on {meta['env_id']} at step {meta['steps']}"
    print(f"{args.target}: {where}; left out: {left_out}")


if __name__ == "__main__":
    try:
        main()
    except (CheckpointError, OSError) as err:  # a wrong path, a damaged checkpoint, a full disk
        sys.exit(f"keep_agent: error: {err}")
