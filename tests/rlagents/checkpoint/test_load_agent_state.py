"""A trained agent's checkpoint loads into a fresh agent, and one crafted to fit it badly is
refused before the agent sees it (keys, kinds, dtypes, shapes), after (its optimizers' state) or
when the agent's own ``load_state_dict`` raises: always a one-line CheckpointError, never a crash.
"""

import json
import shutil

import gymnasium as gym
import numpy as np
import pytest

from rlagents import checkpoint as ckpt
from rlagents import registry
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


def _write_tree(path, tree):
    """Write ``tree`` as state.json and drop the arrays it no longer names."""
    (path / ckpt.TREE_FILE).write_text(json.dumps(tree))
    with np.load(path / ckpt.ARRAYS_FILE) as npz:
        arrays = {k: npz[k] for k in npz.files}
    used = json.dumps(tree)
    np.savez(path / ckpt.ARRAYS_FILE, **{k: v for k, v in arrays.items() if f'"{k}"' in used})


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
    assert message.endswith("pass the checkpoint directory a run wrote")


def test_an_adam_state_without_a_moment_is_refused(ck):
    tree = _tree(ck)
    slots = _node(tree, "optimizer", "state", 0)
    slots["dict"] = [pair for pair in slots["dict"] if pair[0] != "exp_avg_sq"]
    _write_tree(ck, tree)
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


def test_a_replay_buffer_array_of_the_wrong_shape_is_refused(ck):
    key = _node(_tree(ck), "buffer", "obs")["array"]
    _rewrite_arrays(ck, **{key: np.zeros((5,), np.float32)})
    _refused(ck, r"buffer\.obs has shape \(5,\), the agent's \(0, 4\)")


def test_a_missing_network_is_refused_though_other_parts_may_be_left_out(ck):
    # The target, the optimizer and the buffer may be left out (a kept agent); "online" may not.
    tree = _tree(ck)
    tree["dict"] = [pair for pair in tree["dict"] if pair[0] != "target"]
    _write_tree(ck, tree)
    ckpt.load_agent_state(_dqn(seed=1)[0], ck)
    tree["dict"] = [pair for pair in tree["dict"] if pair[0] != "online"]
    _write_tree(ck, tree)
    _refused(ck, "does not match this agent: online is missing")


def test_arrays_of_a_part_the_state_leaves_out_are_refused(ck):
    tree = _tree(ck)
    tree["dict"] = [pair for pair in tree["dict"] if pair[0] != "target"]
    (ck / ckpt.TREE_FILE).write_text(json.dumps(tree))  # the target's arrays stay in arrays.npz
    _refused(ck, "holds a[0-9]+, which state.json does not name")
