"""A resumed run is the same run: N steps give the same episodes and the same weights as N/2
steps, a checkpoint (agent state and env snapshot), and N/2 more steps resumed from it in a
fresh agent and a fresh env. Each split falls in the middle of an episode (and of a rollout, an
n-step window, a block of pre-drawn random numbers)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import wrappers
from rlagents import checkpoint as ckpt
from rlagents import registry
from rlagents.agent import Agent, Transition
from rlagents.common.frame_replay import FrameReplayBuffer
from rlagents.common.replay import ReplayBuffer
from rlagents.env_snapshot import restore_env, snapshot_env, why_not_snapshotable

SAME_STEP = gym.vector.AutoresetMode.SAME_STEP
OFF_POLICY = {"learning_starts": 100, "buffer_size": 2000, "batch_size": 32, "net_arch": (32, 32)}
# agent: (env id, small config, total steps N); N/2 is odd and off every rollout/train boundary
CASES: dict[str, tuple[str, dict[str, Any], int]] = {
    "random": ("CartPole-v1", {}, 602),
    "qlearning": ("FrozenLake-v1", {}, 1002),
    "sarsa": ("FrozenLake-v1", {}, 1002),
    "cem": (
        "CartPole-v1",
        {"n_episodes": 4, "net_arch": (16,), "batch_size": 64, "elite_memory": 2},
        602,
    ),
    "dqn": (
        "CartPole-v1",
        {**OFF_POLICY, "n_steps": 3, "target_update_interval": 200, "exploration_steps": 1000},
        602,
    ),
    "reinforce": ("CartPole-v1", {"n_episodes": 2, "net_arch": (16,)}, 602),
    "a2c": ("CartPole-v1", {"net_arch": (16,)}, 602),
    "ppo": (
        "CartPole-v1",
        {"n_steps": 64, "batch_size": 32, "n_epochs": 2, "net_arch": (16,)},
        602,
    ),
    "trpo": (
        "CartPole-v1",
        {"n_steps": 64, "batch_size": 32, "n_critic_updates": 2, "net_arch": (16,)},
        602,
    ),
    "ddpg": ("Pendulum-v1", OFF_POLICY, 402),
    "td3": ("Pendulum-v1", OFF_POLICY, 402),
    "lstm_td3": ("Pendulum-v1", {**OFF_POLICY, "memory_units": 8, "history_length": 3}, 402),
    "sac": ("Pendulum-v1", OFF_POLICY, 402),
    # gSDE: the acting noise weights, drawn every 8 steps, are part of the checkpoint
    "sac-gsde": (
        "MountainCarContinuous-v0",
        {**OFF_POLICY, "use_sde": True, "sde_sample_freq": 8, "learning_starts": 0},
        402,
    ),
}
RUNS = [(name, 1) for name in CASES] + [
    ("dqn", 4),
    ("a2c", 4),
    ("ppo", 4),
    ("trpo", 4),
    ("lstm_td3", 4),
    ("sac", 4),
    ("sac-gsde", 4),
]


# ------------------------------------------------------------------------------------ the loop
def make_env(env_id: str, num_envs: int) -> Any:
    if num_envs == 1:
        return gym.make(env_id)
    return gym.vector.SyncVectorEnv([lambda: gym.make(env_id)] * num_envs, autoreset_mode=SAME_STEP)


def make_agent(name: str, env: Any, num_envs: int, seed: int = 0) -> Agent:
    single = num_envs == 1
    obs_space = env.observation_space if single else env.single_observation_space
    act_space = env.action_space if single else env.single_action_space
    agent_cls = registry.load(name.split("-")[0])  # a case's name: agent[-variant]
    return agent_cls(obs_space, act_space, CASES[name][1], num_envs=num_envs, seed=seed)


class Loop:
    """act → env step → observe → update, as ``rlrun`` does it (see ``cli/steppers.py``); the
    log holds every step's rewards and flags, the metrics, and each finished episode."""

    def __init__(self, agent: Agent, env: Any, num_envs: int) -> None:
        self.agent, self.env, self.num_envs = agent, env, num_envs
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.log: list[Any] = []
        self.obs: np.ndarray = np.empty(0)

    def reset(self, seed: int) -> None:
        obs, _ = self.env.reset(seed=seed)
        self.obs = np.asarray(obs)[None] if self.num_envs == 1 else obs

    def run(self, steps: int) -> None:
        for _ in range(steps):
            action = self.agent.act(self.obs)
            if self.num_envs == 1:
                obs, r, term, trunc, _ = self.env.step(action[0])
                next_obs = after = np.asarray(obs)[None]
                if term or trunc:
                    after = np.asarray(self.env.reset()[0])[None]
                reward, terminated, truncated = np.array([r], np.float32), [term], [trunc]
            else:
                after, r, terminated, truncated, info = self.env.step(action)
                next_obs = after
                ended = np.flatnonzero(terminated | truncated)
                if len(ended):
                    next_obs = after.copy()
                    for i in ended:
                        next_obs[i] = info["final_obs"][i]
                reward = r.astype(np.float32)
            t = Transition(
                self.obs, action, reward, next_obs, np.array(terminated), np.array(truncated)
            )
            self.agent.observe(t)
            metrics = self.agent.update()
            self.lengths += 1
            done = t.terminated | t.truncated
            self.log.append(
                (
                    reward.tolist(),
                    done.tolist(),
                    sorted(metrics.items()),
                    self.lengths[done].tolist(),
                )
            )
            self.lengths[done] = 0
            self.obs = after


