"""Connect four by self-play: rlagents' masked PPO against sb3-contrib's MaskablePPO, side by
side in one process, at identical settings.

Both learn in the same env (``wrappers.selfplay``: the learner's move and the opponent's reply
are one step, the seats alternating game by game), against the same opponent (rlagents'
``Snapshots`` pool: a frozen copy of the learner every 5,000 steps, the last 3 kept, 10% random
moves, random play before the first), with PPO's tuned set ``classic/connect_four-v3`` (8 envs,
n_steps 256, batch 256, 10 epochs, lr 7e-4 decayed linearly to 0, entropy 0.01, γ 0.99, λ 0.95,
clip 0.2, separate 64-64 tanh networks) and one torch thread each. MaskablePPO reads the same
features: the board flattened and the seat one-hot, its mask through ``action_masks()``.

Then greedy games against random play from each seat: wins ÷ decisive games moving second is
the issue's figure (goal ≥ 0.90; PettingZoo's SB3 tutorial reports 0.86 at 20k steps).

    python benchmarks/connect_four_vs_maskable_ppo.py --seeds 0 1 2 --games 200
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

import rlagents
from rlagents.agents.ppo import PPO
from rlagents.run.games import Snapshots
from rlagents.run.machine import cpu_model
from wrappers.selfplay import MASK_KEY, OPPONENTS, selfplay

ENV = "classic/connect_four-v3"
SET = PPO.hyperparams[ENV]
NUM_ENVS = PPO.recommended_num_envs[ENV]


class FlatMasked(gym.ObservationWrapper):
    """The self-play env as MaskablePPO reads it: a flat float row of the features (board,
    seat one-hot), the mask through ``action_masks()``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.features = spaces.Dict(
            {k: v for k, v in env.observation_space.spaces.items() if k != MASK_KEY}
        )
        self.observation_space = spaces.flatten_space(self.features)
        self.mask = np.ones(env.action_space.n, dtype=bool)

    def observation(self, obs: dict[str, Any]) -> np.ndarray:
        self.mask = np.asarray(obs[MASK_KEY], dtype=bool)
        features = {k: obs[k] for k in self.features.spaces}
        return spaces.flatten(self.features, features).astype(np.float32)

    def action_masks(self) -> np.ndarray:
        return self.mask


class MaskablePlayer:
    """A MaskablePPO policy as rlagents' ``Snapshots`` and evaluation call it: ``act`` on a
    batch of Dict observations, and its state to copy."""

    def __init__(self, policy: Any, flat: FlatMasked) -> None:
        self.policy, self.flat = policy, flat

    @staticmethod
    def kept_state(state: dict[str, Any]) -> dict[str, Any]:
        return state

    def state_dict(self) -> dict[str, Any]:
        return self.policy.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state)

    def act(self, obs: dict[str, np.ndarray], explore: bool = False) -> np.ndarray:
        one = {k: v[0] for k, v in obs.items()}
        row = self.flat.observation(one)[None]
        action, _ = self.policy.predict(row, deterministic=True, action_masks=self.flat.mask[None])
        return np.asarray(action)


def play(agent: Any, seat: int, games: int, seed: int) -> list[float]:
    """Greedy games against random play from ``seat``: the learner's returns."""
    env = selfplay(ENV, seat=seat)
    env.set_opponent(OPPONENTS["random"])
    returns = []
    for k in range(games):
        obs, _ = env.reset(seed=seed + k)
        done, ret = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(_batch(obs))[0])
            ret += float(reward)
            done = terminated or truncated
        returns.append(ret)
    return returns


def _batch(obs: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.expand_dims(v, 0) for k, v in obs.items()}


def score(agent: Any, games: int, seed: int) -> dict[str, float]:
    row = {}
    for seat in (0, 1):
        r = np.sign(play(agent, seat, games, 10_000 + 1_000 * seed + 100_000 * seat))
        wins, losses = float((r > 0).sum()), float((r < 0).sum())
        row[f"decisive_won_{seat}"] = wins / max(wins + losses, 1.0)
    return row


def run_ours(seed: int, games: int, tmp: str) -> dict[str, Any]:
    result = rlagents.train(
        ENV, "ppo", seed=seed, eval_episodes=0, run_dir=os.path.join(tmp, f"ours{seed}"),
        tensorboard=False, config={"num_threads": 1},
    )  # fmt: skip
    wall = result.summary["wall_seconds"]
    return {"wall_s": wall, "steps_per_s": result.summary["steps"] / wall} | score(
        result.agent, games, seed
    )


def run_maskable(seed: int, games: int) -> dict[str, Any]:
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv

    torch.set_num_threads(1)
    envs = [FlatMasked(selfplay(ENV)) for _ in range(NUM_ENVS)]
    vec = DummyVecEnv([lambda e=e: e for e in envs])
    vec.seed(seed)
    steps = SET["n_timesteps"]
    model = MaskablePPO(
        "MlpPolicy", vec, seed=seed, device="cpu", n_steps=SET["n_steps"],
        batch_size=SET["batch_size"], n_epochs=SET["n_epochs"], gamma=0.99, gae_lambda=0.95,
        ent_coef=SET["ent_coef"], learning_rate=lambda left: SET["learning_rate"] * left,
        policy_kwargs={"net_arch": [64, 64], "activation_fn": torch.nn.Tanh},
    )  # fmt: skip
    learner = MaskablePlayer(model.policy, envs[0])
    pool = Snapshots(
        learner, lambda: MaskablePlayer(copy.deepcopy(model.policy), FlatMasked(selfplay(ENV)))
    )
    for env in envs:
        env.unwrapped.set_opponent(pool)

    class Refresh(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % 1_000 == 0:  # rlagents refreshes at its 1,000-step intervals
                pool.refresh(self.num_timesteps)
            return True

    start = time.perf_counter()
    model.learn(steps, callback=Refresh())
    wall = time.perf_counter() - start
    return {"wall_s": wall, "steps_per_s": steps / wall} | score(learner, games, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--games", type=int, default=200, help="per seat")
    args = parser.parse_args()
    print(
        f"{ENV}: PPO (tuned set, {SET['n_timesteps']:,} steps, {NUM_ENVS} envs) vs "
        f"sb3-contrib MaskablePPO, seeds {args.seeds}, {args.games} greedy games a seat against "
        f"random play; {os.cpu_count()} CPUs, {cpu_model()}, torch {torch.__version__}, "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    print("| seed | library | won ÷ decisive, first / second | train s | steps/s |")
    print("|---|---|---|---|---|")
    rows: dict[str, list[dict[str, Any]]] = {"rlagents": [], "MaskablePPO": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for name in rows:
                r = (
                    run_ours(seed, args.games, tmp)
                    if name == "rlagents"
                    else run_maskable(seed, args.games)
                )
                rows[name].append(r)
                print(
                    f"| {seed} | {name} | {r['decisive_won_0']:.2f} / {r['decisive_won_1']:.2f} "
                    f"| {r['wall_s']:.1f} | {r['steps_per_s']:,.0f} |",
                    flush=True,
                )
    ratios = [
        o["steps_per_s"] / m["steps_per_s"]
        for o, m in zip(rows["rlagents"], rows["MaskablePPO"], strict=True)
    ]
    for name, rs in rows.items():
        second = [r["decisive_won_1"] for r in rs]
        print(f"{name}: moving second, won ÷ decisive median {statistics.median(second):.2f}")
    print(f"steps/s, rlagents ÷ MaskablePPO per seed: {', '.join(f'{x:.2f}' for x in ratios)}")


if __name__ == "__main__":
    main()
