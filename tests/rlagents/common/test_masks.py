"""Action masks: a masked agent never chooses an illegal action, in acting or in its targets and
losses, and learns the best legal one; masks given in ``info`` work through the preset."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import rlagents
from rlagents.common.masks import (
    MaskedLayout,
    mask_logits,
    masked_space_problem,
    random_legal,
)
from rlagents.errors import SpaceMismatchError


class MaskedBandit(gym.Env):
    """Ten steps a game. Action 0 pays 1 but is illegal every other step; actions 1-3 pay 0.
    A choice of an illegal action is counted (and would pay 5, so an agent that ignored the
    mask would learn to make it)."""

    observation_space = spaces.Dict(
        {
            "observation": spaces.Box(0.0, 1.0, (2,), np.float32),
            "action_mask": spaces.Box(0, 1, (4,), np.int8),
        }
    )
    action_space = spaces.Discrete(4)
    illegal_choices = 0  # over every instance: the envs of a vector env count together

    def _obs(self):
        legal = np.ones(4, np.int8)
        if self.t % 2:
            legal[0] = 0
        phase = np.array([self.t % 2, 1.0], np.float32)
        return {"observation": phase, "action_mask": legal}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        legal = self._obs()["action_mask"][action]
        if not legal:
            MaskedBandit.illegal_choices += 1
        reward = 5.0 if not legal else float(action == 0)
        self.t += 1
        return self._obs(), reward, False, self.t >= 10, {}


gym.register("MaskedBandit-v0", entry_point=MaskedBandit)


@pytest.mark.parametrize(
    ("agent", "config", "num_envs"),
    [
        (
            "dqn",
            {"learning_starts": 200, "exploration_steps": 1_000, "target_update_interval": 100},
            1,
        ),
        ("ppo", {"n_steps": 32, "batch_size": 64, "learning_rate": 3e-3}, 4),
        ("a2c", {"n_steps": 8, "learning_rate": 3e-3}, 4),
    ],
)
def test_a_masked_agent_never_moves_illegally_and_learns_the_best_legal_move(
    tmp_path, agent, config, num_envs
):
    MaskedBandit.illegal_choices = 0
    result = rlagents.train(
        "MaskedBandit-v0",
        agent,
        steps=4_000,
        seed=0,
        num_envs=num_envs,
        config=config,
        hyperparams="none",
        run_dir=tmp_path / "run",
        eval_episodes=5,
        tensorboard=False,
    )
    assert MaskedBandit.illegal_choices == 0  # in training (exploration too) and evaluation
    # The best legal play takes action 0 on the five steps it is legal: a return of 5.
    assert result.summary["eval_mean_return"] >= 4.5, result.summary


def test_masked_q_values_and_logits_leave_illegal_actions_out_of_max_and_softmax():
    legal = torch.tensor([[True, False, True], [False, False, False]])
    q = torch.tensor([[1.0, 9.0, 2.0], [1.0, 9.0, 2.0]])
    masked = mask_logits(q, legal)
    assert masked[0].argmax() == 2 and masked[0].max() == 2.0  # the target's max, a* too
    assert torch.equal(masked[1], q[1])  # no legal action (a finished game): left as it is
    probs = torch.softmax(masked, dim=1)
    assert probs[0, 1] == 0.0
    entropy = -(probs * torch.log_softmax(masked, dim=1)).sum(1)
    assert torch.isfinite(entropy).all()  # 0 × log 0 stays 0: ILLEGAL is finite


def test_random_legal_draws_only_legal_actions():
    rng = np.random.default_rng(0)
    legal = np.array([[False, True, False, True]] * 500)
    draws = random_legal(rng, legal)
    assert set(draws.tolist()) == {1, 3}


def test_the_layout_flattens_each_key_then_the_mask():
    space = spaces.Dict({"observation": spaces.Discrete(3), "action_mask": spaces.MultiBinary(2)})
    layout = MaskedLayout(space)
    rows = layout.flatten({"observation": np.array([2]), "action_mask": np.array([[1, 0]])})
    np.testing.assert_array_equal(rows, [[0, 0, 1, 1, 0]])
    np.testing.assert_array_equal(layout.legal(rows), [[True, False]])


def test_a_mask_that_does_not_fit_the_actions_is_one_clear_error():
    space = spaces.Dict(
        {"observation": spaces.Box(0, 1, (2,)), "action_mask": spaces.MultiBinary(3)}
    )
    problem = masked_space_problem(space, spaces.Discrete(4))
    assert (
        problem == "the action mask must be a Box or MultiBinary of shape (4,), got MultiBinary(3)"
    )
    with pytest.raises(SpaceMismatchError, match=r"shape \(4,\)"):
        rlagents.load("dqn")(space, spaces.Discrete(4))


def test_taxi_with_its_info_mask_never_moves_illegally(tmp_path):
    """Taxi-v4 reports its legal moves in info; the action_mask preset puts them in the
    observation, and a masked DQN never drives into a wall or picks up where no one waits."""
    counted = {"illegal": 0}

    class Count(gym.Wrapper):
        def step(self, action):
            if not self.mask[action]:
                counted["illegal"] += 1
            obs, reward, terminated, truncated, info = self.env.step(action)
            self.mask = info["action_mask"]
            return obs, reward, terminated, truncated, info

        def reset(self, **kwargs):
            obs, info = self.env.reset(**kwargs)
            self.mask = info["action_mask"]
            return obs, info

    gym.register("CountedTaxi-v0", entry_point=lambda: Count(gym.make("Taxi-v4")))
    result = rlagents.train(
        "CountedTaxi-v0",
        "dqn",
        steps=2_000,
        seed=0,
        preset="action_mask",
        run_dir=tmp_path / "run",
        eval_episodes=2,
        tensorboard=False,
    )
    assert result.status == "done"
    assert counted["illegal"] == 0


def test_a_dict_observation_without_a_mask_is_refused_in_one_line():
    space = spaces.Dict({"position": spaces.Box(0, 1, (2,)), "goal": spaces.Box(0, 1, (2,))})
    for agent in ("dqn", "ppo"):
        problem = rlagents.load(agent).check_spaces(space, spaces.Discrete(2))
        assert problem is not None and "'action_mask' key" in problem and "\n" not in problem
