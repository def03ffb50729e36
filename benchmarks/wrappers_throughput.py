"""Throughput of the ``wrappers`` package against raw ALE and Gymnasium's own wrappers.

Measures, in one run:

* Atari steps/s: raw ``gymnasium.make(GAME)`` (ALE's native frameskip 4, RGB observations)
  against ``wrappers.atari(GAME)`` (default bilinear resize and with ``cv2.INTER_AREA``)
  and Gymnasium's ``AtariPreprocessing`` + ``FrameStackObservation`` on a ``frameskip=1``
  env. The variants run interleaved in short chunks of the same random actions, so that
  load from other processes hits them alike; the ratio to raw is given for the totals and
  as the median over chunks.
* Grayscale µs per 96×96×3 frame: ``wrappers.Grayscale`` (both lumas) against
  ``gymnasium.wrappers.GrayscaleObservation``, calling ``observation()`` directly.
* Frame stack µs per step (4 × 84×84 uint8): ``wrappers.FrameStack`` against
  ``gymnasium.wrappers.FrameStackObservation`` over an env that replays stored frames.
* Resize µs per 210×160 → 84×84 frame for the two interpolations (why the preset is
  bilinear by default).

Run from the repository root: ``python benchmarks/wrappers_throughput.py``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ale_py
import cv2
import gymnasium as gym
import numpy as np
from gymnasium.wrappers import (
    AtariPreprocessing,
    FrameStackObservation,
    GrayscaleObservation,
)

import wrappers

gym.register_envs(ale_py)


class Replay(gym.Env[np.ndarray, int]):
    """Returns stored uint8 frames, so that a wrapper's own cost dominates a step."""

    def __init__(self, shape: tuple[int, ...], count: int = 16) -> None:
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(2)
        self.frames = np.random.default_rng(0).integers(0, 256, (count, *shape), dtype=np.uint8)
        self.t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        return self.frames[0], {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.t += 1
        return self.frames[self.t % len(self.frames)], 0.0, False, False, {}


def atari_variants(game: str) -> dict[str, Callable[[], gym.Env[Any, Any]]]:
    """The first four replay the very same emulator frames (same seed, actions, sticky-action
    RNG; no no-ops or FIRE at reset), so their ratios measure only the per-step overhead:
    emulation cost varies a lot along a game. The last one uses the preset's defaults
    (up to 30 no-ops and FIRE at reset), so it plays a trajectory of its own."""
    same = {"noop_max": 0, "fire_reset": False}
    return {
        "raw ALE (frameskip 4, RGB)": lambda: gym.make(game),
        "wrappers.atari (bilinear)": lambda: wrappers.atari(game, **same),
        "wrappers.atari (INTER_AREA)": lambda: wrappers.atari(
            game, interpolation=cv2.INTER_AREA, **same
        ),
        "gymnasium AtariPreprocessing+FrameStack": lambda: FrameStackObservation(
            AtariPreprocessing(gym.make(game, frameskip=1), noop_max=0), 4
        ),
        "wrappers.atari defaults (own trajectory)": lambda: wrappers.atari(game),
    }


def bench_atari(game: str, chunks: int, chunk_steps: int, seed: int) -> None:
    variants = atari_variants(game)
    envs = {name: make() for name, make in variants.items()}
    for env in envs.values():
        env.reset(seed=seed)
    names = list(envs)
    n_actions = int(envs[names[0]].action_space.n)  # type: ignore[attr-defined]
    actions = np.random.default_rng(seed).integers(0, n_actions, (chunks, chunk_steps))
    wall = {name: np.zeros(chunks) for name in names}
    cpu = {name: np.zeros(chunks) for name in names}
    for c in range(chunks):
        # Rotate the order each chunk so that no variant always runs first or last.
        for name in names[c % len(names) :] + names[: c % len(names)]:
            env = envs[name]
            start, start_cpu = time.perf_counter(), time.process_time()
            for a in actions[c]:
                _, _, terminated, truncated, _ = env.step(int(a))
                if terminated or truncated:
                    env.reset()
            wall[name][c] = time.perf_counter() - start
            cpu[name][c] = time.process_time() - start_cpu
    raw = names[0]
    steps = chunks * chunk_steps
    print(f"\nAtari: {game}, {chunks} chunks x {chunk_steps} steps per variant, interleaved;")
    print("the first four replay identical emulator frames (noop_max=0, fire_reset=False).")
    print("x raw = raw time / variant time: over all chunks (wall), median of chunks (wall, CPU)")
    header = f"{'variant':42s} {'steps/s':>8s} {'x raw':>7s} {'median':>7s} {'CPU med':>8s}"
    print(header)
    for name in names:
        rate = steps / wall[name].sum()
        total = wall[raw].sum() / wall[name].sum()
        median = float(np.median(wall[raw] / wall[name]))
        cpu_median = float(np.median(cpu[raw] / np.maximum(cpu[name], 1e-9)))
        print(f"{name:42s} {rate:8.0f} {total:7.3f} {median:7.3f} {cpu_median:8.3f}")
    for env in envs.values():
        env.close()


def time_calls(fn: Callable[[], Any], calls: int, repeats: int) -> tuple[float, float]:
    """(best, median) µs per call over ``repeats`` batches of ``calls`` calls."""
    per_call = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        per_call.append((time.perf_counter() - start) / calls * 1e6)
    return min(per_call), float(np.median(per_call))


def bench_grayscale(calls: int, repeats: int) -> None:
    frames = itertools.cycle(Replay((96, 96, 3)).frames)
    converters: dict[str, Callable[[np.ndarray], Any]] = {
        "wrappers.Grayscale (luma='gymnasium')": wrappers.Grayscale(
            Replay((96, 96, 3)), luma="gymnasium"
        ).observation,
        "wrappers.Grayscale (luma='bt601')": wrappers.Grayscale(
            Replay((96, 96, 3)), luma="bt601"
        ).observation,
        "gymnasium GrayscaleObservation": GrayscaleObservation(Replay((96, 96, 3))).observation,
    }
    print(f"\nGrayscale, 96x96x3 uint8 frames: us per frame (best / median of {repeats})")
    best = {}
    for name, convert in converters.items():
        best[name], median = time_calls(lambda c=convert: c(next(frames)), calls, repeats)
        print(f"{name:42s} {best[name]:8.1f} / {median:8.1f}")
    theirs = best["gymnasium GrayscaleObservation"]
    for name in list(converters)[:2]:
        print(f"  {name}: {theirs / best[name]:.1f}x faster than gymnasium")


def bench_frame_stack(calls: int, repeats: int) -> None:
    stacks = {
        "env alone (84x84 uint8 frames)": Replay((84, 84)),
        "wrappers.FrameStack(4)": wrappers.FrameStack(Replay((84, 84)), 4),
        "gymnasium FrameStackObservation(4)": FrameStackObservation(Replay((84, 84)), 4),
    }
    print(f"\nFrame stack, 4 x 84x84 uint8: us per step (best / median of {repeats})")
    best = {}
    for name, env in stacks.items():
        env.reset(seed=0)
        best[name], median = time_calls(lambda e=env: e.step(0), calls, repeats)
        print(f"{name:42s} {best[name]:8.2f} / {median:8.2f}")
    base = best["env alone (84x84 uint8 frames)"]
    ours = best["wrappers.FrameStack(4)"] - base
    theirs = best["gymnasium FrameStackObservation(4)"] - base
    print(f"  wrapper cost alone: ours {ours:.2f} us, gymnasium {theirs:.2f} us", end="")
    print(f" ({theirs / ours:.1f}x)")


def bench_resize(calls: int, repeats: int) -> None:
    frame = np.random.default_rng(0).integers(0, 256, (210, 160), dtype=np.uint8)
    print(
        f"\nResize 210x160 -> 84x84 uint8 (cv2.resize): us per frame (best / median of {repeats})"
    )
    for name, flag in (("INTER_LINEAR", cv2.INTER_LINEAR), ("INTER_AREA", cv2.INTER_AREA)):
        best, median = time_calls(
            lambda f=flag: cv2.resize(frame, (84, 84), interpolation=f), calls, repeats
        )
        print(f"{name:42s} {best:8.1f} / {median:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="ALE/BattleZone-v5")
    parser.add_argument("--chunks", type=int, default=60, help="interleaved Atari chunks")
    parser.add_argument("--chunk-steps", type=int, default=60, help="Atari steps per chunk")
    parser.add_argument("--calls", type=int, default=2000, help="calls per micro-benchmark batch")
    parser.add_argument("--repeats", type=int, default=7, help="micro-benchmark batches")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S')}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, gymnasium {gym.__version__},"
        f" ale-py {ale_py.__version__}, opencv {cv2.__version__}"
    )
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    bench_atari(args.game, args.chunks, args.chunk_steps, args.seed)
    bench_grayscale(args.calls, args.repeats)
    bench_frame_stack(args.calls, args.repeats)
    bench_resize(args.calls, args.repeats)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
