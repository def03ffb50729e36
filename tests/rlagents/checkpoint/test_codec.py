"""A state round-trips through state.json and arrays.npz with its values and types (int keys,
tuples, a run state's big ints), is read back without pickle, and never needs torch unless it
holds tensors; what would need pickle is refused when saving."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from rlagents import checkpoint as ckpt
from rlagents.errors import CheckpointError

META = {"agent": "x", "observation_space": None, "action_space": None}


def _state():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    return (
        model,
        opt,
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "table": np.arange(6, dtype=np.float32).reshape(2, 3),
            "counts": [1, 2.5, "three", None, True],
            "pair": (4, 5),
        },
    )


def _save_small(path):
    return ckpt.save_checkpoint(path, {"agent": "x"}, {"v": np.zeros(3, np.float32)})


def test_round_trip_keeps_values_types_and_int_keys(tmp_path):
    model, opt, state = _state()
    ckpt.save_checkpoint(tmp_path / "ck", META, state)
    loaded = ckpt.read_state(tmp_path / "ck")
    np.testing.assert_array_equal(loaded["table"], state["table"])
    assert loaded["counts"] == [1, 2.5, "three", None, True]
    assert loaded["pair"] == (4, 5)
    assert set(loaded["optimizer"]["state"]) == {0, 1}  # int keys survive
    fresh_model = torch.nn.Linear(3, 2)
    fresh_opt = torch.optim.Adam(fresh_model.parameters())
    fresh_model.load_state_dict(loaded["model"])
    fresh_opt.load_state_dict(loaded["optimizer"])
    assert torch.equal(fresh_model.weight, model.weight)
    assert torch.equal(
        fresh_opt.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"]
    )
    assert ckpt.read_meta(tmp_path / "ck")["agent"] == "x"


def test_arrays_are_read_without_pickle(tmp_path):
    ckpt.save_checkpoint(tmp_path / "ck", META, {"a": np.zeros(3)})
    with np.load(tmp_path / "ck" / ckpt.ARRAYS_FILE, allow_pickle=False) as npz:
        assert npz.files == ["a0"]


def test_objects_that_need_pickle_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="holds a object"):
        ckpt.save_checkpoint(tmp_path / "ck", META, {"bad": object()})


def test_run_state_round_trip(tmp_path):
    run_state = {
        "envs": [{"state": np.arange(4.0), "rng": {"state": 2**100, "inc": 7}}, {"state": None}],
        "obs": np.ones((2, 4), np.float32),
        "episode": 12,
        "name": "CartPole-v1",
        "pair": (1, 2),
    }
    path = ckpt.save_checkpoint(tmp_path / "ck", {"agent": "x"}, {"v": np.zeros(2)}, run_state)
    loaded = ckpt.read_run_state(path)
    assert loaded is not None
    np.testing.assert_array_equal(loaded["envs"][0]["state"], np.arange(4.0))
    assert loaded["envs"][0]["rng"] == {"state": 2**100, "inc": 7}
    assert loaded["envs"][1] == {"state": None}
    np.testing.assert_array_equal(loaded["obs"], run_state["obs"])
    assert loaded["obs"].dtype == np.float32
    assert (loaded["episode"], loaded["name"], loaded["pair"]) == (12, "CartPole-v1", (1, 2))
    np.testing.assert_array_equal(ckpt.read_state(path)["v"], np.zeros(2))
    assert ckpt.read_run_state(_save_small(tmp_path / "plain")) is None


def test_a_tabular_round_trip_never_imports_torch(tmp_path):
    code = """
import sys
import gymnasium as gym
import numpy as np
from rlagents import checkpoint as ckpt, registry
from rlagents.agent import Transition

env = gym.make("FrozenLake-v1")
agent = registry.make("qlearning", env.observation_space, env.action_space, seed=0)
obs = np.asarray([env.reset(seed=0)[0]])
for _ in range(200):
    action = agent.act(obs)
    nxt, reward, term, trunc, _ = env.step(int(action[0]))
    nxt = np.asarray([nxt])
    flags = np.array([term]), np.array([trunc])
    agent.observe(Transition(obs, action, np.array([reward]), nxt, *flags))
    agent.update()
    obs = np.asarray([env.reset()[0]]) if term or trunc else nxt
path = sys.argv[1]
ckpt.save_checkpoint(path, {"agent": "qlearning"}, agent.state_dict(), {"obs": obs})
fresh = registry.make("qlearning", env.observation_space, env.action_space, seed=1)
ckpt.load_agent_state(fresh, path)
assert (fresh.q == agent.q).all()
assert ckpt.read_run_state(path)["obs"].tolist() == obs.tolist()
print("torch" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "ck")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
