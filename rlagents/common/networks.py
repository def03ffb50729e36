"""Network builders: an MLP, ``copies`` MLPs as one (:class:`ParallelMLP`), the Nature-DQN CNN (and
the precision it computes in), the encoder that fits an observation space, and the Polyak update
of target networks."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlagents.common.masks import MaskedEncoder, MaskedLayout, has_action_mask, mask_logits
from rlagents.common.torch_utils import cnn_autocast_dtype


def mlp(
    in_dim: int,
    out_dim: int,
    hidden: Sequence[int] = (64, 64),
    activation: type[nn.Module] = nn.ReLU,
    output_activation: type[nn.Module] | None = None,
) -> nn.Sequential:
    """``in_dim → hidden… → out_dim`` with ``activation`` between layers."""
    layers: list[nn.Module] = []
    last = in_dim
    for width in hidden:
        layers += [nn.Linear(last, width), activation()]
        last = width
    layers.append(nn.Linear(last, out_dim))
    if output_activation is not None:
        layers.append(output_activation())
    return nn.Sequential(*layers)


class ParallelMLP(nn.Module):
    """``copies`` MLPs of the same shape on the same input, each layer one batched matmul.

    Returns ``(copies, batch, width)``; with no hidden layers it passes the input through. Two
    MLPs side by side (an actor and a critic, or TD3's twin critics) cost one ``baddbmm`` per
    layer instead of two ``linear`` calls: on small networks the per-op overhead, not the
    arithmetic, dominates. With ``scalar_head`` each MLP ends in one linear output unit and it
    returns ``(copies, batch)``: an ensemble of critics Q_i. Initialised like ``nn.Linear``.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        copies: int,
        activation: type[nn.Module] = nn.ReLU,
        *,
        scalar_head: bool = False,
    ) -> None:
        super().__init__()
        self.copies = copies
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for width in hidden:
            self.weights.append(_uniform((copies, in_dim, width), in_dim))
            self.biases.append(_uniform((copies, 1, width), in_dim))
            in_dim = width
        self.activation = activation()
        # ReLU overwrites baddbmm's output in place (its backward needs only its inputs): one
        # allocation and one module call fewer per layer.
        self._relu = isinstance(self.activation, nn.ReLU)
        self.out_weight: nn.Parameter | None = None  # one output unit: a row per copy
        self.out_bias: nn.Parameter | None = None
        if scalar_head:
            self.out_weight = _uniform((copies, 1, in_dim), in_dim)
            self.out_bias = _uniform((copies, 1), in_dim)

    def forward(self, x: torch.Tensor, copies: int = 0) -> torch.Tensor:
        """The first ``copies`` MLPs (all when 0) on ``x`` of shape (batch, in_dim), the same
        input for each, or (copies, batch, in_dim), an input of its own for each."""
        copies = copies or self.copies
        some = copies < self.copies  # slicing costs a zero-filled gradient buffer: only if needed
        h = x if x.dim() == 3 else x.expand(copies, *x.shape)
        for weight, bias in zip(self.weights, self.biases, strict=True):
            if some:
                weight, bias = weight[:copies], bias[:copies]
            h = torch.baddbmm(bias, h, weight)
            h = h.relu_() if self._relu else self.activation(h)
        weight, bias = self.out_weight, self.out_bias
        if weight is None or bias is None:
            return h
        if some:
            weight, bias = weight[:copies], bias[:copies]
        # One output unit: a dot product, which on a CPU beats a batched matmul with a unit
        # dimension (and its backward) by far.
        return torch.linalg.vecdot(h, weight) + bias

    def orthogonal_init(self, gain: float) -> None:
        """Orthogonal hidden weights of each copy (``gain``), zero biases."""
        with torch.no_grad():
            for weight, bias in zip(self.weights, self.biases, strict=True):
                for k in range(self.copies):
                    nn.init.orthogonal_(weight[k], gain=gain)
                bias.zero_()


