"""``--workers N``: the learner gets one rollout of all the workers' envs, in order, with their
episodes' boundaries; it learns as the single-process agent with N × num_envs envs does."""

import itertools
import json
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
from rlagents_test_plugin.runner import invoke

import rlagents
from rlagents.common.normalize import ObservationNormalizer
from rlagents.common.rollout import RolloutBuffer


def _filled(num_envs, n_steps, offset):
    buffer = RolloutBuffer(n_steps, num_envs, (3,), np.float32, (), np.int64)
    rng = np.random.default_rng(offset)
    for t in range(n_steps):
        truncated = np.zeros(num_envs, bool)
        truncated[0] = t == 1  # env 0 is cut by its time limit at step 1
        buffer.add(
            rng.normal(size=(num_envs, 3)).astype(np.float32),
            rng.integers(0, 2, num_envs),
            rng.normal(size=num_envs).astype(np.float32),
            rng.random(num_envs) < 0.2,
            truncated,
        )
        envs = buffer.needs_final_obs()
        if envs is not None:
            buffer.keep_final_obs(envs, rng.normal(size=(len(envs), 3)).astype(np.float32))
    return buffer


def test_parts_side_by_side_are_one_rollout_with_the_same_advantages():
    parts = [_filled(2, 4, offset=1), _filled(3, 4, offset=2)]
    merged = RolloutBuffer(4, 5, (3,), np.float32, (), np.int64)
    merged.load_parts([part.state_dict() for part in parts])
    np.testing.assert_array_equal(merged.obs[:, 2:], parts[1].obs)
    np.testing.assert_array_equal(merged.truncated[:, :2], parts[0].truncated)
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(4, p.num_envs)).astype(np.float32) for p in parts]
    finals = [rng.normal(size=len(p.final_obs())).astype(np.float32) for p in parts]
    alone = [
        p.advantages(v, f, 0.9, 0.95)[0] for p, v, f in zip(parts, values, finals, strict=True)
    ]
    together = merged.advantages(np.concatenate(values, 1), np.concatenate(finals), 0.9, 0.95)[0]
    np.testing.assert_allclose(together, np.concatenate(alone, axis=1), rtol=1e-6)


def test_parts_that_do_not_make_the_rollout_are_refused():
    merged = RolloutBuffer(4, 5, (3,), np.float32, (), np.int64)
    with pytest.raises(ValueError, match="do not make a rollout of 5 envs"):
        merged.load_parts([_filled(2, 4, offset=1).state_dict()])


def test_worker_statistics_merged_into_the_learner_equal_one_stream():
    rng = np.random.default_rng(0)
    first, b1, b2 = (rng.normal(3.0, 2.0, size=(50, 2)) for _ in range(3))
    learner, worker, direct = (ObservationNormalizer((2,)) for _ in range(3))
    learner(first, update=True)
    direct(first, update=True)
    worker.load_state_dict(learner.state_dict())  # the broadcast
    base = worker.state_dict()
    for batch in (b1, b2):
        worker(batch, update=True)
        direct(batch, update=True)
    learner.rms.merge(worker.rms.since(base))
    np.testing.assert_allclose(learner.rms.mean, direct.rms.mean, rtol=1e-10)
    np.testing.assert_allclose(learner.rms.var, direct.rms.var, rtol=1e-9)
    assert learner.rms.count == pytest.approx(direct.rms.count)


def _reset_obs(seed):
    return gym.make("CartPole-v1").reset(seed=seed)[0]


def test_two_workers_give_the_learner_all_envs_with_their_episode_boundaries(
    local_ray, tmp_path, monkeypatch
):
    rollouts = []
    original = RolloutBuffer.load_parts

    def recording(self, parts):
        original(self, parts)
        finals = {s: obs for s, e, obs in _boot_rows(self) if s == self.n_steps - 1}
        rollouts.append((self.obs.copy(), self.terminated | self.truncated, finals))

    monkeypatch.setattr(RolloutBuffer, "load_parts", recording)
    result = rlagents.train(
        "CartPole-v1",
        "ppo",
        steps=16 * 6 * 4,
        seed=5,
        num_envs=3,
        workers=2,
        config={"n_steps": 16, "batch_size": 32},
        run_dir=tmp_path / "run",
        tensorboard=False,
        eval_episodes=0,
    )
    assert result.summary["steps"] == 16 * 6 * 4 and len(rollouts) == 4
    obs0, _, _ = rollouts[0]
    assert obs0.shape == (16, 6, 4)
    # worker k's envs are sub-envs 3k … 3k + 2 of a 6-env run: their seeds are seed + column
    for column in range(6):
        np.testing.assert_array_equal(obs0[0, column], _reset_obs(5 + column))
    boundaries = 0
    for obs, done, _ in rollouts:
        for t, column in np.argwhere(done[:-1]):  # after an episode's end: a reset observation
            assert np.all(np.abs(obs[t + 1, column]) <= 0.05)
            boundaries += 1
    assert boundaries >= 10, "too few episodes ended for the test to see their boundaries"
    for (_, done, finals), (next_obs, _, _) in itertools.pairwise(rollouts):
        last = finals[15]  # the envs go on from where the last rollout stopped
        for column in range(6):
            if done[-1, column]:
                assert np.all(np.abs(next_obs[0, column]) <= 0.05)
            else:
                np.testing.assert_array_equal(next_obs[0, column], last[column])


