"""CPU training speed of `rlrun --agent dqn` on ALE/BattleZone-v5 against Stable-Baselines3's DQN.

Same run, same hyper-parameters (our `atari` preset: Nature CNN, batch 32, train_freq 4, one
gradient step, lr 1e-4; buffer_size is set to --buffer-size on both sides, which changes memory
and nothing else), same torch thread count (`torch.set_num_threads(T)` for SB3,
`--set num_threads=T` for ours). Each side plays --warmup steps without learning, then trains
for --steps env steps; steps/s counts only the training phase. Sides run one after the other
in fresh subprocesses, alternating, --repeats times.

* ours: the real `rlrun` code path (rlagents.run.runner.Run) with `--preset atari`
  (wrappers.atari: 84×84
  gray, frame skip 4, stack 4, sticky actions 0.25) and the dqn agent out of the box (its
  `atari` hyper-parameters, frame-dedup replay, gradient steps in a background thread on the
  CPU); ε decays over the first 10% of the steps, as SB3's exploration_fraction=0.1 does;
* SB3: `DQN("CnnPolicy", ...)` on SB3's own Atari pipeline (`make_atari_env` + `VecFrameStack(4)`,
  sticky actions 0.25), or with --sb3-env ours on the same wrappers.atari env as ours.

`--threads 0` compares the two out of the box on this machine instead: ours with num_threads=0
(on 2 CPUs: one training thread in the worker and the acting thread, two cores in all) and SB3
with torch's default thread count (one per core). With T >= 1 ours has T training threads plus
the acting thread, so T = 2 oversubscribes a 2-core machine (3 busy threads on 2 cores).

Also printed: the time of one whole gradient step of our agent alone (batch 32 with its target
pass, T threads; what an unpipelined loop pays per round of train_freq steps), and replay bytes
per transition on both sides. Ours with T threads runs its gradient steps on T torch threads in
a worker while the runner's thread acts and computes targets on one (see rlagents/agents/dqn.py);
SB3 runs everything on one thread with T torch threads.

    python benchmarks/dqn_atari_speed.py --threads 1              # full: ~10 minutes
    python benchmarks/dqn_atari_speed.py --threads 1 2 --repeats 2
    python benchmarks/dqn_atari_speed.py --quick                  # smoke test, ~1-2 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ENV = "ALE/BattleZone-v5"
PRESET = {  # our `atari` preset, and the same values for SB3
    "learning_rate": 1e-4,
    "batch_size": 32,
    "train_freq": 4,
    "gradient_steps": 1,
    "target_update_interval": 1_000,
    "exploration_final_eps": 0.01,
    "gamma": 0.99,
}

OURS_CHILD = r"""
import json, sys, time, tempfile, os, contextlib, io
import numpy as np, torch
from rlagents.run.options import RunOptions
from rlagents.run.runner import Run
env, warmup, steps, threads, buffer_size, seed = sys.argv[1], *map(int, sys.argv[2:7])
# SB3 decays ε over exploration_fraction (0.1) of the steps it is asked for: the same here, so
# both sides act greedily (a CNN forward pass) as often during the measured steps.
sets = {"num_threads": threads, "buffer_size": buffer_size, "learning_starts": warmup,
        "exploration_steps": (warmup + steps) // 10, "save_replay_buffer": False}
with tempfile.TemporaryDirectory() as tmp:
    opts = RunOptions(env_id=env, agent="dqn", steps=warmup + steps, seed=seed, num_envs=1,
        config=sets, preset="atari", run_dir=os.path.join(tmp, "run"), eval_episodes=0,
        save=os.path.join(tmp, "ck"), tensorboard=False)
    run = Run(opts)
    agent = run.agent
    marks = {}
    observe = agent.observe
    def timed_observe(t):
        observe(t)
        if agent.steps == warmup:
            marks["start"] = time.perf_counter()
        elif agent.steps == warmup + steps:
            agent.wait()  # the round in flight belongs to the measured steps
            marks["end"] = time.perf_counter()
    agent.observe = timed_observe
    with contextlib.redirect_stdout(io.StringIO()):
        run.execute()
    # One gradient step alone, on a batch from the filled buffer: the compute-bound limit.
    batch = agent.buffer.sample_n_step(32, agent.rng, 1, 0.99)
    for _ in range(3):
        agent.gradient_step(batch)
    t0 = time.perf_counter()
    for _ in range(10):
        agent.gradient_step(batch)
    grad = (time.perf_counter() - t0) / 10
    buf = agent.buffer
    print(json.dumps({"steps_per_second": steps / (marks["end"] - marks["start"]),
                      "grad_step_ms": grad * 1000, "replay": type(buf).__name__,
                      "bytes_per_transition": buf.nbytes / buf.capacity,
                      "torch_threads": torch.get_num_threads()}))
"""

SB3_CHILD = r"""
import json, sys, time
import numpy as np, torch, gymnasium as gym, ale_py
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.vec_env import VecFrameStack, DummyVecEnv
env_id, warmup, steps, threads, buffer_size, seed = sys.argv[1], *map(int, sys.argv[2:7])
env_kind, preset = sys.argv[7], json.loads(sys.argv[8])
if threads:  # 0: torch's default, one thread per core
    torch.set_num_threads(threads)
gym.register_envs(ale_py)
if env_kind == "sb3":
    env = VecFrameStack(make_atari_env(env_id, n_envs=1, seed=seed,
        env_kwargs={"repeat_action_probability": 0.25}), n_stack=4)
else:
    import wrappers
    env = DummyVecEnv([lambda: wrappers.atari(env_id)])
    env.seed(seed)
class Clock(BaseCallback):
    def __init__(self):
        super().__init__(); self.marks = {}
    def _on_step(self):
        if self.num_timesteps == warmup: self.marks["start"] = time.perf_counter()
        if self.num_timesteps == warmup + steps: self.marks["end"] = time.perf_counter()
        return True
clock = Clock()
model = DQN("CnnPolicy", env, buffer_size=buffer_size, learning_starts=warmup, seed=seed,
            exploration_fraction=0.1, device="cpu", verbose=0, **preset)
model.learn(total_timesteps=warmup + steps, callback=clock)
rb = model.replay_buffer
nbytes = sum(getattr(rb, k).nbytes for k in ("observations", "next_observations", "actions",
             "rewards", "dones", "timeouts") if getattr(rb, k, None) is not None)
print(json.dumps({"steps_per_second": steps / (clock.marks["end"] - clock.marks["start"]),
                  "bytes_per_transition": nbytes / rb.buffer_size,
                  "torch_threads": torch.get_num_threads()}))
"""


def child(code: str, args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=ENV)
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--warmup", type=int, default=1_000, help="steps before learning")
    parser.add_argument("--steps", type=int, default=3_000, help="training steps measured")
    parser.add_argument("--buffer-size", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--sb3-env", choices=["sb3", "ours"], default="sb3")
    parser.add_argument("--quick", action="store_true", help="400 warm-up + 400 training steps")
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.steps = 400, 400

    common = [args.env, args.warmup, args.steps]
    for threads in args.threads:
        ours_runs, sb3_runs = [], []
        for r in range(args.repeats):
            a = [str(x) for x in (*common, threads, args.buffer_size, r)]
            ours_runs.append(child(OURS_CHILD, a))
            sb3_runs.append(child(SB3_CHILD, [*a, args.sb3_env, json.dumps(PRESET)]))
            print(
                f"threads {threads} repeat {r}: ours {ours_runs[-1]['steps_per_second']:.1f} "
                f"steps/s, SB3 {sb3_runs[-1]['steps_per_second']:.1f} steps/s",
                flush=True,
            )
        ours = statistics.median(x["steps_per_second"] for x in ours_runs)
        sb3 = statistics.median(x["steps_per_second"] for x in sb3_runs)
        grad = statistics.median(x["grad_step_ms"] for x in ours_runs)
        limit = 1000.0 * PRESET["train_freq"] / grad
        label = "each side's default" if threads == 0 else str(threads)
        print(
            f"\n{args.env}, torch threads {label}, {args.steps} training steps after "
            f"{args.warmup} warm-up steps, median of {args.repeats}; SB3 on "
            f"{'its own Atari pipeline' if args.sb3_env == 'sb3' else 'wrappers.atari'}; "
            f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), load avg "
            f"{os.getloadavg()[0]:.2f}, {time.strftime('%Y-%m-%d %H:%M')}"
        )
        print(
            f"ours {ours:.1f} steps/s, SB3 {sb3:.1f} steps/s: ratio {ours / sb3:.2f} "
            f"(goal >= 1.7); one whole gradient step of ours alone {grad:.0f} ms, i.e. "
            f"{limit:.0f} steps/s at train_freq {PRESET['train_freq']} without pipelining"
        )
        print(
            f"replay bytes per transition: ours {ours_runs[0]['bytes_per_transition']:.0f} "
            f"({ours_runs[0]['replay']}), SB3 {sb3_runs[0]['bytes_per_transition']:.0f}"
        )
        print(
            f"| dqn {args.env} CPU training speed, threads {label} | {ours:.1f} | {sb3:.1f} "
            f"| {ours / sb3:.2f} | {ours_runs[0]['bytes_per_transition']:.0f} B/transition | "
            f"`python benchmarks/dqn_atari_speed.py --threads {threads} "
            f"--repeats {args.repeats}` |"
        )


if __name__ == "__main__":
    main()
