"""Acting with a small MLP through numpy views of its torch weights.

For a batch of one observation a (64, 64) MLP costs ~10 µs in numpy against ~50 µs through
torch's dispatcher, and acting runs once per env step. The views share memory with the
parameters, which the optimizer updates in place, so they never go stale (CPU tensors only).
"""

from __future__ import annotations

import numpy as np
from torch import nn

Layers = list[tuple[np.ndarray, np.ndarray]]


def linear_views(net: nn.Sequential) -> Layers:
    """(weightᵀ, bias) numpy views of each ``nn.Linear`` of an MLP built by ``mlp()``."""
    layers = [m for m in net if isinstance(m, nn.Linear)]
    for m in net:
        if not isinstance(m, (nn.Linear, nn.ReLU, nn.Tanh)):
            raise TypeError(f"linear_views supports Linear/ReLU/Tanh layers, got {m}")
    return [(m.weight.detach().numpy().T, m.bias.detach().numpy()) for m in layers]


def forward(layers: Layers, x: np.ndarray) -> np.ndarray:
    """The MLP's output (ReLU between layers, none after the last).

    >>> import torch
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> x = np.ones((1, 3), np.float32)
    >>> bool(np.allclose(forward(linear_views(net), x), net(torch.ones(1, 3)).detach().numpy()))
    True
    """
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i < len(layers) - 1:
            np.maximum(x, 0.0, out=x)
    return x
