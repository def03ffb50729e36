"""ONNX export: for each exportable agent, onnxruntime's actions on 1,000 observations equal the
agent's greedy actions (discrete: identical; continuous: within 1e-5); ``rlrun play`` prints the
mean return ``--eval-only`` prints, without torch; what cannot be exported says why."""

import json
import subprocess
import sys

import numpy as np
import pytest
from gymnasium import spaces
from rlagents_test_plugin.runner import invoke

import rlagents
from rlagents.export import ExportError, export, export_agent, metadata_path

ort = pytest.importorskip("onnxruntime", reason="the export extra is not installed")
pytest.importorskip("onnxscript", reason="the export extra is not installed")

SMALL_OFF = {"learning_starts": 50, "batch_size": 16, "net_arch": (16, 16)}
CASES = {
    "dqn": ("CartPole-v1", {"learning_starts": 50, "net_arch": (16,), "dueling": True}),
    "ppo": ("CartPole-v1", {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "net_arch": (16,)}),
    "a2c": ("CartPole-v1", {"net_arch": (16,)}),
    "trpo": ("CartPole-v1", {"n_steps": 64, "batch_size": 32, "net_arch": (16,)}),
    "reinforce": ("CartPole-v1", {"n_episodes": 2, "net_arch": (16,)}),
    "ddpg": ("Pendulum-v1", SMALL_OFF),
    "td3": ("Pendulum-v1", SMALL_OFF),
    "sac": ("Pendulum-v1", SMALL_OFF),
    "sac-gsde": ("MountainCarContinuous-v0", {**SMALL_OFF, "use_sde": True}),  # a clipped mean
    # a Gaussian policy with its observations normalised, clipped to the bounds
    "ppo-box": ("Pendulum-v1", {"n_steps": 32, "batch_size": 32, "normalize_observations": True}),
    # squashed and Beta policies
    "ppo-tanh": ("Pendulum-v1", {"n_steps": 32, "batch_size": 32, "box_actions": "tanh"}),
    "a2c-beta": ("Pendulum-v1", {"box_actions": "beta"}),
}


def _train(tmp_path, case):
    env, config = CASES[case]
    agent = case.split("-")[0]
    return rlagents.train(
        env, agent, steps=300, seed=0, config=config, eval_episodes=0,
        run_dir=tmp_path / "run", tensorboard=False, hyperparams="none",
    )  # fmt: skip


def _observations(space, n=1_000):
    space.seed(1)
    return np.stack([space.sample() for _ in range(n)])


@pytest.mark.parametrize("case", sorted(CASES))
def test_onnxruntime_acts_as_the_agent_does(tmp_path, case):
    result = _train(tmp_path, case)
    out = export(result.checkpoint, tmp_path / "policy.onnx")
    agent = result.agent
    obs = _observations(agent.observation_space)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    exported = session.run(None, {"obs": obs.astype(agent.observation_space.dtype)})[0]
    expected = agent.act(obs, explore=False)
    if isinstance(agent.action_space, spaces.Discrete):
        np.testing.assert_array_equal(exported, expected)
    else:
        assert exported.shape == expected.shape
        np.testing.assert_allclose(exported, expected, atol=1e-5, rtol=0)
    meta = json.loads(metadata_path(out).read_text())
    assert meta["env_id"] == CASES[case][0] and meta["input"]["name"] == "obs"
    assert meta["input"]["shape"][0] == "batch"


def test_a_cnn_policy_takes_the_uint8_channel_first_stack(tmp_path):
    from rlagents.agents.ppo import PPO

    space = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    config = {"n_steps": 8, "batch_size": 8, "cnn_precision": "float32"}  # bfloat16: see graphs
    agent = PPO(space, spaces.Discrete(6), config, seed=0)
    out = export_agent(agent, tmp_path / "atari.onnx", meta={"agent": "ppo", "env_id": "x"})
    obs = _observations(space, 16)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(None, {"obs": obs})[0], agent.act(obs, explore=False))
    assert json.loads(metadata_path(out).read_text())["input"]["dtype"] == "uint8"


