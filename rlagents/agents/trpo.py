"""TRPO: trust region policy optimisation (Schulman et al. 2015), and the natural policy gradient
it is built from (Kakade 2001).

The course's path from the policy gradient to PPO. The plain policy gradient ``g`` takes a step
in parameter space, where one size fits no layer; the **natural policy gradient** measures the
step by how much it changes the policy instead, with the Fisher matrix ``F`` (the Hessian of
the mean KL at the old policy), and takes the step of KL ≈ δ::

    Δθ = √(2δ / sᵀFs) · s,   s = F⁻¹g

**TRPO** maximises the surrogate advantage ``L(θ) = E[π_θ(a|s) / π_old(a|s) · A]`` under the
bound ``KL(π_old ‖ π_θ) ≤ δ`` with that step, and fixes what the quadratic approximation
gets wrong with a check:

1. ``g = ∇L`` at θ_old, on the whole rollout (advantages from GAE, normalised).
2. ``s ≈ F⁻¹g`` by conjugate gradient (:func:`conjugate_gradient`), which needs only products
   ``F·v``: the gradient of ``(∇KL)·v``, a second back-propagation through the mean KL
   (:func:`fisher_vector_product`). ``F`` is never formed, let alone inverted; ``cg_damping``
   adds ``λ·v`` so that a nearly singular ``F`` does not blow the step up.
3. The step ``√(2δ / sᵀFs) · s``, then a backtracking line search: the first of
   ``step · shrink^k`` (k = 0 … ``line_search_max_iter`` − 1) whose exact KL is ≤ δ and whose
   surrogate improved is kept; if none is, the old policy stays (``step_rejected`` = 1).

``line_search=False`` takes the natural-gradient step as it comes, unchecked: the NPG of the
lecture, so that a user can see what the check buys (``kl_exceeded`` counts the overshoots).

The value function is a network of its own (the policy and the critic share nothing the value
step could move: it would push the policy outside its trust region), fitted by
``n_critic_updates`` epochs of minibatch regression on the GAE returns with Adam. Config names
and defaults are sb3-contrib's.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from rlagents.common.policy_agent import normalize
from rlagents.common.rollout_agent import RolloutAgent, RolloutConfig
from rlagents.common.schedules import to_zero
from rlagents.config import field_error


@dataclasses.dataclass
class TRPOConfig(RolloutConfig):
    """Hyper-parameters of TRPO (defaults: sb3-contrib's)."""

    learning_rate: float = 1e-3
    """Adam step size of the value function (the policy's step is set by target_kl)."""
    n_steps: int = 2048
    """Vector steps per rollout; one policy step per n_steps × num_envs transitions."""
    batch_size: int = 128
    """Minibatch size of the value regression (capped at the rollout size)."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE λ: 0 = one-step TD advantages, 1 = Monte-Carlo returns minus V."""
    target_kl: float = 0.01
    """δ, the bound on the mean KL(π_old ‖ π_new) of one policy step."""
    target_kl_schedule: Literal["constant", "linear"] = "constant"
    """δ's schedule over ``schedule_steps``: linear shrinks the trust region to 0. δ is TRPO's
    step size, and this is the annealing PPO implementations give their learning rate
    (Engstrom et al. 2020): every step is as large as δ allows, signal or noise."""
    cg_max_steps: int = 15
    """Conjugate-gradient iterations for the search direction F⁻¹g."""
    cg_damping: float = 0.1
    """λ added to the Fisher matrix (F + λI) for a stable solve."""
    line_search: bool = True
    """Check the step (TRPO); false takes the natural-gradient step unchecked (NPG)."""
    line_search_shrinking_factor: float = 0.8
    """Each rejected trial step is shrunk by this factor."""
    line_search_max_iter: int = 10
    """Trial steps before the line search gives up and keeps the old policy."""
    n_critic_updates: int = 10
    """Epochs of value regression per rollout."""
    normalize_advantage: bool = True
    """Normalise advantages to mean 0, std 1 over the rollout."""
    sub_sampling_factor: int = 1
    """Use every k-th sample of the rollout for the policy step (a cheaper Fisher)."""
    max_grad_norm: float | None = None
    """Clip the value step's gradient norm to this (None: no clipping, as sb3-contrib)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.share_features:
            raise field_error(
                self,
                "share_features",
                "must be false: one network would let the value step move the policy outside "
                "its trust region, so trpo keeps two",
            )


class PolicyBatch(NamedTuple):
    """What the policy step reads: rows of the rollout under the policy that collected them."""

    obs: torch.Tensor
    raw: torch.Tensor
    old_params: torch.Tensor
    old_log_prob: torch.Tensor
    advantages: torch.Tensor


class TRPO(RolloutAgent[TRPOConfig]):
    """Trust region policy optimisation (or the natural policy gradient: line_search=false)."""

    Config: ClassVar = TRPOConfig
    # Each set made for 2 envs, as rl-zoo3's; rl-zoo3's ``normalize`` (VecNormalize) is
    # normalize_observations and normalize_rewards here.
    hyperparams: ClassVar[dict[str, dict[str, Any]]] = {
        # rl-zoo3's, with rewards scaled by the std of the discounted return. Without it the
        # critic, regressing returns near 1/(1 - γ) by small Adam steps, fitted nothing for
        # long stretches on some seeds, and their policies fell back and stayed there
        # (benchmarks/RESULTS.md, "Recipes that hold").
        "CartPole-v1": {
            "n_timesteps": 100_000,
            "cpu_steps_per_second": 11_000,
            "n_steps": 512,
            "batch_size": 512,
            "cg_damping": 1e-3,
            "gae_lambda": 0.98,
            "n_critic_updates": 20,
            "normalize_rewards": True,
        },
        # rl-zoo3's, without its gSDE exploration.
        "Pendulum-v1": {
            "n_timesteps": 100_000,
            "n_steps": 1024,
            "gamma": 0.9,
            "n_critic_updates": 15,
        },
        # rl-zoo3's.
        "LunarLander-v3": {
            "n_timesteps": 300_000,
            "cpu_steps_per_second": 8_200,
            "n_steps": 512,
            "cg_damping": 0.01,
            "gae_lambda": 0.98,
            "n_critic_updates": 15,
        },
        # rl-zoo3's.
        "LunarLanderContinuous-v3": {
            "n_timesteps": 200_000,
            "n_steps": 1024,
            "n_critic_updates": 20,
            "normalize_observations": True,
            "normalize_rewards": True,
        },
    }
    recommended_num_envs: ClassVar = {
        "CartPole-v1": 2,
        "Pendulum-v1": 2,
        "LunarLander-v3": 2,
        "LunarLanderContinuous-v3": 2,
    }

    @functools.cached_property
    def delta(self) -> Callable[[float], float]:
        """δ at a number of env steps: ``target_kl``, constant or decaying linearly."""
        cfg = self.config
        return to_zero(cfg.target_kl_schedule, cfg.target_kl, cfg.schedule_steps)

    # ------------------------------------------------------------------------ parameters
    def actor_parameters(self) -> list[nn.Parameter]:
        """What the policy's output depends on, in the order of the flat step vector. With two
        networks side by side (one tensor per layer, the critic's half included) the critic's
        half of the body gets zero policy gradient and so a zero step: the policy step never
        moves the critic, and no part of the value step moves the policy."""
        policy = self.policy
        params = [*policy.encoder.parameters(), *policy.body.parameters()]
        params += [*policy.pi_head.parameters()]
        if not policy.discrete and not policy.beta:
            params.append(policy.log_std)
        return params

    def value_parameters(self) -> list[nn.Parameter]:
        """What the value step trains: the critic's MLP and head. An image encoder, shared by
        both, is the policy's: only the trust-region step moves it (as in sb3-contrib)."""
        return [*self.policy.body.parameters(), *self.policy.vf_head.parameters()]

    def make_optimizer(self) -> torch.optim.Optimizer:
        """Adam on the value function alone. The actor's half of the body tensors never gets a
        value gradient: Adam's moments there stay 0 and so does its step."""
        return torch.optim.Adam(
            self.value_parameters(), lr=self.config.learning_rate, eps=1e-5, fused=self._fusable()
        )

    # ------------------------------------------------------------------------ the update
    def learn(self) -> dict[str, float]:
        """One trust-region policy step on the rollout, then the value regression."""
        batch, returns, explained = self.rollout_batch()
        k = self.config.sub_sampling_factor
        metrics = self.policy_step(PolicyBatch(*(field[::k] for field in batch)))
        metrics["value_loss"] = self.fit_value(batch.obs, returns)
        metrics["explained_variance"] = explained
        with torch.no_grad():
            params = self.policy.distribution(batch.obs)
            metrics["entropy"] = float(self.policy.entropy(params).mean())
        return metrics

    def rollout_batch(self) -> tuple[PolicyBatch, torch.Tensor, float]:
        """The rollout under the policy that collected it: the policy step's rows (advantages
        from GAE, normalised if configured), the value targets, and how much of their variance
        the values explain."""
        policy = self.policy
        obs, raw = self.rollout_tensors()
        with torch.no_grad():
            old_params, old_values = policy(obs)
            old_log_prob = policy.log_prob(old_params, raw)
        advantages, returns, explained = self.gae(old_values)
        if self.config.normalize_advantage:
            advantages = normalize(advantages)
        return PolicyBatch(obs, raw, old_params, old_log_prob, advantages), returns, explained

    def surrogate(self, params: torch.Tensor, batch: PolicyBatch) -> torch.Tensor:
        """``L = E[π_θ(a|s) / π_old(a|s) · A]`` for the distributions ``params``."""
        ratio = torch.exp(self.policy.log_prob(params, batch.raw) - batch.old_log_prob)
        return (ratio * batch.advantages).mean()

    def policy_step(self, batch: PolicyBatch) -> dict[str, float]:
        """The natural-gradient direction by conjugate gradient, its KL-sized step, and (TRPO)
        the line search that accepts the step only if it keeps the bound and improves L."""
        cfg, policy = self.config, self.policy
        params_list = self.actor_parameters()
        delta = self.delta(self.num_timesteps)

        # ---- g = ∇L and the gradient of the mean KL, kept differentiable for F·v
        params = policy.distribution(batch.obs)
        surrogate = self.surrogate(params, batch)
        g = flat_grad(surrogate, params_list, retain_graph=True)
        kl = policy.kl(batch.old_params, params).mean()
        grad_kl = flat_grad(kl, params_list, create_graph=True)

        def fvp(v: torch.Tensor) -> torch.Tensor:
            return fisher_vector_product(grad_kl, params_list, v, cfg.cg_damping)

        # ---- s ≈ F⁻¹g, and the step along it whose quadratic KL estimate is δ
        direction, residual = conjugate_gradient(fvp, g, cfg.cg_max_steps)
        curvature = float(direction @ fvp(direction))  # sᵀ(F + λI)s
        if not math.isfinite(curvature) or curvature <= 0.0:  # g = 0: nothing to follow
            return self._step_metrics(0.0, 0.0, 0, rejected=True, residual=residual)
        full_step = math.sqrt(2.0 * delta / curvature) * direction

        # ---- the step: checked (TRPO) or as it comes (NPG)
        theta_old = torch.cat([p.detach().reshape(-1) for p in params_list])
        old_surrogate = float(surrogate.detach())
        shrink, tries = 1.0, (cfg.line_search_max_iter if cfg.line_search else 1)
        with torch.no_grad():
            for trial in range(1, tries + 1):
                assign_flat(params_list, theta_old + shrink * full_step)
                new_params = policy.distribution(batch.obs)
                new_kl = float(policy.kl(batch.old_params, new_params).mean())
                improvement = float(self.surrogate(new_params, batch)) - old_surrogate
                if not cfg.line_search or (new_kl <= delta and improvement > 0.0):
                    return self._step_metrics(new_kl, improvement, trial, False, residual)
                shrink *= cfg.line_search_shrinking_factor
            assign_flat(params_list, theta_old)  # no trial kept the bound: keep the old policy
        return self._step_metrics(0.0, 0.0, tries, rejected=True, residual=residual)

    def _step_metrics(
        self, kl: float, improvement: float, trials: int, rejected: bool, residual: float
    ) -> dict[str, float]:
        return {
            "kl": kl,
            "target_kl": (delta := self.delta(self.num_timesteps)),
            "kl_exceeded": float(kl > delta),
            "surrogate_improvement": improvement,
            "line_search_steps": float(trials),
            "step_rejected": float(rejected),
            "cg_residual": residual,
        }

    def fit_value(self, obs: torch.Tensor, returns: torch.Tensor) -> float:
        """``n_critic_updates`` epochs of shuffled minibatch regression of V on the returns;
        the mean loss of the steps."""
        cfg = self.config
        n_batches = max(1, len(obs) // min(cfg.batch_size, len(obs)))  # a remainder joins them
        total = torch.zeros((), device=self.device)
        for _epoch in range(cfg.n_critic_updates):
            order = torch.from_numpy(self.rng.permutation(len(obs))).to(self.device)
            for idx in order.tensor_split(n_batches):
                loss = F.mse_loss(self.policy.value(obs[idx]), returns[idx])
                self.gradient_step(loss)
                total += loss.detach()
        return float(total) / (cfg.n_critic_updates * n_batches)


# ---------------------------------------------------------------------------- the linear algebra
def flat_grad(
    y: torch.Tensor,
    params: Sequence[torch.Tensor],
    *,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> torch.Tensor:
    """``∂y/∂params`` as one flat vector (zeros for a parameter ``y`` does not depend on); the
    graph is kept when asked to, or when the gradient is itself differentiable."""
    grads = torch.autograd.grad(
        y, params, retain_graph=retain_graph, create_graph=create_graph, allow_unused=True
    )
    return torch.cat(
        [
            (g if g is not None else torch.zeros_like(p)).reshape(-1)
            for g, p in zip(grads, params, strict=True)
        ]
    )


def fisher_vector_product(
    grad_kl: torch.Tensor, params: Sequence[torch.Tensor], v: torch.Tensor, damping: float
) -> torch.Tensor:
    """``(F + λI)·v`` with ``F`` the Hessian of the mean KL at the old policy: the gradient of
    ``(∇KL)·v`` (``grad_kl`` built with ``create_graph=True``). At θ_old the KL's gradient is 0
    and its Hessian is the Fisher matrix, so this is the Fisher-vector product, at the cost of
    one more back-propagation and without ever forming ``F``."""
    return flat_grad(grad_kl @ v, params, retain_graph=True) + damping * v


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    max_steps: int,
    tolerance: float = 1e-10,
) -> tuple[torch.Tensor, float]:
    """Solve ``A x = b`` for a symmetric positive-definite ``A`` known only through
    ``matvec(v) = A v``: at most ``max_steps`` iterations from x = 0, stopping once the squared
    residual is below ``tolerance``. Returns ``x`` and the residual's norm ``‖b − A x‖``.

    >>> A = torch.tensor([[4.0, 1.0], [1.0, 3.0]])
    >>> x, residual = conjugate_gradient(lambda v: A @ v, torch.tensor([1.0, 2.0]), 2)
    >>> [round(float(v), 4) for v in x], residual < 1e-5
    ([0.0909, 0.6364], True)
    """
    x = torch.zeros_like(b)
    r = b.clone()  # the residual b − A x
    p = b.clone()  # the search direction, A-conjugate to the earlier ones
    rr = float(r @ r)
    for _ in range(max_steps):
        if rr < tolerance:
            break
        ap = matvec(p)
        alpha = rr / float(p @ ap)
        x += alpha * p
        r -= alpha * ap
        rr_next = float(r @ r)
        p = r + (rr_next / rr) * p
        rr = rr_next
    return x, math.sqrt(rr)


def assign_flat(params: Sequence[torch.Tensor], flat: torch.Tensor) -> None:
    """Copy ``flat`` into ``params`` in place (never replacing ``.data``: the numpy actor reads
    views of these tensors)."""
    offset = 0
    with torch.no_grad():
        for p in params:
            p.copy_(flat[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
