"""Gymnasium wrappers and one-call env presets, depending on gymnasium, numpy and opencv only.

Wrappers: :class:`ActionMaskObservation` (an ``info`` action mask into a Dict observation),
:class:`TurnBasedSelfPlay` (one seat of a two-player PettingZoo game, ``selfplay`` preset),
:class:`AgentsAsRows` (a PettingZoo Parallel env's agents as a vector env's rows, ``agents``),
:class:`Discretize`, :class:`FrameStack` (any observation space),
:class:`VectorFrameStack`, :class:`Grayscale`, :class:`Resize`, and the POMDP wrappers of
:mod:`wrappers.pomdp` (numpy and gymnasium only): :class:`RemoveVelocity`, :class:`Flicker`,
:class:`ObservationNoise`, :class:`SensorDropout`. Presets (each returns a ready env and passes
other keywords to ``gymnasium.make``): :func:`action_mask`, :func:`atari`, :func:`atari_vector`,
:func:`car_racing`, :func:`discretized`, and the POMDP presets :func:`remove_velocity`,
:func:`flicker`, :func:`noise`, :func:`dropout` (the wrapper, then a :class:`FrameStack` with
``stack_size > 1``); ``PRESETS`` maps preset names to the single-env presets.
:class:`EnvPoolEnv` is one env of EnvPool's C++ engine (optional: ``pip install envpool``) with
Gymnasium's API.
"""

from collections.abc import Callable
from typing import Any

from wrappers.bounds import classic_control_bounds
from wrappers.discretize import Discretize
from wrappers.envpool_env import EnvPoolEnv
from wrappers.frame_stack import FrameStack
from wrappers.image import Grayscale, Resize
from wrappers.masks import ActionMaskObservation, action_mask
from wrappers.parallel import AgentsAsRows, agents
from wrappers.pomdp import Flicker, ObservationNoise, RemoveVelocity, SensorDropout
from wrappers.presets import (
    atari,
    atari_vector,
    car_racing,
    discretized,
    dropout,
    flicker,
    noise,
    remove_velocity,
)
from wrappers.selfplay import TurnBasedSelfPlay, selfplay
from wrappers.vector_frame_stack import VectorFrameStack

# Every preset by name (``rlrun --preset NAME``): single envs, but ``agents``, whose vector env's
# rows are the agents of a PettingZoo Parallel env.
PRESETS: dict[str, Callable[..., Any]] = {
    "action_mask": action_mask,
    "agents": agents,
    "atari": atari,
    "car_racing": car_racing,
    "discretized": discretized,
    "remove_velocity": remove_velocity,
    "flicker": flicker,
    "noise": noise,
    "dropout": dropout,
    "selfplay": selfplay,
}

__all__ = [
    "PRESETS",
    "ActionMaskObservation",
    "AgentsAsRows",
    "Discretize",
    "EnvPoolEnv",
    "Flicker",
    "FrameStack",
    "Grayscale",
    "ObservationNoise",
    "RemoveVelocity",
    "Resize",
    "SensorDropout",
    "TurnBasedSelfPlay",
    "VectorFrameStack",
    "action_mask",
    "agents",
    "atari",
    "atari_vector",
    "car_racing",
    "classic_control_bounds",
    "discretized",
    "dropout",
    "flicker",
    "noise",
    "remove_velocity",
    "selfplay",
]
