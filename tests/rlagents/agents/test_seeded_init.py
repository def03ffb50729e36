"""Agents built side by side in threads (the seeds of a ``rlrun sweep`` trial) start from the
weights a single build with the same seed gives: torch's global generator, which initial weights
come from, is seeded and held for each build (common.torch_utils.seeded_torch)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlagents.agents.cem import CEM
from rlagents.agents.dqn import DQN
from rlagents.agents.ppo import PPO
from rlagents.agents.sac import SAC
from rlagents.agents.td3 import TD3

OBS = spaces.Box(-1.0, 1.0, (4,), np.float32)
AGENTS = {
    "dqn": (DQN, spaces.Discrete(2)),
    "ppo": (PPO, spaces.Discrete(2)),
    "cem": (CEM, spaces.Discrete(2)),
    "td3": (TD3, spaces.Box(-1.0, 1.0, (1,), np.float32)),
    "sac": (SAC, spaces.Box(-1.0, 1.0, (1,), np.float32)),
}


def _weights(agent) -> list[torch.Tensor]:
    for name in ("online", "policy"):
        net = getattr(agent, name, None)
        if isinstance(net, torch.nn.Module):
            return [p.detach().clone() for p in net.parameters()]
    raise AssertionError(f"no network found on {agent!r}")


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_agents_built_in_threads_start_from_their_seeds_weights(name):
    cls, actions = AGENTS[name]
    seeds = list(range(6))
    alone = {s: _weights(cls(OBS, actions, {"num_threads": 1}, seed=s)) for s in seeds}
    start = threading.Barrier(len(seeds))
    built: dict[int, list[torch.Tensor]] = {}

    def build(seed: int) -> None:
        start.wait()  # every thread builds at once
        for _ in range(3):
            built[seed] = _weights(cls(OBS, actions, {"num_threads": 1}, seed=seed))

    threads = [threading.Thread(target=build, args=(s,)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in seeds:
        assert all(torch.equal(a, b) for a, b in zip(alone[s], built[s], strict=True)), s
