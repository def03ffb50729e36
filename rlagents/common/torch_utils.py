"""Torch set-up shared by the deep agents: device, threads, seeding, CNN precision."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import typing
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import torch

from rlagents.config import AgentConfig, field_error
from rlagents.errors import ConfigError

CNNPrecision = Literal["auto", "float32", "bfloat16"]
"""The values of ``cnn_precision`` (:class:`TorchCNNConfig`)."""


@dataclasses.dataclass
class TorchConfig(AgentConfig):
    """The fields every torch agent has; :func:`set_up_torch` acts on them. Listed after the
    agent's own fields (:func:`rlagents.config.config_fields`); a ``device`` this machine does
    not have is refused when the Config is made."""

    fields_shown_last: ClassVar[bool] = True

    device: str = "auto"
    """Torch device: auto (CUDA when present, else the CPU), cpu, cuda, cuda:1 …"""
    num_threads: int = 0
    """Torch CPU threads (0: automatic: 1 for vector observations, whose small MLPs gain nothing
    from more and lose a lot when one has to wait for a busy core; for images the CPUs this
    process may use, at most 4, one of them left to acting when DQN trains in the background)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.device != "auto":
            try:
                select_device(self.device)
            except ConfigError as err:  # a device this machine does not have
                raise field_error(self, "device", str(err).removeprefix("device ")) from None


@dataclasses.dataclass
class TorchCNNConfig(TorchConfig):
    """:class:`TorchConfig` and the precision of the image encoder, for the agents that apply it
    (:func:`rlagents.common.networks.configure_cnns`)."""

    fields_shown_last: ClassVar[bool] = True

    cnn_precision: CNNPrecision = "auto"
    """Image observations: the Nature CNN computes in bfloat16 under autocast where the hardware
    multiplies it natively (auto: a CPU with AVX512-BF16 or AMX, a recent GPU), else in float32;
    or always in one of them. Weights, heads and losses stay float32."""


def set_up_torch(config: TorchConfig, *, images: bool) -> torch.device:
    """A torch agent's set-up from its Config: this thread's torch threads
    (:func:`configure_threads` of ``config.num_threads``), and the device ``config.device``
    names (:func:`select_device`), which it returns. The CNN precision applies to the networks
    once built (:func:`rlagents.common.networks.configure_cnns`)."""
    configure_threads(config.num_threads, images=images)
    return select_device(config.device)


def select_device(preference: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else the CPU; anything else must name a torch device this
    machine has, or :class:`ConfigError` (of field ``device``) says what to use instead."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(preference)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(
            f"device must be a torch device (auto, cpu or cuda), got {preference!r}",
            field="device",
        ) from None
    missing = f"device {preference!r} needs {{}} and this machine has none; use cpu or auto"
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(missing.format("a CUDA GPU"), field="device")
        if device.index is not None and device.index >= count:
            raise ConfigError(
                f"device {preference!r} is not one of this machine's {count} CUDA GPU(s), "
                f"cuda:0 to cuda:{count - 1}; use one of them, cpu or auto",
                field="device",
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(missing.format("an MPS device"), field="device")
    return device


def thread_count(num_threads: int = 0, *, images: bool = False) -> int:
    """The torch thread count ``configure_threads`` would set; 0 picks one for the network.

    Vector observations (``images=False``) mean small MLPs: one thread, because their
    matrices are too small to split and a second thread that has to wait for a busy core
    stalls each update many times over. Image observations mean CNNs, which gain from threads
    up to the cores this process may use (at most 4, past which thread overhead wins).
    """
    if num_threads > 0:
        return num_threads
    if not images:
        return 1
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(4, available))


def configure_threads(num_threads: int = 0, *, images: bool = False) -> int:
    """Set this thread's torch intra-op threads to ``thread_count(...)`` and return it."""
    num_threads = thread_count(num_threads, images=images)
    if torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)
    return num_threads


_TORCH_SEED_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded_torch(seed: int | None) -> Iterator[None]:
    """Seed torch's global generator for the block, which draws initial weights from it, and
    hold it for the block's duration: agents built side by side in threads (the seeds of a
    ``rlrun sweep`` trial) would otherwise draw each other's weights, and a trial's seed would
    not be the single run of that seed."""
    with _TORCH_SEED_LOCK:
        if seed is not None:
            torch.manual_seed(seed)
        yield


CNN_PRECISIONS: tuple[str, ...] = typing.get_args(CNNPrecision)  # auto, float32, bfloat16


def cnn_autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The dtype image encoders compute in under autocast; None: float32 throughout.

    ``auto`` is bfloat16 where the hardware multiplies bfloat16 natively (a CPU with AVX512-BF16
    or AMX, a CUDA GPU that supports it) and float32 elsewhere, where emulated bfloat16 would
    be slower than float32. Weights, optimiser state, heads and losses stay float32 either way.
    """
    if precision not in CNN_PRECISIONS:
        raise ConfigError(
            f"cnn_precision must be one of {', '.join(CNN_PRECISIONS)}, got {precision!r}",
            field="cnn_precision",
        )
    if precision == "float32":
        return None
    if precision == "bfloat16" or native_bfloat16(device):
        return torch.bfloat16
    return None


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices in hardware."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    # torch.cpu's feature checks are private (no public API says it); absent ones mean no.
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: Any) -> None:
    """``optimizer.load_state_dict(state)``, with each saved moment given its parameter's
    memory layout: moments come back contiguous, and the fused Adam kernel assumes the layout of
    channels-last convolution weights."""
    optimizer.load_state_dict(state)
    for p, slots in optimizer.state.items():
        for key, value in slots.items():
            if torch.is_tensor(value) and value.shape == p.shape:
                slots[key] = torch.empty_like(p).copy_(value)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Every parameter group's step size to ``lr`` (a schedule's value for this update)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