def _uniform(shape: tuple[int, ...], fan_in: int) -> nn.Parameter:
    """``nn.Linear``'s default initialisation: U(−1/√fan_in, 1/√fan_in)."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))


def is_image_space(space: spaces.Space) -> bool:
    """A channel-first image stack: Box of shape (C, H, W), uint8 (what the presets produce)."""
    return (
        isinstance(space, spaces.Box)
        and len(space.shape) == 3
        and space.dtype == np.uint8
        and space.shape[0] <= 16
    )


class NatureCNN(nn.Module):
    """The CNN of Mnih et al. 2015 (Nature): 3 conv layers and a 512-unit layer.

    Takes uint8 (N, C, H, W) and scales to [0, 1] inside, so observations stay uint8 all the way
    from the env through the replay buffer.
    """

    def __init__(self, observation_space: spaces.Box, features_dim: int = 512) -> None:
        super().__init__()
        channels = observation_space.shape[0]
        self.convs = nn.Sequential(
            nn.Conv2d(channels, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, *observation_space.shape)).shape[1]
        self.linear = nn.Sequential(nn.Linear(flat, features_dim), nn.ReLU())
        self.features_dim = features_dim
        self.autocast_dtype: torch.dtype | None = None  # see configure_cnns

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float() / 255.0
        if self.autocast_dtype is None:
            return self.linear(self.convs(x))
        with torch.autocast(x.device.type, dtype=self.autocast_dtype):
            return self.linear(self.convs(x)).float()


class FlattenEncoder(nn.Module):
    """Vector observations: flatten to float32."""

    def __init__(self, observation_space: spaces.Box) -> None:
        super().__init__()
        self.features_dim = int(math.prod(observation_space.shape))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return obs.reshape(obs.shape[0], -1).float()


class OneHotEncoder(nn.Module):
    """Discrete observations (Taxi, FrozenLake): one-hot vectors."""

    def __init__(self, observation_space: spaces.Discrete) -> None:
        super().__init__()
        self.n = int(observation_space.n)
        self.start = int(observation_space.start)
        self.features_dim = self.n

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(obs.long().reshape(-1) - self.start, self.n).float()


def configure_cnns(net: nn.Module, precision: str, device: torch.device) -> bool:
    """Set up the Nature CNNs inside ``net`` for ``device``: channels-last weights on the CPU
    (oneDNN's convolutions run faster on NHWC), and ``precision`` (``auto``, ``float32``,
    ``bfloat16``: see :func:`~rlagents.common.torch_utils.cnn_autocast_dtype`) under autocast,
    their outputs float32. Returns whether they compute in a lower precision. Call it before
    an optimiser is built on ``net``'s parameters.

    A speed seam: where the hardware has bfloat16 units, a Nature-CNN update is markedly faster
    in it (benchmarks/RESULTS.md, "bfloat16 CNNs"); bfloat16 keeps about three significant digits
    of each activation and gradient, which SGD's own noise dwarfs."""
    dtype = cnn_autocast_dtype(precision, device)
    cnns = [m for m in net.modules() if isinstance(m, NatureCNN)]
    for cnn in cnns:
        cnn.autocast_dtype = dtype
        if device.type == "cpu":
            cnn.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return dtype is not None and bool(cnns)


def make_encoder(observation_space: spaces.Space, cnn_features: int = 512) -> nn.Module:
    """The encoder that fits the space; it has a ``features_dim`` attribute."""
    if is_image_space(observation_space):
        return NatureCNN(observation_space, cnn_features)  # type: ignore[arg-type]
    if isinstance(observation_space, spaces.Box):
        return FlattenEncoder(observation_space)
    if isinstance(observation_space, spaces.Discrete):
        return OneHotEncoder(observation_space)
    if has_action_mask(observation_space):
        assert isinstance(observation_space, spaces.Dict)
        return MaskedEncoder(MaskedLayout(observation_space))
    raise TypeError(f"no encoder for observation space {observation_space}")


class QNetwork(nn.Module):
    """Encoder (MLP input, one-hot or Nature CNN) → Q-values, optionally through a dueling head."""

    def __init__(
        self,
        observation_space: spaces.Space,
        n_actions: int,
        net_arch: tuple[int, ...],
        dueling: bool,
    ) -> None:
        super().__init__()
        self.encoder = make_encoder(observation_space)
        features = int(self.encoder.features_dim)  # type: ignore[arg-type]
        self.dueling = dueling
        self.head = mlp(features, n_actions, net_arch)  # the advantage stream when dueling
        self.value = mlp(features, 1, net_arch) if dueling else None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        features = self.encoder(obs)
        q = self.head(features)
        if self.value is not None:  # identifiable V and A: subtract the mean advantage
            q = self.value(features) + q - q.mean(dim=1, keepdim=True)
        if isinstance(self.encoder, MaskedEncoder):  # argmax and max over legal actions only
            q = mask_logits(q, self.encoder.mask(obs))
        return q


Parameters = nn.Module | Iterable[torch.Tensor]


def polyak_update(target: Parameters, source: Parameters, tau: float) -> None:
    """θ' ← τθ + (1 − τ)θ' in place (τ = 1 copies), all tensors in one call.

    ``target`` and ``source`` are modules, or their parameters, or the flat buffers that hold
    them (:func:`~rlagents.common.flat_params.flatten_parameters`): one op per buffer then.
    """
    targets = list(target.parameters() if isinstance(target, nn.Module) else target)
    sources = list(source.parameters() if isinstance(source, nn.Module) else source)
    if len(targets) != len(sources):
        raise ValueError(f"{len(targets)} target tensors for {len(sources)} source tensors")
    with torch.no_grad():
        torch._foreach_lerp_(targets, sources, tau)