def assert_same(a: Any, b: Any, where: str = "state") -> None:
    """Equal trees: tensors with torch.equal, arrays with np.array_equal, NaN equal to NaN."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif torch.is_tensor(a):
        assert torch.is_tensor(b) and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    else:
        assert a == b or (a != a and b != b), f"{where}: {a!r} != {b!r}"


def uninterrupted(name: str, num_envs: int) -> Loop:
    env_id, _, steps = CASES[name]
    env = make_env(env_id, num_envs)
    loop = Loop(make_agent(name, env, num_envs), env, num_envs)
    loop.reset(seed=0)
    loop.run(steps)
    return loop


def resumed(name: str, num_envs: int, tmp_path: Any) -> Loop:
    env_id, _, steps = CASES[name]
    env = make_env(env_id, num_envs)
    first = Loop(make_agent(name, env, num_envs), env, num_envs)
    first.reset(seed=0)
    first.run(steps // 2)
    assert first.lengths.any(), "the split should fall in the middle of an episode"
    buffer = getattr(first.agent, "buffer", None)
    if hasattr(buffer, "n_steps"):  # a rollout agent: the split falls inside a rollout
        assert 0 < buffer.pos < buffer.n_steps
    state = {"agent": first.agent.state_dict(), "env": snapshot_env(env), "obs": first.obs}
    ckpt.save_checkpoint(tmp_path / "ck", {"agent": name}, state)

    saved = ckpt.read_state(tmp_path / "ck")
    fresh_env = make_env(env_id, num_envs)  # not reset: the snapshot is its state
    second = Loop(make_agent(name, fresh_env, num_envs, seed=123), fresh_env, num_envs)
    second.agent.load_state_dict(saved["agent"])
    restore_env(fresh_env, saved["env"])
    second.obs, second.lengths, second.log = saved["obs"], first.lengths, first.log
    second.run(steps - steps // 2)
    return second


# ------------------------------------------------------------------------------------- agents
@pytest.mark.parametrize(("name", "num_envs"), RUNS)
def test_two_runs_with_one_seed_are_the_same(name, num_envs):
    a, b = uninterrupted(name, num_envs), uninterrupted(name, num_envs)
    assert_same(a.log, b.log, "log")
    assert_same(a.agent.state_dict(), b.agent.state_dict())


@pytest.mark.parametrize(("name", "num_envs"), RUNS)
def test_a_resumed_run_is_the_same_run(name, num_envs, tmp_path):
    a, b = uninterrupted(name, num_envs), resumed(name, num_envs, tmp_path)
    assert_same(a.log, b.log, "log")
    assert_same(a.agent.state_dict(), b.agent.state_dict())
    assert_same(_without_space_rngs(snapshot_env(a.env)), _without_space_rngs(snapshot_env(b.env)))


def _without_space_rngs(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A SyncVectorEnv seeds its spaces from the OS at construction (``batch_space`` copies the
    single space's generator); nothing in these runs draws from them."""
    layers = [{**layer, "space_rngs": {}} for layer in snapshot["layers"]]
    envs = [_without_space_rngs(env) for env in snapshot.get("envs", [])]
    return {"layers": layers, "envs": envs}


