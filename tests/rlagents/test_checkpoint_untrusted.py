"""A crafted or damaged checkpoint is refused with a one-line CheckpointError, never a crash,
a traceback or a huge allocation; saving never replaces what is not a checkpoint."""

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlagents import __version__, registry
from rlagents import checkpoint as ckpt
from rlagents.agent import Transition
from rlagents.errors import CheckpointError

DQN_CONFIG = {"learning_starts": 50, "buffer_size": 1000, "batch_size": 16}


def _play(agent, env, steps):
    obs = np.asarray(env.reset(seed=0)[0])
    for _ in range(steps):
        action = agent.act(obs[None])
        next_obs, reward, terminated, truncated, _ = env.step(action[0])
        next_obs = np.asarray(next_obs)
        agent.observe(
            Transition(
                obs[None],
                action,
                np.array([reward], np.float64),
                next_obs[None],
                np.array([terminated]),
                np.array([truncated]),
            )
        )
        agent.update()
        obs = next_obs if not (terminated or truncated) else np.asarray(env.reset()[0])


def _dqn(seed=0):
    env = gym.make("CartPole-v1")
    agent = registry.make(
        "dqn", env.observation_space, env.action_space, num_envs=1, seed=seed, **DQN_CONFIG
    )
    return agent, env


@pytest.fixture(scope="module")
def dqn_checkpoint(tmp_path_factory):
    agent, env = _dqn()
    _play(agent, env, 300)  # Adam has state for every parameter after this
    assert agent.optimizer.state
    path = tmp_path_factory.mktemp("dqn") / "ck"
    ckpt.save_checkpoint(path, {"agent": "dqn", "steps": 300}, agent.state_dict())
    return path


@pytest.fixture
def ck(dqn_checkpoint, tmp_path):
    """A fresh copy of the trained DQN's checkpoint, to damage."""
    return shutil.copytree(dqn_checkpoint, tmp_path / "ck")


def _tree(path):
    return json.loads((path / ckpt.TREE_FILE).read_text())


def _node(tree, *keys):
    """The JSON node at ``keys`` (dict keys, list indices) of a state.json tree."""
    for key in keys:
        if "dict" in tree:
            tree = next(v for k, v in tree["dict"] if k == key)
        else:
            tree = tree[next(iter(tree))][key]
    return tree


def _rewrite_arrays(path, **changes):
    with np.load(path / ckpt.ARRAYS_FILE) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update(changes)
    np.savez(path / ckpt.ARRAYS_FILE, **arrays)


def _refused(path, match, *, agent=None):
    """Loading ``path`` into a fresh DQN raises a one-line CheckpointError matching ``match``."""
    agent = agent if agent is not None else _dqn(seed=1)[0]
    with pytest.raises(CheckpointError, match=match) as info:
        ckpt.load_agent_state(agent, path)
    message = str(info.value)
    assert "\n" not in message and message.isprintable()
    return message


def test_a_trained_dqn_loads_and_trains_on(ck):
    agent, env = _dqn(seed=1)
    ckpt.load_agent_state(agent, ck)
    assert agent.steps == 300
    _play(agent, env, 20)


BUILT_IN = {
    "random": ("CartPole-v1", {}),
    "qlearning": ("FrozenLake-v1", {}),
    "sarsa": ("FrozenLake-v1", {}),
    "dqn": ("CartPole-v1", DQN_CONFIG),
    "ppo": ("CartPole-v1", {"n_steps": 64, "batch_size": 32, "normalize_rewards": True}),
    "a2c": ("CartPole-v1", {"n_steps": 5, "normalize_observations": True}),
    "a3c": ("CartPole-v1", {"n_steps": 5, "normalize_observations": True}),
    "reinforce": ("CartPole-v1", {}),
    "cem": ("CartPole-v1", {}),
    "trpo": ("Pendulum-v1", {"n_steps": 32, "normalize_observations": True}),
    "ddpg": ("Pendulum-v1", {"learning_starts": 50}),
    "td3": ("Pendulum-v1", {"learning_starts": 50}),
    "lstm_td3": ("Pendulum-v1", {"learning_starts": 50, "memory_units": 8}),
}


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_every_built_in_agent_loads_its_own_checkpoint(tmp_path, name):
    env_id, config = BUILT_IN[name]
    env = gym.make(env_id)

    def make(num_envs, seed):
        space = env.observation_space, env.action_space
        return registry.make(name, *space, num_envs=num_envs, seed=seed, **config)

    agent = make(1, 0)
    _play(agent, env, 200)  # mid-episode, mid-rollout: every optional part of the state is there
    path = ckpt.save_checkpoint(tmp_path / "ck", {"agent": name}, agent.state_dict())
    fresh = make(1, 1)
    ckpt.load_agent_state(fresh, path)
    _play(fresh, env, 20)
    try:  # another number of envs: the agent adapts, or the checkpoint is refused in one line
        ckpt.load_agent_state(make(2, 1), path)
    except CheckpointError as err:
        assert "\n" not in str(err)


