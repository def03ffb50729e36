"""Gymnasium wrappers and one-call env presets, depending on gymnasium, numpy and opencv only.

Wrappers: :class:`Discretize`, :class:`FrameStack`, :class:`VectorFrameStack`,
:class:`Grayscale`, :class:`Resize`. Presets (each returns a ready env and passes other
keywords to ``gymnasium.make``): :func:`atari`, :func:`atari_vector`, :func:`car_racing`,
:func:`discretized`; :data:`PRESETS` maps preset names to the single-env presets.
"""

from wrappers.bounds import classic_control_bounds
from wrappers.discretize import Discretize
from wrappers.frame_stack import FrameStack
from wrappers.image import Grayscale, Resize
from wrappers.presets import PRESETS, atari, atari_vector, car_racing, discretized
from wrappers.vector_frame_stack import VectorFrameStack

__all__ = [
    "PRESETS",
    "Discretize",
    "FrameStack",
    "Grayscale",
    "Resize",
    "VectorFrameStack",
    "atari",
    "atari_vector",
    "car_racing",
    "classic_control_bounds",
    "discretized",
]
