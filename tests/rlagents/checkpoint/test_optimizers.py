"""Optimizer state torch does not check is checked, wherever among the agent's attributes the
optimizer is."""

import pytest
import torch

from rlagents import checkpoint as ckpt
from rlagents.errors import CheckpointError


def test_optimizers_are_found_one_level_down_and_in_lists():
    class Holder:
        def __init__(self, optimizer):
            self.optimizers = [optimizer]

    class Agent:
        def __init__(self, optimizer):
            self.parts = Holder(optimizer)

    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    agent = Agent(opt)
    ckpt.check_optimizer_states(agent)
    opt.state[model.weight]["exp_avg_sq"] = torch.zeros(3, 2)
    with pytest.raises(
        CheckpointError,
        match=r"Agent\.parts\.optimizers\[0\]: exp_avg_sq of parameter 0 .* has shape \(3, 2\)",
    ):
        ckpt.check_optimizer_states(agent)