@pytest.mark.parametrize("shape", [(7,), ()], ids=["wrong-shape", "scalar"])
def test_an_adam_moment_of_the_wrong_shape_is_refused(ck, shape):
    # torch's Optimizer.load_state_dict takes it; the fused Adam step then corrupts the heap.
    key = _node(_tree(ck), "optimizer", "state", 0, "exp_avg")["tensor"]
    _rewrite_arrays(ck, **{key: np.ones(shape, np.float32)})
    message = _refused(
        ck, r"DQN\.optimizer: exp_avg of parameter 0 of group 0 (has shape|is a scalar)"
    )
    assert message.endswith("pass the directory --save wrote")


def test_an_adam_state_without_a_moment_is_refused(ck):
    tree = _tree(ck)
    slots = _node(tree, "optimizer", "state", 0)
    slots["dict"] = [pair for pair in slots["dict"] if pair[0] != "exp_avg_sq"]
    (ck / ckpt.TREE_FILE).write_text(json.dumps(tree))
    with np.load(ck / ckpt.ARRAYS_FILE) as npz:
        arrays = {k: npz[k] for k in npz.files}
    used = json.dumps(tree)
    np.savez(ck / ckpt.ARRAYS_FILE, **{k: v for k, v in arrays.items() if f'"{k}"' in used})
    _refused(ck, "the state of parameter 0 of group 0 holds")


def test_a_network_weight_of_the_wrong_shape_is_refused(ck):
    key = _node(_tree(ck), "online", "head.0.weight")["tensor"]
    _rewrite_arrays(ck, **{key: np.ones((64, 5), np.float32)})
    _refused(ck, r"online\.head\.0\.weight has shape \(64, 5\), the agent's \(64, 4\)")


def test_a_wrong_dtype_is_refused(ck):
    key = _node(_tree(ck), "buffer", "obs")["array"]
    with np.load(ck / ckpt.ARRAYS_FILE) as npz:
        obs = npz[key]
    _rewrite_arrays(ck, **{key: obs.astype(np.float64)})
    _refused(ck, "buffer.obs has dtype float64, the agent's float32")


def test_a_tensor_stored_under_another_dtype_is_refused(ck):
    key = _node(_tree(ck), "online", "head.0.weight")["tensor"]
    _rewrite_arrays(ck, **{key: np.ones((64, 4), np.float64)})
    _refused(ck, "is damaged: online.head.0.weight is a torch.float32 tensor stored as float64")


def test_extra_and_missing_keys_are_refused(ck):
    tree = _tree(ck)
    tree["dict"].append(["surprise", {"value": 1}])
    (ck / ckpt.TREE_FILE).write_text(json.dumps(tree))
    _refused(ck, "surprise is not part of the agent's state")

    tree["dict"] = [pair for pair in tree["dict"] if pair[0] not in ("surprise", "n_updates")]
    (ck / ckpt.TREE_FILE).write_text(json.dumps(tree))
    _refused(ck, "does not match this agent: n_updates is missing")


def test_a_scalar_of_another_kind_is_refused(ck):
    tree = _tree(ck)
    _node(tree, "steps")["value"] = "many"
    (ck / ckpt.TREE_FILE).write_text(json.dumps(tree))
    _refused(ck, "steps is a string, the agent's is a number")