def _boot_rows(buffer):
    """(step, env, final observation) of every kept final observation."""
    envs = np.concatenate(buffer._boot_envs)
    obs = np.concatenate(buffer._boot_obs)
    rows = {}
    for step, env, o in zip(buffer._boot_steps, envs, obs, strict=True):
        rows.setdefault(step, {})[int(env)] = o
    return [(step, None, np.stack([row[e] for e in sorted(row)])) for step, row in rows.items()]


def test_ppo_on_two_workers_learns_cartpole_as_with_eight_envs(local_ray, tmp_path):
    # no num_envs: the tuned set's 8 envs are split, 4 on each worker
    result = rlagents.train(
        "CartPole-v1",
        "ppo",
        steps=50_000,
        seed=0,
        workers=2,
        eval_every=10_000,
        stop_at_return=475,
        run_dir=tmp_path / "run",
        tensorboard=False,
    )
    assert result.summary["eval_mean_return"] >= 475
    assert result.agent.num_envs == 8  # the learner's batch is every worker's envs
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (record["num_envs"], record["workers"]) == (4, 2)


def test_an_agent_without_the_seam_refuses_workers(tmp_path):
    result = invoke("--env", "CartPole-v1", "--agent", "dqn", "--workers", "2", run_dir=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "rlrun: error: agent 'dqn' learns in one process and cannot use --workers; "
        "agents that collect on workers: a2c, ppo, trpo"
    ]


def test_a_cluster_that_does_not_answer_is_one_line_within_seconds(tmp_path):
    start = time.monotonic()
    args = ("--env", "CartPole-v1", "--agent", "ppo", "--workers", "2")
    result = invoke(*args, "--ray-address", "127.0.0.1:9", run_dir=tmp_path)
    assert time.monotonic() - start < 10
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("rlrun: error: no Ray cluster answers at --ray-address 127.0.0.1:9")


def test_without_ray_installed_the_error_names_the_extra(tmp_path):
    fake = tmp_path / "fake" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from cli.main import main; "
        "sys.argv = ['rlrun', '--env', 'CartPole-v1', '--agent', 'a3c', '--steps', '100']; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "fake")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "rlrun: error: agent 'a3c' with 2 workers needs Ray, which is not installed: "
        "pip install 'rlagents[ray]'"
    ]


def test_importing_rlagents_and_a_run_in_one_process_import_no_ray(tmp_path):
    code = (
        "import sys, rlagents; "
        "rlagents.train('CartPole-v1', 'ppo', steps=64, seed=0, config={'n_steps': 32}, "
        f"run_dir={str(tmp_path / 'run')!r}, tensorboard=False, eval_episodes=1); "
        "print('ray' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr


def test_an_env_that_raises_in_a_worker_is_the_runs_one_line_failure(local_ray, tmp_path):
    with pytest.raises(rlagents.RunFailed) as failed:
        rlagents.train(
            "FaultyEnv-v0",
            "ppo",
            steps=20_000,
            seed=0,
            num_envs=1,
            workers=2,
            env_kwargs={"raise_at": 300},
            config={"n_steps": 64, "batch_size": 64},
            save_every=128,
            run_dir=tmp_path / "run",
            tensorboard=False,
        )
    result = failed.value.result
    (line,) = result.error.splitlines()
    assert "the env failed" in line and "worker" in line and "simulated fault" in line
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["failed"] == "env"
    assert (tmp_path / "run" / "checkpoint" / "agent.json").exists()  # the last good one


def test_a_bad_local_cpu_count_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("RLAGENTS_RAY_CPUS", "two")
    from rlagents.run.distributed.cluster import local_cpus

    with pytest.raises(rlagents.RLAgentsError, match=r"^RLAGENTS_RAY_CPUS must be a positive"):
        local_cpus()
