"""Action masks: Dict observations that say which actions are legal, as PettingZoo's classic
games give them (``{"observation": ..., "action_mask": ...}``) and as
:class:`wrappers.ActionMaskObservation` makes of a mask in ``info``.

An agent keeps such an observation as one flat float32 row (:class:`MaskedLayout`): the other
keys flattened in the space's key order, then the mask. Its buffers and networks read that row;
the encoder reads the features (:class:`MaskedEncoder`), and the heads push illegal actions'
logits or Q-values far below the legal ones (:func:`mask_logits`), so a masked argmax, a masked
max in a TD target and a masked softmax in a policy-gradient loss all follow from one place (as
sb3-contrib's MaskablePPO masks its logits). A row whose mask allows nothing (a finished game's
last observation) is left unmasked: its value is never used.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rlagents.common.mask_layout import (  # noqa: F401 - re-exported: the masks API
    MASK_KEY,
    MaskedLayout,
    has_action_mask,
    masked_layout,
    masked_space_problem,
)


class MaskedEncoder(nn.Module):
    """An MLP's input of flat masked rows: the features alone (the mask is not an input)."""

    def __init__(self, layout: MaskedLayout) -> None:
        super().__init__()
        self.n_features = layout.n_features
        self.features_dim = layout.n_features

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return rows[:, : self.n_features].float()

    def mask(self, rows: torch.Tensor) -> torch.Tensor:
        return rows[:, self.n_features :] > 0.5


# An illegal action's logit or Q-value: far below any real one, yet finite, so that a softmax
# gives it exactly 0 and 0 × log 0 stays 0 in an entropy or a KL (the lowest float would
# overflow to -inf there and make NaNs).
ILLEGAL = -1e9


def mask_logits(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """``logits`` (or Q-values) with illegal actions at :data:`ILLEGAL`; a row with no legal
    action is left as it is."""
    legal = legal | ~legal.any(dim=1, keepdim=True)
    return logits.masked_fill(~legal, ILLEGAL)


def mask_logits_numpy(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    legal = legal | ~legal.any(axis=1, keepdims=True)
    return np.where(legal, logits, np.float32(ILLEGAL))


def random_legal(rng: np.random.Generator, legal: np.ndarray) -> np.ndarray:
    """A uniformly random legal action per row (any action where none is legal)."""
    legal = legal | ~legal.any(axis=1, keepdims=True)
    scores = np.where(legal, rng.random(legal.shape), -1.0)
    return scores.argmax(axis=1)
