"""Masked Dict observations as flat rows, in numpy alone: the layout an agent's buffers and
networks read (:class:`MaskedLayout`), and the checks of a masked space. Kept apart from
:mod:`rlagents.common.masks` (the torch side: encoder and masked logits) so that a torch-free
player of an exported policy (:mod:`rlagents.export.player`) lays out observations the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from rlagents.agent import Transition

MASK_KEY = "action_mask"


def has_action_mask(space: spaces.Space) -> bool:
    return isinstance(space, spaces.Dict) and MASK_KEY in space.spaces


def masked_space_problem(space: spaces.Space, action_space: spaces.Space) -> str | None:
    """Why an agent cannot read this Dict observation space, or None (other spaces: None)."""
    if not isinstance(space, spaces.Dict):
        return None
    if MASK_KEY not in space.spaces:
        return (
            f"a Dict observation is read when it carries an {MASK_KEY!r} key, got keys "
            f"{', '.join(map(repr, space.spaces))}; flatten it (gymnasium.wrappers."
            "FlattenObservation) or add the mask (the action_mask preset)"
        )
    if not isinstance(action_space, spaces.Discrete):
        return f"an action mask needs a Discrete action space, got {action_space}"
    mask = space.spaces[MASK_KEY]
    n = int(action_space.n)
    if not isinstance(mask, (spaces.Box, spaces.MultiBinary)) or tuple(mask.shape or ()) != (n,):
        return f"the action mask must be a Box or MultiBinary of shape ({n},), got {mask}"
    for key, sub in space.spaces.items():
        if key == MASK_KEY:
            continue
        if not isinstance(sub, (spaces.Box, spaces.Discrete, spaces.MultiBinary)):
            return (
                f"observation key {key!r} is {sub}; a masked observation's other keys may be "
                "Box, Discrete or MultiBinary"
            )
        if isinstance(sub, spaces.Box) and len(sub.shape) == 3 and sub.dtype == np.uint8:
            return f"observation key {key!r} is an image {sub}; masked observations go to an MLP"
    return None


def masked_layout(space: spaces.Space) -> MaskedLayout | None:
    """The flat layout of a masked observation space (None: the space has no mask)."""
    if not has_action_mask(space):
        return None
    assert isinstance(space, spaces.Dict)
    return MaskedLayout(space)


class MaskedLayout:
    """A masked Dict observation space as one flat float32 row: features, then the mask."""

    def __init__(self, space: spaces.Dict) -> None:
        self.keys = [k for k in space.spaces if k != MASK_KEY]
        self.spaces = space
        self.n_features = int(sum(spaces.flatdim(space.spaces[k]) for k in self.keys))
        self.n_actions = spaces.flatdim(space.spaces[MASK_KEY])
        width = self.n_features + self.n_actions
        self.flat_space = spaces.Box(-np.inf, np.inf, (width,), np.float32)
        self.features_space = spaces.Box(-np.inf, np.inf, (self.n_features,), np.float32)

    def flatten(self, obs: Any) -> np.ndarray:
        """A batch of Dict observations (each key's array with a leading batch axis) as rows."""
        parts = [self._key_rows(k, obs[k]) for k in self.keys]
        mask = np.asarray(obs[MASK_KEY])
        parts.append(mask.reshape(len(mask), -1).astype(np.float32, copy=False))
        return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

    def _key_rows(self, key: str, value: Any) -> np.ndarray:
        sub = self.spaces.spaces[key]
        value = np.asarray(value)
        if isinstance(sub, spaces.Discrete):  # one-hot, as spaces.flatten writes it
            rows = np.zeros((len(value), int(sub.n)), np.float32)
            rows[np.arange(len(value)), value.reshape(-1) - int(sub.start)] = 1.0
            return rows
        return value.reshape(len(value), -1).astype(np.float32, copy=False)

    def flat_transition(self, t: Transition) -> Transition:
        return t._replace(obs=self.flatten(t.obs), next_obs=self.flatten(t.next_obs))

    def legal(self, rows: np.ndarray) -> np.ndarray:
        """The masks of flat rows, as booleans."""
        return np.asarray(rows)[:, self.n_features :] > 0.5