def test_dqn_with_background_training_resumes_exactly(tmp_path, monkeypatch):
    """The acting copy runs one round behind the online network; a checkpoint keeps it so."""
    config = {**CASES["dqn"][1], "background_training": "on"}
    monkeypatch.setitem(CASES, "dqn", (CASES["dqn"][0], config, CASES["dqn"][2]))
    a, b = uninterrupted("dqn", 1), resumed("dqn", 1, tmp_path)
    assert_same(a.log, b.log, "log")
    assert_same(a.agent.state_dict(), b.agent.state_dict())


# Keys the checkpoints of each agent lacked before they resumed exactly.
NEW_KEYS = {
    "qlearning": ("random_block", "per_env"),
    "cem": ("noise", "in_progress", "finished", "kept"),
    "dqn": ("random_block", "metric_sums", "metric_count"),
    "reinforce": ("running", "finished"),
    "ppo": ("rollout",),
    "ddpg": ("metric_sums", "metric_counts"),
}


@pytest.mark.parametrize("name", sorted(NEW_KEYS))
def test_older_checkpoints_still_load(name):
    loop = uninterrupted(name, 1)
    old = {k: v for k, v in loop.agent.state_dict().items() if k not in NEW_KEYS[name]}
    if isinstance(old.get("buffer"), dict):
        old["buffer"] = {k: v for k, v in old["buffer"].items() if k != "newest_open"}
    fresh = make_agent(name, loop.env, 1, seed=1)
    fresh.load_state_dict(old)
    fresh_loop = Loop(fresh, loop.env, 1)
    fresh_loop.reset(seed=1)
    fresh_loop.run(20)


def test_an_older_replay_buffer_cuts_its_newest_windows():
    buffer = ReplayBuffer(10, gym.spaces.Box(-1, 1, (1,)), gym.spaces.Discrete(2))
    no = np.array([False, False])
    for k in range(3):
        obs = np.full((2, 1), k, np.float32)
        buffer.add(Transition(obs, np.array([0, 1]), np.ones(2, np.float32), obs + 1, no, no))
    state = buffer.state_dict()
    exact = ReplayBuffer(10, gym.spaces.Box(-1, 1, (1,)), gym.spaces.Discrete(2))
    exact.load_state_dict(state)
    assert not exact.cut.any()
    del state["newest_open"]
    old = ReplayBuffer(10, gym.spaces.Box(-1, 1, (1,)), gym.spaces.Discrete(2))
    old.load_state_dict(state)
    assert old.cut.tolist() == [False] * 4 + [True] * 2 + [False] * 4


def test_a_frame_buffer_resumes_mid_episode(tmp_path):
    """Restored envs continue the stored episode; reset ones start a new one at the next add."""
    space, actions = gym.spaces.Box(0, 255, (2, 3, 3), np.uint8), gym.spaces.Discrete(2)
    frames = np.random.default_rng(0).integers(0, 256, (30, 3, 3), dtype=np.uint8)
    no = np.array([False])

    def step(t: int, first: int = 0) -> Transition:
        obs, next_obs = frames[first + t : first + t + 2], frames[first + t + 1 : first + t + 3]
        return Transition(
            obs[None], np.array([t % 2]), np.ones(1, np.float32), next_obs[None], no, no
        )

    full = FrameReplayBuffer(64, space, actions)
    for t in range(10):
        full.add(step(t))
    half = FrameReplayBuffer(64, space, actions)
    for t in range(5):
        half.add(step(t))
    ckpt.save_checkpoint(tmp_path / "ck", {"agent": "x"}, {"buffer": half.state_dict()})

    resumed = FrameReplayBuffer(64, space, actions)
    resumed.load_state_dict(ckpt.read_state(tmp_path / "ck")["buffer"])
    for t in range(5, 10):
        resumed.add(step(t))
    assert_same(full.state_dict(), resumed.state_dict(), "buffer")

    restarted = FrameReplayBuffer(64, space, actions)
    restarted.load_state_dict(ckpt.read_state(tmp_path / "ck")["buffer"])
    restarted.add(step(0, first=20))  # not the stored episode's next observation
    assert restarted.cut[0, 6] and restarted.steps == 6  # slots 0-1: prefix, 2-6: steps


