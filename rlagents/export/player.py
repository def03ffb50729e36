"""Play an exported policy with onnxruntime, numpy and the ``wrappers`` presets — no torch.

:func:`play` rebuilds the env the agent was trained on from ``policy.json`` (env id and kwargs,
preset and options, the real game's evaluation settings) and plays greedy episodes exactly as
``rlrun --eval-only`` does: the same seeds (``evaluation_seed(seed) + k``), the same episode cut,
so that the two print the same mean return.

    >>> from rlagents.export.player import OnnxPolicy, play  # doctest: +SKIP
    >>> returns = play("policy.onnx", episodes=10, seed=0)   # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from rlagents.checkpoint import space_from_json
from rlagents.common.mask_layout import MaskedLayout
from rlagents.errors import ExportError
from rlagents.run import envs as envlib
from rlagents.run.env_choice import EVALUATION_OVERRIDES
from rlagents.run.evaluation import EVAL_MAX_STEPS
from rlagents.run.games import play_agents, play_games
from rlagents.run.loop import evaluate, evaluation_seed


class OnnxPolicy:
    """An exported policy behind the agent's acting contract: ``act(obs_batch, explore=False)``
    returns the batch's env actions."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise ExportError(
                f"{path}: needs the .onnx file and its .json beside it, as rlrun export writes"
            )
        try:
            import onnxruntime
        except ImportError:
            raise ExportError("playing needs onnxruntime: pip install 'rlagents[export]'") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one observation at a time: threads cost more
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
            self.input_dtype = np.dtype(self.meta["input"]["dtype"])
            self.layout = None  # a masked Dict observation: flattened as the agent did
            if self.meta["input"].get("masked"):
                space = space_from_json(self.meta["observation_space"])
                assert isinstance(space, spaces.Dict), space
                self.layout = MaskedLayout(space)
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # a damaged or foreign file: one line, never a traceback
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ExportError(
                f"{path}: cannot load it ({first}); export it again with rlrun export"
            ) from None

    def act(self, obs: Any, *, explore: bool = False) -> np.ndarray:
        rows = self.layout.flatten(obs) if self.layout is not None else obs
        batch = np.asarray(rows, dtype=self.input_dtype)
        return self.session.run(None, {"obs": batch})[0]

    def begin_episodes(self, mask: Any = None) -> None:
        """Stateless: nothing to forget between episodes."""


def evaluation_factory(meta: dict[str, Any]) -> envlib.EnvFactory:
    """The factory of the envs the agent was trained on, as ``policy.json`` records them."""
    envlib.register_env_namespace(meta["env_id"])
    return envlib.EnvFactory(
        meta["env_id"], dict(meta.get("env_kwargs") or {}), meta.get("preset"),
        dict(meta.get("preset_kwargs") or {}),
    ).for_evaluation()  # fmt: skip


def evaluation_env(meta: dict[str, Any]) -> Any:
    """The env ``rlrun --eval-only`` evaluates the agent on: the real game's."""
    factory = evaluation_factory(meta)
    return factory.make(**EVALUATION_OVERRIDES.get(meta.get("preset") or "", {}))


def play(
    path: str | os.PathLike[str],
    *,
    episodes: int = 10,
    seed: int = 0,
    max_steps: int | None = None,
) -> list[float]:
    """The returns of ``episodes`` greedy episodes of the exported policy at ``path``, with
    the evaluation seeds of a run of seed ``seed``."""
    policy = OnnxPolicy(path)
    preset, seed = policy.meta.get("preset"), evaluation_seed(seed)
    # As rlagents.run.evaluation plays them: a Parallel env's agents together, a two-player
    # game against random play from each seat (the return --eval-only prints), else episodes.
    if preset == envlib.AGENTS:
        return play_agents(policy, evaluation_factory(policy.meta), episodes, seed)[0]  # type: ignore[arg-type]
    if preset == "selfplay":
        factory = evaluation_factory(policy.meta)
        return play_games(policy, factory, episodes, seed, max_steps)[0]  # type: ignore[arg-type]
    env = evaluation_env(policy.meta)
    try:
        if max_steps is None:
            has_limit = env.spec is not None and env.spec.max_episode_steps
            max_steps = None if has_limit else EVAL_MAX_STEPS
        return evaluate(policy, env, episodes, seed, max_steps=max_steps)  # type: ignore[arg-type]
    finally:
        env.close()
