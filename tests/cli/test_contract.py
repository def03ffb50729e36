"""What the loop hands the agent: batch shapes, true final observations, terminated vs truncated."""

import numpy as np
import pytest
from rlagents_test_plugin import RecordingAgent

RECORDER = "rlagents_test_plugin:RecordingAgent"


@pytest.mark.parametrize("num_envs", [1, 3])
def test_batches_have_a_leading_env_axis(run_cli, num_envs):
    r = run_cli(
        "--env",
        "CartPole-v1",
        "--agent",
        RECORDER,
        "--steps",
        str(30 * num_envs),
        "--num-envs",
        str(num_envs),
        "--eval-episodes",
        "0",
        "--seed",
        "0",
    )
    assert r.exit_code == 0, r.stderr
    assert len(RecordingAgent.log) == 30
    assert set(RecordingAgent.act_shapes) == {(num_envs, 4)}
    t = RecordingAgent.log[0]
    assert t.obs.shape == t.next_obs.shape == (num_envs, 4)
    assert (
        t.action.shape == t.reward.shape == t.terminated.shape == t.truncated.shape == (num_envs,)
    )
    assert t.terminated.dtype == t.truncated.dtype == np.bool_


@pytest.mark.parametrize("num_envs", [1, 2])
def test_next_obs_at_termination_is_the_true_final_observation(run_cli, num_envs):
    r = run_cli(
        "--env",
        "CartPole-v1",
        "--agent",
        RECORDER,
        "--steps",
        str(400 * num_envs),
        "--num-envs",
        str(num_envs),
        "--eval-episodes",
        "0",
        "--seed",
        "1",
    )
    assert r.exit_code == 0, r.stderr
    log = RecordingAgent.log
    ended = 0
    for step, t in enumerate(log[:-1]):
        for i in np.flatnonzero(t.terminated):
            ended += 1
            x, theta = t.next_obs[i][0], t.next_obs[i][2]
            assert abs(x) > 2.4 or abs(theta) > 0.2095  # CartPole's termination condition
            reset = log[step + 1].obs[i]
            assert np.all(np.abs(reset) <= 0.05)  # the next episode starts from the reset obs
        for i in np.flatnonzero(~(t.terminated | t.truncated)):
            np.testing.assert_array_equal(t.next_obs[i], log[step + 1].obs[i])
    assert ended >= 5


@pytest.mark.parametrize("num_envs", [1, 2])
def test_truncation_is_reported_as_truncation(run_cli, num_envs):
    r = run_cli(
        "--env",
        "CartPole-v1",
        "--agent",
        RECORDER,
        "--steps",
        str(40 * num_envs),
        "--num-envs",
        str(num_envs),
        "--env-kwargs",
        "max_episode_steps=5",
        "--eval-episodes",
        "0",
        "--seed",
        "2",
    )
    assert r.exit_code == 0, r.stderr
    lengths = np.zeros(num_envs, dtype=int)
    truncations = 0
    for t in RecordingAgent.log:
        lengths += 1
        assert not (t.terminated & t.truncated).any()
        for i in range(num_envs):
            if lengths[i] == 5 and not t.terminated[i]:
                assert t.truncated[i]
                truncations += 1
            if t.terminated[i] or t.truncated[i]:
                lengths[i] = 0
    assert truncations >= num_envs * 2


def test_atari_ids_work_without_importing_ale_py_and_get_the_atari_preset(run_cli):
    r = run_cli(
        "--env", "ALE/Pong-v5", "--agent", RECORDER, "--steps", "20", "--eval-episodes", "0"
    )
    assert r.exit_code == 0, r.stderr
    assert r.summary["preset"] == "atari"
    assert RecordingAgent.log[0].obs.shape == (1, 4, 84, 84)
    assert RecordingAgent.log[0].obs.dtype == np.uint8