def test_play_prints_the_mean_return_eval_only_prints_without_torch(tmp_path):
    result = _train(tmp_path, "ppo")
    exported = invoke("export", result.checkpoint, "--out", tmp_path / "p" / "policy.onnx")
    assert exported.exit_code == 0, exported.stderr
    evaluated = invoke(
        *("--load", result.checkpoint, "--eval-only", "--eval-episodes", "5", "--seed", "3"),
        run_dir=tmp_path / "eval",
    )
    assert evaluated.exit_code == 0, evaluated.stderr
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    code = (
        "import sys; sys.modules['torch'] = None\n"  # importing torch now fails
        "from cli.main import main; main()"
    )
    played = subprocess.run(
        [sys.executable, "-c", code, "play", str(tmp_path / "p" / "policy.onnx"),
         "--episodes", "5", "--seed", "3"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert played.returncode == 0, played.stderr
    assert f"eval {summary['eval_mean_return']:.2f} ± {summary['eval_std_return']:.2f}" in (
        played.stdout
    )


@pytest.mark.parametrize(
    ("agent", "env", "message"),
    [
        ("qlearning", "FrozenLake-v1", "qlearning cannot be exported: its policy is a table"),
        ("lstm_td3", "Pendulum-v1", "lstm_td3 cannot be exported: its actor reads a window"),
    ],
)
def test_what_cannot_be_exported_says_why(tmp_path, agent, env, message):
    result = rlagents.train(
        env, agent, steps=200, seed=0, eval_episodes=0, run_dir=tmp_path / "r", tensorboard=False
    )
    r = invoke("export", result.checkpoint, "--out", tmp_path / "x.onnx")
    assert r.exit_code == 2 and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.onnx").exists()


def test_an_existing_file_is_kept_unless_overwrite(tmp_path):
    result = _train(tmp_path, "dqn")
    (tmp_path / "policy.onnx").write_text("mine")
    with pytest.raises(ExportError, match="exists; pick another name or pass overwrite=True"):
        export(result.checkpoint, tmp_path / "policy.onnx")
    assert (tmp_path / "policy.onnx").read_text() == "mine"
    r = invoke("export", result.checkpoint, "--out", tmp_path / "policy.onnx")
    assert r.exit_code == 2 and "pass --overwrite" in r.stderr
    export(result.checkpoint, tmp_path / "policy.onnx", overwrite=True)
    assert (tmp_path / "policy.onnx").stat().st_size > 1_000
    with pytest.raises(ExportError, match=r"name the file \*\.onnx"):
        export(result.checkpoint, tmp_path / "policy.bin")


def test_a_damaged_policy_is_one_line(tmp_path):
    (tmp_path / "policy.onnx").write_bytes(b"not a graph")
    (tmp_path / "policy.json").write_text('{"input": {"dtype": "float32"}}')
    r = invoke("play", tmp_path / "policy.onnx")
    assert r.exit_code == 2 and "cannot load it" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("env", "agent", "config"),
    [
        ("classic/tictactoe-v3", "dqn", {"learning_starts": 100, "net_arch": (16,)}),
        ("classic/tictactoe-v3", "ppo", {"n_steps": 32, "batch_size": 32, "net_arch": (16,)}),
        ("mpe2:simple_spread_v3", "ppo", {"n_steps": 32, "batch_size": 96, "net_arch": (16,)}),
    ],
)
def test_multi_agent_policies_export_and_play_as_eval_only(tmp_path, env, agent, config):
    """A masked game's policy (the Dict observation flattened, illegal moves masked in the
    graph) and a Parallel env's shared policy play rlrun --eval-only's evaluation: against
    random play from each seat, or the agents together."""
    pytest.importorskip("pettingzoo")
    if env.startswith("mpe2"):
        pytest.importorskip("mpe2")
    result = rlagents.train(
        env, agent, steps=400, seed=0, config=config, eval_episodes=0, num_envs=2,
        run_dir=tmp_path / "run", tensorboard=False, hyperparams="none",
    )  # fmt: skip
    out = export(result.checkpoint, tmp_path / "policy.onnx")
    from rlagents.export.player import OnnxPolicy, play

    policy, learner = OnnxPolicy(out), result.agent
    space = learner.observation_space
    space.seed(2)
    samples = [space.sample() for _ in range(200)]
    obs = (
        {k: np.stack([s[k] for s in samples]) for k in space.spaces}
        if isinstance(space, spaces.Dict)
        else np.stack(samples)
    )
    np.testing.assert_array_equal(policy.act(obs), learner.act(obs, explore=False))
    evaluated = rlagents.train(
        load=result.checkpoint, eval_only=True, eval_episodes=3, seed=5,
        run_dir=tmp_path / "eval", tensorboard=False,
    )  # fmt: skip
    returns = play(out, episodes=3, seed=5)
    assert np.mean(returns) == pytest.approx(evaluated.summary["eval_mean_return"])


def test_a_path_that_cannot_be_written_is_one_line_and_keeps_what_is_there(tmp_path):
    result = _train(tmp_path, "dqn")
    (tmp_path / "a_file").write_text("mine")
    r = invoke("export", result.checkpoint, "--out", tmp_path / "a_file" / "policy.onnx")
    assert r.exit_code == 2 and "cannot write" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert (tmp_path / "a_file").read_text() == "mine"
