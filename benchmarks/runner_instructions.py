"""One loop of `runner_overhead.py`, to be counted by callgrind (instruction counts do not drift
with the host's load, wall-clock times here do).

    for n in 10000 40000; do
      valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python benchmarks/runner_instructions.py VARIANT $n 2>&1 | grep Collected
    done

The per-step count is the difference of the two totals over 30,000 steps (imports and set-up
cancel). VARIANT: ``bare`` (``env.step(env.action_space.sample())``), ``train`` and
``train-no-tb`` (``rlagents.train`` with and without TensorBoard), or ``cli:PATH`` for a checkout
of an older commit whose runner was ``cli.run.Run`` (e.g. ``git worktree add /tmp/old 08ebead``).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile


def main() -> None:
    variant, steps = sys.argv[1], int(sys.argv[2])
    if variant.startswith("cli:"):
        sys.path.insert(0, variant.removeprefix("cli:"))
    import gymnasium as gym

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = os.path.join(tmp, "run")
        if variant == "bare":
            env = gym.make("CartPole-v1")
            env.reset(seed=0)
            env.action_space.seed(0)
            for _ in range(steps):
                _, _, terminated, truncated, _ = env.step(env.action_space.sample())
                if terminated or truncated:
                    env.reset()
        elif variant.startswith("cli:"):
            from cli.run import Run, RunOptions  # type: ignore[import-not-found]

            opts = RunOptions(
                env_id="CartPole-v1", agent="random", steps=steps, episodes=None, seed=0,
                num_envs=1, set_pairs=(), env_kwargs=(), preset="none", hyperparams="auto",
                run_dir=run_dir, eval_every=0, eval_episodes=0, stop_at_return=None, save=None,
                save_every=0, load=None, eval_only=False, render=False, quiet=True,
            )  # fmt: skip
            with contextlib.redirect_stdout(io.StringIO()):
                Run(opts).execute()
        else:
            import rlagents

            rlagents.train(
                "CartPole-v1", "random", steps=steps, seed=0, num_envs=1, preset="none",
                run_dir=run_dir, eval_episodes=0, tensorboard=variant == "train",
            )  # fmt: skip


if __name__ == "__main__":
    main()
