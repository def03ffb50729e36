"""DQN's hyper-parameters: its Config (each field, its default and its range) and its tuned
sets, per env id and per named set (``rlrun --hyperparams NAME``).

``rlrun`` picks the entry of the env id, else of the preset (``atari``, or ``atari100k`` on a
machine without a GPU); the other named sets are chosen with ``--hyperparams``. Each entry
overrides :class:`DQNConfig`, and says its budget (``n_timesteps``) and, where
measured, its speed on a 2-core CPU (``cpu_steps_per_second``): see :mod:`rlagents.run.tuned`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

from rlagents.common.torch_utils import TorchCNNConfig
from rlagents.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE


@dataclasses.dataclass
class DQNConfig(TorchCNNConfig):
    """Hyper-parameters of DQN (names as in Stable-Baselines3 where the concept is the same)."""

    learning_rate: float = 1e-4
    """Adam step size (at the start, when lr_schedule is linear)."""
    lr_schedule: Literal["constant", "linear"] = "constant"
    """Learning rate constant, or decayed linearly to 0 over schedule_steps (rl-zoo3's lin_):
    annealed, a run ends on the policy it converged to instead of drifting off it."""
    schedule_steps: int = 1_000_000
    """Env steps over which a linear learning-rate schedule decays to 0 (zoo: n_timesteps)."""
    adam_eps: float = 1e-8
    """Adam's ε (data-efficient Atari settings use 1.5e-4)."""
    buffer_size: int = 100_000
    """Transitions the replay buffer holds; an Atari frame costs 7 kB, so 1M ≈ 7.1 GB."""
    learning_starts: int = 1_000
    """Env steps (all envs) of ε-greedy play before the first gradient step."""
    batch_size: int = 32
    """Transitions per gradient step."""
    gamma: float = 0.99
    """Discount factor γ."""
    train_freq: int = 4
    """Vector steps between training rounds."""
    gradient_steps: int = 1
    """Gradient steps per training round (-1: one per env step collected in the round)."""
    target_update_interval: int = 10_000
    """Env steps between target-network updates (checked at each training round)."""
    tau: float = 1.0
    """Target update θ' ← τθ + (1−τ)θ': 1 copies (hard update), below 1 is Polyak averaging."""
    exploration_steps: int = 100_000
    """Env steps over which ε decays linearly (SB3: exploration_fraction × total_timesteps)."""
    exploration_initial_eps: float = 1.0
    """ε at the start."""
    exploration_final_eps: float = 0.05
    """ε after exploration_steps."""
    double_q: bool = True
    """Double-DQN targets: the online network picks the next action, the target values it."""
    dueling: bool = False
    """A dueling head: Q(s, a) = V(s) + A(s, a) − mean_a A(s, a)."""
    n_steps: int = 1
    """Steps of reward in each target (n-step returns); 1 is the one-step TD target."""
    clip_reward: bool = False
    """Learn from sign(r), the Nature paper's reward clipping (the runner still logs the score)."""
    loss: Literal["huber", "mse"] = "huber"
    """Regression loss: Huber (smooth L1, as in the Nature paper's clipped error) or MSE."""
    max_grad_norm: float = 10.0
    """Gradient-norm clipping (0: none)."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layers after the encoder (images: after the Nature CNN's 512 units)."""
    frame_dedup: bool = True
    """Store each frame of frame-stacked image observations once (about 8x less memory)."""
    augmentation: Literal["none", "shift"] = "none"
    """Image observations: shift each sampled obs and next_obs by up to shift_pad pixels (DrQ's
    random shift, the edges repeated) before the gradient step."""
    shift_pad: int = 4
    """The largest shift of augmentation="shift", in pixels (DrQ: 4 on 84×84)."""
    background_training: Literal["auto", "on", "off"] = "auto"
    """Run gradient steps in a worker thread (with num_threads torch threads) while the env is
    stepped and the caller's thread acts with one torch thread (auto: on for CPU + images)."""
    save_replay_buffer: bool = True
    """Keep the replay buffer in checkpoints, so a resumed run continues exactly."""

    # Ranges of its own fields, and batch_size's, stricter than config.RANGE_RULES's
    range_rules: ClassVar = {
        "adam_eps": POSITIVE,
        "schedule_steps": AT_LEAST_ONE,
        "batch_size": AT_LEAST_ONE,
        "exploration_steps": NON_NEGATIVE,
        "shift_pad": NON_NEGATIVE,
    }


HYPERPARAMS: dict[str, dict[str, Any]] = {
    # Chosen here for tic-tac-toe by self-play (the selfplay preset: a pool of the learner's
    # snapshots as the opponent), tuned on seed 0 only: 100k moves, greedy non-loss 100% against
    # random play from both seats, 98% / 88% against the one-ply player (benchmarks/RESULTS.md).
    "classic/tictactoe-v3": {
        "n_timesteps": 100_000,
        "cpu_steps_per_second": 720,
        "learning_rate": 1e-3,
        "batch_size": 64,
        "buffer_size": 50_000,
        "learning_starts": 1_000,
        "train_freq": 1,
        "target_update_interval": 1_000,
        "exploration_steps": 20_000,
        "exploration_final_eps": 0.05,
        "net_arch": (128, 128),
        "gamma": 0.99,
    },
    # rl-zoo3's values with 3-step returns and a dueling head, training every 64 steps
    # (tuned for time to 475: benchmarks/dqn_cartpole_vs_sb3.py). The target moves every
    # 128 gradient steps, as in rl-zoo3's set, and the learning rate decays to 0 over the
    # budget: a target copied after every 32 steps let Q diverge on some seeds, and their
    # policies fell apart after reaching 500 (benchmarks/RESULTS.md, "Recipes that hold").
    "CartPole-v1": {
        "n_timesteps": 50_000,
        "cpu_steps_per_second": 1_600,
        "learning_rate": 2.3e-3,
        "lr_schedule": "linear",
        "schedule_steps": 50_000,
        "batch_size": 64,
        "buffer_size": 100_000,
        "learning_starts": 1_000,
        "gamma": 0.99,
        "target_update_interval": 256,
        "train_freq": 64,
        "gradient_steps": 32,
        "exploration_steps": 5_000,
        "exploration_final_eps": 0.02,
        "n_steps": 3,
        "dueling": True,
        "net_arch": (128, 128),
    },
    # rl-zoo3's tuned values, with 3-step returns.
    "MountainCar-v0": {
        "n_timesteps": 120_000,
        "cpu_steps_per_second": 620,
        "learning_rate": 4e-3,
        "batch_size": 128,
        "buffer_size": 10_000,
        "learning_starts": 1_000,
        "gamma": 0.98,
        "target_update_interval": 600,
        "train_freq": 16,
        "gradient_steps": 8,
        "exploration_steps": 24_000,
        "exploration_final_eps": 0.07,
        "n_steps": 3,  # reached −110 at 50k steps on seed 0 (zoo's 1-step: 95k)
        "net_arch": (256, 256),
    },
    # rl-zoo3's tuned values, trained twice as long with the learning rate decaying to 0
    # over the budget: at rl-zoo3's 100k the greedy policy still crashed in some episodes
    # when the run ended, and most seeds ended below 180 though they had reached 200
    # (benchmarks/RESULTS.md, "Recipes that hold, the third session"). The rate starts at
    # half rl-zoo3's 6.3e-4 (CleanRL's DQN uses 2.5e-4): at 6.3e-4 Q diverged on some seeds
    # with the target copied every 250 steps, and a slower target learned too slowly for the
    # budget ("the fifth session").
    "LunarLander-v3": {
        "n_timesteps": 200_000,
        "learning_rate": 3e-4,
        "lr_schedule": "linear",
        "schedule_steps": 200_000,
        "batch_size": 128,
        "buffer_size": 50_000,
        "learning_starts": 0,
        "gamma": 0.99,
        "target_update_interval": 250,
        "train_freq": 4,
        "gradient_steps": -1,
        "exploration_steps": 12_000,
        "exploration_final_eps": 0.1,
        "net_arch": (256, 256),
    },
    # The Nature-DQN setting as rl-zoo3 runs it (10M steps), on the Atari preset; plain
    # DQN targets like the paper and SB3 (double_q=true costs one more CNN forward pass
    # per gradient step). A lost life ends a training episode, as in the paper and SB3's
    # AtariWrapper (evaluation plays whole games).
    "atari": {
        "n_timesteps": 10_000_000,
        "preset_kwargs": {"terminal_on_life_loss": True},
        "double_q": False,
        "clip_reward": True,
        "learning_rate": 1e-4,
        "buffer_size": 1_000_000,
        "learning_starts": 100_000,
        "batch_size": 32,
        "train_freq": 4,
        "gradient_steps": 1,
        "target_update_interval": 1_000,
        "exploration_steps": 1_000_000,
        "exploration_final_eps": 0.01,
        "net_arch": (),
    },
    # Sample-efficient Atari (100k agent steps), after data-efficient Rainbow (van Hasselt
    # et al. 2019) without its distributional and noisy parts: 10-step double dueling
    # targets, early learning, one gradient step per env step, a slower target. A lost life
    # ends a training episode, as Dopamine's Atari-100k agents and SB3's AtariWrapper train
    # (evaluation still plays whole games: runner.EVALUATION_OVERRIDES).
    "atari100k": {
        "n_timesteps": 100_000,
        "preset_kwargs": {"terminal_on_life_loss": True},
        # Seeds 0-2 on BattleZone, a CPU with bfloat16 units (benchmarks/RESULTS.md); about
        # 26 on one without.
        "cpu_steps_per_second": 34,
        "clip_reward": True,
        "learning_rate": 1e-4,
        "adam_eps": 1.5e-4,
        "buffer_size": 100_000,
        "learning_starts": 1_600,
        "batch_size": 32,
        "train_freq": 1,
        "gradient_steps": 1,
        "target_update_interval": 2_000,
        "n_steps": 10,
        "dueling": True,
        "double_q": True,
        "exploration_steps": 10_000,
        "exploration_final_eps": 0.01,
        "max_grad_norm": 10.0,
        "net_arch": (256,),
    },
}

# DrQ(ε) (Kostrikov et al. 2020; Agarwal et al. 2021), as Dopamine's
# labs/atari_100k/configs/DrQ_eps.gin sets it: atari100k's 10-step double dueling targets with
# DrQ's random shifts, a target updated every step, ε down to 0.01 over 5k steps, a 512-unit head.
HYPERPARAMS["drq_eps"] = {
    **{k: v for k, v in HYPERPARAMS["atari100k"].items() if k != "cpu_steps_per_second"},
    "target_update_interval": 1,
    "exploration_steps": 5_000,
    "augmentation": "shift",
    "shift_pad": 4,
    "net_arch": (512,),
}