@pytest.mark.parametrize("name", ["cem", "dqn", "reinforce", "ppo"])
def test_envs_restarted_forgets_what_ran_on(name):
    loop = uninterrupted(name, 1)
    loop.run(3)  # off any boundary
    agent: Any = loop.agent
    agent.envs_restarted()
    if name == "cem":
        assert not any(agent._ep_obs) and not agent._noise.any()
    elif name == "dqn":
        assert agent.buffer.cut[(agent.buffer.pos - 1) % agent.buffer.capacity]
    elif name == "reinforce":
        assert not agent.running.lengths.any()
    else:
        assert agent.buffer.pos == 0


# --------------------------------------------------------------------------------------- envs
def _makers() -> list[Any]:
    def vector(make: Any) -> Any:
        return lambda: gym.vector.SyncVectorEnv([make] * 3, autoreset_mode=SAME_STEP)

    makers = []
    for env_id in ("CartPole-v1", "MountainCar-v0", "Pendulum-v1", "Acrobot-v1"):
        discretized = lambda i=env_id: wrappers.PRESETS["discretized"](i)  # noqa: E731
        makers.append(pytest.param(lambda i=env_id: gym.make(i), id=env_id))
        makers.append(pytest.param(discretized, id=f"{env_id}-discretized"))
        makers.append(pytest.param(vector(discretized), id=f"{env_id}-discretized-vector"))
    for env_id in ("CartPole-v1", "MountainCar-v0", "Pendulum-v1", "Acrobot-v1", "FrozenLake-v1"):
        makers.append(pytest.param(vector(lambda i=env_id: gym.make(i)), id=f"{env_id}-vector"))
    for env_id in ("FrozenLake-v1", "Taxi-v4"):
        makers.append(pytest.param(lambda i=env_id: gym.make(i), id=env_id))
    return makers


def _play(env: Any, actions: list[Any]) -> list[Any]:
    out = []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        out.append((np.asarray(obs), np.asarray(reward), terminated, truncated))
        if "final_obs" in info:
            out.append(list(info["final_obs"]))
        if not isinstance(env, gym.vector.VectorEnv) and (terminated or truncated):
            out.append(env.reset()[0])
    return out


@pytest.mark.parametrize("make", _makers())
def test_an_env_snapshot_round_trips_through_a_checkpoint(make, tmp_path):
    env = make()
    env.reset(seed=3)
    env.action_space.seed(4)
    _play(env, [env.action_space.sample() for _ in range(40)])
    ckpt.save_checkpoint(tmp_path / "ck", {"agent": "x"}, {"env": snapshot_env(env)})
    actions = [env.action_space.sample() for _ in range(500)]
    expected = _play(env, actions)

    fresh = make()  # never reset
    restore_env(fresh, ckpt.read_state(tmp_path / "ck")["env"])
    # the action space's generator came back too: it draws the same actions
    assert_same(actions, [fresh.action_space.sample() for _ in range(500)], "actions")
    assert_same(expected, _play(fresh, actions), "steps")


def test_envs_with_other_objects_are_not_snapshotable():
    import ale_py

    gym.register_envs(ale_py)
    lander = gym.make("LunarLander-v3")
    assert why_not_snapshotable(lander) == "LunarLander keeps a Box2D b2World in 'world'"
    with pytest.raises(ValueError, match="LunarLander keeps a Box2D b2World in 'world'"):
        snapshot_env(lander)
    pong = gym.make("ALE/Pong-v5")
    assert why_not_snapshotable(pong) == "AtariEnv keeps an ale_py ALEInterface in 'ale'"
    vector = gym.vector.SyncVectorEnv([lambda: gym.make("LunarLander-v3")])
    assert why_not_snapshotable(vector) == (
        "SyncVectorEnv env 0: LunarLander keeps a Box2D b2World in 'world'"
    )
    for env in (lander, pong, vector):
        env.close()


def test_a_snapshot_only_fits_an_env_made_alike():
    snapshot = snapshot_env(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="the snapshot is of an env TimeLimit"):
        restore_env(wrappers.PRESETS["discretized"]("CartPole-v1"), snapshot)
