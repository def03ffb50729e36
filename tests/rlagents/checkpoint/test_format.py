"""agent.json: the spaces a checkpoint fits, the types of its fields and its format version."""

import json

import numpy as np
import pytest
from gymnasium import spaces

from rlagents import checkpoint as ckpt
from rlagents.errors import CheckpointError


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


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("steps", "many"),
        ("steps", -1),
        ("episodes", 2.5),
        ("episodes", -3),
        ("config", []),
        ("env_kwargs", None),
        ("seed", 1.5),
        ("seed", True),
        ("seed", "zero"),
        ("preset", 3),
        ("agent", 7),
        ("env_id", "CartPole\nv1"),
        ("env_id", 7),
        ("package_version", ["0.1"]),
    ],
)
def test_meta_fields_of_the_wrong_type_are_refused(tmp_path, field, value):
    path = ckpt.save_checkpoint(tmp_path / "ck", {"agent": "x", field: value}, {})
    with pytest.raises(CheckpointError, match=f"'{field}' must be") as info:
        ckpt.read_meta(path)
    assert "\n" not in str(info.value)


def test_meta_of_the_right_types_is_accepted(tmp_path):
    meta = {
        "agent": "dqn",
        "package_version": "0.1.0",
        "config": {"gamma": 0.9},
        "env_id": "CartPole-v1",
        "env_kwargs": {},
        "preset": None,
        "steps": 0,
        "episodes": 3,
        "seed": None,
    }
    path = ckpt.save_checkpoint(tmp_path / "ck", meta, {})
    assert ckpt.read_meta(path) == {"format": ckpt.FORMAT_VERSION, **meta}


def test_a_future_format_asks_for_an_upgrade(tmp_path):
    path = ckpt.save_checkpoint(tmp_path / "ck", {"agent": "x"}, {})
    meta = json.loads((path / ckpt.META_FILE).read_text())
    (path / ckpt.META_FILE).write_text(json.dumps({**meta, "format": ckpt.FORMAT_VERSION + 1}))
    with pytest.raises(CheckpointError, match=r"newer rlagents \(format 2\); upgrade rlagents$"):
        ckpt.read_meta(path)
