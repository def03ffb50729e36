"""cnn_precision: image encoders compute in bfloat16 under autocast where the hardware does it
natively (auto), or as asked; weights, heads and losses stay float32; checkpoints round-trip."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlagents.agent import Transition
from rlagents.agents.dqn import DQN
from rlagents.agents.ppo import PPO
from rlagents.common.networks import NatureCNN, configure_cnns
from rlagents.common.torch_utils import cnn_autocast_dtype, native_bfloat16
from rlagents.errors import ConfigError

IMAGES = spaces.Box(0, 255, (4, 84, 84), np.uint8)
CPU = torch.device("cpu")


def test_the_precision_choices():
    assert cnn_autocast_dtype("float32", CPU) is None
    assert cnn_autocast_dtype("bfloat16", CPU) is torch.bfloat16
    expected = torch.bfloat16 if native_bfloat16(CPU) else None
    assert cnn_autocast_dtype("auto", CPU) is expected
    with pytest.raises(ConfigError, match=r"^cnn_precision must be one of auto, float32, bfloat16"):
        cnn_autocast_dtype("half", CPU)


def test_a_bfloat16_cnn_gives_float32_features_close_to_the_float32_ones():
    torch.manual_seed(0)
    cnn = NatureCNN(IMAGES)
    obs = torch.randint(0, 256, (8, *IMAGES.shape), dtype=torch.uint8)
    assert not configure_cnns(cnn, "float32", CPU)  # channels-last weights, float32
    assert cnn.convs[0].weight.is_contiguous(memory_format=torch.channels_last)
    exact = cnn(obs)
    assert configure_cnns(cnn, "bfloat16", CPU)
    low = cnn(obs)
    assert low.dtype == torch.float32 and exact.dtype == torch.float32
    assert cnn.linear[0].weight.dtype == torch.float32  # the weights stay float32
    scale = exact.abs().max().item()
    assert (low - exact).abs().max().item() < 0.05 * scale
    assert not configure_cnns(cnn, "float32", CPU)
    assert torch.equal(cnn(obs), exact)


def test_an_mlp_has_no_cnn_to_lower():
    net = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert not configure_cnns(net, "bfloat16", CPU)


def _play(agent, steps: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n = agent.num_envs
    for _ in range(steps):
        obs = rng.integers(0, 256, (n, *IMAGES.shape), dtype=np.uint8)
        action = agent.act(obs)
        agent.observe(
            Transition(
                obs,
                action,
                rng.normal(size=n).astype(np.float32),
                rng.integers(0, 256, (n, *IMAGES.shape), dtype=np.uint8),
                np.zeros(n, bool),
                np.zeros(n, bool),
            )
        )
        agent.update()


@pytest.mark.parametrize(
    "make",
    [
        lambda: DQN(
            IMAGES,
            spaces.Discrete(4),
            {
                "cnn_precision": "bfloat16",
                "learning_starts": 8,
                "train_freq": 1,
                "buffer_size": 64,
                "background_training": "off",
                "frame_dedup": False,
                "num_threads": 1,
            },
            seed=0,
        ),
        lambda: PPO(
            IMAGES,
            spaces.Box(-1.0, 1.0, (3,), np.float32),
            {
                "cnn_precision": "bfloat16",
                "n_steps": 8,
                "batch_size": 8,
                "n_epochs": 1,
                "box_actions": "beta",
                "num_threads": 1,
            },
            num_envs=2,
            seed=0,
        ),
    ],
    ids=["dqn", "ppo"],
)
def test_bfloat16_agents_learn_and_resume_the_same(make):
    """Training runs in bfloat16, and a checkpoint's optimiser moments come back in the layout
    of the channels-last weights: the resumed agent takes the same next steps."""
    agent = make()
    _play(agent, 12)
    state = copy.deepcopy(agent.state_dict())  # as from disk: nothing shared with `agent`
    twin = make()
    twin.load_state_dict(state)
    _play(agent, 10, seed=1)
    _play(twin, 10, seed=1)
    for a, b in zip(_weights(agent), _weights(twin), strict=True):
        assert torch.equal(a, b)


def _weights(agent) -> list[torch.Tensor]:
    net = agent.online if isinstance(agent, DQN) else agent.policy
    return [p.detach() for p in net.parameters()]
