"""Image augmentation for off-policy agents learning from pixels.

:func:`random_shift` is DrQ's augmentation (Kostrikov, Yarats & Fergus 2021): each image of a
batch moved by up to ``pad`` pixels in each direction, the border repeated, so that Q-values
must not hang on exact pixel positions. It works on the stored uint8 frames, before they are
scaled, by indexing (one gather for the whole batch, no float copy of the padded batch).
"""

from __future__ import annotations

import numpy as np
import torch


def random_shift(images: torch.Tensor, pad: int, rng: np.random.Generator) -> torch.Tensor:
    """``images`` (B, C, H, W), each shifted by its own (dy, dx) ∈ [−pad, pad]², edges repeated.

    >>> x = torch.arange(9, dtype=torch.uint8).reshape(1, 1, 3, 3)
    >>> random_shift(x, 0, np.random.default_rng(0)).equal(x)
    True
    """
    if pad == 0:
        return images
    batch, _, height, width = images.shape
    shifts = torch.as_tensor(rng.integers(-pad, pad + 1, size=(batch, 2)), device=images.device)
    # Source row (column) of each output row (column): shifted, clamped into the image; the
    # clamp is what "replicate" padding would give.
    rows = (torch.arange(height, device=images.device) + shifts[:, :1]).clamp_(0, height - 1)
    cols = (torch.arange(width, device=images.device) + shifts[:, 1:]).clamp_(0, width - 1)
    index = torch.arange(batch, device=images.device)[:, None, None]
    shifted = images.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]]
    return shifted.permute(0, 3, 1, 2)
