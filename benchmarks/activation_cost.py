"""What an activation costs on the CPU at the sizes of the policy-gradient agents' MLPs: torch's
tanh against its sigmoid, and tanh computed as 2σ(2x) − 1 (forward, then forward and backward
of two hidden layers of two 64-wide MLPs side by side, as ``ParallelMLP`` runs an actor and a
critic). One torch thread; microseconds per call, the median of ``--repeats`` timings.

    python benchmarks/activation_cost.py
    python benchmarks/activation_cost.py --batch 64 --repeats 7
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn


class TanhBySigmoid(torch.autograd.Function):
    """tanh(x) = 2σ(2x) − 1, with tanh's own backward kernel on the saved output."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        y = torch.sigmoid(x * 2.0).mul_(2.0).sub_(1.0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)


def microseconds(fn: Callable[[], object], calls: int, repeats: int) -> float:
    for _ in range(20):
        fn()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        timings.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(timings)


def two_layers(activation: Callable[[torch.Tensor], torch.Tensor], batch: int) -> Callable:
    x = torch.randn(2, batch, 8)
    w1 = torch.randn(2, 8, 64, requires_grad=True)
    w2 = torch.randn(2, 64, 64, requires_grad=True)
    b = torch.zeros(2, 1, 64, requires_grad=True)

    def step() -> None:
        h = activation(torch.baddbmm(b, x, w1))
        activation(torch.baddbmm(b, h, w2)).sum().backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="rows (PPO CartPole's minibatch)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = torch.randn(2, args.batch, 64)
    by_sigmoid = TanhBySigmoid.apply
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, one thread")
    print(f"CPU capability: {torch.backends.cpu.get_cpu_capability()}; batch {args.batch}\n")
    print("| op | µs per call |\n|---|---:|")
    rows = {
        "torch.tanh, forward": lambda: torch.tanh(x),
        "torch.sigmoid, forward": lambda: torch.sigmoid(x),
        "2σ(2x) − 1, forward": lambda: by_sigmoid(x),
        "torch.relu, forward": lambda: torch.relu(x),
        "two layers, forward and backward, nn.Tanh": two_layers(nn.Tanh(), args.batch),
        "two layers, forward and backward, 2σ(2x) − 1": two_layers(by_sigmoid, args.batch),
    }
    for name, fn in rows.items():
        print(f"| {name} | {microseconds(fn, 500, args.repeats):.1f} |")
    err = (torch.tanh(x) - by_sigmoid(x)).abs().max()
    print(f"\nlargest |tanh(x) − (2σ(2x) − 1)| over the batch: {float(err):.2e}")


if __name__ == "__main__":
    main()
