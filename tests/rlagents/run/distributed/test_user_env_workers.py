"""A user's env given as a callable reaches the Ray workers (rlagents.run.user_envs)."""

import gymnasium as gym

import rlagents


def test_a_callable_reaches_the_ray_workers(local_ray, tmp_path):
    """Workers do not share this process's registry: the factory carries the callable."""
    result = rlagents.train(
        lambda: gym.make("CartPole-v1"), "ppo", steps=256, workers=1, seed=0,
        config={"n_steps": 64, "batch_size": 64}, run_dir=tmp_path / "run", tensorboard=False,
    )  # fmt: skip
    assert result.status == "done" and result.summary["steps"] >= 256
