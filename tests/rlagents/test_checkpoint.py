"""Checkpoints load without unpickling, keep key types, and are replaced atomically."""

import json

import numpy as np
import pytest
import torch
from gymnasium import spaces

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


def test_a_failed_write_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    ckpt.save_checkpoint(tmp_path / "ck", META, {"v": np.ones(2)})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(tmp_path / "ck", META, {"v": np.zeros(2)})
    np.testing.assert_array_equal(ckpt.read_state(tmp_path / "ck")["v"], np.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]


def test_a_crash_between_the_renames_falls_back_to_the_old_copy(tmp_path):
    ckpt.save_checkpoint(tmp_path / "ck", META, {"v": np.ones(2)})
    (tmp_path / "ck").rename(tmp_path / ".ck.old")
    np.testing.assert_array_equal(ckpt.read_state(tmp_path / "ck")["v"], np.ones(2))


@pytest.mark.parametrize("damage", ["meta", "arrays", "tree"])
def test_damaged_checkpoints_give_a_clear_error(tmp_path, damage):
    ckpt.save_checkpoint(tmp_path / "ck", META, {"v": np.ones(2)})
    name = {"meta": ckpt.META_FILE, "arrays": ckpt.ARRAYS_FILE, "tree": ckpt.TREE_FILE}[damage]
    (tmp_path / "ck" / name).write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="damaged"):
        ckpt.read_meta(tmp_path / "ck")
        ckpt.read_state(tmp_path / "ck")


def test_missing_and_non_checkpoint_directories(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        ckpt.read_meta(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        ckpt.read_meta(tmp_path)


def test_a_run_directory_is_refused_naming_the_checkpoints_it_holds(tmp_path):
    ckpt.save_checkpoint(tmp_path / "checkpoint", META, {"v": np.ones(2)})
    with pytest.raises(CheckpointError, match="run directory") as refused:
        ckpt.read_meta(tmp_path)
    assert str(tmp_path / "checkpoint") in str(refused.value)
    assert "best-evaluated" not in str(refused.value)
    ckpt.save_checkpoint(tmp_path / "best", META, {"v": np.ones(2)})
    with pytest.raises(CheckpointError, match="best-evaluated one"):
        ckpt.read_meta(tmp_path)


def test_compatibility_checks_agent_and_spaces():
    box = spaces.Box(-np.inf, np.inf, (4,), np.float32)
    meta = {
        "agent": "dqn",
        "env_id": "CartPole-v1",
        "observation_space": ckpt.space_to_json(box),
        "action_space": ckpt.space_to_json(spaces.Discrete(2)),
    }
    json.dumps(meta)  # infinite bounds stay standard JSON
    ckpt.check_compatible(meta, "p", "dqn", box, spaces.Discrete(2))
    with pytest.raises(CheckpointError, match="belongs to agent 'dqn'"):
        ckpt.check_compatible(meta, "p", "ppo", box, spaces.Discrete(2))
    with pytest.raises(CheckpointError, match=r"different action space \(Discrete\(2\)\)"):
        ckpt.check_compatible(meta, "p", "dqn", box, spaces.Discrete(3))
