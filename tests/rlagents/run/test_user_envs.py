"""``rlagents.train`` and ``rlagents.evaluate`` take an env id, a Gymnasium env instance or a
callable that makes one; a wrong type is one clear error; the progress bar is on where a person
watches and off with an argument."""

import json
import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import rlagents
from rlagents.errors import ConfigError


class Corridor(gym.Env):
    """A user's own env, registered nowhere: walk right to the end of a corridor of 5 cells."""

    observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cell = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.cell = max(0, self.cell + (1 if action == 1 else -1))
        done = self.cell == 4
        return np.array([self.cell / 4], np.float32), float(done), done, False, {}


def test_an_env_instance_made_by_gym_make_learns_with_its_ids_tuned_set(tmp_path):
    """The issue's example: ``train(gym.make("CartPole-v1"), "ppo", steps=20_000)`` learns."""
    env = gym.make("CartPole-v1")
    result = rlagents.train(env, "ppo", steps=20_000, seed=0, run_dir=tmp_path / "run",
                            tensorboard=False)  # fmt: skip
    assert result.summary["eval_mean_return"] >= 475, result.summary
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["tuned_set"] == "CartPole-v1" and record["num_envs"] == 1
    assert record["env"] == "rlagents_user/CartPole-v1"
    assert env.spec is not None and env.spec.id == "CartPole-v1"  # its own spec, back
    env.reset(seed=0)  # lent, not closed: the user's env still works
    env.step(0)


def test_a_callable_makes_every_env_a_run_needs(tmp_path):
    """Vector envs and evaluations during training each get an env of their own."""
    made = []

    def make():
        made.append(Corridor())
        return made[-1]

    result = rlagents.train(
        make, "ppo", steps=512, num_envs=2, eval_every=256, eval_episodes=2, seed=0,
        config={"n_steps": 64, "batch_size": 64}, run_dir=tmp_path / "run", tensorboard=False,
    )  # fmt: skip
    assert result.status == "done"
    assert len(made) >= 4  # a probe, two training envs, an evaluation env
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["env"] == "rlagents_user/Corridor-v0" and record["tuned_set"] is None
    score = rlagents.evaluate(result.agent, Corridor, episodes=2, seed=0, max_steps=50)
    assert len(score["returns"]) == 2


@pytest.mark.parametrize(
    ("options", "needs"),
    [
        ({"eval_every": 100}, "eval_every"),
        ({"num_envs": 4}, "num_envs"),
        ({"workers": 2}, "workers"),
    ],
)
def test_an_instance_refuses_what_needs_a_second_env_in_one_line(tmp_path, options, needs):
    with pytest.raises(ConfigError) as err:
        rlagents.train(gym.make("CartPole-v1"), "ppo", steps=100, run_dir=tmp_path / "run",
                       **options)  # fmt: skip
    message = str(err.value)
    assert "\n" not in message and needs in message and "pass a callable" in message
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (3, "env is an env id (str), a gymnasium.Env or a callable that returns one; got int"),
        (lambda: "CartPole-v1", "the env callable returned str, not a gymnasium.Env"),
        (lambda: 1 / 0, "the env callable raised ZeroDivisionError: division by zero"),
    ],
)
def test_a_wrong_env_is_one_clear_error(tmp_path, env, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        rlagents.train(env, "ppo", steps=100, run_dir=tmp_path / "run")
    agent = rlagents.make("random", spaces.Box(-1, 1, (4,)), spaces.Discrete(2))
    with pytest.raises(ConfigError, match=r"env is an env id|the env callable (returned|raised)"):
        rlagents.evaluate(agent, env, episodes=1)


def test_the_progress_bar_is_on_where_a_person_watches_and_off_on_request(tmp_path, capsys):
    common = {"steps": 2_000, "eval_episodes": 0, "tensorboard": False}
    rlagents.train("CartPole-v1", "random", run_dir=tmp_path / "a", **common)  # under pytest:
    assert "step/s" not in capsys.readouterr().err  # no terminal, no bar
    rlagents.train("CartPole-v1", "random", run_dir=tmp_path / "b", progress_bar=True, **common)
    assert "2.00k/2.00k" in capsys.readouterr().err
