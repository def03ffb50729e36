"""Parameters that live in one flat buffer, so an optimiser step, zeroing the gradients and a
Polyak update are one op each, whatever the number of layers.

With small networks (the 64-64 MLPs of Pendulum) an update's cost is mostly torch's per-op
overhead, not arithmetic, and every tensor of a network costs its own ops in each optimiser step,
each zeroing of the gradients and each Polyak update.
:func:`flatten_parameters` moves a group of parameters into one contiguous buffer (and their
gradients into another); :class:`FlatAdam` is Adam on such a buffer.

The parameters stay ordinary parameters of their modules, now views of the buffer: forward
passes, ``state_dict`` and ``load_state_dict`` (which copies in place) work unchanged, and numpy
views of them (:mod:`rlagents.common.numpy_mlp`) stay current. Two rules keep the views intact:
never replace a parameter's ``.data``, and never set its ``.grad`` to None (zero the flat
gradient instead).

>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
>>> opt = FlatAdam(net.parameters(), lr=1e-3)
>>> opt.flat.shape  # 3·4 + 4 + 4·1 + 1
torch.Size([21])
>>> opt.step(net(torch.ones(2, 3)).square().mean())
>>> bool(net[0].weight.data_ptr() == opt.flat.data_ptr())  # still a view of the buffer
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn


def flatten_parameters(params: Sequence[nn.Parameter], with_grad: bool = True) -> nn.Parameter:
    """Move ``params`` into one contiguous buffer, returned as a parameter; with ``with_grad``
    their gradients go into a second one, the flat parameter's ``.grad``. Each parameter becomes
    a view of the first buffer and its ``.grad`` a view of the second (autograd accumulates into
    an existing ``.grad`` in place), so optimising, zeroing or averaging the flat parameter acts
    on all of them at once."""
    device = params[0].device
    total = sum(p.numel() for p in params)
    flat = torch.empty(total, device=device)
    grad = torch.zeros(total, device=device) if with_grad else None
    start = 0
    for p in params:
        end = start + p.numel()
        # as_strided keeps each parameter's memory layout (channels-last conv weights stay so)
        view = flat[start:end].as_strided(p.shape, p.stride())
        view.copy_(p.detach())
        p.data = view
        if grad is not None:
            p.grad = grad[start:end].as_strided(p.shape, p.stride())
        start = end
    flat_param = nn.Parameter(flat, requires_grad=with_grad)
    flat_param.grad = grad
    return flat_param


class FlatAdam:
    """Adam on one flat buffer that holds ``params`` (fused into one kernel on CPU and CUDA).

    ``state_dict`` and ``load_state_dict`` are the wrapped ``torch.optim.Adam``'s.
    """

    def __init__(self, params: Iterable[nn.Parameter], lr: float) -> None:
        self.params = list(params)
        self.flat = flatten_parameters(self.params)
        self.grad: torch.Tensor = self.flat.grad  # type: ignore[assignment]
        fused = self.flat.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam([self.flat], lr=lr, fused=fused)

    def step(self, loss: torch.Tensor, *, only_these: bool = False) -> None:
        """One step down ``loss``: zero the gradients, backpropagate, step. ``only_these`` keeps
        autograd from computing the gradients of any other parameters the loss depends on."""
        self.grad.zero_()
        loss.backward(inputs=self.params if only_these else None)
        self.optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.optimizer.load_state_dict(dict(state))
