"""Acting with a small MLP through numpy views of its torch weights.

For a batch of one observation numpy's matrix products cost less than a trip through torch's
dispatcher, and acting runs once per env step. The views share memory with the parameters, which
the optimizer updates in place, so they never go stale (CPU tensors only).

:func:`linear_views` reads the activations (ReLU or Tanh) from the network and :func:`forward`
applies what was read, so the two cannot disagree. :func:`greedy` is DQN's acting path: the
argmax of Q from a plain or dueling head.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from torch import nn

Activation = Literal["relu", "tanh"]
_ACTIVATIONS: dict[type[nn.Module], Activation] = {nn.ReLU: "relu", nn.Tanh: "tanh"}


class Layers(list[tuple[np.ndarray, np.ndarray]]):
    """``(weightᵀ, bias)`` per ``nn.Linear``, with the network's activation between the layers
    and the one after the last layer (``None``: no activation there)."""

    def __init__(
        self,
        pairs: Sequence[tuple[np.ndarray, np.ndarray]],
        activation: Activation = "relu",
        output_activation: Activation | None = None,
    ) -> None:
        super().__init__(pairs)
        self.activation: Activation = activation
        self.output_activation: Activation | None = output_activation


def linear_views(net: nn.Sequential) -> Layers:
    """numpy views of an MLP built by ``mlp()``: ``Linear`` layers with one kind of activation,
    ReLU or Tanh, after each hidden layer, and optionally one after the last."""
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    after: list[Activation | None] = []  # the activation following each Linear
    for m in net:
        if isinstance(m, nn.Linear):
            pairs.append((m.weight.detach().numpy().T, m.bias.detach().numpy()))
            after.append(None)
        elif type(m) in _ACTIVATIONS and after and after[-1] is None:
            after[-1] = _ACTIVATIONS[type(m)]
        else:
            raise TypeError(f"linear_views supports Linear layers and ReLU or Tanh, got {m}")
    hidden = after[:-1]
    if not pairs or None in hidden or len(set(hidden)) > 1:
        raise TypeError(f"linear_views needs one activation after each hidden layer, got {net}")
    first = hidden[0] if hidden else None
    return Layers(pairs, first if first is not None else "relu", after[-1])


def forward(layers: Layers, x: np.ndarray, *, output_activation: bool = False) -> np.ndarray:
    """The MLP's output for a batch ``x``, with ``layers.activation`` between the layers. The
    activation the network ends with (if any) is applied with ``output_activation=True``; by
    default the result is the last layer's output before it, for callers that apply it.

    >>> import torch
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Tanh())
    >>> x = np.ones((1, 3), np.float32)
    >>> out = forward(linear_views(net), x, output_activation=True)
    >>> bool(np.allclose(out, net(torch.ones(1, 3)).detach().numpy()))
    True
    """
    relu = layers.activation == "relu"
    last = len(layers) - 1
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i < last:
            if relu:
                np.maximum(x, 0.0, out=x)
            else:
                np.tanh(x, out=x)
    if output_activation and layers.output_activation is not None:
        x = np.maximum(x, 0.0) if layers.output_activation == "relu" else np.tanh(x)
    return x


def greedy(streams: Sequence[Layers], obs: np.ndarray) -> np.ndarray:
    """argmax_a Q(s, a) for each row of a batch of vector observations, from the MLP streams of
    a Q-network's head: one (Q itself), or a dueling head's advantage and value streams, which
    give Q = V + A − mean_a A."""
    x = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
    if len(streams) == 1:
        return forward(streams[0], x).argmax(axis=1)
    advantage, value = (forward(s, x) for s in streams)
    return (value + advantage - advantage.mean(axis=1, keepdims=True)).argmax(axis=1)