def test_an_error_of_the_agents_own_load_becomes_a_checkpoint_error(ck):
    tree = _tree(ck)
    _node(tree, "rng", "bit_generator")["value"] = "MT19937"
    (ck / ckpt.TREE_FILE).write_text(json.dumps(tree))
    _refused(ck, "does not fit this DQN agent: ValueError: saved random state")


def _save_small(path):
    return ckpt.save_checkpoint(path, {"agent": "x"}, {"v": np.zeros(3, np.float32)})


def _npy(shape, descr="<f8", data=b"\0" * 16):
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_2_0(buf, header)
    return buf.getvalue() + data


def test_an_npz_header_claiming_a_huge_array_is_refused_before_reading(tmp_path):
    path = _save_small(tmp_path / "ck")
    with zipfile.ZipFile(path / ckpt.ARRAYS_FILE, "w") as zf:
        zf.writestr("a0.npy", _npy((1_000_000_000_000,)))  # 8 TB of float64
    with pytest.raises(CheckpointError, match=r"a0 claims shape \(1000000000000,\)"):
        ckpt.read_state(path)


@pytest.mark.parametrize(
    ("members", "match"),
    [
        ({"a0.npy": _npy((2,), "|O")}, "a0 has dtype object"),
        ({"a0.npy": _npy((2,)), "notes.txt": b"hi"}, "unknown member notes.txt"),
        ({"a0.npy": _npy((2,)), "a7.npy": _npy((2,))}, "holds a7, which state.json does not name"),
        ({"a1.npy": _npy((2,))}, "names an array arrays.npz does not hold"),
    ],
)
def test_npz_members_that_do_not_belong_are_refused(tmp_path, members, match):
    path = _save_small(tmp_path / "ck")
    with zipfile.ZipFile(path / ckpt.ARRAYS_FILE, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(CheckpointError, match=match):
        ckpt.read_state(path)


def test_an_npz_that_unpacks_to_more_than_it_holds_is_refused(tmp_path):
    path = _save_small(tmp_path / "ck")
    with zipfile.ZipFile(path / ckpt.ARRAYS_FILE, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a0.npy", _npy((2_000_000,), data=bytes(16_000_000)))
    with pytest.raises(CheckpointError, match="unpacks to more than"):
        ckpt.read_state(path)


@pytest.mark.parametrize("levels", [100_000, 150])
def test_a_deeply_nested_state_is_refused(tmp_path, levels):
    path = _save_small(tmp_path / "ck")
    (path / ckpt.TREE_FILE).write_text('{"list": [' * levels + "]}" * levels)
    with pytest.raises(CheckpointError, match="nests deeper than 100 levels"):
        ckpt.read_state(path)


def test_a_state_json_over_the_size_bound_is_refused_without_reading_it(tmp_path):
    path = _save_small(tmp_path / "ck")
    with open(path / ckpt.TREE_FILE, "r+b") as f:
        f.truncate(ckpt.MAX_JSON_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(CheckpointError, match=r"state\.json is larger than 64 MiB"):
        ckpt.read_state(path)


def test_a_symlink_to_a_file_outside_is_refused(tmp_path):
    path = _save_small(tmp_path / "ck")
    outside = tmp_path / "elsewhere.json"
    shutil.move(path / ckpt.TREE_FILE, outside)
    (path / ckpt.TREE_FILE).symlink_to(outside)
    with pytest.raises(CheckpointError, match="symbolic link that leads outside"):
        ckpt.read_state(path)
    # a link that stays inside the checkpoint is fine
    shutil.move(outside, path / "tree")
    (path / ckpt.TREE_FILE).unlink()
    (path / ckpt.TREE_FILE).symlink_to("tree")
    np.testing.assert_array_equal(ckpt.read_state(path)["v"], np.zeros(3))


def test_a_checkpoint_file_that_is_not_a_regular_file_is_refused(tmp_path):
    path = _save_small(tmp_path / "ck")
    (path / ckpt.ARRAYS_FILE).unlink()
    (path / ckpt.ARRAYS_FILE).mkdir()
    with pytest.raises(CheckpointError, match=r"arrays\.npz is not a regular file"):
        ckpt.read_state(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("steps", "many"),
        ("steps", -1),
        ("episodes", 2.5),
        ("config", []),
        ("env_kwargs", None),
        ("seed", 1.5),
        ("seed", True),
        ("preset", 3),
        ("agent", 7),
        ("env_id", "CartPole\nv1"),
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


def test_newer_version_warning():
    warning = ckpt.newer_version_warning({"package_version": "99.0.1"})
    assert warning is not None and "99.0.1" in warning and __version__ in warning
    assert "\n" not in warning
    assert ckpt.newer_version_warning({"package_version": __version__}) is None
    assert ckpt.newer_version_warning({"package_version": "0.0.1"}) is None
    assert ckpt.newer_version_warning({"package_version": "not a version"}) is None
    assert ckpt.newer_version_warning({}) is None


def test_describe_target(tmp_path):
    assert ckpt.describe_target(tmp_path / "nope") == "missing"
    (tmp_path / "empty").mkdir()
    assert ckpt.describe_target(tmp_path / "empty") == "empty"
    assert ckpt.describe_target(_save_small(tmp_path / "ck")) == "checkpoint"
    (tmp_path / "file").write_text("x")
    assert ckpt.describe_target(tmp_path / "file") == "other"
    (tmp_path / "link").symlink_to(tmp_path / "ck")
    assert ckpt.describe_target(tmp_path / "link") == "other"
    (tmp_path / "ck" / "notes.txt").write_text("mine")
    assert ckpt.describe_target(tmp_path / "ck") == "other"


@pytest.mark.parametrize("kind", ["directory", "file", "checkpoint-with-my-notes", "symlink"])
def test_saving_over_what_is_not_a_checkpoint_is_refused_and_touches_nothing(tmp_path, kind):
    target = tmp_path / "target"
    if kind == "directory":
        target.mkdir()
        (target / "thesis.tex").write_text("years of work")
    elif kind == "file":
        target.write_text("years of work")
    elif kind == "checkpoint-with-my-notes":
        _save_small(target)
        (target / "thesis.tex").write_text("years of work")
    else:
        (tmp_path / "real").mkdir()
        target.symlink_to(tmp_path / "real")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(CheckpointError, match="refusing to"):
        _save_small(target)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if kind != "symlink":
        thesis = target / "thesis.tex" if target.is_dir() else target
        assert thesis.read_text() == "years of work"


def test_saving_over_a_checkpoint_or_an_empty_directory_works(tmp_path):
    (tmp_path / "empty").mkdir()
    _save_small(tmp_path / "empty")
    ckpt.save_checkpoint(tmp_path / "empty", {"agent": "x"}, {"v": np.ones(2)})
    np.testing.assert_array_equal(ckpt.read_state(tmp_path / "empty")["v"], np.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_move_aside_keeps_the_content(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    first = ckpt.move_aside(target)
    assert not target.exists()
    assert first.parent == tmp_path and first.name.startswith("target.replaced-")
    assert (first / "thesis.tex").read_text() == "years of work"
    target.write_text("another")
    second = ckpt.move_aside(target)  # the same second: a suffix keeps both
    assert second != first and second.read_text() == "another"
    assert (first / "thesis.tex").read_text() == "years of work"
    _save_small(target)  # the name is free for the checkpoint now
    with pytest.raises(CheckpointError, match="nothing to move aside"):
        ckpt.move_aside(tmp_path / "nope")


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temporary_directories_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    dead = tmp_path / f".ck.tmp-{_dead_pid()}"
    dead.mkdir()
    (dead / ckpt.ARRAYS_FILE).write_bytes(b"half written")
    own = tmp_path / f".ck.tmp-{os.getpid()}"
    own.mkdir()
    alive = tmp_path / f".ck.tmp-{os.getppid()}"  # a save still running in another process
    alive.mkdir()
    other = tmp_path / ".ck.tmp-mine"
    other.mkdir()
    _save_small(tmp_path / "ck")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ck", alive.name, other.name])


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


def test_a_run_state_is_read_with_the_same_bounds(tmp_path):
    path = ckpt.save_checkpoint(tmp_path / "ck", {"agent": "x"}, {}, {"obs": np.zeros(2)})
    (path / ckpt.RUN_TREE_FILE).write_text('{"list": [' * 100_000 + "]}" * 100_000)
    with pytest.raises(CheckpointError, match=r"run_state\.json nests deeper"):
        ckpt.read_run_state(path)


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
