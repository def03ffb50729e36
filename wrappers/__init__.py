"""Gymnasium wrappers and one-call env presets, depending on gymnasium, numpy and opencv only.

Wrappers: :class:`ActionMaskObservation` (an ``info`` action mask into a Dict observation),
:class:`TurnBasedSelfPlay` (one seat of a two-player PettingZoo game, ``selfplay`` preset),
:class:`Discretize`, :class:`FrameStack` (any observation space),
:class:`VectorFrameStack`, :class:`Grayscale`, :class:`Resize`, and the POMDP wrappers of
:mod:`wrappers.pomdp` (numpy and gymnasium only): :class:`RemoveVelocity`, :class:`Flicker`,
:class:`ObservationNoise`, :class:`SensorDropout`. Presets (each returns a ready env and passes
other keywords to ``gymnasium.make``): :func:`action_mask`, :func:`atari`, :func:`atari_vector`,
:func:`car_racing`, :func:`discretized`, and the POMDP presets :func:`remove_velocity`,
:func:`flicker`, :func:`noise`, :func:`dropout` (the wrapper, then a :class:`FrameStack` with
``stack_size > 1``); :data:`PRESETS` maps preset names to the single-env presets.
:class:`EnvPoolEnv` is one env of EnvPool's C++ engine (optional: ``pip install envpool``) with
Gymnasium's API.
"""

from wrappers.bounds import classic_control_bounds
from wrappers.discretize import Discretize
from wrappers.envpool_env import EnvPoolEnv
from wrappers.frame_stack import FrameStack
from wrappers.image import Grayscale, Resize
from wrappers.masks import ActionMaskObservation, action_mask
from wrappers.pomdp import Flicker, ObservationNoise, RemoveVelocity, SensorDropout
from wrappers.presets import (
    PRESETS,
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

__all__ = [
    "PRESETS",
    "ActionMaskObservation",
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
